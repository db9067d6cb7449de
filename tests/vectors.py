"""Test vectors for the firmware core, built on CPython (host codec + independent arithmetic).

The same vectors are replayed through tkfw on CPython and on the MicroPython VM by
tests/vm_vectors.py; tests/test_vectors.py compares both against the expectations made here.

Every case is a JSON-serialisable dict: {"kind", "name", "input": {...}, "expect": {...}}.
vm_vectors prints {"i", "name", "got": {...}} with the same keys as "expect".

Kinds:
- wire:     a byte stream (hex) made with takeover.codec, with garbage, corruption, truncation,
            gaps and wrong versions; expect the (type, seq) of every frame the firmware must hand
            over, in order, and the decoder counters.
- ttc:      radar targets from physical inputs (m, m/s) converted to mm and mm/s; expect the
            threat's TTC, level and target id, computed here with integer math from those inputs.
- crc:      data (hex); expect zlib.crc32 split into 16-bit halves.
- settings: config-set operations; expect each status, the resulting device values, the digest.
- threat:   a sequence of radar frames (50 ms apart) with a driver state; expect per frame the
            threat id, TTC, enhanced TTC, required decelerations and the confirmed level, from an
            integer model of the physics written here (math.isqrt, cm units as on the device).

Expected numbers never come from the firmware functions under test: thresholds come from the
Settings object's values, everything else from physics and from the host codec.
"""

from __future__ import annotations

import json
import math
import random
import zlib

from takeover import codec
from tkfw import alerts, schema
from tkfw.ttc import A_LEAD_MIN_MM_S2, A_LEAD_SLOW_MIN_MM_S2, ACCEL_DEAD_MM_S2, ACCEL_LAG
from tkfw.settings import SPEC, Settings

TTC_CAP_MS = 60_000  # "beyond a minute a TTC means nothing" (ttc.py docstring)
NO_TTC = -1


# -- ttc oracle ----------------------------------------------------------------------------------
def mm(metres: float) -> int:
    """Physical length / speed (m, m/s) -> device integer (mm, mm/s)."""
    return int(round(metres * 1000))


def target(tid: int, range_m: float, closing_mps: float, lateral_m: float) -> dict:
    """One radar target from physical inputs. closing > 0 means the gap shrinks (range_rate < 0)."""
    return {"id": tid, "range": mm(range_m), "range_rate": -mm(closing_mps), "lateral": mm(lateral_m)}


def expected_threat(targets: list[dict], settings: Settings) -> tuple[int, int, int]:
    """(ttc_ms, level, target_id) from physics: closest in-path target closing at least closing_min.

    TTC = range / closing speed, in integer ms from the integer mm and mm/s inputs
    (range_mm * 1000 // closing_mm_s), at most a minute; a target already overlapping (range < 0)
    counts as range 0.
    """
    half_width = settings.lane_half_width_mm
    best = None
    for t in targets:
        if abs(t["lateral"]) > half_width:
            continue
        closing = -t["range_rate"]
        if closing < settings.closing_min_mm_s:
            continue
        rng = max(t["range"], 0)
        if best is None or rng < best[0]:
            best = (rng, closing, t["id"])
    if best is None:
        return NO_TTC, alerts.NONE, -1
    rng, closing, tid = best
    ttc = min(rng * 1000 // closing, TTC_CAP_MS)
    # Cross-check against float physics (seconds): the integer result is its floor in ms.
    physical_ms = math.floor(rng / 1000 / (closing / 1000) * 1000 + 1e-6)
    assert abs(min(physical_ms, TTC_CAP_MS) - ttc) <= 1, (rng, closing, ttc, physical_ms)
    return ttc, expected_level(ttc, settings), tid


def expected_level(ttc_ms: int, settings: Settings) -> int:
    """Alert level for a TTC: the most severe band whose threshold the TTC is at or under."""
    if ttc_ms < 0:
        return alerts.NONE
    bands = (
        (settings.ttc_emergency_ms, alerts.EMERGENCY),
        (settings.ttc_takeover_ms, alerts.TAKEOVER),
        (settings.ttc_warning_ms, alerts.WARNING),
        (settings.ttc_notice_ms, alerts.NOTICE),
    )
    for threshold, level in bands:
        if ttc_ms <= threshold:
            return level
    return alerts.NONE


def radar_frame(targets: list[dict], seq: int = 0, t_ms: int = 1000, ego_speed: int = 20_000) -> bytes:
    return codec.encode("radar", seq, targets=targets, t_ms=t_ms, ego_speed=ego_speed)


# -- wire streams --------------------------------------------------------------------------------
def junk(rng: random.Random, n: int) -> bytes:
    """Garbage that contains no SYNC byte (so it can never start a candidate frame)."""
    return bytes(rng.choice([b for b in range(256) if b != schema.SYNC]) for _ in range(n))


class Stream:
    """A byte stream of host frames with known fates, and the decoder counters it must produce."""

    def __init__(self):
        self.data = bytearray()
        self.fates: list[tuple[str, int, int]] = []  # (fate, type, seq): ok / badver / damaged

    def frame(self, msg_type, seq, targets=None, version=schema.VERSION, **fields) -> bytes:
        raw = codec.encode(msg_type, seq, targets=targets, version=version, **fields)
        self.data += raw
        msg_type = codec.TYPES.get(msg_type, msg_type)
        self.fates.append(("ok" if version == schema.VERSION else "badver", msg_type, seq))
        return raw

    def damaged(self, raw: bytes, msg_type: int, seq: int) -> None:
        """A frame that will not arrive intact (corrupted, truncated or missing entirely)."""
        self.data += raw
        self.fates.append(("damaged", msg_type, seq))

    def flipped(self, msg_type, seq, pos, targets=None, **fields) -> None:
        raw = bytearray(codec.encode(msg_type, seq, targets=targets, **fields))
        raw[pos % len(raw)] ^= 0xFF
        self.damaged(bytes(raw), codec.TYPES.get(msg_type, msg_type), seq)

    def truncated(self, msg_type, seq, keep, targets=None, **fields) -> None:
        raw = codec.encode(msg_type, seq, targets=targets, **fields)
        self.damaged(raw[:keep], codec.TYPES.get(msg_type, msg_type), seq)

    def dropped(self, msg_type, seq) -> None:
        self.damaged(b"", codec.TYPES.get(msg_type, msg_type), seq)

    def junk(self, data: bytes) -> None:
        self.data += data

    def expected(self) -> dict:
        frames = [[t, s] for fate, t, s in self.fates if fate == "ok"]
        intact = [k for k, (fate, _, _) in enumerate(self.fates) if fate != "damaged"]
        # A damaged frame is noticed (lost) only when an intact frame after it reveals the gap.
        lost = sum(1 for k in range(intact[0], intact[-1]) if self.fates[k][0] == "damaged") if intact else 0
        bad_version = sum(1 for fate, _, _ in self.fates if fate == "badver")
        # Diagnostics from the host's independent implementation of the same resync rule.
        reader = codec.FrameReader()
        payloads = reader.feed(bytes(self.data))
        found = [[p[1], p[2] | (p[3] << 8)] for p in payloads if p[0] == schema.VERSION]
        assert found == frames, "generator bug: the host reader disagrees with the fates"
        return {
            "frames": frames,
            "processed": len(frames),
            "rejected": lost + bad_version,
            "lost": lost,
            "bad_version": bad_version,
            "bad_crc": reader.bad_crc,
            "skipped_bytes": reader.skipped_bytes,
        }


def _mixed(s: Stream, seq0: int, rng: random.Random) -> int:
    """Five ordinary host frames of different types; returns the next seq."""
    seq = seq0
    s.frame("radar", seq, targets=[target(7, 42.5, 8.0, -0.4), target(9, 80.0, -2.0, 3.5)],
            t_ms=1234, ego_speed=mm(25.0))
    s.frame("ping", seq + 1, token=rng.randrange(1 << 30))
    s.frame("driver", seq + 2, t_ms=1300, flags=schema.DRIVER_HANDS_ON | schema.DRIVER_EYES_ON_ROAD)
    s.frame("config_set", seq + 3, key=3, value=-5)
    s.frame("status_req", seq + 4)
    return seq + 5


def wire_cases() -> list[dict]:
    rng = random.Random(1)
    cases = []

    def add(name, stream, chunk=0):
        cases.append({"kind": "wire", "name": name,
                      "input": {"stream": bytes(stream.data).hex(), "chunk": chunk},
                      "expect": stream.expected()})

    for chunk in (0, 1, 7):
        s = Stream()
        _mixed(s, 0, rng)
        add(f"clean stream, chunk {chunk or 'want()'}", s, chunk)

    s = Stream()
    s.junk(junk(rng, 37))
    _mixed(s, 10, rng)
    add("garbage before the first frame", s, 5)

    for where, pos in (("sync", 0), ("length", 1), ("header check", 3), ("payload", 9), ("crc", -2)):
        s = Stream()
        s.frame("ping", 0, token=1)
        s.flipped("radar", 1, pos, targets=[target(1, 30.0, 10.0, 0.0)], t_ms=5)
        s.frame("radar", 2, targets=[target(1, 29.0, 10.0, 0.0)], t_ms=105)
        add(f"{where} byte flipped, then a good frame", s)

    s = Stream()
    s.frame("ping", 0, token=2)
    s.truncated("radar", 1, 20, targets=[target(1, 30.0, 10.0, 0.0)] * 3)
    s.frame("radar", 2, targets=[target(1, 29.0, 10.0, 0.0)] * 3)
    add("truncated frame, then a good frame of the same size", s)

    s = Stream()
    s.frame("ping", 0, token=3)
    s.truncated("radar", 1, 10, targets=[target(k, 30.0 + k, 10.0, 0.0) for k in range(schema.MAX_TARGETS)])
    seq = 2
    while len(s.data) < schema.MAX_FRAME + 64:
        s.frame("driver", seq, t_ms=seq)
        seq += 1
    add("truncated 64-target frame, then small frames", s, 11)

    for length in (schema.MAX_PAYLOAD, 200, 0xFFFF):
        s = Stream()
        s.frame("ping", 0, token=4)
        s.junk(junk(rng, 9) + bytes([schema.SYNC, length & 0xFF, length >> 8,
                                     schema.HCHK_KEY ^ (length & 0xFF) ^ (length >> 8)]) + junk(rng, 20))
        seq = 1
        while len(s.data) < schema.MAX_FRAME + 100:
            s.frame("radar", seq, targets=[target(seq, 50.0, 5.0, 0.2)], t_ms=seq * 50)
            seq += 1
        add(f"fake header of length {length} inside garbage", s, 64)

    s = Stream()
    s.frame("radar", 100, t_ms=1)
    s.frame("radar", 101, t_ms=2)
    s.dropped("radar", 102)
    s.dropped("radar", 103)
    s.frame("radar", 104, t_ms=5)
    s.flipped("radar", 105, 12, t_ms=6)
    s.frame("radar", 106, t_ms=7)
    add("seq gaps counted as lost", s)

    s = Stream()
    s.frame("ping", 7, token=1)
    s.frame("ping", 8, token=2, version=schema.VERSION + 1)
    s.frame("ping", 9, token=3, version=0)
    s.frame("ping", 10, token=4)
    add("wrong protocol version rejected", s)

    s = Stream()
    for seq in (0xFFFD, 0xFFFE, 0xFFFF, 0, 1):
        s.frame("radar", seq, t_ms=seq)
    s.dropped("radar", 2)
    s.frame("radar", 3, t_ms=3)
    add("seq wraps at 16 bits", s, 3)

    s = Stream()
    s.frame("info_req", 0)
    for seq in range(1, 60):
        fate = rng.random()
        targets = [target(k, rng.uniform(1, 200), rng.uniform(-5, 30), rng.uniform(-4, 4))
                   for k in range(rng.randrange(0, 6))]
        if fate < 0.1:
            s.flipped("radar", seq, rng.randrange(200), targets=targets, t_ms=seq)
        elif fate < 0.15:
            s.truncated("radar", seq, rng.randrange(1, 40), targets=targets, t_ms=seq)
        elif fate < 0.2:
            s.dropped("radar", seq)
        elif fate < 0.25:
            s.frame("radar", seq, targets=targets, t_ms=seq, version=2)
        else:
            s.frame("radar", seq, targets=targets, t_ms=seq)
        if rng.random() < 0.1:
            s.junk(junk(rng, rng.randrange(1, 30)))
    s.frame("status_req", 60)
    add("random mixture of damage", s, 13)
    return cases


# -- ttc -----------------------------------------------------------------------------------------
def ttc_cases() -> list[dict]:
    settings = Settings()
    scenes: list[tuple[str, list[dict]]] = []
    half = settings.lane_half_width_mm / 1000
    closing_min = settings.closing_min_mm_s / 1000

    scenes.append(("no targets", []))
    scenes.append(("single car ahead at 50 km/h closing", [target(1, 40.0, 50 / 3.6, 0.3)]))
    scenes.append(("closest in-path closing target wins",
                   [target(1, 60.0, 10.0, 0.0), target(2, 25.0, 5.0, -1.0), target(3, 40.0, 30.0, 0.5)]))
    scenes.append(("closer targets outside the lane are ignored",
                   [target(1, 10.0, 10.0, half + 0.001), target(2, 12.0, 10.0, -half - 0.001),
                    target(3, 50.0, 10.0, half)]))
    scenes.append(("lane edge is inside, both sides",
                   [target(1, 30.0, 10.0, -half), target(2, 31.0, 10.0, half)]))
    scenes.append(("opening and slow targets are ignored",
                   [target(1, 5.0, -3.0, 0.0), target(2, 8.0, closing_min - 0.001, 0.0),
                    target(3, 90.0, closing_min, 0.0)]))
    scenes.append(("only opening targets: no TTC", [target(1, 5.0, -3.0, 0.0), target(2, 9.0, 0.0, 0.0)]))
    scenes.append(("overlapping target counts as range 0", [target(1, -0.3, 4.0, 0.0), target(2, 3.0, 20.0, 0.0)]))
    scenes.append(("TTC beyond a minute is capped", [target(1, 900.0, 1.0, 0.0)]))
    scenes.append(("highway stationary object at 130 km/h", [target(4, 250.0, 130 / 3.6, 0.0)]))

    # Just inside / just outside each threshold, at a closing speed of 10 m/s (1 ms of TTC = 1 cm).
    for name in ("ttc_notice_ms", "ttc_warning_ms", "ttc_takeover_ms", "ttc_emergency_ms"):
        threshold_s = getattr(settings, name) / 1000
        scenes.append((f"{name} exactly", [target(1, threshold_s * 10.0, 10.0, 0.0)]))
        scenes.append((f"{name} plus 1 ms", [target(1, threshold_s * 10.0 + 0.01, 10.0, 0.0)]))
        scenes.append((f"{name} minus 1 ms", [target(1, threshold_s * 10.0 - 0.01, 10.0, 0.0)]))

    rng = random.Random(2)
    for k in range(12):
        n = schema.MAX_TARGETS if k == 0 else rng.randrange(1, 20)
        scenes.append((f"random scene {k} ({n} targets)",
                       [target(100 + j, rng.uniform(-0.5, 250.0), rng.uniform(-10.0, 45.0), rng.uniform(-5.0, 5.0))
                        for j in range(n)]))

    cases = []
    for seq, (name, targets) in enumerate(scenes):
        ttc, level, tid = expected_threat(targets, settings)
        cases.append({"kind": "ttc", "name": name,
                      "input": {"targets": [[t[f] for f, _, _ in schema.TARGET_FIELDS] for t in targets],
                                "frame": radar_frame(targets, seq).hex()},
                      "expect": {"ttc_ms": ttc, "level": level, "target_id": tid,
                                 "frame": [ttc, level, tid]}})
    return cases


# -- threat over frames ----------------------------------------------------------------------------
A_IMPOSSIBLE = 1_000_000  # mm/s^2, ttc.py: "cannot stop in the gap left"


def _clamp(x, lo, hi):
    return lo if x < lo else hi if x > hi else x


def _a_req(v, gap, react_ms, margin):
    """v^2 / (2 (gap - margin - v t_r)) in mm/s^2, squares in cm/s and cm (the device's units)."""
    v = min(v, 100_000)
    if v <= 0:
        return 0
    left_cm = (gap - margin - v * react_ms // 1000) // 10
    if left_cm <= 0:
        return A_IMPOSSIBLE
    return min((v // 10) ** 2 * 5 // left_cm, A_IMPOSSIBLE)


def _ettc(gap, v, a, ttc):
    """Positive root of gap = v t + a t^2 / 2 (cm units), ms; plain TTC inside the noise band."""
    if abs(a) < ACCEL_DEAD_MM_S2 or v <= 0 or gap // 10 > 200_000:
        return ttc
    g, vc, ac = gap // 10, min(v, 100_000) // 10, a // 10
    disc = vc * vc + 2 * ac * g
    if disc < 0:
        return NO_TTC
    den = vc + math.isqrt(disc)
    t_ms = 2 * g * 1000 // den
    physical = 2 * g / (vc + math.sqrt(disc)) * 1000  # cross-check: the root, in float physics
    # isqrt floors the root by < 1 cm/s: at most t / den ms more, plus the ms floor
    assert -1 <= min(t_ms, TTC_CAP_MS) - min(physical, TTC_CAP_MS) <= 1 + t_ms / den, (gap, v, a, t_ms, physical)
    return min(t_ms, TTC_CAP_MS)


def _a_req_behind_lead(ego, closing, a, slow, gap, react_ms, margin):
    """The ego stopping margin short of where a lead braking at the relative deceleration a (the
    fast estimate) will stop, after the reaction: v_e^2 / (2 (gap + v_l^2 / 2a - margin - v_e t_r)),
    mm/s^2, in the device's cm units; 0 unless the lead brakes (a at least A_LEAD_MIN, the
    low-passed estimate `slow` at least A_LEAD_SLOW_MIN) and moves forward."""
    if a < A_LEAD_MIN_MM_S2 or slow < A_LEAD_SLOW_MIN_MM_S2 or ego <= closing:
        return 0
    e = min(ego, 100_000)
    lead_cm = (e - closing) // 10
    left_cm = (gap - margin - e * react_ms // 1000) // 10 + lead_cm * lead_cm * 5 // a
    if left_cm <= 0:
        return A_IMPOSSIBLE
    got = min((e // 10) ** 2 * 5 // left_cm, A_IMPOSSIBLE)
    # cross-check: the same in float physics (m, m/s), within the cm roundings
    v_e, v_l = e / 1000, (e - closing) / 1000
    left_m = gap / 1000 + v_l * v_l / (2 * a / 1000) - margin / 1000 - v_e * react_ms / 1000
    if left_m > 1.0 and got < A_IMPOSSIBLE:
        assert abs(got - v_e * v_e / (2 * left_m) * 1000) <= 0.02 * got + 20, (ego, closing, a, gap, got, left_m)
    return got


def expected_frames(frames, distracted, settings, ego=0):
    """Per frame [target_id, ttc, ettc, a_now, a_driver, level] of the threat (see ttc.py docstring);
    ego: the ego's speed (mm/s), which the braking-lead rule needs (0: the rule is off)."""
    react = settings.reaction_distracted_ms if distracted else settings.reaction_ms
    margin = settings.stop_margin_mm
    history = {}  # id -> (closing, t_ms, accel, hits, range if in path) of the previous frame
    older = {}  # the same, of the frame before it (the braking-lead rule's fast estimate)
    incumbent = -1
    out = []
    for k, targets in enumerate(frames):
        t_ms = k * 50
        now = {}
        cands = []
        for t in targets:
            closing = _clamp(-t["range_rate"], -100_000, 100_000)
            accel, fast, hits = 0, 0, 0
            in_path = closing >= settings.closing_min_mm_s and abs(t["lateral"]) <= settings.lane_half_width_mm
            rng = max(t["range"], 0) if in_path else None
            if t["id"] in history:
                c0, t0, a0, h0, r0 = history[t["id"]]
                if 0 < t_ms - t0 <= 500:
                    raw = _clamp((closing - c0) * 1000 // (t_ms - t0), -15_000, 15_000)
                    accel, hits = a0 + (raw - a0) // ACCEL_LAG, h0
                    # the braking-lead rule's: the change over two frames, or half of one
                    fast = raw // 2
                    if t["id"] in older and 0 < t0 - older[t["id"]][1] <= 500:
                        c00, t00 = older[t["id"]][:2]
                        fast = _clamp((closing - c00) * 1000 // (t_ms - t00), -15_000, 15_000)
                    # a range that moved other than the closing speed says: not one object
                    if hits and in_path and abs(r0 - rng - closing * (t_ms - t0) // 1000) > settings.track_jump_mm:
                        hits = 0
            fig = None
            if in_path:
                ttc = min(rng * 1000 // closing, TTC_CAP_MS)
                ettc = _ettc(rng, closing, accel, ttc)
                a_now, a_drv = _a_req(closing, rng, 0, margin), _a_req(closing, rng, react, margin)
                a_drv = max(a_drv, _a_req_behind_lead(ego, closing, fast, accel, rng, react, margin))
                level = expected_level(ettc, settings)
                if a_now >= settings.decel_emergency_mm_s2:
                    level = alerts.EMERGENCY
                elif a_drv >= settings.decel_takeover_mm_s2:
                    level = max(level, alerts.TAKEOVER)
                elif a_drv >= settings.decel_warning_mm_s2:
                    level = max(level, alerts.WARNING)
                hits = hits + 1 if level >= alerts.WARNING else 0
                fig = (rng, t["id"], ttc, ettc, a_now, a_drv, level, hits)
                cands.append(fig)
            else:
                hits = 0
            now[t["id"]] = (closing, t_ms, accel, hits, rng)
        older, history = history, now
        if not cands:
            incumbent = -1
            out.append([-1, NO_TTC, NO_TTC, 0, 0, alerts.NONE])
            continue
        best = min(cands, key=lambda c: c[0])  # closest; the first of equals
        inc = [c for c in cands if c[1] == incumbent]
        if inc and best[0] >= inc[-1][0] - settings.switch_margin_mm:
            best = inc[-1]
        rng, tid, ttc, ettc, a_now, a_drv, level, hits = best
        if level >= alerts.WARNING and hits < settings.confirm_n:
            level = alerts.NOTICE
        elif level == alerts.EMERGENCY and hits < settings.brake_confirm_n:
            level = alerts.TAKEOVER  # a brake request needs a longer track
        incumbent = tid
        out.append([tid, ttc, ettc, a_now, a_drv, level])
    return out


def threat_cases() -> list[dict]:
    settings = Settings()
    attentive, distracted = False, True  # the reaction time the driver monitor hands the threat

    def approach(tid, range_m, closing_mps, n, accel_mps2=0.0, lateral_m=0.0, start=0):
        frames = [[] for _ in range(start)]
        r, v = range_m, closing_mps
        for _ in range(n):
            frames.append([target(tid, r, v, lateral_m)])
            r -= v * 0.05 + 0.5 * accel_mps2 * 0.0025
            v += accel_mps2 * 0.05
        return frames

    def merge(*seqs):
        n = max(len(q) for q in seqs)
        return [sum((q[k] if k < len(q) else [] for q in seqs), []) for k in range(n)]

    v116 = 116 / 3.6
    ghost = [[], [], [target(66, 15.0, 28.0, 0.0)], [], []]
    rng = random.Random(5)
    twins = [[target(1, 40.0 - 0.5 * k + (0.3 if k % 2 else 0.0), 10.0, 0.0),
              target(2, 40.0 - 0.5 * k + (0.0 if k % 2 else 0.3), 10.0, 0.0)] for k in range(12)]
    plans = [
        ("SU7 barrier seen at 150 m, attentive driver", approach(7, 150.0, v116, 40), attentive),
        ("SU7 barrier seen at 150 m, eyes off road", approach(7, 150.0, v116, 40), distracted),
        ("barrier appearing at 60 m at 116 km/h", approach(7, 60.0, v116, 3), attentive),
        ("one-frame ghost at TTC 0.5 s", ghost, attentive),
        ("three-frame ghost at TTC 0.5 s: no brake request", [[]] + [[target(67, 15.0 - 1.4 * k, 28.0, 0.0)]
                                                                    for k in range(3)] + [[], []], attentive),
        ("a return that jumps 5 m restarts its count", [[target(8, 30.0 - (5.0 if k == 3 else 0.0) - 1.0 * k, 20.0, 0.0)]
                                                        for k in range(8)], attentive),
        ("lead braking at 6 m/s^2", approach(3, 30.0, 1.0, 30, accel_mps2=6.0), attentive),
        ("ego braking: closing decays", approach(3, 45.0, 15.0, 30, accel_mps2=-7.0), attentive),
        ("two similar targets swap order", twins, attentive),
        ("closer car cuts in", merge(approach(1, 80.0, 12.0, 20), approach(2, 30.0, 8.0, 10, start=8, lateral_m=1.0)),
         attentive),
        ("noisy range rate", [[target(4, 90.0 - 1.2 * k, 24.0 + rng.gauss(0, 0.12), 0.2)] for k in range(30)],
         attentive),
        ("no driver frame yet", approach(7, 120.0, 25.0, 20), distracted),
    ]
    # The braking-lead rule needs the ego's speed: leads at its speed that start to brake.
    ego_plans = [
        ("a lead 1.4 s ahead at 30 m/s brakes at 6 m/s^2", approach(3, 42.0, 0.0, 16, accel_mps2=6.0), attentive, 30_000),
        ("the same with the eyes off the road", approach(3, 42.0, 0.0, 16, accel_mps2=6.0), distracted, 30_000),
        ("a lead 2.4 s ahead at 22 m/s brakes at 3 m/s^2", approach(4, 53.0, 0.0, 20, accel_mps2=3.0), attentive,
         22_000),
        ("a lead easing off at 1.5 m/s^2: not braking", approach(5, 45.0, 0.0, 20, accel_mps2=1.5), attentive,
         30_000),
    ]
    cases = []
    for name, frames, flags, *ego in [p + (0,) for p in plans] + ego_plans:
        ego_mm_s = ego[0]
        cases.append({"kind": "threat", "name": name,
                      "input": {"distracted": flags, "ego_mm_s": ego_mm_s,
                                "frames": [[[t[f] for f, _, _ in schema.TARGET_FIELDS] for t in fr] for fr in frames]},
                      "expect": {"per_frame": expected_frames(frames, flags, settings, ego_mm_s)}})
    return cases


# -- crc -----------------------------------------------------------------------------------------
def crc_cases() -> list[dict]:
    rng = random.Random(3)
    blobs = [b"", b"123456789", bytes(64), b"\xff" * 33]
    blobs += [rng.randbytes(n) for n in (1, 2, 3, 4, 5, 16, 31, 52, 100, 257, schema.MAX_PAYLOAD)]
    cases = []
    for data in blobs:
        crc = zlib.crc32(data)
        cases.append({"kind": "crc", "name": f"crc of {len(data)} bytes",
                      "input": {"data": data.hex()},
                      "expect": {"lo16": crc & 0xFFFF, "hi16": crc >> 16}})
    return cases


# -- settings ------------------------------------------------------------------------------------
_SUFFIXES = (("_mps2", "_mm_s2", 1000), ("_mps", "_mm_s", 1000), ("_s", "_ms", 1000), ("_m", "_mm", 1000),
             ("_frames", "_n", 1), ("_count", "_n", 1))


def _device(row_name: str) -> str:
    for suffix, device_suffix, _ in _SUFFIXES:
        if row_name.endswith(suffix):
            return row_name[: -len(suffix)] + device_suffix
    raise ValueError(row_name)


def dev(row_name: str, value: float) -> int:
    """Physical value of a SPEC row -> its device integer (a count of frames is not scaled)."""
    for suffix, _, scale in _SUFFIXES:
        if row_name.endswith(suffix):
            return int(round(value * scale))
    raise ValueError(row_name)


def settings_cases() -> list[dict]:
    plans = [
        ("defaults", []),
        ("each setting to its lowest and back up to its highest",
         [(k, dev(row[0], row[3])) for k, row in enumerate(SPEC)] + [(k, dev(row[0], row[4])) for k, row in enumerate(SPEC)]),
        ("below the floor, above the top, unknown keys",
         [(k, dev(row[0], row[3]) - 1) for k, row in enumerate(SPEC)] + [(k, dev(row[0], row[4]) + 1) for k, row in enumerate(SPEC)]
         + [(len(SPEC), 1000), (255, 1000)]),
        ("a few mid-range changes", [(3, 5000), (0, 1500), (5, 1700), (1, 450)]),
    ]
    cases = []
    for name, ops in plans:
        values = {_device(row[0]): dev(row[0], row[1]) for row in SPEC}
        statuses = []
        for key, value in ops:
            if not 0 <= key < len(SPEC):
                statuses.append(schema.CONFIG_UNKNOWN_KEY)
                continue
            row = SPEC[key]
            if value < dev(row[0], row[3]):
                statuses.append(schema.CONFIG_BELOW_FLOOR if row[5] == "floor" else schema.CONFIG_OUT_OF_RANGE)
            elif value > dev(row[0], row[4]):
                statuses.append(schema.CONFIG_ABOVE_CEILING if row[5] == "ceiling" else schema.CONFIG_OUT_OF_RANGE)
            else:
                statuses.append(schema.CONFIG_OK)
                values[_device(row[0])] = value
        text = ";".join(f"{_device(row[0])}={values[_device(row[0])]}" for row in SPEC)
        cases.append({"kind": "settings", "name": name,
                      "input": {"ops": [list(op) for op in ops]},
                      "expect": {"statuses": statuses, "values": values,
                                 "digest": zlib.crc32(text.encode()) & 0x3FFFFFFF}})
    return cases


# -- driver monitor -------------------------------------------------------------------------------
DM_STEP_MS = 50  # the monitor is updated every radar frame (20 Hz) ...
DM_FRAME_MS = 100  # ... and driver frames arrive at 10 Hz
HANDS, EYES, CLOSED, ENGAGED = (schema.DRIVER_HANDS_ON, schema.DRIVER_EYES_ON_ROAD, schema.DRIVER_EYES_CLOSED,
                                schema.DRIVER_ENGAGED)
ATTENTIVE_FLAGS = HANDS | EYES | ENGAGED


def _driver_frames(spans, end_ms, until_ms=None):
    """Driver frames every DM_FRAME_MS: spans is [(from_ms, flags)], the flags from then on."""
    frames = []
    for t in range(0, (end_ms if until_ms is None else until_ms) + 1, DM_FRAME_MS):
        flags = [f for start, f in spans if start <= t][-1]
        frames.append([t, flags])
    return frames


_KEYS = ("hands", "eyes", "drowsy", "vats", "locked", "hs", "terminal")
_START = [alerts.NONE, alerts.NONE, alerts.NONE, alerts.NONE, 0, 0, 0]


class _Story:
    """Expected transitions of [hands, eyes, drowsy, vats, locked, high_sensitivity, terminal]:
    events may be added in any order; each sets a value from its time on."""

    def __init__(self):
        self.events = []

    def at(self, t_ms, **changes):
        for key, value in changes.items():
            self.events.append((t_ms, _KEYS.index(key), int(value)))
        return self

    def transitions(self):
        state = list(_START)
        out = [[0, list(state)]]
        for t in sorted({e[0] for e in self.events}):
            for when, index, value in self.events:
                if when == t:
                    state[index] = value
            if state != out[-1][1]:
                out.append([t, list(state)]) if t else out.__setitem__(0, [0, list(state)])
        return out


def _ladder(t_request, escalate_ms, s, last_ms):
    """(time, level) of a hands-off / eyes-off request raised at t_request, never answered."""
    t_warn = t_request + escalate_ms
    for t, level in ((t_request, alerts.NOTICE), (t_warn, alerts.WARNING),
                     (t_warn + s.dm_takeover_ms, alerts.TAKEOVER), (t_warn + s.dm_mrm_ms, alerts.EMERGENCY)):
        if t <= last_ms:
            yield t, level


def _closed_for(story, t, closed_ms, s):
    """Eyes closed from t for closed_ms, then open: the drowsy and eyes-off levels it raises and
    clears. Returns when that episode first reached TAKEOVER (None if it did not)."""
    end = t + closed_ms
    marks = [(t + th, "drowsy", level) for th, level in ((s.microsleep_ms, alerts.WARNING), (s.sleep_ms, alerts.TAKEOVER),
                                                           (s.unresponsive_closed_ms, alerts.EMERGENCY)) if th <= closed_ms]
    marks += [(when, "eyes", level) for when, level in _ladder(t + s.eyes_off_request_ms, s.eyes_off_escalate_ms, s, end)]
    for when, key, level in marks:
        story.at(when, **{key: level})
    story.at(end + s.attention_restore_ms, drowsy=alerts.NONE, eyes=alerts.NONE)
    return min((when for when, _, level in marks if level >= alerts.TAKEOVER), default=None)


def dm_cases() -> list[dict]:
    """Driver stories, each with the transitions the settings call for (times in closed form)."""
    s = Settings()
    hold, restore = s.hs_hold_ms, s.attention_restore_ms
    cases = []

    def add(name, spans, end_ms, story, pins=(), until_ms=None, first_ms=0):
        frames = [f for f in _driver_frames(spans, end_ms, until_ms) if f[0] >= first_ms]
        cases.append({"kind": "dm", "name": name,
                      "input": {"frames": frames, "end_ms": end_ms,
                                "pins": [list(p) for p in pins]},
                      "expect": {"transitions": story.transitions()}})

    add("attentive driver: nothing at all", [(0, ATTENTIVE_FLAGS)], 20_000, _Story())
    add("no driver frame for the first second: high sensitivity until the hold has passed",
        [(0, ATTENTIVE_FLAGS)], 6_000, _Story().at(0, hs=1).at(1000 + hold, hs=0), until_ms=None, first_ms=1000)

    t0, end = 1000, 20_000
    st = _Story().at(t0, hs=1).at(t0 + s.vats_limit_ms, vats=alerts.WARNING)
    for t, level in _ladder(t0 + s.eyes_off_request_ms, s.eyes_off_escalate_ms, s, end):
        st.at(t, eyes=level, **({"terminal": 1} if level == alerts.TAKEOVER else {}))
    add("eyes off the road for good: request, escalation, takeover, minimal-risk; VATS total too",
        [(0, ATTENTIVE_FLAGS), (t0, HANDS | ENGAGED)], end, st)

    t0, t1 = 5000, 9000
    st = _Story().at(t0, hs=1).at(t0 + s.eyes_off_request_ms, eyes=alerts.NOTICE)
    st.at(t1 + restore, eyes=alerts.NONE).at(t1 + restore + hold, hs=0)
    add("looks at the phone for 4 s: a request, cleared once the gaze is back for 200 ms",
        [(0, ATTENTIVE_FLAGS), (t0, HANDS | ENGAGED), (t1, ATTENTIVE_FLAGS)], 16_000, st)

    t0, end = 1000, 40_000
    st = _Story()
    for t, level in _ladder(t0 + s.hands_off_request_ms + s.hands_off_eyes_on_extra_ms, s.hands_off_escalate_ms, s, end):
        st.at(t, hands=level, hs=1, **({"terminal": 1} if level == alerts.TAKEOVER else {}))
    add("hands off on an empty road, eyes on it: the longer R171 allowance, then the ladder",
        [(0, ATTENTIVE_FLAGS), (t0, EYES | ENGAGED)], end, st)

    t0, end = 4000, 15_000
    st = _Story().at(t0, hs=1).at(t0 + s.vats_limit_ms, vats=alerts.WARNING)
    reached = _closed_for(st, t0, end - t0 + 1, s)
    st.events = [e for e in st.events if e[0] <= end]
    st.at(reached, terminal=1)
    add("falls asleep: microsleep, sleep escalates at once, unresponsive asks for a minimal-risk stop",
        [(0, ATTENTIVE_FLAGS), (t0, HANDS | ENGAGED | CLOSED)], end, st)

    t0, away, back, end = 4000, 2000, 1000, 23_000
    spans = [(0, ATTENTIVE_FLAGS)]
    st = _Story().at(t0, hs=1)
    t, total = t0, 0
    while t < end:
        spans += [(t, HANDS | ENGAGED), (t + away, ATTENTIVE_FLAGS)]
        before, total = total, total + away
        if total >= s.vats_limit_ms:
            st.at(t + max(0, s.vats_limit_ms - before), vats=alerts.WARNING)
            if t + away + restore <= end:
                st.at(t + away + restore, vats=alerts.NONE)
        t += away + back
    add("glances away 2 s in every 3 s: no single glance is long, the VATS total is", spans, end, st)

    last, end = 2000, 10_000
    stale = last + s.driver_stale_ms + DM_STEP_MS  # the first update that finds the data too old
    st = _Story().at(stale, hs=1)
    for t, level in _ladder(stale + s.eyes_off_request_ms, s.eyes_off_escalate_ms, s, end):
        st.at(t, eyes=level)
    for t, level in _ladder(stale + s.hands_off_request_ms, s.hands_off_escalate_ms, s, end):
        st.at(t, hands=level)
    add("the driver camera stops: stale data is unknown, hands and eyes timers run",
        [(0, ATTENTIVE_FLAGS)], end, st, until_ms=last)

    t0 = 4000
    st = _Story().at(t0, hs=1).at(t0 + s.eyes_off_request_ms + DM_FRAME_MS, eyes=alerts.NOTICE)
    add("a glance back shorter than 200 ms does not reset the eyes-off timer",
        [(0, ATTENTIVE_FLAGS), (t0, HANDS | ENGAGED), (t0 + 2000, ATTENTIVE_FLAGS),
         (t0 + 2000 + DM_FRAME_MS, HANDS | ENGAGED)], t0 + 5000, st)

    t0, closed, opened = 4000, s.sleep_ms + 500, s.vats_reset_ms  # the reset keeps VATS out of it
    spans = [(0, ATTENTIVE_FLAGS)]
    st = _Story().at(t0, hs=1)
    t = t0
    for episode in range(1, s.lockout_after_n + 1):
        spans += [(t, HANDS | ENGAGED | CLOSED), (t + closed, ATTENTIVE_FLAGS)]
        reached = _closed_for(st, t, closed, s)
        st.at(reached, terminal=episode, locked=episode >= s.lockout_after_n)
        t += closed + opened
    add("repeated sleep episodes lock assistance out for the rest of the drive", spans, t + 1000, st)

    add("the hands-on pin counts as hands on the wheel",
        [(0, EYES | ENGAGED)], 15_000, _Story(), pins=[(0, True)])
    add("assistance not engaged: hands off is not asked about",
        [(0, EYES)], 15_000, _Story())
    return cases


# -- the predicted path and structures above the road (protocol revision 2) ----------------------
def expected_path_threat(targets: list[dict], yaw_mrad_s: int, ego_mm_s: int, settings: Settings):
    """(target_id, ttc_ms, radius_mm) from float geometry: the path's radius R = v / yaw rate
    (straight below 1 m/s), its offset at range x is x^2 / 2R; in path within the lane half
    width of it; a reflection at least overhead_height high that stands still (|ego speed +
    range rate| < 1 m/s) is above the road. Scenes keep every lateral 0.1 m off the lane edge,
    where the firmware's 50 mm rounding could decide either way."""
    radius_m = None
    if yaw_mrad_s and ego_mm_s >= 1000:
        radius_m = (ego_mm_s / 1000) / (yaw_mrad_s / 1000)
    best = None
    for t in targets:
        closing = -t["range_rate"]
        if closing < settings.closing_min_mm_s:
            continue
        x = max(t["range"], 0) / 1000
        offset = 0.0 if radius_m is None else min(x, 300.0) ** 2 / (2 * radius_m)
        off_path = abs(t["lateral"] / 1000 - offset) - settings.lane_half_width_mm / 1000
        assert abs(off_path) > 0.1, ("a lateral too close to the lane edge", t, offset)
        if off_path > 0:
            continue
        height = t.get("height", schema.HEIGHT_UNKNOWN)
        if height >= settings.overhead_height_mm and abs(ego_mm_s + t["range_rate"]) < 1000:
            continue
        rng = max(t["range"], 0)
        if best is None or rng < best[0]:
            best = (rng, closing, t["id"])
    radius_mm = 0 if radius_m is None else int(ego_mm_s * 1000 // yaw_mrad_s)
    if best is None:
        return -1, NO_TTC, radius_mm
    rng, closing, tid = best
    return tid, min(rng * 1000 // closing, TTC_CAP_MS), radius_mm


def path_cases() -> list[dict]:
    settings = Settings()
    high, low = settings.overhead_height_mm, 600
    v120 = mm(120 / 3.6)
    # (name, yaw mrad/s, ego mm/s, targets (with "height": the frame carries the heights block))
    scenes = []

    def at(tid, range_m, closing_mps, lateral_m, height=None):
        t = target(tid, range_m, closing_mps, lateral_m)
        return t if height is None else {**t, "height": height}

    yaw500 = round(v120 / 500)  # mrad/s: a 500 m curve at 120 km/h
    scenes.append(("right curve 500 m: a stopped car in our lane 80 m ahead reads 6.4 m right", -yaw500, v120,
                   [at(1, 80.0, 120 / 3.6, -6.4, low)]))
    scenes.append(("left curve 500 m: the same, mirrored", yaw500, v120, [at(1, 80.0, 120 / 3.6, 6.4, low)]))
    scenes.append(("right curve: a slower car in the left lane 50 m ahead reads 1.0 m left", -yaw500, v120,
                   [at(2, 50.0, 10.0, 1.0, low)]))
    scenes.append(("straight: the same reading is in the path", 0, v120, [at(2, 50.0, 10.0, 1.0, low)]))
    scenes.append(("plain records on a curve", -yaw500, v120, [at(3, 80.0, 20.0, -6.4), at(4, 50.0, 10.0, 1.0)]))
    scenes.append(("a bridge in our lane is not an obstacle", 0, v120, [at(5, 120.0, 120 / 3.6, 0.0, 5500)]))
    scenes.append(("a barrier under the bridge still is", 0, v120,
                   [at(5, 120.0, 120 / 3.6, 0.0, 5500), at(6, 120.5, 120 / 3.6, 0.2, 500)]))
    scenes.append(("high but moving (ground speed 25 m/s): not a structure", 0, mm(30.0),
                   [at(7, 60.0, 5.0, 0.0, 5000)]))
    scenes.append(("exactly overhead_height: a structure", 0, v120, [at(8, 90.0, 120 / 3.6, 0.0, high)]))
    scenes.append(("1 mm below it: an obstacle", 0, v120, [at(8, 90.0, 120 / 3.6, 0.0, high - 1)]))
    scenes.append(("height unknown: an obstacle", 0, v120, [at(8, 90.0, 120 / 3.6, 0.0, schema.HEIGHT_UNKNOWN)]))
    scenes.append(("at walking pace the yaw rate bends nothing", 300, 900, [at(9, 20.0, 0.9, 0.5, low)]))
    rng = random.Random(11)
    for k in range(10):
        yaw = rng.choice((0, rng.randint(-120, 120)))
        ego = rng.randint(3000, 40000)
        n = schema.MAX_TARGETS if k == 0 else rng.randrange(1, 24)
        radius = None if yaw == 0 or ego < 1000 else (ego / yaw)  # m
        targets = []
        while len(targets) < n:
            x = rng.uniform(1.0, 200.0)
            offset = 0.0 if radius is None else x * x / (2 * radius)
            lateral = offset + rng.uniform(-5.0, 5.0)
            if abs(abs(lateral - offset) - settings.lane_half_width_mm / 1000) < 0.15:
                continue
            stationary = rng.random() < 0.5
            closing = ego / 1000 if stationary else rng.uniform(-5.0, 30.0)
            height = rng.choice((None, low, 5500, schema.HEIGHT_UNKNOWN))
            targets.append(at(200 + len(targets), x, closing, lateral, height if height is not None else low))
        scenes.append((f"random scene {k} ({n} targets, yaw {yaw} mrad/s, ego {ego} mm/s)", yaw, ego, targets))
    cases = []
    for seq, (name, yaw, ego, targets) in enumerate(scenes):
        tid, ttc, radius_mm = expected_path_threat(targets, yaw, ego, settings)
        frame = codec.encode("radar", seq, targets=targets, t_ms=1000, ego_speed=ego, yaw_rate=yaw)
        cases.append({"kind": "path", "name": name, "input": {"frame": frame.hex()},
                      "expect": {"threat": [tid, ttc], "radius_mm": radius_mm}})
    return cases


def build() -> list[dict]:
    return (wire_cases() + ttc_cases() + crc_cases() + settings_cases() + threat_cases() + dm_cases()
            + path_cases())


def write(path) -> list[dict]:
    cases = build()
    with open(path, "w") as f:
        json.dump(cases, f)
    return cases


if __name__ == "__main__":
    import sys

    print(len(write(sys.argv[1] if len(sys.argv) > 1 else "vectors.json")), "cases")

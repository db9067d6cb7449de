"""The alert path: what an ALERT waits for, and the replies packed in one call.

- Threat.decide picks the threat and its confirmed level from the frame and the previous frame's
  tracks; Threat.track updates every track afterwards. An independent model (dicts, no hash
  tables, the rules of tkfw/ttc.py's docstring) must agree with decide() on every frame.
- The firmware writes a frame's ALERT before the tracks move on, and its STATUS after.
- ALERT and STATUS are packed with struct.pack_into in schema order: every field decoded by the
  host codec is the value the firmware holds.
- STATUS heap_bytes is measured on the session's first STATUS and every HEAP_SAMPLE_EVERY-th.
"""

import random
from array import array

import pytest

import tkfw.app
from fake_io import ByteIO
from takeover import codec
from tkfw import alerts, schema, ttc
from tkfw.app import Firmware
from tkfw.settings import Settings

FRAME_MS = 50
BRAKE_FRAMES = Settings().brake_confirm_n  # radar frames of a closing car before the brake request


def words_of(targets):
    out = array("i")
    for tid, rng, rate, lateral in targets:
        out.extend((tid, rng, rate, lateral))
    return out


class Model:
    """Threat selection written from the rules, with a dict of histories per track id."""

    def __init__(self, settings):
        self.s = settings
        self.history = {}  # id -> (closing, t_ms, accel, hits, range if in path) as of the last frame
        self.older = {}  # the same, as of the frame before it
        self.target_id = -1

    def frame(self, targets, t_ms, reaction_ms, ego_mm_s=0):
        s = self.s
        seen = {}
        candidates = []  # (range, id, closing, accel, hits after this frame, raw level, figures)
        for tid, rng, rate, lateral in targets:
            closing = max(-ttc._V_MAX_MM_S, min(ttc._V_MAX_MM_S, -rate))
            accel, fast, hits, r = 0, 0, 0, None
            if closing >= s.closing_min_mm_s and abs(lateral) <= s.lane_half_width_mm:
                r = max(rng, 0)
            if tid in self.history:
                c0, t0, a0, h0, r0 = self.history[tid]
                if 0 < t_ms - t0 <= 500:
                    raw = max(-15000, min(15000, (closing - c0) * 1000 // (t_ms - t0)))
                    accel = a0 + (raw - a0) // ttc.ACCEL_LAG
                    # the braking-lead rule's estimate: over two frames, or half of one
                    fast = raw // 2
                    if tid in self.older and 0 < t0 - self.older[tid][1] <= 500:
                        c00, t00 = self.older[tid][:2]
                        fast = max(-15000, min(15000, (closing - c00) * 1000 // (t_ms - t00)))
                    hits = h0
                    # a range that moved other than the closing speed says restarts the count
                    if hits and r is not None and abs(r0 - r - closing * (t_ms - t0) // 1000) > s.track_jump_mm:
                        hits = 0
            if r is not None:
                plain = ttc._TTC_CAP_MS if r >= closing * 60 else r * 1000 // closing
                ettc = ttc.enhanced_ttc(r, closing, accel, plain)
                a_now = ttc.a_req(closing, r, 0, s.stop_margin_mm)
                a_driver = max(ttc.a_req(closing, r, reaction_ms, s.stop_margin_mm),
                               ttc.a_req_behind_lead(ego_mm_s, closing, fast, accel, r, reaction_ms, s.stop_margin_mm))
                level = ttc.level_with_decel(ttc.level_for(ettc, s), a_now, a_driver, s)
                hits = hits + 1 if level >= alerts.WARNING else 0
                candidates.append((r, tid, closing, accel, hits, level, (plain, ettc, a_now, a_driver)))
            else:
                hits = 0
            seen[tid] = (closing, t_ms, accel, hits, r)
        self.older, self.history = self.history, seen
        if not candidates:
            self.target_id = -1
            return None
        best = min(candidates, key=lambda c: c[0])  # the first of equal ranges, like the firmware
        incumbent = [c for c in candidates if c[1] == self.target_id]
        if incumbent and best[0] >= incumbent[-1][0] - s.switch_margin_mm:
            best = incumbent[-1]
        self.target_id = best[1]
        level = best[5]
        if level >= alerts.WARNING and best[4] < s.confirm_n:
            level = alerts.NOTICE
        elif level == alerts.EMERGENCY and best[4] < s.brake_confirm_n:
            level = alerts.TAKEOVER  # braking needs a longer track
        return {"target_id": best[1], "range_mm": best[0], "closing_mm_s": best[2], "accel_mm_s2": best[3],
                "raw_level": best[5], "level": level, "ttc_ms": best[6][0], "ettc_ms": best[6][1],
                "a_now_mm_s2": best[6][2], "a_driver_mm_s2": best[6][3]}


def random_frames(rng, count):
    """Cars coming and going over `count` frames: ids that collide in the 128-slot tables (5, 133,
    261), some in path, some beside, closing, opening, braking, and frames with none."""
    pool = [5, 133, 261, 7, 1000, -3, 64, 192]
    cars = {tid: [rng.randrange(2_000, 120_000), rng.randrange(-30_000, 5_000), rng.choice((0, 900, -1500, 3500))]
            for tid in pool}
    frames = []
    for k in range(count):
        targets = []
        for tid in rng.sample(pool, rng.randrange(0, len(pool) + 1)):
            car = cars[tid]
            car[1] += rng.randrange(-800, 801)  # range rate drifts: the acceleration estimate works
            car[0] = max(-500, car[0] + car[1] * FRAME_MS // 1000)
            if car[0] < 1000 or rng.random() < 0.02:
                car[0] = rng.randrange(20_000, 120_000)
            targets.append((tid, car[0], car[1], car[2]))
        frames.append((FRAME_MS * k, targets))
    return frames


@pytest.mark.parametrize("seed", range(6))
def test_decide_agrees_with_a_model_of_the_rules_on_every_frame(seed):
    rng = random.Random(seed)
    s = Settings()
    threat, model = ttc.Threat(), Model(s)
    # An ego faster than every car closes (odd seeds): leads move forward, and the braking-lead
    # rule runs wherever the range rates drift up fast enough.
    ego = 60_000 if seed % 2 else 0
    levels = set()
    for t_ms, targets in random_frames(rng, 400):
        reaction = rng.choice((s.reaction_ms, s.reaction_distracted_ms))
        words = words_of(targets)
        threat.decide(words, 0, len(targets), s, t_ms, reaction, -1, 0, ego)
        want = model.frame(targets, t_ms, reaction, ego)
        if want is None:
            assert (threat.target_id, threat.level, threat.ttc_ms) == (-1, alerts.NONE, ttc.NO_TTC)
        else:
            got = {key: getattr(threat, key) for key in want}
            assert got == want, (t_ms, targets)
            levels.add(want["level"])
        threat.track(words, 0, len(targets), s, t_ms, -1, 0, ego)
    assert levels >= {alerts.NOTICE, alerts.EMERGENCY}, levels  # the frames did reach the alert rows


def test_decide_leaves_the_tracks_alone_and_assess_is_decide_then_track():
    rng = random.Random(11)
    s = Settings()
    whole, halves = ttc.Threat(), ttc.Threat()
    for t_ms, targets in random_frames(rng, 200):
        words = words_of(targets)
        first = halves.decide(words, 0, len(targets), s, t_ms, s.reaction_ms)
        again = halves.decide(words, 0, len(targets), s, t_ms, s.reaction_ms)  # nothing moved in between
        assert first == again
        halves.track(words, 0, len(targets), s, t_ms)
        assert whole.assess(words, 0, len(targets), s, t_ms, s.reaction_ms) == first
        assert (whole.target_id, whole.level, whole.accel_mm_s2) == (halves.target_id, halves.level,
                                                                     halves.accel_mm_s2)


def run_frames(frames):
    """The frames through a Firmware; every reply written, with the threat's frame count then."""
    sent = []
    io = ByteIO(b"".join(frames), on_write=lambda msg: sent.append((msg, fw.threat._gen)))
    fw = Firmware(io, "test")
    while io.pos < len(io.data):
        fw.poll(0)
    return fw, sent


def car_ahead(seq, k):
    """A stopped car 8 m ahead of an ego at 20 m/s: TAKEOVER once confirmed, EMERGENCY (the
    brake request) once its track is brake_confirm_frames long."""
    return codec.encode("radar", seq, targets=[{"id": 1, "range": 8000 - 1000 * k, "range_rate": -20_000,
                                                "lateral": 0}], t_ms=FRAME_MS * k, ego_speed=20_000)


def test_the_alert_is_written_before_the_tracks_move_on_and_the_status_after():
    fw, sent = run_frames([codec.encode("info_req", 0)] + [car_ahead(1 + k, k) for k in range(4)])
    radar = [(m, gen) for m, gen in sent if m.name in ("alert", "status")]
    alerts_ = [(m, gen) for m, gen in radar if m.name == "alert"]
    assert [m["level"] for m, _ in alerts_] == [alerts.NOTICE, alerts.TAKEOVER, alerts.EMERGENCY]
    for alert, gen in alerts_:
        status, status_gen = next((m, g) for m, g in radar if m.name == "status" and m["frame_seq"] == alert["frame_seq"])
        assert status_gen == gen + 1  # track() ran between the frame's ALERT and its STATUS


def test_every_alert_and_status_field_is_what_the_firmware_holds(monkeypatch):
    samples = iter(range(10_000, 20_000, 8))
    monkeypatch.setattr(tkfw.app, "mem_alloc", lambda: next(samples))
    frames = [codec.encode("info_req", 0), codec.encode("driver", 1, t_ms=0, flags=0)]
    frames += [car_ahead(2 + k, k) for k in range(BRAKE_FRAMES)]
    fw, sent = run_frames(frames)
    alert = [m for m, _ in sent if m.name == "alert"][-1]
    status = [m for m, _ in sent if m.name == "status"][-1]
    arbiter, threat, dec = fw.arbiter, fw.threat, fw.dec
    assert alert.fields == {
        "frame_seq": 1 + BRAKE_FRAMES, "level": arbiter.level, "cause": arbiter.cause, "ttc_ms": threat.ttc_ms,
        "proc_us": alert["proc_us"], "t_ms": FRAME_MS * (BRAKE_FRAMES - 1), "outputs": alerts.outputs_of(arbiter.row),
        "origin": schema.ORIGIN_FRAME, "level2": 0, "cause2": 0, "rx_ticks_us": status["rx_ticks_us"]}
    assert (alert["level"], alert["outputs"] & alerts.OUT_BRAKE) == (alerts.EMERGENCY, alerts.OUT_BRAKE)
    assert 0 < alert["proc_us"] < fw.last_proc_us  # the decision is part of the frame's work
    assert status.fields == {
        "frame_seq": 1 + BRAKE_FRAMES, "level": arbiter.level, "cause": arbiter.cause, "proc_us": fw.last_proc_us,
        "processed": dec.processed, "dropped": dec.dropped, "rejected": dec.rejected, "bad_crc": dec.bad_crc,
        "skipped_bytes": dec.skipped_bytes, "ttc_ms": threat.ttc_ms, "rx_ticks_us": status["rx_ticks_us"],
        "dm_flags": fw.dm.status, "dm_terminal": fw.dm.terminal, "settings_faults": fw.settings_faults, "tx_dropped": fw.tx_dropped,
        "loop_faults": fw.faults, "bad_version": dec.bad_version, "bad_type": dec.bad_type,
        "bad_length": dec.bad_length, "lost": dec.lost, "heap_bytes": 10_000, "heap_free": 0,
        "heap_locked_frames": 0}
    assert dec.processed == 2 + BRAKE_FRAMES and fw.dm.status != 0  # INFO_REQ, the driver frame, the radar frames


def test_heap_bytes_is_measured_on_the_first_status_and_every_sample_interval_after(monkeypatch):
    calls = []

    def mem_alloc():
        calls.append(len(calls))
        return 1000 + len(calls)

    monkeypatch.setattr(tkfw.app, "mem_alloc", mem_alloc)
    every = schema.HEAP_SAMPLE_EVERY
    count = 3 * every + 2
    frames = [codec.encode("info_req", 0)] + [car_ahead(1 + k, k) for k in range(count)]
    frames.append(codec.encode("status_req", count + 1))
    _, sent = run_frames(frames)
    heaps = [m["heap_bytes"] for m, _ in sent if m.name == "status"]
    assert len(heaps) == count + 1
    # measured at STATUS 1, 1 + every, 1 + 2 every, ...: a new value there, the same in between
    fresh = [k for k in range(count) if k % every == 0]
    assert [k for k in range(1, count) if heaps[k] != heaps[k - 1]] == fresh[1:]
    assert heaps[-1] == 1000 + len(calls) and len(calls) == len(fresh) + 1  # STATUS_REQ measures afresh


def test_frame_times_past_2_to_the_31_wrap_like_ticks_and_still_alert():
    """t_ms is read from a signed int32 view; 2**31 and up must not reach the ALERT's unsigned field
    negative (CPython's struct refuses it; the old per-field writes masked it)."""
    base = (1 << 31) + 5
    frames = [codec.encode("info_req", 0)]
    frames += [codec.encode("radar", 1 + k, targets=[{"id": 1, "range": 8000, "range_rate": -20_000, "lateral": 0}],
                            t_ms=base + 50 * k, ego_speed=20_000) for k in range(2)]
    fw, sent = run_frames(frames)
    alerts_ = [m for m, _ in sent if m.name == "alert"]
    assert fw.faults == 0 and len(alerts_) == 2
    assert [m["t_ms"] for m in alerts_] == [(base + 50 * k) & ((1 << 30) - 1) for k in range(2)]


def test_lock_heap_holds_the_lock_over_exactly_the_frames_asked_and_a_new_session_ends_it(monkeypatch):
    calls = []
    monkeypatch.setattr(tkfw.app, "heap_lock", lambda: calls.append("lock"))
    monkeypatch.setattr(tkfw.app, "heap_unlock", lambda: calls.append("unlock") or 0)
    frames = [codec.encode("info_req", 0), codec.encode("lock_heap", 1, frames=3)]
    frames += [car_ahead(2 + k, k) for k in range(5)]
    frames += [codec.encode("lock_heap", 7, frames=10), car_ahead(8, 5), codec.encode("info_req", 0)]
    fw, sent = run_frames(frames)
    statuses = [m for m, _ in sent if m.name == "status"]
    assert [m["heap_locked_frames"] for m in statuses[:6]] == [1, 2, 3, 3, 3, 4]
    assert calls == ["lock", "unlock", "lock", "unlock"]  # the second window ended by the new session
    assert fw.lock_left == 0 and fw.faults == 0

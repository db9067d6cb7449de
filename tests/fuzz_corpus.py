"""A seeded, reproducible fuzz corpus for the firmware loop on the MicroPython VM.

One byte stream of `count` slots. A slot is one host frame (every host type, built with
takeover.codec.encode from random fields, radar frames with 0..64 targets), intact or mutated,
or a blob of pure random bytes. Every frame slot takes the next seq of one series (16 bits,
wrapping), so the decoder's seq accounting can be checked to the frame:

- damaged: the frame can no longer be read (bit flips, byte changes, truncation, extension or a
  length change without a CRC fix-up, an oversized or undersized length, a broken sync or CRC).
  The decoder must never hand it over; it shows up only as a seq gap (STATUS `lost`), except
  before the first frame that arrives, which starts the series.
- planted: the frame is CRC-valid as written, though possibly odd after a mutation whose CRC was
  fixed up (wrong version, unknown type, body too short, n_targets disagreeing with the length,
  extra bytes, random field values). The decoder must find every one of them; tkfw.app then
  processes, drops (flood) or rejects it, with the reason predicted here from tkfw.schema.
- random bytes (sometimes with a fake header inside) and partial copies of the previous frame take
  no seq; a whole repeat of the previous planted frame repeats its seq. A frame cut short (and a
  partial copy) is followed by a byte other than the one it lost (see guard()).

Files written by write(): corpus.bin (the stream), intact.bin (the CRC of every planted frame in
stream order, 4 bytes little-endian each, so the VM can tell whether each frame it accepts is the
next planted one or a misread) and manifest.json (what the stream holds and the counters the
firmware must end with). build() checks with an independent sliding scan that the stream holds
exactly the planted frames.

    .venv/bin/python tests/fuzz_corpus.py OUT_DIR [--seed N] [--count N]
"""

import argparse
import json
import random
import struct
import zlib
from pathlib import Path

from takeover import codec
from tkfw import schema
from tkfw.settings import SPEC

SEED = 6  # any fixed seed: the corpus is the same on every run
COUNT = 100_000
HDR = schema.HEADER_LEN
TARGETS_AT = HDR + schema.RADAR_TARGETS_AT  # byte offset of the first target record in a frame
N_TARGETS_AT = HDR + schema.layout(schema.MESSAGES[schema.T_RADAR][1])[0]["n_targets"][0]
# HANG stops the firmware's loop for seconds by design (fault injection) and LOCK_HEAP changes the
# heap's rules: test requests, never planted, and never made from another type (a CRC-valid one
# arriving by chance is as rare as any CRC-32 miss).
TEST_REQUESTS = (schema.T_HANG, schema.T_LOCK_HEAP)
HOST_TYPES = tuple(sorted(t for t in schema.MESSAGES if t < 0x80 and t not in TEST_REQUESTS))
DEVICE_TYPES = tuple(sorted(t for t in schema.MESSAGES if t >= 0x80))
UNKNOWN_TYPES = tuple(t for t in range(256) if t not in HOST_TYPES and t not in TEST_REQUESTS)  # device ids are unknown to the firmware
MIN_PAYLOAD = {t: schema.PAYLOAD_HEADER_LEN + schema.body_len(t) for t in HOST_TYPES}
# Radar dominates real traffic; INFO_REQ starts a new session (counters reset), so it stays rare.
TYPE_WEIGHTS = {schema.T_RADAR: 40, schema.T_DRIVER: 15, schema.T_PING: 8, schema.T_CONFIG_GET: 6,
                schema.T_CONFIG_SET: 8, schema.T_INFO_REQ: 1, schema.T_STATUS_REQ: 10, schema.T_ECHO: 8,
                schema.T_END_DRIVE: 2}
RADAR_PERIOD_MS = 50
T_MASK = (1 << 30) - 1

# Slot kinds and their weights. "damaged" kinds break the frame; "planted" kinds leave (or make)
# it CRC-valid; the rest take no seq.
DAMAGED = {"bit_flip": 8, "byte_change": 6, "truncate": 8, "extend_no_fix": 3, "length_change": 5,
           "oversized_length": 2, "undersized_length": 1, "bad_sync": 1, "bad_crc": 3}
PLANTED = {"intact": 40, "wrong_version": 3, "unknown_type": 3, "short_body_fixed": 3,
           "n_targets_fixed": 3, "extend_fixed": 2, "random_fields_fixed": 4, "repeat": 2}
OTHER = {"random_bytes": 5, "partial_copy": 2}


def expected_outcome(frame):
    """What tkfw.app makes of a CRC-valid frame: "ok" (processed or dropped) or a rejection counter."""
    payload_len = len(frame) - HDR - schema.CRC_LEN
    version, msg_type = frame[HDR], frame[HDR + 1]
    if version != schema.VERSION:
        return "bad_version"
    if msg_type not in MIN_PAYLOAD:
        return "bad_type"
    if payload_len < MIN_PAYLOAD[msg_type]:
        return "bad_length"
    if msg_type == schema.T_RADAR:
        count = frame[N_TARGETS_AT]
        heights = frame[N_TARGETS_AT + 1] & schema.RADAR_HEIGHTS  # the flags byte follows the count
        record = schema.TARGET_LEN + (schema.HEIGHT_LEN if heights else 0)
        if count > schema.MAX_TARGETS or payload_len != schema.RADAR_TARGETS_AT + count * record:
            return "bad_length"
    return "ok"


def is_readable(frame):
    """The frame as the decoder sees it from its first byte: header checks and CRC matches."""
    if len(frame) < HDR:
        return False
    n = frame[1] | (frame[2] << 8)
    if frame[0] != schema.SYNC or frame[3] != schema.HCHK_KEY ^ frame[1] ^ frame[2]:
        return False
    if not 4 <= n <= schema.MAX_PAYLOAD or len(frame) < n + 8:
        return False
    return zlib.crc32(frame[HDR:n + 8]) == schema.CRC_RESIDUE


def guard(lost):
    """A byte other than `lost`, put where a cut frame's next byte would have been.

    A frame cut short and followed by the very bytes it lost is whole again: 1 in 256 for a cut
    in the last byte. One byte that differs (the link's next byte is rarely the lost one anyway)
    keeps that coincidence, which would also swallow the next frame's sync, out of the counts.
    """
    return lost ^ 0x5A


def sliding_scan(data):
    """Reference receiver, independent of tkfw.wire: slide one byte until a header checks and the
    CRC matches, take the frame, go on. Returns [(offset, frame bytes)] of every CRC-valid frame."""
    found = []
    pos = 0
    end = len(data)
    while pos + HDR <= end:
        n = data[pos + 1] | (data[pos + 2] << 8)
        if (data[pos] != schema.SYNC or data[pos + 3] != schema.HCHK_KEY ^ data[pos + 1] ^ data[pos + 2]
                or not schema.PAYLOAD_HEADER_LEN <= n <= schema.MAX_PAYLOAD):
            pos += 1
            continue
        if pos + n + 8 > end:
            break  # a receiver waits for more bytes
        if zlib.crc32(data[pos + HDR:pos + n + 8]) != schema.CRC_RESIDUE:
            pos += 1
            continue
        found.append((pos, bytes(data[pos:pos + n + 8])))
        pos += n + 8
    return found


def refit(frame, payload=None, fix_len=True, fix_crc=True):
    """Rebuild header check and/or CRC around a (changed) payload; returns a new bytearray."""
    if payload is None:
        payload = frame[HDR:-schema.CRC_LEN]
    n = len(payload)
    out = bytearray(frame[:HDR]) + payload + frame[-schema.CRC_LEN:]
    if fix_len:
        out[1], out[2] = n & 0xFF, n >> 8
        out[3] = schema.HCHK_KEY ^ out[1] ^ out[2]
    if fix_crc:
        out[-schema.CRC_LEN:] = struct.pack("<I", zlib.crc32(bytes(payload)))
    return out


class Corpus:
    def __init__(self, seed=SEED):
        self.rng = random.Random(seed)
        self.seq = (1 << 16) - self.rng.randrange(1, 2000)  # the 16-bit series wraps early in every corpus
        self.t_ms = self.rng.randrange(1 << 20)
        self.stream = bytearray()
        self.intact_crcs = []
        self.kinds = {k: 0 for k in (*DAMAGED, *PLANTED, *OTHER)}
        self.types = {codec.NAMES[t]: 0 for t in HOST_TYPES}
        self.outcomes = {"ok": 0, "bad_version": 0, "bad_type": 0, "bad_length": 0}
        self.frames = 0  # frame slots that took a seq
        self.damaged = 0
        self.planted = 0  # CRC-valid frame occurrences (repeats included)
        self.past_max = 0  # extend_fixed frames that grew past MAX_PAYLOAD: CRC-valid, yet unreadable
        self.before_first = 0  # damaged frames before the first planted one: no seq gap shows them
        self.last_planted = None  # the previous slot, when it was a planted frame

    # -- frames -------------------------------------------------------------------------------
    def _target(self):
        rng = self.rng
        if rng.random() < 0.5:  # plausible road objects
            return {"id": rng.randrange(1000), "range": rng.randrange(-1000, 250_000),
                    "range_rate": rng.randrange(-60_000, 20_000), "lateral": rng.randrange(-6000, 6000)}
        return {name: rng.randrange(-(1 << 31), 1 << 31) for name in ("id", "range", "range_rate", "lateral")}

    def valid_frame(self, msg_type):
        rng = self.rng
        seq = self.seq
        if msg_type == schema.T_RADAR:
            self.t_ms = (self.t_ms + RADAR_PERIOD_MS) & T_MASK
            n = rng.choice((0, 1, 2, 3, 5, 8, schema.MAX_TARGETS, rng.randrange(schema.MAX_TARGETS + 1)))
            return codec.encode(msg_type, seq, targets=[self._target() for _ in range(n)], t_ms=self.t_ms,
                                ego_speed=rng.randrange(0, 60_000))
        if msg_type == schema.T_DRIVER:
            return codec.encode(msg_type, seq, t_ms=self.t_ms, flags=rng.randrange(16))
        if msg_type == schema.T_PING:
            return codec.encode(msg_type, seq, token=rng.randrange(1 << 32))
        if msg_type == schema.T_CONFIG_GET:
            return codec.encode(msg_type, seq, key=rng.randrange(len(SPEC) + 3))
        if msg_type == schema.T_CONFIG_SET:
            key = rng.randrange(len(SPEC) + 3)
            return codec.encode(msg_type, seq, key=key, value=rng.randrange(-(1 << 31), 1 << 31)
                                if rng.random() < 0.5 else rng.randrange(0, 200_000))
        if msg_type == schema.T_ECHO:
            return codec.encode(msg_type, seq, tail=rng.randbytes(rng.randrange(65)))
        return codec.encode(msg_type, seq)

    def _damage(self, kind, frame):
        rng = self.rng
        f = bytearray(frame)
        if kind == "bit_flip":
            for pos in rng.sample(range(len(f) * 8), rng.randrange(1, 4)):
                f[pos // 8] ^= 1 << (pos % 8)
        elif kind == "byte_change":
            for pos in rng.sample(range(len(f)), min(len(f), rng.randrange(1, 5))):
                f[pos] ^= rng.randrange(1, 256)
        elif kind == "truncate":
            cut = rng.randrange(1, len(f))
            f = f[:cut] + bytes([guard(f[cut])])
        elif kind == "extend_no_fix":
            payload = f[HDR:-schema.CRC_LEN] + rng.randbytes(rng.randrange(1, 40))
            f = refit(f, payload, fix_len=True, fix_crc=False)
        elif kind == "length_change":
            n = f[1] | (f[2] << 8)
            new = (n + rng.choice((-3, -2, -1, 1, 2, 3, 4, 16, 100))) if rng.random() < 0.7 \
                else rng.randrange(schema.MAX_PAYLOAD + 1)
            new = min(max(new, 0), 0xFFFF)
            if new == n:
                new = n + 1
            f[1], f[2] = new & 0xFF, new >> 8
            if rng.random() < 0.7:  # else the header check catches it at once
                f[3] = schema.HCHK_KEY ^ f[1] ^ f[2]
        elif kind == "oversized_length":
            new = rng.randrange(schema.MAX_PAYLOAD + 1, 0x10000)
            f[1], f[2] = new & 0xFF, new >> 8
            f[3] = schema.HCHK_KEY ^ f[1] ^ f[2]
        elif kind == "undersized_length":
            payload = f[HDR:HDR + rng.randrange(schema.PAYLOAD_HEADER_LEN)]  # below the 4-byte payload header
            f = refit(f, payload)
        elif kind == "bad_sync":
            f[0] ^= rng.randrange(1, 256)
        elif kind == "bad_crc":
            f[-rng.randrange(1, 5)] ^= rng.randrange(1, 256)
        if is_readable(f):  # cannot happen for these mutations; guard the accounting anyway
            raise AssertionError(f"{kind} left a readable frame")
        return bytes(f)

    def _plant(self, kind, frame, msg_type):
        rng = self.rng
        f = bytearray(frame)
        payload = f[HDR:-schema.CRC_LEN]
        if kind == "wrong_version":
            payload[0] = rng.choice([v for v in range(256) if v != schema.VERSION])
        elif kind == "unknown_type":
            payload[1] = rng.choice(UNKNOWN_TYPES if rng.random() < 0.7 else DEVICE_TYPES)
        elif kind == "short_body_fixed":
            body_types = [t for t in HOST_TYPES if MIN_PAYLOAD[t] > schema.PAYLOAD_HEADER_LEN]
            if msg_type not in body_types:  # no body to shorten: shorten one that has one
                msg_type = rng.choice(body_types)
                payload = bytearray(self.valid_frame(msg_type)[HDR:-schema.CRC_LEN])
            payload = payload[:rng.randrange(schema.PAYLOAD_HEADER_LEN, MIN_PAYLOAD[msg_type])]
        elif kind == "n_targets_fixed":
            if msg_type != schema.T_RADAR:
                payload = bytearray(self.valid_frame(schema.T_RADAR)[HDR:-schema.CRC_LEN])
            count = payload[N_TARGETS_AT - HDR]
            other = [c for c in (count - 1, count + 1, 0, schema.MAX_TARGETS, schema.MAX_TARGETS + 1, 255,
                                 rng.randrange(256)) if 0 <= c <= 255 and c != count]
            payload[N_TARGETS_AT - HDR] = rng.choice(other)
        elif kind == "extend_fixed":
            # Longer is fine (fields are append-only), except for radar; past MAX_PAYLOAD (a full
            # radar frame) the header no longer checks however valid the CRC is.
            room = schema.MAX_PAYLOAD - len(payload)
            payload += rng.randbytes(rng.randrange(1, 40) if room <= 0 else rng.randrange(1, min(room, 40) + 1))
        elif kind == "random_fields_fixed":
            # Every body byte random except radar's n_targets (so the frame mostly passes the length check).
            keep = payload[N_TARGETS_AT - HDR] if msg_type == schema.T_RADAR else None
            payload[schema.PAYLOAD_HEADER_LEN:] = rng.randbytes(len(payload) - schema.PAYLOAD_HEADER_LEN)
            if keep is not None:
                payload[N_TARGETS_AT - HDR] = keep
        return bytes(refit(f, payload))

    # -- slots --------------------------------------------------------------------------------
    def _pick(self, table):
        return self.rng.choices(list(table), weights=list(table.values()))[0]

    def add_slot(self):
        rng = self.rng
        kind = self._pick({**DAMAGED, **PLANTED, **OTHER})
        if kind == "repeat" and self.last_planted is None:
            kind = "intact"
        if kind == "partial_copy" and self.last_planted is None:
            kind = "random_bytes"
        self.kinds[kind] += 1
        if kind == "random_bytes":
            blob = bytearray(rng.randbytes(rng.randrange(1, 200)))
            if rng.random() < 0.3:  # a fake header that checks: the decoder waits for its length, then resyncs
                n = rng.randrange(4, schema.MAX_PAYLOAD + 1)
                at = rng.randrange(len(blob))
                blob[at:at] = bytes([schema.SYNC, n & 0xFF, n >> 8, schema.HCHK_KEY ^ (n & 0xFF) ^ (n >> 8)])
            self.stream += blob
            self.last_planted = None
            return
        if kind == "partial_copy":
            prev = self.last_planted
            i = rng.randrange(len(prev))
            j = rng.randrange(i + 1, len(prev) + 1)
            if (i, j) == (0, len(prev)):  # a whole copy is a repeat: keep this one partial
                j -= 1
            self.stream += prev[i:j]
            if j < len(prev):
                self.stream.append(guard(prev[j]))
            self.last_planted = None
            return
        if kind == "repeat":  # the link delivers the previous frame twice: same bytes, same seq
            frame = self.last_planted
            self._planted(frame)
            return
        msg_type = self._pick(TYPE_WEIGHTS)
        self.types[codec.NAMES[msg_type]] += 1
        frame = self.valid_frame(msg_type)
        if kind in DAMAGED:
            frame = self._damage(kind, frame)
        elif kind != "intact":
            frame = self._plant(kind, frame, msg_type)
        self.frames += 1
        self.seq = (self.seq + 1) & 0xFFFF
        if is_readable(frame):
            self._planted(frame)
            return
        if kind in PLANTED:
            if kind != "extend_fixed":  # the only planted kind that can end unreadable (past MAX_PAYLOAD)
                raise AssertionError(f"{kind}: unreadable")
            self.past_max += 1
        self.stream += frame
        self.damaged += 1
        if not self.planted:  # the seq series starts at the first frame that arrives: no gap before it
            self.before_first += 1
        self.last_planted = None

    def _planted(self, frame):
        self.stream += frame
        self.planted += 1
        self.outcomes[expected_outcome(frame)] += 1
        self.intact_crcs.append(frame[-schema.CRC_LEN:])
        self.last_planted = frame

    def finish(self):
        """Idle bytes (0x00 never starts a header) longer than any frame, then one intact frame:
        every candidate still waiting for bytes resolves, and every seq gap is counted."""
        self.stream += bytes(schema.MAX_FRAME)
        frame = codec.encode("ping", self.seq, token=0x600D)
        self.frames += 1
        self.types["ping"] += 1
        self.kinds["intact"] += 1
        self.seq = (self.seq + 1) & 0xFFFF
        self._planted(frame)

    def manifest(self, seed, count):
        return {
            "seed": seed,
            "slots": count + 1,
            "frames": self.frames,
            "planted": self.planted,
            "damaged": self.damaged,
            "damaged_before_first_planted": self.before_first,
            "extended_past_max_payload": self.past_max,
            "bytes": len(self.stream),
            "kinds": self.kinds,
            "types": self.types,
            # The firmware's totals over the run (summed across INFO_REQ counter resets):
            "expect": {
                "processed_plus_dropped": self.outcomes["ok"],
                "bad_version": self.outcomes["bad_version"],
                "bad_type": self.outcomes["bad_type"],
                "bad_length": self.outcomes["bad_length"],
                "lost": self.damaged - self.before_first,
                "rejected": self.damaged - self.before_first + self.outcomes["bad_version"]
                + self.outcomes["bad_type"] + self.outcomes["bad_length"],
            },
        }


def build(seed=SEED, count=COUNT):
    """(stream, CRCs of the planted frames in stream order, manifest) for `count` slots plus the last frame."""
    corpus = Corpus(seed)
    for _ in range(count):
        corpus.add_slot()
    corpus.finish()
    stream = bytes(corpus.stream)
    crcs = b"".join(corpus.intact_crcs)
    # Self-check: a receiver finds exactly the planted frames, in order, and nothing else, so a
    # frame the firmware accepts that is not next in intact.bin is the firmware's doing.
    found = b"".join(frame[-schema.CRC_LEN:] for _, frame in sliding_scan(stream))
    if found != crcs:
        raise AssertionError(f"seed {seed}: the corpus holds CRC-valid frames other than the planted ones")
    return stream, crcs, corpus.manifest(seed, count)


def write(directory, seed=SEED, count=COUNT):
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    stream, crcs, manifest = build(seed, count)
    (directory / "corpus.bin").write_bytes(stream)
    (directory / "intact.bin").write_bytes(crcs)
    (directory / "manifest.json").write_text(json.dumps(manifest, indent=1) + "\n")
    return manifest


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out_dir")
    parser.add_argument("--seed", type=int, default=SEED)
    parser.add_argument("--count", type=int, default=COUNT)
    args = parser.parse_args()
    print(json.dumps(write(args.out_dir, args.seed, args.count), indent=1))

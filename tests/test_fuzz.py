"""The decoder and the whole firmware loop survive garbage, property-based on CPython.

Hypothesis builds byte streams of valid host frames (every type, random fields, 0..64 radar
targets) with random garbage, bit flips, truncations, frames never sent, CRC-valid oddities and
duplicated chunks in between, and feeds them in random chunk sizes:

- tkfw.wire.Decoder hands over exactly the frames a plain sliding scan of the whole stream finds
  (chunking changes nothing), each byte-identical to a frame that was sent, and finds every frame
  that was sent intact; its counters add up to the frames sent.
- tkfw.app.Firmware (poll + check_inputs with a fake I/O) never raises, every byte it writes
  belongs to a CRC-valid device frame (or an ECHO of a CRC-valid host frame), and it still
  answers the frame that follows the garbage.

The same mutations at scale, on the MicroPython VM: tests/test_fuzz_vm.py.
"""

import random
from dataclasses import dataclass, field

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fuzz_corpus import (MIN_PAYLOAD, N_TARGETS_AT, UNKNOWN_TYPES, expected_outcome, guard, is_readable, refit,
                         sliding_scan)
from takeover import codec
from tkfw import schema, wire
from tkfw.app import Firmware
from tkfw.settings import SPEC

HDR = schema.HEADER_LEN
HOST_TYPES = sorted(MIN_PAYLOAD)  # all but the test requests (fuzz_corpus.TEST_REQUESTS)
DEVICE_TYPES = {t for t in schema.MESSAGES if t >= 0x80}
# Idle bytes longer than any frame: a candidate still waiting for its length resolves (0x00 never
# starts a header), so what the decoder has found is final.
FLUSH = bytes(schema.MAX_FRAME)
FUZZ = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
FUZZ_LOOP = settings(FUZZ, max_examples=120)  # a whole Firmware per example: ~50 ms each

# -- streams -------------------------------------------------------------------------------------
i32 = st.integers(-(1 << 31), (1 << 31) - 1)
u32 = st.integers(0, (1 << 32) - 1)
FIELDS = {
    schema.T_RADAR: st.fixed_dictionaries({"t_ms": st.integers(0, (1 << 30) - 1), "ego_speed": i32,
                                           "flags": st.integers(0, 255)}),
    schema.T_DRIVER: st.fixed_dictionaries({"t_ms": st.integers(0, (1 << 30) - 1), "flags": st.integers(0, 255)}),
    schema.T_PING: st.fixed_dictionaries({"token": u32}),
    schema.T_CONFIG_GET: st.fixed_dictionaries({"key": st.integers(0, 255)}),
    schema.T_CONFIG_SET: st.fixed_dictionaries({"key": st.integers(0, len(SPEC) + 2),
                                                "value": st.one_of(i32, st.integers(0, 200_000))}),
    schema.T_INFO_REQ: st.just({}),
    schema.T_STATUS_REQ: st.just({}),
    schema.T_END_DRIVE: st.just({}),
    schema.T_ECHO: st.fixed_dictionaries({"tail": st.binary(max_size=64)}),
}
# What happens to a frame on its way: the first four leave it CRC-valid (planted), the rest not.
PLANTED_FATES = ("intact", "wrong_version", "unknown_type", "n_targets_fixed")
# Values at the edges come up often: type 0 is also the decoder's "no frame"; device types are
# known to the schema but never valid from the host.
EDGE_TYPES = st.sampled_from((0x00, max(t for t in schema.MESSAGES if t < 0x80) + 1, 0x7F, 0x80, *sorted(DEVICE_TYPES), 0xFF))
EDGE_VERSIONS = st.sampled_from((0, schema.VERSION + 1, 0xFF))
FATES = st.sampled_from(PLANTED_FATES[:1] * 6 + PLANTED_FATES[1:] + ("bit_flips", "truncate", "never_sent"))


@st.composite
def frame_specs(draw):
    msg_type = draw(st.sampled_from(HOST_TYPES))
    values = dict(draw(FIELDS[msg_type]))
    if msg_type == schema.T_RADAR:
        n = draw(st.sampled_from((0, 1, 2, 5, schema.MAX_TARGETS)) | st.integers(0, schema.MAX_TARGETS))
        rng = random.Random(draw(st.integers(0, 1 << 32)))  # target values: cheap to draw, never shrunk
        values["targets"] = [
            {"id": rng.randrange(100), "range": rng.randrange(-1000, 200_000),
             "range_rate": rng.randrange(-60_000, 20_000), "lateral": rng.randrange(-5000, 5000)}
            if rng.random() < 0.5 else
            {k: rng.randrange(-(1 << 31), 1 << 31) for k in ("id", "range", "range_rate", "lateral")}
            for _ in range(n)]
    return msg_type, values, draw(FATES)


def fake_header(length):
    lo, hi = length & 0xFF, length >> 8
    return bytes([schema.SYNC, lo, hi, schema.HCHK_KEY ^ lo ^ hi])


GARBAGE = st.one_of(
    st.binary(min_size=1, max_size=200),
    st.tuples(st.binary(max_size=40), st.integers(0, 0xFFFF), st.binary(max_size=40)).map(
        lambda t: t[0] + fake_header(t[1]) + t[2]),  # a header that checks, lying about the length
)


@dataclass
class Stream:
    data: bytes
    planted: list = field(default_factory=list)  # (offset, frame bytes): CRC-valid as sent
    sent: int = 0  # frames that took a seq
    arrives: list = field(default_factory=list)  # per frame sent, in order: False if damaged or never sent
    chunks: tuple = (4096,)


@st.composite
def streams(draw, max_frames=10):
    """Frames (each with the next seq), garbage and copies of earlier bytes, then FLUSH + a last frame."""
    seq = draw(st.integers(0, 0xFFFF) | st.integers(0xFFF0, 0xFFFF))  # the series wraps at 16 bits
    data = bytearray()
    out = Stream(b"")
    items = draw(st.lists(st.one_of(frame_specs(), frame_specs(), GARBAGE,
                                    st.tuples(st.just("copy"), st.floats(0, 1), st.integers(1, 1200))),
                          max_size=max_frames))
    for item in items:
        if isinstance(item, bytes):
            data += item
            continue
        if item[0] == "copy":  # a chunk the link delivered twice: may hold whole earlier frames
            start = int(item[1] * len(data))
            end = min(start + item[2], len(data))
            data += data[start:end]
            if end < len(data) - (end - start):  # cut inside the stream: what followed is not repeated
                data.append(guard(data[end]))
            continue
        msg_type, values, fate = item
        values = dict(values)
        targets = values.pop("targets", None)
        frame = bytearray(codec.encode(msg_type, seq, targets=targets, **values))
        if fate == "wrong_version":
            frame[HDR] = draw(EDGE_VERSIONS | st.sampled_from([v for v in range(256) if v != schema.VERSION]))
        elif fate == "unknown_type":
            frame[HDR + 1] = draw(EDGE_TYPES | st.sampled_from(UNKNOWN_TYPES))
        elif fate == "n_targets_fixed" and msg_type == schema.T_RADAR:
            frame[N_TARGETS_AT] = (frame[N_TARGETS_AT] + draw(st.integers(1, 255))) & 0xFF
        elif fate == "bit_flips":
            for bit in draw(st.lists(st.integers(0, 8 * len(frame) - 1), min_size=1, max_size=3, unique=True)):
                frame[bit // 8] ^= 1 << (bit % 8)
        elif fate == "truncate":  # and a byte other than the lost one follows (fuzz_corpus.guard)
            cut = draw(st.integers(1, len(frame) - 1))
            frame = frame[:cut] + bytes([guard(frame[cut])])
        if fate in PLANTED_FATES:
            frame = refit(frame)  # CRC (and header) fixed up after the change
            out.planted.append((len(data), bytes(frame)))
        elif fate != "never_sent":
            assert not is_readable(frame)  # 1..3 flipped bits never pass CRC-32
        out.arrives.append(fate in PLANTED_FATES)
        if fate != "never_sent":
            data += frame
        out.sent += 1
        seq = (seq + 1) & 0xFFFF
    data += FLUSH
    last = codec.encode("status_req", seq)
    out.planted.append((len(data), last))
    out.arrives.append(True)
    out.sent += 1
    out.data = bytes(data + last)
    out.chunks = tuple(draw(st.lists(st.integers(1, schema.MAX_FRAME + 10), min_size=1, max_size=6)))
    return out


# -- the decoder ---------------------------------------------------------------------------------
def feed_in_chunks(dec, data, chunks, on_frame):
    """Copy at most want() bytes (and at most the next chunk size) per read, as Firmware.poll does."""
    pos = turn = 0
    while pos < len(data):
        want = dec.want()
        assert want > 0, f"decoder wedged: a CRC-valid frame of type {dec.buf[5]} is never handed over"
        assert want <= len(dec.buf) - dec.fill, (want, dec.fill)
        n = min(want, len(data) - pos, chunks[turn % len(chunks)])
        turn += 1
        dec.buf[dec.fill:dec.fill + n] = data[pos:pos + n]
        pos += n
        msg_type = dec.received(n)
        while msg_type:
            on_frame(dec, msg_type)
            msg_type = dec.received(0)


def seq_of(frame):
    return frame[6] | (frame[7] << 8)


@FUZZ
@given(streams(max_frames=16))
def test_the_decoder_hands_over_exactly_the_frames_sent_intact_whatever_the_garbage(stream):
    handed = []
    decided = {"ok": 0, "bad_type": 0, "bad_length": 0}

    def on_frame(dec, msg_type):
        frame = bytes(dec.buf[:dec.frame_len])
        handed.append(frame)
        outcome = expected_outcome(frame)  # tkfw.app's rules: type, minimum length, radar count
        decided[outcome] += 1
        if outcome == "ok":
            dec.processed += 1
            dec.consume()
        else:
            dec.reject(outcome)

    dec = wire.Decoder()
    feed_in_chunks(dec, stream.data, stream.chunks, on_frame)

    found = sliding_scan(stream.data)
    sent_frames = {frame for _, frame in stream.planted}
    # Nothing misread as valid: every frame handed over is byte for byte a frame that was sent.
    assert all(frame in sent_frames for frame in handed)
    # Chunking changes nothing: the frames handed over are those a plain scan finds, in order.
    # Frames of another protocol version are found too, but counted, not handed over; so may be
    # those of type 0, which is also received()'s "no frame" (left at offset 0, one wedged the link).
    current = [frame for _, frame in found if frame[HDR] == schema.VERSION]
    assert [f for f in handed if f[HDR + 1]] == [f for f in current if f[HDR + 1]]
    kept_type_0 = sum(1 for f in current if not f[HDR + 1]) - sum(1 for f in handed if not f[HDR + 1])
    # Every frame sent intact is found where it was put, whatever garbage came before it.
    assert {offset for offset, _ in stream.planted} <= {offset for offset, _ in found}
    assert dec.fill == 0

    # Counters add up.
    assert dec.bad_version == sum(1 for _, frame in found if frame[HDR] != schema.VERSION)
    assert (dec.processed, dec.bad_type, dec.bad_length) == (
        decided["ok"], decided["bad_type"] + kept_type_0, decided["bad_length"])
    assert dec.rejected == dec.lost + dec.bad_version + dec.bad_type + dec.bad_length
    arrived = [seq_of(frame) for _, frame in found]
    steps = [(b - a) & 0xFFFF for a, b in zip(arrived, arrived[1:])]
    # The first frame that arrives starts the series: frames lost before it cannot be counted.
    first = stream.arrives.index(True)
    missing = stream.arrives[first:].count(False)
    # `lost` is exactly the frames that never arrived intact, whatever came twice: a frame older
    # than the one expected (a copied chunk replaying earlier frames) leaves the series alone.
    assert dec.lost == missing
    if all(step < 0x8000 for step in steps):
        # The seq series only moves forward (a chunk copied twice may repeat the frame just before
        # it): every frame sent is processed or rejected, a repeat counts once more.
        assert dec.processed + dec.rejected == stream.sent - first + steps.count(0)


# -- the whole firmware loop ---------------------------------------------------------------------
class FakeIO:
    """tkfw.app's I/O contract over a byte string, on a fake microsecond clock that wraps at 2**30."""

    def __init__(self, data, chunks, tick_step_us, start_us, refuse_every, always_pending, hands):
        self.data = data
        self.pos = 0
        self.chunks = chunks
        self.turn = 0
        self.now = start_us
        self.tick_step_us = tick_step_us
        self.refuse_every = refuse_every
        self.always_pending = always_pending
        self.hands = hands
        self.writes = []
        self.attempts = 0

    def ticks_us(self):
        self.now = (self.now + self.tick_step_us) & ((1 << 30) - 1)
        return self.now

    def read_into(self, buf, start, count, timeout_us):
        n = min(count, len(self.data) - self.pos, self.chunks[self.turn % len(self.chunks)])
        self.turn += 1
        buf[start:start + n] = self.data[self.pos:self.pos + n]
        self.pos += n
        return n

    def write(self, buf, count):
        assert 0 < count <= len(buf)
        self.attempts += 1
        self.writes.append(bytes(buf[:count]))  # checked whether or not the host takes it
        if self.refuse_every and self.attempts % self.refuse_every == 0:
            return False  # the host is not reading: the firmware must drop it, not block
        return True

    def pending(self):
        return 1 if self.always_pending or self.pos < len(self.data) else 0

    def show(self, row):
        pass

    def hands_on(self):
        return self.hands

    def service(self):
        pass

    def log(self, text):
        pass


@FUZZ_LOOP
@given(stream=streams(max_frames=12),
       tick_step_us=st.sampled_from((0, 1, 997, 20_000, 400_000)),
       start_us=st.sampled_from((0, (1 << 30) - 50_000)),
       refuse_every=st.sampled_from((0, 1, 2, 7)),
       always_pending=st.booleans(),
       hands=st.booleans())
@pytest.mark.slow
def test_the_firmware_loop_never_raises_and_writes_only_valid_frames(
        stream, tick_step_us, start_us, refuse_every, always_pending, hands):
    io = FakeIO(stream.data, stream.chunks, tick_step_us, start_us, refuse_every, always_pending, hands)
    fw = Firmware(io, "fuzz")
    fw.send_hello()
    dec = fw.dec
    while io.pos < len(io.data):
        # want() 0 would make every later poll read nothing: the loop would never see a byte again.
        assert dec.want() > 0, f"decoder wedged: a CRC-valid frame of type {dec.buf[5]} is never handed over"
        fw.poll(0)
        fw.check_inputs()
        assert dec.rejected == dec.lost + dec.bad_version + dec.bad_type + dec.bad_length
    for _ in range(3):  # the radar stops: the stale-input FAULT path runs on the board's clock
        io.tick_step_us = 400_000
        fw.poll(0)
        fw.check_inputs()

    # Every write is one whole CRC-valid frame the host can decode, and nothing else was written.
    reader = codec.FrameReader()
    for written in io.writes:
        payloads = reader.feed(written)
        assert len(payloads) == 1 and len(written) == len(payloads[0]) + 8, written.hex()
        assert reader.skipped_bytes == 0 and reader.bad_crc == 0, written.hex()
        msg = codec.decode_payload(payloads[0])
        assert msg.type in DEVICE_TYPES or msg.type == schema.T_ECHO, msg
    assert fw.tx_dropped == (io.attempts // refuse_every if refuse_every else 0)
    assert fw.faults == 0
    # Still alive after the garbage: the last frame (a STATUS_REQ after idle bytes) is answered.
    last_seq = seq_of(stream.planted[-1][1])
    answers = [codec.decode_payload(codec.FrameReader().feed(w)[0]) for w in io.writes]
    assert any(m.name == "status" and m["frame_seq"] == last_seq for m in answers), "no STATUS for the last frame"


def test_a_radar_frame_whose_target_count_disagrees_with_its_length_is_never_processed():
    """The CRC-valid oddity the fuzzers plant most: n_targets says 3, the records say 2."""
    frame = bytearray(codec.encode("radar", 1, targets=[{"id": k, "range": 5000, "range_rate": -9000,
                                                          "lateral": 0} for k in range(2)], t_ms=50))
    frame[N_TARGETS_AT] = 3
    frame = bytes(refit(frame))
    assert expected_outcome(frame) == "bad_length"
    io = FakeIO(frame + codec.encode("status_req", 2), (4096,), 100, 0, 0, False, True)
    fw = Firmware(io, "fuzz")
    while io.pos < len(io.data):
        fw.poll(0)
    status = codec.decode_payload(codec.FrameReader().feed(io.writes[-1])[0])  # the STATUS_REQ's answer
    assert status.name == "status"
    assert (status["processed"], status["bad_length"], status["rejected"]) == (1, 1, 1)

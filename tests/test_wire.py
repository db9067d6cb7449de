"""Firmware wire codec (tkfw.wire) against the host codec (takeover.codec), on CPython.

Both are built from tkfw.schema; these tests check they agree byte for byte, that the firmware
decoder finds every intact frame in a damaged stream, and that it accounts for every frame sent.
"""

import random
import zlib

import pytest

from takeover import codec
from tkfw import schema, wire

HDR = schema.HEADER_LEN  # the payload starts at buffer byte 4
DEVICE_TYPES = {"hello", "alert", "status", "pong", "config"}
HOST_TYPES = {"radar", "driver", "ping", "config_get", "config_set", "info_req", "status_req", "echo", "hang", "lock_heap",
              "end_drive"}


# -- helpers -------------------------------------------------------------------------------------
def consume_as_processed(dec, msg_type):
    """What tkfw.app does with a frame it handles: count it, drop it. Returns (type, seq)."""
    seen = (msg_type, dec.seq())
    dec.processed += 1
    dec.consume()
    return seen


def feed(dec, data, chunk=None, on_frame=consume_as_processed):
    """Push `data` into the decoder as the transport does and return what on_frame made of each frame.

    Copies at most dec.want() bytes (and at most `chunk`) into dec.buf at dec.fill per read, then
    calls dec.received(n); after a frame, calls received(0) for frames already buffered (as
    tkfw.app.Firmware.poll does). on_frame must consume or reject the frame.
    """
    out = []
    pos = 0
    while pos < len(data):
        want = dec.want()
        assert 0 < want <= len(dec.buf) - dec.fill, (want, dec.fill)
        n = min(want, len(data) - pos, chunk or want)
        dec.buf[dec.fill:dec.fill + n] = data[pos:pos + n]
        pos += n
        msg_type = dec.received(n)
        while msg_type:
            out.append(on_frame(dec, msg_type))
            msg_type = dec.received(0)
    return out


def word(payload_offset):
    """Index in dec.words of an int32 field at a payload offset."""
    assert (HDR + payload_offset) % 4 == 0
    return (HDR + payload_offset) // 4


def ping(seq, **kw):
    return codec.encode("ping", seq, token=seq * 7, **kw)


def radar_targets(n, rng):
    return [{"id": rng.randrange(-2**31, 2**31), "range": rng.randrange(-2**31, 2**31),
             "range_rate": rng.randrange(-2**31, 2**31), "lateral": rng.randrange(-2**31, 2**31)}
            for _ in range(n)]


RADAR, _ = schema.layout(schema.MESSAGES[schema.T_RADAR][1])
TARGET, TARGET_END = schema.layout(schema.TARGET_FIELDS, start=0)


# -- decoding host frames ------------------------------------------------------------------------
@pytest.mark.parametrize("n_targets", [0, 1, 5, schema.MAX_TARGETS])
@pytest.mark.parametrize("chunk", [None, 1, 3, 64])
def test_radar_frame_from_the_host_decodes_with_every_int32_field_in_place(n_targets, chunk):
    rng = random.Random(n_targets * 100 + (chunk or 0))
    targets = radar_targets(n_targets, rng)
    t_ms, ego_speed, seq = rng.randrange(1 << 30), -rng.randrange(1 << 30), rng.randrange(1 << 16)
    data = codec.encode("radar", seq, targets=targets, t_ms=t_ms, ego_speed=ego_speed)

    def check(dec, msg_type):
        words = dec.words
        assert dec.frame_len == len(data)
        assert dec.payload_len() == schema.RADAR_TARGETS_AT + n_targets * schema.TARGET_LEN
        assert words[word(RADAR["t_ms"][0])] == t_ms
        assert words[word(RADAR["ego_speed"][0])] == ego_speed
        assert dec.buf[HDR + RADAR["n_targets"][0]] == n_targets
        for k, t in enumerate(targets):
            base = schema.RADAR_TARGETS_AT + k * schema.TARGET_LEN
            for name, (offset, _) in TARGET.items():
                assert words[word(base + offset)] == t[name], (k, name)
        return consume_as_processed(dec, msg_type)

    dec = wire.Decoder()
    assert feed(dec, data, chunk, check) == [(schema.T_RADAR, seq)]
    assert (dec.processed, dec.rejected, dec.bad_crc, dec.skipped_bytes, dec.fill) == (1, 0, 0, 0, 0)


def test_every_host_message_type_decodes_with_its_type_seq_and_fields():
    ping_token = word(schema.layout(schema.MESSAGES[schema.T_PING][1])[0]["token"][0])
    cfg, _ = schema.layout(schema.MESSAGES[schema.T_CONFIG_SET][1])
    drv, _ = schema.layout(schema.MESSAGES[schema.T_DRIVER][1])
    frames = [
        (codec.encode("ping", 1, token=0x3ABCDEF0), lambda d: d.words[ping_token] == 0x3ABCDEF0),
        (codec.encode("config_set", 2, key=4, value=-1234),
         lambda d: d.buf[HDR + cfg["key"][0]] == 4 and d.words[word(cfg["value"][0])] == -1234),
        (codec.encode("driver", 3, t_ms=77, flags=schema.DRIVER_EYES_CLOSED),
         lambda d: d.words[word(drv["t_ms"][0])] == 77 and d.buf[HDR + drv["flags"][0]] == schema.DRIVER_EYES_CLOSED),
        (codec.encode("config_get", 4, key=2), lambda d: d.buf[HDR + cfg["key"][0]] == 2),
        (codec.encode("info_req", 5), lambda d: d.payload_len() == schema.PAYLOAD_HEADER_LEN),
        (codec.encode("status_req", 6), lambda d: d.payload_len() == schema.PAYLOAD_HEADER_LEN),
    ]
    checks = iter(frames)

    def check(dec, msg_type):
        _, ok = next(checks)
        assert ok(dec), msg_type
        return consume_as_processed(dec, msg_type)

    dec = wire.Decoder()
    got = feed(dec, b"".join(f for f, _ in frames), chunk=5, on_frame=check)
    names = ["ping", "config_set", "driver", "config_get", "info_req", "status_req"]
    assert got == [(codec.TYPES[n], seq) for seq, n in enumerate(names, start=1)]


def test_several_frames_arriving_in_one_read_are_all_handed_over():
    """The transport may deliver many frames at once only up to want(); leftovers stay buffered."""
    data = b"".join(ping(s) for s in range(10))
    dec = wire.Decoder()
    assert feed(dec, data) == [(schema.T_PING, s) for s in range(10)]
    assert dec.fill == 0


# -- resynchronisation ---------------------------------------------------------------------------
def test_garbage_before_a_frame_is_skipped_and_counted():
    garbage = bytes(b for b in random.Random(5).randbytes(200) if b != schema.SYNC)
    dec = wire.Decoder()
    assert feed(dec, garbage + ping(0) + ping(1), chunk=7) == [(schema.T_PING, 0), (schema.T_PING, 1)]
    assert dec.skipped_bytes == len(garbage)
    assert dec.bad_crc == 0 and dec.rejected == 0


@pytest.mark.parametrize("pos", range(0, len(ping(1))))
def test_a_frame_with_any_byte_flipped_is_dropped_and_the_next_good_frame_is_found(pos):
    bad = bytearray(ping(1))
    bad[pos] ^= 0xFF
    dec = wire.Decoder()
    assert feed(dec, ping(0) + bytes(bad) + ping(2)) == [(schema.T_PING, 0), (schema.T_PING, 2)]
    if pos >= HDR:  # the header still checks, so the CRC is what catches it
        assert dec.bad_crc == 1
    assert (dec.lost, dec.rejected, dec.processed) == (1, 1, 2)


@pytest.mark.parametrize("keep", [1, 3, 4, 5, 12, 40])
def test_a_truncated_frame_followed_by_a_good_frame_loses_only_the_truncated_one(keep):
    rng = random.Random(keep)
    cut = codec.encode("radar", 1, targets=radar_targets(3, rng))[:keep]
    good = codec.encode("radar", 2, targets=radar_targets(3, rng))  # same length as the cut one
    dec = wire.Decoder()
    assert feed(dec, ping(0) + cut + good, chunk=9) == [(schema.T_PING, 0), (schema.T_RADAR, 2)]
    assert (dec.lost, dec.rejected) == (1, 1)
    assert dec.bad_crc == (1 if keep >= HDR else 0)


def test_a_truncated_long_frame_delays_but_never_loses_the_short_frames_after_it():
    rng = random.Random(6)
    cut = codec.encode("radar", 1, targets=radar_targets(schema.MAX_TARGETS, rng))[:10]
    followers = [ping(s) for s in range(2, 2 + schema.MAX_FRAME // len(ping(0)) + 2)]
    dec = wire.Decoder()
    got = feed(dec, ping(0) + cut + b"".join(followers))
    assert got == [(schema.T_PING, s) for s in [0] + list(range(2, 2 + len(followers)))]
    assert (dec.lost, dec.rejected, dec.bad_crc) == (1, 1, 1)


@pytest.mark.parametrize("fake_len", [schema.PAYLOAD_HEADER_LEN, 300, schema.MAX_PAYLOAD, schema.MAX_PAYLOAD + 1, 0xFFFF])
def test_a_fake_header_inside_garbage_does_not_swallow_the_frames_after_it(fake_len):
    rng = random.Random(fake_len)
    lo, hi = fake_len & 0xFF, fake_len >> 8
    fake = bytes([schema.SYNC, lo, hi, schema.HCHK_KEY ^ lo ^ hi])
    garbage = bytes(b for b in rng.randbytes(30) if b != schema.SYNC)
    good = [codec.encode("radar", s, targets=radar_targets(2, rng), t_ms=s) for s in range(1, 60)]
    dec = wire.Decoder()
    got = feed(dec, ping(0) + garbage[:10] + fake + garbage[10:] + b"".join(good), chunk=100)
    assert got == [(schema.T_PING, 0)] + [(schema.T_RADAR, s) for s in range(1, 60)]
    in_range = fake_len <= schema.MAX_PAYLOAD
    assert dec.bad_crc == (1 if in_range else 0)  # an accepted header costs one CRC check, no frame
    assert (dec.lost, dec.rejected) == (0, 0)


# -- accounting ----------------------------------------------------------------------------------
def test_seq_gaps_are_counted_as_lost_and_rejected():
    dec = wire.Decoder()
    got = feed(dec, b"".join(ping(s) for s in (10, 11, 14, 15, 20)))
    assert [seq for _, seq in got] == [10, 11, 14, 15, 20]
    assert (dec.lost, dec.rejected, dec.processed) == (2 + 4, 2 + 4, 5)


def test_seq_wrapping_at_16_bits_is_not_a_gap():
    dec = wire.Decoder()
    feed(dec, b"".join(ping(s & 0xFFFF) for s in range(0xFFFC, 0x10004)))
    assert (dec.lost, dec.rejected, dec.processed) == (0, 0, 8)
    feed(dec, ping(5))  # 4 missing after the wrap
    assert dec.lost == 1


def test_a_repeated_frame_is_not_counted_as_lost():
    dec = wire.Decoder()
    got = feed(dec, ping(1) + ping(2) + ping(2) + ping(3))
    assert [seq for _, seq in got] == [1, 2, 2, 3]
    assert (dec.lost, dec.rejected) == (0, 0)


@pytest.mark.parametrize("version", [0, schema.VERSION + 1, 0xFF])
def test_a_frame_of_another_protocol_version_is_rejected_with_bad_version(version):
    dec = wire.Decoder()
    got = feed(dec, ping(0) + ping(1, version=version) + ping(2))
    assert got == [(schema.T_PING, 0), (schema.T_PING, 2)]
    assert (dec.bad_version, dec.rejected, dec.lost, dec.processed) == (1, 1, 0, 2)


def test_the_first_frame_of_a_session_sets_the_seq_series():
    dec = wire.Decoder()
    feed(dec, ping(500) + ping(501))
    assert (dec.lost, dec.rejected) == (0, 0)


@pytest.mark.parametrize("seed", range(8))
def test_every_frame_sent_is_either_processed_or_rejected(seed):
    """Damage of every kind, and frames the handler refuses: processed + rejected == frames sent."""
    rng = random.Random(seed)
    sent = 0
    stream = bytearray(ping(0))
    sent += 1
    for seq in range(1, 200):
        sent += 1
        fate = rng.random()
        if seq == 199 or fate >= 0.4:
            stream += codec.encode("radar", seq, targets=radar_targets(rng.randrange(4), rng))
        elif fate < 0.1:
            bad = bytearray(codec.encode("radar", seq, targets=radar_targets(rng.randrange(4), rng)))
            bad[rng.randrange(len(bad))] ^= 1 << rng.randrange(8)
            stream += bad
        elif fate < 0.2:
            stream += ping(seq)[: rng.randrange(1, 12)]
        elif fate < 0.25:
            pass  # never sent: the link dropped it
        elif fate < 0.3:
            stream += ping(seq, version=schema.VERSION + 1)
        else:  # an intact frame of a type the firmware does not know
            stream += codec.frame(bytes([schema.VERSION, 0x7E, seq & 0xFF, seq >> 8]))
        if rng.random() < 0.1:
            stream += bytes(b for b in rng.randbytes(rng.randrange(1, 20)) if b != schema.SYNC)

    def handle(dec, msg_type):
        if msg_type not in codec.NAMES or msg_type >= 0x80:
            dec.reject("bad_type")
            return None
        return consume_as_processed(dec, msg_type)

    dec = wire.Decoder()
    feed(dec, bytes(stream), chunk=rng.choice([None, 1, 13]), on_frame=handle)
    assert dec.processed + dec.rejected == sent
    assert dec.rejected == dec.lost + dec.bad_version + dec.bad_type


# -- encoder -------------------------------------------------------------------------------------
def _field_value(code, rng):
    if code == "B":
        return rng.randrange(256)
    if code == "H":
        return rng.randrange(1 << 16)
    if code == "I":
        return rng.randrange(1 << 30)  # device u32 values stay small ints (below 2**30)
    if code == "i":
        return rng.randrange(-(1 << 29), 1 << 29)
    if code == "16s":
        return "".join(rng.choice("abcdefghijklmnopqrstuvwxyz0123456789.-") for _ in range(rng.randrange(17)))
    raise AssertionError(code)


@pytest.mark.parametrize("msg_type", sorted(t for t in schema.MESSAGES if t >= 0x80))
def test_device_frames_from_the_firmware_encoder_decode_on_the_host(msg_type):
    rng = random.Random(msg_type)
    enc = wire.Encoder()
    enc.seq = 0xFFFE
    reader = codec.FrameReader()
    for round_ in range(20):
        values = {name: _field_value(code, rng) for name, code, _ in schema.MESSAGES[msg_type][1]}
        end = enc.begin(msg_type)
        for name, (offset, code) in enc.offsets(msg_type).items():
            put = {"B": enc.put_u8, "H": enc.put_u16, "I": enc.put_i32, "i": enc.put_i32}.get(code)
            if put:
                put(offset, values[name])
            else:
                enc.put_str(offset, values[name], 16)
        n = enc.finish(end)
        payloads = reader.feed(bytes(enc.buf[:n]))
        assert len(payloads) == 1 and reader.bad_crc == 0 and reader.skipped_bytes == 0
        msg = codec.decode_payload(payloads[0])
        assert (msg.type, msg.seq) == (msg_type, (0xFFFE + round_) & 0xFFFF)
        assert msg.fields == values


def test_crc32_into_equals_zlib_crc32_for_random_data():
    rng = random.Random(7)
    for _ in range(300):
        data = rng.randbytes(rng.choice([0, 1, 2, 3, 4, rng.randrange(300)]))
        start = rng.randrange(8)
        buf = bytearray(rng.randbytes(start)) + data + bytes(4)
        wire.crc32_into(memoryview(buf)[start:start + len(data)], buf, start + len(data))
        assert int.from_bytes(buf[start + len(data):], "little") == zlib.crc32(data)
        assert buf[:start + len(data)] == bytearray(buf[:start]) + data  # nothing else touched


def test_every_intact_frame_leaves_the_fixed_crc_residue():
    rng = random.Random(8)
    for _ in range(100):
        payload = rng.randbytes(rng.randrange(schema.PAYLOAD_HEADER_LEN, 200))
        assert zlib.crc32(payload + zlib.crc32(payload).to_bytes(4, "little")) == schema.CRC_RESIDUE
    assert schema.CRC_RESIDUE < 1 << 30  # a small int on the board: comparing it never allocates


# -- schema invariants ---------------------------------------------------------------------------
def test_every_int32_field_sits_on_a_word_boundary():
    for msg_type, (name, fields) in schema.MESSAGES.items():
        offsets, _ = schema.layout(fields)
        for field, (offset, code) in offsets.items():
            if code in ("i", "I"):
                assert offset % 4 == 0, (name, field, offset)
    assert schema.RADAR_TARGETS_AT % 4 == 0 and schema.TARGET_LEN % 4 == 0 and HDR % 4 == 0
    for k in range(schema.MAX_TARGETS):
        for field, (offset, code) in TARGET.items():
            if code in ("i", "I"):
                assert (schema.RADAR_TARGETS_AT + k * schema.TARGET_LEN + offset) % 4 == 0, (k, field)


def test_target_records_have_the_declared_length():
    assert TARGET_END == schema.TARGET_LEN


def test_message_direction_is_encoded_in_the_type_id():
    names = {msg_type: name for msg_type, (name, _) in schema.MESSAGES.items()}
    assert set(names.values()) == DEVICE_TYPES | HOST_TYPES
    for msg_type, name in names.items():
        if name in DEVICE_TYPES:
            assert msg_type >= 0x80, name
        else:
            assert msg_type < 0x80, name


def test_every_device_frame_fits_the_encoder_buffer():
    size = len(wire.Encoder().buf)
    for msg_type, (name, _) in schema.MESSAGES.items():
        if msg_type >= 0x80:
            frame_len = HDR + schema.PAYLOAD_HEADER_LEN + schema.body_len(msg_type) + schema.CRC_LEN
            assert frame_len <= size, (name, frame_len, size)


def test_the_decoder_buffer_holds_the_largest_radar_frame_and_the_next_frames_first_bytes():
    # the largest: every target with its height (the heights block)
    targets = [{**t, "height": 500} for t in radar_targets(schema.MAX_TARGETS, random.Random(9))]
    frame = codec.encode("radar", 0, targets=targets)
    assert len(frame) == schema.MAX_FRAME
    assert schema.MAX_FRAME + wire.LOOKAHEAD <= len(wire.Decoder().buf) < schema.MAX_FRAME + wire.LOOKAHEAD + 4


def test_a_radar_frame_with_more_targets_than_allowed_is_never_handed_over():
    targets = [{**t, "height": 500} for t in radar_targets(schema.MAX_TARGETS + 1, random.Random(10))]
    too_many = codec.encode("radar", 1, targets=targets)  # with heights: longer than any frame
    dec = wire.Decoder()
    assert feed(dec, ping(0) + too_many + ping(2)) == [(schema.T_PING, 0), (schema.T_PING, 2)]
    assert dec.lost == 1


def test_a_crc_valid_frame_of_type_0_is_rejected_and_does_not_wedge_the_link():
    """Type 0 exists nowhere, and 0 is also what received() returns for "no frame yet": such a
    frame once sat at offset 0 forever and the board stopped reading (found by tests/test_fuzz.py)."""
    payload = bytes([schema.VERSION, 0, 5, 0]) + bytes(8)
    dec = wire.Decoder()
    got = feed(dec, codec.frame(payload) + codec.encode("ping", 6, token=9))
    assert got == [(schema.T_PING, 6)]
    assert dec.bad_type == 1 and dec.rejected == 1 and dec.processed == 1


def test_a_replayed_older_frame_is_handled_but_leaves_the_seq_series_alone():
    ping = lambda seq: codec.encode("ping", seq, token=seq)  # noqa: E731
    dec = wire.Decoder()
    # 1 2 3, then 2 again (a replay), then 4: nothing was lost
    assert [seq for _, seq in feed(dec, b"".join(ping(s) for s in (1, 2, 3, 2, 4)))] == [1, 2, 3, 2, 4]
    assert (dec.lost, dec.rejected, dec.processed) == (0, 0, 5)
    # then 1 again and 6: exactly one frame (5) never came
    feed(dec, ping(1) + ping(6))
    assert (dec.lost, dec.rejected, dec.processed) == (1, 1, 7)
    # across the 16-bit wrap too
    dec = wire.Decoder()
    feed(dec, b"".join(ping(s) for s in (0xFFFE, 0xFFFF, 0xFFFE, 0, 1)))
    assert (dec.lost, dec.processed) == (0, 5)

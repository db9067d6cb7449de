"""Firmware side of wire protocol v1 (layout in tkfw.schema, prose in docs/protocol.md).

Receive path, no allocation per frame:
- The decoder owns one buffer, seen as bytes and as int32 words (tkfw.compat.aliased_buffer).
  The transport reads straight into it: first the 4-byte header, then exactly the rest of the
  frame, so a frame always starts at offset 0 and its int32 fields are aligned.
- The CRC is checked in C (binascii.crc32) over payload + received CRC against the fixed residue
  0x2144DF1C, which is a small int: comparing a computed CRC (often >= 2**30) would allocate.
- The memoryview over each payload length is made the first time that length is seen and kept.

Transmit path: frames are built in one preallocated buffer; the CRC-32 is computed in Python
as a 24-bit and an 8-bit part (tables made once) so no value ever exceeds a small int. Device
frames are at most about 100 bytes (STATUS), so this costs tens of microseconds per reply.
"""

from binascii import crc32

from tkfw import schema
from tkfw.compat import aliased_buffer, const

_SYNC = const(0xA5)
_HCHK_KEY = const(0x5A)
_HDR = const(4)
_MIN_PAYLOAD = const(4)
LOOKAHEAD = const(6)  # bytes of the next frame that tell its type: header, version, type
# tkfw.schema values the decoder tests every frame against, as this module's constants: folded
# into the code, where a name read from another module costs a lookup at every use. Checked below.
_VERSION = const(1)
_MAX_PAYLOAD = const(1296)
_CRC_RESIDUE = const(0x2144DF1C)

if (schema.VERSION, schema.MAX_PAYLOAD, schema.CRC_RESIDUE) != (_VERSION, _MAX_PAYLOAD, _CRC_RESIDUE):
    raise ImportError("tkfw.wire constants out of step with tkfw.schema")


def _header_at(buf, at):
    """Payload length of the frame header at buf[at:at+4] (SYNC, LEN, HCHK), or -1 if it does
    not check. The length's bounds are the caller's."""
    if buf[at] != _SYNC or buf[at + 3] != (_HCHK_KEY ^ buf[at + 1] ^ buf[at + 2]):
        return -1
    return buf[at + 1] | (buf[at + 2] << 8)


class Decoder:
    """Finds, checks and accounts for host frames in the byte stream."""

    def __init__(self):
        # Room for the largest frame and the first bytes of the next (next_type), in whole words.
        self.buf, self.words = aligned = aliased_buffer(schema.MAX_FRAME + (LOOKAHEAD + 3) // 4 * 4)
        self._keep = aligned
        self.fill = 0  # bytes of the current candidate frame in buf
        self.frame_len = 0  # total length of the frame at offset 0 once one is ready
        self._views = [None] * (schema.MAX_PAYLOAD + schema.CRC_LEN + 1)
        self._mv = memoryview(self.buf)
        self.reset_counters()

    def reset_counters(self):
        self.processed = 0
        self.dropped = 0
        self.rejected = 0
        self.bad_crc = 0
        self.bad_version = 0
        self.bad_type = 0
        self.bad_length = 0
        self.lost = 0
        self.skipped_bytes = 0
        self.expect_seq = -1  # -1: no frame seen yet this session

    def want(self):
        """How many more bytes complete the current stage (header, then the whole frame)."""
        fill = self.fill
        if fill < _HDR:
            return _HDR - fill
        buf = self.buf
        return _HDR + (buf[1] | (buf[2] << 8)) + 4 - fill

    def received(self, count):
        """Account for `count` new bytes at buf[fill:]; return the type of a checked frame or 0.

        A returned frame stays at buf[0:frame_len] until consume() is called.
        """
        fill = self.fill + count
        self.fill = fill
        buf = self.buf
        views = self._views
        while True:
            if fill < _HDR:
                return 0
            # _header_at(buf, 0), inlined: every frame waits on it
            b1 = buf[1]
            b2 = buf[2]
            length = b1 | (b2 << 8) if buf[0] == _SYNC and buf[3] == (_HCHK_KEY ^ b1 ^ b2) else -1
            if length < _MIN_PAYLOAD or length > _MAX_PAYLOAD:
                self._resync(1)  # every byte dropped here failed the header check
                fill = self.fill
                continue
            total = length + 8
            if fill < total:
                return 0
            view = views[length + 4]  # _payload_view, its common case inlined (a call costs more)
            if view is None:
                view = self._payload_view(length + 4)
            if crc32(view) != _CRC_RESIDUE:
                self.bad_crc += 1
                self._resync(0)  # the real next frame may start inside this one
                fill = self.fill
                continue
            self.frame_len = total
            self._count_seq(buf[6] | (buf[7] << 8))
            if buf[4] != _VERSION:
                self.bad_version += 1
                self.rejected += 1
                self.consume()
                fill = self.fill
                continue
            if buf[5] == 0:  # no such type; 0 also means "no frame" to the caller, so it would
                self.bad_type += 1  # sit at offset 0 unconsumed and wedge the link (found by fuzzing)
                self.rejected += 1
                self.consume()
                fill = self.fill
                continue
            return buf[5]

    def next_type(self):
        """Type of the frame after the one at offset 0, when its first LOOKAHEAD bytes were read
        in behind it (the caller reads them at buf[fill:] and adds them to fill; consume() then
        keeps them for the next frame) and its header checks; 0 otherwise. Its CRC is not known
        yet: a hint (the flood rule's), never a verdict."""
        at = self.frame_len
        if self.fill - at < LOOKAHEAD or _header_at(self.buf, at) < 0:
            return 0
        return self.buf[at + 5]

    def _count_seq(self, seq):
        """Frames missing from the host's seq series count as lost (corrupt, truncated, never
        sent). A frame older than the one expected (a replay, a chunk the link delivered twice)
        leaves the expectation where it is: moving it back made every frame since then count as
        lost a second time. A host restarts its series with INFO_REQ (reset_counters)."""
        expect = self.expect_seq
        if expect >= 0:
            gap = (seq - expect) & 0xFFFF
            if gap >= 0x8000:
                return  # older than expected: the series stands
            self.lost += gap
            self.rejected += gap
        self.expect_seq = (seq + 1) & 0xFFFF

    def reject(self, reason_attr):
        """The caller refused the frame at offset 0 (unknown type, wrong length...)."""
        setattr(self, reason_attr, getattr(self, reason_attr) + 1)
        self.rejected += 1
        self.consume()

    def consume(self):
        """Drop the frame at offset 0, keeping any bytes that followed it."""
        self._shift(self.frame_len)
        self.frame_len = 0

    def seq(self):
        return self.buf[6] | (self.buf[7] << 8)

    def payload_len(self):
        return self.buf[1] | (self.buf[2] << 8)

    def _payload_view(self, count):
        view = self._views[count]
        if view is None:  # first frame of this length: made once, reused for every later one
            view = self._views[count] = self._mv[_HDR:_HDR + count]
        return view

    def _resync(self, first_counts):
        """Drop the byte at offset 0 and every following byte that cannot start a frame (not
        SYNC), in one shift: sliding one byte at a time cost a whole-buffer copy per byte, a
        fifth of a second on the VM for one corrupted 64-target frame (found by the VM fuzz
        corpus). Counts as skipped what the header check would have refused byte by byte."""
        buf = self.buf
        fill = self.fill
        skip = 1
        while skip < fill and buf[skip] != _SYNC:
            skip += 1
        self.skipped_bytes += skip - 1 + first_counts
        self._shift(skip)

    def _shift(self, count):
        # Error paths and leftovers only: a byte loop, because slice copies allocate on MicroPython.
        buf = self.buf
        remain = self.fill - count
        for i in range(remain):
            buf[i] = buf[i + count]
        self.fill = remain if remain > 0 else 0


def _crc_tables():
    """CRC-32 (reflected, 0xEDB88320) table split into its low 24 bits and its top 8 bits (kept
    shifted to bits 16-23, where crc32_into needs them): two tuples of 256 small ints (indexing a
    tuple is faster than an array on the board: crc32_into took about 14 % less)."""
    from array import array

    lo_table = array("i", [0] * 256)
    hi_table = array("i", [0] * 256)
    for index in range(256):
        lo, hi = index, 0
        for _ in range(8):
            carry = lo & 1
            lo = (lo >> 1) | ((hi & 1) << 23)
            hi >>= 1
            if carry:
                lo ^= 0xB88320
                hi ^= 0xED
        lo_table[index] = lo
        hi_table[index] = hi << 16
    return tuple(lo_table), tuple(hi_table)


_CRC_LO, _CRC_HI = _crc_tables()


def crc32_into(data, out, at):
    """Write the CRC-32 (zlib) of the bytes of `data` little-endian at out[at:at+4].

    data: a bytearray, or a memoryview made once (iterating one allocates nothing). The CRC is
    held as its low 24 bits and its top 8 bits, so no value leaves the small-int range:
    binascii.crc32 would be faster but returns a big int, allocated, for most frames. Per byte,
    crc = (crc >> 8) ^ T[(crc ^ byte) & 0xFF] becomes two table lookups and five operations
    (about 0.6 us a byte on the VM; the 16+16-bit split this replaces took 1 us).
    """
    lo_t = _CRC_LO
    hi_t = _CRC_HI
    lo = 0xFFFFFF
    hi = 0xFF0000  # the top 8 bits, at bits 16-23: what (crc >> 8) moves into the low 24
    for byte in data:
        k = (lo ^ byte) & 0xFF
        lo = ((lo >> 8) | hi) ^ lo_t[k]
        hi = hi_t[k]
    lo ^= 0xFFFFFF
    out[at] = lo & 0xFF
    out[at + 1] = (lo >> 8) & 0xFF
    out[at + 2] = lo >> 16
    out[at + 3] = (hi >> 16) ^ 0xFF


class Encoder:
    """Builds device frames in one preallocated buffer."""

    def __init__(self):
        longest = 0
        for msg_type, (_, fields) in schema.MESSAGES.items():
            if msg_type >= 0x80:  # device messages only: the host's are never built here
                longest = max(longest, schema.layout(fields)[1])
        self.buf = bytearray(_HDR + longest + schema.CRC_LEN)
        self.seq = 0
        self._offsets = {}
        self._formats = {}
        for msg_type, (_, fields) in schema.MESSAGES.items():
            self._offsets[msg_type] = schema.layout(fields)
            if msg_type >= 0x80:
                self._formats[msg_type] = schema.struct_format(fields, "<BBH")
        # The payload of each device message length, as a view made once (crc32_into walks it).
        mv = memoryview(self.buf)
        self._views = {}
        for msg_type, (_, end) in self._offsets.items():
            if msg_type >= 0x80:
                self._views[end] = mv[_HDR:_HDR + end]

    def offsets(self, msg_type):
        """{field: (payload offset, code)} for a message: look up once, keep the numbers."""
        return self._offsets[msg_type][0]

    def packing(self, msg_type):
        """(struct format, payload length) of a whole payload: for the replies sent on every frame
        (ALERT, STATUS), which the caller packs with one struct.pack_into(format, buf, 4,
        VERSION, msg_type, next_seq(), *every body field in schema order*): one C call instead of
        a put_* call per field, and no allocation (measured on the VM)."""
        return self._formats[msg_type], self._offsets[msg_type][1]

    def next_seq(self):
        """The seq of the frame being built now (device frames count on their own, wrapping)."""
        seq = self.seq
        self.seq = (seq + 1) & 0xFFFF
        return seq

    def begin(self, msg_type):
        """Start a frame; body fields are then written with put_* at payload offsets."""
        buf = self.buf
        end = self._offsets[msg_type][1]
        for i in range(_HDR, _HDR + end):
            buf[i] = 0
        buf[4] = schema.VERSION
        buf[5] = msg_type
        seq = self.next_seq()
        buf[6] = seq & 0xFF
        buf[7] = seq >> 8
        return end

    def put_u8(self, offset, value):
        self.buf[_HDR + offset] = value & 0xFF

    def put_u16(self, offset, value):
        buf = self.buf
        i = _HDR + offset
        buf[i] = value & 0xFF
        buf[i + 1] = (value >> 8) & 0xFF

    def put_i32(self, offset, value):
        # Works for negative values and for u32 values below 2**30 alike (no big ints involved).
        buf = self.buf
        i = _HDR + offset
        buf[i] = value & 0xFF
        buf[i + 1] = (value >> 8) & 0xFF
        buf[i + 2] = (value >> 16) & 0xFF
        buf[i + 3] = (value >> 24) & 0xFF

    def put_str(self, offset, text, size):
        buf = self.buf
        i = _HDR + offset
        data = text.encode()
        for k in range(size):
            buf[i + k] = data[k] if k < len(data) else 0

    def finish(self, payload_len):
        """Write header and CRC; return the frame's total length (bytes in buf to send)."""
        buf = self.buf
        buf[0] = _SYNC
        buf[1] = payload_len & 0xFF
        buf[2] = payload_len >> 8
        buf[3] = _HCHK_KEY ^ buf[1] ^ buf[2]
        crc32_into(self._views[payload_len], buf, _HDR + payload_len)
        return _HDR + payload_len + 4

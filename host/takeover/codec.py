"""Host side of wire protocol v1 (revision 2), built from the firmware's own schema (tkfw.schema).

encode() builds frames; FrameReader finds them in a byte stream with the same resynchronisation
rule as the firmware (slide one byte until a header checks and the CRC matches).
"""

from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass, field

from tkfw import schema

_HEADER = struct.Struct("<BHB")
_PAYLOAD_HEADER = struct.Struct("<BBH")
_TARGET = struct.Struct(schema.struct_format(schema.TARGET_FIELDS))
_TARGET_NAMES = tuple(name for name, _, _ in schema.TARGET_FIELDS)
_HEIGHT = struct.Struct(schema.struct_format(schema.HEIGHT_FIELDS))

NAMES = {msg_type: name for msg_type, (name, _) in schema.MESSAGES.items()}
TYPES = {name: msg_type for msg_type, name in NAMES.items()}
_BODIES = {
    msg_type: (struct.Struct(schema.struct_format(fields)), tuple(n for n, _, _ in fields))
    for msg_type, (_, fields) in schema.MESSAGES.items()
}


@dataclass
class Message:
    type: int
    name: str
    seq: int
    fields: dict
    targets: list = field(default_factory=list)
    t_ns: int = 0  # host perf_counter_ns when the last byte was read

    def __getitem__(self, key):
        return self.fields[key]


def frame(payload: bytes) -> bytes:
    """Wrap a payload: header (sync, length, header check), payload, CRC-32."""
    n = len(payload)
    hchk = schema.HCHK_KEY ^ (n & 0xFF) ^ (n >> 8)
    return _HEADER.pack(schema.SYNC, n, hchk) + payload + struct.pack("<I", zlib.crc32(payload))


def encode(msg_type: int | str, seq: int, targets: list[dict] | None = None,
           version: int = schema.VERSION, tail: bytes = b"", **values) -> bytes:
    """A complete frame. Missing body fields are 0; strings are str or bytes; `tail` is appended
    to the payload (an echo frame padded to a given size). Radar targets that carry a "height"
    make a frame with the heights block (flags RADAR_HEIGHTS; a target without one is sent with
    HEIGHT_UNKNOWN): only for a firmware whose HELLO features have FEATURE_PATH_HEIGHT."""
    if isinstance(msg_type, str):
        msg_type = TYPES[msg_type]
    body, names = _BODIES[msg_type]
    heights = b""
    if msg_type == schema.T_RADAR:
        values.setdefault("n_targets", len(targets or []))
        if any("height" in t for t in targets or []):
            values["flags"] = values.get("flags", 0) | schema.RADAR_HEIGHTS
            heights = b"".join(_HEIGHT.pack(int(t.get("height", schema.HEIGHT_UNKNOWN))) for t in targets)
    args = []
    for name in names:
        value = values.pop(name, 0)
        args.append(value.encode() if isinstance(value, str) else value)
    if values:
        raise KeyError(f"{NAMES[msg_type]} has no field(s) {sorted(values)}")
    payload = _PAYLOAD_HEADER.pack(version, msg_type, seq & 0xFFFF) + body.pack(*args)
    for target in targets or []:
        payload += _TARGET.pack(*(int(target[n]) for n in _TARGET_NAMES))
    return frame(payload + heights + tail)


def decode_payload(payload: bytes) -> Message:
    """Parse a CRC-checked payload. Unknown types keep their raw body; longer bodies are fine."""
    version, msg_type, seq = _PAYLOAD_HEADER.unpack_from(payload)
    if version != schema.VERSION:
        raise ValueError(f"protocol version {version}, expected {schema.VERSION}")
    if msg_type not in _BODIES:
        return Message(msg_type, f"unknown_0x{msg_type:02x}", seq, {"raw": payload[4:]})
    body, names = _BODIES[msg_type]
    values = dict(zip(names, body.unpack_from(payload, 4)))
    for key, value in values.items():
        if isinstance(value, bytes):
            values[key] = value.rstrip(b"\0").decode(errors="replace")
    if msg_type == schema.T_ECHO:
        values["raw"] = payload[4:]  # what came back, byte for byte
    msg = Message(msg_type, NAMES[msg_type], seq, values)
    if msg_type == schema.T_RADAR:
        at = schema.RADAR_TARGETS_AT
        for _ in range(values["n_targets"]):
            msg.targets.append(dict(zip(_TARGET_NAMES, _TARGET.unpack_from(payload, at))))
            at += _TARGET.size
        if values["flags"] & schema.RADAR_HEIGHTS:
            for target in msg.targets:
                (target["height"],) = _HEIGHT.unpack_from(payload, at)
                at += _HEIGHT.size
    return msg


class FrameReader:
    """Incremental frame finder. feed(bytes) returns the payloads completed by those bytes."""

    def __init__(self):
        self._buf = bytearray()
        self.bad_crc = 0
        self.skipped_bytes = 0

    def feed(self, data: bytes) -> list[bytes]:
        buf = self._buf
        buf += data
        out = []
        while len(buf) >= 4:
            n = buf[1] | (buf[2] << 8)
            if (buf[0] != schema.SYNC or buf[3] != schema.HCHK_KEY ^ buf[1] ^ buf[2]
                    or not 4 <= n <= schema.MAX_PAYLOAD):
                del buf[0]
                self.skipped_bytes += 1
                continue
            if len(buf) < n + 8:
                break
            if zlib.crc32(buf[4:n + 8]) != schema.CRC_RESIDUE:
                del buf[0]
                self.bad_crc += 1
                continue
            out.append(bytes(buf[4:n + 4]))
            del buf[:n + 8]
        return out

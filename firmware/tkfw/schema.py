"""Wire protocol v1 (revision 2): the one definition of every frame on the serial link.

The firmware codec (tkfw.wire) and the host codec (takeover.codec) are both built from the tables
below; docs/protocol.md describes them for people. Rules: little-endian; fields are append-only
(a new field goes at the end of its message and old readers ignore it); every int32 field sits at
an offset that is a multiple of 4 so the firmware reads it through an int32 view without
allocating.

Frame layout on the wire:

    offset  size  field
    0       1     SYNC = 0xA5
    1       2     LEN: payload length in bytes (u16)
    3       1     HCHK = 0x5A ^ LEN_lo ^ LEN_hi (header check: garbage rarely forms a header)
    4       LEN   payload = ver u8, type u8, seq u16, body
    4+LEN   4     CRC-32 (IEEE 802.3, as zlib.crc32) of the payload, little-endian

A receiver resynchronises after garbage by sliding one byte at a time until a header checks and
the CRC matches. Field codes are those of Python's struct module; "16s" is a NUL-padded ASCII
string.

Revisions add without breaking: a field that was reserved (and sent as 0) gets a meaning for
which 0 is the old behaviour, and a firmware says what it takes in HELLO `features`, so a host
written before a revision keeps working with a firmware after it, and the other way round (a host
sends a revision's additions only to a firmware whose HELLO names them). Revision 2
(FEATURE_PATH_HEIGHT): the radar frame's yaw rate (the predicted path bends with it) and a
block of heights after the target records, one per record (a structure above the road is not an
obstacle). The heights come after the records, not in them, so a record stays 16 bytes and the
firmware's pass over the records keeps its constant step. FEATURE_END_DRIVE: the END_DRIVE message
(the host's drive is over: the board forgets it and turns its outputs off, so a board left
connected after a run does not sit at the stale-radar FAULT, beeping).
"""

from tkfw.compat import const

VERSION = const(1)  # protocol version carried in every payload

SYNC = const(0xA5)
HCHK_KEY = const(0x5A)
HEADER_LEN = const(4)  # SYNC, LEN, HCHK
CRC_LEN = const(4)
PAYLOAD_HEADER_LEN = const(4)  # ver, type, seq
MAX_TARGETS = const(64)
TARGET_LEN = const(16)  # bytes per radar target record
CRC_RESIDUE = const(0x2144DF1C)  # zlib.crc32(payload + crc_le) for every intact frame
# STATUS heap_bytes is measured (gc.mem_alloc) at a session's first STATUS and at every
# HEAP_SAMPLE_EVERY-th after it, and repeated in between: the measurement walks the whole heap's
# allocation table (about 250 us on the VM), too slow for every frame.
HEAP_SAMPLE_EVERY = const(16)
# Longest HANG the firmware obeys: past a Pico's 2 s watchdog, short of the RP2040's 8.3 s maximum.
HANG_MAX_MS = const(5000)

# Message type ids. Host -> device below 0x80, device -> host from 0x80. Append-only.
T_RADAR = const(0x01)
T_DRIVER = const(0x02)
T_PING = const(0x03)
T_CONFIG_GET = const(0x04)
T_CONFIG_SET = const(0x05)
T_INFO_REQ = const(0x06)  # ask for a HELLO; starts a new session (counters and seq reset)
T_STATUS_REQ = const(0x07)
T_ECHO = const(0x08)  # the device writes the whole frame back byte for byte: the transport's floor
T_HANG = const(0x09)  # fault injection: the main loop stops (a stuck board; the watchdog's test)
T_LOCK_HEAP = const(0x0A)  # the next radar frames with micropython.heap_lock held: proof of no allocation
T_END_DRIVE = const(0x0B)  # the drive is over: forget it, outputs off (answered by an ALERT; FEATURE_END_DRIVE)
T_HELLO = const(0x81)
T_ALERT = const(0x82)
T_STATUS = const(0x83)
T_PONG = const(0x84)
T_CONFIG = const(0x85)

# Body fields of each message: (name, struct code, unit / meaning).
MESSAGES = {
    T_RADAR: ("radar", (
        ("t_ms", "I", "ms, scenario time of the measurement; wraps at 2**30"),
        ("ego_speed", "i", "mm/s, ego longitudinal speed"),
        ("n_targets", "B", "count of target records that follow, 0..64"),
        ("flags", "B", "bit0 RADAR_HEIGHTS: n_targets int32 heights follow the target records (HEIGHT_FIELDS, "
                       "in the records' order; revision 2)"),
        ("yaw_rate", "h", "mrad/s, ego yaw rate, left (counter-clockwise) positive: the predicted path bends "
                          "with curvature yaw_rate / ego_speed; 0 is a straight path (revision 2; reserved, 0, "
                          "before)"),
    )),
    T_DRIVER: ("driver", (
        ("t_ms", "I", "ms, scenario time of the observation"),
        ("flags", "B", "bit0 hands on wheel, bit1 eyes on road, bit2 eyes closed, bit3 assistance engaged, "
                       "bit4 driver override (accelerator or steering input: releases a brake request)"),
        ("reserved", "B", "reserved, 0"),
        ("reserved2", "H", "reserved, 0"),
    )),
    T_PING: ("ping", (
        ("token", "I", "opaque, echoed in PONG"),
    )),
    T_CONFIG_GET: ("config_get", (
        ("key", "B", "index into tkfw.settings.SPEC"),
    )),
    T_CONFIG_SET: ("config_set", (
        ("key", "B", "index into tkfw.settings.SPEC"),
        ("reserved", "B", "reserved, 0"),
        ("reserved2", "H", "reserved, 0"),
        ("value", "i", "new value in the setting's device unit (ms, mm, mm/s, mm/s2)"),
    )),
    T_INFO_REQ: ("info_req", ()),
    T_STATUS_REQ: ("status_req", ()),
    T_ECHO: ("echo", ()),  # any bytes may follow the payload header; all come back unchanged
    T_HANG: ("hang", (
        ("ms", "I", "ms the main loop stops serving (no outputs, no watchdog feed), at most HANG_MAX_MS"),
    )),
    T_LOCK_HEAP: ("lock_heap", (
        ("frames", "I", "radar frames to process with the heap locked (micropython.heap_lock); an allocation "
                        "meanwhile raises MemoryError, which unlocks and counts in loop_faults; a new session "
                        "(INFO_REQ) unlocks too"),
    )),
    T_END_DRIVE: ("end_drive", ()),
    T_HELLO: ("hello", (
        ("fw_version", "16s", "firmware version, ASCII"),
        ("board", "16s", "board name, ASCII"),
        ("proto", "B", "protocol version the firmware speaks"),
        ("max_targets", "B", "targets per radar frame the firmware accepts"),
        ("features", "H", "revision features the firmware takes: bit0 FEATURE_PATH_HEIGHT (radar yaw_rate and "
                          "the heights block), bit1 FEATURE_END_DRIVE (the END_DRIVE message), bit2 "
                          "FEATURE_SETTINGS_SAVED (settings are saved on the board's file system); 0 from a "
                          "firmware before them (reserved, 0)"),
        ("settings_hash", "I", "CRC-32 of the active settings (tkfw.settings.digest), low 30 bits"),
        ("boot_id", "I", "random per boot; a change mid-run means the device reset"),
    )),
    T_ALERT: ("alert", (
        ("frame_seq", "H", "seq of the host frame that caused the change"),
        ("level", "B", "tkfw.alerts.LEVELS index"),
        ("cause", "B", "tkfw.alerts.CAUSES index"),
        ("ttc_ms", "i", "ms, device TTC of the threat; -1 when nothing closes in"),
        ("proc_us", "I", "us, device time from frame receipt to this alert"),
        ("t_ms", "I", "ms, scenario time of the causing frame"),
        ("outputs", "B", "bit0 visual, bit1 audible, bit2 haptic, bit3 brake request (AEB), bit4 minimal-risk request"),
        ("origin", "B", "0: caused by host frame frame_seq; 1: by the device's clock (an input timed out; "
                        "frame_seq is the last radar frame, t_ms the device's estimate of scenario time)"),
        ("level2", "B", "the other side in force, when a collision alert and a driver-monitor alert are "
                        "both up (the outputs combine both cues: tkfw.alerts); 0 otherwise"),
        ("cause2", "B", "its cause (collision or a driver-monitor cause); 0 otherwise"),
        ("rx_ticks_us", "I", "us, device ticks_us when the causing frame was complete"),
    )),
    T_STATUS: ("status", (
        ("frame_seq", "H", "seq of the host frame this answers"),
        ("level", "B", "current alert level"),
        ("cause", "B", "current alert cause"),
        ("proc_us", "I", "us, device processing time of that frame"),
        ("processed", "I", "frames handled"),
        ("dropped", "I", "valid radar frames skipped because a newer one was already waiting (flood)"),
        ("rejected", "I", "frames refused or lost: bad version/type/length, or missing from the seq series"),
        ("bad_crc", "I", "diagnostic: candidate frames whose CRC failed"),
        ("skipped_bytes", "I", "diagnostic: bytes discarded while hunting for a header"),
        ("ttc_ms", "i", "ms, TTC of the current threat; -1 when none"),
        ("rx_ticks_us", "I", "us, device ticks_us when that frame was complete"),
        ("dm_flags", "B", "driver monitor: bit0 hands on, bit1 eyes on road, bit2 eyes closed, bit3 driver "
                          "data fresh, bit4 engaged, bit5 high sensitivity, bit6 locked out, bit7 hands-on pin"),
        ("dm_terminal", "B", "driver-monitor episodes that reached TAKEOVER this drive"),
        ("settings_faults", "H", "saved settings refused at boot (a value outside its bounds, or an unreadable "
                                 "file, ignored whole): the defaults run instead (FEATURE_SETTINGS_SAVED; "
                                 "reserved, 0, before)"),
        ("tx_dropped", "I", "replies not written because the host was not reading (never blocks the loop)"),
        ("loop_faults", "I", "exceptions caught by the main loop (each logged; the loop keeps alerting)"),
        ("bad_version", "I", "rejected: wrong protocol version"),
        ("bad_type", "I", "rejected: unknown message type"),
        ("bad_length", "I", "rejected: body too short for its type, or a radar frame whose length and count disagree"),
        ("lost", "I", "rejected: missing from the seq series (corrupted, truncated or never sent)"),
        ("heap_bytes", "I", "bytes of heap in use (gc.mem_alloc), measured at the session's first STATUS "
                            "and every HEAP_SAMPLE_EVERY-th (16) after it, the last measurement in between; "
                            "in reply to STATUS_REQ measured then, after a gc.collect (the live heap), "
                            "and the count restarts"),
        ("heap_free", "I", "bytes of heap free (gc.mem_free), measured in reply to STATUS_REQ (after its "
                           "gc.collect) and repeated until the next; 0 before the session's first"),
        ("heap_locked_frames", "I", "radar frames processed this session with the heap locked (LOCK_HEAP)"),
    )),
    T_PONG: ("pong", (
        ("token", "I", "the PING token"),
        ("rx_ticks_us", "I", "us, device ticks_us at PING receipt"),
        ("tx_ticks_us", "I", "us, device ticks_us just before PONG was written"),
    )),
    T_CONFIG: ("config", (
        ("key", "B", "setting index"),
        ("status", "B", "0 ok, 1 unknown key, 2 out of range, 3 below safety floor, 4 above safety ceiling"),
        ("reserved", "H", "reserved, 0"),
        ("value", "i", "value now in force (device unit)"),
        ("lo", "i", "lowest allowed value (the safety floor where one applies)"),
        ("hi", "i", "highest allowed value (the safety ceiling where one applies)"),
    )),
}

# Radar target record, repeated n_targets times after the radar body.
TARGET_FIELDS = (
    ("id", "i", "track id, stable while the radar tracks the object"),
    ("range", "i", "mm, longitudinal distance from the ego front bumper"),
    ("range_rate", "i", "mm/s, d(range)/dt; negative while closing"),
    ("lateral", "i", "mm, lateral offset of the target centre, left positive"),
)

# The heights block (radar flags RADAR_HEIGHTS): after the n_targets records, one of these each.
HEIGHT_FIELDS = (
    ("height", "i", "mm, height above the road of the record's reflection centre; HEIGHT_UNKNOWN when not measured"),
)
HEIGHT_LEN = const(4)
HEIGHT_UNKNOWN = const(-1000000)  # mm: a height no reflection has
RADAR_HEIGHTS = const(1)  # radar flags
FEATURE_PATH_HEIGHT = const(1)  # HELLO features: revision 2
FEATURE_END_DRIVE = const(2)  # HELLO features: END_DRIVE, and a board that lost its host goes quiet
FEATURE_SETTINGS_SAVED = const(4)  # HELLO features: a config_set the board accepts survives a reset

CONFIG_OK = const(0)
CONFIG_UNKNOWN_KEY = const(1)
CONFIG_OUT_OF_RANGE = const(2)
CONFIG_BELOW_FLOOR = const(3)
CONFIG_ABOVE_CEILING = const(4)

ORIGIN_FRAME = const(0)  # ALERT origin
ORIGIN_CLOCK = const(1)

DRIVER_HANDS_ON = const(1)
DRIVER_EYES_ON_ROAD = const(2)
DRIVER_EYES_CLOSED = const(4)
DRIVER_ENGAGED = const(8)
DRIVER_OVERRIDE = const(16)  # the driver overrides the brake request (UN R152 5.3.3: accelerator, steering)

_SIZES = {"B": 1, "H": 2, "I": 4, "b": 1, "h": 2, "i": 4, "16s": 16}


def layout(fields, start=PAYLOAD_HEADER_LEN):
    """Offsets of each field from the payload start: {name: (offset, code)}, and the end offset."""
    offsets = {}
    pos = start
    for name, code, _ in fields:
        offsets[name] = (pos, code)
        pos += _SIZES[code]
    return offsets, pos


def struct_format(fields, prefix="<"):
    """The struct format of `fields` in order, little-endian like the wire; prefix "<BBH" adds
    the payload header (version, type, seq) in front of a message body."""
    return prefix + "".join(code for _, code, _ in fields)


def body_len(msg_type):
    return layout(MESSAGES[msg_type][1])[1] - PAYLOAD_HEADER_LEN


RADAR_TARGETS_AT = layout(MESSAGES[T_RADAR][1])[1]  # payload offset of the first target record
MAX_PAYLOAD = RADAR_TARGETS_AT + MAX_TARGETS * (TARGET_LEN + HEIGHT_LEN)
MAX_FRAME = HEADER_LEN + MAX_PAYLOAD + CRC_LEN

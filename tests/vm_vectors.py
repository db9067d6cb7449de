# Replays the cases of tests/vectors.py through tkfw and prints one JSON line per case.
#
# Runs unchanged on CPython (tests import it and call run(path, emit)) and on MicroPython
# (takeover.simboard.run_script puts the vectors at /vectors.json and the script runs itself).
# Keep it to what both implement: no dataclasses, no typing, no f-string "=" specifiers.

import array
import json
import sys
from binascii import unhexlify

from tkfw import schema, wire
from tkfw.dm import DriverMonitor
from tkfw.settings import SPEC, Settings, device_name
from tkfw.ttc import Threat, level_for, path_radius_mm

_HDR = 4
_W_TARGETS = (_HDR + schema.RADAR_TARGETS_AT) // 4
_RADAR = schema.layout(schema.MESSAGES[schema.T_RADAR][1])[0]
_B_RADAR_N = _HDR + _RADAR["n_targets"][0]
_B_RADAR_FLAGS = _HDR + _RADAR["flags"][0]
_B_RADAR_YAW = _HDR + _RADAR["yaw_rate"][0]
_W_RADAR_EGO = (_HDR + _RADAR["ego_speed"][0]) // 4


def _feed(dec, data, chunk, on_frame):
    """Push bytes into the decoder the way tkfw.app.Firmware.poll does (at most want() per read)."""
    pos = 0
    end = len(data)
    buf = dec.buf
    while pos < end:
        count = dec.want()
        if count <= 0:
            raise AssertionError("decoder wants %d bytes" % count)
        if chunk and count > chunk:
            count = chunk
        if count > end - pos:
            count = end - pos
        fill = dec.fill
        for k in range(count):
            buf[fill + k] = data[pos + k]
        pos += count
        msg_type = dec.received(count)
        while msg_type:
            on_frame(dec, msg_type)
            msg_type = dec.received(0)


def run_wire(inp):
    dec = wire.Decoder()
    frames = []

    def on_frame(d, msg_type):
        frames.append([msg_type, d.seq()])
        d.processed += 1
        d.consume()

    _feed(dec, unhexlify(inp["stream"]), inp["chunk"], on_frame)
    return {
        "frames": frames,
        "processed": dec.processed,
        "rejected": dec.rejected,
        "lost": dec.lost,
        "bad_version": dec.bad_version,
        "bad_crc": dec.bad_crc,
        "skipped_bytes": dec.skipped_bytes,
    }


def run_ttc(inp):
    settings = Settings()
    targets = inp["targets"]
    words = array.array("i", [0] * (4 * len(targets) + 1))
    for k in range(len(targets)):
        for f in range(4):
            words[4 * k + f] = targets[k][f]
    threat = Threat()
    ttc = threat.assess(words, 0, len(targets), settings)
    result = {"ttc_ms": ttc, "level": level_for(ttc, settings), "target_id": threat.target_id}

    # The same targets inside a real radar frame, read through the decoder's int32 view.
    dec = wire.Decoder()
    got = []

    def on_frame(d, msg_type):
        t = Threat()
        frame_ttc = t.assess(d.words, _W_TARGETS, d.buf[_B_RADAR_N], settings)
        got.append([frame_ttc, level_for(frame_ttc, settings), t.target_id])
        d.consume()

    _feed(dec, unhexlify(inp["frame"]), 0, on_frame)
    result["frame"] = got[0] if len(got) == 1 else got
    return result


def run_crc(inp):
    data = unhexlify(inp["data"])
    n = len(data)
    buf = bytearray(n + 4)
    for k in range(n):
        buf[k] = data[k]
    wire.crc32_into(memoryview(buf)[0:n], buf, n)
    return {"lo16": buf[n] | (buf[n + 1] << 8), "hi16": buf[n + 2] | (buf[n + 3] << 8)}


def run_settings(inp):
    settings = Settings()
    statuses = []
    for op in inp["ops"]:
        statuses.append(settings.set_device(op[0], op[1]))
    values = {}
    for row in SPEC:
        name = device_name(row[0])
        values[name] = getattr(settings, name)
    return {"statuses": statuses, "values": values, "digest": settings.digest()}


def run_threat(inp):
    settings = Settings()
    threat = Threat()
    words = array.array("i", [0] * (4 * schema.MAX_TARGETS + 1))
    out = []
    t_ms = 0
    for targets in inp["frames"]:
        for k in range(len(targets)):
            for f in range(4):
                words[4 * k + f] = targets[k][f]
        reaction = settings.reaction_distracted_ms if inp["distracted"] else settings.reaction_ms
        threat.assess(words, 0, len(targets), settings, t_ms, reaction, -1, 0, inp["ego_mm_s"])
        out.append([threat.target_id, threat.ttc_ms, threat.ettc_ms, threat.a_now_mm_s2,
                    threat.a_driver_mm_s2, threat.level])
        t_ms += 50
    return {"per_frame": out}


def run_dm(inp):
    """Update every 50 ms (a radar frame), driver frames at their own times, the pin as given."""
    settings = Settings()
    dm = DriverMonitor()
    frames = inp["frames"]
    pins = inp["pins"]
    fi = 0
    pin = False
    out = []
    last = None
    for t in range(0, inp["end_ms"] + 1, 50):
        while fi < len(frames) and frames[fi][0] <= t:
            dm.on_frame(frames[fi][1], frames[fi][0])
            fi += 1
        for when, value in pins:
            if when <= t:
                pin = value
        dm.update(t, pin, settings)
        state = [dm.hands_level, dm.eyes_level, dm.drowsy_level, dm.vats_level, int(dm.locked_out),
                 int(dm.high_sensitivity), dm.terminal]
        if state != last:
            out.append([t, state])
            last = state
    return {"transitions": out}


def run_path(inp):
    """A revision 2 radar frame through the decoder: the threat on the predicted path, high
    stationary reflections left out (the heights block and the path radius, as tkfw.app hands
    them to tkfw.ttc)."""
    settings = Settings()
    got = []

    def on_frame(d, msg_type):
        buf = d.buf
        n = buf[_B_RADAR_N]
        heights = _W_TARGETS + 4 * n if buf[_B_RADAR_FLAGS] & schema.RADAR_HEIGHTS else -1
        yaw = buf[_B_RADAR_YAW] | (buf[_B_RADAR_YAW + 1] << 8)
        if yaw >= 0x8000:
            yaw -= 0x10000
        ego = d.words[_W_RADAR_EGO]
        radius = path_radius_mm(yaw, ego)
        t = Threat()
        ttc = t.assess(d.words, _W_TARGETS, n, settings, 1000, -1, heights, radius, ego)
        got.append([t.target_id, ttc, radius])
        d.consume()

    _feed(wire.Decoder(), unhexlify(inp["frame"]), 0, on_frame)
    return {"threat": got[0][:2], "radius_mm": got[0][2]}


RUNNERS = {"path": run_path, "wire": run_wire, "ttc": run_ttc, "crc": run_crc, "settings": run_settings, "threat": run_threat,
           "dm": run_dm}


def run(path, emit=print):
    with open(path) as f:
        cases = json.load(f)
    for i in range(len(cases)):
        case = cases[i]
        emit(json.dumps({"i": i, "name": case["name"], "got": RUNNERS[case["kind"]](case["input"])}))


if sys.implementation.name == "micropython":
    run("/vectors.json")

"""Where a radar frame's time goes on the board: stage stamps on the board's own clock.

The firmware reports one figure per frame (STATUS proc_us: receipt to the end of the frame's work).
To see its parts without slowing the firmware with stamps of its own, this asks the board for its
REPL (the maintenance request, as `takeover flash` does), runs SCRIPT there against the firmware
files on the board's flash (the same .mpy files, native code included, that the loop runs), and
starts the firmware again. SCRIPT makes a Firmware with a scripted I/O and replays one radar frame
through the steps of tkfw.app Firmware._on_radar, in its order, timing each with ticks_us over
REPEAT frames: decode (header, CRC), driver monitor update, threat decision, arbiter and ALERT,
track update, STATUS. The sum is compared with the firmware's own proc_us for the same frames.
The frame is a quiet one (its in-path target 150 m ahead: no alert), as most frames are; a frame
that raises an alert also writes the ALERT, whose cost the bench's latency phase reads from the
ALERT itself (its proc_us, the decision time).
"""

from __future__ import annotations

import ast

from takeover import codec

REPEAT = 100

SCRIPT = r"""
import gc
from time import ticks_us, ticks_diff
from tkfw.app import Firmware
from tkfw import alerts, app, schema
_HDR = schema.HEADER_LEN
frame = %(frame)r
n = len(frame)
class IO:
    def __init__(self):
        self.ticks_us = ticks_us
        self.at = 0
    def read_into(self, buf, start, count, timeout_us):
        for i in range(count):
            buf[start + i] = frame[self.at + i]
        self.at = (self.at + count) %% n
        return count
    def write(self, buf, count):
        return True
    def pending(self):
        return 0
    def show(self, row):
        pass
    def hands_on(self):
        return False
    def service(self):
        pass
    def log(self, text):
        pass
io = IO()
fw = Firmware(io, "stages")
stages = ("decode", "driver_monitor", "threat_decide", "arbiter_alert", "threat_track", "status", "whole_frame")
total = [0] * len(stages)
dec = fw.dec
settings = fw.settings
words = dec.words
for k in range(%(repeat)d + 5):
    fw.radar_armed = False  # every frame is the drive's next one, never a flood
    fw.new_drive()
    dec.expect_seq = -1
    # the bytes are in the buffer before the clock starts, as when the firmware's read returns
    got = io.read_into(dec.buf, 0, _HDR, 0)
    dec.received(got)
    got = io.read_into(dec.buf, dec.fill, dec.want(), 0)
    t0 = ticks_us()
    msg_type = dec.received(got)
    t1 = ticks_us()
    count = words[app._W_RADAR_N] & 0xFF
    t_ms = words[app._W_RADAR_T] & 0x3FFFFFFF
    fw.dm.update(t_ms, io.hands_on(), settings)
    t2 = ticks_us()
    fw.threat.decide(words, app._W_TARGETS, count, settings, t_ms, fw.dm.reaction)
    t3 = ticks_us()
    if fw.threat.level != fw.arbiter.settled[alerts.CAUSE_COLLISION]:
        fw.arbiter.request(alerts.CAUSE_COLLISION, fw.threat.level, t_ms, settings.deescalate_hold_ms)
    dec.processed += 1
    fw._decide(dec.seq(), t_ms, t0)
    t4 = ticks_us()
    fw.threat.track(words, app._W_TARGETS, count, settings, t_ms)
    t5 = ticks_us()
    fw._send_status(dec.seq(), t0)
    t6 = ticks_us()
    dec.consume()
    if k >= 5:
        for i, (a, b) in enumerate(((t0, t1), (t1, t2), (t2, t3), (t3, t4), (t4, t5), (t5, t6), (t0, t6))):
            total[i] += ticks_diff(b, a)
# the firmware's own path for the same frame, timed by itself (STATUS proc_us)
procs = []
for k in range(%(repeat)d):
    fw.radar_armed = False
    fw.new_drive()
    dec.expect_seq = -1
    fw.poll(0)
    fw.poll(0)
    procs.append(fw.last_proc_us)
procs.sort()
print(repr({"stages": {s: total[i] / %(repeat)d for i, s in enumerate(stages)},
            "proc_us_p50": procs[len(procs) // 2], "type": msg_type}))
"""


def script(n_targets: int, repeat: int = REPEAT) -> str:
    """The profiling script for a frame of n_targets (the bench's shape: one in path, the rest beside)."""
    from takeover.bench import _targets

    frame = codec.encode("radar", 1, targets=_targets(n_targets, 0), t_ms=1000, ego_speed=20_000)
    return SCRIPT % {"frame": frame, "repeat": repeat}


def measure(port: str, board, counts=(1, 64), log=print) -> list[dict]:
    """Stage times (us, mean over REPEAT frames) for each target count, on the board at `port`
    (a serial path); the firmware runs again afterwards."""
    from mpremote.transport_serial import SerialTransport

    from takeover import flash

    flash.reach_repl(port, board, log)
    transport = SerialTransport(port, baudrate=115200)
    rows = []
    try:
        transport.enter_raw_repl(soft_reset=True)
        for n in counts:
            out, err = transport.exec_raw(script(n), timeout=600)
            if err:
                raise RuntimeError(f"stage profile on {port} failed: {err.decode(errors='replace').strip()}")
            out = ast.literal_eval(out.decode())
            rows.append({"targets": n, **out})
        flagged = "True" in transport.exec("from tkfw import maintenance\nprint(maintenance.active())").decode()
        flash.leave_maintenance(transport, board, flagged)
    finally:
        transport.close()
    return rows

"""The firmware's main loop: bytes in, alerts and outputs out.

I/O is duck-typed (micropython-lib style): `io` provides
    read_into(buf, start, count, timeout_us) -> bytes placed at buf[start:], at most count
    write(buf, count)                         -> True if sent; False if the host is not reading (the
                                                 frame is dropped: a write never blocks the loop)
    pending()                                 -> > 0 when more input is already waiting
    show(row)                                 -> drive LED/buzzer/haptic/brake for an alert row
    hands_on()                                -> True while the board's hands-on input is pressed
    service()                                 -> called every loop pass (blink patterns, watchdog)
    ticks_us()                                -> the board's microsecond clock (MicroPython ticks:
                                                 wraps at 2**30, compare with ticks_diff only)
    log(text)                                 -> diagnostics off the data stream
Backends: tkfw.hw_sim (the simulated board) and tkfw.hw_rp2 (Pico, Pico W, Pico 2).

Time: the logic runs on the timestamps carried by the frames (t_ms), so a run is reproducible
and may go faster than real time; ticks_us stamps receipt and processing time, and times the
one thing frame time cannot: frames that stop coming (check_inputs: the FAULT cause).

Overload, without unbounded queues or blocking:
- flood: a radar frame measured less than half a nominal cycle after the last one processed (its
  t_ms: a radar flooding at 10x stamps its frames 5 ms apart; not before it), while the next
  frame already waiting is a radar frame too, is dropped and counted (STATUS dropped); the
  newest wins. Faster-than-real-time and lockstep runs keep nominal timestamps: they never drop;
- a reply the host is not reading is dropped and counted (STATUS tx_dropped); an ALERT that could
  not be written is written again, with the state then in force, at the next chance.
"""

from struct import pack_into

from tkfw import VERSION, alerts, schema, store
from tkfw.compat import collect, const, heap_lock, heap_unlock, mem_alloc, mem_free, ticks_diff
from tkfw.dm import DriverMonitor
from tkfw.settings import SPEC, Settings
from tkfw.ttc import Threat, hold_brake, path_radius_mm
from tkfw.wire import LOOKAHEAD, Decoder, Encoder

_POLL_US = const(5000)  # longest wait for input before the loop services outputs again
_DRAIN_READS = const(16)  # reads of waiting input (two a frame) before a silent radar is stale
_HDR = const(4)
_T_MASK = const(0x3FFFFFFF)  # frame time t_ms wraps at 2**30, like ticks


def _word(offset):
    """Index in the decoder's int32 view of a payload offset (payload starts at buffer byte 4)."""
    return (_HDR + offset) // 4


_RADAR, _ = schema.layout(schema.MESSAGES[schema.T_RADAR][1])
_W_RADAR_T = _word(_RADAR["t_ms"][0])
_W_RADAR_EGO = _word(_RADAR["ego_speed"][0])
# n_targets, flags and yaw_rate share one word of the int32 view (little-endian: count in the low
# byte, flags in the next, the int16 yaw rate in the top half, its sign kept by the shift): one
# read for all three, where byte reads cost one each.
_W_RADAR_N = _word(_RADAR["n_targets"][0])
if (_HDR + _RADAR["n_targets"][0]) % 4 or _RADAR["flags"][0] != _RADAR["n_targets"][0] + 1 \
        or _RADAR["yaw_rate"][0] != _RADAR["n_targets"][0] + 2:
    raise ImportError("tkfw.app: the radar count, flags and yaw rate no longer share a word")
_W_TARGETS = _word(schema.RADAR_TARGETS_AT)
_DRIVER, _ = schema.layout(schema.MESSAGES[schema.T_DRIVER][1])
_B_DRIVER_FLAGS = _HDR + _DRIVER["flags"][0]
_W_DRIVER_T = _word(_DRIVER["t_ms"][0])
_W_HANG_MS = _word(schema.layout(schema.MESSAGES[schema.T_HANG][1])[0]["ms"][0])
_W_LOCK_FRAMES = _word(schema.layout(schema.MESSAGES[schema.T_LOCK_HEAP][1])[0]["frames"][0])
_W_PING_TOKEN = _word(schema.layout(schema.MESSAGES[schema.T_PING][1])[0]["token"][0])
_CFG_SET, _ = schema.layout(schema.MESSAGES[schema.T_CONFIG_SET][1])
# Names of other modules read on every radar frame, as globals of this one (one lookup, not two).
_CAUSE_FAULT = alerts.CAUSE_FAULT
_CAUSE_COLLISION = alerts.CAUSE_COLLISION
_NONE = alerts.NONE
_EMERGENCY = alerts.EMERGENCY
# tkfw.schema values read on every frame, as this module's constants: the compiler folds them into
# the code, where a name read from another module is a lookup at every use. Checked below.
_VERSION = const(1)
_T_RADAR = const(0x01)
_T_DRIVER = const(0x02)
_T_ALERT = const(0x82)
_T_STATUS = const(0x83)
_MAX_TARGETS = const(64)
_TARGET_LEN = const(16)
_HEIGHT_LEN = const(4)
_RADAR_HEIGHTS = const(1)
_TARGETS_AT = const(16)
_ORIGIN_FRAME = const(0)
if ((schema.VERSION, schema.T_RADAR, schema.T_DRIVER, schema.T_ALERT, schema.T_STATUS, schema.MAX_TARGETS,
     schema.TARGET_LEN, schema.HEIGHT_LEN, schema.RADAR_HEIGHTS, schema.RADAR_TARGETS_AT, schema.ORIGIN_FRAME)
        != (_VERSION, _T_RADAR, _T_DRIVER, _T_ALERT, _T_STATUS, _MAX_TARGETS, _TARGET_LEN, _HEIGHT_LEN,
            _RADAR_HEIGHTS, _TARGETS_AT, _ORIGIN_FRAME)):
    raise ImportError("tkfw.app constants out of step with tkfw.schema")
_B_CFG_KEY = _HDR + _CFG_SET["key"][0]
_W_CFG_VALUE = _word(_CFG_SET["value"][0])


def _min_payload(msg_type):
    return schema.PAYLOAD_HEADER_LEN + schema.body_len(msg_type)


def _new_boot_id(ticks):
    """30 random bits: a different value after every reset, so the host can tell."""
    try:
        from os import urandom

        raw = urandom(4)
        return raw[0] | (raw[1] << 8) | (raw[2] << 16) | ((raw[3] & 0x3F) << 24)
    except (ImportError, OSError, AttributeError):  # no urandom (the WebAssembly VM)
        import random

        random.seed(ticks)
        return random.getrandbits(30)


class Firmware:
    def __init__(self, io, board_name):
        self.io = io
        self.ticks_us = io.ticks_us
        self.board_name = board_name
        self.boot_id = _new_boot_id(io.ticks_us())
        self.settings = Settings()
        # Saved settings (tkfw.store), on a board with a file system: applied over the defaults.
        self.settings_file = getattr(io, "settings_file", None)
        self.settings_faults = 0
        if self.settings_file:
            _, self.settings_faults, why = store.load(self.settings, self.settings_file)
            if why:
                io.log(why)
        self.dec = Decoder()
        self.enc = Encoder()
        self.dm = DriverMonitor()
        self.threat = Threat()
        self.arbiter = alerts.Arbiter()
        self.rx_any_ticks = io.ticks_us()  # when input last came, of any kind
        self.new_drive()
        self.faults = 0
        self.tx_dropped = 0
        self.alert_pending = False  # an ALERT could not be written: send the current one again
        self.lock_left = 0  # radar frames still to process with the heap locked (LOCK_HEAP)
        self.last_proc_us = 0
        # The replies sent on every frame are packed in one call (tkfw.wire Encoder.packing).
        self._alert_fmt, self._alert_len = self.enc.packing(schema.T_ALERT)
        self._status_fmt, self._status_len = self.enc.packing(schema.T_STATUS)
        self._min_len = {t: _min_payload(t) for t in schema.MESSAGES if t < 0x80}

    def new_drive(self):
        """Forget the previous drive's threat, alerts and driver state (start-up, new session).
        Resets the objects made at start-up rather than making new ones: nothing is allocated."""
        self.threat.reset()
        self.arbiter.reset()
        self.dm.new_drive()
        self.radar_armed = False  # the stale-radar watch starts with the drive's first radar frame
        self.radar_rx_ticks = 0
        self.radar_t_ms = 0
        self.radar_seq = 0
        self.radar_fault = False
        self._heap_due = 0  # STATUS replies until heap_bytes is measured again: now
        self._heap_bytes = 0
        self._heap_free = 0
        self.locked_frames = 0  # radar frames processed with the heap locked, this drive

    # -- input -------------------------------------------------------------------------------
    def poll(self, timeout_us=_POLL_US):
        """Wait up to timeout_us for bytes, and handle every complete frame they finish."""
        dec = self.dec
        count = self.io.read_into(dec.buf, dec.fill, dec.want(), timeout_us)
        if count <= 0:
            return
        rx_ticks = self.ticks_us()
        self.rx_any_ticks = rx_ticks  # any input at all: the host is still there (check_inputs)
        msg_type = dec.received(count)
        while msg_type:
            self._handle(msg_type, rx_ticks)
            msg_type = dec.received(0)

    def _handle(self, msg_type, rx_ticks):
        if msg_type == _T_RADAR:  # most frames: its handler checks the exact length itself
            self._on_radar(rx_ticks)
            return
        dec = self.dec
        min_len = self._min_len.get(msg_type, -1)
        if min_len < 0:
            dec.reject("bad_type")
            return
        if dec.payload_len() < min_len:  # longer is fine: fields are append-only
            dec.reject("bad_length")
            return
        seq = dec.seq()
        buf = dec.buf
        words = dec.words
        if msg_type == _T_DRIVER:
            t_ms = words[_W_DRIVER_T] & _T_MASK  # read signed: 2**31 and up would come out negative
            self.dm.on_frame(buf[_B_DRIVER_FLAGS], t_ms)
            self.dm.update(t_ms, self.io.hands_on(), self.settings)
            dec.processed += 1
            self._decide(seq, t_ms, rx_ticks)
            dec.consume()
            return
        if msg_type == schema.T_ECHO:
            # Byte for byte, nothing decoded or encoded: what any reply costs at least.
            self._write(buf, dec.frame_len)
        elif msg_type == schema.T_PING:
            self._send_pong(words[_W_PING_TOKEN], rx_ticks)
        elif msg_type == schema.T_LOCK_HEAP:
            if not self.lock_left:
                heap_lock()
            self.lock_left = max(words[_W_LOCK_FRAMES], 1)
        elif msg_type == schema.T_HANG:
            dec.processed += 1
            dec.consume()
            self._hang(words[_W_HANG_MS])
            return
        elif msg_type == schema.T_END_DRIVE:
            dec.processed += 1
            dec.consume()
            self.end_drive(seq, self.radar_t_ms, rx_ticks, _ORIGIN_FRAME)
            return
        elif msg_type == schema.T_INFO_REQ:
            self.unlock_heap()  # a new session ends a heap lock
            dec.reset_counters()  # a new session: the host restarts its seq series
            dec.expect_seq = (seq + 1) & 0xFFFF
            self.new_drive()
            self.io.show(self.arbiter.row)  # outputs off
            self.send_hello()
        elif msg_type == schema.T_STATUS_REQ:
            collect()  # asked for, not per frame: heap_bytes is then the live heap, garbage gone
            self._heap_due = 0  # measured now; the count of STATUS to the next measurement restarts
            # heap_free only here: each of gc.mem_alloc and gc.mem_free walks the whole heap (about
            # 9 ms on an RP2040), too much to pay twice on the frames that sample heap_bytes.
            self._heap_free = mem_free()
            dec.processed += 1
            self._send_status(seq, rx_ticks)
            dec.consume()
            return
        elif msg_type == schema.T_CONFIG_GET:
            self._send_config(buf[_B_CFG_KEY], schema.CONFIG_OK)
        elif msg_type == schema.T_CONFIG_SET:
            key = buf[_B_CFG_KEY]
            status = self.settings.set_device(key, words[_W_CFG_VALUE])
            if status == schema.CONFIG_OK and self.settings_file:
                store.save(self.settings, self.settings_file)  # before the reply: a reset after it keeps it
            self._send_config(key, status)
        dec.processed += 1
        dec.consume()

    def _on_radar(self, rx_ticks):
        dec = self.dec
        buf = dec.buf
        words = dec.words
        shared = words[_W_RADAR_N]
        count = shared & 0xFF
        # Protocol revision 2: a height per record may follow the records (heights: its first word).
        if shared & (_RADAR_HEIGHTS << 8):
            heights = _W_TARGETS + 4 * count
            record_len = _TARGET_LEN + _HEIGHT_LEN
        else:
            heights = -1
            record_len = _TARGET_LEN
        if count > _MAX_TARGETS or (buf[1] | (buf[2] << 8)) != _TARGETS_AT + count * record_len:  # payload length
            dec.reject("bad_length")
            return
        settings = self.settings
        t_ms = words[_W_RADAR_T] & _T_MASK  # read signed: 2**31 and up would come out negative
        # A frame stamped before the last one processed is not a flood: the radar's clock went
        # back, or that last stamp was wrong. Taking it resets the reference, so one far-future
        # stamp cannot make every later frame look too close.
        if (self.radar_armed and 0 <= ticks_diff(t_ms, self.radar_t_ms) < settings.radar_period_ms // 2
                and self._radar_frame_next()):
            dec.dropped += 1  # flood: measured closer than half a cycle and a newer one waits: it wins
            dec.consume()
            return
        seq = dec.seq()
        self.radar_armed = True
        self.radar_rx_ticks = rx_ticks
        self.radar_t_ms = t_ms
        self.radar_seq = seq
        if self.radar_fault:
            self.radar_fault = False  # frames are back: the fault steps down through the arbiter
        arbiter = self.arbiter
        settled = arbiter.settled  # a request of the level settled there would change nothing: skipped
        if settled[_CAUSE_FAULT] != _NONE:
            arbiter.request(_CAUSE_FAULT, _NONE, t_ms, settings.deescalate_hold_ms)
        threat = self.threat
        dm = self.dm
        # Levels come from TTC and required deceleration, confirmed over frames (tkfw.ttc); the
        # reaction time assumed is the driver monitor's (longer while distracted or unknown).
        hold_ms = settings.deescalate_hold_ms
        dm.update(t_ms, self.io.hands_on(), settings)
        ego = words[_W_RADAR_EGO]
        radius = 0
        if shared >> 16:  # the yaw rate: 0 from a host before it
            radius = path_radius_mm(shared >> 16, ego)
        threat.decide(words, _W_TARGETS, count, settings, t_ms, dm.reaction, heights, radius, ego)
        level = threat.level
        if level == _EMERGENCY or threat.brake_hold:  # a brake request, raised or held (tkfw.ttc)
            level = hold_brake(threat, level, t_ms, ego, dm.override, settings.brake_clear_ms)
        if level != settled[_CAUSE_COLLISION]:
            arbiter.request(_CAUSE_COLLISION, level, t_ms, hold_ms)
        dec.processed += 1
        # self._decide(seq, t_ms, rx_ticks), inlined: a method call is among the dearest steps
        # of a frame on the board.
        dm.request(arbiter, t_ms, hold_ms)
        if (arbiter.changed and arbiter.decide()) or self.alert_pending:
            self.io.show(arbiter.row)
            self._send_alert(seq, t_ms, threat.ttc_ms, rx_ticks)
        # The ALERT, if any, is out: now the bookkeeping that did not decide it (every target's
        # history, the STATUS). proc_us covers the whole frame, the ALERT's only its decision.
        threat.track(words, _W_TARGETS, count, settings, t_ms, heights, radius, ego)
        self.last_proc_us = ticks_diff(self.ticks_us(), rx_ticks)
        if self.lock_left:
            self.locked_frames += 1  # counted before the STATUS that reports it
            if self.lock_left == 1:
                self.unlock_heap()
            else:
                self.lock_left -= 1
        self._send_status(seq, rx_ticks)
        dec.consume()

    def end_drive(self, seq, t_ms, rx_ticks, origin, fault_level=_NONE):
        """The drive is over (END_DRIVE from the host, or the host gone): forget it, show
        fault_level for the FAULT cause (NONE: outputs off) and say so in an ALERT."""
        self.new_drive()
        arbiter = self.arbiter
        if fault_level != _NONE:
            arbiter.request(_CAUSE_FAULT, fault_level, t_ms, 0)
            arbiter.decide()
        self.io.show(arbiter.row)
        self._send_alert(seq, t_ms, self.threat.ttc_ms, rx_ticks, origin)

    def unlock_heap(self):
        """End a LOCK_HEAP window (its frames done, a new session, or an allocation that failed)."""
        if self.lock_left:
            self.lock_left = 0
            heap_unlock()

    def _hang(self, ms):
        """Fault injection: stop serving for `ms` (at most schema.HANG_MAX_MS), as a loop stuck in a
        bug would: no input, no outputs, no watchdog feed. A bench proves with it that the watchdog
        resets a stuck board and that the host sees the new boot id."""
        if ms < 0 or ms > schema.HANG_MAX_MS:
            ms = schema.HANG_MAX_MS
        start = self.ticks_us()
        while ticks_diff(self.ticks_us(), start) < ms * 1000:
            pass

    def _radar_frame_next(self):
        """Is the input waiting behind this frame a radar frame? Reads the next frame's first
        bytes in behind it (wire LOOKAHEAD: the decoder keeps them); False when there is no input
        or they are not all here yet. A ping or a driver frame waiting is not a newer radar frame:
        dropping for any waiting byte (as before) lost a run's last radar frame to the ping that
        followed it. Limit: the I/O backends look for the maintenance request only at a frame's
        start, so one read ahead here would be taken for garbage; takeover flash sends it after a
        HELLO probe, never behind a radar flood."""
        dec = self.dec
        io = self.io
        want = dec.frame_len + LOOKAHEAD - dec.fill
        while want > 0 and io.pending() > 0:
            got = io.read_into(dec.buf, dec.fill, want, 0)
            if got <= 0:
                break
            dec.fill += got
            want -= got
        return dec.next_type() == _T_RADAR

    def _decide(self, seq, t_ms, rx_ticks, origin=_ORIGIN_FRAME):
        """Driver-monitor requests join the collision one; the arbiter picks what is shown."""
        arbiter = self.arbiter
        self.dm.request(arbiter, t_ms, self.settings.deescalate_hold_ms)
        # decide() would return False at once unless a level in force changed: the call is skipped.
        if (arbiter.changed and arbiter.decide()) or self.alert_pending:
            self.io.show(arbiter.row)
            self._send_alert(seq, t_ms, self.threat.ttc_ms, rx_ticks, origin)

    def check_inputs(self):
        """Between frames, on the board's clock: radar frames that stopped coming raise FAULT; an
        ALERT that could not be written goes out again."""
        if self.radar_armed and not self.radar_fault:
            now = self.ticks_us()
            silent_us = ticks_diff(now, self.radar_rx_ticks)
            settings = self.settings
            window_us = settings.radar_stale_n * settings.radar_period_ms * 1000
            if silent_us > window_us and self.io.pending() > 0:
                # Input already waiting: the loop, not the radar, was late (a long collection; on
                # the simulated board, a host that kept the VM off the CPU). Read a few frames
                # first; the radar is stale only if none of them is a radar frame. Bounded, so a
                # stream of other input cannot put the FAULT off.
                for _ in range(_DRAIN_READS):
                    self.poll(0)
                    if ticks_diff(self.radar_rx_ticks, now) >= 0 or self.io.pending() <= 0:
                        break
                now = self.ticks_us()
                silent_us = ticks_diff(now, self.radar_rx_ticks)
            if silent_us > window_us:
                self.radar_fault = True
                t_ms = (self.radar_t_ms + silent_us // 1000) & _T_MASK  # frame time, as the board reckons it
                self.arbiter.request(alerts.CAUSE_FAULT, alerts.TAKEOVER, t_ms, settings.deescalate_hold_ms)
                self._decide(self.radar_seq, t_ms, now, schema.ORIGIN_CLOCK)
                return
        elif self.radar_fault:
            # The FAULT has been stated; with no input of any kind since for host_lost_s, the host
            # is gone (a run that ended without END_DRIVE, a cable pulled), not the radar alone
            # (driver frames keep coming then): the drive ends, and only a slow amber flash stays.
            now = self.ticks_us()
            silent_us = ticks_diff(now, self.rx_any_ticks)
            if silent_us > self.settings.host_lost_ms * 1000:
                t_ms = (self.radar_t_ms + ticks_diff(now, self.radar_rx_ticks) // 1000) & _T_MASK
                self.end_drive(self.radar_seq, t_ms, now, schema.ORIGIN_CLOCK, alerts.NOTICE)
                return
        if self.alert_pending:
            self._decide(self.radar_seq, self.radar_t_ms, self.ticks_us(), schema.ORIGIN_CLOCK)

    # -- output ------------------------------------------------------------------------------
    def _write(self, buf, count):
        """Send buf[0:count] unless the host is not reading; count what is dropped."""
        if self.io.write(buf, count):
            return True
        self.tx_dropped += 1
        return False

    def _send_alert(self, seq, t_ms, ttc_ms, rx_ticks, origin=_ORIGIN_FRAME):
        enc = self.enc
        arbiter = self.arbiter
        tx_seq = enc.seq  # enc.next_seq(), inlined: this waits on the frame that raises an ALERT
        enc.seq = (tx_seq + 1) & 0xFFFF
        # Fields in schema order (T_ALERT); tests/test_alert_path.py decodes every one.
        pack_into(self._alert_fmt, enc.buf, _HDR, _VERSION, _T_ALERT, tx_seq,
                  seq, arbiter.level, arbiter.cause, ttc_ms, ticks_diff(self.ticks_us(), rx_ticks), t_ms,
                  arbiter.outputs, origin, arbiter.level2, arbiter.cause2, rx_ticks)
        self.alert_pending = not self._write(enc.buf, enc.finish(self._alert_len))

    def _send_status(self, seq, rx_ticks):
        dec = self.dec
        enc = self.enc
        due = self._heap_due - 1
        if due < 0:  # a fresh measurement (schema.HEAP_SAMPLE_EVERY: it walks the whole heap)
            self._heap_bytes = mem_alloc()
            due = schema.HEAP_SAMPLE_EVERY - 1
        self._heap_due = due
        # Fields in schema order (T_STATUS); tests/test_alert_path.py decodes every one.
        pack_into(self._status_fmt, enc.buf, _HDR, _VERSION, _T_STATUS, enc.next_seq(),
                  seq, self.arbiter.level, self.arbiter.cause, self.last_proc_us, dec.processed,
                  dec.dropped, dec.rejected, dec.bad_crc, dec.skipped_bytes, self.threat.ttc_ms, rx_ticks,
                  self.dm.status, self.dm.terminal, self.settings_faults, self.tx_dropped, self.faults, dec.bad_version,
                  dec.bad_type, dec.bad_length, dec.lost, self._heap_bytes, self._heap_free, self.locked_frames)
        self._write(enc.buf, enc.finish(self._status_len))

    def _send_pong(self, token, rx_ticks):
        enc = self.enc
        off = enc.offsets(schema.T_PONG)
        end = enc.begin(schema.T_PONG)
        enc.put_i32(off["token"][0], token)
        enc.put_i32(off["rx_ticks_us"][0], rx_ticks)
        enc.put_i32(off["tx_ticks_us"][0], self.ticks_us())
        self._write(enc.buf, enc.finish(end))

    def _send_config(self, key, status):
        enc = self.enc
        off = enc.offsets(schema.T_CONFIG)
        end = enc.begin(schema.T_CONFIG)
        enc.put_u8(off["key"][0], key)
        if key < len(SPEC):
            value, lo, hi = self.settings.bounds(key)
            enc.put_i32(off["value"][0], value)
            enc.put_i32(off["lo"][0], lo)
            enc.put_i32(off["hi"][0], hi)
        else:
            status = schema.CONFIG_UNKNOWN_KEY
        enc.put_u8(off["status"][0], status)
        self._write(enc.buf, enc.finish(end))

    def send_hello(self):
        enc = self.enc
        off = enc.offsets(schema.T_HELLO)
        end = enc.begin(schema.T_HELLO)
        enc.put_str(off["fw_version"][0], VERSION, 16)
        enc.put_str(off["board"][0], self.board_name, 16)
        enc.put_u8(off["proto"][0], schema.VERSION)
        enc.put_u8(off["max_targets"][0], schema.MAX_TARGETS)
        features = schema.FEATURE_PATH_HEIGHT | schema.FEATURE_END_DRIVE
        if self.settings_file:
            features |= schema.FEATURE_SETTINGS_SAVED
        enc.put_u16(off["features"][0], features)
        enc.put_i32(off["settings_hash"][0], self.settings.digest())
        enc.put_i32(off["boot_id"][0], self.boot_id)
        self._write(enc.buf, enc.finish(end))


def run(io, board_name):
    """Serve forever. A fault inside the loop is counted and logged; the loop keeps alerting."""
    fw = Firmware(io, board_name)
    fw.send_hello()
    while True:
        try:
            fw.poll()
            fw.check_inputs()
            io.service()
        except Exception as exc:  # noqa: BLE001 - the loop must outlive any bug
            fw.unlock_heap()  # first: an allocation under LOCK_HEAP lands here, and logging allocates
            fw.faults += 1
            fw.dec.fill = 0
            fw.dec.frame_len = 0
            io.log("fault %d: %r" % (fw.faults, exc))


def main(board):
    """Entry point from main.py: pick the I/O backend the board file names."""
    if board.BACKEND == "sim":
        from tkfw.hw_sim import IO
    elif board.BACKEND == "rp2":
        from tkfw.hw_rp2 import IO
    else:
        raise ValueError("board %s: unknown backend %r" % (board.NAME, board.BACKEND))
    run(IO(board), board.NAME)

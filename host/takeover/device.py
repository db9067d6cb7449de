"""A connected board: port URL -> serial link -> framed, timestamped messages -> handshake.

`port` is any port string takeover.ports resolves: "sim" (a simulated board started for the lifetime
of the Device), "pico-emu[:NAME]" (an emulated Pico, likewise), a device path such as /dev/ttyACM0,
or anything serial.serial_for_url accepts (rfc2217://host:port, socket://...).
A reader thread stamps every received frame with time.perf_counter_ns() as soon as its last byte
is read, so latency is measured at the host's serial read, not when a caller gets round to it.

Where no thread can run (Pyodide, in a web page), `Device(threaded=False)` reads the link only
while a caller waits in recv(): frames are then stamped when the caller gets round to them, so its
latency figures include the caller's own delays. `link=` hands a Device a link that is already
open instead of a port to resolve: anything with pyserial's read(n), write(data), in_waiting and
close() (the page's byte rings, for one).
"""

from __future__ import annotations

import queue
import threading
import time
from dataclasses import dataclass

try:
    import serial

    _LINK_ERRORS: tuple[type[BaseException], ...] = (serial.SerialException, OSError)
    _WRITE_TIMEOUT: type[BaseException] = serial.SerialTimeoutException
except ImportError:  # no pyserial (Pyodide): only a link handed in with link= is used
    _LINK_ERRORS = (OSError,)

    class _WRITE_TIMEOUT(Exception):  # noqa: N801  (never raised: stands in for pyserial's)
        pass

import tkfw
from tkfw import schema
from tkfw.settings import SPEC, Settings, to_device

from takeover import codec, ports
from takeover.errors import LinkError
from takeover.nodeboard import NodeBoard


@dataclass
class Hello:
    fw_version: str
    board: str
    proto: int
    max_targets: int
    settings_hash: int
    boot_id: int
    features: int = 0  # tkfw.schema FEATURE_* bits: protocol revisions the firmware takes

    @classmethod
    def of(cls, fields: dict) -> "Hello":
        """From a decoded HELLO's fields."""
        return cls(fields["fw_version"], fields["board"], fields["proto"], fields["max_targets"],
                   fields["settings_hash"], fields["boot_id"], fields.get("features", 0))

    @property
    def path_and_height(self) -> bool:
        """Whether the firmware takes the radar's yaw rate and target heights (revision 2)."""
        return bool(self.features & schema.FEATURE_PATH_HEIGHT)

    @property
    def settings_saved(self) -> bool:
        """Whether a setting the board accepts is saved on its file system (survives a reset)."""
        return bool(self.features & schema.FEATURE_SETTINGS_SAVED)

    def mismatches(self, settings: bool = True) -> list[str]:
        """What differs from this host's copy of the firmware (empty when they match); without
        `settings`, the firmware alone (a board that saves settings may run its user's)."""
        out = []
        if self.fw_version != tkfw.VERSION:
            out.append(f"firmware {self.fw_version} on the board, {tkfw.VERSION} in this checkout")
        expected = Settings().digest()
        if settings and self.settings_hash != expected:
            out.append(f"settings hash {self.settings_hash:#x} on the board, {expected:#x} here")
        return out


class Device:
    def __init__(self, port: str = "sim", board: str = "sim", baudrate: int = 115200, write_limit_s: float = 2.0,
                 link=None, threaded: bool = True):
        self.port = port
        self._link = link  # an open link handed in (see the module's docstring), used instead of `port`
        self.threaded = threaded
        self.board = board
        self.baudrate = baudrate
        # How long a write may wait for the board to take bytes before the board counts as stuck.
        # An emulated chip runs at a fraction of real speed, less on a busy machine: it may need more.
        self.write_limit_s = write_limit_s
        self.sim: NodeBoard | None = None  # the board this Device started (simulated or emulated), if any
        self._opened: ports.Opened | None = None  # what ports.start gave: stopped or released on close
        self.hello: Hello | None = None
        self.sent = 0  # frames sent since the session started (INFO_REQ included)
        self._seq = 0
        self._ser = None  # the link: a pyserial port, or what link= handed in
        self._rx: queue.Queue = queue.Queue()
        self._stop = threading.Event()
        self._reader: threading.Thread | None = None
        self._write_lock = threading.Lock()
        self.link_error: str | None = None
        self._raw_tail = b""  # the last bytes read, frames or not: a REPL's prompt is told by them

    # -- life cycle ------------------------------------------------------------------------
    def open(self) -> "Device":
        if self._link is not None:
            self._ser = self._link
        else:
            opened = ports.start(self.port, self.board)
            self._opened = opened
            self.sim = opened.board
            options = {"baudrate": self.baudrate, "timeout": 0.05, "write_timeout": self.write_limit_s}
            try:
                self._ser = ports.open_serial(opened.path, **options)  # exclusively: one command per board
            except LinkError:
                self.close()
                raise
        self._frames = codec.FrameReader()
        if self.threaded:
            self._reader = threading.Thread(target=self._read_loop, name="takeover-rx", daemon=True)
            self._reader.start()
        return self

    def close(self) -> None:
        # A board that stays connected (a real one, one behind a shared port, `takeover sim`'s)
        # would otherwise sit at the stale-radar FAULT after the last frame, beeping; a board this
        # command started is about to stop, so it is spared the exchange.
        if self.sim is None and self.hello is not None and self._ser is not None and self.link_error is None:
            self.end_drive()
        self._stop.set()
        if self._reader is not None:
            self._reader.join(timeout=1)
        if self._ser is not None:
            try:
                self._ser.close()
            except _LINK_ERRORS:
                pass
        if self._opened is not None:  # after the drive has ended: a place's next holder finds the board quiet
            self._opened.close()
            self._opened = None

    def __enter__(self) -> "Device":
        return self.open()

    def __exit__(self, *exc) -> None:
        self.close()

    # -- traffic ---------------------------------------------------------------------------
    def _read_loop(self) -> None:
        while not self._stop.is_set() and self._pump():
            pass

    def _pump(self, block: bool = True) -> bool:
        """Read what the link has (with block, waiting up to its read timeout for a first byte) and
        queue the messages in it, stamped now; False once the link has gone (said once, to the
        next recv)."""
        ser = self._ser
        try:
            waiting = ser.in_waiting
            if not waiting and not block:
                return True
            data = ser.read(waiting or 1)
        except (*_LINK_ERRORS, TypeError) as exc:
            if not self._stop.is_set() and self.link_error is None:
                self.link_error = f"port {self.port} went away: {exc}"
                self._rx.put(None)
            return False
        if data:
            self._raw_tail = (self._raw_tail + data)[-256:]
            t_ns = time.perf_counter_ns()
            for payload in self._frames.feed(data):
                try:
                    msg = codec.decode_payload(payload)
                except ValueError:
                    continue
                msg.t_ns = t_ns
                self._rx.put(msg)
        return True

    def send(self, msg_type: str, targets: list[dict] | None = None, mangle=None,
             **fields) -> tuple[int, int]:
        """Send one frame; returns (seq, perf_counter_ns just before the write).

        mangle(bytes) -> bytes, if given, changes the frame on its way (fault injection)."""
        with self._write_lock:
            seq = self._seq
            data = codec.encode(msg_type, seq, targets=targets, **fields)
            if mangle is not None:
                data = mangle(data)
            t_ns = time.perf_counter_ns()
            try:
                self._ser.write(data)
            except _WRITE_TIMEOUT:
                raise LinkError(f"port {self.port} took no bytes for {self.write_limit_s:g} s: the board stopped reading "
                                "(stuck, or fed faster than it can read)") from None
            except _LINK_ERRORS as exc:
                raise LinkError(f"port {self.port} went away while writing: {exc}") from None
            self._seq = (seq + 1) & 0xFFFF
            self.sent += 1
        return seq, t_ns

    def lose(self) -> int:
        """A frame lost on the way (fault injection): its seq is used up and it counts as sent,
        so the device must account for it as rejected (missing from the seq series)."""
        with self._write_lock:
            seq = self._seq
            self._seq = (seq + 1) & 0xFFFF
            self.sent += 1
        return seq

    def unplug(self) -> None:
        """Pull the cable (fault injection): a simulated board's process ends; a real port is
        closed. The reader thread then reports the link gone."""
        if self.sim is not None:
            self.sim.stop()
        elif self._ser is not None:
            self._ser.close()

    def recv(self, timeout: float | None = 0.0) -> codec.Message | None:
        """Next message from the device, or None when none arrives within `timeout` seconds."""
        if self._reader is None and self._ser is not None and self.link_error is None:
            # Without a reader thread the link is read here, while the caller waits.
            if not timeout:
                self._pump(block=False)
            else:
                deadline = time.monotonic() + timeout
                while self._rx.empty() and self._pump() and time.monotonic() < deadline:
                    pass
            timeout = 0.0
        try:
            msg = self._rx.get(timeout=timeout) if timeout else self._rx.get_nowait()
        except queue.Empty:
            return None
        if msg is None:
            raise LinkError(self.link_error or f"port {self.port} closed")
        return msg

    def wait_for(self, name: str, timeout: float, match=None, sink=None) -> codec.Message | None:
        """The next `name` message (that satisfies match); others go to sink(msg) if given."""
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            msg = self.recv(timeout=left)
            if msg is None:
                return None
            if msg.name == name and (match is None or match(msg)):
                return msg
            if sink is not None:
                sink(msg)

    def _at_repl(self) -> bool:
        """Does a MicroPython REPL answer (a prompt after Enter)? Only asked once no HELLO came:
        to the takeover firmware these bytes are garbage its decoder skips."""
        self._raw_tail = b""
        try:
            with self._write_lock:
                self._ser.write(b"\r\n")
        except _LINK_ERRORS:
            return False
        deadline = time.monotonic() + 0.5
        while time.monotonic() < deadline:
            if b">>> " in self._raw_tail or b"raw REPL" in self._raw_tail:
                return True
            if self._reader is None:
                self._pump()  # no reader thread: read here
            else:
                time.sleep(0.02)
        return False

    def settings_differing(self, timeout: float = 2.0) -> list[str]:
        """The settings whose value on the board is not this checkout's default, each as
        "NAME VALUE UNIT on the board, DEFAULT here" (what a settings-hash mismatch is made of)."""
        here = Settings()
        out = []
        for key, (name, default, unit, *_rest) in enumerate(SPEC):
            self.send("config_get", key=key)
            reply = self.wait_for("config", timeout, match=lambda m, k=key: m["key"] == k)
            if reply is None:
                out.append(f"{name}: no answer from the board")
                continue
            if reply["value"] != here.bounds(key)[0]:
                scale = to_device(name, 1.0)
                out.append(f"{name} {reply['value'] / scale:g} {unit} on the board, {default:g} {unit} here")
        return out

    def end_drive(self, timeout: float = 1.0) -> bool:
        """Tell the board the drive is over: it forgets it and turns every output off (END_DRIVE).
        True once its ALERT says so; False from a firmware without the message (its HELLO does not
        name FEATURE_END_DRIVE: it falls silent only after host_lost_s) or a board that did not
        answer. Never raises: it is called on the way out, a Ctrl-C or an error included."""
        if self.hello is None or not self.hello.features & schema.FEATURE_END_DRIVE:
            return False
        try:
            seq, _ = self.send("end_drive")
            return self.wait_for("alert", timeout, match=lambda m: m["frame_seq"] == seq) is not None
        except (LinkError, *_LINK_ERRORS):
            return False

    # -- session ---------------------------------------------------------------------------
    def start_session(self, timeout: float = 5.0) -> Hello:
        """Ask for HELLO (which also resets the device's counters and expected seq)."""
        while self.recv() is not None:  # stale traffic, e.g. the boot HELLO
            pass
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self._seq = 0
            self.sent = 0
            self.send("info_req")
            msg = self.wait_for("hello", timeout=min(1.0, max(deadline - time.monotonic(), 0.05)))
            if msg is not None:
                break
        else:
            if self._at_repl():
                raise LinkError(f"the board on {self.port} is at the MicroPython REPL, not running the takeover "
                                f"firmware: `takeover flash --port {self.port}` installs it; if it is installed, "
                                f"`takeover repl --port {self.port} --exit` starts it")
            where = f" ({self.sim.what}: {self.sim.stderr_tail()})" if self.sim and self.sim.stderr_tail() else ""
            raise LinkError(f"no HELLO from {self.port} within {timeout:.0f} s: is the takeover firmware "
                            f"running on it?{where}")
        if msg["proto"] != schema.VERSION:
            raise LinkError(f"device speaks protocol v{msg['proto']}, this host v{schema.VERSION}")
        self.hello = Hello.of(msg.fields)
        return self.hello

    def status(self, timeout: float = 2.0, sink=None, busy_limit: float = 0.0) -> codec.Message | None:
        """Ask for the device's counters now. busy_limit: a device still answering earlier frames
        (a backlog the link held, as a slow board's can be) is waited for while its other replies
        keep coming, `timeout` after the last of them, up to busy_limit seconds in all."""
        seq, _ = self.send("status_req")
        end = time.monotonic() + max(timeout, busy_limit)
        while True:
            others = []

            def collect(msg):
                others.append(msg)
                if sink is not None:
                    sink(msg)

            left = end - time.monotonic()
            msg = self.wait_for("status", min(timeout, left), match=lambda m: m["frame_seq"] == seq, sink=collect)
            if msg is not None or not others or left <= timeout:
                return msg

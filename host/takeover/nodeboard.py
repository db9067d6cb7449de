"""A board run by a Node.js program behind a pseudo-terminal: what the simulated board and the
emulated Pico share.

The host opens a pty, puts it in raw mode and hands the master end to the Node program, which
serves the board's serial port on it; anything that opens `port` with pyserial talks to the board
exactly as over USB. The program reports what happens on the board as JSON lines on its stdout
(events, kept in `events`) and its diagnostics on stderr (the last lines kept for error messages).
It takes commands as JSON lines on its stdin, if it reads any.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import threading
import time
import tty

from takeover.errors import SetupError


def node_executable() -> str:
    node = shutil.which("node")
    if node is None:
        raise SetupError("Node.js 20 not found on PATH: the simulated and emulated boards run on Node")
    return node


class NodeBoard:
    """One board for the lifetime of the object (use as a context manager). Subclasses give
    `command()` (the Node program and its arguments, the pty's master fd being `self._master`)
    and `what` (a name for messages)."""

    what = "board"
    boot_event = "boot"  # the event that says the board is up

    def __init__(self):
        self.port: str | None = None
        self.events: list[dict] = []
        self.stderr_lines: list[str] = []
        self._proc: subprocess.Popen | None = None
        self._master = -1
        self._slave = -1
        self._lock = threading.Lock()
        self._booted = threading.Event()

    def command(self) -> list[str]:
        raise NotImplementedError

    def start(self, boot_timeout: float = 20.0) -> str:
        with self._lock:  # a restarted board: what the last process reported is history
            self.events.clear()
            self._booted.clear()
        self._master, self._slave = os.openpty()
        tty.setraw(self._slave)  # binary-safe: no echo, no CR/LF mapping, no signals
        self.port = os.ttyname(self._slave)
        try:
            cmd = self.command()
        except BaseException:
            self.stop()
            raise
        # The slave stays open here too: without it the master reads EIO whenever no client has
        # the port open (between pyserial sessions).
        # Until start() returns, nobody else can stop the board: an interrupt (Ctrl-C, or SIGTERM
        # and SIGHUP, which takeover.cli turns into one) while it boots must not leave the Node
        # process (a session of its own, so the terminal's signals miss it) or its files behind.
        try:
            with _signals_held():  # an interrupt inside Popen, after the fork, would lose the child
                self._proc = subprocess.Popen(
                    cmd, pass_fds=(self._master,), stdin=subprocess.PIPE,
                    stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True,
                )
            # The streams are handed over, not read from self._proc: a stop() that comes first
            # (an interrupt right now) clears self._proc before the threads look.
            threading.Thread(target=self._read_events, args=(self._proc.stdout,), daemon=True).start()
            threading.Thread(target=self._read_stderr, args=(self._proc.stderr,), daemon=True).start()
            booted = self._booted.wait(boot_timeout)
        except BaseException:
            self.stop()
            raise
        if not booted:
            detail = self.stderr_tail() or "no output"
            self.stop()
            raise SetupError(f"{self.what} did not boot within {boot_timeout:.0f} s: {detail}")
        return self.port

    def _read_events(self, stream) -> None:
        for raw in _lines(stream):
            try:
                event = json.loads(raw)
            except ValueError:
                continue
            with self._lock:
                self.events.append(event)
            if event.get("ev") == self.boot_event:
                self._booted.set()

    def _read_stderr(self, stream) -> None:
        for raw in _lines(stream):
            with self._lock:
                self.stderr_lines.append(raw.decode(errors="replace").rstrip())

    def stderr_tail(self, lines: int = 5) -> str:
        with self._lock:
            return " | ".join(self.stderr_lines[-lines:])

    def events_of(self, kind: str) -> list[dict]:
        with self._lock:
            return [e for e in self.events if e.get("ev") == kind]

    def wait_events(self, kind: str, count: int, timeout: float) -> list[dict]:
        """Events of one kind once at least `count` are there, or what there is at timeout."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = self.events_of(kind)
            if len(found) >= count:
                return found
            time.sleep(0.01)
        return self.events_of(kind)

    def send_command(self, **command) -> None:
        """One command to the Node program (JSON line on its stdin)."""
        if self._proc is None or self._proc.stdin is None:
            raise SetupError(f"{self.what} is not running")
        self._proc.stdin.write((json.dumps(command) + "\n").encode())
        self._proc.stdin.flush()

    def alive(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def pin(self, cpus: set[int]) -> bool:
        """Run every thread of the board on `cpus` only, as a real board has a CPU of its own.
        False where the OS cannot (only Linux has sched_setaffinity)."""
        if self._proc is None:
            return False
        return pin_threads(self._proc.pid, cpus)

    def stop(self) -> None:
        proc, self._proc = self._proc, None
        if proc is not None and proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        for fd in (self._master, self._slave):
            if fd >= 0:
                try:
                    os.close(fd)
                except OSError:
                    pass
        self._master = self._slave = -1

    def __enter__(self):
        self.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop()


@contextlib.contextmanager
def _signals_held():
    """SIGINT, SIGTERM and SIGHUP wait until the block ends, then act as they would have.

    subprocess.Popen forks, execs and then waits for the exec's result; a signal whose handler
    raises (Ctrl-C; takeover.cli turns SIGTERM and SIGHUP into the same) in that wait leaves a
    running child that no Popen object knows, so nothing stops it. Held here, the signal comes
    once Popen has returned and the board can stop its process. Only the main thread can change
    handlers, and only it receives signals: elsewhere there is nothing to hold."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    caught: list[int] = []
    previous = {}
    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        handler = signal.getsignal(signum)
        if handler is not None:  # None: set outside Python, and could not be put back
            previous[signum] = handler
            signal.signal(signum, lambda n, _f: caught.append(n))
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
        if caught:
            signal.raise_signal(caught[0])


def _lines(stream):
    """The lines of a child's pipe until it ends, or until stop() closes it under the reader."""
    try:
        yield from stream
    except (ValueError, OSError):  # closed while reading: the board was stopped
        return


def pin_threads(pid: int, cpus: set[int]) -> bool:
    """Every thread of process `pid` onto `cpus` (threads started later inherit it from their
    creator). False where the OS cannot pin (only Linux has sched_setaffinity) or the process is gone."""
    if not hasattr(os, "sched_setaffinity"):
        return False
    try:
        tids = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return False
    for tid in tids:
        try:
            os.sched_setaffinity(int(tid), cpus)
        except ProcessLookupError:
            continue  # a thread that ended since the listing
        except (OSError, ValueError):
            return False
    return True

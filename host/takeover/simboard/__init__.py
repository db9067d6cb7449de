"""A simulated Pico you open like /dev/ttyACM0.

SimBoard opens a pseudo-terminal, puts it in raw mode, and starts runner.mjs under Node with the
master end; the firmware in firmware/ runs unmodified on the official MicroPython WebAssembly VM
(npm package pinned in package-lock.json). Anything that opens `SimBoard.port` with pyserial talks
to the firmware exactly as it would over USB. The board's outputs arrive as events (see
docs/protocol.md, "Sim board events").

The board has a flash: a temporary host folder (`flash_dir`), mounted in the VM as "/". It starts
with the firmware and the board file (as board.py) already on it, like a flashed Pico, or empty
(`blank=True`), like a Pico with only MicroPython installed. Without main.py, or when main.py
ends, the board serves a MicroPython REPL on the same port, which mpremote and `takeover flash`
can drive; what they copy lands in `flash_dir` and a reset runs it.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
import threading
import time
import tty
from pathlib import Path

from takeover.errors import SetupError

REPO = Path(__file__).resolve().parents[3]
FIRMWARE_DIR = REPO / "firmware"
BOARDS_DIR = REPO / "boards"
RUNNER = Path(__file__).with_name("runner.mjs")
VM_PACKAGE = REPO / "node_modules" / "@micropython" / "micropython-webassembly-pyscript"


def node_command() -> list[str]:
    """The Node.js executable and the runner, or a SetupError that says what to install."""
    node = shutil.which("node")
    if node is None:
        raise SetupError("Node.js 20 not found on PATH: the simulated board runs MicroPython on Node")
    if not VM_PACKAGE.is_dir():
        raise SetupError(f"MicroPython VM package missing in {REPO / 'node_modules'}: run `make setup` (npm ci)")
    if not FIRMWARE_DIR.is_dir():
        raise SetupError(f"firmware not found at {FIRMWARE_DIR}: the host must be installed from a checkout")
    return [node, str(RUNNER)]


def run_script(script: Path, puts: dict[Path, str] | None = None, timeout: float = 300) -> str:
    """Run a MicroPython script on the VM with the firmware importable; return its stdout."""
    cmd = node_command() + ["--firmware", str(FIRMWARE_DIR), "--script", str(script)]
    for src, dst in (puts or {}).items():
        cmd += ["--put", f"{src}={dst}"]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    if proc.returncode != 0:
        raise RuntimeError(f"MicroPython script {script.name} failed: {proc.stderr.strip()[-2000:]}")
    return proc.stdout


class SimBoard:
    """One simulated board for the lifetime of the object (use as a context manager)."""

    def __init__(self, board: str = "sim", firmware: Path = FIRMWARE_DIR, blank: bool = False):
        board_file = BOARDS_DIR / f"{board}.py"
        if not board_file.is_file():
            raise SetupError(f"unknown board {board!r}: no {board_file}")
        self.board_file = board_file
        self.firmware = firmware
        self.blank = blank
        self.flash_dir: Path | None = None
        self.port: str | None = None
        self.events: list[dict] = []
        self.stderr_lines: list[str] = []
        self._proc: subprocess.Popen | None = None
        self._master = -1
        self._slave = -1
        self._lock = threading.Lock()
        self._booted = threading.Event()

    def start(self, boot_timeout: float = 20.0) -> str:
        cmd = node_command()
        self._master, self._slave = os.openpty()
        tty.setraw(self._slave)  # binary-safe: no echo, no CR/LF mapping, no signals
        self.port = os.ttyname(self._slave)
        self.flash_dir = Path(tempfile.mkdtemp(prefix="takeover-sim-flash-"))
        if not self.blank:
            _install(self.firmware, self.flash_dir)
            shutil.copyfile(self.board_file, self.flash_dir / "board.py")
        cmd += ["--fd", str(self._master), "--flash", str(self.flash_dir)]
        # The slave stays open here too: without it the master reads EIO whenever no client has
        # the port open (between pyserial sessions).
        self._proc = subprocess.Popen(
            cmd, pass_fds=(self._master,), stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True,
        )
        threading.Thread(target=self._read_events, daemon=True).start()
        threading.Thread(target=self._read_stderr, daemon=True).start()
        if not self._booted.wait(boot_timeout):
            detail = self.stderr_tail() or "no output"
            self.stop()
            raise SetupError(f"simulated board did not boot within {boot_timeout:.0f} s: {detail}")
        return self.port

    def _read_events(self) -> None:
        assert self._proc is not None and self._proc.stdout is not None
        for raw in self._proc.stdout:
            try:
                event = json.loads(raw)
            except ValueError:
                continue
            with self._lock:
                self.events.append(event)
            if event.get("ev") == "boot":
                self._booted.set()

    def _read_stderr(self) -> None:
        assert self._proc is not None and self._proc.stderr is not None
        for raw in self._proc.stderr:
            with self._lock:
                self.stderr_lines.append(raw.decode(errors="replace").rstrip())

    def stderr_tail(self, lines: int = 5) -> str:
        with self._lock:
            return " | ".join(self.stderr_lines[-lines:])

    def events_of(self, kind: str) -> list[dict]:
        with self._lock:
            return [e for e in self.events if e.get("ev") == kind]

    def alive(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def pin(self, cpus: set[int]) -> bool:
        """Run every thread of the board (the VM and its pty workers) on `cpus` only, as a real
        board has a CPU of its own. False where the OS cannot (only Linux has sched_setaffinity)."""
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
        if self.flash_dir is not None:
            shutil.rmtree(self.flash_dir, ignore_errors=True)
            self.flash_dir = None

    def __enter__(self) -> "SimBoard":
        self.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    def wait_events(self, kind: str, count: int, timeout: float) -> list[dict]:
        """Events of one kind once at least `count` are there, or what there is at timeout."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = self.events_of(kind)
            if len(found) >= count:
                return found
            time.sleep(0.01)
        return self.events_of(kind)


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


def _install(firmware: Path, flash: Path) -> None:
    """The firmware's source files onto a flash folder, as a manual `mpremote cp -r` would."""
    for src in firmware.rglob("*.py"):
        rel = src.relative_to(firmware)
        if "__pycache__" in rel.parts or any(part.startswith(".") for part in rel.parts):
            continue
        dst = flash / rel
        dst.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(src, dst)

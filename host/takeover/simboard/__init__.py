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

import shutil
import subprocess
import tempfile
from pathlib import Path

from takeover.errors import SetupError
from takeover.nodeboard import NodeBoard, node_executable

REPO = Path(__file__).resolve().parents[3]
FIRMWARE_DIR = REPO / "firmware"
BOARDS_DIR = REPO / "boards"
RUNNER = Path(__file__).with_name("runner.mjs")
VM_PACKAGE = REPO / "node_modules" / "@micropython" / "micropython-webassembly-pyscript"


def node_command() -> list[str]:
    """The Node.js executable and the runner, or a SetupError that says what to install."""
    node = node_executable()
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


class SimBoard(NodeBoard):
    """One simulated board for the lifetime of the object (use as a context manager)."""

    what = "simulated board"

    def __init__(self, board: str = "sim", firmware: Path = FIRMWARE_DIR, blank: bool = False):
        super().__init__()
        board_file = BOARDS_DIR / f"{board}.py"
        if not board_file.is_file():
            raise SetupError(f"unknown board {board!r}: no {board_file}")
        self.board_file = board_file
        self.firmware = firmware
        self.blank = blank
        self.flash_dir: Path | None = None

    def command(self) -> list[str]:
        cmd = node_command()
        self.flash_dir = Path(tempfile.mkdtemp(prefix="takeover-sim-flash-"))
        if not self.blank:
            _install(self.firmware, self.flash_dir)
            shutil.copyfile(self.board_file, self.flash_dir / "board.py")
        return cmd + ["--fd", str(self._master), "--flash", str(self.flash_dir)]

    def stop(self) -> None:
        super().stop()
        if self.flash_dir is not None:
            shutil.rmtree(self.flash_dir, ignore_errors=True)
            self.flash_dir = None


def _install(firmware: Path, flash: Path) -> None:
    """The firmware's source files onto a flash folder, as a manual `mpremote cp -r` would."""
    for src in firmware.rglob("*.py"):
        rel = src.relative_to(firmware)
        if "__pycache__" in rel.parts or any(part.startswith(".") for part in rel.parts):
            continue
        dst = flash / rel
        dst.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(src, dst)

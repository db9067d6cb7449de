"""Port strings: each kind is resolved here, in a function of its own, as pyserial maps URL schemes
to handlers. A command (run, flash, bench, config, demo, sim) and the pytest plugin pass the
user's --port to `start`, and get back what pyserial opens plus the board the command started,
if any, to stop when done.

    sim                  a simulated board (the firmware on the MicroPython WebAssembly VM), started
                         for the command with the firmware already on its flash
    pico-emu[:NAME]      an emulated Pico (official MicroPython on an RP2040 emulator), started for the
                         command on its flash image NAME (default "default", in the user cache folder;
                         a path names an image file), flashed with this checkout's firmware first if
                         it does not answer with it
    labgrid:PLACE[?wait=S]
                         a board of a labgrid farm: the place is acquired through the coordinator
                         (LG_COORDINATOR), waiting up to S seconds (default 600) while someone else
                         holds it, its serial port opened over RFC 2217, and the place released when
                         the command ends, however it ends (takeover.labgrid_lease)
    anything else        a serial device (/dev/ttyACM0, COM3) or a pyserial URL (rfc2217://host:port,
                         socket://host:port), opened as it is
"""

from __future__ import annotations

import os
import sys
import time
from dataclasses import dataclass
from typing import Callable

from takeover.errors import LinkError, UsageError
from takeover.nodeboard import NodeBoard

SIM = "sim"
PICO_EMU = "pico-emu"
LABGRID = "labgrid"


@dataclass
class Opened:
    path: str  # what pyserial opens
    board: NodeBoard | None = None  # the board process this command started, if any
    lease: object | None = None  # what holds a shared board for this command (a labgrid place), if any

    def close(self) -> None:
        if self.board is not None:
            self.board.stop()
        if self.lease is not None:
            self.lease.release()


def _sim(rest: str, board: str, blank: bool, log) -> Opened:
    from takeover.simboard import SimBoard

    if rest:
        raise LinkError(f"sim:{rest}: the simulated board takes no name (each command starts its own)")
    if board and board != "sim":
        from takeover.flash import load_board

        described = load_board(board)  # an unknown name is its own one-line error
        if described.port != "webassembly":
            # The VM has no machine module: a hardware board's file would fail at its first pin.
            raise UsageError(f"--board {board} ({described.chip}) needs the chip's pins, which the simulated "
                             f"board (the MicroPython VM) does not have: leave --board out for the simulated "
                             f"board, use --port pico-emu for an emulated Pico, or --port DEVICE for a real {board}")
    sim = SimBoard(board or "sim", blank=blank)
    return Opened(sim.start(), sim)


def _pico_emu(rest: str, board: str, blank: bool, log) -> Opened:
    from takeover.picoemu import PicoEmu, image_path

    emu = PicoEmu(image_path(rest or "default"), "pico" if board in (None, "", "sim") else board)
    path = emu.start()
    try:
        if not blank:
            ensure_firmware(emu, log)
    except BaseException:
        emu.stop()
        raise
    return Opened(path, emu)


def _labgrid(rest: str, board: str, blank: bool, log) -> Opened:
    from takeover.labgrid_lease import Lease, parse

    lease = Lease(parse(rest), log)
    return Opened(lease.acquire(), lease=lease)


RESOLVERS: dict[str, Callable[[str, str, bool, Callable], Opened]] = {
    SIM: _sim, PICO_EMU: _pico_emu, LABGRID: _labgrid}


def scheme(port: str) -> str | None:
    """The scheme of a port this module resolves ("sim", "pico-emu", "labgrid"), else None: a
    device path or a pyserial URL, opened as it is."""
    name = port.split(":", 1)[0]
    return name if name in RESOLVERS and "//" not in port else None


def kind(port: str) -> str | None:
    """The scheme of a port this module starts a board for ("sim", "pico-emu"), else None."""
    name = scheme(port)
    return name if name in (SIM, PICO_EMU) else None


def start(port: str, board: str = "sim", blank: bool = False, log=None) -> Opened:
    """Resolve `port`: start the board it names, or take it as a serial device or pyserial URL.
    blank: a simulated board with an empty flash, an emulated one with its flash as it is."""
    name = scheme(port)
    if name is None:
        return Opened(port)
    rest = port.split(":", 1)[1] if ":" in port else ""
    return RESOLVERS[name](rest, board, blank, log or _stderr)


def _stderr(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def ensure_firmware(emu, log, boot_wait: float = 60.0) -> None:
    """An emulated Pico whose flash lacks this checkout's firmware is flashed with it: once per
    flash image and change (`takeover flash` copies only what changed), so the next command finds
    it there. What an image holds is known from the digest its last flash recorded beside it, and
    checked against the board's HELLO."""
    import serial

    from takeover import flash
    from takeover.device import Hello
    from takeover.picoemu import build_digest

    board = flash.load_board(emu.board.name)
    built = flash.build(board)
    emu.wait_events("usb", 1, 10.0)
    deadline = time.monotonic() + boot_wait
    hello = None
    with serial.Serial(emu.port, 115200, timeout=0.05) as ser:
        # The firmware answers an INFO_REQ once it has started (its imports take seconds on the
        # emulated chip); a board at its REPL (an empty flash, or maintenance mode) answers a
        # carriage return with its prompt. Ctrl-C is not sent: it would interrupt main.py while it
        # imports, before the firmware turns it off.
        while time.monotonic() < deadline:
            hello = flash.probe_hello(ser, 2.0)
            if hello is not None:
                break
            ser.write(b"\r")
            if flash._read_until(ser, b">>> ", 0.5).endswith(b">>> "):
                break
    if hello is None:
        why = "no takeover firmware on it"
    elif emu.flashed_digest() != build_digest(built.files):
        why = "its firmware is not this checkout's"
    else:
        problems = flash.hello_problems(Hello.of(hello), board.name)
        if not problems:
            return
        why = "; ".join(problems)
    log(f"{PICO_EMU}: {why}: flashing this checkout's firmware onto the emulated Pico ({emu.image})")
    flash.flash_on(emu.port, board, built, log=lambda text: log(f"{PICO_EMU}: {text.strip()}"))
    emu.record_flash(built.files)


# -- opening what pyserial opens -----------------------------------------------------------------
def open_serial(path: str, **options):
    """pyserial's port for `path`, opened exclusively where the OS can lock it (a device path on
    POSIX: flock, released when the process ends however it ends), so a second command on the
    same board is refused instead of both reading half the replies. A busy port is one line that
    names the program holding it."""
    import serial

    if "://" not in path:
        options["exclusive"] = True
    if path.startswith("rfc2217://"):
        options.pop("write_timeout", None)  # pyserial's RFC 2217 client refuses one (NotImplementedError)
    try:
        return serial.serial_for_url(path, **options)
    except (serial.SerialException, OSError, ValueError) as exc:
        text = str(exc)
        if "exclusively lock" in text or "Device or resource busy" in text or "Access is denied" in text:
            raise LinkError(f"port {path} is busy ({holder(path)}): close that program, or give this "
                            "command another board") from None
        hint = " (on Linux: sudo usermod -aG dialout $USER, then log in again)" if "ermission denied" in text else ""
        raise LinkError(f"cannot open port {path}: {text}{hint} (`takeover ports` lists the boards attached)") from None


def holder(path: str) -> str:
    """Who holds the lock on the port at `path`: "used by PID N: its command line", from Linux's
    /proc/locks; "another program has it open" where that cannot be told."""
    try:
        st = os.stat(path)
        with open("/proc/locks") as f:
            locks = f.read().splitlines()
    except OSError:
        return "another program has it open"
    want = (os.major(st.st_dev), os.minor(st.st_dev), st.st_ino)
    for line in locks:
        parts = line.split()
        # "1: FLOCK  ADVISORY  WRITE 1234 00:19:5 0 EOF" (a blocked waiter's line has "->" first)
        if len(parts) < 6 or parts[1] == "->" or parts[1] != "FLOCK":
            continue
        try:
            major, minor, inode = parts[5].split(":")
            found = (int(major, 16), int(minor, 16), int(inode))
            pid = int(parts[4])
        except ValueError:
            continue
        if found == want and pid != os.getpid():
            try:
                with open(f"/proc/{pid}/cmdline", "rb") as f:
                    cmd = f.read().replace(b"\0", b" ").decode(errors="replace").strip()
            except OSError:
                cmd = ""
            return f"used by PID {pid}" + (f": {_short(cmd)}" if cmd else "")
    return "another program has it open"


def _short(cmd: str) -> str:
    """A command line as a user would recognise it: `takeover run ...` rather than the interpreter's path."""
    words = cmd.split()
    for i, word in enumerate(words):
        if word.endswith("/takeover") or word == "takeover.cli":
            return " ".join(["takeover", *words[i + 1:]])[:80]
    return " ".join(words)[:80]  # one line, whatever the program's arguments hold

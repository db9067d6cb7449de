"""An emulated Raspberry Pi Pico you open like /dev/ttyACM0: official MicroPython for the Pico on
Wokwi's RP2040 emulator (npm rp2040js, pinned in package-lock.json), run by runner.mjs under Node.

What it adds to the simulated board (takeover.simboard): the firmware runs as a real Pico runs it,
flashed as .mpy files (native armv6m code for the hot modules) onto MicroPython's littlefs, with
the rp2 port's I/O backend (tkfw/hw_rp2.py), TinyUSB's CDC serial, machine.Pin / PWM / WDT, the
rp2 port's garbage-collected heap, and the chip's instruction timing at 125 MHz.

Two files are needed that this repository does not hold (find_file, in this order: the
environment variable, the user cache folder, the development tree's shared folder), each checked
against its sha256:
- MicroPython v1.27.0 for the Pico (RPI_PICO), the same UF2 a real Pico is flashed with;
- the RP2040 B1 boot ROM (the chip's mask ROM: MicroPython calls into it for flash, float and
  division routines, so it does not boot without it).

The board's flash (MicroPython's file system) is a file, the flash image, so what `takeover flash`
copies survives resets and later commands. Outputs are read from the chip's pins (GPIO levels,
PWM frequency and duty) and decoded per the board file's PINS; the hands-on input is a GPIO the
host drives (press_hands_on).
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import re
from pathlib import Path

from takeover.errors import LinkError, SetupError
from takeover.nodeboard import NodeBoard, node_executable
from takeover.simboard import REPO

RUNNER = Path(__file__).with_name("runner.mjs")
EMULATOR_PACKAGE = REPO / "node_modules" / "rp2040js"
SHARED = REPO.parent / "shared" / "pico-emulator"  # the development tree's copy (tests, dev tooling)


class MissingFile(SetupError):
    """A file the emulated Pico needs is not on this machine (tests skip with its message)."""


# name, accepted sha256 values, environment variable, what it is and where to get it
FILES = {
    "uf2": ("RPI_PICO-v1.27.0.uf2",
            ("20f2ef7edfee57caa3073c56bf24918abfa1dd72dcfff73b4d753ad6bb5754c0",),
            "TAKEOVER_PICO_UF2",
            "MicroPython v1.27.0 for the Raspberry Pi Pico (the UF2 from https://micropython.org/download/RPI_PICO/, "
            "as for a real Pico)"),
    "bootrom": ("rp2040-bootrom-B1.bin",
                ("90b31e108faedfa6bbcfcc33ba05dac61e645108cfbbdc385f8dafc71fde44ae",),
                "TAKEOVER_PICO_BOOTROM",
                "the RP2040 B1 boot ROM (16384 bytes, built from https://github.com/raspberrypi/pico-bootrom)"),
}


def cache_dir() -> Path:
    """The user cache folder: the files to download go here, and the flash images."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "takeover" / "pico-emu"


def find_file(kind: str) -> Path:
    """The UF2 or the boot ROM, looked up in order: $TAKEOVER_PICO_UF2 / $TAKEOVER_PICO_BOOTROM
    (then only there), the user cache folder, the development tree's shared folder."""
    name, hashes, env, what = FILES[kind]
    where = os.environ.get(env)
    candidates = [Path(where)] if where else [cache_dir() / name, SHARED / name]
    for path in candidates:
        if path.is_file():
            digest = hashlib.sha256(path.read_bytes()).hexdigest()
            if digest not in hashes:
                raise SetupError(f"emulated Pico: {path} is not {what}: its sha256 is {digest}, expected {hashes[0]}")
            return path
    if where:
        raise MissingFile(f"emulated Pico: {env}={where} does not exist: it should be {what}")
    raise MissingFile(f"emulated Pico: {name} not found: download {what} to {cache_dir() / name} "
                      f"(or set {env} to its path)")


def image_path(name: str) -> Path:
    """The flash image of emulated board `name` (pico-emu:NAME; a path is taken as it is)."""
    if "/" in name or name.endswith(".img"):
        return Path(name).expanduser()
    if not re.fullmatch(r"[A-Za-z0-9_.-]+", name):
        raise LinkError(f"pico-emu:{name}: a board name is letters, digits, '.', '_' and '-' (or a path to an image)")
    return cache_dir() / f"flash-{name}.img"


def build_digest(files: dict[str, bytes]) -> str:
    """One sha256 over a build's files (flash.Build.files): what was flashed onto an image."""
    h = hashlib.sha256()
    for path in sorted(files):
        h.update(path.encode() + b"\0" + hashlib.sha256(files[path]).digest())
    return h.hexdigest()


class PicoEmu(NodeBoard):
    """One emulated Pico for the lifetime of the object, on the flash image `image`."""

    what = "emulated Pico"

    def __init__(self, image: Path, board: str = "pico"):
        super().__init__()
        from takeover.flash import load_board  # flash needs this module's neighbours: imported late

        self.board = load_board(board)
        if self.board.backend != "rp2" or self.board.chip != "RP2040":
            raise SetupError(f"the emulator is an RP2040: board {board} ({self.board.chip}) cannot run on it; "
                             "use --board pico")
        self.image = Path(image)
        self.flashed = self.image.with_name(self.image.name + ".flashed")  # build_digest of its firmware
        self._lock_fd = -1

    def flashed_digest(self) -> str:
        try:
            return self.flashed.read_text().strip()
        except OSError:
            return ""

    def record_flash(self, files: dict[str, bytes]) -> None:
        """Note what `takeover flash` put on this image, so a later command can tell whether the
        image holds this checkout's firmware without asking the board."""
        self.flashed.write_text(build_digest(files) + "\n")

    def command(self) -> list[str]:
        node = node_executable()
        if not (EMULATOR_PACKAGE / "package.json").is_file():
            raise SetupError(f"rp2040js missing in {REPO / 'node_modules'}: run `make setup` (npm ci)")
        uf2, bootrom = find_file("uf2"), find_file("bootrom")
        self.image.parent.mkdir(parents=True, exist_ok=True)
        # One emulator per image: two writing one flash would corrupt its file system.
        self._lock_fd = os.open(self.image.with_suffix(self.image.suffix + ".lock"), os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(self._lock_fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(self._lock_fd)
            self._lock_fd = -1
            raise LinkError(f"the emulated Pico with flash image {self.image} is in use by another command; "
                            "stop it, or name another board (--port pico-emu:NAME)") from None
        pins = {k: v for k, v in self.board.pins.items() if isinstance(v, int)}
        return [node, str(RUNNER), "--fd", str(self._master), "--uf2", str(uf2), "--bootrom", str(bootrom),
                "--flash-image", str(self.image), "--pins", json.dumps(pins), "--name", self.board.name]

    def stop(self) -> None:
        super().stop()
        if self._lock_fd >= 0:
            os.close(self._lock_fd)
            self._lock_fd = -1

    # -- the chip's pins ---------------------------------------------------------------------
    def press_hands_on(self, pressed: bool) -> None:
        """The hands-on input: a button to GND with a pull-up, so pressed reads 0."""
        self.send_command(cmd="input", pin=self.board.pins["hands_on"], value=0 if pressed else 1)

    def reset_button(self) -> None:
        self.send_command(cmd="reset")

    def boots(self) -> list[dict]:
        return self.events_of("boot")

    def pin_timeline(self) -> list[dict]:
        """Output changes since the chip's last boot (pin and pwm events, in order); their t_us
        is the chip's clock, the firmware's ticks_us."""
        with self._lock:
            events = list(self.events)
        last_boot = max((i for i, e in enumerate(events) if e.get("ev") == "boot"), default=-1)
        return [e for e in events[last_boot + 1:] if e.get("ev") in ("pin", "pwm")]


def outputs_at(timeline: list[dict], t_us: int) -> dict:
    """What the pins show at emulated time t_us: {role: level} for GPIO outputs (0/1) and
    {role: (hz, duty_u16)} for PWM outputs, from a pin_timeline()."""
    state: dict = {}
    for e in timeline:
        if e["t_us"] > t_us:
            break
        state[e["name"]] = e["value"] if e["ev"] == "pin" else (e["hz"], e["duty_u16"])
    return state


def values_in(timeline: list[dict], name: str, start_us: int, end_us: int) -> list:
    """Every value output `name` had in [start_us, end_us): the one in force at the start, then
    each change (a level, or (hz, duty_u16) for a PWM output)."""
    first = outputs_at(timeline, start_us).get(name)
    values = [] if first is None else [first]
    for e in timeline:
        if start_us <= e["t_us"] < end_us and e["name"] == name:
            values.append(e["value"] if e["ev"] == "pin" else (e["hz"], e["duty_u16"]))
    return values


def ever_on(timeline: list[dict], start_us: int, end_us: int) -> dict:
    """Which outputs were on at some moment in [start_us, end_us): blinking outputs included."""
    names = {e["name"] for e in timeline}
    return {name: any(_is_on(v) for v in values_in(timeline, name, start_us, end_us)) for name in names}


def _is_on(value) -> bool:
    if isinstance(value, tuple):
        return value[0] > 0 and value[1] > 0
    return bool(value)

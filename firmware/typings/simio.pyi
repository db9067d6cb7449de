"""The simulated board's I/O, a JS module the runner registers in the MicroPython VM.

Exists only inside the VM (host/takeover/simboard/runner.mjs, `registerJsModule("simio", ...)`);
this stub gives the type checker its call shapes, and tests/test_firmware_types.py checks that it
names the same functions as the runner. Addresses are VM heap addresses (uctypes.addressof).
"""

def ticks_us() -> int:
    """Node's hrtime in µs, wrapped at 2**30 like MicroPython ticks."""

def read(addr: int, count: int, timeout_us: int) -> int:
    """Copy up to `count` received bytes to `addr`, waiting up to `timeout_us` if none; bytes copied."""

def write(addr: int, count: int) -> int:
    """Queue `count` bytes from `addr` for the pty: `count`, or 0 when the ring is full (never blocks)."""

def pending() -> int:
    """Bytes received and not yet read."""

def output(
    level: int,
    cause: int,
    led: int,
    led_on_ms: int,
    led_off_ms: int,
    tone_hz: int,
    tone_on_ms: int,
    tone_off_ms: int,
    haptic_on_ms: int,
    haptic_off_ms: int,
    brake: int,
    /,
) -> None:
    """The outputs in force: an "output" event on the runner's stdout."""

def alive() -> None:
    """One pass of the main loop: the runner's watchdog counts these."""

def log(text: str) -> None:
    """A "log" event on the runner's stdout (the pty carries only the protocol)."""

def reset() -> None:
    """Ask for a hard reset: the runner restarts the VM once Python has unwound (SystemExit)."""

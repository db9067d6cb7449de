"""I/O backend of the RP2040 / RP2350 boards (Pico, Pico W, Pico 2): USB CDC or UART, GPIO and PWM.

Not yet run on hardware (see README). Pins and the link come from the board file (boards/<name>.py,
written to the board as board.py at flash time; wiring in docs/boards.md).
- Link: LINK = "usb" (the default): binary frames over sys.stdin.buffer / sys.stdout.buffer, with
  micropython.kbd_intr(-1) so a 0x03 inside a frame is data, not Ctrl-C. Or LINK = {"uart": 0,
  "tx": 0, "rx": 1, "baud": 115200}: frames over machine.UART, and USB stays the REPL's.
  select.poll.ipoll waits without allocating, on either.
- Maintenance: the request of tkfw/maintenance.py (a header no frame can have, then a key) writes
  the maintenance flag and resets the board into the REPL: how `takeover flash` gets in.
- Outputs: LEDs and haptic motor on GPIO, buzzer on PWM (tone per alert row), brake request and
  minimal-risk (hazard) request on GPIO; optional `led_status` (the onboard LED: GP25, or "LED" on
  a Pico W, where it hangs off the wireless chip) blinks at 1 Hz while the loop runs.
- Never blocks on output: a write happens only when the link can take it (POLLOUT), else it is
  dropped and counted. machine.WDT resets a loop that stops.
"""

import select
import sys

import machine
import micropython
from time import ticks_diff, ticks_ms, ticks_us

from tkfw import maintenance
from tkfw.store import FILE as SETTINGS_FILE
from tkfw.wire import LOOKAHEAD

_HDR = 4
_BEAT_MS = 500  # status LED half period: 1 Hz blink while the loop runs


class IO:
    def __init__(self, board):
        self.ticks_us = ticks_us
        self.settings_file = SETTINGS_FILE  # on the board's flash file system (tkfw.store)
        # MicroPython streams: readinto(buf, n) and write(buf, off, n). The stubs type these as
        # CPython's BinaryIO, without them: hence the pyright ignores on those calls below.
        self._in = sys.stdin.buffer
        self._out = sys.stdout.buffer
        link = getattr(board, "LINK", "usb")
        if isinstance(link, dict):
            # Frames over a UART; USB stays the REPL's. timeout: wait up to 20 ms for the rest of
            # a frame once poll saw its first byte (1 KB takes 9 ms at 1 Mbaud); rxbuf holds a
            # burst of radar frames.
            uart = machine.UART(link["uart"], baudrate=link.get("baud", 115200), tx=machine.Pin(link["tx"]),
                                rx=machine.Pin(link["rx"]), rxbuf=4096, txbuf=1024, timeout=20, timeout_char=5)
            self._in = self._out = uart
        else:
            micropython.kbd_intr(-1)
        self._poll = select.poll()
        self._poll.register(self._in, select.POLLIN)
        self._out_poll = select.poll()
        self._out_poll.register(self._out, select.POLLOUT)
        self._one = bytearray(1)
        self._rx = None
        self._rx_views = None
        pins = board.PINS
        self._led_red = machine.Pin(pins["led_red"], machine.Pin.OUT)
        self._led_amber = machine.Pin(pins["led_amber"], machine.Pin.OUT)
        self._haptic = machine.Pin(pins["haptic"], machine.Pin.OUT)
        self._brake = machine.Pin(pins["brake"], machine.Pin.OUT)
        self._hazard = machine.Pin(pins["hazard"], machine.Pin.OUT)
        self._hands = machine.Pin(pins["hands_on"], machine.Pin.IN, machine.Pin.PULL_UP)
        self._buzzer = machine.PWM(machine.Pin(pins["buzzer"]))
        self._buzzer.duty_u16(0)
        status = pins.get("led_status")
        self._status = machine.Pin(status, machine.Pin.OUT) if status is not None else None
        self._beat = ticks_ms()
        self._row = None
        self._since = ticks_ms()
        # Fed every loop pass (service); a loop stuck for 2 s resets the board, and the host sees
        # the new boot id. The RP2040 watchdog allows at most 8.3 s.
        self._wdt = machine.WDT(timeout=2000)

    def read_into(self, buf, start, count, timeout_us):
        for _ in self._poll.ipoll(timeout_us // 1000):
            break
        else:
            return 0
        if buf is not self._rx:  # views made once per buffer: slicing allocates on MicroPython
            self._rx = buf
            whole = memoryview(buf)
            self._rx_views = (whole, whole[_HDR:], whole[LOOKAHEAD:])
        if start == 0 or start == _HDR or start == LOOKAHEAD:
            # The decoder asks for the header, then exactly the rest of the frame (from LOOKAHEAD
            # when the flood rule read the frame's first bytes ahead: tkfw.app); USB delivers a
            # frame within a millisecond or so once its first byte is here.
            # (_rx_views is set together with _rx, above: never None here.)
            which = 0 if start == 0 else 1 if start == _HDR else 2
            view = self._rx_views[which]  # pyright: ignore[reportOptionalSubscript]
            got = self._in.readinto(view, count) or 0  # pyright: ignore[reportAttributeAccessIssue]
            if start == 0 and got == _HDR and buf[2] == 0xFF:  # LEN >= 65280: never a frame
                self._maintenance(buf)
            return got
        # Rare: resynchronising after garbage.
        got = self._in.readinto(self._one, 1) or 0  # pyright: ignore[reportAttributeAccessIssue]
        if got:
            buf[start] = self._one[0]
            if start == _HDR - 1 and buf[2] == 0xFF:  # a header completed after garbage
                self._maintenance(buf)
        return got

    def _maintenance(self, buf):
        """A header no frame can have: with the key after it, reset into maintenance mode."""
        if not maintenance.is_header(buf):
            return
        key = bytearray(len(maintenance.KEY))  # allocates: runs once, just before a reset
        for i in range(len(key)):
            for _ in self._poll.ipoll(200):
                break
            else:
                return  # no key: not the request, and the decoder drops the header as garbage
            self._in.readinto(self._one, 1)  # pyright: ignore[reportAttributeAccessIssue]
            key[i] = self._one[0]
        if key == maintenance.KEY:
            self._buzzer.duty_u16(0)
            maintenance.enter(machine.reset)

    def write(self, buf, count):
        # USB CDC blocks up to 500 ms when the host stops reading: only write when it can take
        # bytes now (a frame larger than the free space may still be cut: the host's CRC drops it).
        for _ in self._out_poll.ipoll(0):
            # Stream write(buf, off, len): no slice, no allocation.
            self._out.write(buf, 0, count)  # pyright: ignore[reportCallIssue]
            return True
        return False

    def pending(self):
        for _ in self._poll.ipoll(0):
            return 1
        return 0

    def show(self, row):
        # service()'s output writes at pattern age 0, where every blink pattern is in its on part
        # (_phase(0, ...) is True): written here without the clock, the phases or the watchdog
        # and status LED (the loop's service() call does those), since an ALERT waits for this.
        self._row = row
        self._since = ticks_ms()
        self._brake.value(1 if row[11] == 1 else 0)  # tkfw.alerts BRAKE_AEB
        self._hazard.value(1 if row[11] == 2 else 0)  # BRAKE_MRM: minimal-risk stop, hazards on
        led = row[3]
        self._led_amber.value(1 if led == 1 else 0)
        self._led_red.value(1 if led == 2 else 0)
        tone = row[6]
        if tone:
            self._buzzer.freq(tone)
            self._buzzer.duty_u16(32768)
        else:
            self._buzzer.duty_u16(0)
        self._haptic.value(1 if row[9] else 0)

    def hands_on(self):
        return self._hands.value() == 0  # button or touch pad pulls the pin to GND

    def service(self):
        self._wdt.feed()
        if self._status is not None and ticks_diff(ticks_ms(), self._beat) >= _BEAT_MS:
            self._beat = ticks_ms()
            self._status.toggle()
        row = self._row
        if row is None:
            return
        age = ticks_diff(ticks_ms(), self._since)
        self._led_amber.value(1 if row[3] == 1 else 0)
        self._led_red.value(1 if row[3] == 2 and _phase(age, row[4], row[5]) else 0)
        tone_on = row[6] and _phase(age, row[7], row[8])
        if tone_on:
            self._buzzer.freq(row[6])
            self._buzzer.duty_u16(32768)
        else:
            self._buzzer.duty_u16(0)
        self._haptic.value(1 if row[9] and _phase(age, row[9], row[10]) else 0)

    def log(self, text):
        pass  # stdout may carry the binary protocol: nothing else is written there


def _phase(age_ms, on_ms, off_ms):
    """True while a pattern with on_ms/off_ms (off 0 = steady) is in its on part."""
    if on_ms == 0 or off_ms == 0:
        return True
    return (age_ms % (on_ms + off_ms)) < on_ms

"""I/O backend of the RP2040 / RP2350 boards (Pico, Pico W, Pico 2): USB CDC serial and GPIO/PWM.

Not yet run on hardware (see README). Pins come from the board file (boards/<name>.py, written to
the board as board.py at flash time).
- Serial: binary frames over sys.stdin.buffer / sys.stdout.buffer; micropython.kbd_intr(-1) so a
  0x03 inside a frame is data, not Ctrl-C. select.poll.ipoll waits without allocating.
- Outputs: LEDs and haptic motor on GPIO, buzzer on PWM (tone per alert row), brake request on GPIO.
- Never blocks on output: a write happens only when USB can take it (POLLOUT), else it is dropped
  and counted. machine.WDT resets a loop that stops.
"""

import select
import sys

import machine
import micropython
from time import ticks_diff, ticks_ms, ticks_us

_HDR = 4


class IO:
    def __init__(self, board):
        micropython.kbd_intr(-1)
        self.ticks_us = ticks_us
        self._in = sys.stdin.buffer
        self._out = sys.stdout.buffer
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
            self._rx_views = (whole, whole[_HDR:])
        if start == 0 or start == _HDR:
            # The decoder asks for the header, then exactly the rest of the frame; USB delivers a
            # frame within a millisecond or so once its first byte is here.
            return self._in.readinto(self._rx_views[0 if start == 0 else 1], count) or 0
        got = self._in.readinto(self._one, 1) or 0  # rare: resynchronising after garbage
        if got:
            buf[start] = self._one[0]
        return got

    def write(self, buf, count):
        # USB CDC blocks up to 500 ms when the host stops reading: only write when it can take
        # bytes now (a frame larger than the free space may still be cut: the host's CRC drops it).
        for _ in self._out_poll.ipoll(0):
            self._out.write(buf, 0, count)  # stream write(buf, off, len): no slice, no allocation
            return True
        return False

    def pending(self):
        for _ in self._poll.ipoll(0):
            return 1
        return 0

    def show(self, row):
        self._row = row
        self._since = ticks_ms()
        self._brake.value(1 if row[11] == 1 else 0)  # tkfw.alerts BRAKE_AEB
        self._hazard.value(1 if row[11] == 2 else 0)  # BRAKE_MRM: minimal-risk stop, hazards on
        self.service()

    def hands_on(self):
        return self._hands.value() == 0  # button or touch pad pulls the pin to GND

    def service(self):
        self._wdt.feed()
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
        pass  # stdout carries the binary protocol: nothing else may be written there


def _phase(age_ms, on_ms, off_ms):
    """True while a pattern with on_ms/off_ms (off 0 = steady) is in its on part."""
    if on_ms == 0 or off_ms == 0:
        return True
    return (age_ms % (on_ms + off_ms)) < on_ms

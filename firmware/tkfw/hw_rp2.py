"""I/O backend of the RP2040 / RP2350 boards (Pico, Pico W, Pico 2): USB CDC serial and GPIO/PWM.

Not yet run on hardware (see README). Pins come from the board file (boards/<name>.py, written to
the board as board.py at flash time).
- Serial: binary frames over sys.stdin.buffer / sys.stdout.buffer; micropython.kbd_intr(-1) so a
  0x03 inside a frame is data, not Ctrl-C. select.poll.ipoll waits without allocating.
- Outputs: LEDs and haptic motor on GPIO, buzzer on PWM (tone per alert row), brake request on GPIO.
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
        self._one = bytearray(1)
        self._views = {}
        pins = board.PINS
        self._led_red = machine.Pin(pins["led_red"], machine.Pin.OUT)
        self._led_amber = machine.Pin(pins["led_amber"], machine.Pin.OUT)
        self._haptic = machine.Pin(pins["haptic"], machine.Pin.OUT)
        self._brake = machine.Pin(pins["brake"], machine.Pin.OUT)
        self._buzzer = machine.PWM(machine.Pin(pins["buzzer"]))
        self._buzzer.duty_u16(0)
        self._row = None
        self._since = ticks_ms()

    def _view(self, buf, start):
        key = (id(buf), start)
        view = self._views.get(key)
        if view is None:  # in normal flow only offsets 0 and 4 occur: made once each
            view = self._views[key] = memoryview(buf)[start:]
        return view

    def read_into(self, buf, start, count, timeout_us):
        for _ in self._poll.ipoll(timeout_us // 1000):
            break
        else:
            return 0
        if start in (0, _HDR):
            # USB delivers a frame within a millisecond or so once its first byte is here.
            return self._in.readinto(self._view(buf, start), count) or 0
        got = self._in.readinto(self._one, 1) or 0
        if got:
            buf[start] = self._one[0]
        return got

    def write(self, buf, count):
        self._out.write(self._view(buf, 0)[:count])

    def show(self, row):
        self._row = row
        self._since = ticks_ms()
        self._brake.value(row[11])
        self.service()

    def service(self):
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

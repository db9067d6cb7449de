"""I/O backend of the simulated board: the MicroPython WebAssembly VM run by Node.

The JS module `simio` is registered by host/takeover/simboard/runner.mjs. Bytes move between the
pseudo-terminal and this firmware's own buffers by address (uctypes.addressof), so the VM heap sees
no allocation per frame; only ints cross the JS boundary. Outputs (LED, buzzer, haptic, brake
request) become JSON events on the runner's stdout, which the host reads as the board's pins.
The maintenance request (tkfw/maintenance.py) resets the simulated board into the REPL, as on a
Pico.
"""

import uctypes

import simio  # noqa: I001 - provided by the sim board runner, not a file
from tkfw import maintenance
from tkfw.store import FILE as SETTINGS_FILE


class IO:
    def __init__(self, board):
        self.board = board
        # The VM's own time.ticks_us() only ticks in whole milliseconds; the runner's clock is
        # Node's hrtime in microseconds, wrapped at 2**30 exactly like MicroPython ticks.
        self.ticks_us = simio.ticks_us
        self._rx = None
        self._rx_addr = 0
        self._tx = None
        self._tx_addr = 0
        self._key = bytearray(len(maintenance.KEY))
        self.settings_file = SETTINGS_FILE  # the VM's file system is the board's flash folder

    def read_into(self, buf, start, count, timeout_us):
        if buf is not self._rx:  # address looked up once per buffer, not per frame
            self._rx = buf
            self._rx_addr = uctypes.addressof(buf)
        got = simio.read(self._rx_addr + start, count, timeout_us)
        # A header with LEN_hi 0xFF is never a frame: it may be the maintenance request.
        if start < 4 and start + got >= 4 and buf[2] == 0xFF and maintenance.is_header(buf):
            self._maintenance()
        return got

    def _maintenance(self):
        """The header of the maintenance request: with its key, reset into the REPL."""
        key = self._key
        addr = uctypes.addressof(key)
        have = 0
        while have < len(key):
            got = simio.read(addr + have, len(key) - have, 200000)
            if got <= 0:
                return  # not the request: the decoder drops the header as garbage
            have += got
        if key == maintenance.KEY:
            maintenance.enter(reset)

    def write(self, buf, count):
        if buf is not self._tx:
            self._tx = buf
            self._tx_addr = uctypes.addressof(buf)
        return simio.write(self._tx_addr, count) == count  # never blocks: a full pty drops it

    def pending(self):
        return simio.pending()

    def show(self, row):
        # level, cause, led, led on/off ms, tone Hz, tone on/off ms, haptic on/off ms, brake
        simio.output(row[0], row[1], row[3], row[4], row[5], row[6], row[7], row[8], row[9], row[10], row[11])

    def hands_on(self):
        return False  # the sim board has no hands-on pin: the host's driver frames say it

    def service(self):
        simio.alive()

    def log(self, text):
        simio.log(text)


def reset():
    simio.reset()  # the runner restarts the VM (a hard reset) once Python has unwound
    raise SystemExit

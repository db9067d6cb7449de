# Runs on the MicroPython VM (takeover bench): the heap the firmware itself needs, without the
# simulated board's own Python (its flash file system, console bridge). Prints one JSON line.
import gc
import json

gc.collect()
before = gc.mem_alloc()
from tkfw.app import Firmware  # noqa: E402


class _IO:
    def ticks_us(self):
        return 0

    def write(self, buf, count):
        return True

    def pending(self):
        return 0

    def show(self, row):
        pass

    def hands_on(self):
        return False


fw = Firmware(_IO(), "sim")
fw.new_drive()
fw.send_hello()
gc.collect()
print(json.dumps({"firmware_heap_bytes": gc.mem_alloc() - before}))

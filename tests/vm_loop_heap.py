"""Runs on the MicroPython VM: the whole firmware loop (poll -> decode -> driver monitor -> assess ->
arbiter -> STATUS encode) over 64-target radar frames and driver frames, with a fake I/O that replays /frames.bin.
Prints one JSON line: frames handled, replies written, heap bytes allocated, heap_lock verdict."""

import gc
import json
import time

import micropython

from tkfw.app import Firmware

data = open("/frames.bin", "rb").read()


class FakeIO:
    def __init__(self):
        self.pos = 0
        self.writes = 0
        self.ticks_us = simio_ticks
    def read_into(self, buf, start, count, timeout_us):
        # Replays the frames forever; the copy loop itself allocates nothing.
        pos = self.pos
        for i in range(count):
            buf[start + i] = data[pos + i]
        pos += count
        self.pos = 0 if pos >= len(data) else pos
        return count
    def write(self, buf, count):
        self.writes += 1
        return True
    def pending(self):
        return 0
    def show(self, row):
        pass
    def hands_on(self):
        return False
    def service(self):
        pass
    def log(self, text):
        print(text)


def simio_ticks():
    return time.ticks_us()


io = FakeIO()
fw = Firmware(io, "sim")
for _ in range(20):
    fw.poll(0)


def measure(polls):
    # Locals only: a new module global inside the window would grow the globals dict.
    gc.collect()
    before = gc.mem_alloc()
    w0 = io.writes
    p0 = fw.dec.processed
    for _ in range(polls):
        fw.poll(0)
        fw.check_inputs()
    return gc.mem_alloc() - before, fw.dec.processed - p0, io.writes - w0


def locked(polls):
    micropython.heap_lock()
    try:
        for _ in range(polls):
            fw.poll(0)
            fw.check_inputs()
    except MemoryError:
        return False
    finally:
        micropython.heap_unlock()
    return True


allocated, frames, replies = measure(4000)
print(json.dumps({"frames": frames, "replies": replies, "heap_bytes": allocated,
                  "heap_lock_ok": locked(400), "rejected": fw.dec.rejected, "faults": fw.faults}))

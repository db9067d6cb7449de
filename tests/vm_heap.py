# Heap use of the per-frame receive path on MicroPython (run by tests/test_vectors.py on the VM).
#
# Inputs put into the VM by the test: /frame.bin, a 64-target radar frame built with
# takeover.codec; /heap.json, {"iterations": N, "level": expected alert level}.
# Prints one JSON line: bytes allocated per stage over N frames (gc.mem_alloc deltas, GC off),
# then whether any call allocated with the heap locked (micropython.heap_lock -> MemoryError).

import gc
import json

import micropython

from tkfw import schema
from tkfw.settings import Settings
from tkfw.ttc import Threat, level_for
from tkfw.wire import Decoder

_W_TARGETS = (4 + schema.RADAR_TARGETS_AT) // 4
_B_RADAR_N = 4 + schema.layout(schema.MESSAGES[schema.T_RADAR][1])[0]["n_targets"][0]

with open("/frame.bin", "rb") as f:
    FRAME = bytearray(f.read())
with open("/heap.json") as f:
    PARAMS = json.load(f)


def load(buf, frame, n):
    # Copy by index: slice assignment would allocate. Outside the measured region anyway.
    for i in range(n):
        buf[i] = frame[i]


def measure(dec, threat, settings, frame, iterations, level):
    buf = dec.buf
    words = dec.words
    n = len(frame)
    received = assess = levels = consume = 0
    wrong = 0
    for _ in range(iterations):
        load(buf, frame, n)
        m0 = gc.mem_alloc()
        msg_type = dec.received(n)
        m1 = gc.mem_alloc()
        ttc = threat.assess(words, _W_TARGETS, buf[_B_RADAR_N], settings)
        m2 = gc.mem_alloc()
        lvl = level_for(ttc, settings)
        m3 = gc.mem_alloc()
        dec.consume()
        m4 = gc.mem_alloc()
        received += m1 - m0
        assess += m2 - m1
        levels += m3 - m2
        consume += m4 - m3
        if msg_type != schema.T_RADAR or lvl != level or dec.fill != 0:
            wrong += 1
    return received, assess, levels, consume, wrong


def locked(dec, threat, settings, frame, iterations):
    """Process frames with the heap locked; return the name of the first call that allocated."""
    buf = dec.buf
    words = dec.words
    n = len(frame)
    for _ in range(iterations):
        load(buf, frame, n)
        stage = 0
        micropython.heap_lock()
        try:
            dec.received(n)
            stage = 1
            ttc = threat.assess(words, _W_TARGETS, buf[_B_RADAR_N], settings)
            stage = 2
            level_for(ttc, settings)
            stage = 3
            dec.consume()
            stage = 4
        except MemoryError:
            pass
        micropython.heap_unlock()
        if stage != 4:
            dec.fill = 0
            dec.frame_len = 0
            return ("Decoder.received", "Threat.assess", "level_for", "Decoder.consume")[stage]
    return None


def main():
    dec = Decoder()
    threat = Threat()
    settings = Settings()
    iterations = PARAMS["iterations"]
    level = PARAMS["level"]
    measure(dec, threat, settings, FRAME, 1, level)  # warm-up: the decoder keeps one view per length
    gc.collect()
    gc.disable()
    received, assess, levels, consume, wrong = measure(dec, threat, settings, FRAME, iterations, level)
    gc.enable()
    allocating = locked(dec, threat, settings, FRAME, iterations)
    total = received + assess + levels + consume
    print(json.dumps({
        "iterations": iterations,
        "frame_len": len(FRAME),
        "bytes_total": total,
        "bytes_per_frame": total / iterations,
        "by_call": {"Decoder.received": received, "Threat.assess": assess,
                    "level_for": levels, "Decoder.consume": consume},
        "wrong_results": wrong,
        "heap_lock_allocating_call": allocating,
    }))


main()

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


_EGO_MM_S = 30000  # faster than every target's closing speed: every lead moves forward


def tracked(threat, settings, iterations):
    """Frames over time with changing range rates, so the per-track history, the acceleration
    estimate, the enhanced TTC's integer root and the confirmation all run: bytes allocated and
    whether a heap-locked pass got through."""
    import array

    words = array.array("i", [0] * (4 * schema.MAX_TARGETS))
    for k in range(schema.MAX_TARGETS):
        words[4 * k] = k
        words[4 * k + 1] = 20000 + 3000 * k
        words[4 * k + 3] = (k % 5 - 2) * 800

    def frame(i):
        for k in range(schema.MAX_TARGETS):
            # closing changes: a relative acceleration past the noise band (the enhanced TTC and
            # the braking-lead rule run), and back
            words[4 * k + 2] = -(8000 + 1500 * (i % 4) + 37 * k)

    reactions = (settings.reaction_ms, settings.reaction_distracted_ms)  # attentive / distracted
    frame(0)
    threat.assess(words, 0, schema.MAX_TARGETS, settings, 0, -1, -1, 0, _EGO_MM_S)
    gc.collect()
    gc.disable()
    before = gc.mem_alloc()
    ettc_ran = False
    for i in range(1, iterations + 1):
        frame(i)
        threat.assess(words, 0, schema.MAX_TARGETS, settings, 50 * i, reactions[i & 1], -1, 0, _EGO_MM_S)
        if threat.ettc_ms != threat.ttc_ms:
            ettc_ran = True
    used = gc.mem_alloc() - before
    gc.enable()
    ok = True
    micropython.heap_lock()
    try:
        for i in range(iterations + 1, 2 * iterations + 1):
            frame(i)
            threat.assess(words, 0, schema.MAX_TARGETS, settings, 50 * i, reactions[i & 1], -1, 0, _EGO_MM_S)
    except MemoryError:
        ok = False
    micropython.heap_unlock()
    return used, ok, ettc_ran


_DM_FLAGS = (11, 9, 13, -1, -1, 2)  # per 20 s phase: attentive, eyes off, asleep, glancing, silent, pin only


def _dm_step(i, dm, arbiter, settings):
    """One 50 ms update. A plain function, not a closure: calling a MicroPython closure with more
    than a few cells allocates its argument array, which would be the harness, not the firmware."""
    t = 50 * i
    phase = (i // 400) % 6
    flags = _DM_FLAGS[phase]
    if phase == 3:
        flags = 9 if (i // 40) % 3 < 2 else 11  # 2 s away, 1 s back
    if flags >= 0 and i % 2 == 0:
        dm.on_frame(flags, t)
    dm.update(t, phase == 5, settings)
    dm.request(arbiter, t, settings.deescalate_hold_ms)
    arbiter.decide()
    return dm.reaction_ms(settings)


def dm_heap(settings, steps):
    """The driver monitor and the arbiter over `steps` 50 ms updates that walk every ladder
    (eyes off to EMERGENCY, sleep, glances, stale data, the pin, lockout, VATS window sliding):
    heap bytes allocated, and whether a heap-locked pass got through."""
    from tkfw import alerts
    from tkfw.dm import DriverMonitor

    dm = DriverMonitor()
    arbiter = alerts.Arbiter()
    _dm_step(0, dm, arbiter, settings)
    gc.collect()
    gc.disable()
    before = gc.mem_alloc()
    for i in range(1, steps + 1):
        _dm_step(i, dm, arbiter, settings)
    used = gc.mem_alloc() - before
    gc.enable()
    ok = True
    micropython.heap_lock()
    try:
        for i in range(steps + 1, 2 * steps + 1):
            _dm_step(i, dm, arbiter, settings)
    except MemoryError:
        ok = False
    micropython.heap_unlock()
    return used, ok, dm.terminal, dm.locked_out


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
    tracked_bytes, tracked_lock_ok, ettc_ran = tracked(Threat(), settings, iterations // 10)
    dm_bytes, dm_lock_ok, dm_terminal, dm_locked = dm_heap(settings, 4800)
    print(json.dumps({
        "iterations": iterations,
        "frame_len": len(FRAME),
        "bytes_total": total,
        "bytes_per_frame": total / iterations,
        "by_call": {"Decoder.received": received, "Threat.assess": assess,
                    "level_for": levels, "Decoder.consume": consume},
        "wrong_results": wrong,
        "heap_lock_allocating_call": allocating,
        "tracked_bytes": tracked_bytes,
        "tracked_heap_lock_ok": tracked_lock_ok,
        "tracked_enhanced_ttc_ran": ettc_ran,
        "dm_bytes": dm_bytes,
        "dm_heap_lock_ok": dm_lock_ok,
        "dm_terminal": dm_terminal,
        "dm_locked_out": dm_locked,
    }))


main()

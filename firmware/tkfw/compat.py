"""The few MicroPython built-ins the core needs, with CPython stand-ins so the same files run on both.

ticks_* follow MicroPython's contract: values wrap at 2**30 (so they stay small ints that never
allocate on the board), and ticks_diff is the only correct way to subtract them.

The type check reads MicroPython's stubs (docs/typecheck.md): the built-ins there take positional
arguments only and the stand-ins also take keywords, hence the pyright ignores on the imports.
"""

try:
    from micropython import const  # pyright: ignore[reportAssignmentType]
except ImportError:  # CPython

    def const(value):
        return value


try:
    from gc import collect, mem_alloc, mem_free  # heap bytes in use and free: reported in STATUS
except ImportError:  # CPython
    from gc import collect

    def mem_alloc() -> int:  # as gc.mem_alloc (the checker would infer the literal 0)
        return 0

    def mem_free() -> int:
        return 0


try:
    from micropython import heap_lock, heap_unlock  # pyright: ignore[reportAssignmentType]
except ImportError:  # CPython: nothing to lock

    def heap_lock():
        pass

    def heap_unlock() -> int:
        return 0


try:
    from time import ticks_add, ticks_diff, ticks_us  # pyright: ignore[reportAssignmentType]
except ImportError:  # CPython
    import time as _time

    _PERIOD = 1 << 30
    _HALF = 1 << 29

    def ticks_us():
        return (_time.perf_counter_ns() // 1000) & (_PERIOD - 1)  # pyright: ignore[reportAttributeAccessIssue]

    def ticks_diff(end, start):
        return ((end - start + _HALF) & (_PERIOD - 1)) - _HALF

    def ticks_add(ticks, delta):
        return (ticks + delta) & (_PERIOD - 1)


def aliased_buffer(nbytes):
    """One block of memory seen as bytes and as little-endian int32 words, made once.

    Returns (bytes_view, words). Indexing either never allocates; `words` keeps the memory alive.
    """
    try:
        import uctypes
    except ImportError:  # CPython: memoryview.cast gives the int32 view
        raw = bytearray(nbytes)
        return raw, memoryview(raw).cast("i")
    import array

    # MicroPython initialises an array from a bytes object as raw memory: nbytes // 4 words.
    words = array.array("i", bytes(nbytes))
    return uctypes.bytearray_at(uctypes.addressof(words), nbytes), words

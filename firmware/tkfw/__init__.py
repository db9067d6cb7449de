"""takeover firmware core: pure logic that runs unchanged on MicroPython and CPython.

Nothing in this package imports `machine`; board I/O lives in the hw_* modules beside it and is
chosen by the board file written at flash time (see boards/).
"""

VERSION = "0.1.0"

"""The simulated board: the firmware on the MicroPython WebAssembly VM behind a pseudo-terminal.

Written as board.py onto the sim board's flash (host/takeover/simboard), by the simulated board
itself or by `takeover flash --port sim`. Its outputs are not pins but JSON events on the
runner's stdout (see docs/protocol.md, "Sim board events").
"""

NAME = "sim"
BACKEND = "sim"
PORT = "webassembly"  # MicroPython port (npm @micropython/micropython-webassembly-pyscript)
MICROPYTHON_BOARD = "pyscript"  # the port's variant
CHIP = "Emscripten"  # sys.implementation._machine is "JS with Emscripten"
WIRELESS = False
MPY_VERSION = "6.3"  # .mpy format the VM loads (MicroPython 1.27)
MPY_ARCH = None  # no native emitter in this VM: bytecode only
LINK = "usb"  # the pseudo-terminal plays the USB serial port
PINS = {}

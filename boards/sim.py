"""The simulated board: the firmware on the MicroPython WebAssembly VM behind a pseudo-terminal.

Loaded as board.py by the sim board runner (host/takeover/simboard/runner.mjs). Its outputs are
not pins but JSON events on the runner's stdout (see docs/protocol.md, "Sim board events").
"""

NAME = "sim"
BACKEND = "sim"
PINS = {}

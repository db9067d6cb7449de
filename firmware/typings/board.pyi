"""The board file: boards/<name>.py, written to the board as board.py at flash time (sim: by the runner)."""

NAME: str  # "pico", "sim", ...: reported in HELLO
BACKEND: str  # "rp2" or "sim": picks tkfw.hw_rp2 or tkfw.hw_sim
PINS: dict[str, int | str]  # role -> GPIO number, or a pin name ("LED" on a Pico W); {} on sim
# Optional, absent from most board files: read it as getattr(board, "LINK", "usb").
# "usb", or a UART: {"uart": 0, "tx": 0, "rx": 1, "baud": 115200}.
LINK: str | dict[str, int]

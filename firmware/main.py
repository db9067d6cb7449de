"""Board entry point: MicroPython runs this at boot. The board file (board.py) is written at flash
time from boards/<name>.py and names the pins and the I/O backend."""

import board
from tkfw.app import main

main(board)

"""Raspberry Pi Pico 2 (RP2350, Arm Cortex-M33 cores). Copied to the board as board.py by
`takeover flash`.

MicroPython: rp2 port, board RPI_PICO2 (UF2: https://micropython.org/download/RPI_PICO2/), 1.24
or later (the first with RP2350 support; .mpy 6.3). Pin-compatible with the Pico: the same
wiring (docs/boards.md). Native code is compiled for the Cortex-M33 with its single-precision
FPU (armv7emsp).
"""

NAME = "pico2"
BACKEND = "rp2"
PORT = "rp2"  # MicroPython port
MICROPYTHON_BOARD = "RPI_PICO2"  # MicroPython board name: the UF2 to install
CHIP = "RP2350"  # must appear in sys.implementation._machine
WIRELESS = False  # a Pico 2 W would say "Pico 2 W"
MPY_VERSION = "6.3"  # .mpy format the board must load (MicroPython 1.24 and later on RP2350)
MPY_ARCH = "armv7emsp"  # Cortex-M33 + single-precision FPU: mpy-cross -march
LINK = "usb"  # frames over USB CDC; or a UART: {"uart": 0, "tx": 0, "rx": 1, "baud": 115200}
PINS = {
    "led_red": 15,  # WARNING and above (blinks per alert row), via 330 ohm
    "led_amber": 14,  # NOTICE, via 330 ohm
    "buzzer": 16,  # PWM, passive piezo through an NPN transistor
    "haptic": 17,  # vibration motor through an NPN transistor + flyback diode
    "brake": 18,  # brake-request output (AEB), high while a collision EMERGENCY
    "hazard": 20,  # minimal-risk request: high while the driver monitor asks for a stop + hazards
    "hands_on": 19,  # hands-on input: button or touch pad to GND, internal pull-up
    "led_status": 25,  # onboard LED: blinks at 1 Hz while the firmware loop runs
}

"""Raspberry Pi Pico (RP2040). Copied to the board as board.py by `takeover flash`.

MicroPython: rp2 port, board RPI_PICO (UF2: https://micropython.org/download/RPI_PICO/), 1.23 or
later (.mpy 6.3). Wiring, with physical pin numbers and parts: docs/boards.md. Outputs are active
high; a buzzer or vibration motor is driven through a transistor, never from the pin.
"""

NAME = "pico"
BACKEND = "rp2"
PORT = "rp2"  # MicroPython port
MICROPYTHON_BOARD = "RPI_PICO"  # MicroPython board name: the UF2 to install
CHIP = "RP2040"  # must appear in sys.implementation._machine
WIRELESS = False  # a Pico W says "Pico W" there: its GP25 belongs to the wireless chip
MPY_VERSION = "6.3"  # .mpy format the board must load (MicroPython 1.23 and later)
MPY_ARCH = "armv6m"  # Cortex-M0+: mpy-cross -march for the natively compiled modules
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

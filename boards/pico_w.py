"""Raspberry Pi Pico W (RP2040 + CYW43439 wireless). Copied to the board as board.py by
`takeover flash`.

MicroPython: rp2 port, board RPI_PICO_W (UF2: https://micropython.org/download/RPI_PICO_W/), 1.23
or later (.mpy 6.3). Same header pinout as the Pico (docs/boards.md), but the onboard LED hangs
off the wireless chip: MicroPython names it "LED" (GP25 is the wireless chip's SPI select, never
drive it). The radio stays off: the firmware does not use it.
"""

NAME = "pico_w"
BACKEND = "rp2"
PORT = "rp2"  # MicroPython port
MICROPYTHON_BOARD = "RPI_PICO_W"  # MicroPython board name: the UF2 to install
CHIP = "RP2040"  # must appear in sys.implementation._machine
WIRELESS = True  # sys.implementation._machine says "Pico W"
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
    "led_status": "LED",  # onboard LED, on the wireless chip: blinks at 1 Hz while the loop runs
}

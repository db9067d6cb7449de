"""Raspberry Pi Pico (RP2040), MicroPython rp2 port. Copied to the board as board.py at flash time.

Outputs are active high; drive a buzzer or vibration motor through a transistor, not from the pin.
"""

NAME = "pico"
BACKEND = "rp2"
PINS = {
    "led_red": 15,  # WARNING and above (blinks per alert row), via 330 ohm
    "led_amber": 14,  # NOTICE, via 330 ohm
    "buzzer": 16,  # PWM, passive piezo through an NPN transistor
    "haptic": 17,  # vibration motor through an NPN transistor + flyback diode
    "brake": 18,  # brake-request output (AEB), high while a collision EMERGENCY
    "hazard": 20,  # minimal-risk request: high while the driver monitor asks for a stop + hazards
    "hands_on": 19,  # hands-on input: button or touch pad to GND, internal pull-up
}

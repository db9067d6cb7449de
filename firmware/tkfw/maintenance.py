"""Maintenance mode: how `takeover flash` gets from a running firmware to the MicroPython REPL.

The firmware turns Ctrl-C off (micropython.kbd_intr(-1): a 0x03 inside a binary frame is data),
and its watchdog resets a board whose loop stops, so neither mpremote's interrupt nor a raised
exception can hand the USB port to the REPL. Instead the host sends REQUEST on the link: a frame
header that no frame can carry (payload length 0xFFFF, above MAX_PAYLOAD, with a valid header
check) followed by KEY. The I/O backend sees it where it reads frame headers, writes FLAG and
resets the board (the only way to stop the RP2040/RP2350 watchdog). main.py finds FLAG at boot and
stays in the REPL: no firmware loop, no watchdog, Ctrl-C works. `takeover flash` removes FLAG as
its last step before the soft reset that starts the new firmware; until then every reset, a
power cycle included, comes back to the REPL, so an interrupted flash can simply be run again.

A chance match needs these 8 bytes in order at a frame boundary (about 1 in 2**64 per garbage
byte); the host never sends them outside `takeover flash`.
"""

HEADER = b"\xa5\xff\xff\x5a"  # SYNC, LEN 0xFFFF, HCHK 0x5A ^ 0xFF ^ 0xFF
KEY = b"REPL"
REQUEST = HEADER + KEY
FLAG = "/.takeover-maintenance"
BANNER = "takeover: maintenance mode, the firmware is not running; `takeover flash` ends it"


def is_header(buf):
    """True when buf[0:4] is HEADER (called only when buf[2] == 0xFF: rare)."""
    return buf[0] == 0xA5 and buf[1] == 0xFF and buf[2] == 0xFF and buf[3] == 0x5A


def enter(reset, reason="takeover flash"):
    """Write FLAG (with why), then reset the board; the next boot stays in the REPL."""
    with open(FLAG, "w") as f:
        f.write(reason)
    reset()


def reason():
    """Why the board is in maintenance mode (what enter() wrote)."""
    try:
        with open(FLAG) as f:
            return f.read()
    except OSError:
        return ""


def resetter(board):
    """The board's hard reset: machine.reset on a Pico, a restart of the VM on the sim board."""
    if board.BACKEND == "sim":
        from tkfw.hw_sim import reset
    else:
        from machine import reset
    return reset


def active():
    """True while FLAG exists: main.py then leaves the board at the REPL."""
    import os

    try:
        os.stat(FLAG)
    except OSError:
        return False
    return True

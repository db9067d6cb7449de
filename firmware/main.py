"""Board entry point: MicroPython runs this at boot. The board file (board.py) is written at flash
time from boards/<name>.py and names the pins, the link and the I/O backend.

Maintenance mode (tkfw/maintenance.py): when `takeover flash` asked for the REPL, or the firmware
could not start, the firmware does not run and the board stays at the REPL, with no watchdog,
until a flash completes.
"""

from tkfw import maintenance

if maintenance.active():
    print(maintenance.BANNER + ": " + maintenance.reason())
else:
    import board

    try:
        from tkfw.app import main

        main(board)  # serves forever: its loop survives any exception
    except KeyboardInterrupt:
        # Only with a UART link (USB Ctrl-C is off otherwise): mpremote or `takeover flash` on USB.
        maintenance.enter(maintenance.resetter(board), "interrupted from the USB REPL")
    except Exception as exc:  # noqa: BLE001 - at start-up, before the loop
        # A watchdog may already run and would reset the board every 2 s: stay reachable, and
        # keep the reason for `takeover flash` to report.
        maintenance.enter(maintenance.resetter(board), "the firmware did not start: %r" % (exc,))

"""A board that stays connected after a run (a real one; here `takeover sim`'s, which outlives the
command) ends the drive with its outputs off, on the pins (the sim board's output events), not
only in what the firmware reports."""

import subprocess
import sys

from takeover.simboard import SimBoard


def _outputs(board):
    return board.events_of("output")


def test_after_run_the_board_left_connected_is_at_none_with_every_output_off():
    with SimBoard() as board:
        proc = subprocess.run([sys.executable, "-m", "takeover.cli", "run", "su7-construction-zone", "--lockstep",
                               "--port", board.port], capture_output=True, text=True, timeout=120)
        assert proc.returncode == 0, proc.stdout + proc.stderr
        shown = board.wait_events("output", 1, timeout=5.0)
        assert any(e["tone_hz"] for e in shown)  # the run did sound its warning on the pins
        last = _outputs(board)[-1]
        assert (last["led"], last["tone_hz"], last["haptic_on_ms"], last["brake"]) == (0, 0, 0, 0), last


def test_interrupted_run_leaves_the_board_quiet_too():
    # Ctrl-C half-way, with the barrier warning sounding: the board must not keep beeping.
    with SimBoard() as board:
        proc = subprocess.Popen([sys.executable, "-m", "takeover.cli", "run", "su7-construction-zone",
                                 "--port", board.port], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            board_warned = False
            for _ in range(200):
                if any(e["tone_hz"] for e in _outputs(board)):
                    board_warned = True
                    break
                subprocess.run(["sleep", "0.05"])
            assert board_warned, "the run never sounded a warning"
            proc.send_signal(2)  # SIGINT
            proc.wait(timeout=20)
        finally:
            proc.kill()
        last = _outputs(board)[-1]
        assert (last["led"], last["tone_hz"], last["haptic_on_ms"], last["brake"]) == (0, 0, 0, 0), last

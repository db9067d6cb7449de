"""Maintenance mode on demand (`takeover repl`), and a board at the REPL told apart from one that
does not answer. On a `takeover sim` board, which outlives each command as a real one does."""

import subprocess
import sys

import pytest

from takeover.simboard import SimBoard

pytestmark = pytest.mark.slow  # a HELLO that never comes is waited for: 5 s


def _takeover(*argv):
    return subprocess.run([sys.executable, "-m", "takeover.cli", *argv], capture_output=True, text=True, timeout=60)


def test_repl_puts_the_board_at_its_repl_run_says_so_and_exit_starts_the_firmware_again():
    with SimBoard() as board:
        into = _takeover("repl", "--port", board.port, "--board", "sim")
        assert into.returncode == 0, into.stderr
        assert f"mpremote connect {board.port}" in into.stdout and "--exit" in into.stdout
        assert board.wait_events("repl", 1, timeout=5.0)  # the VM serves its REPL now
        refused = _takeover("run", "lead-car-same-speed", "--lockstep", "--port", board.port)
        lines = refused.stderr.strip().splitlines()
        assert refused.returncode == 2 and len(lines) == 1
        assert "is at the MicroPython REPL, not running the takeover firmware" in lines[0]
        back = _takeover("repl", "--port", board.port, "--board", "sim", "--exit")
        assert back.returncode == 0 and "runs again" in back.stdout, back.stderr
        run = _takeover("run", "lead-car-same-speed", "--lockstep", "--port", board.port)
        assert run.returncode == 0 and "PASS" in run.stdout, run.stdout + run.stderr


def test_repl_refuses_a_board_started_for_the_command_alone():
    refused = _takeover("repl", "--port", "sim")
    assert refused.returncode == 2 and "takeover sim" in refused.stderr

"""A board that resets mid-run (a new HELLO with a new boot id) invalidates the run."""

from tkfw import schema
from tkfw.settings import Settings

import tkfw
from takeover.runner import Pace, run_scenario
from takeover.scenario import parse

from test_driver_timeline import ScriptedBoard

TEXT = """
name = "reset"
description = "a board that reboots half way"
duration_s = 2.0
[ego]
speed_kph = 50
"""


class RebootingBoard(ScriptedBoard):
    """Boots again (a fresh HELLO, new boot id) on the radar frame stamped reboot_at_ms."""

    def __init__(self, reboot_at_ms):
        super().__init__()
        self.reboot_at_ms = reboot_at_ms

    def send(self, name, targets=None, **fields):
        seq, t_ns = super().send(name, targets, **fields)
        if name == "radar" and fields["t_ms"] == self.reboot_at_ms:
            self._reply("hello", fw_version=tkfw.VERSION, board="scripted", proto=schema.VERSION,
                        max_targets=schema.MAX_TARGETS, settings_hash=Settings().digest(), boot_id=2)
        return seq, t_ns


def test_a_board_that_reboots_mid_run_makes_the_run_invalid():
    run = run_scenario(RebootingBoard(1000), parse(TEXT, "reset.toml"), Pace(lockstep=True))
    assert not run.passed
    assert any("device reset" in f for f in run.failures), run.failures


def test_the_same_board_without_a_reboot_passes():
    run = run_scenario(RebootingBoard(-1), parse(TEXT, "reset.toml"), Pace(lockstep=True))
    assert run.passed, run.failures

"""The bench's stage profile (takeover.bench_stages) runs against the firmware as it is.

On a board it runs at the REPL, which only the emulated Pico and real boards offer, so a rename in
tkfw.app broke it unseen; here the same script runs on the MicroPython VM with the firmware
importable, and its stages must add up to about the firmware's own figure.
"""

import ast

import pytest

from takeover import bench_stages
from takeover.errors import SetupError
from takeover.simboard import run_script
from tkfw import schema


@pytest.mark.parametrize("n_targets", [1, 64])
def test_the_stage_profile_runs_on_the_firmware_and_its_stages_add_up(tmp_path, n_targets):
    script = tmp_path / "stages.py"
    script.write_text(bench_stages.script(n_targets, repeat=20))
    try:
        out = run_script(script, timeout=120)
    except SetupError as exc:
        pytest.skip(f"MicroPython VM unavailable: {exc}")
    result = ast.literal_eval(out.strip().splitlines()[-1])
    # The VM's clock is too coarse for the figures themselves: that the frame went through every
    # stage as a radar frame, and the parts do not exceed the whole, is what is checked here.
    stages = result["stages"]
    assert set(stages) == {"decode", "driver_monitor", "threat_decide", "arbiter_alert", "threat_track",
                           "status", "whole_frame"}
    assert sum(v for k, v in stages.items() if k != "whole_frame") <= stages["whole_frame"] * 1.05 + 5
    assert result["type"] == schema.T_RADAR and result["proc_us_p50"] >= 0

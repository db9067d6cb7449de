"""Built-in scenarios streamed to the board, judged on what the firmware actually raised."""

import pytest

from tkfw.alerts import LEVELS
from tkfw.settings import Settings

from takeover import scenario as scenarios
from takeover.plant import Plant
from takeover.runner import Pace, run_scenario

ST = Settings()


def _impact_time_s(scn):
    """When the open-loop plant hits the in-path target (None if it never does)."""
    plant = Plant(scn)
    dt = 1 / scn.radar_hz
    while plant.t_s < scn.duration_s:
        plant.step(dt)
        if plant.collided:
            return plant.t_s
    return None


@pytest.mark.slow
def test_su7_barrier_raises_a_warning_before_the_would_be_impact(device):
    scn = scenarios.load("su7-construction-zone")
    run = run_scenario(device, scn, Pace())  # real time: this is what latency means
    assert run.passed, run.failures
    warnings = [a for a in run.alerts if LEVELS.index(a["level"]) >= LEVELS.index("WARNING")]
    assert warnings, run.alerts
    first = warnings[0]
    impact = _impact_time_s(scn)
    assert first["t_s"] < impact
    # The warning comes on the confirm_frames-th frame after either rule holds: the required
    # deceleration rule (reference driver reacting, then braking comfortably) or the TTC rule,
    # but never before the barrier is visible; each frame tells the road of a radar latency ago.
    st = Settings()
    frame_s = 1 / scn.radar_hz
    v = scn.ego.speed_kph / 3.6
    visible_ttc = scn.targets[0].detect_range_m / v
    rule_ttc = max(st.ttc_warning_s, st.reaction_s + st.stop_margin_m / v + v / (2 * st.decel_warning_mps2))
    latency_s = scn.radar.latency_ms / 1000
    ttc_on = min(visible_ttc, rule_ttc) - latency_s
    assert ttc_on - st.confirm_frames * frame_s * 1.01 <= first["ttc_s"] <= ttc_on - (st.confirm_frames - 1) * frame_s
    closing = v
    assert first["device_ttc_s"] == pytest.approx(first["ttc_s"] + latency_s, abs=0.01 + 0.001 * closing)
    assert first["latency_us"] is not None and first["latency_us"] > 0
    assert run.frames["sent"] == run.frames["processed"]


def test_lead_car_at_the_same_speed_two_seconds_ahead_raises_nothing(device):
    run = run_scenario(device, scenarios.load("lead-car-same-speed"), Pace(speed=4.0))
    assert run.passed, run.failures
    assert run.max_level == "NONE"
    assert [a for a in run.alerts if a["level"] != "NONE"] == []
    assert run.outcome["collision"] is False


def _paced_run(device, scn, pace, attempts=3):
    """A paced run on a host that kept its pace. A test machine busy enough to hold the next radar
    frame back past the board's stale-radar window makes the board fault, correctly (run.warnings
    says so): that run measured the machine, not the firmware, so it is run again."""
    window_ms = ST.radar_stale_n * ST.radar_period_ms
    gaps = []
    for _ in range(attempts):
        run = run_scenario(device, scn, pace)
        gaps.append(run.radar_gap_ms)
        if run.radar_gap_ms < window_ms:
            return run
    raise AssertionError(f"the host could not keep {pace.describe()} in {attempts} runs: longest radar "
                         f"gaps {gaps} ms, stale-radar window {window_ms} ms")


@pytest.mark.parametrize("pace", [Pace(speed=8.0), Pace(speed=2.0)], ids=["8x", "2x"])
def test_faster_than_real_time_gives_the_same_alerts_in_scenario_time(device, pace):
    scn = scenarios.load("su7-construction-zone")
    fast = _paced_run(device, scn, pace)
    reference = run_scenario(device, scn, Pace(lockstep=True))
    # t_s too: the causing frame's scenario time, not the arrival time scaled by the speed-up
    key = [(a["t_s"], a["level"], a["device_ttc_s"], a["ttc_s"]) for a in reference.alerts]
    assert [(a["t_s"], a["level"], a["device_ttc_s"], a["ttc_s"]) for a in fast.alerts] == key
    assert fast.outcome == reference.outcome

"""Protocol revision 2 on the board: the predicted path bends with the yaw rate, and a stationary
reflection high above the road is a structure, not an obstacle. Each story also runs as an older
host would (no yaw rate, no heights) to show what the revision changes."""

import pytest

from takeover import scenario as scenarios
from takeover.device import Hello
from takeover.runner import Pace, run_scenario
from tkfw.alerts import LEVELS, OUT_BRAKE


@pytest.fixture
def as_revision_1(monkeypatch):
    """The host talks to the board as to a firmware before revision 2: straight path, no heights."""
    monkeypatch.setattr(Hello, "path_and_height", property(lambda self: False))


def _first_warning(run):
    return next(a for a in run.alerts if a["cause"] == "collision" and LEVELS.index(a["level"]) >= 2)


def test_a_gantry_above_the_road_is_driven_under_at_full_speed(device):
    scn = scenarios.load("nuisance-overhead-gantry")
    run = run_scenario(device, scn, Pace(lockstep=True))
    assert run.passed, run.failures
    assert run.max_level == "NONE" and run.outcome["end_speed_kph"] == scn.ego.speed_kph


def test_without_heights_the_gantry_is_a_barrier_and_the_car_brakes_for_it(device, as_revision_1):
    run = run_scenario(device, scenarios.load("nuisance-overhead-gantry"), Pace(lockstep=True))
    assert any("no yaw rate or target height" in w for w in run.warnings)
    assert run.max_level == "EMERGENCY" and any(a["outputs"] & OUT_BRAKE for a in run.alerts)
    assert not run.passed


def test_a_barrier_under_a_bridge_warns_as_early_as_one_in_the_open(device):
    under = run_scenario(device, scenarios.load("barrier-under-bridge"), Pace(lockstep=True))
    assert under.passed, under.failures
    open_road = run_scenario(device, scenarios.load("su7-construction-zone"), Pace(lockstep=True))
    first, reference = _first_warning(under), _first_warning(open_road)
    assert (first["t_s"], first["level"]) == (reference["t_s"], reference["level"])
    assert under.outcome["min_gap_m"] == open_road.outcome["min_gap_m"]


def test_on_a_curve_a_car_in_the_next_lane_is_not_a_threat(device):
    run = run_scenario(device, scenarios.load("nuisance-curve-adjacent-lane"), Pace(lockstep=True))
    assert run.passed, run.failures
    assert run.max_level == "NONE"


def test_a_straight_line_path_cries_wolf_on_that_curve(device, as_revision_1):
    run = run_scenario(device, scenarios.load("nuisance-curve-adjacent-lane"), Pace(lockstep=True))
    assert LEVELS.index(run.max_level) >= LEVELS.index("WARNING"), run.alerts
    assert not run.passed


def test_a_stopped_car_in_our_lane_on_a_curve_is_a_threat_from_the_first_frame_that_shows_it(device):
    scn = scenarios.load("curve-stopped-car")
    run = run_scenario(device, scn, Pace(lockstep=True))
    assert run.passed, run.failures
    seen = next(row["t_s"] for row in run.trace if row["device_ttc_s"] is not None)
    first = run.alerts[0]
    assert (first["t_s"], first["cause"]) == (seen, "collision")  # on the frame that first shows it
    target = scn.targets[0]
    v = scn.ego.speed_kph / 3.6
    # the radar's latency later than the car came into range, and no later
    assert seen == pytest.approx((target.range_m - target.detect_range_m) / v + scn.radar.latency_ms / 1000, abs=0.05)


def test_a_straight_line_path_finds_that_car_too_late(device, as_revision_1):
    run = run_scenario(device, scenarios.load("curve-stopped-car"), Pace(lockstep=True))
    first = _first_warning(run)
    assert first["ttc_s"] < 2.0, first  # within ~42 m: the curve hid it until then

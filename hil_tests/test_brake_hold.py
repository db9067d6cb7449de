"""The brake request on the board: once raised it holds while the car still closes on the threat,
holds the car at a standstill, and lets go when the driver overrides.

Braking raises the TTC, so a brake request that followed the TTC alone let go while still closing
and came back metres later. Ground truth comes from the plant: a trace row's `ttc_s` is null
exactly when nothing closes in."""

import random

import pytest

from tkfw.alerts import LEVELS
from tkfw.settings import Settings

from takeover import scenario as scenarios
from takeover.runner import Pace, run_scenario

ST = Settings()
EMERGENCY = LEVELS.index("EMERGENCY")


def _released_while_closing(run):
    """Trace rows (t_s) after the first brake request where the board shows less than EMERGENCY
    while the car still closes on something."""
    rows = run.trace
    first = next((k for k, row in enumerate(rows) if row["level"] == "EMERGENCY"), None)
    assert first is not None, "no brake request at all"
    return [row["t_s"] for row in rows[first:]
            if row["ttc_s"] is not None and row["level"] is not None and LEVELS.index(row["level"]) < EMERGENCY]


def test_a_lead_braking_to_a_stop_is_braked_for_until_the_car_stops_and_the_car_is_then_held(device):
    run = run_scenario(device, scenarios.load("aeb-lead-brakes-to-a-stop"), Pace(lockstep=True))
    assert run.passed, run.failures
    assert _released_while_closing(run) == []
    # one brake request, never lowered: the alerts go up the ladder once and stop at EMERGENCY
    assert [a["level"] for a in run.alerts][-1] == "EMERGENCY"
    assert sum(a["level"] == "EMERGENCY" for a in run.alerts) == 1
    # braking without a break stops it short of the stopped lead, and it stays held there
    assert run.outcome["ego_stopped"] and run.outcome["end_speed_kph"] == 0.0
    assert run.outcome["min_gap_m"] > 3.0
    stopped = [row for row in run.trace if row["ego_kph"] == 0.0]
    assert stopped and all(row["level"] == "EMERGENCY" for row in stopped)


def _random_stop(rng, k):
    """A driver-absent stop behind a lead that brakes hard: speeds, headways and decelerations
    drawn like the review that found the release (and seeded, the same on every machine)."""
    speed = rng.uniform(50, 130)
    headway_s = rng.uniform(0.8, 2.0)
    return scenarios.parse(f"""
name = "random-stop-{k}"
description = "a driver-absent stop behind a lead braking hard"
duration_s = 14
[ego]
speed_kph = {speed:.1f}
[[target]]
id = 1
range_m = {speed / 3.6 * headway_s:.1f}
speed_kph = {speed:.1f}
brake_at_s = {rng.uniform(0.5, 2.0):.2f}
brake_mps2 = {rng.uniform(5.0, 9.0):.2f}
[driver]
reacts_to = "never"
""", f"random-stop-{k}")


@pytest.mark.parametrize("seed", range(6))
def test_no_driver_absent_stop_releases_the_brake_while_closing(device, seed):
    rng = random.Random(seed)
    for k in range(3):
        run = run_scenario(device, _random_stop(rng, k), Pace(lockstep=True), measure_link=False)
        assert _released_while_closing(run) == [], run.scenario.name
        assert run.outcome["ego_stopped"] or run.outcome["collision"], run.outcome


def test_a_driver_override_releases_the_brake_request_and_the_collision_cue_stays(device):
    scn = scenarios.load("aeb-lead-brakes-to-a-stop")
    override_s = 2.5  # the brake request came at 1.7 s; the car still closes fast
    scn.driver.state = [{"t_s": override_s, "override": True}]
    run = run_scenario(device, scn, Pace(lockstep=True))
    after = [a for a in run.alerts if a["t_s"] >= override_s]
    assert after, run.alerts
    # the next alert steps the brake request down (through the ladder: the shown row's minimum
    # duration and the hold), and the collision cue stays at TAKEOVER, not below, while closing
    assert after[0]["level"] == "TAKEOVER" and after[0]["cause"] == "collision"
    assert after[0]["t_s"] <= override_s + ST.deescalate_hold_s + 0.1
    assert all(a["level"] != "EMERGENCY" for a in after)


def test_a_three_frame_ghost_gets_the_cue_but_never_the_brake_request(device):
    scn = scenarios.load("nuisance-ghost-3-frames")
    run = run_scenario(device, scn, Pace(lockstep=True))
    assert run.passed, run.failures
    seen = [row for row in run.trace if row["device_ttc_s"] is not None]
    assert len(seen) == 3  # the board saw the false return on exactly three frames
    assert run.max_level == "TAKEOVER"
    assert run.outcome["end_speed_kph"] == scn.ego.speed_kph  # nothing braked


def test_a_car_cutting_in_close_is_braked_for_within_150_ms_of_appearing(device):
    scn = scenarios.load("cut-in-close")
    run = run_scenario(device, scn, Pace(lockstep=True))
    assert run.passed, run.failures
    # Appearing = the first radar frame that reports the car, a radar latency after it is there.
    appeared = next(row["t_s"] for row in run.trace if row["device_ttc_s"] is not None)
    assert appeared == pytest.approx(scn.targets[0].appear_s + scn.radar.latency_ms / 1000)
    first = next(a for a in run.alerts if a["level"] == "EMERGENCY")
    assert first["t_s"] - appeared <= 0.150 + 1e-9, first
    assert not run.outcome["collision"]


def test_a_collision_warning_under_a_driver_monitor_takeover_still_reaches_the_driver(device):
    """Eyes off the road from the start: the driver monitor is at TAKEOVER when the barrier's
    collision WARNING comes. The outputs combine both cues and the ALERT names the collision, so
    the reference driver reacts to the WARNING, not only to the collision TAKEOVER a second later."""
    scn = scenarios.parse("""
name = "distracted-at-takeover-meets-a-barrier"
description = "eyes off the road from the start; a barrier 444 m ahead at 100 km/h, seen from 200 m"
duration_s = 20
[ego]
speed_kph = 100
[[target]]
id = 1
range_m = 444.0
speed_kph = 0.0
detect_range_m = 200.0
[driver]
reacts_to = "WARNING"
eyes_on_road = false
""", "distracted")
    run = run_scenario(device, scn, Pace(lockstep=True))
    shared = [a for a in run.alerts if a["cause"] != "collision" and a["also"] is not None
              and a["also"]["cause"] == "collision"]
    assert [a["also"]["level"] for a in shared][:2] == ["NOTICE", "WARNING"], run.alerts
    first = shared[1]
    assert (first["level"], first["cause"]) == ("TAKEOVER", "eyes_off")
    # the driver (eyes off: the distracted reaction time) brakes for that cue once it reaches him
    seen_s = first["t_s"] + scn.hmi.latency_ms / 1000
    assert run.outcome["driver_braked_at_s"] == pytest.approx(seen_s + scn.driver.reaction_distracted_s, abs=0.06)
    assert not run.outcome["collision"]

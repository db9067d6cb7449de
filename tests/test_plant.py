"""The closed-loop plant's ground truth, checked against closed-form kinematics."""

import math

import pytest

from takeover import ncap
from takeover import scenario as scenarios
from takeover.plant import Plant, no_action_impact_mps, score_band


@pytest.mark.parametrize("name, headway_m, decel", [
    ("euroncap-ccrb-12m-6", 12.0, 6.0), ("euroncap-ccrb-12m-2", 12.0, 2.0), ("euroncap-ccrb-40m-6", 40.0, 6.0)])
def test_no_action_impact_speed_of_a_braking_lead_matches_closed_form(name, headway_m, decel):
    scn = scenarios.load(name)
    v = 50 / 3.6
    t_stop = v / decel
    # Relative motion after the lead brakes: gap = headway - decel t^2 / 2 while it is still moving.
    t_hit = math.sqrt(2 * headway_m / decel)
    if t_hit <= t_stop:
        expected = decel * t_hit
    else:  # the lead stopped first: the ego runs into a standing car at full speed
        expected = v
    assert no_action_impact_mps(scn) == pytest.approx(expected, abs=0.15)


@pytest.mark.parametrize("kph", list(ncap.CCRS_KPH))
def test_no_action_impact_of_ccrs_is_the_test_speed(kph):
    assert no_action_impact_mps(scenarios.load(f"euroncap-ccrs-{kph}")) * 3.6 == pytest.approx(kph, abs=0.05)


@pytest.mark.parametrize("collision, impact, reference, band", [
    (False, 0.0, 10.0, "green"), (True, 2.5, 10.0, "yellow"), (True, 2.6, 10.0, "orange"),
    (True, 5.0, 10.0, "orange"), (True, 7.5, 10.0, "brown"), (True, 7.6, 10.0, "red"), (True, 10.0, 10.0, "red")])
def test_score_band_follows_the_speed_reduction(collision, impact, reference, band):
    assert score_band(collision, impact, reference) == band


def test_radar_noise_is_reproducible_and_seeded():
    scn = scenarios.load("su7-noisy-radar")
    a, b = Plant(scn), Plant(scn)
    for _ in range(60):
        a.step(0.05)
        b.step(0.05)
    assert a.radar() == b.radar() and a.radar(), "same seed, same noise"
    scn.radar.seed += 1
    c = Plant(scn)
    for _ in range(60):
        c.step(0.05)
    assert c.radar() != a.radar()
    clean = scenarios.load("su7-construction-zone")
    d = Plant(clean)
    for _ in range(60):
        d.step(0.05)
    # Same true range (both start 220 m out at 116 km/h), the noisy one differs from it by noise only.
    assert abs(a.radar()[0]["range"] - d.radar()[0]["range"]) < 2000


def test_euroncap_scenario_files_match_the_grid():
    assert ncap.main(["--check"]) == 0, "run `python -m takeover.ncap`"
    names = scenarios.builtin_names()
    assert sum(n.startswith("euroncap-ccrs-") for n in names) == 9
    assert sum(n.startswith("euroncap-ccrm-") for n in names) == 11
    assert sum(n.startswith("euroncap-ccrb-") for n in names) == 8


def test_plant_time_is_the_step_count_times_the_step_with_no_float_drift():
    scn = scenarios.load("nuisance-ghost-target")
    scn.targets[0].appear_s, scn.targets[0].vanish_s = 1.0, 1.05  # due exactly on the frame at 1.0 s
    plant = Plant(scn)
    seen_at = []
    for k in range(1, 201):
        plant.step(0.05)
        assert plant.t_s == k / 20  # the double nearest k x 50 ms; summed steps gave 0.99999... at k = 20
        if plant.radar():
            seen_at.append(plant.t_s)
    assert seen_at == [1.0]

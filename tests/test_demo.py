"""`takeover demo`: the SU7 crash with a 2 s warning, then this firmware, headless on the sim board.

Expected numbers come from the physics of the scenario (UN R157's reference driver), not from
a previous run: the baseline's impact speed is what a driver who brakes `reaction_s` after a
warning at TTC 2 s reaches the barrier at (UN R157's reference driver)."""

import io
import json
import math

import pytest
from PIL import Image

from takeover import demo
from takeover import scenario as scenarios
from takeover.cli import main
from takeover.device import Device
from takeover.plant import KPH, Plant
from takeover.runner import Pace


def _lost_and_ramp(scn) -> tuple[float, float, float, float]:
    """Speed, distance lost before the foot lands (HMI latency + reaction), the ramp's distance
    and the speed at its end: the R157 ramp a t / R integrated twice (x = v0 R - a R^2 / 6)."""
    v0, d = scn.ego.speed_kph * KPH, scn.driver
    lost_m = v0 * (scn.hmi.latency_ms / 1000 + d.reaction_s)
    ramp_m = v0 * d.brake_ramp_s - d.brake_mps2 * d.brake_ramp_s ** 2 / 6
    return v0, lost_m, ramp_m, v0 - d.brake_mps2 * d.brake_ramp_s / 2


def _baseline_impact_kph(scn) -> tuple[float, float]:
    """Impact speed after a warning at TTC 2 s, and its tolerance, both from the physics.

    The cue falls between plant sub-steps, and the driver's ramp is taken at the middle of each:
    up to two sub-steps of travel at the initial speed (v0 h each) more than the textbook, i.e.
    dv = a dx / v at the impact."""
    v0, lost_m, ramp_m, v_ramp = _lost_and_ramp(scn)
    a = scn.driver.brake_mps2
    braking_m = demo.BASELINE_WARN_TTC_S * v0 - lost_m - ramp_m
    assert braking_m > 0, "the impact comes after the ramp (the formula below)"
    v_impact = math.sqrt(v_ramp * v_ramp - 2 * a * braking_m)
    h = 1.0 / (scn.radar_hz * Plant(scn).substeps)
    tolerance = a * 2 * v0 * h / v_impact + 0.05
    return v_impact / KPH, tolerance / KPH


@pytest.mark.slow
def test_the_su7_crash_happens_with_a_2_s_warning_and_this_firmware_stops_short(tmp_path, capsys):
    out = tmp_path / "demo"
    assert main(["demo", "--no-live", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    doc = json.loads((out / demo.JSON).read_text())
    baseline, firmware = doc["runs"]
    scn = demo.demo_scenario()
    expected_kph, tolerance_kph = _baseline_impact_kph(scn)

    # Baseline: the host's WARNING at a true TTC of 2 s; the driver brakes 1.25 s later: too late.
    assert baseline["key"] == "baseline" and baseline["warning"]["by"].startswith("host")
    h = 1.0 / (scn.radar_hz * Plant(scn).substeps)
    assert baseline["warning"]["ttc_s"] == pytest.approx(demo.BASELINE_WARN_TTC_S, abs=h)
    assert baseline["collision"] is True
    assert baseline["impact_speed_kph"] == pytest.approx(expected_kph, abs=tolerance_kph)
    assert doc["physics"]["baseline_impact_kph"] == pytest.approx(expected_kph, abs=0.1)

    # This firmware: its own WARNING early enough for the same driver, who stops short.
    v0, lost_m, ramp_m, v_ramp = _lost_and_ramp(scn)
    needed_ttc_s = (lost_m + ramp_m + v_ramp * v_ramp / (2 * scn.driver.brake_mps2)) / v0
    assert firmware["warning"]["by"] == "board" and firmware["warning"]["ttc_s"] >= needed_ttc_s
    assert firmware["collision"] is False and firmware["stopped"] is True and firmware["short_m"] > 0

    # Both outcomes on screen, the stand-in said so.
    assert f"impact at {baseline['impact_speed_kph']:.1f} km/h" in printed
    assert f"stopped {firmware['short_m']:.1f} m short" in printed
    assert "host-side stand-in" in printed

    # A 16:9 PNG and an animated GIF of the same size ratio.
    with Image.open(out / demo.PNG) as png:
        assert png.size[0] * 9 == png.size[1] * 16
    with Image.open(out / demo.GIF) as gif:
        assert gif.size[0] * 9 == gif.size[1] * 16
        assert gif.n_frames > 20
    assert (out / demo.PNG).stat().st_size < 300_000


def test_the_dashboard_follows_both_runs_as_they_happen():
    """The live view, drawn into a string: lights, driver, outcome, for both runs."""
    from rich.console import Console

    scn = demo.demo_scenario()
    console = Console(file=io.StringIO(), width=120, color_system=None)
    board = demo.Dashboard(scn, console=console)
    seen = []

    def show(lives):
        seen.append([(live.state, live.level, live.phase) for live in lives])

    with Device("sim") as dev:
        runs = demo.run_demo(dev, scn, Pace(lockstep=True), show=show)
    assert [r.key for r in runs] == ["baseline", "firmware"]
    baseline_levels = {s[0][1] for s in seen if s[0][0] == "running"}
    firmware_levels = {s[1][1] for s in seen if s[1][0] == "running"}
    assert baseline_levels == {"NONE", "WARNING"}  # the host's cue is all the baseline's driver sees
    assert {"NOTICE", "WARNING", "TAKEOVER"} <= firmware_levels
    assert any(s[1][2] == "braking" for s in seen)
    lives = [demo.Live(key, demo.SHORT_TITLES[key]) for key in ("baseline", "firmware")]
    for live, r in zip(lives, runs):
        demo._update(live, r.run, r.plant)
        live.state, live.outcome = "done", r.outcome()
    console.print(board.render(lives))
    text = console.file.getvalue()
    for word in ("IMPACT AT", "STOPPED", "TAKEOVER", "EMERG", "BRAKING", "host stand-in"):
        assert word in text


@pytest.mark.parametrize("args, words", [
    (["--speed-kph", "0"], ["--speed-kph 0", "10 .. 200 km/h"]),
    (["--detect-range-m", "1000"], ["--detect-range-m 1000"]),
    (["--reaction-s", "-1"], ["--reaction-s -1"]),
    (["--speed", "0"], ["--speed", "above 0"]),
])
def test_a_demo_value_out_of_range_is_one_line_and_exit_2(args, words, capsys, tmp_path):
    assert main(["demo", "--no-live", "--out", str(tmp_path), *args]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1
    for word in words:
        assert word in err[0]


def test_the_class_can_move_the_barrier_into_view_later_or_earlier():
    """A detection range beyond the scenario's start puts the barrier further out; the run lasts
    long enough to reach it and stop, whatever the speed."""
    base = scenarios.load(demo.SCENARIO)
    far = demo.demo_scenario(detect_range_m=280)
    assert far.targets[0].range_m >= 280 + demo.BARRIER_LEAD_M
    slow = demo.demo_scenario(speed_kph=30)
    assert slow.duration_s * slow.ego.speed_kph * KPH > slow.targets[0].range_m
    assert base.targets[0].range_m == demo.demo_scenario().targets[0].range_m


def test_the_sliders_start_from_the_scenario_file():
    assert demo.settings_of(scenarios.load("su7-construction-zone")) == {
        "speed_kph": 116, "detect_range_m": 150, "reaction_s": 1.15, "distraction_s": 0.0, "aeb": True}
    assert demo.settings_of(scenarios.load("su7-distracted-driver"))["distraction_s"] > 0
    assert demo.settings_of(scenarios.load("dm-hands-off-empty-road")) is None  # nothing ahead to demonstrate


def test_a_distracted_driver_gets_the_firmwares_warning_escalated_and_stops_later():
    """The same road with the eyes off it for the first 4 s: the firmware goes straight to
    TAKEOVER and the driver, slower to react, stops closer to the barrier."""
    runs = {}
    with Device("sim") as dev:
        for away in (0.0, 4.0):
            (runs[away],) = demo.run_demo(dev, demo.demo_scenario(distraction_s=away), Pace(lockstep=True),
                                          baseline=False)
    assert runs[0.0].key == runs[4.0].key == "firmware"
    assert (runs[0.0].warning["level"], runs[4.0].warning["level"]) == ("WARNING", "TAKEOVER")
    assert not runs[4.0].collided and 0 < runs[4.0].short_m < runs[0.0].short_m


def test_the_demo_runs_another_scenario_with_something_ahead_and_refuses_one_without(capsys, tmp_path):
    scn = demo.demo_scenario(name="euroncap-ccrs-30", reaction_s=2.0)
    assert (scn.ego.speed_kph, scn.driver.reaction_s, scn.name) == (30, 2.0, "euroncap-ccrs-30")
    assert demo.figures(scn) == ("demo-euroncap-ccrs-30.png", "demo-euroncap-ccrs-30.gif")
    assert demo.figures(demo.demo_scenario()) == (demo.PNG, demo.GIF) == ("demo-su7.png", "demo-su7.gif")
    assert main(["demo", "--no-live", "--out", str(tmp_path), "--scenario", "dm-hands-off-empty-road"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "dm-hands-off-empty-road" in err[0] and "ahead" in err[0]

"""`takeover sweep`: grid parsing, the threshold figure, and one small sweep on the sim board."""

import csv

import pytest

from takeover import scenario as scenarios
from takeover import sweep
from takeover.cli import main
from takeover.errors import UsageError
from takeover.plant import impact_speed_mps


@pytest.mark.parametrize("text, name, values", [
    ("speed_kph=60:100:20", "speed_kph", [60.0, 80.0, 100.0]),
    ("reaction_s=1.2,2.0", "reaction_s", [1.2, 2.0]),
    ("detect_range_m=40:50:20", "detect_range_m", [40.0]),
    ("aeb=0", "aeb", [0.0]),
])
def test_grid_values_are_lists_or_inclusive_ranges(text, name, values):
    assert sweep.parse_param(text) == (name, values)


@pytest.mark.parametrize("text, words", [
    ("speed=60", ["unknown parameter", "speed_kph"]),
    ("speed_kph", ["NAME=VALUES"]),
    ("speed_kph=60:40:10", ["step > 0"]),
    ("speed_kph=fast", ["numbers"]),
    ("aeb=2", ["0 or 1"]),
    ("speed_kph=0,50", ["positive"]),
])
def test_a_bad_grid_axis_is_one_clear_error(text, words):
    with pytest.raises(UsageError) as err:
        sweep.parse_param(text)
    for word in words:
        assert word in str(err.value)


def test_apply_changes_only_the_copy():
    base = scenarios.load("su7-construction-zone")
    scn = sweep.apply(base, {"speed_kph": 80.0, "detect_range_m": 90.0, "reaction_s": 2.0, "aeb": 0.0})
    assert (scn.ego.speed_kph, scn.targets[0].detect_range_m, scn.driver.reaction_s, scn.aeb.enabled) == \
        (80.0, 90.0, 2.0, False)
    assert base.ego.speed_kph == 116 and base.aeb.enabled is True


def _point(speed, rng, collision, result=None):
    result = result or ("collision" if collision else "stopped")
    return sweep.Point({"speed_kph": speed, "detect_range_m": rng}, result, collision,
                       10.0 if collision else 0.0, None, None, "WARNING", not collision)


def test_the_threshold_is_where_every_larger_range_avoids_the_impact():
    points = [_point(100, 40, True), _point(100, 60, False), _point(100, 80, True), _point(100, 100, False),
              _point(60, 40, False), _point(60, 60, False), _point(140, 40, True), _point(140, 60, True)]
    got = {o["speed_kph"]: t for o, t in sweep.thresholds(points, "detect_range_m")}
    assert got == {100: 100, 60: 40, 140: None}  # 60 m at 100 km/h is a lucky island, not a threshold


def test_a_small_sweep_on_the_sim_board_writes_its_table_and_heat_map(tmp_path, capsys):
    out = tmp_path / "sw"
    code = main(["sweep", "su7-construction-zone", "--param", "detect_range_m=40,150",
                 "--param", "speed_kph=116", "--param", "aeb=0", "--out", str(out)])
    assert code == 0
    rows = list(csv.DictReader((out / "sweep.csv").open()))
    assert [r["detect_range_m"] for r in rows] == ["40.0", "150.0"]
    # physics: at 116 km/h a driver reacting in 1.2 s needs 107 m; 40 m is a crash, 150 m a stop
    assert [r["collision"] for r in rows] == ["1", "0"]
    assert (out / "sweep.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "150 m" in capsys.readouterr().out


def test_an_undecided_run_is_no_threshold():
    points = [_point(100, 80, False, "undecided"), _point(100, 100, False), _point(60, 80, False, "clear"),
              _point(60, 100, False, "undecided")]
    got = {o["speed_kph"]: t for o, t in sweep.thresholds(points, "detect_range_m")}
    assert got == {100: 100, 60: None}


def test_a_run_too_short_to_reach_the_barrier_is_run_until_it_does(tmp_path):
    # At 60 km/h the scenario's 10 s end 52.5 m short of the barrier: that is no stop. Run long
    # enough, a driver reacting in 2.0 s to a barrier seen at 40 m hits it no slower than if
    # warned the moment it is seen (the plant's closed form), and slower than 60 km/h.
    out = tmp_path / "sw"
    code = main(["sweep", "su7-construction-zone", "--param", "speed_kph=60", "--param", "detect_range_m=40,150",
                 "--param", "reaction_s=2.0", "--param", "aeb=0", "--out", str(out)])
    assert code == 0
    rows = list(csv.DictReader((out / "sweep.csv").open()))
    assert [(r["result"], r["collision"]) for r in rows] == [("collision", "1"), ("stopped", "0")]
    scn = sweep.apply(scenarios.load("su7-construction-zone"),
                      {"speed_kph": 60.0, "detect_range_m": 40.0, "reaction_s": 2.0, "aeb": 0.0})
    best = impact_speed_mps(60 / 3.6, 40.0, scn.driver, scn.hmi.latency_ms / 1000) * 3.6
    assert best - 0.1 <= float(rows[0]["impact_speed_kph"]) < 60


def test_a_run_that_never_reaches_an_outcome_is_reported_undecided(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(sweep, "duration_for_outcome", lambda scn: 1.0)
    monkeypatch.setattr(sweep, "MAX_DURATION_S", 2.0)  # retried once, at 2 s: still closing in
    out = tmp_path / "sw"
    code = main(["sweep", "su7-construction-zone", "--param", "speed_kph=60,80", "--param", "aeb=0",
                 "--out", str(out)])
    assert code == 0
    rows = list(csv.DictReader((out / "sweep.csv").open()))
    assert [(r["result"], r["collision"]) for r in rows] == [("undecided", "0")] * 2
    assert "2 undecided" in capsys.readouterr().out


def test_a_grid_point_out_of_physical_range_is_one_line_before_anything_runs(tmp_path, capsys):
    out = tmp_path / "sw"
    code = main(["sweep", "su7-construction-zone", "--param", "speed_kph=100,300", "--param", "aeb=0",
                 "--out", str(out)])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1
    assert "speed_kph=300" in err[0] and "0..250 km/h" in err[0]
    assert not out.exists()  # refused before the folder or the board


def test_distraction_puts_the_eyes_off_the_road_from_the_start_for_that_long():
    base = scenarios.load("dm-looks-away-at-barrier")  # its own timeline: eyes off from 5.4 s
    scn = sweep.apply(base, {"distraction_s": 3.0})
    assert [scn.driver.state_at(t)["eyes_on_road"] for t in (0.0, 2.9, 3.0, 10.0)] == [False, False, True, True]
    assert scn.driver.distracted(4.9) and not scn.driver.distracted(5.1)  # attention counts 2 s after
    attentive = sweep.apply(base, {"distraction_s": 0.0})
    assert attentive.driver.state == [] and not attentive.driver.distracted(6.0)
    assert base.driver.state[0]["t_s"] == 5.4

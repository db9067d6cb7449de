"""`takeover evidence` without a board: the drive generators, the ground truth they are checked
against, the needed-warning search, the metrics on hand-built alert lists, and the command's
exit status and Ctrl-C (with the board faked out)."""

import functools
import json
import math
from contextlib import contextmanager

import pytest

from tkfw.alerts import OUT_AUDIBLE, OUT_BRAKE, OUT_HAPTIC, OUT_VISUAL
from tkfw.settings import Settings

from takeover import cli
from takeover import evidence as ev
from takeover.plant import no_action_impact_mps, stopping_distance_m
from takeover.scenario import parse

ST = Settings()
SEEDS = range(1, 41)
BRAKING = OUT_VISUAL | OUT_AUDIBLE | OUT_HAPTIC | OUT_BRAKE
_critical = functools.lru_cache(maxsize=None)(ev.critical_drive)  # several tests look through the same drives


def _alert(t_s, level, cause="collision", outputs=0, also=None):
    return {"t_s": t_s, "level": level, "cause": cause, "outputs": outputs, "origin": "frame", "also": also}


def _barrier(kph=100, range_m=120, reaction_s=1.2, brake_mps2=7.6, duration_s=30.0, aeb=True, model="step",
             hmi_ms=0):
    """A stopped car in the lane, seen from the first frame."""
    return parse(f"""
name = "barrier"
description = "a stopped car in the lane"
duration_s = {duration_s}
[ego]
speed_kph = {kph}
[[target]]
id = 1
range_m = {range_m}
detect_range_m = 250.0
[driver]
model = "{model}"
reaction_s = {reaction_s}
brake_mps2 = {brake_mps2}
[hmi]
latency_ms = {hmi_ms}
[aeb]
enabled = {"true" if aeb else "false"}
""", "test")


# -- generators ---------------------------------------------------------------------------------
@pytest.mark.parametrize("make", [ev.benign_drive, ev.critical_drive], ids=["benign", "critical"])
def test_a_drive_is_the_same_for_the_same_seed_and_differs_for_another(make):
    assert make(7).toml == make(7).toml
    assert make(7).params == make(7).params
    assert make(7).toml != make(8).toml


def test_the_plan_draws_drive_i_of_each_kind_from_seed_plus_i():
    assert ev.plan(2, 3, 10) == [("benign", 10), ("benign", 11), ("critical", 10), ("critical", 11),
                                 ("critical", 12)]


@pytest.mark.parametrize("make", [ev.benign_drive, ev.critical_drive], ids=["benign", "critical"])
def test_a_drive_is_its_own_scenario_file(make):
    drive = make(3)
    again = parse(drive.toml, "again")
    assert again == parse(drive.toml, "again")
    assert (again.name, again.duration_s, again.targets, again.driver, again.aeb, again.radar) == \
        (drive.scenario.name, drive.scenario.duration_s, drive.scenario.targets, drive.scenario.driver,
         drive.scenario.aeb, drive.scenario.radar)
    assert drive.scenario.name == f"evidence-{drive.kind}-3"


def test_every_benign_drive_passes_its_ground_truth_check():
    for seed in SEEDS:
        drive = ev.benign_drive(seed)
        scn = drive.scenario
        ok, truth = ev.benign_check(scn)
        assert ok, (seed, truth)
        assert truth.impact_k is None
        assert truth.min_ttc_s is None or truth.min_ttc_s > ev.BENIGN_MIN_TTC_S
        assert 20 <= scn.duration_s <= 30 and 30 <= scn.ego.speed_kph <= 130
        assert scn.radar.range_noise_m <= 0.25 and scn.radar.rate_noise_mps <= 0.12
        assert scn.driver.reacts_to == "WARNING" and not scn.driver.state  # the attentive default


def test_benign_drives_hold_what_they_are_meant_to_cover():
    drives = [ev.benign_drive(seed) for seed in range(1, 101)]
    params = [d.params for d in drives]
    assert {p["road"] for p in params} == {"highway", "urban"}
    assert {p["lead"]["style"] for p in params if "lead" in p} == {"steady", "gentle", "pulls away"}
    assert {p["ghost"]["frames"] for p in params if "ghost" in p} == {1, 2, 3}
    assert any(p.get("cut_in") for p in params) and any("crossing_ttc_s" in p for p in params)
    assert any(p["adjacent"] for p in params) and any("noise" in p for p in params)
    for d in drives:
        for t in d.scenario.targets:
            if t.ghost:  # 1-3 frames: appear_s and vanish_s fall just before frames
                frames = round((t.vanish_s - t.appear_s) * d.scenario.radar_hz)
                assert frames == d.params["ghost"]["frames"]
            elif abs(t.lateral_m) >= 3 and t.lane_change_at_s is None and not t.lateral_speed_mps:
                assert 3.3 <= abs(t.lateral_m) <= 3.8  # adjacent lane


@pytest.mark.parametrize("duration_s, hit", [(16.0, False), (25.0, True)])
def test_the_ground_truth_check_rejects_a_lead_the_ego_closes_on(duration_s, hit):
    # 10 km/h slower, 2 s ahead: TTC 20 s at first, down to 4 s after 16 s, hit after 20 s
    scn = parse(f"""
name = "closing"
description = "a lead 10 km/h slower, 2 s ahead"
duration_s = {duration_s}
[ego]
speed_kph = 100
[[target]]
id = 1
range_m = 55.6
speed_kph = 90
""", "test")
    ok, truth = ev.benign_check(scn)
    assert not ok and truth.min_ttc_s < ev.BENIGN_MIN_TTC_S
    assert (truth.impact_k is not None) is hit


def test_critical_drives_collide_when_nothing_reacts():
    for seed in SEEDS:
        drive = _critical(seed)
        scn = drive.scenario
        assert no_action_impact_mps(scn) > 0, seed  # takeover.plant's own figure, not ours
        assert 10 <= scn.duration_s <= 20 and 30 <= scn.ego.speed_kph <= 130
        threat, *above = scn.targets
        assert all(t.overhead for t in above)  # a bridge over it at most: one target in the path
        assert 40 <= threat.detect_range_m <= 200 and abs(threat.lateral_m) < 1.8
        assert scn.aeb.enabled and scn.driver.reacts_to == "WARNING"
        assert drive.onset_s is not None and drive.onset_s < drive.impact_s <= scn.duration_s


def test_a_distracted_driver_looks_away_as_the_threat_comes():
    distracted = [d for d in map(_critical, SEEDS) if d.params["driver"] == "distracted"]
    assert distracted and len(distracted) < len(SEEDS) / 2  # some drives, not most
    for d in distracted:
        (entry,) = d.scenario.driver.state
        assert entry["t_s"] <= d.onset_s
        assert d.scenario.driver.state_at(d.onset_s)["eyes_on_road"] is False


# -- when the reference driver needs the warning --------------------------------------------------
@pytest.mark.parametrize("kph, range_m, reaction_s, brake_mps2", [
    (100, 120, 1.2, 7.6), (116, 150, 1.2, 7.6), (60, 80, 2.0, 5.0), (130, 200, 1.5, 6.0), (40, 30, 1.0, 8.0),
])
def test_the_needed_time_agrees_with_the_closed_form_for_a_step_braking_driver(kph, range_m, reaction_s,
                                                                               brake_mps2):
    # The step driver with no HMI latency brakes at brake_mps2 from reaction_s after the warning,
    # so a warning at t stops short while v (t + t_r) + v^2 / (2 a) <= gap.
    v = kph / 3.6
    latest = (range_m - v * v / (2 * brake_mps2)) / v - reaction_s
    scn = _barrier(kph, range_m, reaction_s, brake_mps2)
    frame = 1 / scn.radar_hz
    needed = ev.needed_warning_s(scn)
    # on the frame grid, the last frame at or before it (the plant's motion is exact)
    assert latest - frame < needed <= latest + 1e-9
    assert math.isclose(needed * scn.radar_hz, round(needed * scn.radar_hz))


@pytest.mark.parametrize("kph, range_m", [(116, 150), (80, 100), (130, 200)])
def test_the_needed_time_follows_the_r157_driver_and_the_hmi_latency(kph, range_m):
    """UN R157's reference driver (ramped braking) seeing the warning 100 ms late: the latest
    warning is the range less his stopping distance (takeover.plant's closed form) over v."""
    scn = _barrier(kph, range_m, 1.15, 7.59, model="r157", hmi_ms=100)
    assert scn.driver.brake_ramp_s == 0.6
    v = kph / 3.6
    latest = (range_m - stopping_distance_m(v, scn.driver, 0.1)) / v
    needed = ev.needed_warning_s(scn)
    assert latest - 1 / scn.radar_hz < needed <= latest + 1e-9


def test_the_needed_time_ignores_the_brake_request_and_finds_none_when_the_driver_cannot_stop():
    assert ev.needed_warning_s(_barrier(100, 50)) is None  # 100 km/h needs 84 m: AEB could, the driver not
    assert ev.needed_warning_s(_barrier(100, 50, aeb=False)) is None
    assert ev.needed_warning_s(_barrier(100, 1000, duration_s=10.0)) == math.inf  # not reached in the drive


def test_the_needed_time_follows_the_driver_timeline():
    attentive = _barrier(100, 150)
    distracted = _barrier(100, 150)
    distracted.driver.state = [{"t_s": 0.0, "eyes_on_road": False}]  # reaction_distracted_s, 2.0 s
    gained = ev.needed_warning_s(attentive) - ev.needed_warning_s(distracted)
    assert gained == pytest.approx(2.0 - 1.2, abs=1 / attentive.radar_hz + 1e-9)


def test_the_deadline_allows_the_confirmation_frames_after_the_threat_is_seen():
    frame = 1 / ev.RADAR_HZ
    assert ev.deadline_s(5.0, 2.0, ST.confirm_n, ev.RADAR_HZ) == 5.0
    assert ev.deadline_s(2.05, 2.0, ST.confirm_n, ev.RADAR_HZ) == pytest.approx(2.0 + ST.confirm_n * frame)
    assert ev.deadline_s(1.95, 2.0, ST.confirm_n, ev.RADAR_HZ) is None  # unavoidable at detection
    assert ev.deadline_s(None, 2.0, ST.confirm_n, ev.RADAR_HZ) is None


# -- metrics on hand-built alert lists -------------------------------------------------------------
def _benign(scn=None):
    scn = scn or _barrier(100, 300, duration_s=5.0)
    return ev.Drive("benign", 1, "", scn, {}, min_ttc_s=10.0)


def _avoidable_critical():
    drive = next(d for d in map(_critical, SEEDS) if not d.unavoidable and d.deadline_s > 1.0)
    assert drive.deadline_s == ev.deadline_s(drive.needed_s, drive.onset_s, ST.confirm_n, drive.scenario.radar_hz)
    return drive


def test_a_brake_release_while_still_closing_is_counted():
    drive = _benign(_barrier(100, 120))
    alerts = [_alert(0.5, "EMERGENCY", outputs=BRAKING), _alert(1.0, "TAKEOVER", outputs=OUT_VISUAL)]
    result = ev.evaluate(drive, alerts, {"collision": False})
    (release,) = result.releases
    # the brake bites at 0.7 s (actuator delay): at 1.0 s the ego still runs at about 25 m/s
    assert release["closing"] and 20 < release["closing_mps"] < 28
    assert result.releases_while_closing == 1 and "brake_release" in result.missed
    assert ev.figures([result])["releases_while_closing"] == {"events": 1, "drives": 1}


def test_a_brake_release_after_the_car_stopped_is_not_counted():
    drive = _benign(_barrier(100, 120))
    alerts = [_alert(0.5, "EMERGENCY", outputs=BRAKING), _alert(5.0, "NONE", "none")]  # stopped by 4.1 s
    result = ev.evaluate(drive, alerts, {"collision": False})
    (release,) = result.releases
    assert not release["closing"] and release["closing_mps"] is None
    assert result.releases_while_closing == 0 and "brake_release" not in result.missed


def test_the_replayed_ground_truth_falls_back_to_the_run_trace_when_they_disagree():
    scn = _barrier(100, 120)
    alerts = [_alert(0.5, "EMERGENCY", outputs=BRAKING), _alert(1.0, "TAKEOVER")]
    rows, source = ev.closing_truth(scn, alerts, [{"t_s": 0.0, "gap_m": 120.0, "ttc_s": 4.32}], 1.0)
    assert source == "replay" and len(rows) == 21
    trace = [{"t_s": 0.0, "gap_m": 99.0, "ttc_s": None}, {"t_s": 1.0, "gap_m": 98.0, "ttc_s": None}]
    released, source = ev.releases_while_closing(scn, alerts, trace)
    assert source == "trace" and released[0]["closing"] is False and released[0]["gap_m"] == 98.0


def test_a_late_first_warning_is_counted_and_one_in_time_is_not():
    drive = _avoidable_critical()
    due = drive.deadline_s
    frame = 1 / drive.scenario.radar_hz
    cases = {
        "in time": ([_alert(due, "WARNING")], False),
        "earlier, at NOTICE first": ([_alert(due - 2 * frame, "NOTICE"), _alert(due - frame, "TAKEOVER")], False),
        "one frame late": ([_alert(due + frame, "WARNING")], True),
        "only a NOTICE": ([_alert(due - frame, "NOTICE")], True),
        "a driver-monitor WARNING is no collision warning": ([_alert(due, "WARNING", "eyes_off")], True),
        # a collision WARNING shown under a driver-monitor TAKEOVER: the driver sees and hears it
        "under a driver-monitor alert": ([_alert(due, "TAKEOVER", "eyes_off",
                                                 also={"level": "WARNING", "cause": "collision"})], False),
    }
    for name, (alerts, is_late) in cases.items():
        result = ev.evaluate(drive, alerts, {"collision": False})
        assert result.late is is_late, name
        assert ("warning_in_time" in result.missed) is is_late, name


def test_an_unavoidable_drive_is_reported_but_not_judged_on_its_warning():
    drive = next(d for d in map(_critical, SEEDS) if d.unavoidable)
    result = ev.evaluate(drive, [], {"collision": True, "impact_speed_kph": 50.0})
    assert result.unavoidable and result.late is None and result.missed == []
    fig = ev.figures([result, ev.evaluate(_avoidable_critical(), [], {"collision": False})])["critical"]
    assert (fig["drives"], fig["unavoidable"], fig["judged"], fig["late"]) == (2, 1, 1, 1)


def test_benign_drives_count_any_warning_and_any_brake_request_but_not_a_notice():
    drive = _benign()
    quiet = ev.evaluate(drive, [_alert(1.0, "NOTICE"), _alert(2.0, "NONE", "none")], {"collision": False})
    nagged = ev.evaluate(drive, [_alert(1.0, "WARNING", "hands_off")], {"collision": False})
    braked = ev.evaluate(drive, [_alert(1.0, "EMERGENCY", outputs=BRAKING)], {"collision": False})
    assert quiet.missed == [] and nagged.missed == ["benign_warning"]
    assert braked.brake and set(braked.missed) == {"benign_warning", "benign_brake"}
    fig = ev.figures([quiet, nagged, braked])["benign"]
    assert (fig["drives"], fig["warning"], fig["brake"]) == (3, 2, 1)
    assert fig["warning_rate"] == pytest.approx(2 / 3)
    met = {v["key"]: v["met"] for v in ev.verdicts([quiet, nagged, braked])}
    assert met == {"benign_brake": False, "benign_warning": False, "brake_release": True, "warning_in_time": True}


@pytest.mark.parametrize("frames, at_s, warned_s, from_ghost", [
    (3, 4.0, 4.10, True),  # the ghost's second frame, a radar latency late
    (3, 4.0, 4.20, True),  # its third
    (3, 4.0, 4.30, False),  # after it: something else
    (3, 4.0, 3.95, False),  # before it
    (2, 4.0, 4.10, True),
    (1, 4.0, 4.05, False),  # a one-frame ghost cannot warn, whatever came then
])
def test_a_warning_while_a_short_ghost_is_reported_is_the_ghosts_not_a_false_alarm(frames, at_s, warned_s,
                                                                                    from_ghost):
    """A 2-3 frame ghost may raise a WARNING (only the brake request waits for a longer track):
    that drive is counted apart. A warning at any other time is a false alarm."""
    drive = ev.Drive("benign", 1, "", _barrier(100, 300, duration_s=8.0), {"ghost": {"frames": frames, "at_s": at_s}})
    assert drive.scenario.radar.latency_ms == 50
    result = ev.evaluate(drive, [_alert(warned_s, "TAKEOVER")], {"collision": False})
    assert result.ghost_warning is from_ghost
    assert result.missed == ([] if from_ghost else ["benign_warning"])
    fig = ev.figures([result])["benign"]
    assert (fig["warning"], fig["ghost_warning"], fig["ghost_drives"]) == (
        int(not from_ghost), int(from_ghost), int(frames >= 2))


def test_impact_speed_statistics_are_over_the_critical_drives_that_hit():
    drive = _avoidable_critical()
    results = [ev.evaluate(drive, [], {"collision": True, "impact_speed_kph": float(kph)}) for kph in range(1, 21)]
    results.append(ev.evaluate(drive, [], {"collision": False, "impact_speed_kph": 0.0}))
    fig = ev.figures(results)["critical"]
    assert fig["collisions"] == 20
    assert fig["impact_kph"] == {"p50": 10.5, "p95": 19.1, "max": 20.0}


def test_a_scenario_document_comes_back_from_its_toml():
    doc = {"name": "n", "description": 'say "hi"', "duration_s": 10.0, "ego": {"speed_kph": 50.0},
           "target": [{"id": 1, "range_m": 40.0, "ghost": True}],
           "driver": {"reacts_to": "WARNING", "state": [{"t_s": (1.5, "a comment"), "eyes_on_road": False}]}}
    scn = parse(ev.to_toml(doc, ["a header"]), "test")
    assert scn.description == 'say "hi"' and scn.targets[0].ghost
    assert scn.driver.state == [{"t_s": 1.5, "eyes_on_road": False}]


# -- the command, with the board faked out ------------------------------------------------------------
class _Hello:
    board, fw_version = "fake", "0.0.0"


class _FakeDevice:
    hello = _Hello()

    def __init__(self, *args, **kwargs):
        pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


@contextmanager
def _fake_board(monkeypatch, alerts_for):
    """run_drive without a board: each drive raises what alerts_for(drive) says (or raises)."""
    monkeypatch.setattr(cli, "Device", _FakeDevice)
    monkeypatch.setattr(ev, "run_drive", lambda dev, drive, progress=None: ev.evaluate(
        drive, alerts_for(drive), {"collision": False, "impact_speed_kph": 0.0}, {"sent": 1, "processed": 1}))
    yield


def _in_time(drive):
    return [_alert(drive.onset_s, "WARNING")] if drive.kind == "critical" else []


def test_the_command_exits_0_when_every_target_is_met_and_writes_both_files(tmp_path, monkeypatch, capsys):
    with _fake_board(monkeypatch, _in_time):
        code = cli.main(["evidence", "--benign", "3", "--critical", "2", "--out", str(tmp_path / "ev")])
    out = capsys.readouterr().out
    assert code == 0, out
    assert out.count("PASS") == len(ev.TARGETS) and "FAIL" not in out
    doc = json.loads((tmp_path / "ev" / "evidence.json").read_text())
    assert [(d["kind"], d["seed"]) for d in doc["drives"]] == ev.plan(3, 2, 1)
    assert doc["interrupted"] is False and doc["figures"]["benign"]["drives"] == 3
    summary = (tmp_path / "ev" / "summary.md").read_text()
    assert "takeover evidence --benign 3 --critical 2 --seed 1" in summary and "| PASS |" in summary


def test_a_missed_target_exits_1_names_the_drive_and_saves_its_scenario(tmp_path, monkeypatch, capsys):
    def nag_benign_2(drive):
        return [_alert(3.0, "WARNING")] if (drive.kind, drive.seed) == ("benign", 2) else _in_time(drive)

    with _fake_board(monkeypatch, nag_benign_2):
        code = cli.main(["evidence", "--benign", "3", "--critical", "1", "--out", str(tmp_path / "ev"),
                         "--save", str(tmp_path / "missed")])
    out = capsys.readouterr().out
    assert code == 1
    assert "FAIL  0 WARNING in benign drives (a 2-3 frame radar ghost's aside): 1 drive (benign 2)" in out
    saved = tmp_path / "missed" / "evidence-benign-2.toml"
    assert f"saved {saved}" in out
    assert saved.read_text() == ev.benign_drive(2).toml
    assert [p.name for p in (tmp_path / "missed").iterdir()] == [saved.name]


def test_ctrl_c_writes_the_drives_that_finished(tmp_path, monkeypatch, capsys):
    def interrupt_the_third(drive):
        if (drive.kind, drive.seed) == ("benign", 3):
            raise KeyboardInterrupt
        return []

    with _fake_board(monkeypatch, interrupt_the_third):
        code = cli.main(["evidence", "--benign", "4", "--critical", "0", "--out", str(tmp_path)])
    assert code == 130
    doc = json.loads((tmp_path / "evidence.json").read_text())
    assert doc["interrupted"] is True and [d["seed"] for d in doc["drives"]] == [1, 2]
    assert "Interrupted" in (tmp_path / "summary.md").read_text()
    assert "interrupted after 2 of 4 drives" in capsys.readouterr().out

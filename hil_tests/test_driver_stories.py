"""Driver-monitor stories on the board: each escalation comes when the settings say, within one
driver frame, with the right cause. Expected times come from tkfw.settings and the
scenario's own timeline, never from copied numbers; the scenario files' [expect] tables are a
second, coarser check that `takeover run` applies on its own."""

import pytest

from tkfw.alerts import LEVELS
from tkfw.settings import Settings

from takeover import scenario as scenarios
from takeover.runner import Pace, run_scenario

ST = Settings()


def _first(run, level, cause=None):
    """Scenario time of the first alert at `level` or higher (of `cause`, if given)."""
    floor = LEVELS.index(level)
    for a in run.alerts:
        if LEVELS.index(a["level"]) >= floor and (cause is None or a["cause"] == cause):
            return a["t_s"], a["cause"]
    return None, None


def _change_s(scn, key, value):
    """When the timeline first sets `key` to `value`."""
    return next(e["t_s"] for e in scn.driver.state if e.get(key) == value)


def _ladder(request_s, escalate_s):
    warn = request_s + escalate_s
    return {"NOTICE": request_s, "WARNING": warn, "TAKEOVER": warn + ST.dm_takeover_s,
            "EMERGENCY": warn + ST.dm_mrm_s}


def _run(device, name):
    scn = scenarios.load(name)
    run = run_scenario(device, scn, Pace(lockstep=True))
    assert run.passed, run.failures
    return scn, run


def _assert_timeline(run, expected, cause, slack_s):
    for level, t_expected in expected.items():
        t, got_cause = _first(run, level)
        assert t is not None, f"no {level}: {run.alerts}"
        assert got_cause == cause, (level, got_cause)
        assert abs(t - t_expected) <= slack_s, f"{level} at {t} s, expected {t_expected:.2f} s"


def _frame_s(scn):
    return 1 / scn.driver.driver_hz


def test_hands_off_on_an_empty_road_escalates_to_a_minimal_risk_stop(device):
    scn, run = _run(device, "dm-hands-off-empty-road")
    t0 = _change_s(scn, "hands_on", False)
    expected = {level: t0 + t for level, t in _ladder(
        ST.hands_off_request_s + ST.hands_off_eyes_on_extra_s, ST.hands_off_escalate_s).items()}
    _assert_timeline(run, expected, "hands_off", _frame_s(scn))
    # the minimal-risk request stopped the car: MRM deceleration from the ego speed, after the delay
    assert run.outcome["ego_stopped"] and not run.outcome["collision"]
    emergency = next(a for a in run.alerts if a["level"] == "EMERGENCY")
    assert emergency["outputs"] & 16, "EMERGENCY of the driver monitor raises the minimal-risk output"


def test_the_driver_who_looks_at_the_phone_for_4_s_gets_one_request_and_it_clears(device):
    scn, run = _run(device, "dm-phone-4s")
    away = _change_s(scn, "eyes_on_road", False)
    back = next(e["t_s"] for e in scn.driver.state if e.get("eyes_on_road") is True)
    _assert_timeline(run, {"NOTICE": away + ST.eyes_off_request_s}, "eyes_off", _frame_s(scn))
    assert run.max_level == "NOTICE"
    # the request steps down after attention is back for attention_restore_s, then the alert's
    # minimum duration and the hold have passed: never before the gaze came back
    cleared = [a for a in run.alerts if a["level"] == "NONE"]
    assert cleared and cleared[0]["t_s"] >= back + ST.attention_restore_s - _frame_s(scn)


def test_repeated_glances_add_up_to_the_vats_warning(device):
    scn, run = _run(device, "dm-vats-glances")
    spans, start = [], None
    for e in scn.driver.state:  # away periods from the timeline
        if e.get("eyes_on_road") is False:
            start = e["t_s"]
        elif e.get("eyes_on_road") is True and start is not None:
            spans.append((start, e["t_s"]))
            start = None
    total, reached = 0.0, None
    for a, b in spans:
        if total + (b - a) >= ST.vats_limit_s:
            reached = a + (ST.vats_limit_s - total)
            break
        total += b - a
    assert reached is not None and all(b - a < ST.eyes_off_request_s for a, b in spans)
    _assert_timeline(run, {"WARNING": reached}, "vats", _frame_s(scn))
    assert _first(run, "NOTICE")[1] == "vats", "no single glance was long enough for an eyes-off request"


def test_the_driver_who_falls_asleep_is_warned_then_told_to_take_over_then_stopped(device):
    scn, run = _run(device, "dm-falls-asleep")
    t0 = _change_s(scn, "eyes_closed", True)
    expected = {"WARNING": t0 + ST.microsleep_s, "TAKEOVER": t0 + ST.sleep_s,
                "EMERGENCY": t0 + ST.unresponsive_closed_s}
    _assert_timeline(run, expected, "drowsy", _frame_s(scn))
    assert run.outcome["ego_stopped"] and not run.outcome["collision"]


def test_a_driver_unresponsive_to_every_request_gets_the_minimal_risk_stop(device):
    scn, run = _run(device, "dm-unresponsive")
    t0 = _change_s(scn, "eyes_on_road", False)
    expected = {level: t0 + t for level, t in _ladder(ST.eyes_off_request_s, ST.eyes_off_escalate_s).items()}
    _assert_timeline(run, expected, "eyes_off", _frame_s(scn))
    # Hands are off too, but that ladder is slower and has the lower priority: never shown.
    assert {a["cause"] for a in run.alerts} <= {"eyes_off", "none"}
    assert run.outcome["ego_stopped"] and not run.outcome["collision"]
    assert run.outcome["driver_braked_at_s"] is None  # nobody braked: the minimal-risk request did


def test_looking_away_just_as_a_stopped_car_appears_brings_the_warning_forward(device):
    """At 100 km/h a stopped car comes into range at 150 m. An attentive driver is warned once
    the reference driver would need more than comfortable braking; one who looks away at that
    moment is warned at detection (high sensitivity), earlier, and still stops."""
    away_scn, away = _run(device, "dm-looks-away-at-barrier")
    base_scn, base = _run(device, "dm-attentive-at-barrier")
    v = away_scn.ego.speed_kph / 3.6
    target = away_scn.targets[0]
    detect_s = (target.range_m - target.detect_range_m) / v
    assert _change_s(away_scn, "eyes_on_road", False) == pytest.approx(detect_s, abs=0.05)

    def warn_gap_m(reaction_s):  # the gap at which a_req(driver) reaches decel_warning
        return reaction_s * v + ST.stop_margin_m + v * v / (2 * ST.decel_warning_mps2)

    frame = 1 / away_scn.radar_hz
    confirm = ST.confirm_frames * frame
    t_away, cause = _first(away, "WARNING", "collision")
    t_base, _ = _first(base, "WARNING", "collision")
    assert warn_gap_m(ST.reaction_distracted_s) >= target.detect_range_m > warn_gap_m(ST.reaction_s)
    assert detect_s <= t_away <= detect_s + confirm + frame
    expected_base = (target.range_m - warn_gap_m(ST.reaction_s)) / v
    assert expected_base <= t_base <= expected_base + confirm + frame
    assert t_away < t_base
    for run in (away, base):
        assert not run.outcome["collision"] and run.outcome["ego_stopped"]

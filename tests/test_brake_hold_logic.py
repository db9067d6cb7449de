"""tkfw.ttc.hold_brake, rule by rule, on CPython: what the collision cause asks the arbiter for
once a brake request has been raised."""

from tkfw import alerts
from tkfw.settings import Settings
from tkfw.ttc import Threat, hold_brake

ST = Settings()
CLEAR = ST.brake_clear_ms
MOVING = 20_000  # mm/s
STOPPED = 0


def raised(t_ms=0):
    threat = Threat()
    threat.target_id = 1  # decide() found a closing in-path target
    assert hold_brake(threat, alerts.EMERGENCY, t_ms, MOVING, False, CLEAR) == alerts.EMERGENCY
    assert threat.brake_hold
    return threat


def test_held_while_an_in_path_target_still_closes_whatever_the_ttc_now_says():
    threat = raised()
    for t in range(50, 3000, 50):
        assert hold_brake(threat, alerts.NONE, t, MOVING, False, CLEAR) == alerts.EMERGENCY


def test_released_only_once_nothing_has_closed_in_for_the_clear_time():
    threat = raised()
    threat.target_id = -1  # closing stopped (or the target left the path)
    assert hold_brake(threat, alerts.NONE, 100, MOVING, False, CLEAR) == alerts.EMERGENCY
    assert hold_brake(threat, alerts.NONE, 100 + CLEAR - 1, MOVING, False, CLEAR) == alerts.EMERGENCY
    assert hold_brake(threat, alerts.NOTICE, 100 + CLEAR, MOVING, False, CLEAR) == alerts.NOTICE
    assert not threat.brake_hold


def test_a_target_lost_for_a_frame_restarts_the_clear_time():
    threat = raised()
    threat.target_id = -1
    assert hold_brake(threat, alerts.NONE, 100, MOVING, False, CLEAR) == alerts.EMERGENCY
    threat.target_id = 1  # back, still closing
    assert hold_brake(threat, alerts.TAKEOVER, 150, MOVING, False, CLEAR) == alerts.EMERGENCY
    threat.target_id = -1
    assert hold_brake(threat, alerts.NONE, 200, MOVING, False, CLEAR) == alerts.EMERGENCY
    assert hold_brake(threat, alerts.NONE, 100 + CLEAR, MOVING, False, CLEAR) == alerts.EMERGENCY  # 200 + CLEAR is due
    assert hold_brake(threat, alerts.NONE, 200 + CLEAR, MOVING, False, CLEAR) == alerts.NONE


def test_at_a_standstill_the_car_is_held_until_the_driver_acts():
    threat = raised()
    threat.target_id = -1  # stopped behind it: nothing closes in any more
    for t in range(50, 60_000, 500):
        assert hold_brake(threat, alerts.NONE, t, STOPPED, False, CLEAR) == alerts.EMERGENCY
    assert hold_brake(threat, alerts.NONE, 60_000, STOPPED, True, CLEAR) == alerts.NONE
    assert not threat.brake_hold


def test_a_driver_override_releases_at_once_and_caps_the_collision_cue_at_takeover():
    threat = raised()
    assert hold_brake(threat, alerts.EMERGENCY, 50, MOVING, True, CLEAR) == alerts.TAKEOVER
    assert not threat.brake_hold
    assert hold_brake(threat, alerts.WARNING, 100, MOVING, True, CLEAR) == alerts.WARNING
    # the override ends while the threat still calls for braking: the request comes back
    assert hold_brake(threat, alerts.EMERGENCY, 150, MOVING, False, CLEAR) == alerts.EMERGENCY


def test_a_new_drive_forgets_the_hold():
    threat = raised()
    threat.reset()
    assert not threat.brake_hold and not threat.clearing

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


# -- plausibility before braking: how long and how consistent a track must be -------------------
def _frames(threat, frames, settings=ST):
    """Each frame's [(id, range mm, range rate mm/s, lateral mm)] through decide() and track(),
    50 ms apart; the confirmed level of each."""
    from array import array

    levels = []
    for k, targets in enumerate(frames):
        words = array("i")
        for record in targets:
            words.extend(record)
        threat.decide(words, 0, len(targets), settings, 50 * k, settings.reaction_ms)
        threat.track(words, 0, len(targets), settings, 50 * k)
        levels.append(threat.level)
    return levels


def test_a_ghost_of_up_to_three_frames_never_asks_for_the_brake():
    for length in (1, 2, 3):
        ghost = [[(66, 15_000 - 1_400 * k, -28_000, 0)] for k in range(length)]
        levels = _frames(Threat(), [[]] + ghost + [[], []])
        assert alerts.EMERGENCY not in levels, (length, levels)


def test_a_car_cutting_in_10_m_ahead_closing_at_30_kmh_is_braked_for_150_ms_after_it_appears():
    closing = 30_000 // 36 * 10  # 30 km/h in mm/s
    cut_in = [[(5, 10_000 - closing * 50 * k // 1000, -closing, 0)] for k in range(6)]
    levels = _frames(Threat(), [[]] * 3 + cut_in)[3:]
    assert levels.index(alerts.EMERGENCY) * 50 <= 150, levels
    assert alerts.TAKEOVER in levels[:levels.index(alerts.EMERGENCY)]  # the cue came first


def test_a_return_that_jumps_restarts_its_count_and_delays_the_brake_request():
    closing = 20_000
    steady = [[(8, 30_000 - 1_000 * k, -closing, 0)] for k in range(8)]
    jumped = [[(8, 30_000 - 1_000 * k - (5_000 if k >= 2 else 0), -closing, 0)] for k in range(8)]
    first_steady = _frames(Threat(), steady).index(alerts.EMERGENCY)
    first_jumped = _frames(Threat(), jumped).index(alerts.EMERGENCY)
    assert first_steady == ST.brake_confirm_n - 1
    assert first_jumped == 2 + ST.brake_confirm_n - 1  # counted again from the frame of the jump

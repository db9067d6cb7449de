"""Firmware decision logic on CPython: the alert table, the settings, time-to-collision.

Expected numbers come from the Settings object and from physics (TTC = range / closing speed),
never from hard-coded thresholds, so the tests follow the settings table when it is retuned.
"""

import math

import pytest

from tkfw import alerts, schema
from tkfw.settings import CEILING, FLOOR, SPEC, Settings, device_name, to_device
from tkfw.ttc import NO_TTC, Threat, level_for

ALERT_LEVELS = (alerts.NOTICE, alerts.WARNING, alerts.TAKEOVER, alerts.EMERGENCY)
THRESHOLDS = (  # (settings attribute, level reached at or below it), most severe first
    ("ttc_emergency_ms", alerts.EMERGENCY),
    ("ttc_takeover_ms", alerts.TAKEOVER),
    ("ttc_warning_ms", alerts.WARNING),
    ("ttc_notice_ms", alerts.NOTICE),
)
TTC_CAP_MS = 60_000  # ttc.py: beyond a minute a TTC means nothing
KEY = {row[0]: k for k, row in enumerate(SPEC)}
SCALE = {"_mps2": 1000, "_mps": 1000, "_s": 1000, "_m": 1000, "_frames": 1, "_count": 1}  # physical -> device


def _unit_suffix(name):
    return next(suffix for suffix in SCALE if name.endswith(suffix))


# -- alert table ---------------------------------------------------------------------------------
def test_priority_rises_with_level_for_every_cause():
    for cause in range(1, len(alerts.CAUSES)):
        rows = [r for r in alerts.TABLE if r[alerts.CAUSE] == cause and r[alerts.LEVEL] > alerts.NONE]
        rows.sort(key=lambda r: r[alerts.LEVEL])
        priorities = [r[alerts.PRIORITY] for r in rows]
        assert priorities == sorted(set(priorities)), (alerts.CAUSES[cause], priorities)
        assert all(p > alerts.TABLE[0][alerts.PRIORITY] for p in priorities)


def test_every_cause_has_a_row_for_each_level_it_can_ask_for_and_no_other():
    assert len(alerts.CAUSE_LEVELS) == len(alerts.CAUSES)
    rows = {(r[alerts.LEVEL], r[alerts.CAUSE]) for r in alerts.TABLE[1:]}
    wanted = {(level, cause) for cause, levels in enumerate(alerts.CAUSE_LEVELS) for level in levels}
    assert rows == wanted
    for level, cause in wanted:
        row = alerts.row_for(level, cause)
        assert (row[alerts.LEVEL], row[alerts.CAUSE]) == (level, cause)


def test_a_higher_level_always_wins_and_collision_wins_a_tie():
    rows = sorted(alerts.TABLE[1:], key=lambda r: r[alerts.PRIORITY])
    assert [r[alerts.LEVEL] for r in rows] == sorted(r[alerts.LEVEL] for r in rows)
    assert len({r[alerts.PRIORITY] for r in rows}) == len(rows)
    for level in ALERT_LEVELS:
        same = [r for r in rows if r[alerts.LEVEL] == level]
        if any(r[alerts.CAUSE] == alerts.CAUSE_COLLISION for r in same):
            assert same[-1][alerts.CAUSE] == alerts.CAUSE_COLLISION


def test_outputs_escalate_visual_then_audible_then_haptic_then_brake():
    """Every cause: visual from NOTICE, audible from WARNING, haptic from TAKEOVER, and at
    EMERGENCY the brake request (collision) or the minimal-risk request (driver monitor)."""
    first_level = {alerts.OUT_VISUAL: alerts.NOTICE, alerts.OUT_AUDIBLE: alerts.WARNING,
                   alerts.OUT_HAPTIC: alerts.TAKEOVER}
    for cause in range(1, len(alerts.CAUSES)):
        previous = 0
        for level in alerts.CAUSE_LEVELS[cause]:
            bits = alerts.outputs_of(alerts.row_for(level, cause))
            for output, from_level in first_level.items():
                assert bool(bits & output) == (level >= from_level), (alerts.LEVELS[level], output)
            stop = alerts.OUT_BRAKE if cause == alerts.CAUSE_COLLISION else alerts.OUT_MRM
            assert bits & (alerts.OUT_BRAKE | alerts.OUT_MRM) == (stop if level == alerts.EMERGENCY else 0)
            assert bits & previous == previous  # never drops an output while escalating
            previous = bits


def test_the_none_alert_drives_nothing_and_unknown_rows_fall_back_to_it():
    assert alerts.outputs_of(alerts.TABLE[0]) == 0
    assert alerts.row_for(alerts.EMERGENCY, len(alerts.CAUSES)) is alerts.TABLE[0]
    assert alerts.row_for(alerts.NONE, alerts.CAUSE_COLLISION) is alerts.TABLE[0]


def test_the_arbiter_reports_a_change_only_when_the_shown_alert_changes():
    arb = alerts.Arbiter()
    assert (arb.level, arb.cause) == (alerts.NONE, alerts.CAUSE_NONE)
    arb.request(alerts.CAUSE_COLLISION, alerts.WARNING, 100)
    assert arb.decide() is True and (arb.level, arb.cause) == (alerts.WARNING, alerts.CAUSE_COLLISION)
    arb.request(alerts.CAUSE_COLLISION, alerts.WARNING, 200)
    assert arb.decide() is False
    arb.request(alerts.CAUSE_COLLISION, alerts.EMERGENCY, 300)
    assert arb.decide() is True and arb.row is alerts.row_for(alerts.EMERGENCY, alerts.CAUSE_COLLISION)
    shown_for = arb.row[alerts.MIN_DURATION_MS]
    arb.request(alerts.CAUSE_COLLISION, alerts.NONE, 300 + shown_for)  # no hysteresis asked for
    assert arb.decide() is True and arb.level == alerts.NONE and arb.row is alerts.TABLE[0]


def test_skipping_requests_at_the_settled_level_changes_nothing():
    """The frame path skips request() when the level equals arbiter.settled[cause], and decide()
    when nothing changed: over random request streams, an arbiter that is always asked and always
    decides shows the same alerts at the same times."""
    import random

    rng = random.Random(3)
    for _ in range(200):
        full, lazy = alerts.Arbiter(), alerts.Arbiter()
        t_ms = 0
        for _ in range(300):
            t_ms += rng.choice((10, 50, 50, 50, 400, 1500))
            hold = rng.choice((0, 500))
            for cause in range(1, len(alerts.CAUSES)):
                level = rng.choice((alerts.NONE, alerts.NONE, *alerts.CAUSE_LEVELS[cause]))
                full.request(cause, level, t_ms, hold)
                if level != lazy.settled[cause]:
                    lazy.request(cause, level, t_ms, hold)
                assert lazy.settled[cause] == (lazy.requested[cause] if lazy.low_level[cause] < 0 else -1)
            changed = full.decide()
            assert changed == (lazy.changed and lazy.decide())
            assert (full.row, full.requested, full.since_ms) == (lazy.row, lazy.requested, lazy.since_ms)


# -- settings ------------------------------------------------------------------------------------
def test_defaults_sit_within_their_bounds_in_physical_and_device_units():
    s = Settings()
    for key, (name, default, _unit, lo, hi, _safety, why) in enumerate(SPEC):
        assert lo <= default <= hi, name
        assert why, name
        value, lo_dev, hi_dev = s.bounds(key)
        scale = SCALE[_unit_suffix(name)]
        assert value == getattr(s, device_name(name)) == round(default * scale)
        assert getattr(s, name) == default
        assert (lo_dev, hi_dev) == (round(lo * scale), round(hi * scale))
        assert lo_dev <= value <= hi_dev


def test_device_names_swap_the_unit_suffix():
    assert device_name("ttc_warning_s") == "ttc_warning_ms"
    assert device_name("lane_half_width_m") == "lane_half_width_mm"
    assert device_name("closing_min_mps") == "closing_min_mm_s"
    assert to_device("ttc_warning_s", 4.0) == 4000
    assert device_name("decel_warning_mps2") == "decel_warning_mm_s2"
    assert device_name("confirm_frames") == "confirm_n" and to_device("confirm_frames", 2) == 2
    assert len(set(device_name(r[0]) for r in SPEC)) == len(SPEC)


@pytest.mark.parametrize("key", [k for k, row in enumerate(SPEC) if row[5] == FLOOR])
def test_a_value_below_a_safety_floor_is_refused_and_changes_nothing(key):
    s = Settings()
    name = SPEC[key][0]
    value, lo, _ = s.bounds(key)
    digest = s.digest()
    assert s.set_device(key, lo - 1) == schema.CONFIG_BELOW_FLOOR
    assert s.set_device(key, -10**6) == schema.CONFIG_BELOW_FLOOR
    assert getattr(s, device_name(name)) == value and getattr(s, name) == SPEC[key][1]
    assert s.digest() == digest


@pytest.mark.parametrize("key", [k for k, row in enumerate(SPEC) if row[5] != FLOOR])
def test_a_value_below_the_lowest_of_an_ordinary_setting_is_out_of_range(key):
    s = Settings()
    value, lo, _ = s.bounds(key)
    assert s.set_device(key, lo - 1) == schema.CONFIG_OUT_OF_RANGE
    assert s.bounds(key)[0] == value


@pytest.mark.parametrize("key", range(len(SPEC)))
def test_a_value_above_the_highest_is_refused_and_changes_nothing(key):
    s = Settings()
    value, _, hi = s.bounds(key)
    digest = s.digest()
    refused = schema.CONFIG_ABOVE_CEILING if SPEC[key][5] == CEILING else schema.CONFIG_OUT_OF_RANGE
    assert s.set_device(key, hi + 1) == refused
    assert s.set_device(key, 10**6) == refused
    assert s.bounds(key)[0] == value and s.digest() == digest


def test_every_safety_setting_says_which_bound_protects_and_why():
    for name, _, _, _, _, safety, why in SPEC:
        assert safety in (None, FLOOR, CEILING), name
        if safety is not None:
            assert len(why) > 40, name


@pytest.mark.parametrize("key", range(len(SPEC)))
def test_the_bounds_themselves_are_accepted_in_both_units(key):
    s = Settings()
    name = SPEC[key][0]
    _, lo, hi = s.bounds(key)
    for value in (lo, hi):
        assert s.set_device(key, value) == schema.CONFIG_OK
        assert getattr(s, device_name(name)) == value
        assert getattr(s, name) == pytest.approx(value / SCALE[_unit_suffix(name)])


@pytest.mark.parametrize("key", [len(SPEC), len(SPEC) + 1, 255, -1])
def test_an_unknown_key_is_refused(key):
    s = Settings()
    before = [s.bounds(k) for k in range(len(SPEC))]
    assert s.set_device(key, 1000) == schema.CONFIG_UNKNOWN_KEY
    assert [s.bounds(k) for k in range(len(SPEC))] == before


def test_the_digest_follows_every_value_change():
    s = Settings()
    seen = {s.digest()}
    original = s.digest()
    for key in range(len(SPEC)):
        value, lo, hi = s.bounds(key)
        new = value + 1 if value < hi else value - 1
        assert s.set_device(key, new) == schema.CONFIG_OK
        assert s.digest() not in seen, SPEC[key][0]
        seen.add(s.digest())
        assert 0 <= s.digest() < 1 << 30  # a small int on the board
        assert s.set_device(key, value) == schema.CONFIG_OK
    assert s.digest() == original == Settings().digest()


def test_default_ttc_thresholds_are_ordered_notice_warning_takeover_emergency():
    s = Settings()
    values = [getattr(s, name) for name, _ in THRESHOLDS]
    assert values == sorted(values) and len(set(values)) == len(values)
    assert s.ttc_notice_ms > s.ttc_warning_ms > s.ttc_takeover_ms > s.ttc_emergency_ms > 0


# -- ttc -----------------------------------------------------------------------------------------
FIELD_INDEX = {name: k for k, (name, _, _) in enumerate(schema.TARGET_FIELDS)}


def records(targets, first_word=0):
    """Target records (dicts of id, range mm, range_rate mm/s, lateral mm) in an int32 memoryview."""
    words = memoryview(bytearray(4 * (first_word + 4 * len(targets) + 1))).cast("i")
    for k, t in enumerate(targets):
        for name, value in t.items():
            words[first_word + 4 * k + FIELD_INDEX[name]] = value
    return words


def car(tid, range_mm, closing_mm_s, lateral_mm=0):
    return {"id": tid, "range": range_mm, "range_rate": -closing_mm_s, "lateral": lateral_mm}


def assess(targets, settings=None, first_word=0):
    settings = settings or Settings()
    threat = Threat()
    ttc = threat.assess(records(targets, first_word), first_word, len(targets), settings)
    assert ttc == threat.ttc_ms
    return threat


def range_for(ttc_ms, closing_mm_s):
    """Range (mm) at which a target closing at closing_mm_s is ttc_ms away."""
    return ttc_ms * closing_mm_s // 1000


def test_the_closest_in_path_closing_target_is_the_threat():
    s = Settings()
    closing = 15_000  # 54 km/h
    targets = [car(1, 80_000, closing), car(2, 30_000, closing // 2, lateral_mm=500),
               car(3, 45_000, 2 * closing, lateral_mm=-700)]
    threat = assess(targets, s)
    assert threat.target_id == 2 and threat.range_mm == 30_000 and threat.closing_mm_s == closing // 2
    assert threat.ttc_ms == 30_000 * 1000 // (closing // 2)


def test_ttc_is_range_over_closing_speed_in_integer_milliseconds():
    for range_mm, closing in [(40_000, 13_889), (1, 300), (250_000, 36_111), (999_999, 17_000), (12_345, 6_789)]:
        assert assess([car(5, range_mm, closing)]).ttc_ms == min(range_mm * 1000 // closing, TTC_CAP_MS)


def test_targets_outside_the_lane_half_width_are_ignored():
    s = Settings()
    half = s.lane_half_width_mm
    targets = [car(1, 5_000, 10_000, half + 1), car(2, 6_000, 10_000, -half - 1), car(3, 50_000, 10_000, half)]
    assert assess(targets, s).target_id == 3
    assert assess([car(4, 50_000, 10_000, -half)], s).target_id == 4
    assert assess(targets[:2], s).ttc_ms == NO_TTC


def test_a_narrower_configured_lane_drops_a_target_it_used_to_see():
    s = Settings()
    key = KEY["lane_half_width_m"]
    _, lo, _ = s.bounds(key)
    lateral = (lo + s.lane_half_width_mm) // 2
    assert assess([car(1, 20_000, 5_000, lateral)], s).target_id == 1
    assert s.set_device(key, lo) == schema.CONFIG_OK
    assert assess([car(1, 20_000, 5_000, lateral)], s).ttc_ms == NO_TTC


def test_opening_and_slowly_closing_targets_are_ignored():
    s = Settings()
    slow = s.closing_min_mm_s
    targets = [car(1, 5_000, -3_000), car(2, 6_000, 0), car(3, 7_000, slow - 1), car(4, 70_000, slow)]
    threat = assess(targets, s)
    assert threat.target_id == 4 and threat.ttc_ms == min(70_000 * 1000 // slow, TTC_CAP_MS)
    assert assess(targets[:3], s).ttc_ms == NO_TTC
    assert assess(targets[:3], s).target_id == -1


def test_no_targets_means_no_ttc_and_no_alert():
    s = Settings()
    assert assess([], s).ttc_ms == NO_TTC
    assert level_for(NO_TTC, s) == alerts.NONE


def test_a_target_already_overlapping_has_ttc_zero_and_calls_for_emergency():
    s = Settings()
    threat = assess([car(1, 40_000, 10_000), car(2, -200, 1_000)], s)
    assert threat.target_id == 2 and threat.ttc_ms == 0
    assert level_for(threat.ttc_ms, s) == alerts.EMERGENCY


def test_ttc_beyond_a_minute_is_capped():
    threat = assess([car(1, 900_000, 1_000)])  # 900 s away
    assert threat.ttc_ms == TTC_CAP_MS


def test_records_are_read_from_the_given_first_word():
    s = Settings()
    closing = 20_000
    first = (schema.HEADER_LEN + schema.RADAR_TARGETS_AT) // 4
    ttc_ms = (s.ttc_warning_ms + s.ttc_takeover_ms) // 2
    threat = assess([car(9, range_for(ttc_ms, closing), closing)], s, first_word=first)
    assert threat.target_id == 9 and threat.ttc_ms == ttc_ms


@pytest.mark.parametrize("threshold, level", THRESHOLDS)
def test_level_for_maps_ttcs_just_inside_and_outside_each_threshold(threshold, level):
    s = Settings()
    t = getattr(s, threshold)
    assert level_for(t, s) == level
    assert level_for(t - 1, s) == level
    assert level_for(t + 1, s) == level - 1  # the next milder level just outside


def test_level_for_spans_every_level_from_none_to_emergency():
    s = Settings()
    assert level_for(0, s) == alerts.EMERGENCY
    assert level_for(s.ttc_notice_ms + 1, s) == alerts.NONE
    assert level_for(TTC_CAP_MS, s) == alerts.NONE
    assert level_for(NO_TTC, s) == alerts.NONE


@pytest.mark.parametrize("threshold, level", THRESHOLDS)
def test_a_car_closing_at_highway_speed_alerts_at_each_threshold_distance(threshold, level):
    """Physics end to end: at 30 m/s, the range that is exactly the threshold TTC away."""
    s = Settings()
    closing = 30_000
    t = getattr(s, threshold)
    at = assess([car(1, range_for(t, closing), closing)], s)
    assert at.ttc_ms == t and level_for(at.ttc_ms, s) == level
    beyond = assess([car(1, range_for(t, closing) + closing // 1000 + 1, closing)], s)
    assert beyond.ttc_ms > t and level_for(beyond.ttc_ms, s) == level - 1


def test_level_for_follows_reconfigured_thresholds():
    s = Settings()
    key = KEY["ttc_warning_s"]
    _, _, hi = s.bounds(key)
    ttc = (s.ttc_warning_ms + min(hi, s.ttc_notice_ms)) // 2 + 1
    assert level_for(ttc, s) == alerts.NOTICE
    assert s.set_device(key, hi) == schema.CONFIG_OK
    assert level_for(ttc, s) == alerts.WARNING


# -- FIRMWARE BUG (left failing on purpose; see the docstring) ------------------------------------
def test_ttc_of_an_in_path_target_beyond_1_km_is_exact():
    """Regression: the range used to be clamped to 1 km before dividing (1.2 km at 40 m/s gave 25 s)."""
    s = Settings()
    closing = 40_000  # 144 km/h
    range_mm = 1_200_000
    expected = min(range_mm * 1000 // closing, TTC_CAP_MS)  # 30 000 ms
    assert assess([car(1, range_mm, closing)], s).ttc_ms == expected


# -- enhanced TTC, required deceleration, confirmation, selection, ladder ---------------
from tkfw.ttc import A_IMPOSSIBLE, a_req, enhanced_ttc  # noqa: E402

ATTENTIVE = -1  # Threat.assess reaction_ms: -1 = settings.reaction_ms (the driver monitor says attentive)
FRAME_MS = 50  # 20 Hz radar


def drive(frames, settings=None, flags=ATTENTIVE, threat=None, t0_ms=0):
    """Feed frames (lists of targets) 50 ms apart through one Threat; return the per-frame levels."""
    settings = settings or Settings()
    threat = threat or Threat()
    levels = []
    for k, targets in enumerate(frames):
        threat.assess(records(targets), 0, len(targets), settings, t0_ms + k * FRAME_MS, flags)
        levels.append(threat.level)
    return threat, levels


def approach(range_m, closing_mps, frames, tid=7, accel_mps2=0.0, lateral_mm=0):
    """A target closing at closing_mps (+ accel_mps2, closing positive) from range_m, frame by frame."""
    out = []
    r, v = range_m, closing_mps
    for _ in range(frames):
        out.append([car(tid, round(r * 1000), round(v * 1000), lateral_mm)])
        dt = FRAME_MS / 1000
        r -= v * dt + 0.5 * accel_mps2 * dt * dt
        v += accel_mps2 * dt
    return out


def physical_a_req(v, gap, reaction_s, margin):
    left = gap - margin - v * reaction_s
    return math.inf if left <= 0 else v * v / (2 * left)


def test_enhanced_ttc_with_a_braking_lead_is_the_root_of_the_motion_equation():
    gap_m, v, a = 40.0, 10.0, 4.0  # lead brakes: closing grows at 4 m/s^2
    physical = (-v + math.sqrt(v * v + 2 * a * gap_m)) / a
    plain = round(gap_m / v * 1000)
    got = enhanced_ttc(round(gap_m * 1000), round(v * 1000), round(a * 1000), plain)
    assert got < plain
    assert got == pytest.approx(physical * 1000, abs=5)


def test_enhanced_ttc_is_none_when_the_closing_stops_short_of_the_gap():
    gap_m, v, a = 40.0, 10.0, -3.0  # closing decays to zero after 16.7 m
    assert v * v / (2 * -a) < gap_m
    assert enhanced_ttc(round(gap_m * 1000), round(v * 1000), round(a * 1000), 4000) == NO_TTC
    # ... but reaches the target when it is closer than that stopping distance
    physical = (v - math.sqrt(v * v + 2 * a * 10.0)) / -a
    assert enhanced_ttc(10_000, 10_000, -3_000, 1000) == pytest.approx(physical * 1000, abs=5)


def test_a_lead_braking_hard_is_tracked_and_shortens_the_ttc():
    s = Settings()
    threat, _ = drive(approach(40.0, 2.0, 12, accel_mps2=6.0), s)
    assert threat.accel_mm_s2 > 3_000  # low-passed estimate on its way to 6 m/s^2
    assert threat.ettc_ms < threat.ttc_ms


def test_required_deceleration_with_and_without_the_reaction_delay():
    s = Settings()
    v, gap = 32.2, 120.0
    margin = s.stop_margin_mm / 1000
    now = a_req(round(v * 1000), round(gap * 1000), 0, s.stop_margin_mm)
    late = a_req(round(v * 1000), round(gap * 1000), s.reaction_ms, s.stop_margin_mm)
    assert now == pytest.approx(physical_a_req(v, gap, 0, margin) * 1000, rel=0.01)
    assert late == pytest.approx(physical_a_req(v, gap, s.reaction_s, margin) * 1000, rel=0.01)
    assert late > now
    # the reaction alone uses up the gap: impossible
    too_close = round((v * s.reaction_s + margin) * 1000) - 1
    assert a_req(round(v * 1000), too_close, s.reaction_ms, s.stop_margin_mm) == A_IMPOSSIBLE
    assert a_req(round(v * 1000), s.stop_margin_mm, 0, s.stop_margin_mm) == A_IMPOSSIBLE
    assert a_req(0, 10_000, s.reaction_ms, s.stop_margin_mm) == 0


def test_the_per_target_level_is_the_documented_functions_composed():
    """ttc._level_of works the rows out in one function for speed on the board: it must agree
    with level_with_decel(level_for(enhanced_ttc)), a_req now and after the reaction, everywhere."""
    import random

    from tkfw import ttc

    rng = random.Random(5)
    s = Settings()
    threat = Threat()
    for _ in range(20_000):
        closing = rng.choice((s.closing_min_mm_s, rng.randrange(s.closing_min_mm_s, 100_001)))
        gap = rng.choice((0, rng.randrange(0, 3_000), rng.randrange(0, 300_000), rng.randrange(0, 3_000_000)))
        accel = rng.choice((0, rng.randrange(-15_000, 15_001), rng.randrange(-400, 401)))
        reaction = rng.choice((s.reaction_ms, s.reaction_distracted_ms, rng.randrange(0, 3_001)))
        margin = rng.choice((s.stop_margin_mm, rng.randrange(500, 3_001)))
        plain = ttc._TTC_CAP_MS if gap >= closing * 60 else gap * 1000 // closing
        ettc = ttc.enhanced_ttc(gap, closing, accel, plain)
        a_now = ttc.a_req(closing, gap, 0, margin)
        a_driver = ttc.a_req(closing, gap, reaction, margin)
        want = ttc.level_with_decel(level_for(ettc, s), a_now, a_driver, s)
        got = ttc._level_of(threat, gap, closing, accel, reaction, margin, s)
        figures = (threat._ttc, threat._ettc, threat._a_now, threat._a_driver)
        assert (got, figures) == (want, (plain, ettc, a_now, a_driver)), (closing, gap, accel, reaction, margin)


def test_a_ghost_target_for_one_frame_never_raises_a_warning():
    s = Settings()
    ghost = [car(66, 15_000, 28_000)]  # TTC 0.54 s: would be EMERGENCY
    frames = [[], [], ghost, [], [], []]
    _, levels = drive(frames, s)
    assert max(levels) < alerts.WARNING
    arb = alerts.Arbiter()
    for k, level in enumerate(levels):
        arb.request(alerts.CAUSE_COLLISION, level, k * FRAME_MS, s.deescalate_hold_ms)
        arb.decide()
        assert arb.level < alerts.WARNING


def test_a_barrier_appearing_at_60_m_at_116_kmh_warns_within_two_frames_and_brakes_at_the_fourth():
    s = Settings()
    v = 116 / 3.6
    assert s.confirm_n <= 2 and s.brake_confirm_n == 4
    _, levels = drive(approach(60.0, v, 4), s)
    # raw EMERGENCY from the first frame: NOTICE, then the confirmed cue without braking, then the
    # brake request once the track is long enough to be no ghost
    assert levels == [alerts.NOTICE, alerts.TAKEOVER, alerts.TAKEOVER, alerts.EMERGENCY]


def test_the_su7_barrier_warns_at_150_m_detection_and_brakes_at_least_0_8_s_later():
    s = Settings()
    v = 116 / 3.6
    frames = approach(150.0, v, 100)
    _, levels = drive(frames, s)
    first_warning = levels.index(alerts.WARNING) if alerts.WARNING in levels else None
    first_emergency = levels.index(alerts.EMERGENCY)
    assert first_warning is not None and first_warning == s.confirm_n - 1
    assert (first_emergency - first_warning) * FRAME_MS >= 800  # UN R152
    # physics: the brake request comes while the AEB limit can still stop the car
    gap_at_brake = 150.0 - v * first_emergency * FRAME_MS / 1000
    assert physical_a_req(v, gap_at_brake, 0, s.stop_margin_mm / 1000) <= 8.3


def _first_warning_range_m(reaction_ms):
    s = Settings()
    frames = approach(250.0, 25.0, 200)
    _, levels = drive(frames, s, flags=reaction_ms)
    k = levels.index(alerts.WARNING)
    return frames[k][0]["range"] / 1000


def test_a_distracted_driver_is_warned_earlier_than_an_attentive_one():
    s = Settings()
    attentive = _first_warning_range_m(s.reaction_ms)
    distracted = _first_warning_range_m(s.reaction_distracted_ms)  # what tkfw.dm hands over
    # the extra reaction time at 25 m/s, less a frame of quantisation
    extra_m = 25.0 * (s.reaction_distracted_s - s.reaction_s)
    assert distracted >= attentive + extra_m - 25.0 * FRAME_MS / 1000


def test_de_escalation_waits_for_the_minimum_duration_and_the_hysteresis():
    s = Settings()
    arb = alerts.Arbiter()
    hold = s.deescalate_hold_ms
    arb.request(alerts.CAUSE_COLLISION, alerts.WARNING, 1000, hold)
    arb.decide()
    min_ms = arb.row[alerts.MIN_DURATION_MS]
    t = 1000
    while t < 1000 + max(min_ms, hold) + 10 * FRAME_MS:
        t += FRAME_MS
        arb.request(alerts.CAUSE_COLLISION, alerts.NONE, t, hold)
        arb.decide()
        if arb.level == alerts.NONE:
            break
    # the lower request started at 1050: both the minimum duration and the hold must have passed
    assert arb.level == alerts.NONE
    assert t - 1000 >= min_ms and t - (1000 + FRAME_MS) >= hold
    assert t - FRAME_MS - 1000 < min_ms or t - FRAME_MS - (1000 + FRAME_MS) < hold  # not a frame later


def test_escalation_is_immediate_and_a_brief_dip_does_not_lower_the_alert():
    s = Settings()
    arb = alerts.Arbiter()
    hold = s.deescalate_hold_ms
    arb.request(alerts.CAUSE_COLLISION, alerts.NOTICE, 0, hold)
    arb.decide()
    t = 5000  # long after the minimum duration
    arb.request(alerts.CAUSE_COLLISION, alerts.TAKEOVER, t, hold)
    assert arb.decide() and arb.level == alerts.TAKEOVER
    t += arb.row[alerts.MIN_DURATION_MS]
    arb.request(alerts.CAUSE_COLLISION, alerts.NONE, t, hold)  # one dip (a ghost-free frame) ...
    arb.request(alerts.CAUSE_COLLISION, alerts.TAKEOVER, t + FRAME_MS, hold)  # ... then back
    arb.request(alerts.CAUSE_COLLISION, alerts.NONE, t + 2 * FRAME_MS, hold)
    arb.decide()
    assert arb.level == alerts.TAKEOVER  # the hold restarts after every return
    arb.request(alerts.CAUSE_COLLISION, alerts.NONE, t + 2 * FRAME_MS + hold, hold)
    arb.decide()
    assert arb.level == alerts.NONE


def test_the_threat_does_not_flicker_between_two_similar_targets():
    s = Settings()
    assert s.switch_margin_mm > 300
    frames = []
    for k in range(20):  # two reflections of one car swap order every frame by 30 cm
        near, far = (40_000 - 500 * k, 40_300 - 500 * k) if k % 2 else (40_300 - 500 * k, 40_000 - 500 * k)
        frames.append([car(1, near, 10_000), car(2, far, 10_000)])
    threat = Threat()
    chosen = []
    for k, targets in enumerate(frames):
        threat.assess(records(targets), 0, 2, s, k * FRAME_MS, ATTENTIVE)
        chosen.append(threat.target_id)
    assert len(set(chosen)) == 1


def test_a_clearly_closer_target_takes_over_the_threat():
    s = Settings()
    threat = Threat()
    threat.assess(records([car(1, 60_000, 10_000)]), 0, 1, s, 0, ATTENTIVE)
    closer = 60_000 - s.switch_margin_mm - 1
    threat.assess(records([car(1, 59_500, 10_000), car(2, closer - 500, 10_000)]), 0, 2, s, FRAME_MS, ATTENTIVE)
    assert threat.target_id == 2


def test_levels_follow_the_decel_rows_where_they_are_stricter_than_ttc():
    """At 116 km/h the deceleration rows reach every level at a longer range than the TTC rows."""
    s = Settings()
    v = 116 / 3.6
    margin = s.stop_margin_mm / 1000
    warn_gap = v * s.reaction_s + margin + v * v / (2 * s.decel_warning_mm_s2 / 1000)
    emergency_gap = margin + v * v / (2 * s.decel_emergency_mm_s2 / 1000)
    assert warn_gap / v > s.ttc_warning_s and emergency_gap / v > s.ttc_emergency_s
    _, inside = drive(approach(warn_gap - 1.0, v, 2), s)
    _, outside = drive(approach(warn_gap + 3.0, v, 2), s)
    assert inside[-1] == alerts.WARNING and outside[-1] == alerts.NOTICE
    _, brake = drive(approach(emergency_gap - 1.0, v, s.brake_confirm_n), s)
    assert brake[-1] == alerts.EMERGENCY

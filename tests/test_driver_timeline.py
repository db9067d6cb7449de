"""The driver on the host side: the timeline the firmware is told, the reference driver and the
minimal-risk stop that close the loop, and the judge of alert deadlines (CPython, no board)."""

import itertools
import time
from collections import deque

import pytest

import tkfw
from tkfw import schema
from tkfw.alerts import (CAUSE_COLLISION, CAUSE_DROWSY, CAUSE_EYES_OFF, CAUSES, EMERGENCY, LEVELS, OUT_AUDIBLE,
                         OUT_BRAKE, OUT_MRM, OUT_VISUAL, WARNING, outputs_of, row_for)
from tkfw.settings import Settings

from takeover import scenario as scenarios
from takeover.codec import TYPES, Message
from takeover.device import Device
from takeover.plant import KPH, Plant
from takeover.runner import STOPPED_HOLD_S, Pace, Run, _judge, driver_flags, frame_schedule, run_scenario
from takeover.scenario import STATE_KEYS, Expect

RADAR_HZ = 20
DRIVER_HZ = 10
DURATION_S = 4.0
SPEED_KPH = 100
EYES_OFF_AT_S = 1.0  # the driver looks away ...
EYES_CLOSED_AT_S = 2.0  # ... closes their eyes (eyes_on_road carries over: still off) ...
EYES_BACK_AT_S = 3.0  # ... and looks back at the road
COLLISION = CAUSES[CAUSE_COLLISION]
MRM_OUTPUTS = outputs_of(row_for(EMERGENCY, CAUSE_DROWSY))
MRM_DECEL_MPS2 = 2.5  # not the default, so the test sees the key is used


def _text(duration_s=DURATION_S, speed_kph=SPEED_KPH, targets="", driver_hz=DRIVER_HZ, extra=""):
    return f"""
name = "driver-timeline"
description = "the driver looks away, closes their eyes, looks back"
duration_s = {duration_s}
radar_hz = {RADAR_HZ}
[ego]
speed_kph = {speed_kph}
{targets}
[driver]
hands_on = false
driver_hz = {driver_hz}
[[driver.state]]
t_s = {EYES_OFF_AT_S}
eyes_on_road = false
[[driver.state]]
t_s = {EYES_CLOSED_AT_S}
eyes_closed = true
[[driver.state]]
t_s = {EYES_BACK_AT_S}
eyes_on_road = true
eyes_closed = false
hands_on = true
{extra}
"""


def _scenario(**kw):
    return scenarios.parse(_text(**kw), "t.toml")


# -- the timeline -------------------------------------------------------------------------------
@pytest.mark.parametrize("t_s, eyes_on_road, eyes_closed, hands_on", [
    (0.0, True, False, False),  # the [driver] base values
    (EYES_OFF_AT_S - 0.01, True, False, False),
    (EYES_OFF_AT_S, False, False, False),  # an entry holds from its own t_s on
    (EYES_CLOSED_AT_S, False, True, False),  # eyes_on_road carries over from the entry before
    (EYES_BACK_AT_S - 0.01, False, True, False),
    (EYES_BACK_AT_S, True, False, True),
    (DURATION_S * 10, True, False, True),  # the last entry holds to the end
])
def test_the_state_at_a_time_is_the_base_overridden_by_every_entry_due(t_s, eyes_on_road, eyes_closed, hands_on):
    state = _scenario().driver.state_at(t_s)
    assert state == {"hands_on": hands_on, "eyes_on_road": eyes_on_road, "eyes_closed": eyes_closed,
                     "engaged": True, "override": False}


def test_the_report_timeline_lists_the_full_state_from_the_start():
    driver = _scenario().driver
    timeline = driver.timeline()
    assert [row["t_s"] for row in timeline] == [0.0, EYES_OFF_AT_S, EYES_CLOSED_AT_S, EYES_BACK_AT_S]
    for row in timeline:
        assert {k: v for k, v in row.items() if k != "t_s"} == driver.state_at(row["t_s"])
    assert scenarios.Driver().timeline() == [{"t_s": 0.0, **scenarios.Driver().state_at(0.0)}]


@pytest.mark.parametrize("values", list(itertools.product([False, True], repeat=len(STATE_KEYS))))
def test_every_driver_state_maps_to_its_own_flag_bits(values):
    state = dict(zip(STATE_KEYS, values))
    bits = {"hands_on": schema.DRIVER_HANDS_ON, "eyes_on_road": schema.DRIVER_EYES_ON_ROAD,
            "eyes_closed": schema.DRIVER_EYES_CLOSED, "engaged": schema.DRIVER_ENGAGED,
            "override": schema.DRIVER_OVERRIDE}
    assert driver_flags(state) == sum(bits[key] for key, on in state.items() if on)


# -- the schedule -------------------------------------------------------------------------------
@pytest.mark.parametrize("driver_hz", [DRIVER_HZ, 7, 1, 100])
def test_driver_frames_stream_from_zero_to_the_end_interleaved_in_time(driver_hz):
    scn = _scenario(driver_hz=driver_hz)
    schedule = frame_schedule(scn)
    radar = [t for t, is_radar in schedule if is_radar]
    driver = [t for t, is_radar in schedule if not is_radar]
    assert radar == [k / RADAR_HZ for k in range(int(DURATION_S * RADAR_HZ) + 1)]
    assert driver == [j / driver_hz for j in range(int(DURATION_S * driver_hz) + 1)]
    keys = [(round(t * 1000), is_radar) for t, is_radar in schedule]
    assert keys == sorted(keys), "in time order; on the same millisecond the driver frame goes first"
    assert schedule[0] == (0.0, False), "the firmware knows the driver before the first radar frame"


# -- runs through a scripted board ----------------------------------------------------------------
def _ticks():
    """A device ticks_us reading: the host clock, wrapped like MicroPython's."""
    return (time.perf_counter_ns() // 1000) & ((1 << 30) - 1)


class ScriptedBoard:
    """Stands in for takeover.device.Device: answers like the firmware (STATUS to radar frames and
    status requests, PONG to pings, HELLO to INFO_REQ, nothing to driver frames) and raises the
    ALERTs a test scripts on driver frames: {t_ms: (level, cause, outputs)}."""

    port = "scripted"
    wait_for = Device.wait_for  # the real handshake and matching, over this board's queue
    start_session = Device.start_session
    status = Device.status

    def __init__(self, alerts=None):
        self.alerts = alerts or {}
        self.received = []  # (name, seq, fields, targets)
        self.sent = 0
        self.hello = None
        self.sim = None
        self._seq = 0
        self._out = deque()

    def send(self, name, targets=None, **fields):
        seq = self._seq
        self._seq += 1
        self.sent += 1
        self.received.append((name, seq, fields, targets))
        t_ns = time.perf_counter_ns()
        if name == "info_req":
            self._reply("hello", fw_version=tkfw.VERSION, board="scripted", proto=schema.VERSION,
                        max_targets=schema.MAX_TARGETS, settings_hash=Settings().digest(), boot_id=1)
        elif name == "ping":
            self._reply("pong", token=fields["token"], rx_ticks_us=_ticks(), tx_ticks_us=_ticks())
        elif name == "echo":
            self._out.append(Message(TYPES[name], name, seq, {"raw": fields.get("tail", b"")},
                                     t_ns=time.perf_counter_ns()))
        elif name in ("radar", "status_req"):
            self._reply("status", frame_seq=seq, level=0, cause=0, proc_us=0, processed=self.sent, dropped=0,
                        rejected=0, bad_crc=0, skipped_bytes=0, ttc_ms=-1)
        elif name == "driver" and fields["t_ms"] in self.alerts:
            level, cause, outputs = self.alerts[fields["t_ms"]]
            self._reply("alert", frame_seq=seq, level=level, cause=cause, ttc_ms=-1, proc_us=0,
                        t_ms=fields["t_ms"], outputs=outputs, rx_ticks_us=_ticks())
        return seq, t_ns

    def _reply(self, name, **fields):
        self._out.append(Message(TYPES[name], name, 0, fields, t_ns=time.perf_counter_ns()))

    def recv(self, timeout=0.0):
        return self._out.popleft() if self._out else None

    def frames(self, name):
        return [(fields, targets) for n, _, fields, targets in self.received if n == name]


@pytest.mark.parametrize("pace", [Pace(lockstep=True), Pace(speed=50.0)], ids=["lockstep", "50x"])
def test_an_empty_road_streams_radar_frames_for_the_whole_duration(pace):
    board = ScriptedBoard()
    run = run_scenario(board, _scenario(), pace)
    assert run.passed, run.failures
    radar = board.frames("radar")
    assert len(radar) == int(DURATION_S * RADAR_HZ) + 1, "the run must not end early"
    assert all(targets == [] for _, targets in radar)
    assert radar[-1][0]["t_ms"] == DURATION_S * 1000
    assert run.outcome["collision"] is False and run.outcome["min_gap_m"] is None


def test_a_parked_ego_is_not_a_stop_that_ends_the_run():
    board = ScriptedBoard()
    run_scenario(board, _scenario(speed_kph=0), Pace(lockstep=True))
    assert len(board.frames("radar")) == int(DURATION_S * RADAR_HZ) + 1


def test_driver_frames_tell_the_firmware_the_timeline_without_waiting_for_a_reply():
    board = ScriptedBoard()  # it never answers a driver frame: waiting for one would fail the run
    scn = _scenario()
    run_scenario(board, scn, Pace(lockstep=True))
    driver = board.frames("driver")
    assert len(driver) == int(DURATION_S * DRIVER_HZ) + 1
    for fields, _ in driver:
        assert fields["flags"] == driver_flags(scn.driver.state_at(fields["t_ms"] / 1000)), fields
    flags_at = {fields["t_ms"]: fields["flags"] for fields, _ in driver}
    assert not flags_at[round(EYES_OFF_AT_S * 1000)] & schema.DRIVER_EYES_ON_ROAD
    assert flags_at[round(EYES_CLOSED_AT_S * 1000)] & schema.DRIVER_EYES_CLOSED
    assert flags_at[round(EYES_BACK_AT_S * 1000)] & schema.DRIVER_EYES_ON_ROAD


def test_an_alert_caused_by_a_driver_frame_is_dated_at_that_frame():
    t_ms = round(EYES_OFF_AT_S * 1000)
    board = ScriptedBoard({t_ms: (WARNING, CAUSE_EYES_OFF, OUT_VISUAL | OUT_AUDIBLE)})
    run = run_scenario(board, _scenario(), Pace(lockstep=True))
    (alert,) = run.alerts
    driver_seqs = {seq for name, seq, fields, _ in board.received if name == "driver" and fields["t_ms"] == t_ms}
    assert alert["frame_seq"] in driver_seqs
    assert alert["t_s"] == EYES_OFF_AT_S and alert["cause"] == CAUSES[CAUSE_EYES_OFF]
    assert alert["latency_us"] is not None
    assert run.outcome["driver_braked_at_s"] is None, "an eyes-off alert does not make the driver brake"


def test_an_unresponsive_driver_is_stopped_by_the_minimal_risk_manoeuvre():
    duration_s = 60.0  # far longer than the stop: the run must end STOPPED_HOLD_S after it
    board = ScriptedBoard({round(EYES_BACK_AT_S * 1000): (EMERGENCY, CAUSE_DROWSY, MRM_OUTPUTS)})
    scn = _scenario(duration_s=duration_s)
    run = run_scenario(board, scn, Pace(lockstep=True))
    assert run.outcome["ego_stopped"] is True and run.outcome["end_speed_kph"] == 0.0
    stop_s = EYES_BACK_AT_S + scn.aeb.delay_s + SPEED_KPH * KPH / scn.aeb.mrm_decel_mps2
    last_radar_s = board.frames("radar")[-1][0]["t_ms"] / 1000
    assert last_radar_s == pytest.approx(stop_s + STOPPED_HOLD_S, abs=2 / RADAR_HZ)
    assert run.to_json()["driver"]["timeline"] == scn.driver.timeline()


# -- the plant ----------------------------------------------------------------------------------
def _plant(**kw):
    return Plant(_scenario(**kw))


def _run_to(plant, t_s):
    dt = 1 / RADAR_HZ
    while plant.t_s < t_s - 1e-9:
        plant.step(dt)


@pytest.mark.parametrize("cause", [c for c in CAUSES if c not in ("none", COLLISION)])
@pytest.mark.parametrize("level", LEVELS[1:])
def test_the_reference_driver_never_brakes_for_a_driver_monitor_alert(cause, level):
    plant = _plant()
    plant.on_alert(0.0, level, cause, 0)
    assert plant.driver_brake_at_s is None


REFOCUS_S = scenarios.Driver().refocus_s
HMI_S = scenarios.Hmi().latency_ms / 1000


@pytest.mark.parametrize("alert_s, distracted", [
    (0.0, False), (EYES_OFF_AT_S - HMI_S - 0.05, False), (EYES_OFF_AT_S - HMI_S + 0.05, True),
    (EYES_CLOSED_AT_S, True), (EYES_BACK_AT_S, True),
    (EYES_BACK_AT_S + REFOCUS_S - HMI_S - 0.05, True),  # eyes back, the mind not yet
    (EYES_BACK_AT_S + REFOCUS_S - HMI_S + 0.05, False)])
def test_a_driver_looking_away_when_the_warning_comes_reacts_later(alert_s, distracted):
    """The driver perceives the cue the HMI latency after its frame; eyes off the road then, or
    back on it for less than refocus_s, mean the distracted reaction."""
    plant = _plant()
    driver = plant.driver
    plant.on_alert(alert_s, driver.reacts_to, COLLISION, OUT_VISUAL | OUT_AUDIBLE)
    reaction = driver.reaction_distracted_s if distracted else driver.reaction_s
    assert plant.driver_brake_at_s == pytest.approx(alert_s + HMI_S + reaction)
    assert driver.reaction_distracted_s != driver.reaction_s, "the test must tell them apart"
    assert HMI_S > 0.05, "the test must see the HMI latency"


def test_closed_eyes_facing_the_road_count_as_distracted():
    scn = _scenario()
    scn.driver = scenarios.Driver(eyes_on_road=True, eyes_closed=True)
    plant = Plant(scn)
    plant.on_alert(0.0, plant.driver.reacts_to, COLLISION, OUT_VISUAL | OUT_AUDIBLE)
    assert plant.driver_brake_at_s == pytest.approx(HMI_S + plant.driver.reaction_distracted_s)


def test_a_collision_alert_below_reacts_to_does_not_make_the_driver_brake():
    plant = _plant()
    below = LEVELS[LEVELS.index(plant.driver.reacts_to) - 1]
    plant.on_alert(0.0, below, COLLISION, OUT_VISUAL)
    assert plant.driver_brake_at_s is None


def test_the_minimal_risk_request_decelerates_at_mrm_decel_after_the_delay_and_is_released():
    plant = _plant(extra=f"[aeb]\nmrm_decel_mps2 = {MRM_DECEL_MPS2}\n")
    aeb = plant.aeb
    assert aeb.mrm_decel_mps2 == MRM_DECEL_MPS2
    v0 = plant.ego.v_mps
    h = 1 / RADAR_HZ / plant.substeps  # Euler: the request lands on a substep boundary
    request_s, withdraw_s = EYES_OFF_AT_S, EYES_BACK_AT_S
    plant.on_alert(request_s, LEVELS[EMERGENCY], CAUSES[CAUSE_DROWSY], MRM_OUTPUTS)
    plant.on_alert(withdraw_s, LEVELS[WARNING], CAUSES[CAUSE_DROWSY], OUT_VISUAL | OUT_AUDIBLE)
    _run_to(plant, request_s + aeb.delay_s)
    assert plant.ego.v_mps == pytest.approx(v0, abs=aeb.mrm_decel_mps2 * h), "nothing before the delay"
    _run_to(plant, withdraw_s + aeb.delay_s)
    v_released = v0 - aeb.mrm_decel_mps2 * (withdraw_s - request_s)
    assert plant.ego.v_mps == pytest.approx(v_released, abs=2 * aeb.mrm_decel_mps2 * h)
    _run_to(plant, DURATION_S)
    assert plant.ego.v_mps == pytest.approx(v_released, abs=2 * aeb.mrm_decel_mps2 * h), "released"
    assert plant.driver_brake_at_s is None


def test_the_largest_deceleration_wins_and_the_aeb_switch_covers_the_mrm_too():
    plant = _plant()
    aeb, driver = plant.aeb, plant.driver
    plant.on_alert(0.0, driver.reacts_to, COLLISION, OUT_VISUAL | OUT_AUDIBLE)  # the driver will brake
    # Each ALERT carries the outputs of the one alert shown; both bits at once is the worst case.
    plant.on_alert(0.0, LEVELS[EMERGENCY], CAUSES[CAUSE_DROWSY], OUT_BRAKE | OUT_MRM)
    assert plant._ego_decel(aeb.delay_s) == max(aeb.decel_mps2, aeb.mrm_decel_mps2)
    plant.on_alert(aeb.delay_s, LEVELS[EMERGENCY], CAUSES[CAUSE_DROWSY], MRM_OUTPUTS)
    assert plant._ego_decel(2 * aeb.delay_s) == aeb.mrm_decel_mps2, "the brake request was withdrawn"
    full_s = plant.driver_brake_at_s + driver.brake_ramp_s  # the driver's braking has built up
    assert plant._ego_decel(full_s) == max(aeb.mrm_decel_mps2, driver.brake_mps2)
    off = _plant(extra="[aeb]\nenabled = false\n")
    off.on_alert(0.0, LEVELS[EMERGENCY], CAUSES[CAUSE_DROWSY], MRM_OUTPUTS)
    assert off._ego_decel(off.aeb.delay_s) == 0.0


# -- the judge ----------------------------------------------------------------------------------
BY_S = 6.5
LATE_S = 7.35  # after BY_S
NOT_BEFORE_S = 3.0
EARLY_S = 2.1  # before NOT_BEFORE_S


def _judged(alerts, **expect):
    """A synthetic run with these (t_s, level, cause) alerts, judged against `expect`."""
    scn = _scenario()
    scn.expect = Expect(**expect)
    run = Run(scn, "synthetic")
    run.alerts = [{"t_s": t, "level": level, "cause": cause, "ttc_s": None} for t, level, cause in alerts]
    run.outcome = {"collision": False}
    run.max_level = max((a["level"] for a in run.alerts), key=LEVELS.index, default="NONE")
    _judge(run)
    return run


@pytest.mark.parametrize("alerts", [
    [(BY_S - 1, "WARNING", COLLISION)],
    [(BY_S, "WARNING", COLLISION)],  # exactly at the deadline is in time
    [(1.0, "NOTICE", COLLISION), (BY_S - 1, "EMERGENCY", COLLISION)],  # higher counts
    [(BY_S - 1, "WARNING", CAUSES[CAUSE_EYES_OFF])],  # any cause counts
])
def test_level_by_passes_when_that_level_or_higher_comes_in_time(alerts):
    run = _judged(alerts, level_by={"WARNING": BY_S})
    assert run.passed, run.failures


@pytest.mark.parametrize("alerts, failure", [
    ([(LATE_S, "WARNING", COLLISION)], f"WARNING or higher first at t={LATE_S} s; expected by {BY_S} s"),
    ([(1.0, "NOTICE", COLLISION)], f"no WARNING or higher; expected by {BY_S} s"),
    ([], f"no WARNING or higher; expected by {BY_S} s"),
    ([(None, "TAKEOVER", COLLISION)], f"WARNING or higher first at an unknown time; expected by {BY_S} s"),
])
def test_level_by_fails_with_one_sentence_when_late_or_missing(alerts, failure):
    run = _judged(alerts, level_by={"WARNING": BY_S})
    assert not run.passed and run.failures == [failure]


@pytest.mark.parametrize("alerts", [
    [],
    [(1.0, "WARNING", COLLISION)],  # below the level: allowed early
    [(NOT_BEFORE_S, "TAKEOVER", COLLISION)],  # exactly then is not before
    [(1.0, "WARNING", COLLISION), (NOT_BEFORE_S + 1, "EMERGENCY", CAUSES[CAUSE_DROWSY])],
])
def test_level_not_before_passes_when_nothing_that_high_comes_early(alerts):
    run = _judged(alerts, level_not_before={"TAKEOVER": NOT_BEFORE_S})
    assert run.passed, run.failures


@pytest.mark.parametrize("alerts, failure", [
    ([(EARLY_S, "TAKEOVER", COLLISION)], f"TAKEOVER at t={EARLY_S} s; not expected before {NOT_BEFORE_S} s"),
    ([(EARLY_S / 2, "NOTICE", COLLISION), (EARLY_S, "EMERGENCY", CAUSES[CAUSE_EYES_OFF])],
     f"EMERGENCY at t={EARLY_S} s; not expected before {NOT_BEFORE_S} s"),
])
def test_level_not_before_fails_naming_the_early_alert(alerts, failure):
    run = _judged(alerts, level_not_before={"TAKEOVER": NOT_BEFORE_S})
    assert not run.passed and run.failures == [failure]


def test_each_deadline_is_judged_on_its_own():
    alerts = [(EARLY_S, "WARNING", COLLISION), (LATE_S, "TAKEOVER", COLLISION)]
    run = _judged(alerts, level_by={"WARNING": BY_S, "TAKEOVER": BY_S}, level_not_before={"WARNING": NOT_BEFORE_S})
    assert run.failures == [f"TAKEOVER or higher first at t={LATE_S} s; expected by {BY_S} s",
                            f"WARNING at t={EARLY_S} s; not expected before {NOT_BEFORE_S} s"]

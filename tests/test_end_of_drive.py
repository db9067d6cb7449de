"""A board left connected after a run goes quiet: the host ends the drive (END_DRIVE), and a board
whose host is gone for good (no input of any kind for host_lost_s after the stale-radar FAULT)
ends it itself, keeping only a silent amber flash. The stale-radar FAULT of a drive whose driver
frames still come is not weakened.
"""

from fake_io import ByteIO
from takeover import codec
from tkfw import alerts, schema
from tkfw.app import Firmware
from tkfw.settings import Settings

ST = Settings()
WINDOW_US = ST.radar_stale_n * ST.radar_period_ms * 1000
HOST_LOST_US = ST.host_lost_ms * 1000


class ClockIO(ByteIO):
    """Input added as the test goes, a clock moved only by the test, the rows shown kept."""

    def __init__(self):
        super().__init__(b"")
        self.rows = []

    def feed(self, *frames):
        self.data += b"".join(frames)

    def ticks_us(self):
        return self.now

    def show(self, row):
        self.rows.append(row)


def _radar_in_path(seq, t_ms):
    # a car 20 m ahead closing at 10 m/s: TTC 2 s
    return codec.encode("radar", seq, targets=[{"id": 1, "range": 20_000, "range_rate": -10_000, "lateral": 0}],
                        t_ms=t_ms, ego_speed=20_000)


def _feed(fw, io, *frames):
    io.feed(*frames)
    while io.pending():
        fw.poll(0)


def _alarmed():
    """A firmware in a drive, alerting about a car closing in."""
    io = ClockIO()
    fw = Firmware(io, "test")
    for k in range(6):
        io.now += 50_000
        _feed(fw, io, _radar_in_path(k + 1, 50 * k))
    assert fw.arbiter.level >= alerts.WARNING
    return fw, io


def _alerts(io):
    return [m for m in io.out if m.name == "alert"]


def test_end_drive_turns_every_output_off_and_says_so():
    fw, io = _alarmed()
    _feed(fw, io, codec.encode("end_drive", 7))
    last = _alerts(io)[-1]
    assert (last["level"], last["cause"], last["outputs"], last["frame_seq"]) == (alerts.NONE, alerts.CAUSE_NONE, 0, 7)
    assert io.rows[-1] == alerts.TABLE[0]  # the pins: LED, tone, haptic and brake all off
    assert fw.threat.target_id == -1 and not fw.radar_armed  # the drive is forgotten
    io.now += 10 * WINDOW_US
    fw.check_inputs()  # and the radar silence after it is no FAULT
    assert _alerts(io)[-1]["level"] == alerts.NONE


def test_a_board_whose_host_is_gone_states_the_fault_then_keeps_only_a_silent_flash():
    fw, io = _alarmed()
    io.now += WINDOW_US + 1
    fw.check_inputs()
    assert fw.arbiter.settled[alerts.CAUSE_FAULT] == alerts.TAKEOVER
    # the FAULT (and the collision alert in force, which outranks it) stay in full for
    # host_lost_s of silence ...
    io.now += HOST_LOST_US - WINDOW_US - 2
    fw.check_inputs()
    assert fw.arbiter.settled[alerts.CAUSE_FAULT] == alerts.TAKEOVER and fw.arbiter.level >= alerts.TAKEOVER
    # ... then the drive ends and only the fault's slow amber flash stays: no tone, no haptic
    io.now += 10
    fw.check_inputs()
    last = _alerts(io)[-1]
    assert (last["level"], last["cause"], last["origin"]) == (alerts.NOTICE, alerts.CAUSE_FAULT, schema.ORIGIN_CLOCK)
    row = io.rows[-1]
    assert row[alerts.TONE_HZ] == 0 and row[alerts.HAPTIC_ON_MS] == 0 and row[alerts.BRAKE] == 0
    assert row[alerts.LED] == 1 and row[alerts.LED_ON_MS] > 0
    n = len(_alerts(io))
    io.now += 10 * HOST_LOST_US
    fw.check_inputs()
    assert len(_alerts(io)) == n  # said once


def test_driver_frames_still_coming_keep_the_stale_radar_fault_in_full():
    fw, io = _alarmed()
    io.now += WINDOW_US + 1
    fw.check_inputs()
    n = len(_alerts(io))
    for k in range(int(2 * HOST_LOST_US / 100_000)):  # the radar is dead, the car is not: 10 Hz driver frames
        io.now += 100_000
        _feed(fw, io, codec.encode("driver", 100 + k, t_ms=1000 + 100 * k, flags=0x0F))
        fw.check_inputs()
    assert all(m["level"] >= alerts.TAKEOVER for m in _alerts(io)[n - 1:])  # nothing stepped down
    assert fw.radar_fault and fw.arbiter.settled[alerts.CAUSE_FAULT] == alerts.TAKEOVER


def test_radar_frames_coming_back_after_the_host_was_given_up_clear_the_flash():
    fw, io = _alarmed()
    io.now += WINDOW_US + 1
    fw.check_inputs()
    io.now += HOST_LOST_US
    fw.check_inputs()
    assert fw.arbiter.settled[alerts.CAUSE_FAULT] == alerts.NOTICE
    for k in range(30):  # a host back (its clock gone on meanwhile), with a clear road
        io.now += 50_000
        _feed(fw, io, codec.encode("radar", 200 + k, targets=[], t_ms=60_000 + 50 * k, ego_speed=20_000))
    assert fw.arbiter.settled[alerts.CAUSE_FAULT] == alerts.NONE and fw.arbiter.level == alerts.NONE

"""The stale-radar FAULT on the board's clock, when the loop itself was late.

No radar frame received for radar_stale_frames nominal cycles raises the FAULT cause. A loop that
was kept off the CPU (a long collection; on the simulated board, a busy host machine) can find the
window passed with frames already waiting unread: those are read first, and only if none of a few
reads is a radar frame is the radar stale. The reads are bounded, so a stream of other input never
puts the FAULT off.
"""

import pytest

import tkfw.app
from fake_io import ByteIO
from takeover import codec
from tkfw import alerts
from tkfw.app import Firmware
from tkfw.settings import Settings

ST = Settings()
WINDOW_US = ST.radar_stale_n * ST.radar_period_ms * 1000


class ClockIO(ByteIO):
    """ByteIO with input the test adds as it goes and a clock that moves only when the test
    moves it."""

    def __init__(self):
        super().__init__(b"")

    def feed(self, *frames):
        self.data += b"".join(frames)

    def ticks_us(self):
        return self.now


def radar(seq, t_ms):
    return codec.encode("radar", seq, targets=[], t_ms=t_ms, ego_speed=20_000)


def driver(seq, t_ms):
    return codec.encode("driver", seq, t_ms=t_ms, flags=0)


def armed():
    """A firmware that has taken one radar frame at board time 1000 us."""
    io = ClockIO()
    fw = Firmware(io, "test")
    io.feed(radar(1, 0))
    fw.poll(0)  # the header
    fw.poll(0)  # the rest
    assert fw.radar_armed and fw.dec.processed == 1
    return fw, io


def faults(io):
    return [m for m in io.out if m.name == "alert" and m["cause"] == alerts.CAUSE_FAULT]


def test_a_silent_radar_with_nothing_waiting_raises_the_fault_once_the_window_has_passed():
    fw, io = armed()
    io.now += WINDOW_US
    fw.check_inputs()
    assert faults(io) == []
    io.now += 1
    fw.check_inputs()
    assert [m["level"] for m in faults(io)] == [alerts.TAKEOVER]


def test_a_radar_frame_already_waiting_when_the_window_has_passed_is_read_first_and_no_fault():
    fw, io = armed()
    io.feed(driver(2, 20), driver(3, 40), radar(4, 50))  # arrived in time, the loop was late
    io.now += 2 * WINDOW_US
    fw.check_inputs()
    assert faults(io) == []
    assert fw.dec.processed == 4 and io.pending() == 0
    assert fw.radar_seq == 4


@pytest.mark.parametrize("waiting", [1, 3, 50])
def test_only_other_frames_waiting_still_raise_the_fault_in_the_same_pass(waiting):
    fw, io = armed()
    io.feed(*(driver(2 + k, 20 * k) for k in range(waiting)))
    io.now += WINDOW_US + 1
    fw.check_inputs()
    assert [m["level"] for m in faults(io)] == [alerts.TAKEOVER]
    # bounded: a long queue is read a few frames at most, the loop reads the rest as usual
    assert fw.dec.processed - 1 == min(waiting, tkfw.app._DRAIN_READS // 2)


def test_within_the_window_waiting_input_is_left_to_the_loop():
    fw, io = armed()
    io.feed(driver(2, 20))
    io.now += WINDOW_US // 2
    fw.check_inputs()
    assert faults(io) == [] and fw.dec.processed == 1 and io.pending() == len(driver(2, 20))

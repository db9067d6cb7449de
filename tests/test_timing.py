"""Clock fitting and the latency split (takeover.timing) against a synthetic device clock."""

import time
from types import SimpleNamespace

import pytest

from takeover import timing
from takeover.timing import TICKS_PERIOD_US, ClockFit, PingSample


def device_clock(offset_us, ppm):
    """A board clock: ticks_us = (host_us * (1 + ppm) + offset) mod 2**30."""
    def ticks(host_us):
        return int(round(host_us * (1 + ppm * 1e-6) + offset_us)) % TICKS_PERIOD_US
    return ticks


def pings(ticks, start_us, count, up_us=150.0, hold_us=40.0, down_us=150.0, jitter=()):
    out = []
    for k in range(count):
        sent = start_us + k * 2000.0
        extra = jitter[k] if k < len(jitter) else 0.0
        rx = sent + up_us + extra
        tx = rx + hold_us
        out.append(PingSample(sent, ticks(rx), ticks(tx), tx + down_us))
    return out


@pytest.mark.parametrize("offset_us", [0, 12345, TICKS_PERIOD_US - 500, TICKS_PERIOD_US // 2 + 7])
def test_the_split_recovers_uplink_device_and_downlink_across_the_tick_wrap(offset_us):
    ticks = device_clock(offset_us, 0)
    fit = ClockFit(pings(ticks, 1e6, 20, jitter=[900, 0, 300]), pings(ticks, 31e6, 10))
    sent = 20e6
    up, proc, down = 230.0, 410, 180.0
    rx_host = sent + up
    got = timing.split(fit, int(sent * 1000), ticks(rx_host), proc, int((rx_host + proc + down) * 1000))
    assert got == pytest.approx((up, proc, down), abs=1.0)
    assert sum(got) == pytest.approx(up + proc + down, abs=1e-6)  # the parts always add up


def test_a_drifting_crystal_is_fitted_from_the_bursts_at_both_ends():
    ticks = device_clock(777, 50)  # 50 ppm fast, a plausible crystal
    fit = ClockFit(pings(ticks, 1e6, 20), pings(ticks, 61e6, 10))
    assert fit.describe()["drift_ppm"] == pytest.approx(50, abs=1)
    sent = 60e6  # a minute in: 3 ms of drift, were it ignored
    got = timing.split(fit, int(sent * 1000), ticks(sent + 300), 100, int((sent + 300 + 100 + 200) * 1000))
    assert got[0] == pytest.approx(300, abs=2) and got[2] == pytest.approx(200, abs=2)


def test_an_hour_long_run_wraps_the_ticks_several_times_and_still_splits():
    ticks = device_clock(5, 20)
    fit = ClockFit(pings(ticks, 0.0, 20), pings(ticks, 3600e6, 10))
    for sent in (1100e6, 2200e6, 3500e6):  # past one, two, three wraps of 2**30 us
        got = timing.split(fit, int(sent * 1000), ticks(sent + 250), 50, int((sent + 250 + 50 + 120) * 1000))
        assert got[0] == pytest.approx(250, abs=2), sent


def test_the_offset_comes_from_the_fastest_exchange():
    ticks = device_clock(1000, 0)
    slow = pings(ticks, 1e6, 10, up_us=2000, down_us=150)  # asymmetric and slow: a poor estimate
    fast = pings(ticks, 2e6, 1)
    fit = ClockFit(slow + fast)
    assert fit.describe()["rtt_min_us"] == pytest.approx(300)
    assert fit.describe()["offset_uncertainty_us"] == pytest.approx(150)


def test_stats_of_nothing_are_none_and_of_something_are_percentiles():
    assert timing.stats_us([]) == {"p50": None, "p99": None, "max": None, "n": 0}
    got = timing.stats_us(list(range(1, 101)))
    assert got["p50"] == 50.5 and got["max"] == 100 and got["n"] == 100


class _EchoDevice:
    """Answers every ECHO at once and notes when each was sent."""

    port = "fake"

    def __init__(self):
        self.sent_at = []

    def send(self, msg_type, tail=b""):
        self.sent_at.append(time.perf_counter())
        return len(self.sent_at), time.perf_counter_ns()

    def wait_for(self, name, timeout, match=None, sink=None):
        return SimpleNamespace(seq=len(self.sent_at), t_ns=time.perf_counter_ns())


def test_echoes_for_the_floor_go_out_one_gap_apart_send_to_send():
    dev = _EchoDevice()
    floor = timing.echo_floor(dev, 40, count=6, gap_s=0.02)
    gaps = [b - a for a, b in zip(dev.sent_at, dev.sent_at[1:])]
    assert len(gaps) == 5 and all(0.019 <= g < 0.04 for g in gaps), gaps
    assert (floor["n"], floor["gap_ms"], floor["frame_bytes"]) == (6, 20.0, 40)

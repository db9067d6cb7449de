"""Two clocks and a floor: where an alert's latency goes, and what it is compared with.

The host stamps every frame with time.perf_counter_ns() at write and at read; the device stamps
receipt (rx_ticks_us) and its own processing time (proc_us) with MicroPython ticks_us, which wrap
at 2**30 us (about 18 minutes) and run on the board's crystal. Ping/pong exchanges (the PONG
carries the device's receive and transmit ticks) fit device ticks to host time NTP style: the
exchange with the smallest round trip gives the offset, to within half that round trip; a second
burst at the end of a run gives the drift (tens of ppm on a real crystal: 1.5 ms over 30 s
would otherwise swamp a sub-millisecond split). Then each alert's latency splits into
  uplink   = device receipt (in host time) - host write of the causing frame,
  device   = proc_us, receipt to the alert being written,
  downlink = host read of the alert - (device receipt + proc_us),
which add up to the whole latency exactly; the fit's uncertainty moves time between uplink and
downlink only.

The floor is the transport alone: an ECHO frame the size of the run's radar frames, which the
firmware writes back byte for byte without decoding it (tkfw.schema T_ECHO).
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

from takeover import codec
from takeover.errors import LinkError

if TYPE_CHECKING:  # the runner's core also runs where neither pyserial nor numpy exists (Pyodide)
    from takeover.device import Device

TICKS_PERIOD_US = 1 << 30  # MicroPython ticks_us wraps here


def _wrap(delta: int) -> int:
    """A difference of two tick readings as a signed number of microseconds."""
    return (delta + TICKS_PERIOD_US // 2) % TICKS_PERIOD_US - TICKS_PERIOD_US // 2


def percentile(ordered: list[float], q: float) -> float:
    """The q-th percentile of sorted samples, interpolated linearly between the two nearest ranks:
    numpy.percentile's default method, in plain Python."""
    rank = (len(ordered) - 1) * q / 100.0
    low = math.floor(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def stats_us(samples_us) -> dict:
    """p50 / p99 / max in microseconds, and the sample count."""
    if len(samples_us) == 0:
        return {"p50": None, "p99": None, "max": None, "n": 0}
    us = sorted(float(v) for v in samples_us)
    return {"p50": round(percentile(us, 50), 1), "p99": round(percentile(us, 99), 1),
            "max": round(us[-1], 1), "n": len(us)}


@dataclass
class PingSample:
    sent_us: float  # host perf_counter, us
    dev_rx: int  # device ticks_us at PING receipt
    dev_tx: int  # device ticks_us just before the PONG was written
    recv_us: float  # host perf_counter, us

    @property
    def rtt_us(self) -> float:
        """Round trip less the time the device held the ping."""
        return self.recv_us - self.sent_us - _wrap(self.dev_tx - self.dev_rx)

    def midpoint(self) -> tuple[float, float]:
        """(host us, device ticks) of the same instant, assuming symmetric links."""
        return (self.sent_us + self.recv_us) / 2, self.dev_rx + _wrap(self.dev_tx - self.dev_rx) / 2


def ping_burst(dev: Device, count: int, sink=None) -> list[PingSample]:
    """`count` ping/pong exchanges, a couple of milliseconds apart."""
    samples = []
    for token in range(count):
        seq, t_ns = dev.send("ping", token=token)
        pong = dev.wait_for("pong", 2.0, match=lambda m, k=token: m["token"] == k, sink=sink)
        if pong is None:
            raise LinkError(f"no PONG from {dev.port} within 2 s")
        samples.append(PingSample(t_ns / 1000, pong["rx_ticks_us"], pong["tx_ticks_us"], pong.t_ns / 1000))
        time.sleep(0.002)
    return samples


def echo_tail(frame_len: int) -> bytes:
    """What pads an ECHO frame to frame_len bytes (the firmware returns it unread)."""
    return bytes(max(0, frame_len - len(codec.encode("echo", 0))))


def echo_round_trip(dev: Device, tail: bytes, sink=None) -> float:
    """One ECHO frame carrying `tail` there and back: microseconds, host write to host read."""
    seq, t_ns = dev.send("echo", tail=tail)
    echo = dev.wait_for("echo", 2.0, match=lambda m, s=seq: m.seq == s, sink=sink)
    if echo is None:
        raise LinkError(f"no ECHO back from {dev.port} within 2 s")
    return (echo.t_ns - t_ns) / 1000


def echo_floor(dev: Device, frame_len: int, count: int = 30, sink=None, gap_s: float = 0.002) -> dict:
    """Round trip of an ECHO frame of frame_len bytes, one every gap_s from send to send. The gap
    matters: on the simulated board echoes 2-5 ms apart came back in ~245 us (p50) and echoes
    10-50 ms apart in 370-460 us (threads and CPUs idle in between), so a floor for frames that
    come every 50 ms is measured with them that far apart."""
    tail = echo_tail(frame_len)
    samples = []
    for _ in range(count):
        due = time.perf_counter() + gap_s
        samples.append(echo_round_trip(dev, tail, sink))
        time.sleep(max(0.0, due - time.perf_counter()))
    out = stats_us(samples)
    out["frame_bytes"] = len(codec.encode("echo", 0, tail=tail))
    out["gap_ms"] = round(gap_s * 1000, 1)
    return out


def versus_floor(latency: dict, floor: dict) -> dict:
    """Latency over the floor at p50 and p99 (stats_us dicts), 2 decimals; None where one is missing."""
    return {q: (round(latency[q] / floor[q], 2) if latency.get(q) and floor.get(q) else None) for q in ("p50", "p99")}


class ClockFit:
    """Device ticks -> host perf_counter microseconds, from ping bursts."""

    def __init__(self, start: list[PingSample], end: list[PingSample] | None = None):
        best = min(start, key=lambda s: s.rtt_us)
        self.ref_host_us, self.ref_dev = best.midpoint()
        self.rtt_min_us = best.rtt_us
        self.rate = 1.0  # device us per host us
        if end:
            last = min(end, key=lambda s: s.rtt_us)
            host_b, dev_b = last.midpoint()
            span = host_b - self.ref_host_us
            if span > 1e6:  # a second or more apart: enough to see the drift
                self.rate = (self.ref_dev_delta(dev_b, host_b)) / span
            self.rtt_min_us = max(self.rtt_min_us, last.rtt_us)

    def ref_dev_delta(self, ticks: float, hint_host_us: float) -> float:
        """Device microseconds from the reference to `ticks`, unwrapped near the expected value."""
        expected = (hint_host_us - self.ref_host_us) * self.rate
        raw = ticks - self.ref_dev
        return raw + round((expected - raw) / TICKS_PERIOD_US) * TICKS_PERIOD_US

    def to_host_us(self, ticks: int, hint_host_us: float) -> float:
        """Host time of a device tick reading taken near hint_host_us (any run length: wraps are
        resolved against the hint)."""
        return self.ref_host_us + self.ref_dev_delta(ticks, hint_host_us) / self.rate

    def describe(self) -> dict:
        return {"offset_uncertainty_us": round(self.rtt_min_us / 2, 1), "drift_ppm": round((self.rate - 1) * 1e6, 1),
                "rtt_min_us": round(self.rtt_min_us, 1)}


def split(fit: ClockFit, sent_ns: int, dev_rx: int, proc_us: int, recv_ns: int) -> tuple[float, float, float]:
    """(uplink, device, downlink) microseconds of one reply; they add up to recv - sent."""
    sent_us, recv_us = sent_ns / 1000, recv_ns / 1000
    rx_host = fit.to_host_us(dev_rx, sent_us)
    return rx_host - sent_us, float(proc_us), recv_us - rx_host - proc_us

"""Stream a scenario to a device, collect its alerts, and judge the run.

Pacing:
- real time (speed 1.0, the default): radar frames leave at the scenario's rate; this is what
  latency means.
- speed factor N: frames leave N times faster; the firmware runs on the frames' timestamps, so it
  raises the same alerts at the same scenario times.
- lockstep: the next frame leaves as soon as the device has answered the last (its STATUS).

Driver frames stream at [driver] driver_hz from t = 0, interleaved with the radar frames in
scenario time (a driver frame goes first when both fall on the same millisecond, so that radar
frame sees the fresh driver state). The firmware treats driver data older than about half a
second as unknown, so one frame at the start is not enough. They get no reply: in lockstep they
are sent without waiting.

Closed loop: the plant (takeover.plant) applies each alert at the scenario time of the frame that
caused it, whatever the pace, so real time, --speed and --lockstep give the same outcome.

Latency of an alert = host perf_counter_ns at the read of the ALERT - at the write of the frame
that caused it (frame_seq). The same is measured for every frame's STATUS reply ("frame latency").
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from tkfw import schema
from tkfw.alerts import CAUSE_COLLISION, CAUSES, LEVELS
from tkfw.settings import Settings

from takeover import codec, timing
from takeover.codec import Message
from takeover.errors import LinkError, UsageError
from takeover.faults import Faults
from takeover.plant import KPH, OVERLAP_M, STOPPED_HOLD_S, Plant, no_action_impact_mps, score_band
from takeover.scenario import Scenario

if TYPE_CHECKING:  # the runner also runs where neither pyserial nor numpy exists (Pyodide, in a page)
    from takeover.device import Device

# How long the board waits without a radar frame before its stale-radar FAULT (default settings).
STALE_WINDOW_MS = Settings().radar_stale_n * Settings().radar_period_ms

DRIVER_ATTENTIVE = schema.DRIVER_HANDS_ON | schema.DRIVER_EYES_ON_ROAD | schema.DRIVER_ENGAGED


def duration_for_outcome(scenario: Scenario) -> float:
    """A duration (s) long enough for the drive to reach an outcome, never shorter than the
    scenario's own: the ego reaches the closest point it could hit an in-path target (at the
    start's closing speed; behind a braking lead, where the lead stops), then the slowest
    reaction the driver has and the alert's way to them, the brake ramp, a full stop and the
    hold after it. An estimate: a run that still ends undecided says so (Plant.result)."""
    v = scenario.ego.speed_kph * KPH
    d = scenario.driver
    reach = 0.0
    for t in scenario.targets:
        if t.ghost or t.overhead or (abs(t.lateral_m) >= OVERLAP_M and t.lane_change_at_s is None
                                      and not t.lateral_speed_mps):
            continue
        v_t = t.speed_kph * KPH
        if t.brake_mps2 and t.brake_at_s is not None:
            stop_m = t.range_m + v_t * t.brake_at_s + v_t * v_t / (2 * t.brake_mps2)
            reach = max(reach, stop_m / v if v > 0 else 0.0)
        elif v > v_t:
            reach = max(reach, t.range_m / (v - v_t))
    needed = (reach + d.reaction_distracted_s + d.reaction_s + d.brake_ramp_s
              + (v / d.brake_mps2 if d.brake_mps2 > 0 else 0.0) + scenario.hmi.latency_ms / 1000
              + 2 * STOPPED_HOLD_S)
    return max(scenario.duration_s, needed)


def driver_flags(state: dict) -> int:
    """The driver frame flags for a driver state (takeover.plant.Plant.driver_state)."""
    flags = 0
    if state["hands_on"]:
        flags |= schema.DRIVER_HANDS_ON
    if state["eyes_on_road"]:
        flags |= schema.DRIVER_EYES_ON_ROAD
    if state["eyes_closed"]:
        flags |= schema.DRIVER_EYES_CLOSED
    if state["engaged"]:
        flags |= schema.DRIVER_ENGAGED
    if state["override"]:
        flags |= schema.DRIVER_OVERRIDE
    return flags


def frame_schedule(scenario: Scenario) -> list[tuple[float, bool]]:
    """(scenario time, is_radar) of every frame a run sends, in sending order.

    Radar frames at radar_hz and driver frames at driver_hz, both from t = 0 to the last radar
    frame; ordered by the millisecond they carry on the wire, a driver frame first on a tie."""
    n_radar = int(round(scenario.duration_s * scenario.radar_hz)) + 1
    end_s = (n_radar - 1) / scenario.radar_hz
    hz = scenario.driver.driver_hz
    n_driver = int(end_s * hz + 1e-9) + 1
    frames = [(k / scenario.radar_hz, True) for k in range(n_radar)]
    frames += [(j / hz, False) for j in range(n_driver)]
    return sorted(frames, key=lambda f: (round(f[0] * 1000), f[1]))


@dataclass
class Pace:
    speed: float = 1.0  # wall-clock speed-up; ignored in lockstep
    lockstep: bool = False

    def describe(self) -> str:
        if self.lockstep:
            return "lockstep"
        return "real time" if self.speed == 1.0 else f"{self.speed:g}x real time"


@dataclass
class Run:
    scenario: Scenario
    port: str
    board: str = ""
    firmware: str = ""
    pace: str = ""
    passed: bool = False
    failures: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    frames: dict = field(default_factory=dict)
    alerts: list[dict] = field(default_factory=list)
    latency_us: dict = field(default_factory=dict)
    frame_latency_us: dict = field(default_factory=dict)
    floor_us: dict = field(default_factory=dict)  # ECHO of a radar-frame-sized frame (takeover.timing)
    ping_us: dict = field(default_factory=dict)
    clock: dict = field(default_factory=dict)
    latency_split_us: dict = field(default_factory=dict)
    latency_vs_floor: dict = field(default_factory=dict)
    outcome: dict = field(default_factory=dict)
    max_level: str = "NONE"
    trace: list[dict] = field(default_factory=list)  # one row per radar frame (see docs/report.md)
    faults: dict = field(default_factory=dict)  # what was injected (takeover.faults), if anything
    device: dict = field(default_factory=dict)  # the device's final counters beyond the accounting
    frame_latency_samples_us: list[float] = field(default_factory=list)  # every frame->status latency, in order
    wall_s: float | None = None  # wall-clock duration, set by whoever times the run (the CLI)
    # The longest wall time between two radar frames the host wrote, in ms. Longer than the
    # board's stale-radar window (a busy host machine, or an injected stall), the board faults,
    # correctly: that FAULT is the host's, not the firmware's.
    radar_gap_ms: float | None = None
    # Raised by the board's clock after the scenario's last frame (the radar stopped because the
    # run did: a stale-radar FAULT once the end-of-run exchanges outlast the stale limit, as on a
    # slow link): reported, not judged.
    after_end: list[dict] = field(default_factory=list)

    def outcome_text(self) -> str:
        """The outcome in words, as `run` prints it and the report shows it."""
        o = self.outcome

        def num(value, unit: str) -> str:
            return "-" if value is None else f"{value:.1f}{unit}"

        if o.get("collision"):
            text = f"collision at {num(o.get('impact_speed_kph'), ' km/h')}"
        elif o.get("result") == "undecided":
            text = (f"undecided: the run ended while still closing in ({num(o.get('min_gap_m'), ' m')} "
                    f"to go at {num(o.get('end_speed_kph'), ' km/h')}; a longer duration_s would tell)")
        else:
            text = f"no collision, closest gap {num(o.get('min_gap_m'), ' m')}"
        if o.get("no_action_impact_kph"):
            text += f" (without any reaction: {o['no_action_impact_kph']:.1f} km/h)"
        if o.get("score_band"):
            text += f"; score band {o['score_band']}"
        return text

    def host_stalled(self) -> bool:
        """The host wrote no radar frame for longer than the board's stale-radar window at some point:
        a stale-radar FAULT then is the host's doing, not the firmware's."""
        return self.radar_gap_ms is not None and self.radar_gap_ms > STALE_WINDOW_MS

    def outcome_words(self) -> str:
        """The outcome as a class would say it: "hit at 91.7 km/h", "stopped 27.7 m short"."""
        o = self.outcome
        result = o.get("result")
        if o.get("collision"):
            return f"hit at {o.get('impact_speed_kph') or 0.0:.1f} km/h"
        if result == "stopped":
            return f"stopped {o.get('min_gap_m') or 0.0:.1f} m short"
        if result == "clear":
            return f"no collision: the closest the car came was {o.get('min_gap_m') or 0.0:.1f} m"
        return (f"not decided yet: {o.get('min_gap_m') or 0.0:.1f} m to go at "
                f"{o.get('end_speed_kph') or 0.0:.0f} km/h when the scenario ended")

    def latency_lines(self) -> list[str]:
        """The latency part of the run's summary, with the link's floor it is compared with (the
        command line prints these lines; the classroom page shows them)."""
        lat, flat, floor = self.latency_us, self.frame_latency_us, self.floor_us
        lines = [f"alert latency: p50 {_us(lat['p50'])}, p99 {_us(lat['p99'])}, max {_us(lat['max'])} (n={lat['n']}); "
                 f"frame->status p50 {_us(flat['p50'])}, p99 {_us(flat['p99'])} (n={flat['n']})"]
        split = self.latency_split_us
        if split and split["uplink"]["n"]:
            lines.append(f"alert latency split (p50): uplink {_us(split['uplink']['p50'])}, device "
                         f"{_us(split['device']['p50'])}, downlink {_us(split['downlink']['p50'])} (clock offset "
                         f"+/-{self.clock['offset_uncertainty_us']:.0f} us)")
        ratio = self.latency_vs_floor or {}
        versus = (f"; alert latency = {ratio['p50']}x floor at p50, {ratio['p99']}x at p99"
                  if ratio.get("p50") else "")
        if not floor:  # a run that did not measure its link (measure_link=False)
            return lines + ["floor: not measured in this run (lockstep, or outcomes only)"]
        every = f", one every {floor['gap_ms']:g} ms" if floor.get("gap_ms") else ""
        lines.append(f"floor (echo of a {floor.get('frame_bytes', '?')}-byte frame on the same link{every}): p50 "
                     f"{_us(floor['p50'])}, p99 {_us(floor['p99'])} (n={floor['n']}){versus}")
        return lines

    def to_json(self) -> dict:
        driver = self.scenario.driver
        return {
            "name": self.scenario.name, "passed": self.passed, "failures": self.failures,
            "warnings": self.warnings, "port": self.port, "board": self.board, "firmware": self.firmware,
            "pace": self.pace, "frames": self.frames, "alerts": self.alerts, "latency_us": self.latency_us,
            "frame_latency_us": self.frame_latency_us, "floor_us": self.floor_us,
            "ping_us": self.ping_us, "clock": self.clock, "latency_split_us": self.latency_split_us,
            "latency_vs_floor": self.latency_vs_floor, "outcome": self.outcome, "max_level": self.max_level,
            "driver": {"driver_hz": driver.driver_hz, "timeline": driver.timeline()},
            "trace": self.trace, "faults": self.faults, "device": self.device,
            "frame_latency_samples_us": self.frame_latency_samples_us, "wall_s": self.wall_s,
            "after_end": self.after_end, "radar_gap_ms": self.radar_gap_ms,
        }


def stats_us(samples_ns: list[int]) -> dict:
    """p50 / p99 / max in microseconds of nanosecond samples, and the count."""
    return timing.stats_us([ns / 1000 for ns in samples_ns])


class _Collector:
    """Everything the device says during a run, matched to the frames that caused it."""

    def __init__(self, run: Run, start_ns: int, pace: Pace, plant: Plant):
        self.run = run
        self.plant = plant
        self.start_ns = start_ns
        self.pace = pace
        self.frames: dict[int, tuple[int, float, float | None, float | None]] = {}  # seq -> sent
        self.status_latency: list[int] = []
        self.alert_latency: list[int] = []
        self.last_status: Message | None = None
        self.hellos: list[Message] = []
        self.trace_rows: dict[int, dict] = {}
        self.alert_stamps: list[tuple[int, int, int, int, int]] = []  # (alert index, sent, rx ticks, proc, read)
        self.ended = False  # the scenario's frames are all sent: what the board's clock raises now is after it

    def sent(self, seq: int, t_ns: int, t_s: float, ttc_s: float | None, gap_m: float | None) -> None:
        self.frames[seq] = (t_ns, t_s, ttc_s, gap_m)

    def traced(self, seq: int, t_s: float, plant: Plant, driver: dict) -> None:
        """A radar frame's ground truth, for the report's plots; its STATUS fills in the device's view."""
        row = {"t_s": round(t_s, 3), "gap_m": _round(plant.gap_m(), 2), "ttc_s": _round(plant.ttc_s(), 3),
               "ego_kph": round(plant.ego.v_mps * 3.6, 2), "hands_on": driver["hands_on"],
               "eyes_on_road": driver["eyes_on_road"], "eyes_closed": driver["eyes_closed"],
               "level": None, "cause": None, "device_ttc_s": None, "dm_flags": None, "heap_bytes": None}
        self.trace_rows[seq] = row
        self.run.trace.append(row)

    def __call__(self, msg: Message) -> None:
        sent = self.frames.get(msg.fields.get("frame_seq", -1))
        if msg.name == "status":
            self.last_status = msg
            row = self.trace_rows.get(msg["frame_seq"])
            if row is not None:
                row["level"] = _name(LEVELS, msg["level"])
                row["cause"] = _name(CAUSES, msg["cause"])
                row["device_ttc_s"] = None if msg["ttc_ms"] < 0 else msg["ttc_ms"] / 1000
                row["dm_flags"] = msg.fields.get("dm_flags")  # absent from an older firmware
                row["heap_bytes"] = msg.fields.get("heap_bytes")
            if sent is not None:
                self.status_latency.append(msg.t_ns - sent[0])
        elif msg.name == "alert":
            self._alert(msg, sent)
        elif msg.name == "hello":
            self.hellos.append(msg)

    def _alert(self, msg: Message, sent) -> None:
        by_clock = msg.fields.get("origin") == schema.ORIGIN_CLOCK
        level = _name(LEVELS, msg["level"])
        cause = _name(CAUSES, msg["cause"])
        silence_ms = None
        if by_clock:
            # Raised by the board's own clock (an input timed out), not by a frame: no latency;
            # how long after the last radar frame was written it came is the figure instead.
            silence_ms = None if sent is None else round((msg.t_ns - sent[0]) / 1e6, 1)
            sent = None
        latency_ns = msg.t_ns - sent[0] if sent else None
        if by_clock:
            t_s = msg["t_ms"] / 1000 if self.pace.lockstep else (msg.t_ns - self.start_ns) / 1e9 * self.pace.speed
            if self.ended:
                self.run.after_end.append({"t_s": round(t_s, 3), "level": level, "cause": cause,
                                           "silence_ms": silence_ms})
                return
        elif sent is None:
            t_s = None
        else:
            # The scenario time of the frame that caused it, at any pace: the arrival time scaled
            # back would carry the link latency times the speed-up (8x: 2.33 s for a 2.30 s frame).
            t_s = sent[1]
        if latency_ns is not None:
            self.alert_latency.append(latency_ns)
            self.alert_stamps.append((len(self.run.alerts), sent[0], msg["rx_ticks_us"], msg["proc_us"], msg.t_ns))
        ttc_ms = msg["ttc_ms"]
        level2 = msg.fields.get("level2", 0)  # the other side in force (absent from an older firmware)
        also = None if not level2 else {"level": _name(LEVELS, level2), "cause": _name(CAUSES, msg["cause2"])}
        if sent is not None:
            # The plant acts at the causing frame's scenario time, so every pace gives the same
            # closed loop; the link latency (well under a frame) is measured, not simulated. The
            # driver sees a collision cue that shares the outputs with a driver-monitor alert.
            cue = also if also is not None and also["cause"] == CAUSES[CAUSE_COLLISION] else {"level": level, "cause": cause}
            self.plant.on_alert(sent[1], cue["level"], cue["cause"], msg["outputs"])
        self.run.alerts.append({
            "t_s": None if t_s is None else round(t_s, 3),
            "level": level,
            "cause": cause,
            "frame_seq": msg["frame_seq"],
            "device_ttc_s": None if ttc_ms < 0 else ttc_ms / 1000,
            "latency_us": None if latency_ns is None else round(latency_ns / 1000, 1),
            "ttc_s": None if sent is None or sent[2] is None else round(sent[2], 3),
            "gap_m": None if sent is None or sent[3] is None else round(sent[3], 2),
            "proc_us": msg["proc_us"],
            "rx_ticks_us": msg["rx_ticks_us"],
            "outputs": msg["outputs"],
            "origin": "clock" if by_clock else "frame",
            "silence_ms": silence_ms,
            "also": also,
        })


PING_COUNT = 20  # exchanges at the start of a run (clock offset, ping statistics) ...
PING_COUNT_END = 10  # ... and at the end (clock drift)
ECHO_COUNT = 30


def radar_frame_bytes(scenario: Scenario) -> int:
    """Size of the run's largest radar frame: every target reported at once."""
    record = {"id": 0, "range": 0, "range_rate": 0, "lateral": 0}
    if any(t.height_m is not None for t in scenario.targets):
        record["height"] = 0  # the heights block (to a firmware that takes it: the larger case)
    dummy = [record] * min(len(scenario.targets), schema.MAX_TARGETS)
    return len(codec.encode("radar", 0, targets=dummy))


def run_scenario(dev: Device, scenario: Scenario, pace: Pace = Pace(), progress=None,
                 measure_link: bool = True, faults: Faults | None = None, partial: list | None = None,
                 plant: Plant | None = None) -> Run:
    """Run one scenario on an open device. Raises LinkError if the link dies; `partial`, if
    given, then holds the run so far (what a report can still show).

    measure_link=False skips the ping and echo bursts (the floor, the clock fit and the latency
    split): a sweep wants outcomes, not latency. faults: takeover.faults (injection). plant: a
    fresh Plant of this scenario (or a subclass) to close the loop through instead of a new one
    (takeover.demo's baseline cues the driver itself)."""
    faults = faults or Faults()
    if faults.flood > 1 and pace.lockstep:
        raise UsageError("--flood needs a paced run (real time or --speed), not --lockstep")
    hello = dev.start_session()
    run = Run(scenario, dev.port, hello.board, hello.fw_version, pace.describe())
    run.faults = faults.describe() if faults.active else {}
    if partial is not None:
        partial.append(run)
    start_pings = []
    if measure_link:
        start_pings = timing.ping_burst(dev, PING_COUNT)
        run.ping_us = timing.stats_us([p.recv_us - p.sent_us for p in start_pings])
        # Echoes as far apart as radar and echo frames in the bench (half a radar period at the
        # run's pace, 50 ms at most: idler than that measured the same): how idle the link is
        # changes its floor. A lockstep run sends back to back.
        gap_s = 0.002 if pace.lockstep else min(0.05, 0.5 / (scenario.radar_hz * pace.speed))
        run.floor_us = timing.echo_floor(dev, radar_frame_bytes(scenario), ECHO_COUNT, gap_s=gap_s)
    run.warnings += hello.mismatches()
    if hello.settings_hash != Settings().digest():
        # The hash says only that something differs: name it (one config_get per setting).
        differing = dev.settings_differing()
        if differing:
            run.warnings.append("settings changed on the board: " + "; ".join(differing))
    # Protocol revision 2 (yaw rate, target heights) only to a firmware that says it takes it: an
    # older one would refuse the longer records, and its straight path is what it would judge by.
    revision2 = hello.path_and_height
    strip_heights = scenario.uses_path_or_height() and not revision2
    if strip_heights:
        run.warnings.append("the board's firmware takes no yaw rate or target height (an older protocol "
                            "revision): this scenario's curve and heights were not sent, and the firmware "
                            "judged a straight path")
    plant = plant if plant is not None else Plant(scenario)
    dt = 1.0 / scenario.radar_hz
    schedule = frame_schedule(scenario)
    n_radar = sum(is_radar for _, is_radar in schedule)
    start_ns = time.perf_counter_ns()
    col = _Collector(run, start_ns, pace, plant)
    k = 0  # radar frames sent
    stall_slept = False
    last_radar_ns, radar_gap_ns = None, 0
    for t_s, is_radar in schedule:
        if is_radar and k > 0:
            # The plant advances one radar period just before the next radar frame: a driver
            # frame in between sees the state at the last radar frame. Its alert can arrive after
            # this step (no reply is awaited); the plant still dates it at the driver frame, so
            # the outcome does not depend on the pace while the actuator delay and the reaction
            # time exceed one radar period.
            plant.step(dt)
            if plant.collided or (plant.stopped_t_s is not None and plant.t_s - plant.stopped_t_s >= STOPPED_HOLD_S):
                break
        if not pace.lockstep:
            _sleep_until(start_ns + int(t_s / pace.speed * 1e9), dev, col)
        if faults.unplug_at_s is not None and t_s >= faults.unplug_at_s:
            dev.unplug()
            dev.send("ping", token=0)  # the write that finds the cable gone (LinkError)
        if faults.stalled(t_s):
            faults.stalled_frames += 1
            if pace.lockstep and not stall_slept:  # the board's own clock must see the silence
                stall_slept = True
                _sleep_until(time.perf_counter_ns() + int(faults.stall_s * 1e9), dev, col)
            if is_radar:
                k += 1
            continue
        if not is_radar:
            flags = driver_flags(plant.driver_state(t_s))
            seq, t_ns = _send(dev, faults, "driver", t_ms=round(t_s * 1000), flags=flags)
            col.sent(seq, t_ns, t_s, plant.ttc_s(), plant.gap_m())
            _drain(dev, col)  # no reply to wait for, even in lockstep
            continue
        targets = plant.radar()
        path = {}
        if revision2:
            path["yaw_rate"] = max(-32768, min(32767, round(plant.yaw_rate_rps() * 1000)))  # mrad/s, int16
        elif strip_heights:
            targets = [{k: v for k, v in t.items() if k != "height"} for t in targets]
        seq, t_ns = _send(dev, faults, "radar", targets=targets, t_ms=round(t_s * 1000),
                          ego_speed=round(plant.ego.v_mps * 1000), **path)
        if last_radar_ns is not None and seq >= 0:
            radar_gap_ns = max(radar_gap_ns, t_ns - last_radar_ns)
        if seq >= 0:
            last_radar_ns = t_ns
        col.sent(seq, t_ns, t_s, plant.ttc_s(), plant.gap_m())
        col.traced(seq, t_s, plant, plant.driver_state(t_s))
        for extra in range(1, faults.flood):  # a radar gone mad: the same view, stamped closer
            t_extra = t_s + extra * dt / faults.flood
            _sleep_until(start_ns + int(t_extra / pace.speed * 1e9), dev, col)
            seq_x, t_ns_x = _send(dev, faults, "radar", targets=targets, t_ms=round(t_extra * 1000),
                                  ego_speed=round(plant.ego.v_mps * 1000), **path)
            col.sent(seq_x, t_ns_x, t_extra, plant.ttc_s(), plant.gap_m())
            faults.flood_frames += 1
        if pace.lockstep and seq >= 0:
            damaged = faults.last_mangled  # a damaged frame is rejected: no STATUS will come
            reply = dev.wait_for("status", 0.2 if damaged else 2.0, match=lambda m, s=seq: m["frame_seq"] == s,
                                 sink=col)
            if reply is None and not damaged:
                raise LinkError(f"no reply to radar frame {seq} within 2 s")
            if reply is not None:
                col(reply)
        _drain(dev, col)
        k += 1
        if progress is not None:
            progress(k, n_radar)
    else:
        plant.step(dt)  # the last radar frame's period counts too (an impact in it is an impact)
    col.ended = True
    run.radar_gap_ms = round(radar_gap_ns / 1e6, 1)
    if run.host_stalled() and not faults.active:
        run.warnings.append(f"the host wrote no radar frame for {run.radar_gap_ms:.0f} ms at one point (the board's "
                            f"stale-radar window is {STALE_WINDOW_MS} ms): this machine was too busy to keep the pace, "
                            f"and a stale-radar FAULT then is the host's, not the firmware's")
    _finish(dev, run, col, plant, start_pings)
    if faults.active:
        run.faults = faults.describe()
    return run


def _send(dev: Device, faults: Faults, msg_type: str, **fields) -> tuple[int, int]:
    """dev.send through the injected faults: a lost frame returns seq -1."""
    if faults.lose_this():
        faults.last_mangled = False
        dev.lose()
        return -1, time.perf_counter_ns()
    return dev.send(msg_type, mangle=faults.mangler(), **fields)


def _us(value: float | None) -> str:
    return "-" if value is None else f"{value:.0f} us"


def _name(names: tuple, index: int) -> str:
    """A level's or cause's name; the number itself for one this host does not know (a newer firmware)."""
    return names[index] if index < len(names) else str(index)


def _round(value: float | None, digits: int) -> float | None:
    return None if value is None else round(value, digits)


def _sleep_until(deadline_ns: int, dev: Device, col: _Collector) -> None:
    while True:
        left = deadline_ns - time.perf_counter_ns()
        if left <= 0:
            return
        msg = dev.recv(timeout=min(left / 1e9, 0.05))
        if msg is not None:
            col(msg)


def _drain(dev: Device, col: _Collector) -> None:
    msg = dev.recv()
    while msg is not None:
        col(msg)
        msg = dev.recv()


def _finish(dev: Device, run: Run, col: _Collector, plant: Plant, start_pings: list) -> None:
    end_pings = timing.ping_burst(dev, PING_COUNT_END, sink=col) if start_pings else []  # before the status
    # A board working through a backlog (a flood on a slow chip) is still answering: waited for.
    status = dev.status(timeout=2.0, sink=col, busy_limit=30.0)
    _drain(dev, col)
    if start_pings:
        _split_latency(run, col, timing.ClockFit(start_pings, end_pings))
    sent = dev.sent
    if status is None:
        run.failures.append("device did not answer the final status request")
        run.frames = {"sent": sent, "processed": None, "dropped": None, "rejected": None}
    else:
        run.frames = {"sent": sent, "processed": status["processed"], "dropped": status["dropped"],
                      "rejected": status["rejected"], "bad_crc": status["bad_crc"],
                      "skipped_bytes": status["skipped_bytes"]}
        run.device = {k: status.fields.get(k) for k in ("bad_version", "bad_type", "bad_length", "lost",
                                                        "tx_dropped", "loop_faults", "heap_bytes",
                                                        "settings_faults")}
        if status.fields.get("settings_faults"):
            run.warnings.append(f"the board refused {status['settings_faults']} saved setting(s) at boot and runs "
                                "their defaults (its log says which; `takeover config` shows what is in force)")
        accounted = status["processed"] + status["dropped"] + status["rejected"]
        if accounted != sent:
            run.failures.append(f"frame accounting: sent {sent}, device accounts for {accounted} "
                                f"({accounted - sent:+d})")
    if col.hellos:
        boot_ids = {h["boot_id"] for h in col.hellos}
        if boot_ids != {dev.hello.boot_id}:
            run.failures.append("device reset during the run (new boot id): results are invalid")
    run.latency_us = stats_us(col.alert_latency)
    run.frame_latency_us = stats_us(col.status_latency)
    run.frame_latency_samples_us = [round(ns / 1000, 1) for ns in col.status_latency]  # the report's histogram
    run.outcome = {"result": plant.result(), "collision": plant.collided,
                   "impact_speed_kph": round(plant.impact_speed_mps * 3.6, 1) if plant.collided else 0.0,
                   "min_gap_m": None if plant.min_gap_m is None else round(max(plant.min_gap_m, 0.0), 2),
                   "ego_stopped": plant.stopped_t_s is not None,
                   "driver_braked_at_s": None if plant.driver_brake_at_s is None else round(plant.driver_brake_at_s, 3),
                   "end_speed_kph": round(plant.ego.v_mps * 3.6, 1)}
    no_action = no_action_impact_mps(run.scenario)
    run.outcome["no_action_impact_kph"] = round(no_action * 3.6, 1)
    # Driver absent: the firmware's brake request alone decides the outcome (the Euro NCAP AEB
    # test), so it gets a score band; with a reacting driver the band would score the driver.
    run.outcome["score_band"] = (score_band(plant.collided, plant.impact_speed_mps, no_action)
                                 if run.scenario.driver.reacts_to == "never" and no_action > 0 else None)
    levels = [LEVELS.index(a["level"]) for a in run.alerts if a["level"] in LEVELS]
    run.max_level = LEVELS[max(levels, default=0)]
    _judge(run)


def _split_latency(run: Run, col: _Collector, fit: timing.ClockFit) -> None:
    """Uplink / device / downlink of every alert, and the latency against the echo floor."""
    parts = {"uplink": [], "device": [], "downlink": []}
    for index, sent_ns, dev_rx, proc_us, recv_ns in col.alert_stamps:
        up, on_device, down = timing.split(fit, sent_ns, dev_rx, proc_us, recv_ns)
        alert = run.alerts[index]
        alert.update({"uplink_us": round(up, 1), "device_us": round(on_device, 1), "downlink_us": round(down, 1)})
        parts["uplink"].append(up)
        parts["device"].append(on_device)
        parts["downlink"].append(down)
    run.clock = fit.describe()
    run.latency_split_us = {name: timing.stats_us(values) for name, values in parts.items()}
    run.latency_vs_floor = timing.versus_floor(stats_us(col.alert_latency), run.floor_us)


def _judge(run: Run) -> None:
    expect = run.scenario.expect
    top = LEVELS.index(run.max_level)
    if expect.max_level is not None and top > LEVELS.index(expect.max_level):
        first = next(a for a in run.alerts if LEVELS.index(a["level"]) > LEVELS.index(expect.max_level))
        run.failures.append(f"raised {first['level']} at t={first['t_s']} s; nothing above "
                            f"{expect.max_level} was expected")
    if expect.min_level is not None and top < LEVELS.index(expect.min_level):
        run.failures.append(f"highest alert was {run.max_level}; expected at least {expect.min_level}"
                            + (" before impact" if run.outcome["collision"] else ""))
    if expect.no_collision and run.outcome["collision"]:
        run.failures.append(f"collision at {run.outcome['impact_speed_kph']} km/h; expected none")
    elif expect.no_collision and run.outcome.get("result") == "undecided":
        # A run cut short while closing in has avoided nothing yet: no_collision is not shown.
        run.failures.append(f"undecided: the run ended {run.outcome['min_gap_m']} m short while still "
                            f"closing in; make duration_s longer to show no_collision")
    if expect.min_warning_ttc_s is not None:
        first = _first_at_or_above(run.alerts, "WARNING", cause="collision")
        if first is None:
            run.failures.append(f"no collision WARNING or higher; expected one at TTC >= {expect.min_warning_ttc_s} s")
        elif first["ttc_s"] is None or first["ttc_s"] < expect.min_warning_ttc_s:
            run.failures.append(f"first {first['level']} at true TTC {first['ttc_s']} s; expected >= "
                                f"{expect.min_warning_ttc_s} s")
    limit = expect.max_impact_speed_kph
    if limit is not None and run.outcome["collision"] and run.outcome["impact_speed_kph"] > limit:
        run.failures.append(f"impact at {run.outcome['impact_speed_kph']} km/h; expected <= {limit} km/h")
    for level, by_s in (expect.level_by or {}).items():
        first = _first_at_or_above(run.alerts, level)
        if first is None:
            run.failures.append(f"no {level} or higher; expected by {by_s} s")
        elif first["t_s"] is None or first["t_s"] > by_s:
            run.failures.append(f"{level} or higher first at {_when(first)}; expected by {by_s} s")
    for level, after_s in (expect.level_not_before or {}).items():
        first = _first_at_or_above(run.alerts, level)
        if first is not None and (first["t_s"] is None or first["t_s"] < after_s):
            run.failures.append(f"{first['level']} at {_when(first)}; not expected before {after_s} s")
    run.passed = not run.failures


def _first_at_or_above(alerts: list[dict], level: str, cause: str | None = None) -> dict | None:
    """The first alert at `level` or higher, of `cause` or any (alerts arrive in time order)."""
    floor = LEVELS.index(level)
    return next((a for a in alerts if a["level"] in LEVELS and LEVELS.index(a["level"]) >= floor
                 and (cause is None or a["cause"] == cause)), None)


def _when(alert: dict) -> str:
    # An alert whose causing frame is unknown has no scenario time: it cannot meet a deadline.
    return "an unknown time" if alert["t_s"] is None else f"t={alert['t_s']} s"

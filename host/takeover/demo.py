"""`takeover demo`: the Xiaomi SU7 crash with a 2-second warning, then the same road with this firmware.

Both runs are the su7-construction-zone scenario in closed loop on the same board (simulated, or
real with --port: its LED, buzzer and haptic motor follow the firmware), with the same reference
driver, who sees a collision WARNING the HMI latency after it leaves the board and brakes
`reaction_s` later, building up over `brake_ramp_s` to `brake_mps2` (UN R157's reference driver):

1. baseline, a host-side stand-in for the car as reported (Xiaomi's timeline: "obstacle ahead"
   about 2 s before impact). The firmware cannot be set that late (its safety floors refuse it), so the
   host raises the WARNING itself when the ground-truth TTC first reaches BASELINE_WARN_TTC_S, and
   not before the radar could see the barrier. The board still gets every frame, but its alerts
   and brake requests reach neither the driver nor the car (BaselinePlant);
2. this firmware: the board's alerts close the loop, as in `takeover run`.

A live dashboard (rich) shows gap, speed, TTC, driver and the alert lights as the runs happen;
--no-live runs headless. Then demo-su7.png (both runs, one above the other on the same scales)
and demo-su7.gif (the same, animated) are drawn by takeover.demo_plot; demo.json has the numbers.
Classroom notes: docs/demo.md.
"""

from __future__ import annotations

import json
import math
import time
from dataclasses import dataclass, field
from pathlib import Path

from tkfw.alerts import CAUSE_COLLISION, CAUSES, LEVELS

from takeover import scenario as scenarios
from takeover import sweep
from takeover.device import Device
from takeover.errors import UsageError
from takeover.plant import KPH, Plant, impact_speed_mps, stopping_distance_m
from takeover.runner import Pace, Run, duration_for_outcome, run_scenario
from takeover.scenario import Expect, Scenario

SCENARIO = "su7-construction-zone"
BASELINE_WARN_TTC_S = 2.0  # SU7, 29 March 2025: "obstacle ahead" about 2 s before impact (Xiaomi's timeline)
BARRIER_LEAD_M = 20.0  # the barrier starts at least this far beyond the detection range
PNG, GIF, JSON = "demo-su7.png", "demo-su7.gif", "demo.json"  # the SU7's; figures() names another scenario's
LIMITS = {"speed_kph": (10.0, 200.0, "km/h"), "detect_range_m": (10.0, 300.0, "m"), "reaction_s": (0.0, 5.0, "s"),
          "distraction_s": (0.0, 30.0, "s")}
BASELINE_TITLE = f"Baseline: WARNING at TTC {BASELINE_WARN_TTC_S:g} s, as reported (host stand-in)"
FIRMWARE_TITLE = "This firmware"
SHORT_TITLES = {"baseline": f"Baseline: WARNING at TTC {BASELINE_WARN_TTC_S:g} s (host stand-in)",
                "firmware": "This firmware, on the board"}  # the dashboard's panel titles
STAND_IN_NOTE = (f"The baseline is a host-side stand-in: the board runs the firmware on the same frames, "
                 f"but the driver is cued by the host when the true TTC reaches {BASELINE_WARN_TTC_S:g} s "
                 f"(the firmware's safety floors refuse a setting that late); the board's own alerts and "
                 f"brake requests are ignored in that run.")


# ---------------------------------------------------------------- the two closed loops

class RecordingPlant(Plant):
    """A Plant that keeps the ego's path (t, x, v, phase) once per radar period, for the figures."""

    def __init__(self, scenario: Scenario, substeps: int = 4):
        super().__init__(scenario, substeps)
        self.path: list[tuple[float, float, float, str]] = [(0.0, self.ego.x_m, self.ego.v_mps, "cruising")]
        self.aeb_from_s: float | None = None  # when the board's brake request first braked the car

    def phase(self) -> str:
        """What the ego is doing now: cruising, driver reacting, driver braking, brake request."""
        if self.aeb_active:
            return "brake request"
        brake_at = self.driver_brake_at_s
        if brake_at is None:
            return "cruising"
        return "braking" if self.t_s >= brake_at else "reacting"

    def _ego_decel(self, t_s: float, h: float = 0.0) -> float:
        decel = super()._ego_decel(t_s, h)
        if self.aeb_active and self.aeb_from_s is None:
            self.aeb_from_s = t_s
        return decel

    def _record(self) -> None:
        self.path.append((self.t_s, self.ego.x_m, self.ego.v_mps, self.phase()))

    def step(self, dt: float) -> None:
        super().step(dt)
        self._record()


class BaselinePlant(RecordingPlant):
    """The baseline's closed loop: the host, not the board, cues the driver, at a true TTC of
    warn_ttc_s (once the radar could see the obstacle). The board's alerts change nothing."""

    def __init__(self, scenario: Scenario, warn_ttc_s: float = BASELINE_WARN_TTC_S, substeps: int = 4):
        super().__init__(scenario, substeps=1)  # one Plant step per sub-step: the cue is checked in each
        self.sub = substeps
        self.warn_ttc_s = warn_ttc_s
        self.cue_t_s: float | None = None
        self.cue_ttc_s: float | None = None
        self.cue_gap_m: float | None = None

    def on_alert(self, t_s: float, level: str, cause: str, outputs: int) -> None:
        pass  # the board's alerts and brake requests reach neither the driver nor the car

    def step(self, dt: float) -> None:
        h = dt / self.sub
        for _ in range(self.sub):
            self._cue(h)
            Plant.step(self, h)
        self._record()

    def _cue(self, h: float) -> None:
        if self.cue_t_s is not None:
            return
        lead, ttc, gap = self._lead(), self.ttc_s(), self.gap_m()
        if lead is None or ttc is None or gap > lead.spec.detect_range_m or not lead.visible(self.t_s):
            return
        if ttc <= self.warn_ttc_s + h:
            # Nothing brakes before the cue, so the TTC falls at 1 s/s: the crossing is exact.
            ahead = max(0.0, ttc - self.warn_ttc_s)
            self.cue_t_s = self.t_s + ahead
            self.cue_ttc_s = ttc - ahead
            self.cue_gap_m = gap - ahead * (self.ego.v_mps - lead.body.v_mps)
            Plant.on_alert(self, self.cue_t_s, "WARNING", CAUSES[CAUSE_COLLISION], 0)


# ---------------------------------------------------------------- one run's result

@dataclass
class DemoRun:
    key: str  # "baseline" or "firmware"
    title: str
    run: Run
    plant: RecordingPlant
    warning: dict | None  # the driver's cue: t_s, ttc_s, gap_m
    levels: list[tuple[float, str]]  # (t_s, level) of the cue source, from t = 0
    barrier_x_m: float
    detect_range_m: float
    brake_request: bool = False  # the firmware's brake request (EMERGENCY) acted in this run

    @property
    def collided(self) -> bool:
        return self.plant.collided

    @property
    def impact_kph(self) -> float:
        return self.plant.impact_speed_mps / KPH

    @property
    def end_t_s(self) -> float:
        return self.plant.collision_t_s if self.collided else self.plant.t_s

    @property
    def short_m(self) -> float:
        """How far short of the barrier the ego ended (0 after an impact)."""
        gap = self.plant.gap_m()
        return 0.0 if self.collided or gap is None else max(gap, 0.0)

    def outcome(self) -> str:
        if self.collided:
            return f"impact at {self.impact_kph:.1f} km/h"
        if self.plant.stopped_t_s is not None:
            return f"stopped {self.short_m:.1f} m short"
        return f"still moving at {self.plant.ego.v_mps / KPH:.0f} km/h, {self.short_m:.1f} m short"

    def level_at(self, t_s: float) -> str:
        level = "NONE"
        for t, name in self.levels:
            if t > t_s + 1e-9:
                break
            level = name
        return level

    def to_json(self) -> dict:
        o = self.run.outcome
        return {"key": self.key, "title": self.title, "collision": self.collided,
                "impact_speed_kph": round(self.impact_kph, 1) if self.collided else 0.0,
                "stopped": self.plant.stopped_t_s is not None, "short_m": round(self.short_m, 2),
                "warning": self.warning, "driver_brakes_at_s": o.get("driver_braked_at_s"),
                "brake_request": self.brake_request, "end_t_s": round(self.end_t_s, 3),
                "board_alerts": self.run.alerts, "frames": self.run.frames}


def _firmware_levels(run: Run) -> list[tuple[float, str]]:
    """The board's level at each radar frame (its STATUS), a frame without one keeping the last."""
    out, last = [(0.0, "NONE")], "NONE"
    for row in run.trace:
        level = row.get("level") or last
        if level != last:
            out.append((row["t_s"], level))
            last = level
    return out


def finish(run: Run, plant: RecordingPlant) -> DemoRun:
    """One run's result: the baseline's if its plant is a BaselinePlant, else the firmware's."""
    target = run.scenario.targets[0]
    if isinstance(plant, BaselinePlant):
        warning = None if plant.cue_t_s is None else {
            "t_s": round(plant.cue_t_s, 3), "ttc_s": round(plant.cue_ttc_s, 3), "gap_m": round(plant.cue_gap_m, 2),
            "level": "WARNING", "by": "host (baseline stand-in)"}
        levels = [(0.0, "NONE")] + ([(plant.cue_t_s, "WARNING")] if plant.cue_t_s is not None else [])
        return DemoRun("baseline", BASELINE_TITLE, run, plant, warning, levels, target.range_m,
                       target.detect_range_m)
    first = next((a for a in run.alerts if a["cause"] == "collision" and a["level"] in LEVELS
                  and LEVELS.index(a["level"]) >= LEVELS.index("WARNING")), None)
    warning = None if first is None else {"t_s": first["t_s"], "ttc_s": first["ttc_s"], "gap_m": first["gap_m"],
                                          "level": first["level"], "by": "board"}
    return DemoRun("firmware", FIRMWARE_TITLE, run, plant, warning, _firmware_levels(run), target.range_m,
                   target.detect_range_m, brake_request=plant.aeb_from_s is not None)


# ---------------------------------------------------------------- the scenario and the physics

def demo_scenario(speed_kph: float | None = None, detect_range_m: float | None = None,
                  reaction_s: float | None = None, aeb: bool | None = None, distraction_s: float | None = None,
                  name: str = SCENARIO) -> Scenario:
    """The scenario `name` (su7-construction-zone unless told) with the class's values, a value
    left None keeping the file's; the driver reacts to a collision WARNING. aeb=False: the car
    ignores the firmware's brake request too (the warning alone). distraction_s: the driver's eyes
    are off the road from the start for that long (sweep's distraction_s)."""
    values = {k: v for k, v in (("speed_kph", speed_kph), ("detect_range_m", detect_range_m),
                                ("reaction_s", reaction_s), ("distraction_s", distraction_s)) if v is not None}
    for key, value in values.items():
        lo, hi, unit = LIMITS[key]
        if not (lo <= value <= hi) or math.isnan(value):
            raise UsageError(f"--{key.replace('_', '-')} {value:g}: expected {lo:g} .. {hi:g} {unit}")
    base = scenarios.load(name)
    if not base.targets:
        raise UsageError(f"--scenario {name}: the demo needs a car or an obstacle ahead, and this scenario has none")
    if aeb is not None:
        values["aeb"] = float(aeb)
    scn = sweep.apply(base, values)
    scn.expect = Expect()  # a demonstration: the outcome is the result, nothing is judged
    scn.driver.reacts_to = "WARNING"
    target = scn.targets[0]
    target.range_m = max(target.range_m, target.detect_range_m + BARRIER_LEAD_M)
    scn.duration_s = duration_for_outcome(scn)  # to the barrier and a stop, whatever the class chose
    scenarios.check_ranges(scn)
    return scn


def settings_of(scn: Scenario) -> dict | None:
    """The class's values as the scenario file has them (what the classroom page's sliders start
    from); None for a scenario with nothing ahead, which the demo cannot run."""
    if not scn.targets:
        return None
    driver = scn.driver

    def away(t_s: float) -> bool:
        now = driver.state_at(t_s)
        return now["eyes_closed"] or not now["eyes_on_road"]

    distraction = 0.0
    if away(0.0):  # eyes off the road from the start: until the first entry that brings them back
        distraction = next((e["t_s"] for e in driver.state if e["t_s"] > 0 and not away(e["t_s"])), scn.duration_s)
    return {"speed_kph": scn.ego.speed_kph, "detect_range_m": scn.targets[0].detect_range_m,
            "reaction_s": driver.reaction_s, "distraction_s": distraction, "aeb": scn.aeb.enabled}


def figures(scn: Scenario) -> tuple[str, str]:
    """The PNG's and the GIF's file names: demo-su7.* for the SU7, demo-NAME.* for another
    scenario (a class that runs several keeps them all)."""
    if scn.name == SCENARIO:
        return PNG, GIF
    return f"demo-{scn.name}.png", f"demo-{scn.name}.gif"


def physics(scn: Scenario) -> dict:
    """The textbook numbers for this driver (UN R157's reference driver by default): stopping
    distance from the alert leaving the board, the impact speed after a warning at the baseline's
    TTC, and the TTC at which the radar first sees the barrier."""
    v, d = scn.ego.speed_kph * KPH, scn.driver
    hmi_s = scn.hmi.latency_ms / 1000
    need_m = stopping_distance_m(v, d, hmi_s)
    target = scn.targets[0]
    impact = impact_speed_mps(v, min(BASELINE_WARN_TTC_S * v, target.detect_range_m), d, hmi_s)
    best = impact_speed_mps(v, target.detect_range_m, d, hmi_s)  # a warning the moment the radar sees it
    return {"speed_kph": scn.ego.speed_kph, "reaction_s": d.reaction_s, "brake_mps2": d.brake_mps2,
            "brake_ramp_s": d.brake_ramp_s, "hmi_latency_ms": scn.hmi.latency_ms, "stopping_m": round(need_m, 1),
            "needed_ttc_s": round(need_m / v, 2), "detect_range_m": target.detect_range_m,
            "detect_ttc_s": round(target.detect_range_m / v, 2),
            "baseline_impact_kph": round(impact / KPH, 1), "best_warning_impact_kph": round(best / KPH, 1)}


# ---------------------------------------------------------------- running both

@dataclass
class Live:
    """What the dashboard shows for one run while it happens."""
    key: str
    title: str
    state: str = "waiting"  # waiting, running, done
    t_s: float = 0.0
    gap_m: float | None = None
    ttc_s: float | None = None
    kph: float = 0.0
    driver: dict = field(default_factory=dict)
    phase: str = "cruising"
    level: str = "NONE"
    cause: str = "none"  # of `level`: which alert's outputs the driver gets (the classroom page sounds them)
    board_level: str = "NONE"
    trail: list[tuple[float, str]] = field(default_factory=list)  # (x_m, level) per frame
    outcome: str = ""
    warning: str = ""


def run_demo(dev: Device, scn: Scenario, pace: Pace, show=None, baseline: bool = True) -> list[DemoRun]:
    """Baseline, then this firmware, on one open device (baseline=False: the firmware alone).
    show(lives), if given, is called as the runs progress (the dashboard), with pauses between
    runs when the pace is real time."""
    keys = ("baseline", "firmware") if baseline else ("firmware",)
    lives = [Live(key, SHORT_TITLES[key]) for key in keys]
    plants = {"baseline": BaselinePlant, "firmware": RecordingPlant}
    results = []
    for live in lives:
        plant = plants[live.key](scn)
        partial: list[Run] = []
        live.state = "running"

        def progress(k, n, live=live, plant=plant, partial=partial):
            if show is None or not partial or not partial[0].trace:
                return
            _update(live, partial[0], plant)
            show(lives)

        if show is not None:
            show(lives)
        run = run_scenario(dev, scn, pace, progress=progress, measure_link=False, partial=partial, plant=plant)
        result = finish(run, plant)
        results.append(result)
        if show is not None:
            _update(live, run, plant)
            live.state, live.outcome = "done", result.outcome()
            live.gap_m = result.short_m if not result.collided else 0.0
            live.kph = plant.ego.v_mps / KPH
            show(lives)
            if live.key == "baseline" and not pace.lockstep:
                time.sleep(2.0 / pace.speed)  # a moment to see the crash before the next run
    return results


def _update(live: Live, run: Run, plant: RecordingPlant) -> None:
    row = run.trace[-1]
    live.t_s, live.gap_m, live.ttc_s, live.kph = row["t_s"], row["gap_m"], row["ttc_s"], row["ego_kph"]
    live.driver = {k: row[k] for k in ("hands_on", "eyes_on_road", "eyes_closed")}
    live.phase = plant.phase()
    status = next((r for r in reversed(run.trace) if r.get("level")), {"level": "NONE", "cause": "none"})
    board = live.board_level = status["level"]
    if isinstance(plant, BaselinePlant):
        cued = plant.cue_t_s is not None and plant.cue_t_s <= plant.t_s + 1e-9
        live.level, live.cause = ("WARNING", "collision") if cued else ("NONE", "none")
        if plant.cue_t_s is not None:
            live.warning = f"WARNING at TTC {plant.cue_ttc_s:.1f} s ({plant.cue_gap_m:.0f} m)"
    else:
        live.level, live.cause = board, status["cause"]
        first = next((a for a in run.alerts if a["cause"] == "collision" and a["level"] in LEVELS
                      and LEVELS.index(a["level"]) >= LEVELS.index("WARNING")), None)
        if first is not None and first["ttc_s"] is not None:
            live.warning = f"{first['level']} at TTC {first['ttc_s']:.1f} s ({first['gap_m']:.0f} m)"
    live.trail.append((plant.ego.x_m, live.level))


# ---------------------------------------------------------------- the dashboard (rich)

LIGHT_STYLES = {"NONE": "bold white on #2e7d32", "NOTICE": "bold black on #f5d020", "WARNING": "bold black on #f28e2b",
                "TAKEOVER": "bold white on #d62728", "EMERGENCY": "bold white on #6b1d5c"}
ROAD_CELLS = 44
BAR_CELLS = 22


class Dashboard:
    """Two panels, baseline and firmware, redrawn at most ~30 times a second."""

    def __init__(self, scn: Scenario, console=None):
        from rich.console import Console
        from rich.live import Live as RichLive

        self.scn = scn
        self.console = console or Console()
        self._live = RichLive(console=self.console, auto_refresh=False, transient=False)
        self._last = 0.0

    def __enter__(self) -> "Dashboard":
        self._live.__enter__()
        return self

    def __exit__(self, *exc) -> None:
        self._live.__exit__(*exc)

    def show(self, lives: list[Live]) -> None:
        now = time.monotonic()
        busy = any(live.state == "running" for live in lives)
        if busy and now - self._last < 1 / 30:
            return
        self._last = now
        self._live.update(self.render(lives), refresh=True)

    def render(self, lives: list[Live]):
        from rich.console import Group
        from rich.table import Table
        from rich.text import Text

        scn = self.scn
        d = scn.driver
        head = Text.assemble(
            ("takeover demo", "bold"), f"  {scn.description.split(':')[0]}: {scn.ego.speed_kph:g} km/h, barrier "
            f"in lane, radar sees it from {scn.targets[0].detect_range_m:g} m\n",
            f"Same driver in both runs: sees a WARNING {scn.hmi.latency_ms:g} ms after it leaves the board, "
            f"brakes {d.braking().replace('^2', '²')}.",
            style="")
        panels = [self._panel(live) for live in lives]
        if self.console.width >= 2 * 52:
            grid = Table.grid(expand=True, padding=(0, 1))
            grid.add_column(ratio=1)
            grid.add_column(ratio=1)
            grid.add_row(*panels)
            body = grid
        else:
            body = Group(*panels)
        note = Text(STAND_IN_NOTE, style="dim")
        return Group(head, body, note)

    def _panel(self, live: Live):
        from rich.panel import Panel
        from rich.table import Table
        from rich.text import Text

        scn = self.scn
        target = scn.targets[0]
        t = Table.grid(padding=(0, 1))
        t.add_column(style="bold", width=7)
        t.add_column()
        if live.state == "waiting":
            body = Text("next", style="dim")
        else:
            t.add_row("road", self._road(live, target.range_m))
            t.add_row("time", f"{live.t_s:5.2f} s")
            gap = live.gap_m
            t.add_row("gap", _bar(gap or 0.0, target.range_m, "#3a7dc9")
                      + Text("   -" if gap is None else f" {gap:5.1f} m"))
            t.add_row("speed", _bar(live.kph, scn.ego.speed_kph, "#888888") + Text(f" {live.kph:5.1f} km/h"))
            ttc_style = "bold red" if live.ttc_s is not None and live.ttc_s < 2.0 else ""
            t.add_row("TTC", Text("-" if live.ttc_s is None else f"{live.ttc_s:.2f} s", style=ttc_style))
            t.add_row("driver", self._driver(live))
            t.add_row("alert", self._lights(live.level))
            if live.warning:
                t.add_row("", Text(live.warning))
            if live.key == "baseline":
                t.add_row("board", Text(f"{live.board_level} (its own alert, ignored in this run)", style="dim"))
            if live.outcome:
                bad = "impact" in live.outcome
                t.add_row("result", Text(live.outcome.upper(), style="bold white on red" if bad else "bold white on green"))
            body = t
        style = {"waiting": "dim", "running": "bold", "done": ""}[live.state]
        return Panel(body, title=live.title, title_align="left", border_style=style)

    def _road(self, live: Live, barrier_x: float):
        from rich.text import Text

        text = Text()
        cells = ROAD_CELLS
        car = min(cells - 1, int(live.trail[-1][0] / barrier_x * cells)) if live.trail else 0
        levels = ["NONE"] * cells
        for x, level in live.trail:  # the alert level where the car was
            levels[min(cells - 1, max(0, int(x / barrier_x * cells)))] = level
        for i in range(cells):
            if i < car:  # behind the car: the level it had there
                colour = LIGHT_STYLES.get(levels[i], "on #555555").split(" on ")[-1]
                text.append("━", style=colour)
            elif i == car:
                text.append("▶" if not live.outcome.startswith("impact") else "✖", style="bold")
            else:
                text.append("─", style="#555555")
        text.append("█", style="bold red")
        return text

    def _driver(self, live: Live):
        from rich.text import Text

        d = live.driver
        eyes = "eyes closed" if d.get("eyes_closed") else ("eyes on road" if d.get("eyes_on_road") else "eyes off road")
        hands = "hands on" if d.get("hands_on") else "hands off"
        phase_style = {"cruising": "", "reacting": "bold yellow", "braking": "bold green",
                       "brake request": "bold magenta"}[live.phase]
        phase = {"cruising": "not braking", "reacting": "reacting...", "braking": "BRAKING",
                 "brake request": "BRAKE REQUEST (firmware)"}[live.phase]
        return Text.assemble(f"{eyes}, {hands}, ", (phase, phase_style))

    @staticmethod
    def _lights(level: str):
        from rich.text import Text

        text = Text()
        for name in LEVELS:
            label = {"NONE": "NONE", "NOTICE": "NOTICE", "WARNING": "WARN", "TAKEOVER": "TAKEOVER",
                     "EMERGENCY": "EMERG"}[name]
            text.append(f" {label} ", style=LIGHT_STYLES[name] if name == level else "dim")
            text.append(" ")
        return text


def _bar(value: float, full: float, colour: str):
    from rich.text import Text

    n = 0 if full <= 0 else max(0, min(BAR_CELLS, round(value / full * BAR_CELLS)))
    return Text("█" * n, style=colour) + Text("░" * (BAR_CELLS - n), style="#444444")


# ---------------------------------------------------------------- the command

def summary_lines(scn: Scenario, results: list[DemoRun], phys: dict) -> list[str]:
    lines = []
    for r in results:
        w = r.warning
        cue = ("no warning" if w is None else
               f"{w['level']} at t={w['t_s']:.2f} s, true TTC {w['ttc_s']:.2f} s, gap {w['gap_m']:.1f} m")
        extra = "; the firmware's brake request acted" if r.brake_request else ""
        lines.append(f"   {r.key:<9} {cue} -> {r.outcome()}{extra}")
    lines.append(f"   physics: this driver needs {phys['stopping_m']:g} m (TTC {phys['needed_ttc_s']:g} s) at "
                 f"{phys['speed_kph']:g} km/h; the radar sees the barrier at {phys['detect_range_m']:g} m "
                 f"(TTC {phys['detect_ttc_s']:g} s); a {BASELINE_WARN_TTC_S:g} s warning leaves an impact at "
                 f"{phys['baseline_impact_kph']:g} km/h")
    if phys["detect_ttc_s"] < phys["needed_ttc_s"]:
        lines.append(f"   no warning can save this driver here: the radar sees the barrier too late; even a "
                     f"warning the moment it does leaves an impact at {phys['best_warning_impact_kph']:g} km/h "
                     f"(only braking by the car itself can do better)")
    return lines


def main(args) -> int:
    """The `takeover demo` command (takeover.cli parses the arguments)."""
    scn = demo_scenario(args.speed_kph, args.detect_range_m, args.reaction_s, aeb=False if args.no_aeb else None,
                        distraction_s=args.distraction_s, name=args.scenario)
    if args.gif_fps <= 0 or args.gif_fps > 30:
        raise UsageError(f"--gif-fps {args.gif_fps:g}: expected 1 .. 30")
    out = Path(args.out)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UsageError(f"--out {out}: cannot create it ({exc.strerror})") from None
    live = not args.no_live
    if args.speed is not None:
        pace = Pace(speed=args.speed)
    else:
        pace = Pace(speed=1.0) if live else Pace(lockstep=True)
    phys = physics(scn)
    print(f"== takeover demo: {scn.description.split(':')[0]} at {scn.ego.speed_kph:g} km/h, radar range "
          f"{scn.targets[0].detect_range_m:g} m; the driver sees a WARNING {scn.hmi.latency_ms:g} ms after it "
          f"leaves the board and brakes {scn.driver.braking()}; board on {args.port}, {pace.describe()}"
          + ("; the car ignores the firmware's brake request" if args.no_aeb else ""), flush=True)
    if not live:
        print(f"   {STAND_IN_NOTE}", flush=True)
    with Device(args.port, board=args.board) as dev:
        if live:
            with Dashboard(scn) as board:
                results = run_demo(dev, scn, pace, show=board.show)
        else:
            results = run_demo(dev, scn, pace)
    for line in summary_lines(scn, results, phys):
        print(line, flush=True)
    from takeover import demo_plot  # matplotlib loads only once the runs are over

    png, gif = (out / name for name in figures(scn))
    print(f"   drawing {png} and {gif} ...", flush=True)
    demo_plot.write_png(png, scn, results)
    demo_plot.write_gif(gif, scn, results, fps=args.gif_fps)
    (out / JSON).write_text(json.dumps({
        "scenario": scn.name, "port": args.port, "pace": pace.describe(), "baseline_warn_ttc_s": BASELINE_WARN_TTC_S,
        "physics": phys, "runs": [r.to_json() for r in results]}, indent=2) + "\n")
    print(f"   wrote {png}, {gif} and {out / JSON}")
    return 0

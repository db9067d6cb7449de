"""`takeover sweep`: one scenario over a grid of parameters, outcomes in a table and a heat map.

    takeover sweep su7-construction-zone --param speed_kph=60:140:20 \
        --param detect_range_m=40:200:20 --param reaction_s=1.2,2.0 --out sweep/

Each grid point is the scenario with those values, run in lockstep on the board (the closed loop
gives the same outcome at any pace, so a sweep is only as slow as the board). Parameters:
  speed_kph        the ego speed ([ego] speed_kph)
  detect_range_m   every target's radar detection range
  reaction_s       the reference driver's reaction time (attentive; [driver] reaction_s)
  brake_mps2       the reference driver's braking
  range_m          every target's initial range
  aeb_delay_s      the brake actuator delay ([aeb] delay_s)
  aeb              1 to apply the firmware's brake request, 0 to leave it to the driver
  distraction_s    the driver's eyes are off the road from the start for this long (0: on the road
                   throughout); replaces the scenario's own driver timeline
Values: a list `a,b,c` or a range `start:stop:step` (stop included).

Every run is made long enough to reach an outcome (takeover.runner.duration_for_outcome, never
shorter than the scenario's duration_s): a collision, a stop, or the path clear (the target left
behind or drawing away). A run that still ends while closing in is run again twice as long, up to
MAX_DURATION_S, and otherwise reported as undecided: never as a stop.

Up to three parameters may take several values (the axes); more may be fixed to one value
(e.g. aeb=0). Writes sweep.csv (one row per point) and sweep.png (impact speed: one panel per
value of the third axis, if any), and prints, per value of the other parameters, the lowest detection
range (or the threshold of the first parameter) from which every larger value avoids the impact.
"""

from __future__ import annotations

import copy
import csv
import itertools
from dataclasses import dataclass
from pathlib import Path

from takeover.device import Device
from takeover.errors import UsageError
from takeover.runner import Pace, duration_for_outcome, run_scenario
from takeover.scenario import Scenario, check_ranges

PARAMS = {
    "speed_kph": ("ego speed", "km/h"),
    "detect_range_m": ("detection range", "m"),
    "reaction_s": ("driver reaction", "s"),
    "brake_mps2": ("driver braking", "m/s^2"),
    "range_m": ("initial range", "m"),
    "aeb_delay_s": ("brake actuator delay", "s"),
    "aeb": ("brake request applied", "0/1"),
    "distraction_s": ("eyes off the road from the start", "s"),
}
MAX_POINTS = 2000
MAX_DURATION_S = 300.0  # an undecided run is retried twice as long up to this


def apply(scenario: Scenario, values: dict[str, float]) -> Scenario:
    """A copy of the scenario with the grid point's values."""
    scn = copy.deepcopy(scenario)
    for name, value in values.items():
        if name == "speed_kph":
            scn.ego.speed_kph = value
        elif name == "detect_range_m":
            for t in scn.targets:
                t.detect_range_m = value
        elif name == "range_m":
            for t in scn.targets:
                t.range_m = value
        elif name == "reaction_s":
            scn.driver.reaction_s = value
        elif name == "brake_mps2":
            scn.driver.brake_mps2 = value
        elif name == "aeb_delay_s":
            scn.aeb.delay_s = value
        elif name == "aeb":
            scn.aeb.enabled = bool(value)
        elif name == "distraction_s":
            scn.driver.eyes_on_road, scn.driver.eyes_closed = True, False
            scn.driver.state = [{"t_s": 0.0, "eyes_on_road": False}, {"t_s": value, "eyes_on_road": True}] if value > 0 else []
    return scn


def parse_param(text: str) -> tuple[str, list[float]]:
    """'name=a,b,c' or 'name=start:stop:step' -> (name, values)."""
    name, sep, spec = text.partition("=")
    name = name.strip()
    if not sep or not spec:
        raise UsageError(f"--param {text!r}: expected NAME=VALUES, e.g. speed_kph=60:140:20 or reaction_s=1.2,2.0")
    if name not in PARAMS:
        raise UsageError(f"--param {name!r}: unknown parameter (known: {', '.join(PARAMS)})")
    try:
        if ":" in spec:
            start, stop, step = (float(x) for x in spec.split(":"))
            if step <= 0 or stop < start:
                raise ValueError
            n = int(round((stop - start) / step)) + 1
            values = [round(start + k * step, 6) for k in range(n) if start + k * step <= stop + 1e-9]
        else:
            values = [float(x) for x in spec.split(",")]
    except ValueError:
        raise UsageError(f"--param {text!r}: values must be numbers, 'a,b,c' or 'start:stop:step' "
                         f"with step > 0") from None
    if any(v < 0 for v in values) or (name == "speed_kph" and any(v <= 0 for v in values)):
        raise UsageError(f"--param {text!r}: values must be positive")
    if name == "aeb" and any(v not in (0, 1) for v in values):
        raise UsageError(f"--param {text!r}: aeb takes 0 or 1")
    return name, values


@dataclass
class Point:
    values: dict
    result: str  # collision, stopped, clear or undecided (takeover.plant.Plant.result)
    collision: bool
    impact_speed_kph: float
    min_gap_m: float | None
    first_warning_ttc_s: float | None
    max_level: str
    passed: bool


def plan(scenario: Scenario, grid: dict[str, list[float]]) -> list[tuple[dict, Scenario]]:
    """(values, scenario) of every grid point, each checked against the physical ranges first:
    a value out of range is one line before anything runs, not a failure half-way through."""
    names = list(grid)
    combos = list(itertools.product(*(grid[n] for n in names)))
    if len(combos) > MAX_POINTS:
        raise UsageError(f"{len(combos)} grid points; at most {MAX_POINTS} per sweep")
    out = []
    for combo in combos:
        values = dict(zip(names, combo))
        scn = apply(scenario, values)
        check_ranges(scn, "--param " + ", ".join(f"{n}={v:g}" for n, v in values.items()))
        out.append((values, scn))
    return out


def run_grid(dev: Device, scenario: Scenario, grid: dict[str, list[float]], progress=None) -> list[Point]:
    grid_points = plan(scenario, grid)
    points = []
    for k, (values, scn) in enumerate(grid_points):
        run = run_to_outcome(dev, scn)
        first = next((a for a in run.alerts if a["cause"] == "collision"
                      and a["level"] in ("WARNING", "TAKEOVER", "EMERGENCY")), None)
        o = run.outcome
        points.append(Point(values, o["result"], o["collision"], o["impact_speed_kph"], o["min_gap_m"],
                            None if first is None else first["ttc_s"], run.max_level, run.passed))
        if progress is not None:
            progress(k + 1, len(grid_points))
    return points


def run_to_outcome(dev: Device, scn: Scenario):
    """One grid point, long enough for an outcome: undecided runs are retried twice as long."""
    scn.duration_s = duration_for_outcome(scn)
    while True:
        run = run_scenario(dev, scn, Pace(lockstep=True), measure_link=False)
        if run.outcome["result"] != "undecided" or scn.duration_s >= MAX_DURATION_S:
            return run
        scn.duration_s = min(MAX_DURATION_S, scn.duration_s * 2)


def write_csv(path: Path, points: list[Point]) -> None:
    names = list(points[0].values) if points else []
    with path.open("w", newline="") as f:
        out = csv.writer(f)
        out.writerow(names + ["result", "collision", "impact_speed_kph", "min_gap_m", "first_warning_ttc_s", "max_level",
                              "expectations_met"])
        for p in points:
            out.writerow([p.values[n] for n in names] + [p.result, int(p.collision), p.impact_speed_kph, p.min_gap_m,
                                                         p.first_warning_ttc_s, p.max_level, int(p.passed)])


def thresholds(points: list[Point], along: str) -> list[tuple[dict, float | None]]:
    """For each combination of the other parameters: the smallest value of `along` from which
    every larger value in the grid avoids the impact (None if even the largest does not). An
    undecided run avoids nothing."""
    others = [n for n in points[0].values if n != along and len({p.values[n] for p in points}) > 1]
    groups: dict[tuple, list[Point]] = {}
    for p in points:
        groups.setdefault(tuple(p.values[n] for n in others), []).append(p)
    out = []
    for key, group in groups.items():
        group.sort(key=lambda p: p.values[along])
        lowest = None
        for p in reversed(group):
            if p.result not in ("stopped", "clear"):
                break
            lowest = p.values[along]
        out.append((dict(zip(others, key)), lowest))
    return out


CELL_LABELS = {"stopped": "stop", "clear": "clear", "undecided": "?"}  # a collision shows its impact speed


def heatmap(path: Path, points: list[Point], title: str) -> None:
    """Impact speed over the first two parameters; one panel per value of the third."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    names = [n for n in points[0].values if len({p.values[n] for p in points}) > 1]  # the axes
    x_name, y_name = names[0], names[1] if len(names) > 1 else None
    facet = names[2] if len(names) > 2 else None
    facets = sorted({p.values[facet] for p in points}) if facet else [None]
    xs = sorted({p.values[x_name] for p in points})
    ys = sorted({p.values[y_name] for p in points}) if y_name else [0.0]
    vmax = max([p.impact_speed_kph for p in points] + [1.0])
    fig, axes = plt.subplots(1, len(facets), figsize=(4.2 * len(facets) + 1.2, 4.2), squeeze=False,
                             constrained_layout=True)
    for ax, fv in zip(axes[0], facets):
        grid = np.full((len(ys), len(xs)), np.nan)  # undecided cells stay blank (grey)
        labels = {}
        for p in points:
            if facet and p.values[facet] != fv:
                continue
            cell = (ys.index(p.values[y_name]) if y_name else 0, xs.index(p.values[x_name]))
            labels[cell] = CELL_LABELS.get(p.result) or f"{p.impact_speed_kph:.0f}"
            if p.result != "undecided":
                grid[cell] = p.impact_speed_kph
        ax.set_facecolor("0.8")
        image = ax.imshow(grid, origin="lower", aspect="auto", cmap="RdYlGn_r", vmin=0, vmax=vmax,
                          extent=(-0.5, len(xs) - 0.5, -0.5, len(ys) - 0.5))
        for (i, j), text in labels.items():
            ax.text(j, i, text, ha="center", va="center", fontsize=7,
                    color="white" if text in ("stop", "clear") else "black")
        ax.set_xticks(range(len(xs)), [f"{x:g}" for x in xs], fontsize=8)
        ax.set_xlabel(f"{PARAMS[x_name][0]} ({PARAMS[x_name][1]})")
        if y_name:
            ax.set_yticks(range(len(ys)), [f"{y:g}" for y in ys], fontsize=8)
            ax.set_ylabel(f"{PARAMS[y_name][0]} ({PARAMS[y_name][1]})")
        else:
            ax.set_yticks([])
        if facet:
            ax.set_title(f"{PARAMS[facet][0]} {fv:g} {PARAMS[facet][1]}", fontsize=10)
    fig.colorbar(image, ax=axes[0].tolist(), label="relative impact speed (km/h)")
    legend = "'stop': stopped short, 'clear': nothing left in the path"
    if any(p.result == "undecided" for p in points):
        legend += ", '?': undecided (still closing in at the end)"
    fig.suptitle(f"{title}\n{legend}", fontsize=10)
    fig.savefig(path, dpi=110)
    plt.close(fig)

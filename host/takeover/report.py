"""Run reports a bench engineer reads at a glance: report.json, junit.xml and report.html.

Pure functions over the Run objects of one `takeover run` (takeover.runner.Run): each returns the
file's content, and write_report puts all three in a folder. The plot_* helpers each draw one
panel on a matplotlib Axes, so other commands can compose their own figures from them.

matplotlib draws through its Agg canvas (no display, no pyplot state). report.html is one file:
its figures are base64 PNG data URIs, it loads nothing and needs no script. Every field is in
docs/report.md. Latencies are host-measured microseconds; a latency is shown only with the floor
measured in the same run beside it.
"""

from __future__ import annotations

import base64
import html
import io
import json
import re
import xml.etree.ElementTree as ET
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.patches import Patch
from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter

from tkfw.alerts import LEVELS

from takeover import __version__
from takeover.errors import UsageError
from takeover.runner import Run

FILES = ("report.json", "junit.xml", "report.html")
FIGURES_PER_RUN = 1  # one PNG per scenario in report.html: timeline panels and latency histogram
FIGURE_DPI = 96
TTC_AXIS_MAX_S = 10.0  # TTC above this says nothing at a glance; the axis stops here

# Alert level colours: NONE unshaded; the rest darken as the level rises. Also used in the HTML.
LEVEL_COLOURS = {"NOTICE": "#f5d020", "WARNING": "#f28e2b", "TAKEOVER": "#d62728", "EMERGENCY": "#6b1d5c"}
_LIGHT_LEVELS = ("NOTICE", "WARNING")  # dark text on these badges
_PASS, _FAIL = "#1a7f37", "#cf222e"
_XML_INVALID = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")  # not allowed in XML 1.0


def now_utc() -> datetime:
    return datetime.now(timezone.utc).replace(microsecond=0)


def iso_utc(when: datetime) -> str:
    """ISO 8601 in UTC with a Z: 2025-03-29T22:44:00Z."""
    return when.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def summary(runs: list[Run]) -> dict:
    failed = sum(not r.passed for r in runs)
    return {"passed": len(runs) - failed, "failed": failed}


def report_json(runs: list[Run], command: str, created: datetime) -> dict:
    """The --json report with a header: who made it, when, from what command, and the counts."""
    return {"generator": "takeover", "version": __version__, "created": iso_utc(created),
            "command": command, "summary": summary(runs), "scenarios": [r.to_json() for r in runs]}


# ---------------------------------------------------------------- the figures a summary quotes

def first_collision_warning(run: Run) -> dict | None:
    """The first collision alert at WARNING or higher (alerts arrive in time order)."""
    floor = LEVELS.index("WARNING")
    return next((a for a in run.alerts if a["cause"] == "collision" and a["level"] in LEVELS
                 and LEVELS.index(a["level"]) >= floor), None)


def _num(value, unit: str = "", digits: int = 0) -> str:
    return "-" if value is None else f"{value:.{digits}f}{unit}"


def _pair_us(stats: dict) -> str:
    """'p50 / p99 us' of a statistics dict, '-' when there were no samples."""
    if not stats or stats.get("p50") is None:
        return "-"
    return f"{stats['p50']:.0f} / {stats['p99']:.0f} us"


def summary_lines(run: Run) -> list[str]:
    """A few plain lines: outcome, alerts, latency against the floor. JUnit's system-out."""
    first = first_collision_warning(run)
    lines = [f"{'PASS' if run.passed else 'FAIL'}: {run.scenario.name} ({run.pace}, board {run.board} "
             f"on {run.port}, firmware {run.firmware})",
             f"outcome: {run.outcome_text()}; highest alert {run.max_level}",
             "first collision WARNING or higher: " + (
                 "none" if first is None else
                 f"{first['level']} at t={_num(first['t_s'], ' s', 2)}, true TTC {_num(first['ttc_s'], ' s', 2)}"),
             f"alert latency p50/p99: {_pair_us(run.latency_us)} (n={run.latency_us.get('n', 0)}); "
             f"frame->status {_pair_us(run.frame_latency_us)}; floor {_pair_us(run.floor_us)}"]
    lines += [f"failure: {f}" for f in run.failures]
    lines += [f"warning: {w}" for w in run.warnings]
    return lines


# ---------------------------------------------------------------- junit.xml

def junit_xml(runs: list[Run], created: datetime, command: str = "") -> bytes:
    """One testsuite "takeover", one testcase per scenario; time is the run's wall clock."""
    def clean(text: str) -> str:
        return _XML_INVALID.sub("?", str(text))

    counts = summary(runs)
    total_s = sum(r.wall_s or 0.0 for r in runs)
    root = ET.Element("testsuites", name="takeover", tests=str(len(runs)), failures=str(counts["failed"]),
                      errors="0", time=f"{total_s:.3f}")
    suite = ET.SubElement(root, "testsuite", name="takeover", tests=str(len(runs)),
                          failures=str(counts["failed"]), errors="0", skipped="0", time=f"{total_s:.3f}",
                          timestamp=created.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S"))
    props = ET.SubElement(suite, "properties")
    for name, value in (("generator", "takeover"), ("version", __version__), ("command", command)):
        ET.SubElement(props, "property", name=name, value=clean(value))
    for run in runs:
        case = ET.SubElement(suite, "testcase", classname="scenarios", name=clean(run.scenario.name),
                             time=f"{run.wall_s or 0.0:.3f}")
        if not run.passed:
            failure = ET.SubElement(case, "failure", message=clean("; ".join(run.failures) or "failed"),
                                    type="expectation")
            failure.text = clean("\n".join(run.failures))
        ET.SubElement(case, "system-out").text = clean("\n".join(summary_lines(run)))
    ET.indent(root)
    return ET.tostring(root, encoding="utf-8", xml_declaration=True) + b"\n"


# ---------------------------------------------------------------- figure panels

def _column(run: Run, key: str) -> np.ndarray:
    """One trace column as floats, NaN where the value is null (no target, nothing closing in)."""
    return np.array([np.nan if row.get(key) is None else float(row[key]) for row in run.trace])


def _spans(times: np.ndarray, values: list, end_s: float) -> list[tuple[float, float, object]]:
    """Runs of equal consecutive values as (start, end, value); each row lasts until the next."""
    spans = []
    for i, value in enumerate(values):
        stop = times[i + 1] if i + 1 < len(times) else end_s
        if spans and spans[-1][2] == value and spans[-1][1] == times[i]:
            spans[-1] = (spans[-1][0], stop, value)
        else:
            spans.append((times[i], stop, value))
    return spans


def _end_s(run: Run) -> float:
    times = _column(run, "t_s")
    if times.size == 0:
        return 1.0
    step = times[1] - times[0] if times.size > 1 else 1.0 / run.scenario.radar_hz
    return float(times[-1] + step)


def shade_levels(ax, run: Run) -> None:
    """The device's alert level at each radar frame (its STATUS) as coloured bands."""
    times = _column(run, "t_s")
    for start, stop, level in _spans(times, [row.get("level") for row in run.trace], _end_s(run)):
        if level in LEVEL_COLOURS:
            ax.axvspan(start, stop, color=LEVEL_COLOURS[level], alpha=0.28, lw=0, zorder=0)


def mark_alerts(ax, run: Run) -> None:
    """Every ALERT as a tick at the top of the panel and a thin line, in its level's colour."""
    for alert in run.alerts:
        if alert["t_s"] is None:
            continue
        colour = LEVEL_COLOURS.get(alert["level"], "#888888")
        ax.axvline(alert["t_s"], color=colour, lw=0.9, ls=(0, (3, 2)), zorder=1)
        ax.plot(alert["t_s"], 1.0, marker="v", ms=9, color=colour, mec="black", mew=0.6, clip_on=False,
                transform=ax.get_xaxis_transform(), zorder=5)


def plot_gap_ttc(ax, run: Run) -> None:
    """(a) ground-truth gap (left axis) and TTC (right axis), alert levels shaded, alerts marked."""
    t = _column(run, "t_s")
    shade_levels(ax, run)
    mark_alerts(ax, run)
    gap = _column(run, "gap_m")
    ax.plot(t, gap, color="#1f4e99", lw=1.8, label="gap (m)")
    ax.set_ylabel("gap (m)", color="#1f4e99")
    if np.isnan(gap).all():
        ax.set_ylim(0, 1)
        ax.set_yticks([])
        ax.text(0.5, 0.5, "no target in the ego's path", ha="center", va="center", transform=ax.transAxes,
                color="#1f4e99")
    else:
        ax.set_ylim(bottom=0)
    if run.outcome.get("collision") and t.size:
        ax.axvline(t[-1], color="black", lw=2.5, zorder=4)  # a run ends at impact
        ax.annotate(f"impact {_num(run.outcome.get('impact_speed_kph'), ' km/h', 1)}", (t[-1], 0.55),
                    xycoords=("data", "axes fraction"), xytext=(-4, 0), textcoords="offset points",
                    ha="right", fontsize=9, fontweight="bold")
    ttc_ax = ax.twinx()
    ttc_ax.plot(t, _column(run, "ttc_s"), color="black", lw=1.4, label="TTC, ground truth")
    ttc_ax.plot(t, _column(run, "device_ttc_s"), color="#555555", lw=0, marker=".", ms=2.5,
                label="TTC, device")
    need = run.scenario.expect.min_warning_ttc_s
    if need is not None:
        ttc_ax.axhline(need, color="black", lw=0.8, ls=":", label=f"WARNING required by TTC {need:g} s")
    ttc_ax.set_ylim(0, TTC_AXIS_MAX_S)
    ttc_ax.set_ylabel(f"TTC (s, axis cut at {TTC_AXIS_MAX_S:g})")
    handles = ax.get_legend_handles_labels()[0] + ttc_ax.get_legend_handles_labels()[0]
    handles += [_patch(level) for level in LEVEL_COLOURS]
    # Above the figure, not beside the panel: every scenario's time axis then has the same width.
    ax.figure.legend(handles=handles, loc="outside upper left", ncol=len(handles), fontsize=9, frameon=False)


def _patch(level: str) -> Patch:
    return Patch(color=LEVEL_COLOURS[level], alpha=0.5, label=level)


def plot_speed(ax, run: Run) -> None:
    """(b) ego speed."""
    shade_levels(ax, run)
    ax.plot(_column(run, "t_s"), _column(run, "ego_kph"), color="#2d7d2d", lw=1.6)
    ax.set_ylabel("ego km/h")
    ax.set_ylim(bottom=0)
    braked = run.outcome.get("driver_braked_at_s")
    if braked is not None and braked < _end_s(run):  # after an impact it never happened
        ax.axvline(braked, color="#2d7d2d", lw=0.8, ls="--")
        ax.annotate("driver brakes", (braked, 0.08), xycoords=("data", "axes fraction"),
                    xytext=(3, 0), textcoords="offset points", fontsize=8, color="#2d7d2d")


DRIVER_STRIPS = (("hands_on", "hands on", "#4c9a2a"), ("eyes_on_road", "eyes on road", "#3a7dc9"),
                 ("eyes_closed", "eyes closed", "#b03060"))


def plot_driver(ax, run: Run) -> None:
    """(c) the driver state sent, one on/off strip per signal (filled = on)."""
    times = _column(run, "t_s")
    end_s = _end_s(run)
    for i, (key, _, colour) in enumerate(DRIVER_STRIPS):
        y = len(DRIVER_STRIPS) - 1 - i
        ax.axhspan(y - 0.35, y + 0.35, color="#eeeeee", lw=0)
        on = [(start, stop - start) for start, stop, value in _spans(times, [row.get(key) for row in run.trace], end_s)
              if value]
        ax.broken_barh(on, (y - 0.35, 0.7), color=colour)
    ax.set_yticks(range(len(DRIVER_STRIPS)), [label for _, label, _ in reversed(DRIVER_STRIPS)], fontsize=8)
    ax.set_ylim(-0.6, len(DRIVER_STRIPS) - 0.4)
    ax.tick_params(axis="y", length=0)


def plot_latency(ax, run: Run) -> None:
    """(d) alert and frame->status latency histograms on a log axis, the floor p50 (and p99) as lines."""
    alerts = np.array([a["latency_us"] for a in run.alerts if a.get("latency_us") is not None], dtype=float)
    frames = np.asarray(run.frame_latency_samples_us, dtype=float)
    floor = run.floor_us or {}
    marks = [v for v in (floor.get("p50"), floor.get("p99")) if v]
    everything = np.concatenate([alerts, frames, np.array(marks, dtype=float)])
    everything = everything[everything > 0]
    if everything.size == 0:
        ax.text(0.5, 0.5, "no latency samples", ha="center", va="center", transform=ax.transAxes)
        ax.set_axis_off()
        return
    lo, hi = everything.min() / 1.2, everything.max() * 1.2
    bins = np.geomspace(lo, hi, 30)
    if frames.size:
        ax.hist(frames, bins=bins, color="#9aa7b8", label=f"frame->status (n={frames.size})")
    if alerts.size:
        ax.hist(alerts, bins=bins, color="#d62728", alpha=0.85, label=f"alert (n={alerts.size})")
        for value in alerts:  # a handful of alerts would vanish beside hundreds of frames
            ax.plot(value, 0.0, marker="|", ms=12, mew=1.5, color="#d62728", transform=ax.get_xaxis_transform(),
                    clip_on=False)
    if floor.get("p50"):
        ax.axvline(floor["p50"], color="black", lw=1.5, label=f"floor p50 {floor['p50']:.0f} us")
    if floor.get("p99"):
        ax.axvline(floor["p99"], color="black", lw=1.0, ls="--", label=f"floor p99 {floor['p99']:.0f} us")
    ax.set_xscale("log")
    ax.xaxis.set_major_locator(LogLocator(subs=(1.0, 2.0, 3.0, 5.0), numticks=15))
    ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
    ax.xaxis.set_minor_formatter(NullFormatter())
    ax.set_xlabel("latency (us, log scale)")
    ax.set_ylabel("count")
    ax.set_ylim(0, ax.get_ylim()[1] * 1.3)  # headroom: the legend never covers a bar
    ax.set_title("latency: host write to host read", fontsize=9, loc="left")
    ax.legend(fontsize=8, loc="upper right", frameon=True, framealpha=0.9, edgecolor="none")


def scenario_figure(run: Run) -> Figure:
    """Timeline panels (a)-(c) on one time axis, the latency histogram (d) beside them."""
    fig = Figure(figsize=(14, 5.6), layout="constrained")
    FigureCanvasAgg(fig)
    grid = fig.add_gridspec(3, 2, width_ratios=(3.0, 1.0), height_ratios=(3.0, 1.3, 1.0))
    gap_ax = fig.add_subplot(grid[0, 0])
    speed_ax = fig.add_subplot(grid[1, 0], sharex=gap_ax)
    driver_ax = fig.add_subplot(grid[2, 0], sharex=gap_ax)
    latency_ax = fig.add_subplot(grid[:, 1])
    plot_gap_ttc(gap_ax, run)
    plot_speed(speed_ax, run)
    plot_driver(driver_ax, run)
    plot_latency(latency_ax, run)
    gap_ax.set_xlim(0, _end_s(run))
    for ax in (gap_ax, speed_ax):
        ax.tick_params(labelbottom=False)
        ax.grid(axis="y", color="#dddddd", lw=0.6)
    driver_ax.set_xlabel("scenario time (s)")
    return fig


def figure_png(fig: Figure, dpi: int = FIGURE_DPI) -> bytes:
    out = io.BytesIO()
    fig.savefig(out, format="png", dpi=dpi, metadata={"Software": None})
    return out.getvalue()


def png_data_uri(png: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


# ---------------------------------------------------------------- report.html

_CSS = """
body { font: 14px/1.4 system-ui, -apple-system, "Segoe UI", Roboto, "DejaVu Sans", sans-serif;
       color: #1f2328; margin: 24px auto; max-width: 1320px; padding: 0 16px; }
h1 { font-size: 22px; margin: 0 0 6px; } h2 { font-size: 18px; margin: 0 0 4px; }
.verdict { display: inline-block; padding: 2px 10px; border-radius: 4px; color: white; font-weight: 600; }
.pass { background: #1a7f37; } .fail { background: #cf222e; }
dl.meta { display: grid; grid-template-columns: max-content 1fr; gap: 2px 14px; margin: 10px 0 18px; }
dl.meta dt { color: #59636e; } dl.meta dd { margin: 0; }
code { font: 12px ui-monospace, "DejaVu Sans Mono", monospace; background: #f6f8fa; padding: 1px 4px; }
table { border-collapse: collapse; width: 100%; margin-bottom: 24px; }
th, td { border-bottom: 1px solid #d1d9e0; padding: 5px 8px; text-align: left; vertical-align: top; }
th { background: #f6f8fa; font-weight: 600; white-space: nowrap; }
td.num, th.num { text-align: right; white-space: nowrap; font-variant-numeric: tabular-nums; }
.why { font-size: 12px; color: #cf222e; margin-top: 3px; max-width: 420px; }
.level { display: inline-block; padding: 0 6px; border-radius: 3px; font-size: 12px; font-weight: 600; }
.sub { color: #59636e; font-size: 12px; }
section { border-top: 2px solid #d1d9e0; padding-top: 12px; margin-top: 18px; }
section p { margin: 2px 0; } section img { width: 100%; height: auto; margin-top: 8px; }
ul.failures { color: #cf222e; margin: 4px 0; font-weight: 600; }
"""


def _level_badge(level: str) -> str:
    if level not in LEVEL_COLOURS:
        return f'<span class="level" style="border:1px solid #d1d9e0">{html.escape(level)}</span>'
    fg = "#1f2328" if level in _LIGHT_LEVELS else "white"
    return f'<span class="level" style="background:{LEVEL_COLOURS[level]};color:{fg}">{html.escape(level)}</span>'


def _verdict(run: Run) -> str:
    return '<span class="verdict pass">PASS</span>' if run.passed else '<span class="verdict fail">FAIL</span>'


def _distinct(values) -> str:
    seen = list(dict.fromkeys(str(v) for v in values if v not in (None, "")))
    return ", ".join(seen) or "-"


def _summary_row(index: int, run: Run) -> str:
    e = html.escape
    o = run.outcome
    if o.get("collision"):
        impact = f'<b style="color:{_FAIL}">{_num(o.get("impact_speed_kph"), " km/h", 1)}</b>'
    else:
        impact = "none"
    if o.get("no_action_impact_kph"):
        impact += f'<br><span class="sub">no reaction: {o["no_action_impact_kph"]:.1f} km/h</span>'
    if o.get("score_band"):
        impact += f'<br><span class="sub">score band {e(str(o["score_band"]))}</span>'
    first = first_collision_warning(run)
    need = run.scenario.expect.min_warning_ttc_s
    if first is None:
        warning = "-"
    else:
        warning = f"{_num(first['ttc_s'], ' s', 2)}<br><span class=\"sub\">{e(first['level'])} at t={_num(first['t_s'], ' s', 2)}</span>"
    if need is not None:
        warning += f'<br><span class="sub">required &ge; {need:g} s</span>'
    why = "".join(f'<div class="why">{e(f)}</div>' for f in run.failures)
    why += "".join(f'<div class="sub">warning: {e(w)}</div>' for w in run.warnings)
    return (f'<tr><td><a href="#s{index}">{e(run.scenario.name)}</a></td>'
            f"<td>{_verdict(run)}{why}</td>"
            f"<td>{_level_badge(run.max_level)}</td><td class=\"num\">{impact}</td>"
            f'<td class="num">{_num(o.get("min_gap_m"), " m", 1)}</td><td class="num">{warning}</td>'
            f'<td class="num">{_pair_us(run.latency_us)}<br><span class="sub">n={run.latency_us.get("n", 0)}</span></td>'
            f'<td class="num">{_pair_us(run.floor_us)}<br><span class="sub">n={(run.floor_us or {}).get("n", 0)}</span></td></tr>')


def _section(index: int, run: Run, png: bytes) -> str:
    e = html.escape
    f = run.frames
    failures = "".join(f"<li>{e(x)}</li>" for x in run.failures)
    warnings = "".join(f"<li>{e(x)}</li>" for x in run.warnings)
    alt = (f"{run.scenario.name}: gap and TTC with alert levels, ego speed, driver state, latency histogram")
    return (f'<section id="s{index}"><h2>{e(run.scenario.name)} {_verdict(run)}</h2>'
            f"<p>{e(run.scenario.description)}</p>"
            f'<p class="sub">{e(run.pace)}; frames sent {e(str(f.get("sent")))}, processed {e(str(f.get("processed")))}, '
            f'dropped {e(str(f.get("dropped")))}, rejected {e(str(f.get("rejected")))}; '
            f"wall clock {_num(run.wall_s, ' s', 1)}</p>"
            f"<p>{e(run.outcome_text())}; highest alert {_level_badge(run.max_level)}</p>"
            f'<p class="sub">alert latency p50/p99 {_pair_us(run.latency_us)}, frame&rarr;status '
            f"{_pair_us(run.frame_latency_us)}, floor {_pair_us(run.floor_us)} (same link, same run)</p>"
            + (f'<ul class="failures">{failures}</ul>' if failures else "")
            + (f'<ul class="sub">{warnings}</ul>' if warnings else "")
            + f'<img alt="{e(alt)}" src="{png_data_uri(png)}"></section>')


def report_html(runs: list[Run], command: str, created: datetime, pngs: list[bytes] | None = None) -> str:
    """One self-contained page: header, summary table, one figure per scenario."""
    e = html.escape
    if pngs is None:
        pngs = [figure_png(scenario_figure(run)) for run in runs]
    counts = summary(runs)
    overall = ('<span class="verdict pass">all passed</span>' if not counts["failed"]
               else f'<span class="verdict fail">{counts["failed"]} failed</span>')
    meta = (("when", created.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")),
            ("port", _distinct(r.port for r in runs)), ("board", _distinct(r.board for r in runs)),
            ("firmware", _distinct(r.firmware for r in runs)), ("pace", _distinct(r.pace for r in runs)),
            ("result", f"{counts['passed']} passed, {counts['failed']} failed of {len(runs)}"))
    rows = "".join(_summary_row(i, run) for i, run in enumerate(runs))
    sections = "".join(_section(i, run, png) for i, (run, png) in enumerate(zip(runs, pngs)))
    legend = " ".join(_level_badge(level) for level in LEVEL_COLOURS)
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<title>takeover: {counts['passed']} passed, {counts['failed']} failed</title>
<style>{_CSS}</style></head><body>
<header><h1>takeover run report {overall}</h1>
<dl class="meta">{"".join(f"<dt>{e(k)}</dt><dd>{e(v)}</dd>" for k, v in meta)}
<dt>command</dt><dd><code>{e(command)}</code></dd>
<dt>host</dt><dd>takeover {e(__version__)}</dd></dl></header>
<table><thead><tr><th>scenario</th><th>verdict</th><th>highest alert</th><th class="num">impact</th>
<th class="num">closest gap</th><th class="num">first collision WARNING<br>at true TTC</th>
<th class="num">alert latency<br>p50 / p99</th><th class="num">floor<br>p50 / p99</th></tr></thead><tbody>{rows}</tbody></table>
<p class="sub">Each figure, left from the top: ground-truth gap and TTC with the device's alert level at
every radar frame shaded ({legend}) and each ALERT marked &#9660;; ego speed; the driver state sent.
Right: latency from host write of a frame to host read of the reply (STATUS for every radar frame, ALERT
for the frames that raised one), against the floor measured on the same link in the same run.</p>
{sections}
</body></html>
"""


# ---------------------------------------------------------------- the folder

def prepare_folder(folder: Path) -> None:
    """Create the report folder and prove it is writable, before anything runs."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
        probe = folder / ".takeover-write-test"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as exc:
        raise UsageError(f"--report {folder}: cannot write there ({exc.strerror or exc})") from None


def write_report(folder: Path, runs: list[Run], command: str, created: datetime | None = None) -> list[Path]:
    """report.json, junit.xml and report.html in `folder` (created if missing)."""
    created = created or now_utc()
    prepare_folder(folder)
    contents = {
        "report.json": (json.dumps(report_json(runs, command, created), indent=2) + "\n").encode(),
        "junit.xml": junit_xml(runs, created, command),
        "report.html": report_html(runs, command, created).encode(),
    }
    paths = []
    for name, data in contents.items():
        path = folder / name
        try:
            path.write_bytes(data)
        except OSError as exc:
            raise UsageError(f"--report {folder}: cannot write {name} ({exc.strerror or exc})") from None
        paths.append(path)
    return paths

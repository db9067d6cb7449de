"""The report folder (report.json, junit.xml, report.html) a bench engineer reads at a glance.

Runs are built directly (a stopped car ahead, the driver brakes after the WARNING), so these tests
need no board; the two command-line tests at the end run one short scenario on the simulated board.
"""

import base64
import dataclasses
import io
import json
import re
import subprocess
import sys
import xml.etree.ElementTree as ET
from datetime import datetime, timezone
from pathlib import Path

import pytest

from takeover import __version__, report
from takeover import scenario as scenarios
from takeover.progress import Progress
from takeover.runner import Run, stats_us

CREATED = datetime(2025, 3, 29, 22, 44, 0, tzinfo=timezone.utc)
COMMAND = "takeover run a b --port sim --board sim --lockstep --report out"
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def _run(name: str, passed: bool = True, failures: tuple = (), wall_s: float = 1.25) -> Run:
    """A run on a closing target: WARNING at 2 s, TAKEOVER at 3 s, the driver looks away for 1 s."""
    scn = dataclasses.replace(scenarios.load("su7-construction-zone"), name=name)
    run = Run(scn, "sim", board="sim", firmware="0.1.0", pace="lockstep", passed=passed,
              failures=list(failures), wall_s=wall_s)
    levels = {0: "NONE", 40: "WARNING", 60: "TAKEOVER", 90: "NONE"}
    level = "NONE"
    for k in range(100):
        t = k * 0.05
        level = levels.get(k, level)
        gap = 120.0 - 25.0 * t
        run.trace.append({"t_s": round(t, 3), "gap_m": gap, "ttc_s": gap / 25.0, "ego_kph": 90.0,
                          "hands_on": True, "eyes_on_road": not 1.0 <= t < 2.0, "eyes_closed": False,
                          "level": level, "cause": "none" if level == "NONE" else "collision",
                          "device_ttc_s": None if level == "NONE" else gap / 25.0, "dm_flags": 27})
    for t, lvl, latency in ((2.0, "WARNING", 612.5), (3.0, "TAKEOVER", 580.0), (4.5, "NONE", 701.2)):
        gap = 120.0 - 25.0 * t
        run.alerts.append({"t_s": t, "level": lvl, "cause": "collision", "frame_seq": int(t * 20),
                           "device_ttc_s": gap / 25.0, "ttc_s": gap / 25.0, "gap_m": gap,
                           "latency_us": latency, "proc_us": 180, "outputs": 3})
    run.frame_latency_samples_us = [400.0 + 7.0 * (k % 30) for k in range(100)]
    run.latency_us = stats_us([int(a["latency_us"] * 1000) for a in run.alerts])
    run.frame_latency_us = stats_us([int(v * 1000) for v in run.frame_latency_samples_us])
    run.floor_us = {"p50": 250.0, "p99": 410.0, "max": 420.0, "n": 30}
    run.frames = {"sent": 150, "processed": 150, "dropped": 0, "rejected": 0}
    run.outcome = {"collision": False, "impact_speed_kph": 0.0, "min_gap_m": 12.5, "ego_stopped": False,
                   "driver_braked_at_s": 3.2, "end_speed_kph": 0.0, "no_action_impact_kph": 90.0,
                   "score_band": None}
    run.max_level = "TAKEOVER"
    return run


@pytest.fixture(scope="module")
def runs():
    return [_run("su7-like"), _run("strict <b>&co</b>", passed=False,
                                   failures=("raised WARNING at t=2.0 s; nothing above NOTICE was expected",
                                             "collision at 30.0 km/h; expected none"), wall_s=0.5)]


@pytest.fixture(scope="module")
def folder(runs, tmp_path_factory):
    out = tmp_path_factory.mktemp("report") / "new" / "folder"  # created, parents too
    paths = report.write_report(out, runs, COMMAND, CREATED)
    assert sorted(p.name for p in paths) == sorted(report.FILES)
    return out


def test_report_json_is_the_json_report_with_a_header(folder, runs):
    data = json.loads((folder / "report.json").read_text())
    assert data["generator"] == "takeover"
    assert data["version"] == __version__
    assert data["created"] == "2025-03-29T22:44:00Z"
    assert datetime.fromisoformat(data["created"]) == CREATED
    assert data["command"] == COMMAND
    assert data["summary"] == {"passed": 1, "failed": 1}
    # exactly what --json writes, per scenario, after a trip through JSON
    assert data["scenarios"] == json.loads(json.dumps([r.to_json() for r in runs]))


def test_every_top_level_report_field_is_documented():
    doc = (Path(__file__).resolve().parents[1] / "docs" / "report.md").read_text()
    for key in report.report_json([], "", CREATED):
        assert f"| `{key}` |" in doc, key


def test_junit_xml_has_one_suite_a_case_per_scenario_and_the_failure_sentences(folder, runs):
    root = ET.parse(folder / "junit.xml").getroot()
    suites = root.findall("testsuite") if root.tag == "testsuites" else [root]
    (suite,) = suites
    assert suite.get("name") == "takeover"
    assert (suite.get("tests"), suite.get("failures"), suite.get("errors")) == ("2", "1", "0")
    cases = suite.findall("testcase")
    assert [c.get("name") for c in cases] == [r.scenario.name for r in runs]
    assert {c.get("classname") for c in cases} == {"scenarios"}
    assert [float(c.get("time")) for c in cases] == [r.wall_s for r in runs]
    assert cases[0].find("failure") is None
    failure = cases[1].find("failure")
    assert failure.get("message") == "; ".join(runs[1].failures)
    for case, run in zip(cases, runs):
        out = case.find("system-out").text
        assert "highest alert TAKEOVER" in out
        lat = run.latency_us
        assert f"alert latency p50/p99: {lat['p50']:.0f} / {lat['p99']:.0f} us" in out
        assert "floor 250 / 410 us" in out


def test_report_html_is_one_file_with_a_png_per_figure_and_nothing_from_outside(folder, runs):
    assert sorted(p.name for p in folder.iterdir()) == sorted(report.FILES)
    page = (folder / "report.html").read_text()
    images = re.findall(r'src="data:image/png;base64,([A-Za-z0-9+/=]+)"', page)
    assert len(images) == len(runs) * report.FIGURES_PER_RUN
    for image in images:
        assert base64.b64decode(image).startswith(PNG_SIGNATURE)
    assert not re.search(r"https?:", page, re.I)
    assert "<script" not in page.lower()
    assert len(re.findall(r'\b(?:src|href)="(?!data:image/png;base64,|#)', page)) == 0


def test_report_html_escapes_what_it_shows(folder, runs):
    page = (folder / "report.html").read_text()
    assert "<b>&co</b>" not in page
    assert "strict &lt;b&gt;&amp;co&lt;/b&gt;" in page
    for failure in runs[1].failures:
        assert failure in page  # plain sentences survive escaping
    assert "1 passed, 1 failed" in page


def test_report_html_header_says_where_and_what_ran(folder):
    page = (folder / "report.html").read_text()
    for words in ("2025-03-29 22:44:00 UTC", "<dd>sim</dd>", "<dd>0.1.0</dd>", "<dd>lockstep</dd>"):
        assert words in page


def test_a_figure_draws_a_run_without_any_target_or_latency():
    run = _run("empty road")
    for row in run.trace:
        row.update(gap_m=None, ttc_s=None, device_ttc_s=None, level=None)
    run.alerts, run.frame_latency_samples_us, run.floor_us = [], [], {}
    png = report.figure_png(report.scenario_figure(run))
    assert png.startswith(PNG_SIGNATURE)


class _Terminal(io.StringIO):
    def isatty(self):
        return True


def test_progress_bars_only_on_a_terminal_and_printed_lines_still_come_through():
    pipe = io.StringIO()
    with Progress(3, stream=pipe) as progress:
        progress.start("a")
        progress.frames(5, 10)
        progress.done()
    assert pipe.getvalue() == ""
    terminal = _Terminal()
    with Progress(3, stream=terminal) as progress:
        progress.start("a")
        progress.frames(5, 10)
        with progress.printing():
            terminal.write("== a: summary line\n")
        progress.done()
    assert "scenarios" in terminal.getvalue() and "== a: summary line\n" in terminal.getvalue()
    assert Progress(1, stream=_Terminal()).enabled is False  # one scenario: its summary is enough


def _cli(*args):
    return subprocess.run([sys.executable, "-m", "takeover.cli", *args], capture_output=True, text=True,
                          timeout=120)


def test_run_with_report_writes_all_three_files(tmp_path):
    out = tmp_path / "report"
    proc = _cli("run", "lead-car-same-speed", "--lockstep", "--quiet", "--report", str(out))
    assert proc.returncode == 0, proc.stderr
    assert sorted(p.name for p in out.iterdir()) == sorted(report.FILES)
    data = json.loads((out / "report.json").read_text())
    assert data["summary"] == {"passed": 1, "failed": 0}
    assert data["command"].startswith("takeover run lead-car-same-speed --port sim")
    (entry,) = data["scenarios"]
    assert entry["name"] == "lead-car-same-speed" and entry["wall_s"] > 0
    assert len(entry["frame_latency_samples_us"]) == entry["frame_latency_us"]["n"]
    (case,) = ET.parse(out / "junit.xml").getroot().iter("testcase")
    assert case.get("name") == "lead-car-same-speed" and case.find("failure") is None
    assert (out / "report.html").read_text().count("data:image/png;base64,") == report.FIGURES_PER_RUN
    assert "\x1b[" not in proc.stdout and "frames/s" not in proc.stdout  # no bar when piped


def test_an_unwritable_report_folder_is_one_line_and_exit_2(tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    proc = _cli("run", "lead-car-same-speed", "--lockstep", "--report", str(blocker / "report"))
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith("takeover: error: --report ") and "cannot write there" in lines[0]
    assert proc.stdout == ""  # refused before anything ran


@pytest.mark.parametrize(("outcome", "words"), [
    ({"result": "collision", "collision": True, "impact_speed_kph": 91.73, "min_gap_m": 0.0}, "hit at 91.7 km/h"),
    ({"result": "stopped", "collision": False, "min_gap_m": 40.66}, "stopped 40.7 m short"),
    ({"result": "clear", "collision": False, "min_gap_m": 55.6}, "no collision: the closest the car came was 55.6 m"),
    ({"result": "undecided", "collision": False, "min_gap_m": 52.5, "end_speed_kph": 60.0},
     "not decided yet: 52.5 m to go at 60 km/h when the scenario ended"),
])
def test_the_outcome_in_a_classs_words(outcome, words):
    from takeover import scenario as scenarios
    from takeover.runner import Run

    run = Run(scenario=scenarios.load("su7-construction-zone"), port="sim")
    run.outcome = outcome
    assert run.outcome_words() == words

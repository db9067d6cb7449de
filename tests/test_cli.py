"""The command line: one readable line for every mistake, exit codes a script can trust."""

import json
import os
import subprocess
import sys

import pytest

from takeover.cli import main


def _run(*args):
    return subprocess.run([sys.executable, "-m", "takeover.cli", *args], capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize("args, words", [
    (["run", "no-such-scenario"], ["no built-in scenario 'no-such-scenario'"]),
    (["run", "missing.toml"], ["missing.toml not found"]),
    (["run", "su7-construction-zone", "--speed", "-2"], ["--speed", "above 0", "-2"]),
    (["run", "su7-construction-zone", "--json", "/no/such/dir/r.json"], ["does not exist"]),
    (["run", "su7-construction-zone", "--port", "/dev/does-not-exist"], ["cannot open port /dev/does-not-exist"]),
    (["frobnicate"], ["invalid choice"]),
    (["config", "reacton_s=1"], ["no setting 'reacton_s'", "did you mean 'reaction_s'"]),
    (["config", "reaction_s=fast"], ["NAME=VALUE"]),
    (["run", "su7-construction-zone", "--board", "pico"], ["--board pico (RP2040)", "simulated board", "pico-emu"]),
    (["run", "su7-construction-zone", "--speed", "nan"], ["--speed", "above 0", "nan"]),
    (["run", "su7-construction-zone", "--speed", "inf"], ["--speed", "at most 1000"]),
    (["run", "su7-construction-zone", "--speed", "0"], ["--speed", "above 0"]),
    (["demo", "--speed", "fast"], ["--speed", "a number", "'fast'"]),
    (["run", "su7-construction-zone", "--stall", "3"], ["--stall", "T:S"]),
    (["run", "su7-construction-zone", "--corrupt", "150"], ["percentage"]),
    (["run", "su7-construction-zone", "--flood", "10", "--lockstep"], ["--flood needs a paced run"]),
    (["sweep", "su7-construction-zone", "--param", "speed=1"], ["unknown parameter"]),
    (["evidence", "--benign", "-1"], ["--benign must be 0 or more"]),
    (["evidence", "--benign", "0", "--critical", "0"], ["nothing to run"]),
    (["evidence", "--critical", "many"], ["--critical", "invalid int value"]),
    (["evidence", "--out", "/proc/evidence"], ["--out /proc/evidence: cannot create it"]),
    (["evidence", "--save", "/proc/evidence"], ["--save /proc/evidence: cannot create it"]),
    (["run", "su7-construction-zone", "--port", "labgrid:"], ["names no place", "labgrid-client places"]),
    (["run", "su7-construction-zone", "--port", "labgrid:bench-1?wait=soon"], ["wait must be a number of seconds"]),
    (["run", "su7-construction-zone", "--port", "labgrid:bench-1?hold=1"], ["unknown option 'hold'"]),
    (["repl", "--port", "labgrid:bench-1"], ["labgrid-client -p bench-1 acquire", "console"]),
    (["sim", "--port", "labgrid:bench-1"], ["starts a board of its own"]),
    (["farm", "up", "--boards", "sim,pico"], ["unknown board kind 'pico'", "sim, pico-emu"]),
    (["farm", "bench", "--rounds", "0"], ["--rounds must be 1 to 1000"]),
    (["classroom", "--http-port", "70000", "--no-open"], ["--http-port must be 0 to 65535"]),
])
def test_a_command_line_mistake_is_one_line_and_exit_2(args, words):
    proc = _run(*args)
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith("takeover: error: ")
    for word in words:
        assert word in lines[0]


def test_scenarios_lists_the_builtins(capsys):
    assert main(["scenarios"]) == 0
    assert "su7-construction-zone" in capsys.readouterr().out


def test_a_failed_expectation_exits_1_and_the_json_report_says_why(tmp_path):
    scn = tmp_path / "strict.toml"
    scn.write_text("""
name = "strict"
description = "expects silence from a car closing fast: must fail"
duration_s = 1.0
[ego]
speed_kph = 100
[[target]]
id = 1
range_m = 30
[expect]
max_level = "NONE"
""")
    report = tmp_path / "r.json"
    proc = _run("run", str(scn), "--lockstep", "--json", str(report))
    assert proc.returncode == 1, proc.stderr
    data = json.loads(report.read_text())
    (entry,) = data["scenarios"]
    assert entry["name"] == "strict" and entry["passed"] is False
    assert any("nothing above NONE" in f for f in entry["failures"])
    assert set(entry["frames"]) >= {"sent", "processed", "dropped", "rejected"}
    assert entry["frames"]["sent"] == entry["frames"]["processed"]
    assert set(entry["latency_us"]) >= {"p50", "p99", "max"}
    for alert in entry["alerts"]:
        assert set(alert) >= {"t_s", "level", "cause", "frame_seq", "device_ttc_s", "latency_us"}
    assert "FAIL" in proc.stdout


def test_a_run_that_ends_before_the_barrier_shows_no_collision_avoided(tmp_path):
    # 2 s at 100 km/h: the ego is still 240 m from a barrier it closes on. "no collision" is not
    # shown by that, so no_collision fails and the outcome says undecided.
    scn = tmp_path / "short.toml"
    scn.write_text("""
name = "short"
description = "ends long before the barrier"
duration_s = 2.0
[ego]
speed_kph = 100
[[target]]
id = 1
range_m = 300
[expect]
no_collision = true
""")
    report = tmp_path / "r.json"
    proc = _run("run", str(scn), "--lockstep", "--json", str(report))
    assert proc.returncode == 1, proc.stdout
    (entry,) = json.loads(report.read_text())["scenarios"]
    assert entry["outcome"]["result"] == "undecided" and entry["outcome"]["collision"] is False
    assert any("undecided" in f and "duration_s" in f for f in entry["failures"])
    assert "outcome: undecided" in proc.stdout


@pytest.mark.parametrize("change, reason", [
    ("reaction_s=0.5", "below its safety floor"),  # a shorter assumed reaction warns later
    ("decel_warning_mps2=7", "above its safety ceiling"),  # a higher threshold warns later
])
def test_the_board_refuses_a_weakened_safety_setting_naming_it_and_its_range(change, reason):
    from tkfw.settings import SPEC

    name = change.split("=")[0]
    row = next(r for r in SPEC if r[0] == name)
    proc = _run("config", change)
    assert proc.returncode == 2
    (line,) = proc.stderr.strip().splitlines()
    assert name in line and reason in line
    assert f"allowed {row[3]:g} .. {row[4]:g}" in line and f"still {row[1]:g}" in line


def test_config_sets_a_value_the_board_accepts_and_lists_every_setting(capsys):
    from tkfw.settings import SPEC

    assert main(["config", "ttc_warning_s=4.5"]) == 0
    out = capsys.readouterr().out
    assert "set ttc_warning_s = 4.5 s" in out
    lines = out.splitlines()
    table = lines[lines.index(next(line for line in lines if line.startswith("setting "))) + 1:]
    listed = [line.split()[0] for line in table]
    assert listed == [row[0] for row in SPEC]
    assert next(line for line in out.splitlines() if line.startswith("ttc_warning_s")).split()[1] == "4.5"


def test_the_alert_table_keeps_a_space_between_columns_however_wide_a_figure(capsys):
    from takeover import cli
    from takeover import scenario as scn_module
    from takeover.runner import Run

    run = Run(scn_module.load("lead-car-same-speed"), "sim")
    run.alerts = [{"t_s": 3.11, "level": "TAKEOVER", "cause": "fault", "device_ttc_s": 3.93, "ttc_s": None,
                   "gap_m": None, "origin": "clock", "silence_ms": 156.0, "latency_us": None},
                  {"t_s": 4.0, "level": "WARNING", "cause": "collision", "device_ttc_s": 123.45, "ttc_s": 123.4,
                   "gap_m": 1234.5, "latency_us": 1234567.0}]
    cli._print_alerts(run)
    rows = capsys.readouterr().out.splitlines()[2:]
    assert rows[0].split()[-5:] == ["-", "-", "+156", "ms", "quiet"]  # a quiet input: its own column
    assert rows[1].split()[-8:] == ["123.45", "s", "123.40", "s", "1234.5", "m", "1234567", "us"]


def test_a_labgrid_port_without_a_coordinator_is_one_line_that_says_how_to_start_one():
    proc = subprocess.run([sys.executable, "-m", "takeover.cli", "run", "lead-car-same-speed", "--port",
                           "labgrid:bench-1"], capture_output=True, text=True, timeout=120,
                          env={**os.environ, "LG_COORDINATOR": "127.0.0.1:1"})
    lines = proc.stderr.strip().splitlines()
    assert proc.returncode == 2 and len(lines) == 1, proc.stderr
    assert lines[0].startswith("takeover: error: labgrid: no coordinator answers at 127.0.0.1:1")
    assert "takeover farm up" in lines[0] and "LG_COORDINATOR" in lines[0]

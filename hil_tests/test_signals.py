"""SIGINT, SIGTERM and SIGHUP end `takeover run` as cleanly as each other, at any moment: no Node
process and no temporary flash folder is left behind, and the runs finished before the signal are
in --json and --report (a partial report). `timeout`, a cancelled CI job and a closed terminal send
SIGTERM or SIGHUP; before, those left an orphaned board process and its folder."""

import json
import os
import signal
import subprocess
import sys
import time

import pytest

pytestmark = pytest.mark.slow  # `make check` leaves these out


def _leftovers(tmp):
    """Node processes whose command line names our temporary folder, and folders left in it."""
    procs = []
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                cmd = f.read().decode(errors="replace")
        except OSError:
            continue
        if str(tmp) in cmd and "node" in cmd:
            procs.append(pid)
    folders = [p for p in os.listdir(tmp) if p.startswith("takeover-")]
    return procs, folders


def _start(tmp_path):
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    env = {**os.environ, "TMPDIR": str(tmp)}
    proc = subprocess.Popen([sys.executable, "-m", "takeover.cli", "run", "su7-construction-zone",
                             "lead-car-same-speed", "--speed", "4", "--json", str(tmp_path / "run.json"),
                             "--report", str(tmp_path / "report")],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    return proc, tmp


def _wait_for_line(proc, text, timeout=60.0):
    """Read stdout until a line contains text (the run goes on meanwhile)."""
    deadline = time.monotonic() + timeout
    seen = []
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        seen.append(line)
        if text in line:
            return "".join(seen)
    raise AssertionError(f"no {text!r} in the output: {''.join(seen)}")


SIGNALS = [signal.SIGINT, signal.SIGTERM, signal.SIGHUP]


@pytest.mark.parametrize("signum", SIGNALS, ids=lambda s: signal.Signals(s).name)
def test_a_signal_while_the_board_boots_leaves_nothing_behind(tmp_path, signum):
    proc, tmp = _start(tmp_path)
    deadline = time.monotonic() + 30
    while _leftovers(tmp)[0] == [] and time.monotonic() < deadline:
        time.sleep(0.01)  # until the simulated board's Node process runs: it is booting now
    assert _leftovers(tmp)[0], "the board never started"
    proc.send_signal(signum)
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 128 + signum, (out, err)
    assert "Traceback" not in err and err.strip().splitlines()[-1].startswith("takeover: interrupted")
    assert _leftovers(tmp) == ([], [])


@pytest.mark.parametrize("signum", SIGNALS, ids=lambda s: signal.Signals(s).name)
def test_a_signal_in_the_second_scenario_keeps_the_first_in_a_partial_report(tmp_path, signum):
    proc, tmp = _start(tmp_path)
    try:
        _wait_for_line(proc, "PASS")  # the first scenario is done
        time.sleep(1.0)  # the second one runs (2.5 s of it at 4x: started, far from done)
        proc.send_signal(signum)
        out, err = proc.communicate(timeout=30)
    finally:
        proc.kill()
    assert proc.returncode == 128 + signum, err
    doc = json.loads((tmp_path / "run.json").read_text())
    assert doc["partial"] is True
    first, second = doc["scenarios"]
    assert first["name"] == "su7-construction-zone" and first["passed"] is True
    assert second["name"] == "lead-car-same-speed" and second["passed"] is False
    assert any(f"interrupted ({signal.Signals(signum).name})" in f for f in second["failures"])
    assert (tmp_path / "report" / "report.html").is_file() and (tmp_path / "report" / "junit.xml").is_file()
    assert _leftovers(tmp) == ([], [])


@pytest.mark.parametrize("command", [
    ["demo", "--no-live"], ["bench"], ["sweep", "su7-construction-zone", "--param", "speed_kph=60:140:10"],
    ["evidence", "--benign", "50", "--critical", "0"], ["config"],
], ids=lambda c: c[0])
def test_sigterm_while_any_command_has_a_board_leaves_nothing_behind(tmp_path, command):
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    out = tmp_path / "out"
    extra = [] if command[0] == "config" else ["--out", str(out)]
    proc = subprocess.Popen([sys.executable, "-m", "takeover.cli", *command, *extra],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "TMPDIR": str(tmp)}, cwd=tmp_path)
    deadline = time.monotonic() + 30
    while _leftovers(tmp)[0] == [] and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.01)  # until its simulated board's Node process runs
    assert _leftovers(tmp)[0], "the board never started"
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 128 + signal.SIGTERM, err
    assert "Traceback" not in err
    assert _leftovers(tmp) == ([], [])

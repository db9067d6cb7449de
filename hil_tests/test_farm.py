"""A labgrid farm this test starts itself (`takeover farm up`: a coordinator and two exporters, each
with a simulated board, or with TAKEOVER_FARM_BOARDS=sim,pico-emu a simulated board and an emulated
Pico; separate processes on loopback), used as a bench team would:
`--port labgrid:PLACE` on the command line and on pytest, a place held by someone else waited for
and never taken, a holder that is killed outright letting its place go, and `farm down` leaving
no process behind.

Needs labgrid (the test extras pin it) and ser2net (an OS package: `.ci/run` installs it, else
these tests skip and say so)."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from takeover import farm
from takeover.errors import SetupError
from takeover.picoemu import MissingFile, find_file

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("farm")]  # one farm, on one worker

ROOT = Path(__file__).resolve().parents[1]
TAKEOVER = [sys.executable, "-m", "takeover.cli"]


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    """The farm's state (coordinator, places), and the environment that points labgrid at it."""
    try:
        farm.check_tools()
    except SetupError as exc:
        pytest.skip(str(exc))
    # `takeover farm up` gives a simulated board and an emulated Pico; here two simulated boards:
    # an emulated Pico keeps a core busy for as long as it runs, and make test already has one
    # (hil_tests/test_pico_emu.py). TAKEOVER_FARM_BOARDS=sim,pico-emu runs this module on that farm.
    boards = farm.parse_boards(os.environ.get("TAKEOVER_FARM_BOARDS", "sim,sim"))
    if "pico-emu" in boards:
        try:
            find_file("uf2")
            find_file("bootrom")
        except MissingFile as exc:
            pytest.skip(str(exc))
    folder = tmp_path_factory.mktemp("farm")
    state = farm.up(folder, boards, log=lambda text: None)
    env = {**os.environ, "LG_COORDINATOR": state["coordinator"]}
    try:
        yield state, env, folder
    finally:
        farm.down(folder)
        assert not farm._alive(state["pid"])
        # nothing the farm started is left: no exporter, coordinator, ser2net or board
        left = [cmd for cmd in _commands() if str(folder) in cmd or any(p["tty"] in cmd for p in state["places"])]
        assert left == [], left


def _commands() -> list[str]:
    found = []
    for pid in os.listdir("/proc"):
        if pid.isdigit() and int(pid) != os.getpid():
            try:
                with open(f"/proc/{pid}/cmdline", "rb") as f:
                    found.append(f.read().replace(b"\0", b" ").decode(errors="replace"))
            except OSError:
                pass
    return found


def _holders(env) -> dict[str, str]:
    return farm.holders(env["LG_COORDINATOR"])


def _client(env, *args, user=None):
    if user is not None:
        env = {**env, "LG_USERNAME": user}
    subprocess.run([sys.executable, "-m", "labgrid.remote.client", *args], env=env, capture_output=True,
                   text=True, timeout=60, check=True)


def _wait_until(predicate, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.2)
    raise AssertionError(f"not within {timeout} s: {what}")


def _expected_board(kind: str) -> str:
    return "sim" if kind == "sim" else "pico"


def test_the_farm_has_a_place_per_board_each_named_with_its_board_and_kind(lab):
    state, env, _ = lab
    kinds = [p["kind"] for p in state["places"]]
    assert kinds[0] == "sim" and kinds[1] in ("sim", "pico-emu")
    assert [(p["name"], p["board"]) for p in state["places"]] == [
        (f"{kind}-{k}", _expected_board(kind)) for k, kind in enumerate(kinds, 1)]
    second = state["places"][1]
    out = subprocess.run([sys.executable, "-m", "labgrid.remote.client", "-p", second["name"], "show"], env=env,
                         capture_output=True, text=True, timeout=60, check=True).stdout
    assert f"board={second['board']}" in out and f"kind={second['kind']}" in out and "NetworkSerialPort" in out, out


def test_the_su7_and_a_driver_story_run_at_the_same_time_each_on_its_own_place(lab, tmp_path):
    state, env, _ = lab
    first, second = state["places"]
    jobs = ((first, "su7-construction-zone"), (second, "dm-falls-asleep"))
    runs = [(place, subprocess.Popen([*TAKEOVER, "run", scenario, "--port", f"labgrid:{place['name']}", "--lockstep",
                                      "--json", str(tmp_path / f"{place['name']}.json")],
                                     env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True))
            for place, scenario in jobs]
    for place, proc in runs:
        out, err = proc.communicate(timeout=300)
        assert proc.returncode == 0, (place, out, err)
        assert f"acquired place {place['name']} ({place['board']}, {place['kind']})" in err, err
    su7 = json.loads((tmp_path / f"{first['name']}.json").read_text())["scenarios"][0]
    story = json.loads((tmp_path / f"{second['name']}.json").read_text())["scenarios"][0]
    assert su7["name"] == "su7-construction-zone" and su7["passed"] and not su7["outcome"]["collision"]
    assert su7["port"] == f"labgrid:{first['name']}" and su7["max_level"] in ("WARNING", "TAKEOVER", "EMERGENCY")
    assert story["name"] == "dm-falls-asleep" and story["passed"] and story["port"] == f"labgrid:{second['name']}"
    assert story["board"] == second["board"]  # the board that answered: an emulated Pico says pico
    assert _holders(env) == {}  # both places were let go


def test_a_place_held_by_another_user_is_waited_for_and_not_taken(lab):
    _, env, folder = lab
    _client(env, "-p", "sim-1", "acquire", user="alice")
    status = subprocess.run([*TAKEOVER, "farm", "status", "--dir", str(folder)], env=env, capture_output=True,
                            text=True, timeout=60)
    lines = {line.split()[0]: line for line in status.stdout.splitlines()[1:]}
    assert status.returncode == 0 and "held by" in lines["sim-1"] and "/alice" in lines["sim-1"], status.stdout
    assert lines["sim-2"].rstrip().endswith("free"), status.stdout
    proc = subprocess.Popen([*TAKEOVER, "run", "lead-car-same-speed", "--port", "labgrid:sim-1", "--lockstep"],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        time.sleep(4.0)
        assert proc.poll() is None, proc.communicate()  # still waiting
        assert _holders(env)["sim-1"].endswith("/alice")  # and alice still has it
    finally:
        _client(env, "-p", "sim-1", "release", user="alice")
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, (out, err)
    assert "place sim-1 is held by" in err and "/alice: waiting for it" in err, err
    assert err.index("/alice: waiting") < err.index("acquired place sim-1"), err
    assert "PASS" in out


def test_a_wait_that_runs_out_is_one_line_and_exit_2(lab):
    state, env, _ = lab
    name = state["places"][1]["name"]
    _client(env, "-p", name, "acquire", user="bob")
    try:
        proc = subprocess.run([*TAKEOVER, "run", "lead-car-same-speed", "--port", f"labgrid:{name}?wait=1"],
                              env=env, capture_output=True, text=True, timeout=120)
    finally:
        _client(env, "-p", name, "release", user="bob")
    last = proc.stderr.strip().splitlines()[-1]
    assert proc.returncode == 2 and "Traceback" not in proc.stderr, proc.stderr
    assert last.startswith(f"takeover: error: labgrid: place {name} still held by") and "/bob after 1 s" in last, last


def test_a_holder_killed_outright_lets_its_place_go(lab):
    _, env, _ = lab
    proc = subprocess.Popen([*TAKEOVER, "run", "su7-construction-zone", "--port", "labgrid:sim-1"],
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        _wait_until(lambda: "sim-1" in _holders(env), 60, "the run acquired sim-1")
        time.sleep(1.0)  # driving now
        proc.send_signal(signal.SIGKILL)  # no handler, no finally: only the guard can let go
        proc.wait(timeout=10)
        _wait_until(lambda: "sim-1" not in _holders(env), 15, "sim-1 released after its holder was killed")
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.stderr.close()
    again = subprocess.run([*TAKEOVER, "run", "lead-car-same-speed", "--port", "labgrid:sim-1", "--lockstep"],
                           env=env, capture_output=True, text=True, timeout=120)
    assert again.returncode == 0, again.stderr


def test_an_unknown_place_is_one_line_naming_the_places_there_are(lab):
    state, env, _ = lab
    proc = subprocess.run([*TAKEOVER, "run", "lead-car-same-speed", "--port", "labgrid:sim-9"], env=env,
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2 and len(proc.stderr.strip().splitlines()) == 1, proc.stderr
    names = ", ".join(sorted(p["name"] for p in state["places"]))
    assert "no place 'sim-9'" in proc.stderr and f"places: {names}" in proc.stderr


def test_pytest_across_the_farm_names_the_place_and_board_of_every_test(lab, tmp_path):
    state, env, _ = lab
    junit, report = tmp_path / "junit.xml", tmp_path / "report.html"
    names = [p["name"] for p in state["places"]]
    proc = subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", "-n", "2",
                           "--port", f"labgrid:{names[0]}", "--port", f"labgrid:{names[1]}",
                           # the link checks an emulated Pico keeps up with (not the 4x-speed ones)
                           "hil_tests/test_link.py::test_handshake_reports_matching_versions_and_settings",
                           "hil_tests/test_link.py::test_every_frame_sent_is_accounted_for",
                           "hil_tests/test_link.py::test_garbage_on_the_line_is_skipped_and_the_next_frame_is_read",
                           "hil_tests/test_real_board.py",
                           f"--junitxml={junit}", f"--html={report}"],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout[-3000:]
    import xml.etree.ElementTree as ET

    expected = {p["name"]: (p["board"], p["kind"]) for p in state["places"]}
    seen = set()
    for case in ET.parse(junit).getroot().iter("testcase"):
        props = {p.get("name"): p.get("value") for p in case.iter("property")}
        assert props["port"] == f"labgrid:{props['place']}", (case.get("name"), props)
        assert (props.get("board"), props.get("kind")) == expected[props["place"]], (case.get("name"), props)
        seen.add(props["place"])
    assert seen == set(names)  # both workers ran tests, each on its own place
    page = report.read_text()
    assert "<th>Board</th>" in page
    for name, (board, kind) in expected.items():
        assert f"labgrid:{name} ({board}, {kind})" in page
    real = [c for c in ET.parse(junit).getroot().iter("testcase") if c.get("classname", "").endswith("test_real_board")]
    assert len(real) == 1
    place = {p.get("name"): p.get("value") for p in real[0].iter("property")}["place"]
    skipped = real[0].find("skipped")
    if expected[place][1] == "sim":  # skipped on a simulated board, saying why
        assert skipped is not None and f"this worker's port is labgrid:{place}" in skipped.get("message", "")
    else:  # and run on an emulated Pico, which answers as a Pico does
        assert skipped is None and real[0].find("failure") is None
    assert _holders(env) == {}


def test_flash_reaches_a_place_over_rfc2217_and_a_second_flash_copies_nothing(lab):
    _, env, _ = lab
    runs = [subprocess.run([*TAKEOVER, "flash", "--port", "labgrid:sim-1", "--board", "sim"], env=env,
                           capture_output=True, text=True, timeout=300) for _ in range(2)]
    for proc in runs:
        assert proc.returncode == 0, proc.stderr
        assert "matches this checkout" in proc.stdout
        assert proc.stdout.strip().splitlines()[-1].startswith("flashed sim on labgrid:sim-1 in ")
    assert "copied 0 files (0 bytes)" in runs[1].stdout, runs[1].stdout
    assert _holders(env) == {}

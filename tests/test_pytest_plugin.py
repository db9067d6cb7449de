"""The takeover pytest plugin: one port per xdist worker, no serial port shared, real_board skips.

Each case runs pytest on a small test file of its own (pytester); the ports are never opened, so
any non-sim URL stands in for a real board."""

import tomllib
from pathlib import Path

import pytest

from takeover import pytest_plugin

ROOT = Path(__file__).resolve().parents[1]

pytest_plugins = ["pytester"]

RECORD_PORTS = """
import os
import pytest

@pytest.mark.parametrize("k", range(12))
def test_where(port, k):
    with open("ports.txt", "a") as f:  # pytester runs in its own directory
        f.write(os.environ.get("PYTEST_XDIST_WORKER", "main") + " " + port + "\\n")
"""


@pytest.mark.slow
def test_each_worker_takes_its_own_port_from_the_list(pytester):
    pytester.makepyfile(RECORD_PORTS)
    result = pytester.runpytest_subprocess("-n", "2", "--port", "socket://bench-a:4001", "--port", "sim")
    result.assert_outcomes(passed=12)
    result.stdout.fnmatch_lines(["takeover: ports gw0 socket://bench-a:4001, gw1 sim*"])
    seen = {tuple(line.split()) for line in (pytester.path / "ports.txt").read_text().splitlines()}
    assert seen == {("gw0", "socket://bench-a:4001"), ("gw1", "sim")}


def test_without_xdist_the_single_port_is_used(pytester):
    pytester.makepyfile("def test_where(port):\n    assert port == '/dev/ttyACM7'\n")
    pytester.runpytest("--port", "/dev/ttyACM7").assert_outcomes(passed=1)


@pytest.mark.slow
def test_the_default_port_is_a_simulated_board_per_worker(pytester):
    pytester.makepyfile("def test_where(port):\n    assert port == 'sim'\n")
    pytester.runpytest_subprocess("-n", "2").assert_outcomes(passed=1)


def test_two_workers_on_one_serial_port_is_refused_with_one_clear_message(pytester):
    pytester.makepyfile("def test_nothing(): pass\n")
    result = pytester.runpytest_subprocess("-n", "2", "--port", "/dev/ttyACM0")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["ERROR: workers gw0 and gw1 would share port /dev/ttyACM0: two workers cannot "
                                 "share one serial port*"])


def test_a_port_no_worker_would_test_is_refused(pytester):
    pytester.makepyfile("def test_nothing(): pass\n")
    result = pytester.runpytest("--port", "/dev/ttyACM0", "--port", "/dev/ttyACM1")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["ERROR: 2 ports given*but the run has 1 worker: add -n 2*"])


def test_real_board_tests_skip_on_sim_with_the_reason_and_run_on_a_port(pytester):
    pytester.makepyfile("""
        import pytest

        @pytest.mark.real_board
        def test_on_the_bench(port):
            assert port != "sim"
    """)
    skipped = pytester.runpytest("-rs", "--strict-markers")
    skipped.assert_outcomes(skipped=1)
    skipped.stdout.fnmatch_lines(["SKIPPED*test_real_board_tests_skip*needs a real board: this worker's port is sim*"])
    pytester.runpytest("--strict-markers", "--port", "rfc2217://lab-pc:4001").assert_outcomes(passed=1)


@pytest.mark.parametrize(("ports", "workers"), [
    (["sim"], 4),  # every worker starts its own simulated board
    (["/dev/ttyACM0", "/dev/ttyACM1"], 2),
    (["sim", "/dev/ttyACM0"], 3),  # gw2 takes sim again, the serial port stays gw1's
])
def test_port_lists_that_give_no_serial_port_two_workers_are_accepted(ports, workers):
    pytest_plugin.check_ports(ports, workers)
    assert pytest_plugin.assign(ports, workers)[:len(ports)] == ports


@pytest.mark.slow
def test_a_module_marked_with_one_xdist_group_runs_on_one_worker_with_this_repos_options(pytester):
    """hil_tests/test_pico_emu.py relies on it to boot one emulator for its module while the other
    worker runs the rest; a pytest that pytest-xdist cannot group spreads it, silently."""
    addopts = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["pytest"]["ini_options"]["addopts"]
    pytester.makeini(f"[pytest]\naddopts = {addopts}\n")
    pytester.makepyfile(test_grouped="""
        import os
        import pytest

        pytestmark = pytest.mark.xdist_group("one_board")

        @pytest.mark.parametrize("k", range(8))
        def test_where(k):
            with open("grouped.txt", "a") as f:
                f.write(os.environ["PYTEST_XDIST_WORKER"] + "\\n")
    """, test_other="""
        import pytest

        @pytest.mark.parametrize("k", range(8))
        def test_elsewhere(k):
            pass
    """)
    pytester.runpytest_subprocess("-n", "2").assert_outcomes(passed=16)
    workers = (pytester.path / "grouped.txt").read_text().split()
    assert len(workers) == 8 and len(set(workers)) == 1, workers

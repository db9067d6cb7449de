"""pytest plugin for HIL tests: one board per worker, a fresh session per test.

Registered through the `pytest11` entry point, so any pytest run in an environment where the
`takeover` package is installed has it:

    pytest hil_tests                                        # one simulated board per test
    pytest hil_tests --port /dev/ttyACM0                    # a real board running the firmware
    pytest hil_tests -n 2                                   # two workers, each its own simulated board
    pytest hil_tests -n 2 --port /dev/ttyACM0 --port rfc2217://lab-pc:4001   # two real boards

Worker gwK of pytest-xdist takes ports[K % len(ports)]. `sim` may be shared (every Device("sim")
starts its own simulated board), and so may `pico-emu` (worker gwK gets an emulated Pico of its own,
pico-emu:gwK, with its own flash image); a serial port may not, since two workers writing one port
interleave their frames. docs/hil.md has the details.
"""

from __future__ import annotations

import html
import sys

import pytest

from takeover import ports as port_kinds
from takeover import scenario as scenarios
from takeover.device import Device
from takeover.runner import Pace, Run, run_scenario

SIM = "sim"


def pytest_addoption(parser):
    group = parser.getgroup("takeover", "takeover HIL bench")
    group.addoption("--port", action="append", dest="takeover_ports", metavar="PORT",
                    help="board to test on: 'sim' (the default: a simulated board), 'pico-emu' (an emulated "
                         "Pico), a serial device, or a pyserial URL such as rfc2217://host:port; repeat once per "
                         "board, one per xdist worker")
    group.addoption("--board", dest="takeover_board", default=SIM, metavar="NAME",
                    help="board definition (boards/NAME.py) for simulated ports (default: sim)")


def pytest_configure(config):
    config.addinivalue_line("markers", "real_board: needs a real board (skipped when the worker's port is sim)")
    config.addinivalue_line("markers", "pico_emu: runs the firmware on an emulated Pico (hil_tests/test_pico_emu.py)")
    # pyserial 3.5's RFC 2217 client (rfc2217:// ports) calls threading APIs Python 3.10 deprecated.
    config.addinivalue_line("filterwarnings", r"ignore:set(Daemon|Name)\(\) is deprecated:DeprecationWarning:serial")
    if not hasattr(config, "workerinput"):  # the controller (or a run without xdist) checks once
        check_ports(ports_of(config), worker_count(config))
    given = given_port(config)
    if _runs_tests(config) and port_kinds.scheme(given) == port_kinds.LABGRID:
        # The place is held for the whole run (every test opens its URL), and let go at the end,
        # or when this process ends however it ends (takeover.labgrid_lease).
        from takeover.errors import TakeoverError
        from takeover.labgrid_lease import Lease, parse

        lease = Lease(parse(given.split(":", 1)[1]), log=lambda text: print(text, file=sys.stderr, flush=True))
        try:
            lease.acquire()
        except TakeoverError as exc:
            raise pytest.UsageError(f"--port {given}: {exc}") from None
        config._takeover_lease = lease


def pytest_unconfigure(config):
    lease = getattr(config, "_takeover_lease", None)
    if lease is not None:
        lease.release()


def _runs_tests(config) -> bool:
    """This process runs tests: an xdist worker, or pytest without xdist (not xdist's controller)."""
    return hasattr(config, "workerinput") or config.getoption("dist", "no") == "no"


def ports_of(config) -> list[str]:
    return config.getoption("takeover_ports") or [SIM]


def worker_count(config) -> int:
    """How many xdist workers this run starts: 1 without xdist (or with -n 0)."""
    workerinput = getattr(config, "workerinput", None)
    if workerinput is not None:
        return workerinput["workercount"]
    if config.getoption("dist", "no") == "no":
        return 1
    count = 0
    for spec in config.getoption("tx", None) or []:  # "popen", or "3*popen" as xdist spells a group
        times, star, _ = spec.partition("*")
        count += int(times) if star and times.isdigit() else 1
    return max(count, 1)


def worker_index(config) -> int:
    """K of worker gwK; 0 without xdist."""
    workerinput = getattr(config, "workerinput", None)
    if workerinput is None:
        return 0
    return int(workerinput["workerid"].removeprefix("gw"))


def assign(ports: list[str], workers: int) -> list[str]:
    """The port of each worker: gwK takes ports[K % len(ports)]."""
    return [ports[k % len(ports)] for k in range(workers)]


def check_ports(ports: list[str], workers: int) -> None:
    """Every port gets a worker, and no serial port gets two."""
    if len(ports) > workers:
        raise pytest.UsageError(
            f"{len(ports)} ports given (--port {' --port '.join(ports)}) but the run has {workers} "
            f"worker{'s' if workers > 1 else ''}: add -n {len(ports)} so every board is tested")
    assigned = assign(ports, workers)
    for port in ports:
        if port_kinds.kind(port) is None and assigned.count(port) > 1:
            sharing = " and ".join(f"gw{k}" for k, p in enumerate(assigned) if p == port)
            raise pytest.UsageError(
                f"workers {sharing} would share port {port}: two workers cannot share one serial port; "
                f"give one --port per worker (-n {workers} needs {workers} ports) or fewer workers")


def worker_port(config) -> str:
    """What this worker's tests open: its port, or the URL of the labgrid place it holds."""
    lease = getattr(config, "_takeover_lease", None)
    return lease.url if lease is not None else given_port(config)


def given_port(config) -> str:
    """This worker's port as given (--port), e.g. labgrid:sim-1."""
    ports = ports_of(config)
    index = worker_index(config)
    port = ports[index % len(ports)]
    if port == port_kinds.PICO_EMU and worker_count(config) > 1:
        return f"{port}:gw{index}"  # an emulated Pico, and a flash image, per worker
    return port


def board_of(config) -> dict:
    """The board this worker tests on, for reports: port, and for a labgrid place its board and kind."""
    lease = getattr(config, "_takeover_lease", None)
    found = {"port": given_port(config)}
    if lease is not None:
        found.update(place=lease.spec.place, board=lease.board, kind=lease.kind)
    elif port_kinds.kind(found["port"]) is not None:
        found.update(board=config.getoption("takeover_board") if found["port"] == SIM else "pico",
                     kind=port_kinds.kind(found["port"]))
    return found


def pytest_collection_modifyitems(config, items):
    found = board_of(config)
    for item in items:  # junit's <properties> and the HTML report's board column
        item.user_properties.extend(found.items())
    if found.get("kind") != SIM:  # an emulated Pico answers as a Pico does: real_board tests run on it
        return
    # A skip mark, not a skip in a hook: the summary then names the test, not this file.
    shown = found["port"] if "place" not in found else f"{found['port']}, a simulated board"
    skip = pytest.mark.skip(reason=f"needs a real board: this worker's port is {shown} "
                                   "(run with --port /dev/ttyACM0 or --port rfc2217://host:port)")
    for item in items:
        if item.get_closest_marker("real_board") is not None:
            item.add_marker(skip)


@pytest.hookimpl(optionalhook=True)
def pytest_html_results_table_header(cells):
    cells.insert(2, "<th>Board</th>")


@pytest.hookimpl(optionalhook=True)
def pytest_html_results_table_row(report, cells):
    props = dict(getattr(report, "user_properties", ()))
    text = props.get("port", "")
    if props.get("board"):
        text += f" ({props['board']}, {props.get('kind', '')})"
    cells.insert(2, f"<td>{html.escape(text)}</td>")


def pytest_report_header(config):
    workers = worker_count(config)
    ports = assign(ports_of(config), workers)
    where = f"port {ports[0]}" if workers == 1 else "ports " + ", ".join(f"gw{k} {p}" for k, p in enumerate(ports))
    return f"takeover: {where}; board definition for sim: {config.getoption('takeover_board')}"


@pytest.fixture(scope="session")
def port(pytestconfig) -> str:
    """This worker's port: 'sim', a serial device or a pyserial URL."""
    return worker_port(pytestconfig)


@pytest.fixture
def device(pytestconfig, port):
    """An open Device on this worker's port; the test starts the session (start_session) itself.
    With sim, a new simulated board per test; with a real port, the port is opened per test."""
    with Device(port, board=pytestconfig.getoption("takeover_board")) as dev:
        yield dev


@pytest.fixture
def scenario_runner(device):
    """run(name_or_path, pace) -> Run: a built-in scenario or a scenario file on this test's device."""
    def run(name_or_path: str, pace: Pace = Pace(lockstep=True)) -> Run:
        return run_scenario(device, scenarios.load(name_or_path), pace)
    return run

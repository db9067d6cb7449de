"""A board behind the network: the link through RFC 2217 (what ser2net serves for a labgrid
NetworkSerialPort, docs/hil.md), here a simulated board's pty served by takeover.rfc2217_server."""

import pytest

from takeover import scenario as scenarios
from takeover.device import Device
from takeover.rfc2217_server import Rfc2217Server
from takeover.runner import Pace, run_scenario
from takeover.simboard import SimBoard


def test_a_board_served_over_rfc2217_runs_a_scenario_like_a_local_one(port, pytestconfig):
    if port != "sim":
        pytest.skip("serves a simulated board's pty; a real board is reached with --port rfc2217://host:port")
    with SimBoard(pytestconfig.getoption("takeover_board")) as sim, Rfc2217Server(sim.port) as server:
        runs = []
        for _ in range(2):  # a second client once the first has gone, as consecutive tests connect
            with Device(server.url) as dev:
                dev.start_session()
                runs.append(run_scenario(dev, scenarios.load("su7-construction-zone"), Pace(lockstep=True)))
    for run in runs:
        assert run.passed, run.failures
        assert (run.frames["processed"], run.frames["dropped"], run.frames["rejected"]) == (run.frames["sent"], 0, 0)
    assert [a["level"] for a in runs[0].alerts] == [a["level"] for a in runs[1].alerts]

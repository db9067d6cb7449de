"""A board behind the network: the link through RFC 2217, as ser2net serves it (what a labgrid
exporter publishes as a NetworkSerialPort, docs/hil.md), here for a simulated board's pty with the
settings `takeover farm` gives it. Needs ser2net (an OS package; skipped, saying so, without it)."""

import pytest

from takeover import farm
from takeover import scenario as scenarios
from takeover.device import Device
from takeover.runner import Pace, run_scenario
from takeover.simboard import SimBoard


def test_a_board_served_by_ser2net_runs_a_scenario_like_a_local_one(port, pytestconfig, tmp_path):
    if port != "sim":
        pytest.skip("serves a simulated board's pty; a real board is reached with --port rfc2217://host:port")
    if farm.ser2net_binary() is None:
        pytest.skip("needs ser2net: sudo apt-get install ser2net")
    with SimBoard(pytestconfig.getoption("takeover_board")) as sim:
        tcp = farm.free_port()
        server = farm.start_ser2net(tmp_path, "bench", sim.port, tcp)
        try:
            runs = []
            for _ in range(2):  # a second client once the first has gone, as consecutive tests connect
                with Device(f"rfc2217://127.0.0.1:{tcp}?ign_set_control") as dev:
                    dev.start_session()
                    runs.append(run_scenario(dev, scenarios.load("su7-construction-zone"), Pace(lockstep=True)))
        finally:
            server.terminate()
            server.wait(timeout=10)
    for run in runs:
        assert run.passed, run.failures
        assert (run.frames["processed"], run.frames["dropped"], run.frames["rejected"]) == (run.frames["sent"], 0, 0)
    assert [a["level"] for a in runs[0].alerts] == [a["level"] for a in runs[1].alerts]

"""HIL tests talk to a board through a serial port: the simulated board by default.

    pytest hil_tests                       # a fresh simulated board per test
    pytest hil_tests --port /dev/ttyACM0   # a real board (must already run the firmware)
"""

import pytest

from takeover.device import Device


def pytest_addoption(parser):
    parser.addoption("--port", default="sim", help="'sim' (default), a serial device, or a pyserial URL")
    parser.addoption("--board", default="sim", help="board definition used with --port sim")


@pytest.fixture
def port(request):
    return request.config.getoption("--port")


@pytest.fixture
def device(request, port):
    with Device(port, board=request.config.getoption("--board")) as dev:
        yield dev

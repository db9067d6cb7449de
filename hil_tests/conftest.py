"""HIL tests talk to a board through a serial port: the simulated board by default.

The options (--port, --board), the fixtures (device, port, scenario_runner) and the real_board
marker come from the takeover pytest plugin (takeover/pytest_plugin.py, docs/hil.md):

    pytest hil_tests                       # a fresh simulated board per test
    pytest hil_tests -n 2                  # two workers, each with its own simulated board
    pytest hil_tests --port /dev/ttyACM0   # a real board (must already run the firmware)
"""

import pytest


def pytest_configure(config):
    if not hasattr(config.option, "takeover_ports"):
        raise pytest.UsageError("the takeover pytest plugin is not loaded: reinstall the package "
                                "(make setup, or pip install -e .) so its pytest11 entry point exists")

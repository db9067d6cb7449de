"""What only a real board can show: skipped on the simulated board (the real_board marker)."""

import pytest

from tkfw import dm

pytestmark = pytest.mark.real_board


def test_a_real_board_names_itself_and_reports_its_hands_on_pin(device, record_property):
    hello = device.start_session()
    assert hello.board not in ("", "sim"), f"{device.port} says it is board {hello.board!r}"
    assert hello.mismatches() == []
    status = device.status()
    assert status is not None, f"no STATUS from {device.port}"
    # Nobody is expected to touch the bench: the pin is reported, not judged.
    record_property("hands_on_pin", bool(status["dm_flags"] & dm.PIN_HANDS_ON))

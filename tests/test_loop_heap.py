"""The firmware loop allocates nothing per frame on the MicroPython VM."""

import json

import pytest

from takeover import codec
from tkfw import schema
from takeover.simboard import run_script

from pathlib import Path

pytestmark = pytest.mark.slow  # `make check` leaves these out

HERE = Path(__file__).parent


@pytest.mark.parametrize("revision", [1, 2])
def test_the_whole_loop_allocates_nothing_per_64_target_frame_on_the_vm(tmp_path, revision):
    """Revision 1 frames (a straight path, plain records) and revision 2 frames (a yaw rate:
    a 500 m curve at 20 m/s; the heights block, a third of them high stationary reflections)."""
    targets = [{"id": k, "range": 40000 + 1000 * k, "range_rate": -20000, "lateral": (k % 7 - 3) * 900}
               for k in range(64)]
    extra = {}
    if revision == 2:
        targets = [{**t, "height": 5000 if k % 3 == 0 else 600} for k, t in enumerate(targets)]
        extra = {"yaw_rate": 40}
    frames = tmp_path / "frames.bin"
    # radar, driver, radar, driver: the driver monitor runs on both (eyes off, then on)
    frames.write_bytes(codec.encode("radar", 1, targets=targets, t_ms=50, ego_speed=20000, **extra)
                       + codec.encode("driver", 2, t_ms=50, flags=schema.DRIVER_HANDS_ON)
                       + codec.encode("radar", 3, targets=targets, t_ms=100, ego_speed=20000, **extra)
                       + codec.encode("driver", 4, t_ms=100, flags=schema.DRIVER_HANDS_ON | schema.DRIVER_EYES_ON_ROAD))
    out = run_script(HERE / "vm_loop_heap.py", {frames: "/frames.bin"})
    result = json.loads(out.strip().splitlines()[-1])
    assert result["frames"] == 2000 and result["replies"] == 1000  # a STATUS per radar frame
    assert result["rejected"] == 0 and result["faults"] == 0
    assert result["heap_bytes"] == 0
    assert result["heap_lock_ok"] is True

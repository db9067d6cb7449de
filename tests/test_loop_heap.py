"""The firmware loop allocates nothing per frame on the MicroPython VM (issue 2/3 rule)."""

import json

from takeover import codec
from takeover.simboard import run_script

from pathlib import Path

HERE = Path(__file__).parent


def test_the_whole_loop_allocates_nothing_per_64_target_frame_on_the_vm(tmp_path):
    targets = [{"id": k, "range": 40000 + 1000 * k, "range_rate": -20000, "lateral": (k % 7 - 3) * 900}
               for k in range(64)]
    frames = tmp_path / "frames.bin"
    frames.write_bytes(b"".join(codec.encode("radar", seq, targets=targets, t_ms=50 * seq, ego_speed=20000)
                                for seq in (1, 2)))
    out = run_script(HERE / "vm_loop_heap.py", {frames: "/frames.bin"})
    result = json.loads(out.strip().splitlines()[-1])
    assert result["frames"] == 1000 and result["replies"] == 1000
    assert result["rejected"] == 0 and result["faults"] == 0
    assert result["heap_bytes"] == 0
    assert result["heap_lock_ok"] is True

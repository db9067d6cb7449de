"""The host's scenario runner and its parts, Device included, import without numpy and pyserial: the classroom page
runs them on Pyodide, in a browser, where neither exists. And timing's plain-Python percentiles
equal numpy's (its default, linear, method), which the figures used before."""

import random
import subprocess
import sys

import numpy as np
import pytest

from takeover import timing

CORE = ["takeover.scenario", "takeover.plant", "takeover.codec", "takeover.faults", "takeover.timing",
        "takeover.device", "takeover.runner"]


def test_the_runner_and_its_parts_import_with_numpy_and_pyserial_absent():
    blocked = "import sys\nfor name in ('numpy', 'serial'):\n    sys.modules[name] = None\n"
    code = blocked + "".join(f"import {name}\n" for name in CORE) + "print('ok')\n"
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0 and proc.stdout.strip() == "ok", proc.stderr


@pytest.mark.parametrize("n", [1, 2, 3, 7, 100, 1001])
def test_percentiles_equal_numpys(n):
    rng = random.Random(n)
    samples = [rng.uniform(100, 5000) for _ in range(n)]
    stats = timing.stats_us(samples)
    assert stats["p50"] == round(float(np.percentile(samples, 50)), 1)
    assert stats["p99"] == round(float(np.percentile(samples, 99)), 1)
    assert stats["max"] == round(max(samples), 1) and stats["n"] == n

"""The same test vectors pass on CPython and on the MicroPython VM the firmware really runs on.

Vectors come from tests/vectors.py (host codec + independent arithmetic); tests/vm_vectors.py
replays them through tkfw on either interpreter. The heap test runs tests/vm_heap.py on the VM.
"""

import json
import random
from pathlib import Path

import pytest

import vectors
import vm_vectors
from takeover.errors import SetupError
from takeover.simboard import run_script
from tkfw import schema
from tkfw.settings import Settings

HERE = Path(__file__).resolve().parent


@pytest.fixture(scope="module")
def vector_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("vectors") / "vectors.json"
    cases = vectors.write(path)
    return path, cases


def _parse(lines):
    return [json.loads(line) for line in lines if line.strip()]


def _run_vm(script, puts):
    try:
        return run_script(script, puts=puts, timeout=120)
    except SetupError as exc:  # no Node / VM package: say so rather than fail obscurely
        pytest.skip(f"MicroPython VM unavailable: {exc}")


def _assert_all_pass(cases, results, where):
    assert len(results) == len(cases), f"{where}: {len(results)} results for {len(cases)} cases"
    failures = []
    for case, result in zip(cases, results):
        assert result["name"] == case["name"]
        if result["got"] != case["expect"]:
            failures.append(f"[{case['kind']}] {case['name']}: expected {case['expect']}, got {result['got']}")
    assert not failures, f"{where}: {len(failures)} vector(s) failed:\n" + "\n".join(failures)


@pytest.fixture(scope="module")
def cpython_results(vector_file):
    path, _ = vector_file
    lines = []
    vm_vectors.run(str(path), lines.append)
    return _parse(lines)


def test_vectors_cover_every_kind(vector_file):
    _, cases = vector_file
    kinds = {case["kind"] for case in cases}
    assert kinds == set(vm_vectors.RUNNERS)
    assert all(json.loads(json.dumps(case)) == case for case in cases)


def test_same_vectors_pass_on_cpython(vector_file, cpython_results):
    _, cases = vector_file
    _assert_all_pass(cases, cpython_results, "CPython")


def test_same_vectors_pass_on_the_micropython_vm(vector_file, cpython_results):
    path, cases = vector_file
    out = _run_vm(HERE / "vm_vectors.py", {path: "/vectors.json"})
    vm_results = _parse(out.splitlines())
    _assert_all_pass(cases, vm_results, "MicroPython VM")
    assert vm_results == cpython_results


@pytest.mark.slow
def test_processing_a_64_target_radar_frame_allocates_nothing_on_the_micropython_vm(tmp_path):
    rng = random.Random(4)
    settings = Settings()
    targets = [vectors.target(k, rng.uniform(5.0, 250.0), rng.uniform(-5.0, 40.0), rng.uniform(-5.0, 5.0))
               for k in range(schema.MAX_TARGETS)]
    frame = vectors.radar_frame(targets, seq=9)
    # the largest frame of plain records (extended ones: tests/test_loop_heap.py)
    assert len(frame) == schema.HEADER_LEN + schema.RADAR_TARGETS_AT + schema.MAX_TARGETS * schema.TARGET_LEN + schema.CRC_LEN
    _, level, _ = vectors.expected_threat(targets, settings)
    frame_path = tmp_path / "frame.bin"
    frame_path.write_bytes(frame)
    params_path = tmp_path / "heap.json"
    params_path.write_text(json.dumps({"iterations": 1000, "level": level}))

    out = _run_vm(HERE / "vm_heap.py", {frame_path: "/frame.bin", params_path: "/heap.json"})
    report = _parse(out.splitlines())[-1]
    print("MicroPython heap per 64-target frame:", report)

    assert report["wrong_results"] == 0, report
    assert report["bytes_per_frame"] == 0, f"the receive path allocates: {report['by_call']}"
    assert report["heap_lock_allocating_call"] is None, report
    # history, acceleration estimate, enhanced TTC and confirmation over changing frames
    assert report["tracked_enhanced_ttc_ran"] is True, report
    assert report["tracked_bytes"] == 0 and report["tracked_heap_lock_ok"] is True, report
    # the driver monitor and the arbiter walk every ladder (to lockout) without allocating
    assert report["dm_terminal"] >= 3 and report["dm_locked_out"] is True, report
    assert report["dm_bytes"] == 0 and report["dm_heap_lock_ok"] is True, report

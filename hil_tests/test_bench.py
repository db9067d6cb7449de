"""`takeover bench` parts on the board, short: they measure what they say."""

import os

import pytest
from tkfw.settings import Settings

from takeover import bench, codec
from takeover.errors import LinkError
from takeover.nodeboard import pin_threads


def test_processing_grows_with_the_targets_and_allocates_nothing_per_frame(device):
    rows = bench.processing(device, frames=60)
    sizes = [r for r in rows if "targets" in r]
    assert [r["targets"] for r in sizes] == list(bench.TARGET_COUNTS)
    assert all(r["heap_bytes_per_frame"] == 0 for r in sizes), sizes
    # 64 targets cost more than 1 (the per-target loop is real work), and the fit is close to linear
    assert sizes[-1]["p50_us"] > sizes[0]["p50_us"]
    assert rows[-1]["fit"]["per_target_us"] > 0


def test_revision_2_frames_are_measured_beside_revision_1_and_allocate_nothing(device):
    rows = bench.revision2(device, frames=60)
    assert [(r["targets"], r["revision"]) for r in rows] == [(1, 1), (1, 2), (64, 1), (64, 2)]
    assert all(r["heap_bytes_per_frame"] == 0 for r in rows), rows
    text = bench.table({"port": "sim", "revision2": rows})
    assert "| 64 | " in text and "cost of revision 2" in text


def test_the_revision_2_bench_road_keeps_one_threat_on_the_curve_and_its_gantries_out():
    """The bench's revision 2 frames mean what they say: the car in our lane is the threat on the
    bent path; without the bend it is not; the high stationary records are never one."""
    from array import array

    from tkfw import ttc

    targets = bench._targets(64, 0, revision=2)
    # the records, then the heights block, as a revision 2 frame carries them
    words = array("i", [v for t in targets for v in (t["id"], t["range"], t["range_rate"], t["lateral"])]
                  + [t["height"] for t in targets])
    radius = ttc.path_radius_mm(bench.REV2_YAW_MRAD_S, bench.EGO_MM_S)
    threat = ttc.Threat()
    threat.decide(words, 0, 64, Settings(), 0, -1, 4 * 64, radius, bench.EGO_MM_S)
    assert threat.target_id == 1
    straight = ttc.Threat()
    straight.decide(words, 0, 64, Settings(), 0, -1, 4 * 64, 0, bench.EGO_MM_S)
    assert straight.target_id != 1  # 150 m out on a 500 m curve it reads 22 m off the straight line
    assert sum(t["height"] > 4000 for t in targets) == 21


def test_each_alert_is_timed_against_an_echo_of_the_same_size_sent_between_the_radar_frames(device):
    cycles = 5
    confirm = Settings().confirm_n
    cases = bench.latency(device, cycles=cycles)
    assert [c["case"] for c in cases] == [name for name, _ in bench.LATENCY_CASES]
    for case, (_, n) in zip(cases, bench.LATENCY_CASES):
        radar = codec.encode("radar", 0, targets=[{"id": 0, "range": 0, "range_rate": 0, "lateral": 0}] * n)
        # every cycle alerts once per radar frame (NOTICE, then TAKEOVER once confirmed) ...
        assert case["alert"]["n"] == cycles * confirm, case
        # ... and every radar frame is followed by one echo of the same size
        assert case["floor"]["n"] == cycles * confirm, case
        assert case["floor"]["frame_bytes"] == len(radar)
        assert case["frame_to_status"]["n"] == cycles * confirm
        assert case["ratio"]["p50"] == round(case["alert"]["p50"] / case["floor"]["p50"], 2)
        assert case["ratio"]["p99"] == round(case["alert"]["p99"] / case["floor"]["p99"], 2)
        # the parts add up to each alert's latency exactly; their medians only roughly to the median
        split = case["split_p50_us"]
        assert split["device"] > 0
        assert abs(sum(split.values()) - case["alert"]["p50"]) < 0.5 * case["alert"]["p50"], case


def test_the_table_names_every_figure_with_its_floor():
    result = {"board": "sim", "port": "sim", "firmware": "0", "machine": "m", "date": "d",
              "processing": [{"targets": 1, "p50_us": 80.0, "p99_us": 90.0, "linear_fit_us": 80.0,
                              "heap_bytes_per_frame": 0.0, "heap_peak": 1000},
                             {"fit": {"per_target_us": 6.0, "fixed_us": 74.0, "max_deviation_pct": 3.0}}],
              "latency": [{"case": "c", "alert": {"p50": 900.0, "p99": 1000.0, "n": 10},
                           "floor": {"p50": 150.0, "p99": 200.0, "n": 10, "frame_bytes": 40},
                           "ratio": {"p50": 6.0, "p99": 5.0}, "cycles": 5, "gap_ms": 25.0, "radar_period_ms": 50,
                           "split_p50_us": {"uplink": 200.0, "device": 130.0, "downlink": 500.0}}],
              "floods": [{"rate_hz": 20, "sent": 10, "dropped": 0, "accounted": True,
                          "frame_to_status": {"p50": 1000.0, "p99": 2000.0}}],
              "heap_peak_bytes": 140000, "heap_after_boot_bytes": 139000, "firmware_heap_bytes": 100000, "pico_heap_budget_bytes": bench.PICO_HEAP_BUDGET}
    text = bench.table(result)
    assert "900 / 1000 us (n=10)" in text and "150 / 200 us (40 B, n=10)" in text and "6.0 / 5.0" in text
    assert "over 5 cycles" in text and "sent 25 ms after each radar frame" in text
    assert "Highest rate with nothing dropped: 20 Hz" in text and "margin" in text


def test_the_bench_gives_the_sim_board_a_cpu_of_its_own_and_the_host_the_rest(device):
    if device.sim is None:
        pytest.skip("a real board computes on its own chip: nothing to pin")
    if not hasattr(os, "sched_getaffinity") or len(os.sched_getaffinity(0)) < 2:
        pytest.skip("needs 2 or more CPUs and an OS with CPU affinity (Linux)")
    before = os.sched_getaffinity(0)
    board_pid = device.sim._proc.pid
    try:
        said = bench.pin_board_and_host(device.sim)
        board = {frozenset(os.sched_getaffinity(int(tid))) for tid in os.listdir(f"/proc/{board_pid}/task")}
        assert board == {frozenset({max(before)})}, board  # every thread: the VM and its pty workers
        assert os.sched_getaffinity(0) == before - {max(before)}
        assert said == f"simulated board pinned to CPU {max(before)}, host to CPU {','.join(map(str, sorted(before - {max(before)})))}"
        assert device.start_session().board == "sim"  # still answers
    finally:
        pin_threads(os.getpid(), before)
        device.sim.pin(before)


def test_a_board_that_stops_answering_mid_bench_is_reported_and_what_was_measured_is_kept(monkeypatch):
    processing, heap_locked = bench.processing, bench.heap_locked
    monkeypatch.setattr(bench, "processing", lambda dev, rows, log: processing(dev, frames=40, rows=rows))

    def latency(dev, rows, log):
        case, n = bench.LATENCY_CASES[0]
        rows.append(bench._latency_case(dev, case, n, cycles=2))  # the first case measured, then silence
        raise LinkError("no STATUS for a 64-target radar frame from sim within 2 s")

    monkeypatch.setattr(bench, "latency", latency)
    monkeypatch.setattr(bench, "heap_locked", lambda dev, rows, log: heap_locked(dev, frames=30))
    monkeypatch.setattr(bench, "floods", lambda dev, rows, log: [])
    monkeypatch.setattr(bench, "revision2", lambda dev, rows, log: [])
    result = bench.run_bench("sim", "sim", pin=False, stage_stamps=False, log=lambda text: None)
    assert result["errors"] == ["latency: no STATUS for a 64-target radar frame from sim within 2 s"]
    assert [r["case"] for r in result["latency"]] == [bench.LATENCY_CASES[0][0]]  # kept; the phases after it ran
    assert [r["targets"] for r in result["processing"] if "targets" in r] == list(bench.TARGET_COUNTS)
    # 30 frames under micropython.heap_lock on the VM: nothing allocated, nothing faulted
    assert result["heap_lock"] == {"frames": 30, "targets": 64, "locked_frames": 30, "loop_faults": 0, "held": True}
    assert "**Cut short:** latency: no STATUS" in bench.table(result)

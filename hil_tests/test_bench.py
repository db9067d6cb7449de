"""`takeover bench` parts on the board, short: they measure what they say (issue 8)."""

from takeover import bench


def test_processing_grows_with_the_targets_and_allocates_nothing_per_frame(device):
    rows = bench.processing(device, frames=60)
    sizes = [r for r in rows if "targets" in r]
    assert [r["targets"] for r in sizes] == list(bench.TARGET_COUNTS)
    assert all(r["heap_bytes_per_frame"] == 0 for r in sizes), sizes
    # 64 targets cost more than 1 (the per-target loop is real work), and the fit is close to linear
    assert sizes[-1]["p50_us"] > sizes[0]["p50_us"]
    assert rows[-1]["fit"]["per_target_us"] > 0


def test_the_table_names_every_figure_with_its_floor():
    result = {"board": "sim", "port": "sim", "firmware": "0", "machine": "m", "date": "d",
              "processing": [{"targets": 1, "p50_us": 80.0, "p99_us": 90.0, "linear_fit_us": 80.0,
                              "heap_bytes_per_frame": 0.0, "heap_peak": 1000},
                             {"fit": {"per_target_us": 6.0, "fixed_us": 74.0, "max_deviation_pct": 3.0}}],
              "latency": [{"case": "c", "alert": {"p50": 900.0, "p99": 1000.0, "n": 5},
                           "floor": {"p50": 150.0, "p99": 200.0, "frame_bytes": 40}, "ratio": {"p50": 6.0, "p99": 5.0},
                           "split_p50_us": {"uplink": 200.0, "device": 130.0, "downlink": 500.0}}],
              "floods": [{"rate_hz": 20, "sent": 10, "dropped": 0, "accounted": True,
                          "frame_to_status": {"p50": 1000.0, "p99": 2000.0}}],
              "heap_peak_bytes": 140000, "heap_after_boot_bytes": 139000, "firmware_heap_bytes": 100000, "pico_heap_budget_bytes": bench.PICO_HEAP_BUDGET}
    text = bench.table(result)
    assert "900 / 1000 us" in text and "150 / 200 us (40 B)" in text and "6.0 / 5.0" in text
    assert "Highest rate with nothing dropped: 20 Hz" in text and "margin" in text

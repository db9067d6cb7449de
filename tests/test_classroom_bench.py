"""`takeover classroom --bench` without a browser: its table from given figures, the split of the
bytes shipped, its one-line errors; and the classroom server's caching and compression, which the
figures depend on. Nothing here is timed: the benchmark command measures, tests check behaviour."""

import gzip
import http.client
import os
import sys

import pytest

from takeover import classroom
from takeover.classroom import bench
from takeover.cli import EXIT_ERROR, main

FRAMES_OK = {"sent": 352, "processed": 352, "dropped": 0, "rejected": 0}


def _sample(first_s=2.0, reload_s=0.8, lockstep_s=0.3, realtime_s=10.4, frames=FRAMES_OK, warnings=()):
    return {"first_s": first_s, "reload_s": reload_s, "first_run_s": 0.9, "lockstep_s": lockstep_s,
            "realtime_s": realtime_s,
            "frames": dict(frames), "warnings": list(warnings), "ready_ms": 1800.0, "reload_bytes": 0,
            "bytes": {"Pyodide core": 7_000_000, "MicroPython VM": 220_000, "our code": 450_000}}


def _row(lines, label):
    return next(line for line in lines if line.startswith(label))


def test_each_figure_is_its_median_and_worst_beside_its_target():
    samples = [_sample(first_s=s) for s in (2.0, 2.5, 2.2)]
    lines = bench.table(samples, 10.0, {"browser": "150", "load": "0.5 before, 0.9 after", "cpus": 2})
    first = _row(lines, "first load")
    assert "2.20 s" in first and "2.50 s" in first and "< 3 s" in first and first.endswith("met")
    reload = _row(lines, "reload")
    assert "0.80 s" in reload and "met" not in reload and "MISSED" not in reload  # shown, not judged
    assert "0.90 s" in _row(lines, "first run after it") and _row(lines, "Run again").endswith("met")
    real = _row(lines, "real time")
    assert "1.04x" in real and "1.0x" in real and real.endswith("met")
    assert "352 sent, 352 processed, 0 dropped, 0 rejected" in _row(lines, "frames")
    assert "load average 0.5 before, 0.9 after, on 2 CPUs" in lines[0]
    assert "0.0 kB" in _row(lines, "bytes fetched again")
    shipped = _row(lines, "bytes shipped")
    assert "Pyodide core 7.00 MB" in shipped and "MicroPython VM 0.22 MB" in shipped and "total 7.67 MB" in shipped


def test_a_figure_over_its_target_a_lost_frame_or_a_stalled_host_says_missed():
    lost = {"sent": 352, "processed": 350, "dropped": 2, "rejected": 0}
    samples = [_sample(), _sample(first_s=3.4, frames=lost, warnings=["the host wrote no radar frame for 180 ms"])]
    lines = bench.table(samples, 10.0, {})
    assert _row(lines, "first load").endswith("MISSED")
    assert _row(lines, "real time").endswith("MISSED")
    frames = _row(lines, "frames")
    assert "(the worst)" in frames and "2 dropped" in frames and frames.endswith("MISSED")
    assert "warnings in 1 of 2 real-time runs" in _row(lines, "warnings")


def test_the_bytes_shipped_are_split_by_where_the_file_comes_from():
    responses = [("/vendor/pyodide/pyodide.asm.wasm", 200, 3_500_000), ("/vendor/pyodide/python_stdlib.zip", 304, 0),
                 ("/vendor/micropython/micropython.wasm", 200, 190_000), ("/host.json", 200, 380_000),
                 ("/index.html?x=1", 200, 1_500)]
    assert bench.shipped(responses) == {"Pyodide core": 3_500_000, "MicroPython VM": 190_000, "our code": 381_500}
    assert bench.part_of("http://127.0.0.1:8020/vendor/micropython/micropython.mjs") == "MicroPython VM"


def test_frames_are_ok_only_when_every_one_sent_was_processed():
    assert bench.frames_ok(FRAMES_OK)
    assert not bench.frames_ok({**FRAMES_OK, "processed": 351, "rejected": 1})
    assert not bench.frames_ok({"sent": 0, "processed": 0, "dropped": 0, "rejected": 0})
    assert not bench.frames_ok({})


def test_without_chromium_the_bench_says_how_to_install_it(monkeypatch, capsys):
    monkeypatch.setattr(bench.shutil, "which", lambda name: None)
    assert main(["classroom", "--bench"]) == EXIT_ERROR
    assert "needs chromium: sudo apt-get install chromium" in capsys.readouterr().err


def test_without_playwright_the_bench_says_how_to_install_it(monkeypatch, capsys):
    monkeypatch.setattr(bench.shutil, "which", lambda name: "/usr/bin/chromium")
    monkeypatch.setitem(sys.modules, "playwright.sync_api", None)  # import fails as if not installed
    assert main(["classroom", "--bench"]) == EXIT_ERROR
    assert "needs playwright: pip install -e '.[test]'" in capsys.readouterr().err


def test_a_repeat_below_one_is_a_usage_error(capsys):
    assert main(["classroom", "--bench", "--repeat", "0"]) == EXIT_ERROR
    assert "--repeat must be 1 or more" in capsys.readouterr().err


@pytest.fixture
def site(tmp_path):
    (tmp_path / "app.mjs").write_text("export const x = 1;\n" * 200)
    (tmp_path / "app.mjs.gz").write_bytes(gzip.compress((tmp_path / "app.mjs").read_bytes()))
    (tmp_path / "data.zip").write_bytes(b"PK" + bytes(2000))
    server = classroom.serve(tmp_path)
    yield tmp_path, server.server_address[1]
    server.shutdown()
    server.server_close()


def _get(port, path, **headers):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.request("GET", path, headers=headers)
        response = conn.getresponse()
        return response.status, dict(response.getheaders()), response.read()
    finally:
        conn.close()


def test_the_server_sends_the_gzip_copy_to_a_browser_that_takes_it_and_isolates_the_page(site):
    folder, port = site
    status, headers, body = _get(port, "/app.mjs", **{"Accept-Encoding": "gzip, deflate, br"})
    assert status == 200 and headers["Content-Encoding"] == "gzip" and headers["Vary"] == "Accept-Encoding"
    assert gzip.decompress(body) == (folder / "app.mjs").read_bytes()
    assert headers["Content-Type"] == "text/javascript"
    assert headers["Cross-Origin-Opener-Policy"] == "same-origin"
    assert headers["Cross-Origin-Embedder-Policy"] == "require-corp"
    status, headers, body = _get(port, "/app.mjs")
    assert status == 200 and "Content-Encoding" not in headers and body == (folder / "app.mjs").read_bytes()
    status, headers, body = _get(port, "/data.zip", **{"Accept-Encoding": "gzip"})
    assert status == 200 and "Content-Encoding" not in headers and len(body) == 2002
    assert _get(port, "/missing.mjs")[0] == 404


def test_a_cached_copy_is_revalidated_by_etag_or_by_time_and_costs_no_body(site):
    folder, port = site
    _, headers, _ = _get(port, "/app.mjs", **{"Accept-Encoding": "gzip"})
    assert headers["Cache-Control"] == "no-cache"  # kept, and asked about each time
    status, _, body = _get(port, "/app.mjs", **{"Accept-Encoding": "gzip", "If-None-Match": headers["ETag"]})
    assert status == 304 and body == b""
    since = {"Accept-Encoding": "gzip", "If-Modified-Since": headers["Last-Modified"]}
    status, _, body = _get(port, "/app.mjs", **since)
    assert status == 304 and body == b""
    # Changed since: sent again.
    os.utime(folder / "app.mjs.gz", (1, 1_000_000_000 * 2))
    assert _get(port, "/app.mjs", **{"Accept-Encoding": "gzip", "If-None-Match": headers["ETag"]})[0] == 200

"""`takeover classroom --bench`: how fast the classroom page loads and runs, against its targets.

    takeover classroom --bench              # 5 repetitions
    takeover classroom --bench --repeat 10

It builds the page into a temporary folder, serves it on localhost with `takeover classroom`'s own
server and drives the OS's Chromium, headless, through Playwright. Each repetition starts a browser
with a new, empty profile and measures, each figure next to the target it is judged against:

- first load (cold cache): navigation to window.__state.ready (both VMs up, the bench's Python
  imported, the scenarios listed); target FIRST_LOAD_S;
- reload (warm cache): the same page reloaded, its files in that profile's HTTP cache and the
  compiled code in V8's code cache, as a student's second visit; no target (shown for the record);
- run again: SCENARIO in lockstep on the reloaded page, from window.runScenario to the result in
  window.__state.runs, the second time; target RERUN_S. The first run after the load is shown too,
  without a target: it is slower, the browser's optimising WebAssembly compiler not having caught
  up with Python's interpreter yet;
- real time: SCENARIO paced in real time, its wall time against the scenario's simulated duration
  (1.0x is real time; the run's start-up handshake, link pings and final status come on top), and
  the frames it reports: every frame sent processed, none dropped or rejected;
- bytes shipped on the first load, as received (compressed where the server compressed), split
  into Pyodide's core, the MicroPython VM and this repo's code (the page, the workers, the
  firmware's and the bench's Python). A figure for localhost: how long a school network takes has
  not been measured.

Times are taken in the page (performance.now(), polled every POLL_MS), from the navigation's start
or from the call that starts the run. Other load on the machine slows every figure: the table
says how loaded it was (the load average over the last minute, against the CPU count).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import statistics
import sys
import tempfile
from pathlib import Path
from typing import Callable

from takeover import scenario as scenarios
from takeover.errors import SetupError, TakeoverError

FIRST_LOAD_S = 3.0  # target: a first visit, cold cache, page ready
RERUN_S = 1.0  # target: a second run on the loaded page (Run pressed again, as after moving a slider)
SCENARIO = "su7-construction-zone"
POLL_MS = 10  # how often the page is asked whether it is there yet: the times' resolution
TIMEOUT_MS = 120_000  # per step; the page says why when it fails (window.__state.error)
CHROMIUM_ARGS = ["--no-sandbox", "--disable-crash-reporter", "--disable-breakpad"]  # no crashpad left behind
PARTS = (("Pyodide core", "/vendor/pyodide/"), ("MicroPython VM", "/vendor/micropython/"))
OURS = "our code"


def chromium() -> str:
    path = shutil.which("chromium") or shutil.which("chromium-browser")
    if path is None:
        raise SetupError("needs chromium: sudo apt-get install chromium")
    return path


def part_of(url: str) -> str:
    """Which of the three parts a requested file belongs to."""
    path = "/" + url.split("://", 1)[-1].split("/", 1)[-1]
    return next((name for name, prefix in PARTS if path.startswith(prefix)), OURS)


# ------------------------------------------------------------------------------------ the browser

_READY = "() => window.__state && (window.__state.ready || window.__state.error) && performance.now()"


def _wait(tab, expression: str) -> float:
    """Wait for a JS expression to be truthy (a time in ms) or for the page to report an error."""
    value = tab.wait_for_function(expression, polling=POLL_MS, timeout=TIMEOUT_MS).json_value()
    error = tab.evaluate("window.__state && window.__state.error")
    if error:
        raise TakeoverError(f"the classroom page failed: {error}")
    return value / 1000


def shipped(responses: list[tuple[str, int, int]]) -> dict[str, int]:
    """Body bytes sent per part, from the server's (path, status, bytes) of each file it answered:
    compressed where it sent the gzip copy, nothing for a 304."""
    parts = {name: 0 for name, _ in PARTS} | {OURS: 0}
    for path, _status, size in responses:
        parts[part_of(path)] += size
    return parts


def _run_in_page(tab, name: str, lockstep: bool) -> tuple[float, dict]:
    before = tab.evaluate("window.__state.runs.length")
    tab.evaluate("([name, lockstep]) => { window.__bench_t0 = performance.now(); window.runScenario(name, lockstep); }",
                 [name, lockstep])
    wall_s = _wait(tab, f"() => (window.__state.runs.length > {before} || window.__state.error) && "
                        "performance.now() - window.__bench_t0")
    return wall_s, tab.evaluate("window.__state.runs[window.__state.runs.length - 1]")


def repetition(pw, browser_path: str, url: str, profile: Path, step: Callable[[str], None],
               responses: list[tuple[str, int, int]]) -> dict:
    """One repetition in a browser of its own with an empty profile: a disk cache and IndexedDB
    as a student's browser has (a new in-memory context keeps no file over about 6 MB, so a reload
    would fetch more than a real browser would). `responses` is the server's record of what it sent
    (serve's on_response)."""
    context = pw.chromium.launch_persistent_context(str(profile), executable_path=browser_path, headless=True,
                                                    args=CHROMIUM_ARGS)
    try:
        tab = context.pages[0] if context.pages else context.new_page()
        responses.clear()
        tab.goto(url, wait_until="commit")
        sample = {"first_s": _wait(tab, _READY)}
        sample["bytes"] = shipped(list(responses))
        sample["ready_ms"] = tab.evaluate("window.__state.ready_ms")
        step(f"first load {sample['first_s']:.2f} s")
        responses.clear()
        tab.reload(wait_until="commit")
        sample["reload_s"] = _wait(tab, _READY)
        sample["reload_bytes"] = sum(shipped(list(responses)).values())
        step(f"reload {sample['reload_s']:.2f} s")
        # The first run on a freshly loaded page is slower: the browser's optimising WebAssembly
        # compiler has not caught up with Python's interpreter yet. Run pressed again is the rerun.
        sample["first_run_s"], _ = _run_in_page(tab, SCENARIO, lockstep=True)
        sample["lockstep_s"], _ = _run_in_page(tab, SCENARIO, lockstep=True)
        step(f"lockstep runs {sample['first_run_s']:.2f} s, then again {sample['lockstep_s']:.2f} s")
        sample["realtime_s"], run = _run_in_page(tab, SCENARIO, lockstep=False)
        sample["frames"], sample["warnings"] = run.get("frames") or {}, run.get("warnings") or []
        step(f"real-time run {sample['realtime_s']:.2f} s")
        return sample
    finally:
        # After Ctrl-C Playwright's driver may be gone already (it shares the terminal's signal)
        # and has closed the browser itself: nothing more to close then.
        with contextlib.suppress(Exception):
            context.close()


# ------------------------------------------------------------------------------------ the table

def _median_worst(values: list[float], worst=max) -> tuple[float, float]:
    return statistics.median(values), worst(values)


def frames_ok(frames: dict) -> bool:
    """Every frame sent was processed, none dropped or rejected."""
    return (frames.get("sent") or 0) > 0 and frames.get("processed") == frames.get("sent") \
        and frames.get("dropped") == 0 and frames.get("rejected") == 0


def table(samples: list[dict], simulated_s: float, meta: dict) -> list[str]:
    """The report: median and worst of each figure beside its target, then the frames, the
    warnings and the bytes shipped."""
    def verdict(ok: bool) -> str:
        return "met" if ok else "MISSED"

    rows = []
    for label, key, target in (("first load, cold cache", "first_s", FIRST_LOAD_S),
                               ("reload, warm cache", "reload_s", None),
                               (f"first run after it: {SCENARIO}, lockstep", "first_run_s", None),
                               ("Run again, the same", "lockstep_s", RERUN_S)):
        median, worst = _median_worst([s[key] for s in samples])
        rows.append((label, f"{median:.2f} s", f"{worst:.2f} s", *((f"< {target:g} s", verdict(worst < target))
                                                                     if target else ("-", ""))))
    # Real time: the wall time over the simulated time; the run's handshake, link pings and final
    # status add to it. A host that cannot keep the pace says so (the runner's host-stall warning)
    # and the board drops frames.
    ratio, ratio_worst = _median_worst([s["realtime_s"] / simulated_s for s in samples])
    lost = [s for s in samples if not frames_ok(s["frames"])]
    warned = [s for s in samples if s["warnings"]]
    rows.append((f"real time: {SCENARIO}, wall / {simulated_s:g} s", f"{ratio:.2f}x", f"{ratio_worst:.2f}x",
                 "1.0x, no stall", verdict(not lost and not warned)))
    widths = [max(len(r[i]) for r in rows + [("", "median", "worst", "target", "")]) for i in range(5)]

    def line(cells) -> str:
        return "  ".join(c.ljust(w) if i in (0, 4) else c.rjust(w)
                         for i, (c, w) in enumerate(zip(cells, widths))).rstrip()

    out = [f"classroom page on localhost, headless Chromium {meta.get('browser', '?')}, {len(samples)} "
           f"repetition(s); load average {meta.get('load', '?')}, on {meta.get('cpus', '?')} CPUs",
           line(("", "median", "worst", "target", "")), *map(line, rows)]
    f = (lost or samples)[-1]["frames"]
    out.append(f"frames in the real-time run{' (the worst)' if lost else 's (every one)'}: {f.get('sent')} sent, "
               f"{f.get('processed')} processed, {f.get('dropped')} dropped, {f.get('rejected')} rejected; "
               f"target none lost: {verdict(not lost)}")
    if warned:
        out.append(f"warnings in {len(warned)} of {len(samples)} real-time runs, e.g.: {warned[-1]['warnings'][0]}")
    shipped = samples[0]["bytes"]  # the same files every first load
    out.append("bytes shipped on a first load: " + ", ".join(f"{name} {n / 1e6:.2f} MB" for name, n in shipped.items())
               + f"; total {sum(shipped.values()) / 1e6:.2f} MB")
    out.append(f"bytes fetched again on a reload (the most): {max(s['reload_bytes'] for s in samples) / 1e3:.1f} kB")
    ready = [s["ready_ms"] / 1000 for s in samples if s.get("ready_ms") is not None]
    if ready:
        out.append(f"the host worker's own figure, its start to ready on a first load: median "
                   f"{statistics.median(ready):.2f} s")
    return out


# ------------------------------------------------------------------------------------ the command

def main(repeat: int = 5, out: Callable[[str], None] = print,
         progress: Callable[[str], None] = lambda s: print(s, file=sys.stderr, flush=True)) -> int:
    """Build, serve, measure `repeat` times and print the table; everything started is stopped and
    the temporary folder removed on the way out, Ctrl-C included."""
    from takeover import classroom

    browser_path = chromium()
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        raise SetupError("needs playwright: pip install -e '.[test]'") from None
    simulated_s = scenarios.load(SCENARIO).duration_s
    version, load_before = _browser_version(browser_path), _load()
    samples = []
    with tempfile.TemporaryDirectory(prefix="takeover-classroom-bench-") as folder:
        site = Path(folder) / "site"
        classroom.build(site)
        responses: list[tuple[str, int, int]] = []
        server = classroom.serve(site, on_response=lambda *response: responses.append(response))
        try:
            url = f"http://127.0.0.1:{server.server_address[1]}/index.html"
            with _ctrl_c() as interrupted:
                try:
                    with sync_playwright() as pw:
                        for k in range(repeat):
                            samples.append(repetition(pw, browser_path, url, Path(folder) / f"profile-{k}",
                                                      lambda text, k=k: progress(f"[{k + 1}/{repeat}] {text}"),
                                                      responses))
                except Exception:
                    if interrupted:  # the browser went first: the terminal's Ctrl-C reached it too
                        raise KeyboardInterrupt from None
                    raise
        finally:
            server.shutdown()
            server.server_close()
    meta = {"browser": version, "load": f"{load_before} before, {_load()} after", "cpus": os.cpu_count()}
    for text in table(samples, simulated_s, meta):
        out(text)
    return 0


@contextlib.contextmanager
def _ctrl_c():
    """Ctrl-C as usual (KeyboardInterrupt), remembered: the terminal sends it to Chromium and
    Playwright's driver as well, and the one that dies first may surface as a closed-browser error
    instead. Asyncio's note about the driver's lost connection is not shown then either."""
    import logging
    import signal
    import threading

    interrupted: list[int] = []
    if threading.current_thread() is not threading.main_thread() or signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
        yield interrupted  # a background job ignores Ctrl-C: so does the bench
        return

    def on_sigint(signum, _frame):
        interrupted.append(signum)
        logging.getLogger("asyncio").setLevel(logging.CRITICAL)
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGINT, on_sigint)
    try:
        yield interrupted
    finally:
        signal.signal(signal.SIGINT, previous)


def _load() -> str:
    """The machine's load average over the last minute."""
    return f"{os.getloadavg()[0]:.1f}" if hasattr(os, "getloadavg") else "?"


def _browser_version(path: str) -> str:
    import subprocess

    try:
        words = subprocess.run([path, "--version"], capture_output=True, text=True, timeout=20).stdout.split()
    except (OSError, subprocess.SubprocessError):
        return "?"
    return next((w.split(".")[0] for w in words if w[:1].isdigit()), "?")

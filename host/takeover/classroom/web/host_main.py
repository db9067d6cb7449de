# Runs on Pyodide in the page's host worker (host-worker.mjs): the bench's own Python, unchanged,
# with the page's byte rings as the serial link. The page calls run_json() per run; while a run
# goes, pagelink.post() carries what the live view draws.
import json
import sys
import time

sys.path[:0] = ["/app"]

import pagelink  # noqa: E402  (the worker's JavaScript module)

time.sleep = lambda seconds: pagelink.sleep(seconds * 1000)  # Pyodide's own sleep spins

from takeover import demo, scenario  # noqa: E402
from takeover.device import Device  # noqa: E402
from takeover.runner import Pace, run_scenario  # noqa: E402

LIVE_EVERY_S = 0.04  # the live view is posted at most this often (a lockstep run makes frames far faster)


class PageLink:
    """The rings to and from the board, with the part of pyserial's interface Device uses."""

    # A read waits at most this long for a first byte (bytes arriving wake it at once). Device,
    # without a reader thread, waits in reads of this length until its deadline: a longer one
    # would send a real-time run's frames late by up to that much.
    timeout = 0.005
    is_open = True

    @property
    def in_waiting(self):
        return pagelink.pending()

    def read(self, count=1):
        return bytes(pagelink.read(count, self.timeout * 1000).to_py())

    def write(self, data):
        data = bytes(data)
        while data:  # the ring takes what fits; the board's side empties it as it reads
            taken = pagelink.write(data)
            data = data[taken:]
            if data:
                pagelink.sleep(1)
        return None

    def close(self):
        self.is_open = False


class Poster:
    """Posts the live view of the runs to the page, at most every LIVE_EVERY_S."""

    def __init__(self, detect_range_m):
        self.last = 0.0
        self.detect_range_m = detect_range_m

    def __call__(self, lives, force=False):
        now = time.perf_counter()
        if not force and now - self.last < LIVE_EVERY_S:
            return
        self.last = now
        pagelink.post(json.dumps({"live": [{
            "key": live.key, "title": live.title, "state": live.state, "t_s": live.t_s, "gap_m": live.gap_m,
            "ttc_s": live.ttc_s, "kph": live.kph, "driver": live.driver, "phase": live.phase, "level": live.level,
            "cause": live.cause, "warning": live.warning, "outcome": live.outcome,
            "x_m": live.trail[-1][0] if live.trail else 0.0, "detect_range_m": self.detect_range_m,
        } for live in lives]}))


def _run(key, title, run, warning=None, level_at=None):
    """One run for the page. level_at(t_s): the level the driver got, where it is not the board's
    (the baseline's driver is cued by the host)."""
    return {
        "key": key, "title": title, "name": run.scenario.name, "passed": run.passed, "failures": run.failures,
        "max_level": run.max_level, "outcome": run.outcome, "outcome_text": run.outcome_text(),
        "outcome_words": run.outcome_words(), "board": run.board, "firmware": run.firmware, "port": run.port,
        "pace": run.pace, "frames": run.frames, "warnings": run.warnings, "radar_gap_ms": run.radar_gap_ms, "warning": warning, "latency_lines": run.latency_lines(),
        "alerts": [[a["t_s"], a["level"], a["cause"]] for a in run.alerts],
        # Each radar frame's ground truth and the level the board reported for it, for the plot.
        "trace": [[r["t_s"], r["gap_m"], r["ego_kph"], level_at(r["t_s"]) if level_at else r["level"], r["ttc_s"]]
                  for r in run.trace],
    }


def run_json(request):
    """One run as the page asks for it, its result as JSON. The request: scenario; lockstep;
    port, which names the board at the other end of the rings ("page": the VM in the page's board
    worker; "webserial": a Pico the page pumps bytes to); settings, the slider values that differ
    from the file's; compare, to run the SU7-as-reported baseline first. With neither, the
    scenario runs as its file says and is judged (`takeover run NAME`); with either, it runs as
    `takeover demo --scenario NAME ...` does, and only the outcome counts."""
    request = json.loads(request)
    name = request["scenario"]
    lockstep = bool(request.get("lockstep"))
    pace = Pace(lockstep=True) if lockstep else Pace()
    settings = request.get("settings") or {}
    with Device(request.get("port", "page"), link=PageLink(), threaded=False) as dev:
        dev.start_session()
        if not settings and not request.get("compare"):
            scn = scenario.load(name)
            live = demo.Live("firmware", demo.FIRMWARE_TITLE, state="running")
            post = Poster(scn.targets[0].detect_range_m if scn.targets else None)
            plant, partial = demo.RecordingPlant(scn), []

            def progress(k, n):
                if partial and partial[0].trace:
                    demo._update(live, partial[0], plant)
                    post([live])

            # In real time the latency is measured as `takeover run` does; lockstep wants outcomes.
            run = run_scenario(dev, scn, pace, progress=progress, measure_link=not lockstep, partial=partial,
                               plant=plant)
            live.state, live.outcome = "done", run.outcome_words()
            post([live], force=True)
            return json.dumps({"mode": "run", "command": f"takeover run {name}" + (" --lockstep" if lockstep else ""),
                               "runs": [_run("firmware", demo.FIRMWARE_TITLE, run)]})
        values = {k: settings.get(k) for k in ("speed_kph", "detect_range_m", "reaction_s", "distraction_s", "aeb")}
        scn = demo.demo_scenario(**values, name=name)
        post = Poster(scn.targets[0].detect_range_m)
        results = demo.run_demo(dev, scn, pace, show=post, baseline=bool(request.get("compare")))
    lives = []
    for r in results:
        live = demo.Live(r.key, r.title, state="done", outcome=r.run.outcome_words())
        demo._update(live, r.run, r.plant)
        lives.append(live)
    post(lives, force=True)
    return json.dumps({"mode": "demo", "command": _demo_command(name, settings, lockstep),
                       "summary": demo.summary_lines(scn, results, demo.physics(scn)),
                       "runs": [_run(r.key, r.title, r.run, r.warning, r.level_at if r.key == "baseline" else None)
                                for r in results]})


def _demo_command(name, settings, lockstep):
    """The command line that runs the same thing (its baseline always runs too)."""
    words = ["takeover demo", f"--scenario {name}"]
    for key in ("speed_kph", "detect_range_m", "reaction_s", "distraction_s"):
        if settings.get(key) is not None:
            words.append(f"--{key.replace('_', '-')} {settings[key]:g}")
    if settings.get("aeb") is False:
        words.append("--no-aeb")
    if lockstep:
        words.append("--no-live")
    return " ".join(words)

# Runs on Pyodide in the page's host worker (host-worker.mjs): the bench's own Python, unchanged,
# with the page's byte rings as the serial link.
import json
import sys
import time

sys.path[:0] = ["/app"]

import pagelink  # noqa: E402  (the worker's JavaScript module)

time.sleep = lambda seconds: pagelink.sleep(seconds * 1000)  # Pyodide's own sleep spins

from takeover import scenario  # noqa: E402
from takeover.device import Device  # noqa: E402
from takeover.runner import Pace, run_scenario  # noqa: E402


class PageLink:
    """The rings to and from the board worker, with the part of pyserial's interface Device uses."""

    timeout = 0.05
    is_open = True

    @property
    def in_waiting(self):
        return pagelink.pending()

    def read(self, count=1):
        return bytes(pagelink.read(count, self.timeout * 1000).to_py())

    def write(self, data):
        data = bytes(data)
        while data:  # the ring takes what fits; the board worker empties it as it reads
            taken = pagelink.write(data)
            data = data[taken:]
            if data:
                pagelink.sleep(1)
        return None

    def close(self):
        self.is_open = False


def scenario_names():
    return json.dumps(scenario.builtin_names())


def run_json(request):
    """One run, as the page asks for it (JSON: scenario, lockstep, port), its result as JSON."""
    request = json.loads(request)
    name = request["scenario"]
    pace = Pace(lockstep=True) if request.get("lockstep") else Pace()
    # The port names the board at the other end of the rings: "page" (the VM in the page's board
    # worker) or "webserial" (a Pico the page pumps bytes to).
    with Device(request.get("port", "page"), link=PageLink(), threaded=False) as dev:
        dev.start_session()
        run = run_scenario(dev, scenario.load(name), pace, measure_link=False)
    return json.dumps({
        "name": name, "passed": run.passed, "failures": run.failures, "max_level": run.max_level,
        "outcome": run.outcome, "outcome_text": run.outcome_text(), "outcome_words": run.outcome_words(),
        "board": run.board,
        "firmware": run.firmware, "frames": run.frames,
        "alerts": [[a["t_s"], a["level"], a["cause"]] for a in run.alerts],
        # Each radar frame's ground truth and the level the board reported for it, for the plot.
        "trace": [[r["t_s"], r["gap_m"], r["ego_kph"], r["level"]] for r in run.trace],
    })

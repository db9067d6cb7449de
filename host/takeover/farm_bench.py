"""`takeover farm bench`: what a labgrid place costs, against the local pty, in one run.

1. Latency: the same scenario in lockstep, ROUNDS times on a simulated board of this command's own
   (its pty, the floor) and ROUNDS times on a farm place (ser2net and RFC 2217 on loopback, the place
   acquired through the coordinator), interleaved so both see the same machine. Alert latency
   (frame sent -> ALERT read) and frame -> STATUS latency, p50 and p99 over every sample, and the
   ratio place / pty.
2. Throughput: scenarios per minute, lockstep, on one place alone, then on two places at once
   (one thread each), acquisition included, as a pytest worker or a CI job would see them.
"""

from __future__ import annotations

import os
import threading
import time

from takeover import farm, timing
from takeover import scenario as scenarios
from takeover.device import Device
from takeover.errors import LinkError, UsageError
from takeover.runner import Pace, run_scenario


def _one(port: str, scenario: str) -> tuple[list[float], list[float], bool]:
    with Device(port) as dev:
        dev.start_session()
        run = run_scenario(dev, scenarios.load(scenario), Pace(lockstep=True), measure_link=False)
    alerts = [a["latency_us"] for a in run.alerts if a.get("latency_us") is not None]
    return alerts, list(run.frame_latency_samples_us), run.passed


def _pcts(samples: list[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    return timing.percentile(ordered, 50), timing.percentile(ordered, 99)


def main(folder, scenario: str, rounds: int, log=print) -> int:
    state = farm.read_state(folder)
    if not state:
        raise UsageError(f"no farm is up in {folder}: `takeover farm up` first")
    places = [p["name"] for p in state["places"]]
    if len(places) < 2:
        raise UsageError("farm bench needs two places: `takeover farm up --boards sim,sim`")
    os.environ["LG_COORDINATOR"] = state["coordinator"]
    scenarios.load(scenario)  # an unknown name is its own one-line error, before anything runs
    log(f"farm bench: {scenario}, lockstep, {rounds} rounds; local pty against labgrid:{places[0]} "
        f"(serial: {state.get('serial', 'ser2net')}), coordinator {state['coordinator']}")

    samples = {"pty": ([], []), "place": ([], [])}
    for k in range(rounds):
        for name, port in (("pty", "sim"), ("place", f"labgrid:{places[0]}")):
            alerts, frames, passed = _one(port, scenario)
            if not passed:
                log(f"  round {k + 1} on {port}: the scenario FAILED (its figures are kept)")
            samples[name][0].extend(alerts)
            samples[name][1].extend(frames)
        log(f"  round {k + 1}/{rounds}")
    log("")
    log("| link | alert latency p50 / p99 | frame -> STATUS p50 / p99 | n (alerts, frames) |")
    log("|---|---|---|---|")
    figures = {}
    for name, label in (("pty", "local pty (sim)"), ("place", f"labgrid place, {state.get('serial', 'ser2net')}")):
        alerts, frames = samples[name]
        a50, a99 = _pcts(alerts)
        f50, f99 = _pcts(frames)
        figures[name] = (a50, a99, f50, f99)
        log(f"| {label} | {a50 / 1000:.2f} / {a99 / 1000:.2f} ms | {f50 / 1000:.2f} / {f99 / 1000:.2f} ms | "
            f"{len(alerts)}, {len(frames)} |")
    pty, place = figures["pty"], figures["place"]
    log(f"| ratio place / pty | {place[0] / pty[0]:.1f}x / {place[1] / pty[1]:.1f}x | "
        f"{place[2] / pty[2]:.1f}x / {place[3] / pty[3]:.1f}x | |")

    log("")
    one = _throughput([places[0]], scenario, rounds)
    two = _throughput(places[:2], scenario, rounds)
    log("| places | scenarios | wall | scenarios per minute |")
    log("|---|---|---|---|")
    for label, (count, wall) in (("one", one), ("two at once", two)):
        log(f"| {label} | {count} | {wall:.1f} s | {60 * count / wall:.0f} |")
    return 0


def _throughput(places: list[str], scenario: str, per_place: int) -> tuple[int, float]:
    done = []
    errors = []

    def work(place: str) -> None:
        try:
            for _ in range(per_place):
                _one(f"labgrid:{place}", scenario)
                done.append(place)
        except Exception as exc:  # noqa: BLE001  (said below, with the place)
            errors.append(f"{place}: {exc}")

    start = time.monotonic()
    threads = [threading.Thread(target=work, args=(p,)) for p in places]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise LinkError("farm bench: " + "; ".join(errors))
    return len(done), time.monotonic() - start

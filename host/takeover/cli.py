"""`takeover`: run scenarios against a board (simulated by default), list them, start a sim board.

Every error a user can cause ends in one line on stderr and exit status 2; a failed expectation
ends in exit status 1.
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
import time
from pathlib import Path

from takeover import __version__
from takeover import scenario as scenarios
from takeover.device import Device
from takeover.errors import TakeoverError, UsageError
from takeover.runner import Pace, Run, run_scenario

EXIT_FAILED = 1
EXIT_ERROR = 2


class _Parser(argparse.ArgumentParser):
    def error(self, message):  # one line, not the usage block
        raise UsageError(f"{message} (see `{self.prog} --help`)")


def _parser() -> argparse.ArgumentParser:
    p = _Parser(prog="takeover", description=__doc__.splitlines()[0])
    p.add_argument("--version", action="version", version=f"takeover {__version__}")
    sub = p.add_subparsers(dest="command", required=True, parser_class=_Parser)

    run = sub.add_parser("run", help="stream scenarios to a board and judge its alerts")
    run.add_argument("scenario", nargs="+", help="built-in scenario name or path of a .toml file")
    run.add_argument("--port", default="sim",
                     help="'sim' (default: start a simulated board), a device such as /dev/ttyACM0, "
                          "or any pyserial URL (rfc2217://host:port)")
    run.add_argument("--board", default="sim", help="board definition for --port sim (boards/NAME.py)")
    pace = run.add_mutually_exclusive_group()
    pace.add_argument("--speed", type=float, default=1.0,
                      help="stream N times faster than real time (same alerts in scenario time)")
    pace.add_argument("--lockstep", action="store_true",
                      help="send each frame as soon as the board answered the previous one")
    run.add_argument("--json", metavar="FILE", help="write the report as JSON (docs/report.md)")
    run.add_argument("--quiet", "-q", action="store_true", help="print only the summary lines")

    sub.add_parser("scenarios", help="list the built-in scenarios")

    sim = sub.add_parser("sim", help="start a simulated board; prints its port, then its output events")
    sim.add_argument("--board", default="sim")
    return p


def main(argv: list[str] | None = None) -> int:
    try:
        args = _parser().parse_args(argv)
        if args.command == "run":
            return _cmd_run(args)
        if args.command == "scenarios":
            return _cmd_scenarios()
        if args.command == "sim":
            return _cmd_sim(args)
    except TakeoverError as exc:
        print(f"takeover: error: {exc}", file=sys.stderr)
        return EXIT_ERROR
    except KeyboardInterrupt:
        print("takeover: interrupted", file=sys.stderr)
        return 130
    return EXIT_ERROR


def _cmd_scenarios() -> int:
    names = scenarios.builtin_names()
    width = max(map(len, names))
    for name in names:
        print(f"{name:<{width}}  {scenarios.load(name).description}")
    return 0


def _cmd_sim(args) -> int:
    from takeover.simboard import SimBoard

    board = SimBoard(args.board)
    signal.signal(signal.SIGTERM, _interrupt)  # `kill` stops it as cleanly as Ctrl-C
    try:
        print(board.start(), flush=True)
        shown = 0
        while board.alive():
            events = board.events
            while shown < len(events):
                print(json.dumps(events[shown]), flush=True)
                shown += 1
            time.sleep(0.05)
        print(f"takeover: simulated board exited: {board.stderr_tail()}", file=sys.stderr)
        return EXIT_ERROR
    except KeyboardInterrupt:
        return 0
    finally:
        board.stop()


def _interrupt(*_):
    raise KeyboardInterrupt


def _cmd_run(args) -> int:
    if args.speed <= 0:
        raise UsageError(f"--speed must be positive, got {args.speed}")
    loaded = [scenarios.load(name) for name in args.scenario]  # all files checked before any run
    if args.json:
        _check_writable(Path(args.json))
    pace = Pace(speed=args.speed, lockstep=args.lockstep)
    runs: list[Run] = []
    with Device(args.port, board=args.board) as dev:
        for scn in loaded:
            if not args.quiet:
                print(f"== {scn.name}: {scn.description}")
            run = run_scenario(dev, scn, pace)
            runs.append(run)
            _print_run(run, args.quiet)
    if args.json:
        Path(args.json).write_text(json.dumps({"scenarios": [r.to_json() for r in runs]}, indent=2) + "\n")
    failed = [r.scenario.name for r in runs if not r.passed]
    if len(runs) > 1:
        print(f"{len(runs) - len(failed)} passed, {len(failed)} failed" + (f": {', '.join(failed)}" if failed else ""))
    return EXIT_FAILED if failed else 0


def _check_writable(path: Path) -> None:
    if not path.parent.exists():
        raise UsageError(f"--json {path}: folder {path.parent} does not exist")


def _fmt(value, unit: str, scale: float = 1.0, digits: int = 2) -> str:
    return "-" if value is None else f"{value * scale:.{digits}f}{unit}"


def _print_run(run: Run, quiet: bool) -> None:
    if not quiet:
        print(f"   board {run.board} on {run.port}, firmware {run.firmware}, {run.pace}")
        print(f"   {'t_s':>6}  {'level':<10}{'cause':<11}{'TTC dev':>8}{'TTC true':>9}{'gap':>8}{'latency':>11}")
        for a in run.alerts:
            print(f"   {_fmt(a['t_s'], '', digits=2):>6}  {a['level']:<10}{a['cause']:<11}"
                  f"{_fmt(a['device_ttc_s'], ' s'):>8}{_fmt(a['ttc_s'], ' s'):>9}"
                  f"{_fmt(a['gap_m'], ' m', digits=1):>8}{_fmt(a['latency_us'], ' us', digits=0):>11}")
        if not run.alerts:
            print("   (no alerts)")
    o = run.outcome
    outcome = (f"collision at {o['impact_speed_kph']} km/h" if o.get("collision")
               else f"no collision, closest gap {_fmt(o.get('min_gap_m'), ' m', digits=1)}")
    f = run.frames
    lat, flat, floor = run.latency_us, run.frame_latency_us, run.floor_us
    if o.get("no_action_impact_kph"):
        outcome += f" (without any reaction: {o['no_action_impact_kph']} km/h)"
    if o.get("score_band"):
        outcome += f"; score band {o['score_band']}"
    print(f"   outcome: {outcome}; highest alert {run.max_level}")
    print(f"   frames: sent {f.get('sent')}, processed {f.get('processed')}, dropped {f.get('dropped')}, "
          f"rejected {f.get('rejected')}")
    print(f"   alert latency: p50 {_fmt(lat['p50'], ' us', digits=0)}, p99 {_fmt(lat['p99'], ' us', digits=0)}, "
          f"max {_fmt(lat['max'], ' us', digits=0)} (n={lat['n']}); frame->status p50 "
          f"{_fmt(flat['p50'], ' us', digits=0)}, p99 {_fmt(flat['p99'], ' us', digits=0)} (n={flat['n']})")
    print(f"   floor (ping->pong on the same link): p50 {_fmt(floor['p50'], ' us', digits=0)}, "
          f"p99 {_fmt(floor['p99'], ' us', digits=0)} (n={floor['n']})")
    for w in run.warnings:
        print(f"   warning: {w}")
    verdict = "PASS" if run.passed else "FAIL: " + "; ".join(run.failures)
    print(f"   {verdict}")


if __name__ == "__main__":
    sys.exit(main())

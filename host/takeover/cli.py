"""`takeover`: run scenarios against a board (simulated by default), list them, start a sim board.

Every error a user can cause ends in one line on stderr and exit status 2; a failed expectation
ends in exit status 1.
"""

from __future__ import annotations

import argparse
import json
import shlex
import signal
import sys
import threading
import time
from pathlib import Path

from takeover import __version__
from takeover import scenario as scenarios
from takeover.device import Device
from takeover.errors import LinkError, TakeoverError, UsageError
from takeover.faults import Faults, parse_stall
from takeover.progress import Progress
from takeover.runner import Pace, Run, run_scenario

BOARD_HELP = ("the board file (boards/NAME.py) of a board this command starts: sim for --port sim (the "
              "default; the VM has no pins, so no other board), pico for --port pico-emu (what it emulates). "
              "Not used for a real port: its firmware's HELLO says what it is")

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
                     help="'sim' (default: start a simulated board), 'pico-emu[:NAME]' (start an emulated "
                          "Pico, flashed first if needed), a device such as /dev/ttyACM0, or any pyserial URL "
                          "(rfc2217://host:port)")
    run.add_argument("--board", default="sim", help=BOARD_HELP)
    pace = run.add_mutually_exclusive_group()
    pace.add_argument("--speed", type=_speed, default=1.0,
                      help="stream N times faster than real time (same alerts in scenario time)")
    pace.add_argument("--lockstep", action="store_true",
                      help="send each frame as soon as the board answered the previous one")
    run.add_argument("--json", metavar="FILE", help="write the report as JSON (docs/report.md)")
    run.add_argument("--report", metavar="DIR",
                     help="write report.json, junit.xml and report.html (figures inside) into DIR, "
                          "created if missing (docs/report.md)")
    run.add_argument("--quiet", "-q", action="store_true", help="print only the summary lines")
    inject = run.add_argument_group("fault injection (docs/robustness.md)")
    inject.add_argument("--corrupt", type=float, default=0.0, metavar="PCT",
                        help="flip one bit in PCT %% of the frames sent")
    inject.add_argument("--drop", type=float, default=0.0, metavar="PCT", help="lose PCT %% of the frames")
    inject.add_argument("--stall", metavar="T:S", help="send nothing from scenario time T for S seconds")
    inject.add_argument("--flood", type=int, default=1, metavar="N", help="radar frames N times as often")
    inject.add_argument("--unplug-at", type=float, metavar="T", help="pull the cable at scenario time T")
    inject.add_argument("--fault-seed", type=int, default=1, metavar="K", help="which frames are hit (default 1)")

    sub.add_parser("scenarios", help="list the built-in scenarios")

    sweep = sub.add_parser("sweep", help="run one scenario over a grid of parameters; table and heat map",
                           description="Runs the scenario at every grid point (lockstep) and writes "
                                       "sweep.csv and sweep.png. Parameters: speed_kph, detect_range_m, "
                                       "reaction_s, brake_mps2, range_m, aeb_delay_s, aeb (0/1).")
    sweep.add_argument("scenario", help="built-in scenario name or path of a .toml file")
    sweep.add_argument("--param", action="append", required=True, metavar="NAME=VALUES",
                       help="a grid axis: NAME=a,b,c or NAME=start:stop:step (repeat: up to 3 axes, the "
                            "first the heat map's x axis; a single value fixes a parameter)")
    sweep.add_argument("--out", default="sweep", metavar="DIR", help="folder for sweep.csv and sweep.png "
                       "(default: ./sweep)")
    sweep.add_argument("--port", default="sim", help="as for `run`")
    sweep.add_argument("--board", default="sim", help="as for `run`")

    evidence = sub.add_parser("evidence", help="many seeded, randomized drives: false alarms, late warnings, brake "
                                               "releases, against targets (docs/evidence.md)",
                              description="Runs N benign and N critical randomized drives (lockstep, one board "
                                          "session) and writes evidence.json and summary.md. Exit status 0 when "
                                          "every target is met, 1 when any is missed.")
    evidence.add_argument("--benign", type=int, default=100, metavar="N", help="benign drives (default 100)")
    evidence.add_argument("--critical", type=int, default=50, metavar="N", help="critical drives (default 50)")
    evidence.add_argument("--seed", type=int, default=1, metavar="S",
                          help="drive i of each kind is drawn by random.Random(S + i) (default 1)")
    evidence.add_argument("--port", default="sim", help="as for `run`")
    evidence.add_argument("--board", default="sim", help="as for `run`")
    evidence.add_argument("--out", default="evidence", metavar="DIR",
                          help="folder for evidence.json and summary.md (default ./evidence)")
    evidence.add_argument("--save", metavar="DIR",
                          help="write the scenario file of every drive that misses a target into DIR "
                               "(replay one with `takeover run FILE`)")

    bench = sub.add_parser("bench", help="benchmark the firmware and the link against their floors (docs/performance.md)")
    bench.add_argument("--port", default="sim", help="as for `run`")
    bench.add_argument("--board", default="sim", help="as for `run`")
    bench.add_argument("--out", default="bench", metavar="DIR", help="folder for bench.json and bench.png (default ./bench)")
    bench.add_argument("--docs", action="store_true", help="also rewrite the table and plot in docs/performance.md")
    bench.add_argument("--no-pin", action="store_true",
                       help="leave the sim board and the host on any CPU (default: each on CPUs of its own, "
                            "like a board with its own chip; docs/performance.md)")

    config = sub.add_parser("config", help="show the board's settings, or change some (NAME=VALUE, physical units)")
    config.add_argument("changes", nargs="*", metavar="NAME=VALUE", help="e.g. ttc_warning_s=4.5")
    config.add_argument("--port", default="sim", help="as for `run`")
    config.add_argument("--board", default="sim", help="as for `run`")
    config.add_argument("--defaults", action="store_true",
                        help="set every setting back to its default (and forget what the board saved)")

    demo = sub.add_parser("demo", help="classroom demo: the SU7 crash with a 2 s warning, then with this "
                                       "firmware; live dashboard, PNG and GIF (docs/demo.md)")
    demo.add_argument("--port", default="sim", help="as for `run`; a real board's LED, buzzer and haptic "
                                                    "motor follow the firmware")
    demo.add_argument("--board", default="sim", help="as for `run`")
    demo.add_argument("--speed", type=_speed, default=None,
                      help="N times faster than real time (default: real time live, lockstep with --no-live)")
    demo.add_argument("--no-live", action="store_true", help="no dashboard: headless, lockstep unless --speed")
    demo.add_argument("--speed-kph", type=float, metavar="KPH", help="ego speed (default: the scenario's; 116 for the SU7)")
    demo.add_argument("--detect-range-m", type=float, metavar="M",
                      help="range at which the radar first sees the target (default: the scenario's; 150 for the SU7)")
    demo.add_argument("--reaction-s", type=float, metavar="S", help="driver's reaction time (default: the scenario's driver's; 1.15 for UN R157's)")
    demo.add_argument("--distraction-s", type=float, metavar="S",
                      help="the driver's eyes are off the road from the start for S seconds (default: the scenario's driver)")
    demo.add_argument("--scenario", default="su7-construction-zone", metavar="NAME",
                      help="a built-in scenario with something ahead, or a .toml file (default su7-construction-zone)")
    demo.add_argument("--no-aeb", action="store_true",
                      help="the car ignores the firmware's brake request: the warning alone must save it")
    demo.add_argument("--gif-fps", type=float, default=10.0, metavar="N", help="GIF frames per second (default 10)")
    demo.add_argument("--out", default="demo", metavar="DIR",
                      help="folder for demo-su7.png, demo-su7.gif (demo-NAME.* for another --scenario) "
                           "and demo.json (default ./demo)")

    sim = sub.add_parser("sim", help="start a simulated (or emulated) board; prints its port, then its output events")
    sim.add_argument("--port", default="sim", help="sim (the default), or pico-emu[:NAME] for an emulated Pico, "
                                                   "flashed with this checkout's firmware if it lacks it")
    sim.add_argument("--board", default="sim", help=BOARD_HELP)

    sub.add_parser("ports", help="list serial ports; mark Raspberry Pi boards and whether they run MicroPython")

    flash = sub.add_parser("flash", help="compile the firmware, copy what changed to a board, start it and "
                                         "check its HELLO (docs/boards.md)")
    flash.add_argument("--port", required=True,
                       help="the board's serial port (/dev/ttyACM0, COM3: see `takeover ports`), 'sim' "
                            "(a simulated board with an empty flash, started for the command) or "
                            "'pico-emu[:NAME]' (an emulated Pico, its flash image kept between commands)")
    flash.add_argument("--board", help="board file boards/NAME.py: pico, pico_w, pico2 (sim for --port sim, "
                                       "the default there)")
    flash.add_argument("--firmware", type=Path, default=None, metavar="DIR",
                       help="firmware folder to flash (default: this checkout's firmware/)")
    flash.add_argument("--link-port", metavar="PORT",
                       help="for a board whose LINK is a UART: the serial adapter on it, to check the HELLO")

    repl = sub.add_parser("repl", help="put a board into maintenance mode (its MicroPython REPL, for mpremote "
                                       "and the like), or start the firmware again with --exit")
    repl.add_argument("--port", required=True, help="the board's serial port (a `takeover sim` board's too)")
    repl.add_argument("--board", default="pico", help="board file boards/NAME.py (default pico; sim for a "
                                                      "`takeover sim` board)")
    repl.add_argument("--exit", action="store_true", help="leave maintenance mode: the firmware starts again")

    classroom = sub.add_parser("classroom", help="the bench in a web page: the firmware and the car run in the "
                                                 "browser (docs/classroom.md)")
    classroom.add_argument("--export", type=Path, metavar="DIR",
                           help="write the page's files to DIR for a web host (which must send the headers "
                                "in DIR/_headers) instead of serving it")
    classroom.add_argument("--http-port", type=int, default=8020, metavar="N",
                           help="serve on localhost:N (default 8020; 0 picks a free one)")
    classroom.add_argument("--no-open", action="store_true", help="do not open a browser, only print the address")
    classroom.add_argument("--bench", action="store_true",
                           help="measure the page in headless Chromium instead: first load, reload, a run again, "
                                "a real-time run and the bytes shipped, against their targets")
    classroom.add_argument("--repeat", type=int, default=5, metavar="N",
                           help="with --bench: repetitions, each in a new browser profile (default 5)")

    farm = sub.add_parser("farm", help="a local labgrid farm on loopback: a coordinator and an exporter per board "
                                       "(docs/farm.md)")
    farm.add_argument("action", choices=("up", "down", "status", "bench"),
                      help="up: start it and wait for its places; down: stop everything it started; status: "
                           "its places; bench: latency on a place against the local pty, and scenarios per "
                           "minute on one place and on two")
    farm.add_argument("--scenario", default="su7-construction-zone", help="for bench (default su7-construction-zone)")
    farm.add_argument("--rounds", type=int, default=10, metavar="N",
                      help="for bench: runs per link and per place (default 10)")
    farm.add_argument("--boards", default="sim,pico-emu", metavar="KIND,KIND",
                      help="one place per board, each with its own exporter: sim, pico-emu (default sim,pico-emu)")
    farm.add_argument("--serial", choices=("ser2net", "exporter"), default="ser2net",
                      help="ser2net (default): ser2net run per board with nodelay, exported as a "
                           "NetworkSerialPort; exporter: a RawSerialPort whose ser2net labgrid's exporter runs, "
                           "with ser2net's defaults (slower replies)")
    farm.add_argument("--dir", type=Path, default=None, metavar="DIR",
                      help="the farm's folder: its state, log and the labgrid files (default: the user cache "
                           "folder's takeover/farm)")
    return p


class Interrupted(KeyboardInterrupt):
    """SIGTERM or SIGHUP, raised like Ctrl-C so every board, folder and report is dealt with on the
    way out as for Ctrl-C (`timeout`, a cancelled CI job and a closed terminal send these)."""

    def __init__(self, signum: int):
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


def _on_signal(signum, _frame):
    raise Interrupted(signum)


def _catch_signals() -> None:
    """SIGTERM and SIGHUP end the command as Ctrl-C does (only from the main thread: a test that
    calls main() from another one keeps the default handlers)."""
    if threading.current_thread() is not threading.main_thread():
        return
    for name in ("SIGTERM", "SIGHUP"):
        if hasattr(signal, name):
            signal.signal(getattr(signal, name), _on_signal)


def main(argv: list[str] | None = None) -> int:
    _catch_signals()
    try:
        args = _parser().parse_args(argv)
        if args.command == "run":
            return _cmd_run(args)
        if args.command == "scenarios":
            return _cmd_scenarios()
        if args.command == "sweep":
            return _cmd_sweep(args)
        if args.command == "evidence":
            return _cmd_evidence(args)
        if args.command == "config":
            return _cmd_config(args)
        if args.command == "bench":
            from takeover import bench

            command = "takeover bench" + (f" --port {args.port}" if args.port != "sim" else "") + \
                (" --no-pin" if args.no_pin else "") + (" --docs" if args.docs else "")
            return bench.main(args.port, args.board, Path(args.out), args.docs, command, pin=not args.no_pin)
        if args.command == "sim":
            return _cmd_sim(args)
        if args.command == "demo":
            from takeover import demo

            return demo.main(args)
        if args.command == "ports":
            from takeover import flash

            return flash.ports()
        if args.command == "flash":
            return _cmd_flash(args)
        if args.command == "repl":
            return _cmd_repl(args)
        if args.command == "farm":
            return _cmd_farm(args)
        if args.command == "classroom":
            return _cmd_classroom(args)
    except TakeoverError as exc:
        print(f"takeover: error: {exc}", file=sys.stderr)
        return EXIT_ERROR
    except KeyboardInterrupt as exc:
        print(f"takeover: interrupted ({_signal_name(exc)})", file=sys.stderr)
        return 128 + (exc.signum if isinstance(exc, Interrupted) else signal.SIGINT)
    except BrokenPipeError:  # `takeover ... | head`: the reader has gone, nothing to report
        sys.stdout = None
        return 0
    return EXIT_ERROR


def _cmd_scenarios() -> int:
    names = scenarios.builtin_names()
    width = max(map(len, names))
    for name in names:
        print(f"{name:<{width}}  {scenarios.load(name).description}")
    return 0


def _cmd_sim(args) -> int:
    from takeover import ports

    if ports.kind(args.port) is None:
        raise UsageError(f"--port {args.port}: `takeover sim` starts a board of its own: sim or pico-emu[:NAME]")
    opened = ports.start(args.port, args.board)
    board = opened.board
    try:
        print(opened.path, flush=True)
        shown = 0
        while board.alive():
            events = board.events
            while shown < len(events):
                print(json.dumps(events[shown]), flush=True)
                shown += 1
            time.sleep(0.05)
        print(f"takeover: {board.what} exited: {board.stderr_tail()}", file=sys.stderr)
        return EXIT_ERROR
    except KeyboardInterrupt:
        return 0
    finally:
        opened.close()


def _cmd_classroom(args) -> int:
    import tempfile
    import webbrowser

    from takeover import classroom

    if args.bench:
        if args.repeat < 1:
            raise UsageError("--repeat must be 1 or more")
        from takeover.classroom import bench

        return bench.main(args.repeat)
    if args.export is not None:
        sizes = classroom.build(args.export, precompress=False)  # a web host compresses by itself
        print(f"the classroom page is in {args.export} ({sizes['total'] / 1e6:.1f} MB): serve it with the "
              f"headers in {args.export / '_headers'} (shared memory needs them), or run `takeover classroom`")
        return 0
    if not 0 <= args.http_port <= 65535:
        raise UsageError("--http-port must be 0 to 65535")
    with tempfile.TemporaryDirectory(prefix="takeover-classroom-") as folder:
        classroom.build(Path(folder))
        try:
            server = classroom.serve(Path(folder), args.http_port)
        except OSError as exc:
            raise UsageError(f"cannot serve on localhost:{args.http_port} ({exc.strerror}): try --http-port 0") from None
        url = f"http://127.0.0.1:{server.server_address[1]}/index.html"
        print(f"the classroom page: {url}   (Ctrl-C stops it)", flush=True)
        if not args.no_open:
            webbrowser.open(url)
        try:
            while True:
                time.sleep(3600)
        finally:
            server.shutdown()


def _cmd_farm(args) -> int:
    from takeover import farm

    folder = args.dir or farm.default_dir()
    if args.action == "up":
        state = farm.up(folder, farm.parse_boards(args.boards), args.serial)
        _print_farm(state)
        print(f"export LG_COORDINATOR={state['coordinator']}   # for labgrid-client, and for --port labgrid:PLACE")
        print(f"takeover farm down{'' if args.dir is None else f' --dir {folder}'}   # stops it all")
        return 0
    if args.action == "down":
        if not farm.down(folder):
            print(f"no farm is up in {folder}")
            return 0
        print(f"the farm in {folder} is down")
        return 0
    if args.action == "bench":
        from takeover import farm_bench

        if not 1 <= args.rounds <= 1000:
            raise UsageError("--rounds must be 1 to 1000")
        return farm_bench.main(folder, args.scenario, args.rounds)
    state = farm.read_state(folder)
    if not state or not farm.is_up(state):
        print(f"no farm is up in {folder} (`takeover farm up` starts one)")
        return EXIT_ERROR
    _print_farm(state, farm.holders(state["coordinator"]))
    return 0


def _print_farm(state: dict, held: dict[str, str] | None = None) -> None:
    print(f"labgrid coordinator {state['coordinator']}; places:")
    for place in state["places"]:
        line = f"  {place['name']:<12} board={place['board']:<6} kind={place['kind']:<9} --port labgrid:{place['name']}"
        if held is not None:
            line += f"   {'held by ' + held[place['name']] if place['name'] in held else 'free'}"
        print(line)


def _cmd_repl(args) -> int:
    """Maintenance mode and back: the same requests `takeover flash` makes, on their own."""
    from takeover import flash, ports

    if ports.kind(args.port) is not None:
        raise UsageError(f"--port {args.port} starts a board for one command, gone when it ends: start one "
                         f"that stays with `takeover sim` (it prints its port) and give that port")
    if ports.scheme(args.port) == ports.LABGRID:
        # A command's place is released when it ends, and the REPL is for the commands after it.
        from takeover.labgrid_lease import parse

        place = parse(args.port.split(":", 1)[1]).place
        raise UsageError(f"--port {args.port}: the REPL needs a board you keep: `labgrid-client -p {place} "
                         f"acquire`, then `labgrid-client -p {place} console` (or takeover repl --port "
                         f"rfc2217://HOST:PORT?ign_set_control, from `labgrid-client -p {place} show`)")
    board = flash.load_board(args.board)
    if not args.exit:
        how = flash.reach_repl(args.port, board, print)
        print(f"the board on {args.port} is at its MicroPython REPL"
              + (" (maintenance mode: the firmware stays off, across resets, until you leave it)"
                 if how == "maintenance" else "") + ". For example:")
        print(f"  mpremote connect {args.port} ls          # its files")
        print(f"  mpremote connect {args.port} repl        # the REPL (Ctrl-] leaves it)")
        print(f"  takeover repl --port {args.port} --board {args.board} --exit   # start the firmware again")
        return 0
    from mpremote.transport import TransportError
    from mpremote.transport_serial import SerialTransport

    from takeover.ports import open_serial

    open_serial(args.port, baudrate=115200).close()  # a busy port is one line, naming who has it
    try:
        transport = SerialTransport(args.port, baudrate=115200)
    except TransportError as exc:
        raise LinkError(f"cannot open port {args.port}: {exc}") from None
    try:
        transport.enter_raw_repl(soft_reset=False)
        flagged = "True" in transport.exec("from tkfw import maintenance\nprint(maintenance.active())").decode()
        hello = flash.leave_maintenance(transport, board, flagged)
    except TransportError as exc:
        raise LinkError(f"the board on {args.port} has no REPL answering ({exc}): is it in maintenance "
                        f"mode? (`takeover repl --port {args.port}` puts it there)") from None
    finally:
        transport.close()
    print(f"the firmware on {args.port} runs again" + ("" if hello else " (no HELLO seen: check with "
                                                        "`takeover config --port ...`)"))
    return 0


def _cmd_flash(args) -> int:
    from takeover import flash
    from takeover.simboard import FIRMWARE_DIR

    firmware = args.firmware or FIRMWARE_DIR
    if not (firmware / "main.py").is_file() or not (firmware / "tkfw").is_dir():
        raise UsageError(f"--firmware {firmware}: no main.py and tkfw/ there")
    return flash.flash(args.port, args.board, firmware, link_port=args.link_port)


def _cmd_sweep(args) -> int:
    from takeover import sweep

    scn = scenarios.load(args.scenario)
    grid = dict(sweep.parse_param(p) for p in args.param)
    if len(grid) != len(args.param):
        raise UsageError("--param: each parameter once")
    if not 1 <= sum(len(v) > 1 for v in grid.values()) <= 3:
        raise UsageError("--param: 1 to 3 parameters with more than one value (others may be fixed: aeb=0)")
    n = len(sweep.plan(scn, grid))  # every point checked before the board is opened
    out = Path(args.out)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UsageError(f"--out {out}: cannot create it ({exc.strerror})") from None
    print(f"== sweep {scn.name}: {n} runs over {', '.join(f'{k} ({len(v)})' for k, v in grid.items())}")
    with Device(args.port, board=args.board) as dev, Progress(1) as progress:
        progress.start(scn.name)
        points = sweep.run_grid(dev, scn, grid, progress=progress.frames)
        progress.done()
    sweep.write_csv(out / "sweep.csv", points)
    sweep.heatmap(out / "sweep.png", points, f"{scn.name}: relative impact speed")
    along = "detect_range_m" if "detect_range_m" in grid else next(iter(grid))
    name, unit = sweep.PARAMS[along]
    print(f"   lowest {name} from which every larger one avoids the impact:")
    for others, lowest in sweep.thresholds(points, along):
        where = ", ".join(f"{k} {v:g}" for k, v in others.items()) or "(all)"
        print(f"     {where}: " + (f"{lowest:g} {unit}" if lowest is not None else "none in the grid"))
    collisions = sum(p.collision for p in points)
    undecided = sum(p.result == "undecided" for p in points)
    print(f"   {collisions} of {len(points)} runs ended in a collision"
          + (f", {undecided} undecided (still closing in after {sweep.MAX_DURATION_S:g} s)" if undecided else "")
          + f"; wrote {out / 'sweep.csv'} and {out / 'sweep.png'}")
    return 0


def _folder(path: str, option: str) -> Path:
    """An output folder, created if missing; one line if it cannot be."""
    folder = Path(path)
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UsageError(f"{option} {folder}: cannot create it ({exc.strerror})") from None
    return folder


def _cmd_evidence(args) -> int:
    from takeover import evidence

    for option, n in (("--benign", args.benign), ("--critical", args.critical)):
        if n < 0:
            raise UsageError(f"{option} must be 0 or more, got {n}")
    if args.benign + args.critical == 0:
        raise UsageError("--benign and --critical are both 0: nothing to run")
    save = _folder(args.save, "--save") if args.save else None  # first: a bad --save leaves no --out behind
    out = _folder(args.out, "--out")
    argv = ["takeover", "evidence", "--benign", str(args.benign), "--critical", str(args.critical),
            "--seed", str(args.seed), "--port", args.port, "--board", args.board, "--out", args.out]
    meta = {"command": shlex.join(argv + (["--save", args.save] if args.save else [])), "seed": args.seed,
            "port": args.port, "board": None, "firmware": None, "planned": args.benign + args.critical,
            "interrupted": False, "partial": False}
    drives = evidence.plan(args.benign, args.critical, args.seed)
    print(f"== evidence: {args.benign} benign and {args.critical} critical drives, seed {args.seed}, "
          f"on {args.port} (lockstep)")
    results: list = []
    saved: list[Path] = []
    started = time.perf_counter()

    def finish() -> None:
        wall = time.perf_counter() - started
        meta.update(wall_s=round(wall, 2), drives_per_s=round(len(results) / wall, 3) if wall > 0 else 0.0)
        evidence.write_json(out / "evidence.json", results, meta)
        evidence.write_summary(out / "summary.md", results, meta, saved)

    try:
        with Device(args.port, board=args.board) as dev, \
                Progress(len(drives), unit="drive", stream=sys.stderr) as progress:
            for kind, seed in drives:
                drive = evidence.make_drive(kind, seed)
                progress.start(drive.scenario.name)
                result = evidence.run_drive(dev, drive, progress=progress.frames)
                results.append(result)
                meta["board"], meta["firmware"] = dev.hello.board, dev.hello.fw_version
                progress.done()
                if result.missed:
                    if save is not None:
                        saved.append(evidence.save(save, drive))
                    with progress.printing():
                        print(f"   {evidence.describe(result)}")
    except KeyboardInterrupt:
        meta["interrupted"] = True
        finish()
        print(f"   interrupted after {len(results)} of {len(drives)} drives; wrote {out / 'evidence.json'} and "
              f"{out / 'summary.md'} with those")
        raise
    except LinkError:
        meta["partial"] = True  # the link was lost: what finished before it still counts
        finish()
        raise
    finish()
    for name, value in evidence.figure_rows(evidence.figures(results)):
        print(f"   {name}: {value}")
    verdicts = evidence.verdicts(results)
    for v in verdicts:
        print(f"   {evidence.verdict_line(v)}")
    for path in saved:
        print(f"   saved {path}")
    print(f"   {len(results)} drives in {meta['wall_s']:.1f} s ({meta['drives_per_s']:.2f} drives/s); wrote "
          f"{out / 'evidence.json'} and {out / 'summary.md'}")
    return 0 if all(v["met"] for v in verdicts) else EXIT_FAILED


_REFUSED = {2: "out of range", 3: "below its safety floor", 4: "above its safety ceiling", 1: "unknown to the board"}


def _cmd_config(args) -> int:
    """Read every setting from the board; apply NAME=VALUE changes first, each checked by the board."""
    from tkfw import schema, settings

    index = {row[0]: k for k, row in enumerate(settings.SPEC)}
    wanted = []
    for change in args.changes:
        name, sep, text = change.partition("=")
        if name not in index:
            import difflib

            close = difflib.get_close_matches(name, index, n=1)
            raise UsageError(f"no setting {name!r}" + (f" (did you mean {close[0]!r}?)" if close else "")
                             + " (see `takeover config`)")
        try:
            value = float(text) if sep else None
        except ValueError:
            value = None
        if value is None:
            raise UsageError(f"{change!r}: expected NAME=VALUE with a number in {settings.SPEC[index[name]][2]}")
        wanted.append((name, value))
    if args.defaults:
        if wanted:
            raise UsageError("--defaults sets every setting to its default: give no NAME=VALUE with it")
        wanted = [(row[0], row[1]) for row in settings.SPEC]
    with Device(args.port, board=args.board) as dev:
        hello = dev.start_session()
        for name, value in wanted:
            key = index[name]
            unit = settings.SPEC[key][2]
            seq, _ = dev.send("config_set", key=key, value=settings.to_device(name, value))
            reply = dev.wait_for("config", 2.0, match=lambda m, k=key: m["key"] == k)
            if reply is None:
                raise LinkError(f"no answer to config_set {name} from {dev.port}")
            if reply["status"] != schema.CONFIG_OK:
                scale = settings.to_device(name, 1.0)
                raise UsageError(f"{name} = {value:g} {unit} refused by the board: "
                                 f"{_REFUSED.get(reply['status'], 'refused')}; allowed {reply['lo'] / scale:g} .. "
                                 f"{reply['hi'] / scale:g} {unit}, still {reply['value'] / scale:g} {unit}")
            if not args.defaults:
                print(f"set {name} = {value:g} {unit}")
        if args.defaults:
            print("set every setting to its default")
        if wanted and dev.sim is not None:
            # A board this command started stops with it: the change goes with it.
            print(f"note: --port {args.port} started a board for this command alone, and it stops now: the "
                  f"change is gone with it. Start one that stays (`takeover sim`, which prints its port) and "
                  f"give that port (docs/protocol.md, \"Where a change lives\")")
        elif wanted:
            print("saved on the board's file system: kept across resets and flashes" if hello.settings_saved
                  else "in the board's RAM only (its firmware saves no settings): gone at the next reset")
        print(f"{'setting':<28}{'value':>10}  {'unit':<7}{'allowed':<22}safety")
        for key, (name, _, unit, _, _, safety, _) in enumerate(settings.SPEC):
            dev.send("config_get", key=key)
            reply = dev.wait_for("config", 2.0, match=lambda m, k=key: m["key"] == k)
            if reply is None:
                raise LinkError(f"no answer to config_get {name} from {dev.port}")
            scale = settings.to_device(name, 1.0)
            allowed = f"{reply['lo'] / scale:g} .. {reply['hi'] / scale:g}"
            print(f"{name:<28}{reply['value'] / scale:>10g}  {unit:<7}{allowed:<22}{safety or '-'}")
    return 0


def _signal_name(exc: KeyboardInterrupt) -> str:
    return signal.Signals(exc.signum).name if isinstance(exc, Interrupted) else "SIGINT"


def _speed(text: str) -> float:
    """--speed: a finite factor above 0 (nan, inf and 0 would make every frame's send time
    meaningless); at most 1000, past which every board is flooded anyway."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number (e.g. 8), got {text!r}") from None
    if not 0 < value <= 1000:  # NaN fails too
        raise argparse.ArgumentTypeError(f"expected a factor above 0 and at most 1000, got {text}")
    return value


def _cmd_run(args) -> int:
    loaded = [scenarios.load(name) for name in args.scenario]  # all files checked before any run
    if args.json:
        _check_writable(Path(args.json))
    if args.report:
        from takeover import report  # matplotlib loads only when a report is asked for

        report.prepare_folder(Path(args.report))
    pace = Pace(speed=args.speed, lockstep=args.lockstep)
    stall_at, stall_s = parse_stall(args.stall)
    Faults(args.corrupt, args.drop, stall_at, stall_s, args.flood, args.unplug_at, args.fault_seed)  # checks
    if args.flood > 1 and args.lockstep:
        raise UsageError("--flood needs a paced run (real time or --speed), not --lockstep")
    runs: list[Run] = []
    try:
        with Device(args.port, board=args.board) as dev, Progress(len(loaded)) as progress:
            for scn in loaded:
                progress.start(scn.name)
                if not args.quiet:
                    with progress.printing():
                        print(f"== {scn.name}: {scn.description}")
                started = time.perf_counter()
                faults = Faults(args.corrupt, args.drop, stall_at, stall_s, args.flood, args.unplug_at,
                                args.fault_seed)
                partial: list[Run] = []
                try:
                    run = run_scenario(dev, scn, pace, progress=progress.frames, faults=faults, partial=partial)
                except (LinkError, KeyboardInterrupt) as exc:
                    if partial:  # the run so far still goes in the report, marked as cut short
                        why = exc if isinstance(exc, LinkError) else f"interrupted ({_signal_name(exc)})"
                        partial[0].passed = False
                        partial[0].failures.append(f"cut short: {why}")
                        partial[0].faults = faults.describe() if faults.active else {}
                        runs.append(partial[0])
                        if not args.quiet:  # what the board said before the link went
                            with progress.printing():
                                _print_alerts(partial[0])
                                trace = partial[0].trace
                                last = f" after the frame at {trace[-1]['t_s']:.2f} s" if trace else ""
                                print(f"   cut short{last}: the alerts above came before it")
                    raise
                run.wall_s = round(time.perf_counter() - started, 3)
                runs.append(run)
                progress.done()
                with progress.printing():
                    _print_run(run, args.quiet)
    except (LinkError, KeyboardInterrupt):
        # The runs finished before, and the one cut short, are kept: a partial report.
        _write_outputs(args, runs, partial=True)
        raise
    _write_outputs(args, runs)
    failed = [r.scenario.name for r in runs if not r.passed]
    if len(runs) > 1:
        print(f"{len(runs) - len(failed)} passed, {len(failed)} failed" + (f": {', '.join(failed)}" if failed else ""))
    return EXIT_FAILED if failed else 0


def _write_outputs(args, runs: list[Run], partial: bool = False) -> None:
    """--json and --report; after a lost link or an interrupt, with the runs so far (a partial
    report: the last one cut short)."""
    if args.json:
        doc = {"scenarios": [r.to_json() for r in runs]}
        if partial:
            doc["partial"] = True  # the link was lost or the run interrupted: the last run was cut short
        Path(args.json).write_text(json.dumps(doc, indent=2) + "\n")
    if args.report:
        from takeover import report

        report.write_report(Path(args.report), runs, _command_line(args))


def _command_line(args) -> str:
    """The `takeover run` command that repeats this run, defaults spelled out."""
    argv = ["takeover", "run", *args.scenario, "--port", args.port, "--board", args.board]
    argv += ["--lockstep"] if args.lockstep else ["--speed", f"{args.speed:g}"]
    if args.json:
        argv += ["--json", args.json]
    argv += ["--report", args.report] if args.report else []
    return shlex.join(argv + (["--quiet"] if args.quiet else []))


def _check_writable(path: Path) -> None:
    if not path.parent.exists():
        raise UsageError(f"--json {path}: folder {path.parent} does not exist")


def _fmt(value, unit: str, scale: float = 1.0, digits: int = 2) -> str:
    return "-" if value is None else f"{value * scale:.{digits}f}{unit}"


def _reasons(run: Run) -> str:
    """Why frames were rejected, from the device's counters, when any were."""
    d, f = run.device or {}, run.frames
    if not f.get("rejected"):
        return ""
    parts = [f"{d[k]} {label}" for k, label in (("lost", "missing from the seq series"),
                                                ("bad_version", "wrong version"), ("bad_type", "unknown type"),
                                                ("bad_length", "wrong length")) if d.get(k)]
    return f" ({', '.join(parts)}; {f.get('bad_crc', 0)} CRC failures seen)" if parts else ""


def _latency_cell(alert: dict) -> str:
    """An alert's latency; for one the board's clock raised (an input went quiet), how long after
    the last radar frame it came."""
    if alert.get("origin") == "clock":
        return f"+{alert['silence_ms']:.0f} ms quiet" if alert.get("silence_ms") is not None else "clock"
    return _fmt(alert["latency_us"], " us", digits=0)


def _print_alerts(run: Run) -> None:
    """The board line and the alert table (also of a run cut short: what came before the cut)."""
    print(f"   board {run.board} on {run.port}, firmware {run.firmware}, {run.pace}")
    print(f"   {'t_s':>6}  {'level':<10}{'cause':<11}{'TTC dev':>8}{'TTC true':>9}{'gap':>8}{'latency':>11}")
    for a in run.alerts:
        # Each figure keeps a space before it, so a wide one (a quiet input's "+156 ms quiet",
        # a gap of a kilometre) shifts the row rather than running into its neighbour.
        print(f"   {_fmt(a['t_s'], '', digits=2):>6}  {a['level']:<10}{a['cause']:<11}"
              f" {_fmt(a['device_ttc_s'], ' s'):>7} {_fmt(a['ttc_s'], ' s'):>8}"
              f" {_fmt(a['gap_m'], ' m', digits=1):>7} {_latency_cell(a):>10}")
    if not run.alerts:
        print("   (no alerts)")
    for a in run.after_end:
        print(f"   after the last frame: {a['level']} {a['cause']} ({_latency_cell({**a, 'origin': 'clock'})}), "
              "not judged")


def _print_run(run: Run, quiet: bool) -> None:
    if not quiet:
        _print_alerts(run)
    f = run.frames
    print(f"   outcome: {run.outcome_text()}; highest alert {run.max_level}")
    print(f"   frames: sent {f.get('sent')}, processed {f.get('processed')}, dropped {f.get('dropped')}, "
          f"rejected {f.get('rejected')}" + _reasons(run))
    if run.faults:
        fx = run.faults
        print(f"   injected: {fx['corrupted']} corrupted, {fx['lost']} lost, {fx['stalled_frames']} held back "
              f"(stall), {fx['flood_frames']} extra (flood)")
    for line in run.latency_lines():
        print(f"   {line}")
    for w in run.warnings:
        print(f"   warning: {w}")
    verdict = "PASS" if run.passed else "FAIL: " + "; ".join(run.failures)
    print(f"   {verdict}")
    if run.faults and not run.passed:
        # The scenario's expectations are written for a clean link; the injection is meant to
        # break them (a stall raises the stale-radar FAULT): whether the firmware did the right
        # thing is in the table above, not in this verdict.
        print("   (faults were injected: a scenario's expectations are written for a clean link, so this "
              "FAIL can be the expected result; what the board did is above, docs/robustness.md)")


if __name__ == "__main__":
    sys.exit(main())

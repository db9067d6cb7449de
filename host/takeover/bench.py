"""`takeover bench`: the firmware's speed against its floors, in one run.

    takeover bench                       # simulated board; table on stdout, bench/bench.json + .png
    takeover bench --port /dev/ttyACM0   # the same figures from a real board
    takeover bench --docs                # also rewrite the table in docs/performance.md

What it measures, each next to the floor or budget it is judged against:
- processing per radar frame on the device for 1, 8, 16, 32, 64 targets: the STATUS `proc_us` the
  firmware reports for every frame (its own ticks_us, receipt to the end of the frame's work, the
  track update after the ALERT included), median and p99 over FRAMES frames in lockstep; linear
  in the targets if the per-target cost is flat;
- heap allocated per frame in steady state: STATUS `heap_bytes` (gc.mem_alloc, measured on every
  HEAP_SAMPLE_EVERY-th STATUS: tkfw.schema), its growth from the first measurement after a
  10-frame warm-up to the last, per frame in between (1008 of the FRAMES frames of each size:
  1000 or more: a leak of a few bytes a hundred frames still shows);
- alert latency through the transport (host write of the causing radar frame to host read of its
  ALERT) p50/p99 in real time over CYCLES short drives per case, 1 and 64 targets: each a new
  session, an attentive driver and confirm_frames radar frames a radar period apart with a target
  8 m ahead closing at 20 m/s (NOTICE on the first frame, TAKEOVER once confirmed; the brake
  request would need a longer track), so CYCLES x confirm_frames alerts a case. The floor is an ECHO of the same frame size sent halfway
  between radar frames in the same cycles: alerts and echoes share the cadence and an idle board.
  Each alert splits into uplink / device / downlink by a clock fit from ping bursts before and
  after (takeover.timing);
- the highest radar rate with no frame dropped (floods of the 64-target case at increasing
  multiples of 20 Hz), and what happens beyond: drops and frame-to-STATUS latency;
- peak heap in use (gc.mem_alloc after a gc.collect the board does on STATUS_REQ; it includes
  the firmware's compiled code, as on a Pico without frozen modules) against a Pico's budget
  (about 190 KB free on a stock RP2040 build). The WebAssembly VM's gc.collect frees nothing
  (measured), so on the sim board it is everything allocated since boot: an upper bound.
"""

from __future__ import annotations

import json
import os
import platform
import re
import statistics
import time
from pathlib import Path

import numpy as np

from tkfw import schema
from tkfw.settings import Settings

from takeover import codec, ports
from takeover import scenario as scenarios
from takeover import timing
from takeover.device import Device
from takeover.errors import LinkError
from takeover.faults import Faults
from takeover.runner import DRIVER_ATTENTIVE, PING_COUNT, PING_COUNT_END, Pace, run_scenario
from takeover.nodeboard import pin_threads
from takeover import bench_stages
from takeover.picoemu import PicoEmu

TARGET_COUNTS = (1, 8, 16, 32, 64)
FRAMES = 1040  # heap measured from frame 16 to frame 1024: over 1008 frames
FLOODS = (1, 2, 5, 10, 20, 50)
PICO_HEAP_BUDGET = 190 * 1024  # bytes a stock RP2040 MicroPython build leaves a program, as budgeted
BUSY_ROAD = Path(__file__).resolve().parents[2] / "hil_tests" / "scenarios" / "busy-road-64.toml"
DOCS = Path(__file__).resolve().parents[2] / "docs" / "performance.md"
CYCLES = 100  # short drives per latency case, confirm_frames alerts each
LATENCY_CASES = (("1 target (in path)", 1), ("64 targets (1 in path, 63 beside)", 64))
NEAR_MM = 8_000  # in-path range at a cycle's first radar frame: TTC 0.4 s at 20 m/s, far inside ttc_emergency_s
EGO_MM_S = 20_000  # ego speed; the in-path target stands still, so it closes at 20 m/s
T0_MS = 0  # frame time at a cycle's start: every cycle is a new drive


REV2_FRAMES = 208  # per case of the revision 2 comparison: heap measured over 192 frames
REV2_YAW_MRAD_S = 40  # a 500 m left-hand curve at the bench's 20 m/s


def _targets(n: int, k: int, near_mm: int = 150_000, revision: int = 1) -> list[dict]:
    """n targets, one in path closing at 20 m/s from near_mm (1 m nearer each radar frame k), the
    rest in the lanes either side; ranges move frame by frame. Revision 2: the same road on a
    500 m curve (every lateral bent by x^2 / 2R, as a radar looking straight ahead sees it) and
    the heights block, every third record beside the lane a structure overhead."""
    out = [{"id": 1, "range": near_mm - 1000 * (k % 100), "range_rate": -20_000, "lateral": 0}]
    for i in range(1, n):
        out.append({"id": 100 + i, "range": 20_000 + 2500 * i, "range_rate": -300 * (i % 5),
                    "lateral": 3500 if i % 2 else -3500})
    if revision == 2:
        radius_mm = EGO_MM_S * 1000 // REV2_YAW_MRAD_S
        for i, t in enumerate(out):
            t["lateral"] += t["range"] * t["range"] // (2 * radius_mm)
            t["height"] = 600
            if i % 3 == 2:
                t.update(height=5500, range_rate=-EGO_MM_S)  # stationary, high: a gantry
    return out


def _drive(dev: Device, n_targets: int, frames: int, revision: int = 1):
    """A drive in lockstep: `frames` radar frames of n_targets 50 ms apart (frame time), driver
    frames at 10 Hz between them, as in a run; yields each radar frame's STATUS."""
    path = {"yaw_rate": REV2_YAW_MRAD_S} if revision == 2 else {}
    for k in range(frames):
        if k % 2 == 0:
            dev.send("driver", t_ms=50 * k, flags=DRIVER_ATTENTIVE)
        seq, _ = dev.send("radar", targets=_targets(n_targets, k, revision=revision), t_ms=50 * k,
                          ego_speed=20_000, **path)
        status = dev.wait_for("status", 2.0, match=lambda m, s=seq: m["frame_seq"] == s)
        if status is None:
            raise LinkError(f"no STATUS for {n_targets}-target frame {k} from {dev.port} within 2 s")
        yield status


def processing(dev: Device, frames: int = FRAMES, rows: list | None = None, log=None) -> list[dict]:
    """Per target count: proc_us p50/p99 and heap per frame (module docstring). Rows are appended
    to `rows` as each size completes, so a board that stops answering keeps what was measured."""
    rows = [] if rows is None else rows
    for n in TARGET_COUNTS:
        if log is not None:
            log(f"bench: processing, {frames} frames of {n} target{'s' if n > 1 else ''}")
        rows.append(_measure(dev, n, frames))
    slope, intercept = np.polyfit([r["targets"] for r in rows], [r["p50_us"] for r in rows], 1)
    fit = np.polyval([slope, intercept], [r["targets"] for r in rows])
    for r, f in zip(rows, fit):
        r["linear_fit_us"] = round(float(f), 1)
    rows.append({"fit": {"per_target_us": round(float(slope), 2), "fixed_us": round(float(intercept), 1),
                         "max_deviation_pct": round(float(max(abs(r["p50_us"] - f) / f for r, f in zip(rows, fit)) * 100), 1)}})
    return rows


def _measure(dev: Device, n: int, frames: int, revision: int = 1) -> dict:
    """proc_us p50/p99 and heap per frame of one drive of n-target frames, in a new session."""
    dev.start_session()
    dev.send("driver", t_ms=0, flags=DRIVER_ATTENTIVE)
    procs, heaps = [], []
    for status in _drive(dev, n, frames, revision):
        procs.append(status["proc_us"])
        heaps.append(status["heap_bytes"])
    # heap_bytes is measured on the session's first STATUS and every HEAP_SAMPLE_EVERY-th
    # (tkfw.schema): the growth between two measurements after a warm-up, per frame between.
    fresh = [k for k in range(0, frames, schema.HEAP_SAMPLE_EVERY) if k >= 10]
    if len(fresh) < 2:
        raise ValueError(f"need at least {10 + 2 * schema.HEAP_SAMPLE_EVERY} frames per size, got {frames}")
    final = dev.status()  # after a gc.collect on the board: the live heap
    if final is None:
        raise LinkError(f"no STATUS from {dev.port} after the {n}-target frames")
    return {"targets": n, "revision": revision, "p50_us": float(np.percentile(procs, 50)),
            "p99_us": float(np.percentile(procs, 99)),
            "heap_bytes_per_frame": (heaps[fresh[-1]] - heaps[fresh[0]]) / (fresh[-1] - fresh[0]),
            "heap_frames": fresh[-1] - fresh[0], "heap_peak": final["heap_bytes"]}


def revision2(dev: Device, frames: int = REV2_FRAMES, rows: list | None = None, log=None) -> list[dict]:
    """What protocol revision 2 costs a frame: the same targets as revision 1 frames (a straight
    path, plain records) and as revision 2 frames (a 500 m curve, heights, a third overhead), one
    after the other in the same run, for 1 and 64 targets (_targets)."""
    rows = [] if rows is None else rows
    for n in (1, 64):
        for revision in (1, 2):
            if log is not None:
                log(f"bench: revision {revision} frames, {frames} of {n} target{'s' if n > 1 else ''}")
            rows.append(_measure(dev, n, frames, revision))
    return rows


def latency(dev: Device, cycles: int = CYCLES, rows: list | None = None, log=None) -> list[dict]:
    """Alert latency against the echo floor, one dict per LATENCY_CASES entry (module docstring),
    appended to `rows` as each case completes."""
    rows = [] if rows is None else rows
    for case, n in LATENCY_CASES:
        if log is not None:
            log(f"bench: latency, {cycles} cycles, {case}")
        rows.append(_latency_case(dev, case, n, cycles))
    return rows


def _latency_case(dev: Device, case: str, n_targets: int, cycles: int) -> dict:
    """`cycles` short drives with n_targets per radar frame; every send a half radar period after
    the one before, so the board is as idle before each frame as in a real drive.

    A cycle: new session and one attentive driver frame, then confirm_n times a radar frame and,
    half a period later, an ECHO of the same size; the next cycle starts half a period after the
    last echo (well inside radar_stale_frames periods: no stale-radar FAULT in between)."""
    settings = Settings()
    confirm, period_ms = settings.confirm_n, settings.radar_period_ms
    gap_ns = period_ms * 1_000_000 // 2
    radar_bytes = len(codec.encode("radar", 0, targets=_targets(n_targets, 0, NEAR_MM)))
    tail = timing.echo_tail(radar_bytes)
    dev.start_session()
    start_pings = timing.ping_burst(dev, PING_COUNT)
    stamps = []  # (host write of the radar frame, its ALERT) of every alert
    to_status, floor = [], []  # microseconds
    due = time.perf_counter_ns()
    for cycle in range(cycles):
        due = _sleep_until(due + gap_ns)
        dev.start_session()  # resets the firmware's drive: this cycle alerts again
        dev.send("driver", t_ms=T0_MS, flags=DRIVER_ATTENTIVE)
        sent = {}  # radar seq -> host write, this cycle
        others = []  # everything else the board says this cycle, ALERTs among it
        for k in range(confirm):
            due = _sleep_until(due + gap_ns)
            seq, t_ns = dev.send("radar", targets=_targets(n_targets, k, NEAR_MM), t_ms=T0_MS + period_ms * k,
                                 ego_speed=EGO_MM_S)
            sent[seq] = t_ns
            # The firmware writes a frame's ALERT before its STATUS: waiting for the STATUS
            # collects the ALERT on the way.
            status = dev.wait_for("status", 2.0, match=lambda m, s=seq: m["frame_seq"] == s, sink=others.append)
            if status is None:
                raise LinkError(f"no STATUS for a {n_targets}-target radar frame from {dev.port} within 2 s")
            to_status.append((status.t_ns - t_ns) / 1000)
            due = _sleep_until(due + gap_ns)
            floor.append(timing.echo_round_trip(dev, tail, others.append))
        alerts = [m for m in others if m.name == "alert"]
        caused = sorted(m["frame_seq"] for m in alerts if m["origin"] == schema.ORIGIN_FRAME)
        if caused != sorted(sent):
            # One ALERT per radar frame (NOTICE, then TAKEOVER once confirmed) or the figures
            # are not what they claim to be.
            got = ", ".join(f"level {m['level']} from seq {m['frame_seq']} origin {m['origin']}" for m in alerts)
            raise RuntimeError(f"latency case {case!r}, cycle {cycle}: expected one ALERT for each of the "
                               f"{confirm} radar frames (seq {sorted(sent)}), got {len(alerts)}: {got or 'none'}")
        stamps += [(sent[m["frame_seq"]], m) for m in alerts]
    fit = timing.ClockFit(start_pings, timing.ping_burst(dev, PING_COUNT_END))
    splits = [timing.split(fit, t_ns, msg["rx_ticks_us"], msg["proc_us"], msg.t_ns) for t_ns, msg in stamps]
    parts = dict(zip(("uplink", "device", "downlink"), zip(*splits)))
    alert = timing.stats_us([(msg.t_ns - t_ns) / 1000 for t_ns, msg in stamps])
    echo_floor = timing.stats_us(floor)
    echo_floor["frame_bytes"] = len(codec.encode("echo", 0, tail=tail))
    # The ALERT's proc_us: the board's own time from the frame's receipt to the ALERT written (the
    # decision; the track update and STATUS come after it), on the board's clock.
    decision = timing.stats_us([msg["proc_us"] for _, msg in stamps])
    return {"case": case, "targets": n_targets, "cycles": cycles, "gap_ms": period_ms / 2,
            "radar_period_ms": period_ms, "alert": alert, "floor": echo_floor, "decision_us": decision,
            "ratio": timing.versus_floor(alert, echo_floor),
            "split_p50_us": {k: timing.stats_us(v)["p50"] for k, v in parts.items()},
            "frame_to_status": timing.stats_us(to_status), "clock": fit.describe()}


def _sleep_until(due_ns: int) -> int:
    """Sleep until perf_counter_ns() reaches due_ns; returns when that was. Running late (a reply
    slower than the gap) moves the schedule on instead of sending the next frames back to back."""
    left = due_ns - time.perf_counter_ns()
    if left > 0:
        time.sleep(left / 1e9)
        return due_ns
    return time.perf_counter_ns()


def floods(dev: Device, seconds: float = 3.0, rows: list | None = None, log=None) -> list[dict]:
    """The 64-target case at increasing multiples of 20 Hz, appended to `rows` as each completes.
    A run whose final STATUS never came is recorded as not accounted for."""
    scn = scenarios.parse(BUSY_ROAD.read_text(), BUSY_ROAD.name)
    scn.duration_s = seconds
    rows = [] if rows is None else rows
    for n in FLOODS:
        if log is not None:
            log(f"bench: flood, 64 targets at {20 * n} Hz for {seconds:g} s")
        run = run_scenario(dev, scn, Pace(), faults=Faults(flood=n), measure_link=False)
        f = run.frames
        counted = None if f["processed"] is None else f["processed"] + f["dropped"] + f["rejected"]
        rows.append({"rate_hz": 20 * n, "sent": f["sent"], "dropped": f["dropped"],
                     "accounted": counted == f["sent"], "frame_to_status": run.frame_latency_us})
    return rows


def heap_locked(dev: Device, frames: int = FRAMES - 40, n_targets: int = 64, rows: list | None = None,
                log=None) -> dict:
    """`frames` radar frames (and driver frames at 10 Hz) with micropython.heap_lock held on the
    board (LOCK_HEAP): any allocation would raise MemoryError there, counted in loop_faults."""
    if log is not None:
        log(f"bench: {frames} frames of {n_targets} targets with the heap locked")
    dev.start_session()
    dev.send("lock_heap", frames=frames)
    for _ in _drive(dev, n_targets, frames):
        pass
    status = dev.status()
    if status is None:
        raise LinkError(f"no STATUS from {dev.port} after the heap-locked frames")
    return {"frames": frames, "targets": n_targets, "locked_frames": status.fields.get("heap_locked_frames"),
            "loop_faults": status["loop_faults"],
            "held": status.fields.get("heap_locked_frames") == frames and status["loop_faults"] == 0}


def pin_board_and_host(board) -> str:
    """On the simulated board with two or more CPUs: the board's threads on the last CPU, this
    process on the others, as on a real bench where the board computes on a chip of its own.
    Unpinned on a 2-core machine, the VM going on with a frame's bookkeeping after its ALERT
    competes with the host reading that ALERT (measured: 64-target downlink p50 ~540 us unpinned,
    ~200 us pinned; docs/performance.md). Returns what was done, for the report."""
    if board is None:
        return "not pinned (a real board computes on its own chip)"
    cpus = sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else []
    if len(cpus) < 2:
        return "not pinned (fewer than 2 CPUs, or an OS without CPU affinity)"
    board_cpu, host_cpus = cpus[-1], set(cpus[:-1])
    if not (board.pin({board_cpu}) and pin_threads(os.getpid(), host_cpus)):
        return "not pinned (the OS refused)"
    return f"{board.what} pinned to CPU {board_cpu}, host to CPU {','.join(map(str, sorted(host_cpus)))}"


def run_bench(port: str = "sim", board: str = "sim", pin: bool = True, stage_stamps: bool = True,
              log=print) -> dict:
    """Every figure; a phase that fails (a board that stops answering) is recorded in `errors`
    with what it had measured, and the phases after it still run. On an emulated Pico, the stage
    stamps too (takeover.bench_stages), once the link is closed: they go through the REPL."""
    started = time.time()
    affinity = os.sched_getaffinity(0) if hasattr(os, "sched_getaffinity") else None
    result: dict = {"port": port, "errors": []}
    opened = ports.start(port, board)  # the board outlives the Device: the stage stamps need it after
    try:
        with Device(opened.path, board=board) as dev:
            pinning = pin_board_and_host(opened.board) if pin else "not pinned (--no-pin)"
            hello = dev.start_session()
            boot = dev.status()  # firmware loaded, objects made, one session started; collected first
            result.update({"heap_after_boot_bytes": boot["heap_bytes"] if boot else None,
                           "heap_free_after_boot_bytes": boot.fields.get("heap_free") if boot else None,
                           "board": hello.board, "firmware": hello.fw_version, "pinning": pinning,
                           "machine": f"{platform.node()}: {platform.machine()}, {os.cpu_count() or 1} cores, "
                                      f"Python {platform.python_version()}",
                           "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())})
            for name, phase in (("processing", processing), ("revision2", revision2), ("latency", latency),
                                ("heap_lock", heap_locked), ("floods", floods)):
                if name == "floods" and isinstance(opened.board, PicoEmu):
                    # Real-time radar rates on a chip emulated at about a fifth of its speed measure
                    # the emulator (hil_tests/test_pico_emu.py floods at a quarter of real time).
                    result["floods_skipped"] = ("not run on the emulated Pico: it runs the chip at about a "
                                                "fifth of real time, so a real-time radar rate measures the emulator")
                    continue
                rows: list = []
                try:
                    result[name] = phase(dev, rows=rows, log=log)
                except (LinkError, RuntimeError) as exc:
                    result[name] = rows or None
                    result["errors"].append(f"{name}: {exc}")
                    log(f"bench: {name} cut short: {exc}")
                    try:
                        dev.start_session(timeout=30.0)  # the next phase, on a board that answers again
                    except LinkError:
                        break
        if stage_stamps and isinstance(opened.board, PicoEmu):
            log("bench: stage stamps ...")
            try:
                result["stages"] = bench_stages.measure(opened.path, opened.board.board, log=lambda text: None)
            except (LinkError, RuntimeError) as exc:
                result["errors"].append(f"stages: {exc}")
    except LinkError as exc:
        if "board" not in result:  # no session, nothing measured: the port itself is the error
            raise
        result["errors"].append(str(exc))
    finally:
        opened.close()
        if affinity is not None:
            pin_threads(os.getpid(), affinity)  # this process as it was (a test session goes on)
    result["firmware_heap_bytes"] = _firmware_heap()
    peaks = [r["heap_peak"] for r in result.get("processing") or [] if "heap_peak" in r]
    result["heap_peak_bytes"] = max(peaks) if peaks else None
    result["pico_heap_budget_bytes"] = PICO_HEAP_BUDGET
    result["seconds"] = round(time.time() - started, 1)
    return result


def _firmware_heap() -> int | None:
    """Heap allocated by importing the firmware and making its objects, on the VM, in a script
    of its own: without the simulated board's file system and console bridge."""
    from takeover.simboard import run_script

    try:
        out = run_script(Path(__file__).with_name("bench_vm_heap.py"), timeout=60)
    except Exception:  # noqa: BLE001 - a figure we can do without, not a reason to fail the bench
        return None
    return json.loads(out.strip().splitlines()[-1])["firmware_heap_bytes"]


def table(result: dict) -> str:
    lines = [f"Board {result.get('board', '?')} on {result['port']}, firmware {result.get('firmware', '?')}; host "
             f"{result.get('machine', '?')}; {result.get('pinning', 'not pinned')}; {result.get('date', '?')}."]
    for error in result.get("errors") or []:
        lines.append(f"**Cut short:** {error} (what was measured before is below).")
    lines += ["", "| targets per frame | processing p50 | p99 | linear fit | heap per frame |", "|---|---|---|---|---|"]
    for r in result.get("processing") or []:
        if "fit" in r:
            fit = r["fit"]
            lines.append(f"| fit | {fit['fixed_us']:.0f} us + {fit['per_target_us']:.1f} us/target | | max "
                         f"deviation {fit['max_deviation_pct']:.0f} % | |")
            continue
        lines.append(f"| {r['targets']} | {r['p50_us']:.0f} us | {r['p99_us']:.0f} us | "
                     f"{_fmt_us(r.get('linear_fit_us'))} | "
                     f"{r['heap_bytes_per_frame']:.1f} B (over {r.get('heap_frames', '?')} frames) |")
    rev = result.get("revision2") or []
    if rev:
        lines += ["", "| targets per frame | revision 1 frames p50 / p99 | revision 2 frames p50 / p99 | cost of "
                      "revision 2 (p50) | heap per frame, revision 2 |", "|---|---|---|---|---|"]
        by = {(r["targets"], r["revision"]): r for r in rev}
        for n in sorted({r["targets"] for r in rev}):
            one, two = by.get((n, 1)), by.get((n, 2))
            if one is None or two is None:
                continue
            lines.append(f"| {n} | {one['p50_us']:.0f} / {one['p99_us']:.0f} us | {two['p50_us']:.0f} / "
                         f"{two['p99_us']:.0f} us | {two['p50_us'] - one['p50_us']:+.0f} us | "
                         f"{two['heap_bytes_per_frame']:.1f} B (over {two['heap_frames']} frames) |")
        lines += ["", f"Revision 2: the same targets on a 500 m curve (yaw rate {REV2_YAW_MRAD_S} mrad/s at "
                      f"{EGO_MM_S / 1000:g} m/s, every lateral bent as the radar sees it) with the "
                      f"heights block, every third a stationary structure 5.5 m up; revision 1: a straight path and plain "
                      f"records. {rev[0]['heap_frames'] + 16} frames a case, one after the other in the same run."]
    latency_rows = result.get("latency") or []
    lines += ["", "| case | alert latency p50 / p99 (n alerts) | floor: echo of the same frame size, interleaved, "
                  "p50 / p99 | ratio p50 / p99 | split p50 (uplink / device / downlink) | ALERT decision on the "
                  "board p50 / p99 |", "|---|---|---|---|---|---|"]
    for r in latency_rows:
        a, f, q, sp = r["alert"], r["floor"], r["ratio"], r["split_p50_us"]
        d = r.get("decision_us") or {}
        lines.append(f"| {r['case']} | {a['p50']:.0f} / {a['p99']:.0f} us (n={a['n']}) | {f['p50']:.0f} / {f['p99']:.0f} us "
                     f"({f['frame_bytes']} B, n={f['n']}) | {q['p50']} / {q['p99']} | {sp['uplink']:.0f} / "
                     f"{sp['device']:.0f} / {sp['downlink']:.0f} us | {_fmt_us(d.get('p50'))} / {_fmt_us(d.get('p99'))} |")
    if latency_rows:
        first = latency_rows[0]
        lines += ["", f"Alert latency: host write of a radar frame to host read of the ALERT it caused, over "
                  f"{first['cycles']} cycles a case (a new session, an attentive driver, then radar frames "
                  f"{first['radar_period_ms']} ms apart with a target {NEAR_MM / 1000:g} m ahead closing at "
                  f"{EGO_MM_S / 1000:g} m/s: NOTICE, then TAKEOVER once confirmed). Floor: an ECHO of the same "
                  f"frame size sent {first['gap_ms']:g} ms after each radar frame in the same cycles, so both see "
                  f"the same cadence and an idle board. ALERT decision: the ALERT's own proc_us, the board's time "
                  f"from the frame's receipt to the ALERT written."]
    locked = result.get("heap_lock")
    if locked:
        lines += ["", f"Heap locked (micropython.heap_lock, LOCK_HEAP) over {locked['frames']} frames of "
                  f"{locked['targets']} targets with driver frames between: "
                  + ("held, nothing allocated" if locked["held"] else
                     f"BROKEN: {locked['locked_frames']} frames locked, {locked['loop_faults']} loop faults") + "."]
    if "floods_skipped" not in result:
        lines += ["", "| radar rate (64 targets) | frames sent | dropped | frame to STATUS p50 / p99 | accounted |",
                  "|---|---|---|---|---|"]
    for r in result.get("floods") or []:
        fl = r["frame_to_status"]
        lines.append(f"| {r['rate_hz']} Hz | {r['sent']} | {r['dropped']} | {_fmt_us(fl['p50'])} / "
                     f"{_fmt_us(fl['p99'])} | {'yes' if r['accounted'] else 'NO'} |")
    no_drop = [r["rate_hz"] for r in result.get("floods") or [] if r["dropped"] == 0]
    lines += ["", f"Highest rate with nothing dropped: {max(no_drop) if no_drop else '-'} Hz."
              if "floods_skipped" not in result else f"Floods {result['floods_skipped']}."]
    if result.get("board") == "sim":
        lines[-1] += (
            f" Heap in use of the firmware itself (imported from source, objects made, a session started) "
            f"{(result.get('firmware_heap_bytes') or 0) / 1024:.1f} KB against a Pico's "
            f"~{result['pico_heap_budget_bytes'] // 1024} KB free: margin "
            f"{(result['pico_heap_budget_bytes'] - (result.get('firmware_heap_bytes') or 0)) / 1024:.1f} KB. "
            f"The WebAssembly VM's gc.collect frees nothing (measured), so that is everything the firmware "
            f"allocated, an upper bound of its live heap. The whole sim board (with its own flash file system "
            f"and console bridge) had allocated {(result.get('heap_after_boot_bytes') or 0) / 1024:.1f} KB after "
            f"boot and {(result.get('heap_peak_bytes') or 0) / 1024:.1f} KB by the end of the bench, 0 B of it per "
            f"frame.")
    elif result.get("heap_after_boot_bytes") is not None:
        free = result.get("heap_free_after_boot_bytes") or 0
        lines[-1] += (f" Heap after start-up (gc.collect, then gc.mem_alloc / gc.mem_free on the board): "
                      f"{result['heap_after_boot_bytes'] / 1024:.1f} KB in use, {free / 1024:.1f} KB free of "
                      f"{(result['heap_after_boot_bytes'] + free) / 1024:.1f} KB; "
                      f"{(result.get('heap_peak_bytes') or 0) / 1024:.1f} KB in use at the most, after the bench's "
                      f"sessions.")
    return "\n".join(lines)


def _fmt_us(value) -> str:
    return "-" if value is None else f"{value:.0f} us"


# The targets of the firmware on an RP2040 at 125 MHz (docs/performance.md, "On an RP2040").
CHIP_TARGETS_US = {"frame_1": 1000, "frame_64": 4000, "decision": 1000}


def chip_table(result: dict) -> str:
    """The figures that count on a chip, each against its target, on the chip's own clock."""
    by_n = {r["targets"]: r for r in result.get("processing") or [] if "targets" in r}
    lat = result.get("latency") or []

    def verdict(value, target):
        return "-" if value is None else ("met" if value <= target else "NOT met")

    rows = ["| figure (chip clock) | target | measured | |", "|---|---|---|---|"]
    for n, key in ((1, "frame_1"), (64, "frame_64")):
        p50 = by_n.get(n, {}).get("p50_us")
        rows.append(f"| processing, {n}-target frame, p50 | at most {CHIP_TARGETS_US[key] / 1000:g} ms | "
                    f"{_fmt_us(p50)} | {verdict(p50, CHIP_TARGETS_US[key])} |")
    for r in lat:
        d = (r.get("decision_us") or {}).get("p50")
        rows.append(f"| ALERT decision (receipt to ALERT written), {r['case']}, p50 | at most "
                    f"{CHIP_TARGETS_US['decision'] / 1000:g} ms | {_fmt_us(d)} | {verdict(d, CHIP_TARGETS_US['decision'])} |")
    heaps = [r["heap_bytes_per_frame"] for r in by_n.values()]
    frames = min((r.get("heap_frames") or 0 for r in by_n.values()), default=0)
    rows.append(f"| heap per frame (rp2 port's GC), every target count | 0 B | "
                f"{max(heaps):.1f} B over {frames} frames each | {'met' if heaps and max(heaps) == 0 else 'NOT met'} |"
                if heaps else "| heap per frame | 0 B | - | - |")
    locked = result.get("heap_lock")
    if locked:
        rows.append(f"| micropython.heap_lock held | {locked['frames']} frames | {locked['locked_frames']} frames, "
                    f"{locked['loop_faults']} loop faults | {'met' if locked['held'] else 'NOT met'} |")
    stages = result.get("stages") or []
    if stages:
        names = [k for k in stages[0]["stages"] if k != "whole_frame"]
        rows += ["", "Where a frame's time goes (stage stamps on the chip's clock, mean over "
                 f"{bench_stages.REPEAT} frames; STATUS includes a gc.mem_alloc heap walk, which the running "
                 f"firmware does on every {schema.HEAP_SAMPLE_EVERY}th STATUS only):", "",
                 "| targets | " + " | ".join(names) + " | firmware's own proc_us p50 |",
                 "|---" * (len(names) + 2) + "|"]
        for st in stages:
            rows.append(f"| {st['targets']} | " + " | ".join(f"{st['stages'][k]:.0f} us" for k in names)
                        + f" | {st['proc_us_p50']} us |")
    return "\n".join(rows)


def plot(result: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = [r for r in result["processing"] if "targets" in r]
    fig, (a, b) = plt.subplots(1, 2, figsize=(10, 3.8), constrained_layout=True)
    xs = [r["targets"] for r in rows]
    a.plot(xs, [r["p50_us"] for r in rows], "o-", label="p50")
    a.plot(xs, [r["p99_us"] for r in rows], "s--", label="p99")
    a.plot(xs, [r["linear_fit_us"] for r in rows], ":", color="grey", label="linear fit (p50)")
    a.set_xlabel("targets per radar frame")
    a.set_ylabel("device processing per frame (us)")
    a.set_title(f"{result['board']}: processing per frame")
    a.legend()
    a.set_ylim(bottom=0)
    cases = result["latency"]
    ix = np.arange(len(cases))
    b.bar(ix - 0.2, [c["floor"]["p50"] for c in cases], 0.4, label="floor: echo p50", color="#999")
    b.bar(ix + 0.2, [c["alert"]["p50"] for c in cases], 0.4, label="alert latency p50", color="#c33")
    b.hlines([1.5 * c["floor"]["p50"] for c in cases], ix - 0.45, ix + 0.45, colors="k", linestyles="--",
             label="target: 1.5 x floor")
    b.set_ylim(0, 1.35 * max(max(c["alert"]["p50"], 1.5 * c["floor"]["p50"]) for c in cases))
    b.set_xticks(ix, [c["case"] for c in cases], fontsize=8)
    b.set_ylabel("us")
    b.set_title("alert latency against the transport floor")
    b.legend(loc="upper left", fontsize=8)
    fig.savefig(path, dpi=100)
    plt.close(fig)


def update_docs(result: dict, command: str, path: Path = DOCS) -> None:
    """The simulated board's table goes in the `bench` section, an emulated or real Pico's in
    `bench-rp2040`, with the chip figures against their targets first."""
    if result.get("board") == "sim":
        section, body = "bench", table(result) + "\n\n![benchmark](img/bench.png)"
    else:
        section = "bench-rp2040"
        body = chip_table(result) + "\n\nThe whole bench on the same board:\n\n" + table(result) + \
            "\n\n![benchmark on the RP2040](img/bench-rp2040.png)"
    body = f"Produced by `{command}` ({result['seconds']} s):\n\n" + body
    text = path.read_text()
    new = re.sub(rf"(<!-- generated: {section} -->\n).*?(<!-- end: {section} -->)",
                 lambda m: m.group(1) + body + "\n" + m.group(2), text, flags=re.S)
    path.write_text(new)


def main(port: str, board: str, out: Path, docs: bool, command: str, pin: bool = True) -> int:
    out.mkdir(parents=True, exist_ok=True)
    result = run_bench(port, board, pin)
    (out / "bench.json").write_text(json.dumps(result, indent=2) + "\n")
    if result.get("processing") and result.get("latency"):
        plot(result, out / "bench.png")
    if result.get("board") not in (None, "sim"):
        print(chip_table(result) + "\n")
    print(table(result))
    if result["errors"]:
        print(f"\nbench cut short ({len(result['errors'])} phase(s)); what was measured is in {out / 'bench.json'}")
    if docs:
        img = DOCS.parent / "img" / ("bench.png" if result.get("board") == "sim" else "bench-rp2040.png")
        if result.get("processing") and result.get("latency"):
            plot(result, img)
        update_docs(result, command)
        print(f"\nwrote {DOCS} and {img}")
    return 1 if result["errors"] else 0

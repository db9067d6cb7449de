"""The firmware on an emulated Pico: official MicroPython v1.27.0 for the Pico on an RP2040 emulator
(takeover.picoemu), flashed with `takeover flash` like a real board, then the HIL checks that the
simulated board cannot make: the rp2 I/O backend, TinyUSB's serial port, native armv6m modules,
machine.Pin / PWM / WDT, the chip's pins and its watchdog.

One emulator for the module (booting and flashing it twice takes about 20 s), on a flash image in
a temporary folder, and one pytest-xdist worker for the whole module (its xdist_group): the emulator
keeps a core busy. Runs are paced by lockstep or by the frames' own timestamps, so
outcomes do not depend on how fast the emulator runs here. Skipped, with the line that says what to
download, when the MicroPython UF2 or the boot ROM is not on this machine (takeover.picoemu).
"""

import re
import time
from pathlib import Path

import pytest

from tkfw import alerts, schema
from tkfw.settings import Settings

from takeover import flash
from takeover import scenario as scenarios
from takeover.device import Device
from takeover.faults import Faults
from takeover.picoemu import MissingFile, PicoEmu, ever_on, find_file, values_in
from takeover.runner import Pace, run_scenario

# The same checks as on the simulated board, collected here again with this module's fixtures.
from test_driver_stories import test_hands_off_on_an_empty_road_escalates_to_a_minimal_risk_stop as hands_off_story
from test_link import (  # noqa: F401
    test_every_frame_sent_is_accounted_for,
    test_garbage_on_the_line_is_skipped_and_the_next_frame_is_read,
    test_handshake_reports_matching_versions_and_settings,
)
from test_robustness import BUSY_ROAD, _accounted
from test_scenarios import test_su7_barrier_raises_a_warning_before_the_would_be_impact  # noqa: F401

# One worker runs the whole module, on one emulator (--dist loadgroup, pyproject.toml); xdist hands
# out the biggest group first, so it starts at once while the other worker takes the rest.
pytestmark = [pytest.mark.pico_emu, pytest.mark.xdist_group("pico_emu")]

ROOT = Path(__file__).resolve().parents[1]
ST = Settings()


@pytest.fixture(scope="module")
def pico(tmp_path_factory):
    """An emulated Pico flashed twice with this checkout's firmware; `pico.flashes` holds what
    each flash reported."""
    try:
        find_file("uf2")
        find_file("bootrom")
    except MissingFile as exc:
        pytest.skip(str(exc))
    emu = PicoEmu(tmp_path_factory.mktemp("pico-emu") / "flash.img")
    emu.start()
    try:
        board = flash.load_board("pico")
        built = flash.build(board)
        emu.flashes = []
        for _ in range(2):
            lines = []
            hello = flash.flash_on(emu.port, board, built, log=lines.append)
            emu.flashes.append((hello, lines))
        yield emu
    finally:
        emu.stop()


@pytest.fixture
def port(pico):
    """The emulated board's own port string (a board this test session started, like sim)."""
    return f"pico-emu:{pico.image}"


@pytest.fixture
def device(pico):
    # The emulated chip runs at about a fifth of real speed, less while the other workers keep the
    # machine busy: a flood's backlog in the pty may take it more than a real board's 2 s to read.
    with Device(pico.port, board="pico", write_limit_s=10.0) as dev:
        yield dev


def test_hands_off_on_an_empty_road_escalates_to_a_minimal_risk_stop_with_the_hazard_pin_high(pico, device):
    """The simulated board's driver story (each escalation when the settings say), then the pins:
    the minimal-risk stop drives the hazard output, on the GPIO the docs name, and not the brake
    request, which is the collision EMERGENCY's."""
    before = len(pico.pin_timeline())
    hands_off_story(device)
    changes = pico.pin_timeline()[before:]
    hazard = [e for e in changes if e["name"] == "hazard"]
    assert hazard and hazard[0]["value"] == 1 and hazard[0]["pin"] == _wiring_table()["hazard"], hazard
    assert not any(e["name"] == "brake" and e["value"] for e in changes)


def test_a_second_flash_copies_nothing_and_reaches_the_repl_through_maintenance_mode(pico):
    (first, first_log), (second, second_log) = pico.flashes
    assert first is not None and second is not None
    assert first.board == second.board == "pico"
    n = len(flash.build(flash.load_board("pico")).files)  # the firmware's files, as built for the chip
    assert any(re.search(rf"copied {n} files \(\d+ bytes\), 0 unchanged", line) for line in first_log), first_log
    assert any(f"copied 0 files (0 bytes), {n} unchanged" in line for line in second_log), second_log
    # the firmware was running: flash asked it for maintenance mode, and the board reset into the REPL
    assert any("through maintenance mode" in line for line in second_log), second_log
    assert first.boot_id != second.boot_id  # a new boot id at every boot: the chip's random bit


def test_the_files_survive_a_power_cycle_and_the_firmware_boots_from_flash(pico):
    with Device(pico.port, board="pico") as dev:
        before = dev.start_session().boot_id
    pico.stop()
    pico.start()  # the same flash image: a Pico unplugged and plugged in again
    with Device(pico.port, board="pico") as dev:
        hello = dev.start_session(timeout=30.0)
    assert hello.board == "pico" and hello.mismatches() == []
    assert hello.boot_id != before


def test_a_radar_that_goes_quiet_raises_fault_at_takeover_within_200_ms_of_chip_time_and_clears(device):
    """The simulated board's quiet-radar test, in lockstep and timed on the chip's clock: the
    FAULT's frame time is the board's own reckoning (last radar frame's time plus the silence it
    measured with ticks_us), so the link's latency through the emulator does not enter it."""
    scn = scenarios.load("lead-car-same-speed")
    stall_at, stall_s = 3.0, 1.0
    run = run_scenario(device, scn, Pace(lockstep=True), faults=Faults(stall_at_s=stall_at, stall_s=stall_s))
    faults = [a for a in run.alerts if a["cause"] == "fault"]
    assert len(faults) == 1 and faults[0]["level"] == "TAKEOVER" and faults[0]["origin"] == "clock", run.alerts
    last_radar_s = max(row["t_s"] for row in run.trace if row["t_s"] < stall_at)
    silence_ms = (faults[0]["t_s"] - last_radar_s) * 1000
    assert ST.radar_stale_n * ST.radar_period_ms <= silence_ms <= 200, faults[0]
    cleared = [a for a in run.alerts if a["level"] == "NONE" and a["t_s"] > faults[0]["t_s"]]
    assert cleared and cleared[0]["t_s"] <= stall_at + stall_s + 2.0
    assert _accounted(run) and run.frames["rejected"] == 0


def test_a_64_target_radar_flooding_at_ten_times_its_rate_keeps_the_heap_flat_and_every_frame_counted(device):
    """The simulated board's flood, at a quarter of real time: the emulator runs the chip at about
    a fifth of its speed on a 2-core machine, so in real time the flood would measure the emulator.
    The flood rule reads the frames' own timestamps, so the firmware still sees 200 radar frames a
    second of scenario time. (At this pace the chip's clock may also see the radar go quiet: a
    FAULT is not judged here.)"""
    scn = scenarios.parse(BUSY_ROAD.read_text(), BUSY_ROAD.name)
    scn.duration_s = 2.0  # 40 radar frames: enough heap samples; the flooded run takes ~30 s of wall time
    assert len(scn.targets) == schema.MAX_TARGETS
    pace = Pace(speed=0.25)
    normal = run_scenario(device, scn, pace, measure_link=False)
    flooded = run_scenario(device, scn, pace, faults=Faults(flood=10), measure_link=False)
    for run in (normal, flooded):
        assert _accounted(run), run.frames
        assert run.frames["rejected"] == 0 and run.device["loop_faults"] == 0, run.device
    heap = [row["heap_bytes"] for row in normal.trace if row["heap_bytes"] is not None]
    assert len(heap) > 20 and max(heap) - min(heap) <= 16 * (schema.MAX_TARGETS + 1), (min(heap), max(heap))
    # the live heap after each run (STATUS_REQ collects first): the flood left nothing behind
    assert abs(flooded.device["heap_bytes"] - normal.device["heap_bytes"]) <= 16 * (schema.MAX_TARGETS + 1)
    assert flooded.frames["sent"] > 9 * normal.frames["sent"] // 2
    assert flooded.frames["dropped"] > 0  # the newest frame wins on a chip this slow
    # (Not judged here: the host's latency. The emulated chip takes in fewer than 50 frames of 1 KB
    # per wall second, so the pty's buffer fills; a Pico's USB and CPU take in four times that.)


def test_a_stuck_loop_is_reset_by_the_watchdog_and_the_host_sees_the_new_boot_id(pico, device):
    hello = device.start_session()
    boots = len(pico.boots())
    device.send("hang", ms=schema.HANG_MAX_MS)  # longer than the firmware's 2 s watchdog
    after = pico.wait_events("boot", boots + 1, timeout=30.0)
    assert len(after) == boots + 1 and after[-1]["reset"] == "watchdog", after
    fresh = device.wait_for("hello", 30.0)  # the boot HELLO, unasked
    assert fresh is not None and fresh["boot_id"] != hello.boot_id
    assert device.start_session(timeout=10.0).boot_id == fresh["boot_id"]


def test_the_hands_on_button_is_read_from_its_gpio(pico, device):
    device.start_session()
    pin_bit = 0x80  # STATUS dm_flags bit7: the hands-on pin as the firmware reads it
    t_ms = 0
    for pressed in (True, False, True, False):
        pico.press_hands_on(pressed)
        deadline = time.monotonic() + 5.0
        while time.monotonic() < deadline:
            t_ms += 100
            device.send("driver", t_ms=t_ms, flags=0)  # the driver monitor reads the pin with each frame
            status = device.status()
            if status is not None and bool(status["dm_flags"] & pin_bit) == pressed:
                break
        assert status is not None and bool(status["dm_flags"] & pin_bit) == pressed, (pressed, status)


def _wiring_table() -> dict[str, int]:
    """function -> GPIO number from the wiring table in docs/boards.md."""
    text = (ROOT / "docs" / "boards.md").read_text()
    return {m.group(1): int(m.group(2)) for m in re.finditer(r"^\| `(\w+)` \| GP(\d+)", text, re.M)}


def _expected_pins(row) -> dict[str, bool]:
    return {"led_amber": row[alerts.LED] == 1, "led_red": row[alerts.LED] == 2,
            "buzzer": row[alerts.TONE_HZ] > 0, "haptic": row[alerts.HAPTIC_ON_MS] > 0,
            "brake": row[alerts.BRAKE] == alerts.BRAKE_AEB, "hazard": row[alerts.BRAKE] == alerts.BRAKE_MRM}


def _check_pins(pico, run, seen):
    """Each alert of `run` against what the chip's pins showed while it was in force."""
    timeline = pico.pin_timeline()
    for alert, nxt in zip(run.alerts, run.alerts[1:] + [None]):
        if alert["origin"] != "frame":
            continue
        level, cause = alerts.LEVELS.index(alert["level"]), alerts.CAUSES.index(alert["cause"])
        row = alerts.row_for(level, cause)
        start = alert["rx_ticks_us"] + alert["proc_us"]
        end = nxt["rx_ticks_us"] if nxt is not None and nxt.get("rx_ticks_us") else start + 500_000
        on = ever_on(timeline, start, end)
        want = _expected_pins(row)
        got = {name: on.get(name, False) for name in want}
        assert got == want, (alert["level"], alert["cause"], got, want)
        if row[alerts.TONE_HZ]:
            tones = [hz for hz, _ in values_in(timeline, "buzzer", start, end) if hz]
            assert tones and all(abs(hz - row[alerts.TONE_HZ]) <= row[alerts.TONE_HZ] * 0.01 for hz in tones), tones
        seen.add(alert["level"])


def test_the_pins_the_docs_name_the_board_file_drives_and_the_chip_shows_agree_at_every_level(pico, device):
    board = flash.load_board("pico")
    table = _wiring_table()
    assert table == {k: v for k, v in board.pins.items() if k in table}, (table, board.pins)
    seen = set()
    # driver absent: NOTICE, WARNING, TAKEOVER, then EMERGENCY with the brake request
    run = run_scenario(device, scenarios.load("euroncap-ccrs-50"), Pace(lockstep=True))
    _check_pins(pico, run, seen)
    assert {"NOTICE", "WARNING", "TAKEOVER", "EMERGENCY"} <= seen, run.alerts
    # every output pin moved at least once, on the pin the docs name
    moved = {e["pin"]: e["name"] for e in pico.pin_timeline()}
    for name in ("led_amber", "led_red", "buzzer", "haptic", "brake"):
        assert moved.get(table[name]) == name, (name, moved)
    # and back to NONE: everything off
    device.start_session()
    time.sleep(0.5)
    state = ever_on(pico.pin_timeline(), _now_us(device), _now_us(device) + 1)
    assert not any(state.get(n) for n in ("led_amber", "led_red", "buzzer", "haptic", "brake", "hazard")), state


def _now_us(device) -> int:
    """The chip's clock now (a PONG's tx_ticks_us), to look up the pins at this moment."""
    device.send("ping", token=0x7E57)
    pong = device.wait_for("pong", 5.0, match=lambda m: m["token"] == 0x7E57)
    assert pong is not None
    return pong["tx_ticks_us"]

"""`takeover flash` through the real deploy path: mpy-cross, the REPL reached directly or through
maintenance mode, mpremote's raw-paste transport, hashes on the board, soft reset, HELLO check.

On the simulated board (whatever --port says: these tests start their own). What that proves and
what it does not is in docs/boards.md, "What the simulated flash proves". The last test flashes a
real board (real_board marker).
"""

import hashlib
import json
import shutil
import subprocess
import sys
import time

import pytest
import serial

from tkfw import maintenance
from tkfw.settings import Settings

from takeover import cli, flash
from takeover.device import Device
from takeover.simboard import FIRMWARE_DIR, SimBoard


def _flash(capsys, *args):
    code = cli.main(["flash", *args])
    out, err = capsys.readouterr()
    return code, out, err


def _count(out, what):
    """The number in 'copied N files', 'N unchanged', 'removed N' of flash's summary line."""
    line = next(line for line in out.splitlines() if line.strip().startswith("copied") and "unchanged" in line)
    words = line.replace(",", "").split()
    return int(words[words.index(what) + 1]) if what in ("copied", "removed") else int(words[words.index(what) - 1])


def test_flash_port_sim_deploys_onto_an_empty_board_and_checks_the_hello():
    proc = subprocess.run([sys.executable, "-m", "takeover.cli", "flash", "--port", "sim"],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert "reached at its REPL" in proc.stdout  # an empty flash: MicroPython only
    assert f"{len(flash.build(flash.load_board('sim')).files)} files" in proc.stdout
    assert f"settings {Settings().digest():#010x}" in proc.stdout and "matches this checkout" in proc.stdout
    assert proc.stdout.strip().splitlines()[-1].startswith("flashed sim on /dev/")


@pytest.mark.slow
def test_a_second_flash_copies_nothing_and_a_changed_file_is_copied(capsys, tmp_path):
    with SimBoard() as board:  # runs the firmware from source, as a manual copy would have left it
        code, out, err = _flash(capsys, "--port", board.port, "--board", "sim")
        assert code == 0, err
        assert "through maintenance mode" in out  # the running firmware was asked, Ctrl-C cannot stop it
        built = flash.build(flash.load_board("sim"))
        assert _count(out, "removed") == len([p for p in built.files if p.endswith(".mpy")])  # the .py twins
        manifest = json.loads((board.flash_dir / flash.MANIFEST).read_text())
        assert manifest["files"] == {p: hashlib.sha256(d).hexdigest() for p, d in built.files.items()}
        for path, data in built.files.items():
            assert (board.flash_dir / path).read_bytes() == data
        assert not (board.flash_dir / maintenance.FLAG.lstrip("/")).exists()

        code, out, err = _flash(capsys, "--port", board.port, "--board", "sim")
        assert code == 0, err
        assert _count(out, "copied") == 0 and _count(out, "removed") == 0
        assert _count(out, "unchanged") == len(built.files)

        # A file changed on the board (hashes are taken on the board, not trusted from the manifest).
        (board.flash_dir / "tkfw" / "ttc.mpy").write_bytes(b"not what flash wrote")
        code, out, err = _flash(capsys, "--port", board.port, "--board", "sim")
        assert code == 0, err
        assert "copied tkfw/ttc.mpy" in out and _count(out, "copied") == 1

        # A changed source file: only its .mpy goes over, and the new code is what runs.
        firmware = tmp_path / "firmware"
        shutil.copytree(FIRMWARE_DIR, firmware, ignore=shutil.ignore_patterns("__pycache__"))
        hw_sim = firmware / "tkfw" / "hw_sim.py"
        hw_sim.write_text(hw_sim.read_text() + "\n\nFLASH_TEST_MARK = 1\n")
        code, out, err = _flash(capsys, "--port", board.port, "--board", "sim", "--firmware", str(firmware))
        assert code == 0, err
        assert "copied tkfw/hw_sim.mpy" in out and _count(out, "copied") == 1
        assert b"FLASH_TEST_MARK" in (board.flash_dir / "tkfw" / "hw_sim.mpy").read_bytes()


@pytest.mark.slow
def test_a_firmware_that_cannot_start_leaves_the_board_in_maintenance_mode_with_the_reason(capsys, tmp_path):
    broken = tmp_path / "firmware"
    shutil.copytree(FIRMWARE_DIR, broken, ignore=shutil.ignore_patterns("__pycache__"))
    ttc = broken / "tkfw" / "ttc.py"
    ttc.write_text(ttc.read_text() + "\n\nraise ImportError('broken on purpose')\n")
    with SimBoard() as board:
        code, out, err = _flash(capsys, "--port", board.port, "--board", "sim", "--firmware", str(broken))
        assert code == 2
        line = err.strip().splitlines()[-1]
        assert "no HELLO came: the firmware did not start: ImportError('broken on purpose'" in line
        assert "maintenance mode" in line
        assert (board.flash_dir / maintenance.FLAG.lstrip("/")).exists()
        code, out, err = _flash(capsys, "--port", board.port, "--board", "sim")  # fixed: flash again
        assert code == 0, err
        assert "reached at its REPL" in out and "copied tkfw/ttc.mpy" in out
        assert not (board.flash_dir / maintenance.FLAG.lstrip("/")).exists()


def test_the_maintenance_request_resets_the_firmware_into_the_repl():
    with SimBoard() as board, serial.Serial(board.port, timeout=0.1) as ser:
        ser.write(maintenance.REQUEST)
        seen = b""
        deadline = time.monotonic() + 10
        while b">>> " not in seen and time.monotonic() < deadline:
            seen += ser.read(256)
        assert maintenance.BANNER.encode() in seen and seen.endswith(b">>> ")
        assert (board.flash_dir / maintenance.FLAG.lstrip("/")).exists()
        assert [e["reset"] for e in board.events_of("boot")] == ["power", "hard"]
        # Maintenance mode outlives a soft reset: only a completed flash ends it.
        ser.write(b"\x04")
        seen = b""
        deadline = time.monotonic() + 10
        while seen.count(b">>> ") < 1 and time.monotonic() < deadline:
            seen += ser.read(256)
        assert b"soft reboot" in seen and maintenance.BANNER.encode() in seen


def test_a_header_without_the_key_is_garbage_not_a_reset():
    with Device(board="sim", port="sim") as dev:
        dev.start_session()
        dev._ser.write(maintenance.HEADER + b"NOPE")
        time.sleep(0.5)
        dev.start_session()  # still the firmware: the bytes were skipped
        assert [e["reset"] for e in dev.sim.events_of("boot")] == ["power"]


def test_flashing_a_pico_board_file_onto_the_sim_is_refused_in_one_line(capsys):
    code, out, err = _flash(capsys, "--port", "sim", "--board", "pico")
    assert code == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "--board pico (RP2040)" in lines[0] and "simulated board" in lines[0]
    assert "leave --board out" in lines[0] and "--port pico-emu" in lines[0]


@pytest.mark.real_board
def test_flashing_a_real_board_twice_copies_nothing_the_second_time(port, capsys):
    with Device(port) as dev:
        board = dev.start_session().board
    for copies in (None, 0):
        code, out, err = _flash(capsys, "--port", port, "--board", board)
        assert code == 0, err
        assert "matches this checkout" in out
        if copies is not None:
            assert _count(out, "copied") == copies

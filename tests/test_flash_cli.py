"""Board files, `takeover ports` and the one-line errors of `takeover flash`, without a board."""

import ast
import os
import re
import subprocess
import sys
import tty
from pathlib import Path
from types import SimpleNamespace

import pytest
import serial

from takeover import cli, flash
from takeover.errors import LinkError, SetupError, UsageError

ROOT = Path(__file__).resolve().parents[1]
BOARDS = ("pico", "pico_w", "pico2", "sim")
# Raspberry Pi Pico / Pico W / Pico 2 header: GPIO -> physical pin (the three share it).
PICO_HEADER = {0: 1, 1: 2, 2: 4, 3: 5, 4: 6, 5: 7, 6: 9, 7: 10, 8: 11, 9: 12, 10: 14, 11: 15, 12: 16, 13: 17,
               14: 19, 15: 20, 16: 21, 17: 22, 18: 24, 19: 25, 20: 26, 21: 27, 22: 29, 26: 31, 27: 32, 28: 34}
ROLES = {"led_red", "led_amber", "buzzer", "haptic", "brake", "hazard", "hands_on"}


def _one_error_line(capsys, argv):
    code = cli.main(argv)
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1 and err[0].startswith("takeover: error: "), err
    return err[0]


@pytest.mark.parametrize("name", BOARDS)
def test_every_board_file_says_its_micropython_and_mpy(name):
    board = flash.load_board(name)
    assert board.name == name
    assert board.mpy_version == "6.3"
    assert board.link == "usb"
    if name == "sim":
        assert board.mpy_arch is None and board.backend == "sim"
        return
    assert board.backend == "rp2" and board.port == "rp2"
    assert board.download == f"https://micropython.org/download/{board.micropython_board}/"
    assert board.mpy_arch == {"RP2040": "armv6m", "RP2350": "armv7emsp"}[board.chip]
    pins = ast.literal_eval(re.search(r"^PINS = (\{.*?\n\})", board.path.read_text(), re.M | re.S).group(1))
    assert ROLES <= set(pins)
    gpios = [pins[r] for r in ROLES]
    assert len(set(gpios)) == len(gpios) and all(g in PICO_HEADER for g in gpios)
    # The Pico W's onboard LED is on the wireless chip; GP25 there is the chip's SPI select.
    assert pins["led_status"] == ("LED" if board.wireless else 25)


def test_the_three_picos_are_wired_alike_and_docs_boards_md_says_how():
    pins = {}
    for name in ("pico", "pico_w", "pico2"):
        text = flash.load_board(name).path.read_text()
        pins[name] = ast.literal_eval(re.search(r"^PINS = (\{.*?\n\})", text, re.M | re.S).group(1))
        pins[name].pop("led_status")
    assert pins["pico"] == pins["pico_w"] == pins["pico2"]
    doc = (ROOT / "docs" / "boards.md").read_text()
    for role, gpio in pins["pico"].items():
        row = re.search(rf"^\| `{role}` \| GP{gpio} \| (\d+) \|", doc, re.M)
        assert row, f"docs/boards.md has no row for {role} on GP{gpio}"
        assert int(row.group(1)) == PICO_HEADER[gpio], f"{role}: GP{gpio} is physical pin {PICO_HEADER[gpio]}"


def test_build_compiles_the_hot_modules_natively_for_each_chip():
    for name, arch in (("pico", 4), ("pico2", 7)):  # armv6m, armv7emsp in .mpy's numbering
        built = flash.build(flash.load_board(name))
        assert built.native == sorted(flash.NATIVE)
        assert built.files["main.py"] == (ROOT / "firmware" / "main.py").read_bytes()
        assert built.files["board.py"] == (ROOT / "boards" / f"{name}.py").read_bytes()
        for path, data in built.files.items():
            if path.endswith(".mpy"):
                assert data[:2] == b"M\x06"
                native = path[:-4] + ".py" in flash.NATIVE
                assert data[2] >> 2 == (arch if native else 0), path
    sim = flash.build(flash.load_board("sim"))
    assert sim.native == [] and all(d[2] == 0 for p, d in sim.files.items() if p.endswith(".mpy"))


def _port(device, vid=None, pid=None, **extra):
    return SimpleNamespace(device=device, vid=vid, pid=pid, serial_number=extra.get("serial_number"),
                           manufacturer=extra.get("manufacturer"), product=extra.get("product"),
                           description=extra.get("description", "n/a"))


def test_ports_marks_raspberry_pi_boards_and_micropython(monkeypatch, capsys):
    monkeypatch.setattr(serial.tools.list_ports, "comports", lambda: [
        _port("/dev/ttyUSB0", 0x10C4, 0xEA60, product="CP2102 USB to UART Bridge Controller"),
        _port("/dev/ttyACM1", 0x2E8A, 0x000A, product="Pico", serial_number="E6614103E7"),
        _port("/dev/ttyACM0", 0x2E8A, 0x0005, manufacturer="MicroPython", product="Board in FS mode",
              serial_number="E66141040396"),
        _port("/dev/ttyS0"),
    ])
    assert cli.main(["ports"]) == 0
    lines = capsys.readouterr().out.splitlines()
    row = {line.split()[0]: line for line in lines[1:]}
    assert "2e8a:0005" in row["/dev/ttyACM0"] and "Raspberry Pi RP2 board, MicroPython" in row["/dev/ttyACM0"]
    assert "serial E66141040396" in row["/dev/ttyACM0"]
    assert "not MicroPython" in row["/dev/ttyACM1"] and "0x000a" in row["/dev/ttyACM1"]
    assert "Raspberry Pi" not in row["/dev/ttyUSB0"] and "CP2102" in row["/dev/ttyUSB0"]
    assert row["/dev/ttyS0"].split()[1:3] == ["-", "-"]
    assert lines[-1].startswith("flash one with: takeover flash --port /dev/ttyACM0 --board pico")


def test_ports_with_none_attached_says_where_a_bootsel_pico_is(monkeypatch, capsys):
    monkeypatch.setattr(serial.tools.list_ports, "comports", lambda: [])
    assert cli.main(["ports"]) == 0
    assert "BOOTSEL" in capsys.readouterr().out


def test_ports_with_only_the_machines_own_uarts_says_no_board_is_plugged_in(monkeypatch, capsys):
    monkeypatch.setattr(serial.tools.list_ports, "comports", lambda: [_port("/dev/ttyS0")])
    assert cli.main(["ports"]) == 0
    out = capsys.readouterr().out
    assert "no USB serial port" in out and "/dev/ttyACM0" in out and "--port sim" in out


def test_flash_an_unknown_board_is_one_line(capsys):
    line = _one_error_line(capsys, ["flash", "--port", "sim", "--board", "pico3"])
    assert "unknown board 'pico3'" in line and "pico, pico2, pico_w, sim" in line


def test_flash_a_real_port_needs_a_board(capsys):
    line = _one_error_line(capsys, ["flash", "--port", "/dev/ttyACM0"])
    assert "--board is required" in line and "pico, pico2, pico_w" in line


def test_flash_a_missing_port_is_one_line(capsys):
    line = _one_error_line(capsys, ["flash", "--port", "/dev/nonexistent-tty", "--board", "pico"])
    assert "cannot open port /dev/nonexistent-tty" in line and "takeover ports" in line


@pytest.fixture
def pty_port():
    """A serial port with nothing behind it (as a board without MicroPython would be)."""
    master, slave = os.openpty()
    tty.setraw(slave)
    yield os.ttyname(slave)
    os.close(master)
    os.close(slave)


def test_flash_a_busy_port_is_one_line(capsys, pty_port):
    with serial.Serial(pty_port, exclusive=True):  # what mpremote or another flash would hold
        line = _one_error_line(capsys, ["flash", "--port", pty_port, "--board", "pico"])
    assert f"port {pty_port} is busy" in line


@pytest.mark.parametrize("command", [["run", "su7-construction-zone"], ["config"], ["bench"]])
def test_every_command_refuses_a_port_another_program_holds_naming_it(capsys, pty_port, command):
    holder = subprocess.Popen([sys.executable, "-c", "import serial, sys, time\n"
                               f"s = serial.Serial({pty_port!r}, exclusive=True)\n"
                               "print('open', flush=True)\ntime.sleep(30)"], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "open"
        line = _one_error_line(capsys, [*command, "--port", pty_port])
    finally:
        holder.kill()
        holder.wait()
    assert f"port {pty_port} is busy (used by PID {holder.pid}: " in line


@pytest.mark.slow
def test_flash_a_board_without_micropython_says_how_to_install_it(capsys, pty_port):
    line = _one_error_line(capsys, ["flash", "--port", pty_port, "--board", "pico2"])
    assert f"no MicroPython on {pty_port}" in line
    assert "BOOTSEL" in line and "https://micropython.org/download/RPI_PICO2/" in line


def test_a_micropython_too_old_for_the_mpy_format_is_refused_with_what_to_install():
    pico = flash.load_board("pico")
    old = 6 | (1 << 8) | (4 << 10)  # MicroPython 1.21: .mpy 6.1, armv6m
    with pytest.raises(SetupError) as exc:
        flash.check_micropython(pico, (1, 21, 0), old, "Raspberry Pi Pico with RP2040", "/dev/ttyACM0", True, "6.3")
    text = str(exc.value)
    assert "MicroPython 1.21.0 on /dev/ttyACM0 loads .mpy 6.1" in text and "install the current MicroPython" in text
    assert pico.download in text
    mpy_v5 = 5 | (4 << 10)
    with pytest.raises(SetupError, match="loads .mpy 5.0"):
        flash.check_micropython(pico, (1, 18, 0), mpy_v5, "Raspberry Pi Pico with RP2040", "p", False, "6.3")
    # bytecode only: the sub-version does not matter
    flash.check_micropython(flash.load_board("sim"), (1, 22, 0), 6 | (2 << 8), "JS with Emscripten", "p", False, "6.3")


def test_the_wrong_board_file_is_refused_naming_the_right_one():
    current = 6 | (3 << 8)
    cases = [("pico", "Raspberry Pi Pico2 with RP2350", 7, "pico2"),
             ("pico", "Raspberry Pi Pico W with RP2040", 4, "pico_w"),
             ("pico_w", "Raspberry Pi Pico with RP2040", 4, "pico"),
             ("pico2", "Raspberry Pi Pico with RP2040", 4, "pico")]
    for name, machine, arch, right in cases:
        with pytest.raises(UsageError, match=f"use --board {right}$"):
            flash.check_micropython(flash.load_board(name), (1, 27, 0), current | (arch << 10), machine, "p", True, "6.3")
    for name, machine, arch in (("pico", "Raspberry Pi Pico with RP2040", 4),
                                ("pico_w", "Raspberry Pi Pico W with RP2040", 4),
                                ("pico2", "Raspberry Pi Pico2 with RP2350", 7)):
        flash.check_micropython(flash.load_board(name), (1, 27, 0), current | (arch << 10), machine, "p", True, "6.3")


class _ExecHere:
    """A raw REPL that runs each statement in CPython, in the test's folder; fails where told."""

    def __init__(self, fail_at=None, error=""):
        self.ns, self.statements, self.fail_at, self.error = {}, [], fail_at, error

    def exec(self, code):
        from mpremote.transport import TransportExecError

        self.statements.append(code)
        if len(self.statements) == self.fail_at:
            raise TransportExecError(1, self.error)
        exec(code, self.ns)
        return b""


def test_a_file_is_written_in_base64_statements_and_reads_back_the_same(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    data = bytes(range(256)) * 20 + b"\x00tail"  # 5125 bytes: three whole chunks and a short one
    repl = _ExecHere()
    flash.write_file(repl, "module.mpy", data)
    assert (tmp_path / "module.mpy").read_bytes() == data
    writes = repl.statements[1:-1]
    assert len(writes) == -(-len(data) // flash.WRITE_CHUNK)
    assert sum(len(s) for s in writes) < 1.4 * len(data)  # repr() of the same bytes: about 2.6x
    assert not any(name in repl.ns for name in ("_f", "_w", "_d"))  # nothing left in the board's globals


def test_a_write_the_board_refuses_is_one_line_naming_the_file_and_the_reason(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "tkfw").mkdir()
    repl = _ExecHere(fail_at=3, error="Traceback (most recent call last):\n  File \"<stdin>\", line 1\n"
                                      "OSError: [Errno 28] ENOSPC\n")
    with pytest.raises(LinkError) as err:
        flash.write_file(repl, "tkfw/app.mpy", bytes(4000))
    message = str(err.value)
    assert "\n" not in message and "tkfw/app.mpy" in message and "ENOSPC" in message
    assert "No space left on device" in message and "maintenance mode" in message

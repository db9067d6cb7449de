"""The firmware type-checks against MicroPython's rp2 stubs, not against CPython's typeshed.

pyright with firmware/pyrightconfig.json; pyright and the stubs are pinned in the `test` extra.
The PyPI pyright wheel carries pyright itself and runs it on Node.js (needed for the sim board
anyway): nothing is downloaded when the check runs. What is checked, what is not and why:
docs/typecheck.md.
"""

import ast
import json
import re
import subprocess
import sys
import sysconfig
import warnings
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow  # `make check` leaves these out

ROOT = Path(__file__).resolve().parents[1]
FIRMWARE = ROOT / "firmware"
CONFIG = FIRMWARE / "pyrightconfig.json"


def _pyright(*files):
    """pyright's JSON report for the firmware (or for `files`, under the firmware's config)."""
    venv = Path(sys.prefix)
    if venv.name != ".venv" or sys.prefix == sys.base_prefix:
        pytest.fail(f"the firmware type check reads the stubs from a venv named .venv ({CONFIG}: "
                    f"\"venv\"), this is {sys.prefix}: run it through `make test`")
    # -t: micropython-stdlib-stubs' stdlib/ replaces CPython's typeshed; it sits in site-packages,
    # whose path depends on the Python version, so it cannot be written in the config.
    cmd = [sys.executable, "-m", "pyright", "--outputjson", "-p", str(CONFIG),
           "-t", sysconfig.get_paths()["purelib"], "-v", str(venv.parent), *map(str, files)]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=300, cwd=ROOT)
    try:
        return json.loads(proc.stdout)
    except ValueError:
        pytest.fail(f"pyright did not run (exit {proc.returncode}): {' '.join(cmd)}\n"
                    f"{proc.stdout}\n{proc.stderr}")


def _lines(diagnostics, brief=False):
    out = []
    for d in diagnostics:
        path = Path(d["file"])
        where = path.relative_to(ROOT) if path.is_relative_to(ROOT) else path.name
        start = d["range"]["start"]
        message = d["message"].splitlines()[0] if brief else d["message"]
        out.append(f"{where}:{start['line'] + 1}:{start['character'] + 1} {d['severity']} "
                   f"[{d.get('rule', '-')}] {message}")
    return "\n".join(out)


def test_firmware_type_checks_against_the_rp2_stubs():
    report = _pyright()
    sources = [p for p in FIRMWARE.rglob("*.py") if "typings" not in p.parts]
    # A config that silently left files out would pass: every firmware file is analysed.
    assert report["summary"]["filesAnalyzed"] == len(sources), report["summary"]
    found = report["generalDiagnostics"]
    errors = [d for d in found if d["severity"] == "error"]
    assert not errors, f"pyright, firmware/pyrightconfig.json:\n{_lines(errors)}"
    later = [d for d in found if d["severity"] == "warning"]
    if later:  # core-file findings downgraded in the config until their owners fix them
        warnings.warn(f"firmware type check, {len(later)} known finding(s), docs/typecheck.md:\n"
                      f"{_lines(later, brief=True)}", stacklevel=1)


# Each line marked "# CPython" exists only in CPython and must be an error; every other line is
# MicroPython's rp2 API (absent from or different in CPython's typeshed) and must check clean.
_PROBE = """\
import array
import machine
import micropython
import select
import sys
import time
import uctypes
from micropython import const

_PERIOD_MS = const(50)
micropython.kbd_intr(-1)
pin = machine.Pin(15, machine.Pin.OUT)
pin.value(1)
pwm = machine.PWM(machine.Pin(16))
pwm.duty_u16(32768)
machine.WDT(timeout=2000).feed()
t = time.ticks_diff(time.ticks_us(), time.ticks_add(time.ticks_ms(), _PERIOD_MS))
poller = select.poll()
poller.register(sys.stdin, select.POLLIN)
for _ in poller.ipoll(0):
    pass
words = array.array("i", bytes(8))
raw = uctypes.bytearray_at(uctypes.addressof(words), 8)
t2 = time.perf_counter_ns()  # CPython
t3 = time.monotonic()  # CPython
name = "tkfw.app".removeprefix("tkfw.")  # CPython
import dataclasses  # CPython
"""


def test_the_check_reads_micropython_not_cpython(tmp_path):
    probe = tmp_path / "probe.py"
    probe.write_text(_PROBE)
    found = _pyright(probe)["generalDiagnostics"]
    wrong = {i + 1 for i, line in enumerate(_PROBE.splitlines()) if line.endswith("# CPython")}
    flagged = {d["range"]["start"]["line"] + 1 for d in found if d["severity"] == "error"}
    assert flagged == wrong, _lines(found)


def test_the_simio_stub_names_what_the_runner_registers():
    """firmware/typings/simio.pyi stands in for the runner's JS module: the same functions."""
    stub = ast.parse((FIRMWARE / "typings" / "simio.pyi").read_text())
    stubbed = {node.name for node in stub.body if isinstance(node, ast.FunctionDef)}
    runner = (ROOT / "host" / "takeover" / "simboard" / "runner.mjs").read_text()
    board_mode = runner[runner.rindex('registerJsModule("simio", {'):]  # the last: board mode
    board_mode = board_mode[:re.search(r"^\}\);", board_mode, re.M).start()]
    registered = set(re.findall(r"^  (\w+)\(", board_mode, re.M))
    assert registered, "runner.mjs: no simio methods found (format changed?)"
    assert stubbed == registered, f"only in the stub: {stubbed - registered}, " \
                                  f"only in runner.mjs: {registered - stubbed}"

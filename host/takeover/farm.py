"""A local labgrid farm on loopback: `takeover farm up` and `takeover farm down`.

One labgrid coordinator and one labgrid exporter per board, each a process of its own, as on a
lab's PCs; the boards are simulated ones (the firmware on the MicroPython VM) or emulated Picos,
each behind a pseudo-terminal that its exporter publishes through ser2net as a RawSerialPort. A
place per board names it and carries its tags: `board` (the board definition: sim, pico, ...)
and `kind` (sim, pico-emu; on a real bench pico, pico_w, pico2).

How each board's serial port reaches the network (--serial):
    ser2net    the keeper runs ser2net for the board, with tcp(nodelay) and chardelay: false, and the
               exporter publishes it as a NetworkSerialPort (the default: a frame's reply in about a
               millisecond)
    exporter   labgrid's own way for a local port: the exporter publishes a RawSerialPort and runs
               ser2net for it, with ser2net's defaults, while the place is acquired (replies wait
               up to 40 ms in ser2net's timers; docs/hil.md)

`up` starts a keeper process (`python -m takeover.farm serve DIR BOARDS SERIAL`) in a session of its own
and waits until every place has its serial port. The keeper owns the boards and starts the
coordinator and the exporters; `down` sends it SIGTERM and it stops them all. DIR holds the
keeper's state (farm.json), its log, the coordinator's files and the exporters' configurations.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

from takeover.errors import LinkError, SetupError, UsageError

KINDS = ("sim", "pico-emu")
STATE = "farm.json"
LOG = "farm.log"
UP_TIMEOUT_S = 180.0  # an emulated Pico with an empty flash is flashed first (about 15 s, slower when busy)


def default_dir() -> Path:
    from takeover.picoemu import cache_dir

    return cache_dir() / "farm"


def _labgrid(tool: str) -> list[str]:
    """A labgrid program, run by this interpreter (its venv holds labgrid)."""
    return [sys.executable, "-m", f"labgrid.remote.{tool}"]


def check_tools() -> None:
    """One line for each thing a farm needs that is missing."""
    try:
        import labgrid  # noqa: F401
    except ImportError:
        raise SetupError("a farm needs labgrid: pip install -e '.[farm]' (make setup installs it)") from None
    if ser2net_binary() is None:
        raise SetupError("a farm needs ser2net, which labgrid's exporter runs for each serial port: "
                         "sudo apt-get install ser2net (Debian, Ubuntu) or your system's package")


def _which(name: str) -> str | None:
    import shutil

    return shutil.which(name)


def parse_boards(text: str) -> list[str]:
    boards = [b.strip() for b in text.split(",") if b.strip()]
    if not boards:
        raise UsageError("--boards names no board: e.g. --boards sim,pico-emu")
    for b in boards:
        if b not in KINDS:
            raise UsageError(f"--boards: unknown board kind {b!r}: a local farm has {', '.join(KINDS)}")
    return boards


def read_state(folder: Path) -> dict | None:
    try:
        return json.loads((folder / STATE).read_text())
    except (OSError, ValueError):
        return None


def is_up(state: dict) -> bool:
    """The farm this state describes is still running (its keeper is alive)."""
    return _alive(state.get("pid", 0))


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


SERIAL = ("ser2net", "exporter")


def up(folder: Path, boards: list[str], serial: str = "ser2net", log=print) -> dict:
    """Start a farm in `folder` and wait until its places are ready; returns its state."""
    check_tools()
    folder.mkdir(parents=True, exist_ok=True)
    state = read_state(folder)
    if state and _alive(state.get("pid", 0)):
        raise UsageError(f"a farm is already up in {folder} (coordinator {state.get('coordinator')}): "
                         f"`takeover farm down` first")
    (folder / STATE).unlink(missing_ok=True)
    with open(folder / LOG, "w") as out:
        keeper = subprocess.Popen([sys.executable, "-m", "takeover.farm", "serve", str(folder), ",".join(boards),
                                   serial],
                                  stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                                  start_new_session=True)  # outlives this command, and its terminal's Ctrl-C
    deadline = time.monotonic() + UP_TIMEOUT_S
    said = 0
    try:
        while time.monotonic() < deadline:
            state = read_state(folder)
            if state and state.get("ready"):
                return state
            if keeper.poll() is not None:
                raise LinkError(f"the farm did not start: {_log_tail(folder)}")
            lines = _log_lines(folder)
            for line in lines[said:]:
                if line.startswith("farm: "):
                    log(line)
            said = len(lines)
            time.sleep(0.2)
        raise LinkError(f"the farm was not ready after {UP_TIMEOUT_S:.0f} s: {_log_tail(folder)}")
    except BaseException:
        _stop_keeper(keeper.pid)
        raise


def down(folder: Path, log=print) -> bool:
    """Stop the farm in `folder`; False when none was up."""
    state = read_state(folder)
    if not state or not _alive(state.get("pid", 0)):
        (folder / STATE).unlink(missing_ok=True)
        return False
    _stop_keeper(state["pid"])
    return True


def _stop_keeper(pid: int, timeout: float = 30.0) -> None:
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            done, _ = os.waitpid(pid, os.WNOHANG)  # our own child (farm up that failed)
            if done:
                return
        except ChildProcessError:
            pass
        if not _alive(pid):
            return
        time.sleep(0.1)
    os.killpg(pid, signal.SIGKILL)  # the keeper leads its session: its children go with it


def holders(coordinator: str) -> dict[str, str]:
    """place -> "host/user" for every place someone holds (labgrid-client who)."""
    held = {}
    for line in _client(coordinator, "who").splitlines()[1:]:
        words = line.split()
        if len(words) >= 3:
            held[words[2]] = f"{words[1]}/{words[0]}"
    return held


def _log_lines(folder: Path) -> list[str]:
    try:
        return (folder / LOG).read_text(errors="replace").splitlines()
    except OSError:
        return []


def _log_tail(folder: Path) -> str:
    lines = [line for line in _log_lines(folder) if line.strip()]
    return " / ".join(lines[-3:]) or f"nothing in {folder / LOG}"


# -- the keeper -----------------------------------------------------------------------------------
def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_listening(port: int, proc: subprocess.Popen, timeout: float) -> None:
    """Until something accepts connections on loopback `port`; an error if `proc`, which should
    serve it, exits first or the wait runs out."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise LinkError(f"{_what(proc)} exited ({proc.returncode})")
        try:
            # (a connection that closes at once is no client: ser2net's one slot is free again)
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise LinkError(f"{_what(proc)} is not listening on port {port} after {timeout:.0f} s")


def _what(proc: subprocess.Popen) -> str:
    """A process the farm started, by the name its user knows: labgrid-exporter, ser2net."""
    args = proc.args
    return f"labgrid-{args[2].rsplit('.', 1)[-1]}" if args[1:2] == ["-m"] else Path(args[0]).name


def _client(coordinator: str, *args: str) -> str:
    proc = subprocess.run([*_labgrid("client"), "-x", coordinator, *args], capture_output=True, text=True,
                          timeout=60)
    if proc.returncode != 0:
        raise LinkError(f"labgrid-client {' '.join(args)}: {(proc.stderr or proc.stdout).strip().splitlines()[-1:]}")
    return proc.stdout


def _say(text: str) -> None:
    print(f"farm: {text}", flush=True)


def serve(folder: Path, boards: list[str], serial: str = "ser2net") -> int:
    """Run the farm until SIGTERM, SIGINT or SIGHUP; then stop everything it started."""
    from takeover import ports
    from takeover.picoemu import PicoEmu
    from takeover.simboard import SimBoard

    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(signum, lambda *_: stop.set())
    procs: list[subprocess.Popen] = []
    started = []
    code = 0
    try:
        port = free_port()
        coordinator = f"127.0.0.1:{port}"
        procs.append(subprocess.Popen([*_labgrid("coordinator"), "-l", coordinator], cwd=folder,
                                      stdin=subprocess.DEVNULL))
        _wait_listening(port, procs[0], 30.0)
        _say(f"coordinator at {coordinator}")
        places = []
        for k, kind in enumerate(boards, 1):
            name = f"{kind}-{k}"
            if kind == "sim":
                board = SimBoard("sim")
                path = board.start()
                board_name = "sim"
            else:
                board = PicoEmu(folder / f"{name}.img", "pico")
                path = board.start()
                board_name = "pico"
                ports.ensure_firmware(board, _say)
            started.append(board)
            config = folder / f"exporter-{name}.yaml"
            if serial == "exporter":  # labgrid's own way: the exporter runs ser2net, with its defaults
                config.write_text(f"{name}:\n  RawSerialPort:\n    port: {json.dumps(path)}\n    speed: 115200\n")
            else:
                tcp = free_port()
                procs.append(start_ser2net(folder, name, path, tcp))
                config.write_text(f"{name}:\n  NetworkSerialPort:\n    host: 127.0.0.1\n    port: {tcp}\n"
                                  f"    speed: 115200\n    protocol: rfc2217\n")
            procs.append(subprocess.Popen([*_labgrid("exporter"), "-c", coordinator, "-n", f"farm-{name}",
                                           "--hostname", "127.0.0.1", str(config)], cwd=folder,
                                          stdin=subprocess.DEVNULL))
            _client(coordinator, "-p", name, "create")
            _client(coordinator, "-p", name, "add-match", f"farm-{name}/{name}/NetworkSerialPort")
            _client(coordinator, "-p", name, "set-tags", f"board={board_name}", f"kind={kind}")
            places.append({"name": name, "board": board_name, "kind": kind, "tty": path})
            _say(f"place {name}: {kind} board on {path}, exported by farm-{name}")
        _wait_resources(coordinator, [p["name"] for p in places], procs, stop)
        state = {"pid": os.getpid(), "coordinator": coordinator, "places": places, "serial": serial, "ready": True}
        tmp = folder / (STATE + ".tmp")
        tmp.write_text(json.dumps(state, indent=1))
        tmp.replace(folder / STATE)
        _say("ready")
        while not stop.is_set():
            for proc in procs:
                if proc.poll() is not None:
                    _say(f"{_what(proc)} exited ({proc.returncode}): stopping the farm")
                    stop.set()
                    code = 1
            for board in started:
                if not board.alive():
                    _say(f"{board.what} exited: {board.stderr_tail()}: stopping the farm")
                    stop.set()
                    code = 1
            stop.wait(0.5)
    except (LinkError, SetupError, OSError) as exc:
        _say(f"error: {exc}")
        code = 1
    finally:
        (folder / STATE).unlink(missing_ok=True)
        for proc in reversed(procs):  # exporters first (each stops its ser2net), then the coordinator
            proc.terminate()
        for proc in reversed(procs):
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        for board in started:
            board.stop()
        _say("down")
    return code


def ser2net_binary() -> str | None:
    return _which("ser2net") or next((p for p in ("/usr/sbin/ser2net", "/usr/bin/ser2net") if Path(p).is_file()), None)


def start_ser2net(folder: Path, name: str, tty: str, tcp: int) -> subprocess.Popen:
    """ser2net for one board, as docs/hil.md measured it best: tcp(nodelay) and chardelay: false
    (with its defaults a frame's reply waits up to 40 ms in a TCP or character timer). One client
    at a time: the place's holder."""
    config = folder / f"ser2net-{name}.yaml"
    config.write_text(
        f"connection: &{name}\n"
        f"  accepter: telnet(rfc2217),tcp(nodelay),127.0.0.1,{tcp}\n"
        f"  connector: serialdev(nouucplock=true),{tty},115200n81,local\n"
        f"  options:\n"
        f"    max-connections: 1\n"
        f"    chardelay: false\n")
    proc = subprocess.Popen([ser2net_binary(), "-n", "-d", "-c", str(config)], cwd=folder, stdin=subprocess.DEVNULL)
    try:
        _wait_listening(tcp, proc, 10.0)
    except LinkError as exc:
        proc.kill()
        proc.wait()
        raise LinkError(f"board {name}: {exc}") from None
    return proc


def _wait_resources(coordinator: str, names: list[str], procs, stop, timeout: float = 60.0) -> None:
    """Until the coordinator knows every place's serial port from its exporter."""
    deadline = time.monotonic() + timeout
    missing = names
    while time.monotonic() < deadline and not stop.is_set():
        listing = _client(coordinator, "resources")
        missing = [n for n in names if f"farm-{n}/{n}/NetworkSerialPort" not in listing]
        if not missing:
            return
        for proc in procs:
            if proc.poll() is not None:
                raise LinkError(f"{_what(proc)} exited ({proc.returncode})")
        time.sleep(0.5)
    raise LinkError(f"no serial port exported for {', '.join(missing)} after {timeout:.0f} s")


if __name__ == "__main__":
    if len(sys.argv) != 5 or sys.argv[1] != "serve" or sys.argv[4] not in SERIAL:
        sys.exit("usage: python -m takeover.farm serve DIR BOARDS ser2net|exporter (takeover farm up runs this)")
    sys.exit(serve(Path(sys.argv[2]), parse_boards(sys.argv[3]), sys.argv[4]))

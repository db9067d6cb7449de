"""A labgrid place, held for one command: `--port labgrid:PLACE`.

labgrid (https://labgrid.readthedocs.io) shares boards between people and CI jobs: a coordinator
knows the places (a board each) and who holds them, exporters publish each board's serial port
through ser2net as a NetworkSerialPort (RFC 2217). Acquiring a place makes its exporter start
ser2net for it; releasing it stops ser2net again.

The place is held by a small guard process, not by the command itself, so that it is released
however the command ends: on exit, Ctrl-C, SIGTERM, an exception, or a SIGKILL the command never
sees (the guard reads its standard input; the command's end closes that pipe). The guard runs in a
session of its own, so a Ctrl-C at the terminal reaches the command, which finishes the board's
drive, and only then lets the place go.

The guard's standard output, one line each:
    wait HOLDER            the place is held by HOLDER (host/user); said again when that changes
    ready URL BOARD KIND   acquired: the serial port's URL, the place's board and kind tags
    error TEXT             it cannot be had (unknown place, no coordinator, timed out)
    released               let go, after its standard input closed or a SIGTERM
"""

from __future__ import annotations

import os
import select
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from urllib.parse import parse_qs

from takeover.errors import LinkError, SetupError, UsageError

DEFAULT_COORDINATOR = "127.0.0.1:20408"  # labgrid's own default, as labgrid-client takes it
DEFAULT_WAIT_S = 600.0  # how long a command waits for a place someone else holds


@dataclass
class Spec:
    place: str
    coordinator: str
    wait_s: float


def parse(rest: str) -> Spec:
    """`PLACE[?wait=SECONDS]` (what follows `labgrid:`); the coordinator is LG_COORDINATOR, as for
    labgrid-client, or labgrid's default."""
    place, _, query = rest.partition("?")
    if not place:
        raise UsageError("labgrid: names no place: give --port labgrid:PLACE (`labgrid-client places` lists them)")
    wait_s = DEFAULT_WAIT_S
    for key, values in parse_qs(query, keep_blank_values=True).items():
        if key != "wait":
            raise UsageError(f"labgrid:{rest}: unknown option {key!r} (labgrid:PLACE?wait=SECONDS)")
        try:
            wait_s = float(values[-1])
        except ValueError:
            wait_s = -1.0
        if not 0 <= wait_s < 1e6:
            raise UsageError(f"labgrid:{rest}: wait must be a number of seconds, 0 or more")
    return Spec(place, os.environ.get("LG_COORDINATOR", DEFAULT_COORDINATOR), wait_s)


class Lease:
    """A place held by a guard process; `release()` (or the end of this process) lets it go."""

    def __init__(self, spec: Spec, log):
        self.spec = spec
        self.log = log
        self.url = ""
        self.board = ""
        self.kind = ""
        self._proc: subprocess.Popen | None = None

    def acquire(self) -> str:
        try:
            import labgrid  # noqa: F401  (only to say what to install)
        except ImportError:
            raise SetupError("--port labgrid:PLACE needs labgrid: pip install -e '.[farm]' (or make setup)") from None
        self._proc = subprocess.Popen(
            [sys.executable, "-m", "takeover.labgrid_lease", self.spec.coordinator, self.spec.place,
             str(self.spec.wait_s)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
            start_new_session=True)  # the terminal's Ctrl-C is the command's to handle, not the guard's
        try:
            for line in self._proc.stdout:
                word, _, rest = line.strip().partition(" ")
                if word == "wait":
                    self.log(f"labgrid: place {self.spec.place} is held by {rest}: waiting for it "
                             f"(up to {self.spec.wait_s:.0f} s; Ctrl-C gives up)")
                elif word == "ready":
                    self.url, self.board, self.kind = (rest.split() + ["", "", ""])[:3]
                    self.log(f"labgrid: acquired place {self.spec.place} ({self.board or 'board?'}, "
                             f"{self.kind or 'kind?'}) at {self.spec.coordinator}: {self.url}")
                    return self.url
                elif word == "error":
                    raise LinkError(f"labgrid: {rest}")
            raise LinkError(f"labgrid: the guard for place {self.spec.place} ended without an answer")
        except BaseException:
            self.release()
            raise

    def release(self) -> None:
        proc, self._proc = self._proc, None
        if proc is None:
            return
        try:
            proc.stdin.close()  # the guard releases the place and exits
        except OSError:
            pass
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.terminate()  # a SIGTERM releases too
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        if proc.stdout is not None:
            proc.stdout.close()


# -- the guard ------------------------------------------------------------------------------------
def _say(text: str) -> None:
    print(text, flush=True)


def _serial_port(session, place) -> tuple[str, str] | None:
    """The acquired place's NetworkSerialPort as (host, port), once its exporter has ser2net up."""
    for (_name, cls), resource in session.get_target_resources(place).items():
        if cls == "NetworkSerialPort" and resource.avail:
            params = resource.args
            if params.get("port"):
                return params.get("host") or "127.0.0.1", str(params["port"])
    return None


def guard(coordinator: str, name: str, wait_s: float) -> int:
    import asyncio

    import grpc
    from labgrid.remote.client import Error as LabgridError, start_session
    from labgrid.remote.generated import labgrid_coordinator_pb2 as pb

    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGHUP, lambda *_: stop.set())
    try:
        session = start_session(coordinator)
    except (LabgridError, grpc.RpcError, OSError) as exc:
        _say(f"error no coordinator answers at {coordinator} ({exc}): start one "
             "(`takeover farm up` starts a local farm) or set LG_COORDINATOR")
        return 1
    loop = session.loop

    def pause(seconds: float) -> None:
        loop.run_until_complete(asyncio.sleep(seconds))  # lets the session take the coordinator's news

    acquired = False
    try:
        place = session.places.get(name)
        if place is None:
            names = ", ".join(sorted(session.places)) or "none"
            _say(f"error no place {name!r} at {coordinator} (places: {names})")
            return 1
        deadline = time.monotonic() + wait_s
        said = None
        while not acquired:
            if stop.is_set() or _stdin_closed():
                return 0
            place = session.places.get(name)
            if place is None:
                _say(f"error place {name} was deleted while waiting for it")
                return 1
            if place.acquired:
                if place.acquired != said:
                    _say(f"wait {place.acquired}")
                    said = place.acquired
            else:
                try:
                    loop.run_until_complete(session.stub.AcquirePlace(pb.AcquirePlaceRequest(placename=name)))
                    loop.run_until_complete(session.sync_with_coordinator())
                    acquired = True
                    break
                except grpc.aio.AioRpcError:
                    pass  # taken between the look and the request: wait for it like any holder
            if time.monotonic() >= deadline:
                _say(f"error place {name} still held by {said} after {wait_s:.0f} s: try later, or "
                     f"ask them to release it (labgrid-client -p {name} release)")
                return 1
            pause(0.5)
        found = None
        ready_by = time.monotonic() + 15.0
        while found is None and time.monotonic() < ready_by and not stop.is_set():
            found = _serial_port(session, session.places[name])
            if found is None:
                pause(0.1)
        if found is None:
            _say(f"error place {name} has no serial port available (is its exporter running, with ser2net "
                 "installed?)")
            return 1
        tags = session.places[name].tags
        # ser2net 4 never answers RFC 2217's SET_CONTROL, which pyserial's client waits for on open
        # unless told not to: ign_set_control.
        url = f"rfc2217://{found[0]}:{found[1]}?ign_set_control"
        _say(f"ready {url} {tags.get('board', '')} {tags.get('kind', '')}".rstrip())
        while not stop.is_set() and not _stdin_closed(timeout=0.5):
            pass
        return 0
    finally:
        if acquired:
            try:
                loop.run_until_complete(session.stub.ReleasePlace(pb.ReleasePlaceRequest(placename=name)))
                loop.run_until_complete(session.sync_with_coordinator())
                _say("released")
            except grpc.aio.AioRpcError as exc:
                _say(f"error releasing place {name}: {exc.details()}")
        try:
            loop.run_until_complete(session.stop())
            loop.run_until_complete(session.close())
        except Exception:  # noqa: BLE001  (the place is released; a channel that will not close is moot)
            pass


def _stdin_closed(timeout: float = 0.0) -> bool:
    """True once the command that started the guard has closed its end (or ended)."""
    ready, _, _ = select.select([sys.stdin], [], [], timeout)
    return bool(ready) and sys.stdin.read(1) == ""


if __name__ == "__main__":
    if len(sys.argv) != 4:
        sys.exit("usage: python -m takeover.labgrid_lease COORDINATOR PLACE WAIT_SECONDS")
    sys.exit(guard(sys.argv[1], sys.argv[2], float(sys.argv[3])))

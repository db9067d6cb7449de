"""The classroom page's "Connect a Pico" over Web Serial, without a Pico: the page's SerialBoard
(web/serial-board.mjs) pumps its byte rings to a stand-in for navigator.serial whose port is a
WebSocket to a bridge in this test, and the bridge gives each connection a simulated board of its
own behind a pty (what `--port sim` starts), opened with pyserial. The bytes are those a USB cable
would carry, so the run must give the command line's alerts and outcome; the page's own board must
take over again once the Pico is disconnected or pulled out, and the bridge's board must stop.

The stand-in keeps to the Web Serial standard (https://wicg.github.io/serial/) and to Chrome's
implementation where the standard leaves room: readable and writable are null unless the port is
open, close() refuses locked streams, the readable is a byte stream filled on demand, a chunk is
copied when written, a lost device errors both streams with a NetworkError, requestPort() needs a
user's click. Where the standard says nothing (the DTR signal after open()), it takes the worst
case a Pico gives: TinyUSB's CDC drops what the board sends until the host asserts DTR.

Needs chromium (`sudo apt-get install chromium`), playwright and websockets (the test extras);
skipped, saying which, without them."""

import json
import os
import threading
import time
from pathlib import Path

import pytest
from classroom_page import open_page, run_in_page

from takeover import ports
from takeover import scenario as scenarios
from takeover.device import Device
from takeover.runner import Pace, run_scenario
from takeover.simboard import RUNNER

# Chromium with both VMs takes most of a 2-core machine: `make test` runs this after the rest, as
# tests/test_classroom.py (-m browser).
pytestmark = [pytest.mark.slow, pytest.mark.browser, pytest.mark.xdist_group("classroom-webserial")]

SCENARIO = "su7-construction-zone"
FRAME_MIN_BYTES = 8  # header (4) and CRC-32 (4) around a payload: no frame on the wire is shorter

# navigator.serial as Chrome gives it, with one port whose bytes go through a WebSocket to BRIDGE_URL.
FAKE_WEB_SERIAL = r"""
(() => {
  const BRIDGE_URL = __BRIDGE_URL__;
  const lost = () => new DOMException("The device has been lost.", "NetworkError");
  const seen = (window.__fakeSerial = { signals: [] });

  class FakeSerialPort extends EventTarget {
    #state = "closed";
    #socket = null;
    #bufferSize = 255;
    #dtr = false;
    #received = [];  // what the board sent, not yet read
    #readable = null;
    #source = null;  // the readable's controller, and whether it asked for bytes
    #writable = null;
    #sink = null;
    #readFatal = false;
    #writeFatal = false;

    getInfo() { return { usbVendorId: 0x2e8a, usbProductId: 0x0005 }; }  // MicroPython on a Pico

    async open(options) {
      if (this.#state !== "closed") throw new DOMException("The port is already open.", "InvalidStateError");
      if (!(options?.baudRate > 0)) throw new TypeError("Requested baud rate must be greater than zero.");
      this.#state = "opening";
      const socket = new WebSocket(BRIDGE_URL);
      socket.binaryType = "arraybuffer";
      try {
        await new Promise((resolve, reject) => {
          socket.onopen = resolve;
          socket.onerror = () => reject(new DOMException("Failed to open serial port.", "NetworkError"));
        });
      } catch (err) {
        this.#state = "closed";
        throw err;
      }
      this.#socket = socket;
      this.#bufferSize = options.bufferSize ?? 255;
      this.#dtr = false;
      this.#state = "opened";
      socket.onmessage = ({ data }) => {
        if (!this.#dtr) return;  // TinyUSB's CDC: nothing leaves the board before the host asserts DTR
        this.#received.push(new Uint8Array(data));
        this.#feed();
      };
      socket.onclose = () => this.#lost();
    }

    async setSignals(signals = {}) {
      if (this.#state !== "opened") throw new DOMException("The port is closed.", "InvalidStateError");
      if (!["dataTerminalReady", "requestToSend", "break"].some((k) => k in signals)) {
        throw new TypeError("Signals dictionary must contain at least one member.");
      }
      if ("dataTerminalReady" in signals) this.#dtr = !!signals.dataTerminalReady;
      seen.signals.push({ ...signals });
    }

    get readable() {
      if (this.#readable) return this.#readable;
      if (this.#state !== "opened" || this.#readFatal) return null;
      this.#readable = new ReadableStream({
        type: "bytes",
        start: (controller) => { this.#source = { controller, wants: false }; },
        pull: () => { this.#source.wants = true; this.#feed(); },
        cancel: () => { this.#received = []; this.#readable = this.#source = null; },
      }, { highWaterMark: this.#bufferSize });
      return this.#readable;
    }

    // As Chrome does: a chunk only when the stream asks, of at most what it asks for.
    #feed() {
      const source = this.#source;
      if (!source?.wants || !this.#received.length) return;
      const want = Math.max(source.controller.desiredSize, 1);
      const chunk = new Uint8Array(Math.min(want, this.#received.reduce((n, b) => n + b.length, 0)));
      for (let filled = 0; filled < chunk.length;) {
        const head = this.#received[0], take = Math.min(head.length, chunk.length - filled);
        chunk.set(head.subarray(0, take), filled);
        filled += take;
        if (take === head.length) this.#received.shift(); else this.#received[0] = head.subarray(take);
      }
      source.wants = false;
      source.controller.enqueue(chunk);
    }

    get writable() {
      if (this.#writable) return this.#writable;
      if (this.#state !== "opened" || this.#writeFatal) return null;
      this.#writable = new WritableStream({
        start: (controller) => { this.#sink = controller; },
        write: (chunk) => {
          // A BufferSource, copied now; a view on shared memory is not one.
          const view = chunk instanceof ArrayBuffer ? new Uint8Array(chunk) : ArrayBuffer.isView(chunk)
            ? new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength) : null;
          if (view === null || view.buffer instanceof SharedArrayBuffer) {
            throw new TypeError("The provided value is not of type '(ArrayBuffer or ArrayBufferView)'.");
          }
          this.#socket.send(view.slice());
        },
        abort: () => { this.#writable = this.#sink = null; },
        close: () => { this.#writable = this.#sink = null; },
      }, new CountQueuingStrategy({ highWaterMark: 1 }));
      return this.#writable;
    }

    async close() {
      if (this.#state !== "opened") throw new DOMException("The port is already closed.", "InvalidStateError");
      if (this.#readable?.locked || this.#writable?.locked) throw new TypeError("Cannot cancel a locked stream");
      this.#state = "closing";
      await Promise.all([this.#readable?.cancel(), this.#writable?.abort()]);
      this.#socket.onclose = null;
      this.#socket.close();
      this.#socket = null;
      this.#readFatal = this.#writeFatal = false;
      this.#state = "closed";
    }

    // The other end went: Chrome errors both streams and makes them null until the port is closed.
    #lost() {
      this.#readFatal = this.#writeFatal = true;
      this.#source?.controller.error(lost());
      this.#sink?.error(lost());
      this.#readable = this.#source = this.#writable = this.#sink = null;
    }
  }

  const port = new FakeSerialPort();
  const serial = new EventTarget();
  serial.requestPort = async () => {
    if (!navigator.userActivation.isActive) {
      throw new DOMException("Must be handling a user gesture to show a permission request.", "SecurityError");
    }
    return port;
  };
  serial.getPorts = async () => [port];
  Object.defineProperty(Navigator.prototype, "serial", { get: () => serial, configurable: true });
})();
"""


class Bridge:
    """A WebSocket server in place of a USB cable: each connection gets a simulated board of its
    own (ports.start("sim"), as `--port sim` starts one), whose pty it opens with pyserial; bytes go
    both ways until either end closes, then the board is stopped. It counts the bytes each way."""

    def __init__(self, sync_server):
        self.to_board = 0
        self.from_board = 0
        self.boards_started = 0
        self.boards_stopped = 0
        self.errors: list[str] = []
        self._lock = threading.Lock()
        self._connections: set = set()
        self._server = sync_server.serve(self._handle, "127.0.0.1", 0, compression=None)
        self.url = f"ws://127.0.0.1:{self._server.socket.getsockname()[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, name="webserial-bridge", daemon=True)
        self._thread.start()

    def _handle(self, ws):
        from websockets.exceptions import ConnectionClosed

        with self._lock:
            self._connections.add(ws)
        try:
            opened = ports.start("sim")
        except Exception as exc:
            self.errors.append(f"board: {exc}")
            raise
        with self._lock:
            self.boards_started += 1
        done = threading.Event()
        try:
            with ports.open_serial(opened.path, baudrate=115200, timeout=0.05) as ser:
                up = threading.Thread(target=self._board_to_socket, args=(ser, ws, done), daemon=True)
                up.start()
                try:
                    for message in ws:
                        ser.write(message)
                        with self._lock:
                            self.to_board += len(message)
                except ConnectionClosed:
                    pass  # closed without a closing handshake: the same end of the cable
                finally:
                    done.set()
                    up.join()
        except Exception as exc:
            self.errors.append(f"bridge: {exc}")
            raise
        finally:
            opened.close()
            with self._lock:
                self.boards_stopped += 1
                self._connections.discard(ws)

    def _board_to_socket(self, ser, ws, done):
        from websockets.exceptions import ConnectionClosed

        while not done.is_set():
            data = ser.read(1)  # waits up to the port's timeout for a first byte, then takes the rest
            if not data:
                continue
            data += ser.read(ser.in_waiting)
            try:
                ws.send(data)
            except ConnectionClosed:
                return
            with self._lock:
                self.from_board += len(data)

    def pull_the_cable(self) -> None:
        with self._lock:
            connections = list(self._connections)
        for ws in connections:
            ws.close()

    def idle(self) -> bool:
        """Every board the bridge started has stopped, and no connection is left."""
        with self._lock:
            return not self._connections and self.boards_stopped == self.boards_started

    def close(self) -> None:
        self.pull_the_cable()
        self._server.shutdown()
        self._thread.join(timeout=5)


def _wait_for(condition, timeout_s: float) -> bool:
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def _simulated_boards() -> list[int]:
    """The simulated boards' Node processes this test process started and has not reaped (Playwright's
    own driver is a Node process too, hence the runner's path)."""
    found = []
    for proc in Path("/proc").glob("[0-9]*"):
        try:
            stat, cmdline = (proc / "stat").read_text(), (proc / "cmdline").read_bytes()
        except OSError:
            continue  # ended while listed
        if int(stat[stat.rindex(")") + 2:].split()[1]) == os.getpid() and str(RUNNER).encode() in cmdline:
            found.append(int(proc.name))
    return found


@pytest.fixture(scope="module")
def bridge():
    sync_server = pytest.importorskip("websockets.sync.server", reason="needs websockets: pip install -e '.[test]'")
    b = Bridge(sync_server)
    try:
        yield b
    finally:
        b.close()
    assert _wait_for(b.idle, 10), "the bridge's boards did not stop"


@pytest.fixture(scope="module")
def page(bridge, tmp_path_factory):
    script = FAKE_WEB_SERIAL.replace("__BRIDGE_URL__", json.dumps(bridge.url))
    with open_page(tmp_path_factory.mktemp("classroom-webserial-site"), init_script=script) as tab:
        assert tab.evaluate("window.__state.error") is None
        yield tab


def _radar_stopped(causes) -> bool:
    """Whether the board raised the stale-radar FAULT: it saw no radar frame for its window (150 ms
    on its own clock). In lockstep that is a stall somewhere between host and board, which two
    cores shared by a browser with two VMs, the bridge's board and the command line's give now and
    then: the FAULT is right, and the run says nothing of the bytes. Such a run is made once more,
    as hil_tests/test_builtin_scenarios.py does."""
    return "fault" in causes


def _run_in_page(tab, name: str) -> dict:
    run = run_in_page(tab, name, timeout_ms=180_000)
    return run_in_page(tab, name, timeout_ms=180_000) if _radar_stopped([cause for _, _, cause in run["alerts"]]) else run


def _on_the_command_line(name: str):
    """The same run on a simulated board of the command line's (once more if the radar stopped, as above)."""
    for _ in range(2):
        with Device("sim") as dev:
            dev.start_session()
            run = run_scenario(dev, scenarios.load(name), Pace(lockstep=True), measure_link=False)
        if not _radar_stopped([a["cause"] for a in run.alerts]):
            break
    return run


def _switch(tab, button: str, transport: str) -> None:
    tab.click(button)
    tab.wait_for_function(f"window.__state.transport === {json.dumps(transport)} || window.__state.error",
                          timeout=60_000)
    assert tab.evaluate("window.__state.transport") == transport, tab.evaluate("window.__state.error")


def _page_board_gone(tab, within_s: float = 0.5) -> bool:
    """Whether the page's own board (its worker) has ended: it would take the Pico's bytes from the
    rings otherwise. Playwright learns of a worker's end by an event, read while it waits."""
    deadline = time.monotonic() + within_s
    while any(w.url.endswith("/board-worker.mjs") for w in tab.workers):
        if time.monotonic() > deadline:
            return False
        tab.wait_for_timeout(50)
    return True


def _port_is_closed(tab) -> bool:
    return tab.evaluate("navigator.serial.getPorts().then(([p]) => p.readable === null && p.writable === null)")


def test_a_pico_over_web_serial_gives_the_command_lines_run_and_hands_back_to_the_pages_board(page, bridge):
    started = bridge.boards_started
    _switch(page, "#connect", "webserial")
    assert _page_board_gone(page), "the page's own board still runs beside the Pico"
    assert page.text_content("#board") == "Pico over Web Serial (USB 2e8a:0005)"
    assert {"dataTerminalReady": True} in page.evaluate("window.__fakeSerial.signals")
    assert _wait_for(lambda: bridge.boards_started == started + 1, 30), "the bridge's board did not start"
    over_serial = _run_in_page(page, SCENARIO)
    assert over_serial["frames"]["sent"] > 0
    # Every frame crossed the bridge each way (lockstep: the board answers each one).
    assert bridge.boards_started == started + 1
    assert bridge.to_board >= FRAME_MIN_BYTES * over_serial["frames"]["sent"]
    assert bridge.from_board >= FRAME_MIN_BYTES * over_serial["frames"]["sent"]

    here = _on_the_command_line(SCENARIO)
    assert (over_serial["passed"], over_serial["failures"]) == (here.passed, here.failures)
    assert over_serial["alerts"] == [[a["t_s"], a["level"], a["cause"]] for a in here.alerts]
    assert over_serial["outcome"] == json.loads(json.dumps(here.outcome))  # as JSON carries it
    assert over_serial["outcome_text"] == here.outcome_text()
    assert (over_serial["board"], over_serial["firmware"]) == (here.board, here.firmware)

    _switch(page, "#disconnect", "page")
    assert _port_is_closed(page)
    assert _wait_for(bridge.idle, 10), "the bridge's board was not stopped after the page disconnected"
    moved = (bridge.to_board, bridge.from_board)
    on_page = _run_in_page(page, SCENARIO)  # the rings are the page's board's again, and nothing else's
    assert on_page["alerts"] == over_serial["alerts"]
    assert (bridge.to_board, bridge.from_board) == moved
    assert _simulated_boards() == []
    assert bridge.errors == [] and page.errors == []


def test_a_pico_pulled_out_says_so_in_one_line_and_the_page_can_take_over(page, bridge):
    started = bridge.boards_started
    _switch(page, "#connect", "webserial")
    assert _wait_for(lambda: bridge.boards_started == started + 1, 30), "the bridge's board did not start"
    bridge.pull_the_cable()
    page.wait_for_function("window.__state.error", timeout=30_000)
    assert page.evaluate("window.__state.error") == "the Pico went away: The device has been lost."
    assert page.text_content("#status") == "the Pico went away: The device has been lost."
    page.evaluate("delete window.__state.error")  # the page keeps its last error; the next step starts clean
    _switch(page, "#disconnect", "page")
    assert _port_is_closed(page)
    assert _wait_for(bridge.idle, 30), "the bridge's board was not stopped after the cable was pulled"
    assert _simulated_boards() == []
    assert bridge.errors == [] and page.errors == []


def test_the_pumps_hold_bytes_back_while_a_ring_is_full_and_move_none_once_stopped(page):
    # Rings far smaller than the traffic, with a reader slower than the port: each pump has to
    # wait, many times, for the other side; every byte must still arrive, in order.
    result = page.evaluate("""async () => {
        const { SerialBoard } = await import("./serial-board.mjs");
        const { makeRing, Ring } = await import("./ring.mjs");
        const N = 20000, pattern = (i) => (i * 7 + (i >> 8)) & 255;
        const rings = { toBoard: makeRing(256), fromBoard: makeRing(256) };
        const tick = () => new Promise((r) => {  // a task, not a microtask: the pumps' waits resolve in tasks
            const c = new MessageChannel();
            c.port1.onmessage = r;
            c.port2.postMessage(0);
        });
        let produced = 0;
        const written = [];
        const port = {  // a port that has N bytes to give at once, in chunks larger than the ring
            getInfo: () => ({}),
            open: async () => {}, setSignals: async () => {},
            readable: new ReadableStream({ pull(c) {
                if (produced >= N) return new Promise(() => {});  // then nothing more, as an idle board
                const n = Math.min(1000, N - produced);
                c.enqueue(Uint8Array.from({ length: n }, (_, k) => pattern(produced + k)));
                produced += n;
            } }),
            writable: new WritableStream({ write(chunk) { written.push(...chunk); } }),
            closed: false,
            async close() {
                if (this.readable.locked || this.writable.locked) throw new TypeError("Cannot cancel a locked stream");
                this.closed = true;
            },
        };
        const board = new SerialBoard(port, () => {});
        await board.start(rings);
        const fromBoard = new Ring(rings.fromBoard), toBoard = new Ring(rings.toBoard);
        const got = [], piece = new Uint8Array(100);
        const deadline = performance.now() + 20000;  // a pump that drops bytes never gets to N
        for (let sent = 0; (got.length < N || sent < N) && performance.now() < deadline;) {
            const n = fromBoard.readInto(piece, 0, piece.length, 0);
            for (let i = 0; i < n; i++) got.push(piece[i]);
            const next = Uint8Array.from({ length: Math.min(100, N - sent) }, (_, k) => pattern(sent + k));
            sent += toBoard.write(next);
            await tick();
        }
        await board.stop();
        const indices = () => [...new Int32Array(rings.fromBoard, 0, 2), ...new Int32Array(rings.toBoard, 0, 2)];
        const after = indices();
        toBoard.write(new Uint8Array(50));
        for (let i = 0; i < 20; i++) await tick();
        const ok = (bytes) => bytes.length === N && bytes.every((b, i) => b === pattern(i));
        return { fromBoard: ok(got), toBoard: ok(written), closed: port.closed,
                 still: JSON.stringify(indices()) === JSON.stringify([after[0], after[1], after[2] + 50, after[3]]) };
    }""")
    assert result == {"fromBoard": True, "toBoard": True, "closed": True, "still": True}

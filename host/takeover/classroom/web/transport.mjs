// The board at the other end of the page's two byte rings (toBoard, fromBoard). The host worker
// only ever writes toBoard and reads fromBoard, so the bench's Python is the same whichever board
// answers. Two kinds, one interface:
//   kind, label        what the page and the run's report call it
//   start(rings)       begin moving bytes (the rings are empty)
//   stop()             end it; a promise, resolved once no byte moves any more
// PageBoard: the unmodified firmware on the MicroPython VM in a Web Worker (board-worker.mjs).
// SerialBoard (serial-board.mjs): a flashed Pico over Web Serial, the bytes pumped by this thread.
// Events (onEvent): {booted_ms}, {log}, {console}, {error}.
export class PageBoard {
  kind = "page";
  label = "simulated board (in this page)";
  constructor(onEvent) { this.onEvent = onEvent; this.worker = null; }
  async start(rings) {
    // The worker holds a Web Lock for as long as it lives, which stop() waits for: terminate() only
    // asks, and a worker that never returns to its event loop (the firmware's) is ended after a
    // grace period (2 s in Chrome), taking bytes from the rings until then.
    this.lock = `page-board-${crypto.randomUUID()}`;
    this.worker = new Worker("./board-worker.mjs", { type: "module" });
    this.held = new Promise((resolve) => {
      this.worker.onmessage = ({ data }) => (data.held ? resolve() : this.onEvent(data));
      this.worker.onerror = (e) => {
        resolve(); // a worker that failed to load moves no byte
        this.onEvent({ error: "board: " + e.message });
      };
    });
    this.worker.postMessage({ ...rings, lock: this.lock });
    await this.held;
  }
  async stop() {
    await this.held;
    this.worker.terminate(); // it is blocked in Atomics.wait or in the firmware's loop: nothing to ask
    this.worker = null;
    await navigator.locks.request(this.lock, () => {}); // granted once the worker has ended
  }
}

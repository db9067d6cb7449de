// A flashed Pico over Web Serial: the board at the other end of the page's two byte rings once one
// is connected (transport.mjs has the interface). This thread pumps the bytes: the port's readable
// into fromBoard, toBoard into the port's writable. Neither pump drops a byte. A full fromBoard
// holds the port's reader back until the host worker reads (the port's stream, then USB, then the
// Pico wait meanwhile); an empty toBoard parks the writer until the host worker writes. Both waits
// are Atomics.waitAsync on the index the other side moves and notifies (ring.mjs).
import { Ring } from "./ring.mjs";

const hex4 = (n) => n.toString(16).padStart(4, "0");

export class SerialBoard {
  kind = "webserial";
  constructor(port, onEvent) {
    this.port = port;
    this.onEvent = onEvent;
    const { usbVendorId: vid, usbProductId: pid } = port.getInfo(); // none for a Bluetooth port
    const usb = vid === undefined || pid === undefined ? "" : ` (USB ${hex4(vid)}:${hex4(pid)})`;
    this.label = "Pico over Web Serial" + usb;
    this.pumps = null;
  }

  async start(rings) {
    await this.port.open({ baudRate: 115200 }); // USB CDC ignores it; a USB-serial adapter on the UART needs it
    try {
      // MicroPython's USB serial on a Pico (TinyUSB's CDC) sends nothing until the host asserts DTR.
      // Chrome's open() asserts it where it has been seen to, but the Web Serial standard leaves
      // the signals' state after open() to the platform.
      await this.port.setSignals({ dataTerminalReady: true });
    } catch (err) {
      await this.port.close();
      throw err;
    }
    this.stopping = false;
    this.gone = false;
    this.fromBoard = new Ring(rings.fromBoard);
    this.toBoard = new Ring(rings.toBoard);
    this.reader = this.port.readable.getReader();
    this.writer = this.port.writable.getWriter();
    this.pumps = Promise.all([this.#portToRing(), this.#ringToPort()]);
  }

  // Resolves once no byte moves: both pumps have ended and the port is closed, so the next board
  // (or this Pico again) starts on a free port and rings nobody else touches.
  async stop() {
    if (!this.pumps) return; // never started: open() failed
    this.stopping = true;
    // Wake a pump parked on a ring: while this board answers the rings, only its pumps wait on
    // these two indices.
    Atomics.notify(this.toBoard.ctrl, 0);
    Atomics.notify(this.fromBoard.ctrl, 1);
    // End the read under way, and a write a Pico that stopped reading would never finish; what is
    // still on its way either side is dropped (the next board starts on empty rings).
    await Promise.allSettled([this.reader.cancel(), this.writer.abort()]);
    await this.pumps;
    this.pumps = null;
    // close() refuses locked streams; cancel() and abort() detach them from the port in the
    // standard and in Chrome, but a port that kept them must still find them free.
    this.reader.releaseLock();
    this.writer.releaseLock();
    try {
      await this.port.close();
    } catch (err) {
      if (!this.gone) throw err; // a port whose device went away may be closed already
    }
  }

  async #portToRing() {
    const ring = this.fromBoard;
    while (!this.stopping) {
      let result;
      try {
        result = await this.reader.read();
      } catch (err) {
        if (this.stopping) return;
        this.reader.releaseLock();
        if (!this.port.readable) {
          this.#wentAway(err);
          return;
        }
        // A framing, parity or overrun error (a UART, not USB): those bytes are lost, the port goes on.
        this.onEvent({ log: `serial: ${err.message}` });
        this.reader = this.port.readable.getReader();
        continue;
      }
      if (result.done) return; // cancelled by stop()
      for (let chunk = result.value; chunk.length && !this.stopping;) {
        const readIndex = Atomics.load(ring.ctrl, 1);
        chunk = chunk.subarray(ring.write(chunk));
        // Full: wait until the host worker reads (it moves the read index and notifies); at once
        // if it already has since readIndex was taken.
        if (chunk.length) await Atomics.waitAsync(ring.ctrl, 1, readIndex).value;
      }
    }
  }

  async #ringToPort() {
    const ring = this.toBoard, buf = new Uint8Array(ring.size);
    while (!this.stopping) {
      const readIndex = Atomics.load(ring.ctrl, 1); // only this pump moves it
      const n = ring.readInto(buf, 0, buf.length, 0);
      if (n === 0) {
        // Empty (the write index is at readIndex): wait until the host worker writes.
        await Atomics.waitAsync(ring.ctrl, 0, readIndex).value;
        continue;
      }
      try {
        await this.writer.write(buf.slice(0, n)); // a chunk of its own: buf is refilled next time round
      } catch (err) {
        if (!this.stopping) this.#wentAway(err);
        return;
      }
    }
  }

  #wentAway(err) {
    if (this.gone) return;
    this.gone = true;
    this.onEvent({ error: `the Pico went away: ${err.message}` });
  }
}

// The simulated board in a Web Worker: the unmodified firmware on the official MicroPython
// WebAssembly VM, as host/takeover/simboard/runner.mjs runs it under Node. Its serial port is a
// pair of byte rings in shared memory: the firmware's loop never returns to JavaScript, so it can
// only get bytes by waiting on shared memory (Atomics.wait), never by messages.
import { Ring, fromBase64 } from "./ring.mjs";

// simio copies bytes to and from addresses in the VM's memory (uctypes.addressof), and the package
// does not export that memory: it is caught as the VM instantiates, as runner.mjs does.
let wasmMemory = null;
for (const name of ["instantiate", "instantiateStreaming"]) {
  const orig = WebAssembly[name];
  WebAssembly[name] = async (...args) => {
    const res = await orig(...args);
    const inst = res.instance ?? res;
    if (inst.exports?.memory) wasmMemory = inst.exports.memory;
    return res;
  };
}
// The VM loads and the firmware is fetched as the worker starts, side by side, not after the
// page's message (the rings, needed only once the firmware runs). firmware.json holds the files
// `takeover flash --port sim` writes: the modules compiled by mpy-cross (.mpy, base64), main.py and
// board.py.
const t0 = performance.now();
const firmware = fetch("./firmware.json").then((r) => r.json());
const vm = import("./vendor/micropython/micropython.mjs").then(({ loadMicroPython }) => loadMicroPython({
  stdout: (line) => postMessage({ console: line }), stderr: (line) => postMessage({ console: line }),
}));

// Set before any await: a module worker's first message is lost otherwise.
onmessage = async ({ data }) => {
  // Held until this worker ends: PageBoard.stop() waits for it (transport.mjs says why).
  await new Promise((held) => navigator.locks.request(data.lock, () => { held(); return new Promise(() => {}); }));
  postMessage({ held: true });
  const rx = new Ring(data.toBoard), tx = new Ring(data.fromBoard);
  const [files, mp] = await Promise.all([firmware, vm]);
  if (!wasmMemory) throw new Error("could not reach the MicroPython VM's memory");
  for (const [path, text] of Object.entries(files)) {
    let dir = "";
    for (const part of path.split("/").slice(0, -1)) {
      dir += "/" + part;
      try { mp.FS.mkdir(dir); } catch { /* already there */ }
    }
    mp.FS.writeFile("/" + path, path.endsWith(".mpy") ? fromBase64(text) : text);
  }
  const heap = () => new Uint8Array(wasmMemory.buffer);
  mp.registerJsModule("simio", {
    read(addr, count, timeoutUs) { return rx.readInto(heap(), addr, count, timeoutUs / 1000); },
    write(addr, count) {
      if (tx.size - tx.pending() < count) return 0; // the host is not reading: the firmware counts it
      return tx.write(heap().subarray(addr, addr + count));
    },
    pending() { return rx.pending(); },
    // The page's lamps and buzzer follow the ALERT frames the host reads (the same for a Pico over
    // Web Serial), so what the firmware drives here is not posted: nothing is done per loop pass.
    output() {},
    ticks_us() { return Math.floor((performance.timeOrigin + performance.now()) * 1000) & 0x3fffffff; },
    alive() {},
    log(text) { postMessage({ log: text }); },
    reset() { postMessage({ log: "the firmware asked for a hard reset" }); },
  });
  postMessage({ booted_ms: performance.now() - t0 });
  mp.runPython("import sys\nsys.path.insert(0, '/')\nexec(open('/main.py').read())"); // runs for ever
};

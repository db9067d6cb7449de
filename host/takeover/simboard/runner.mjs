// The simulated board: unmodified firmware on the official MicroPython WebAssembly VM.
//
// Board mode:  node runner.mjs --fd N --firmware DIR --board FILE
//   N is the master end of a pseudo-terminal opened by the host (takeover.simboard); the firmware
//   reads and writes it through the JS module `simio` (see firmware/tkfw/hw_sim.py). A worker
//   thread blocks in read() on the pty and fills a shared ring; the VM thread sleeps in
//   Atomics.wait until bytes arrive or its timeout passes, so an idle board uses no CPU.
//   Output events (LED, buzzer, haptic, brake) are JSON lines on stdout; VM prints go to stderr.
// Script mode: node runner.mjs --script FILE --firmware DIR [--put SRC=DST ...]
//   Runs FILE in the VM with the firmware importable; its prints go to stdout. Exit 1 on error.

import fs from "node:fs";
import { Worker } from "node:worker_threads";
import path from "node:path";

const RING = 1 << 16; // bytes buffered from the pty
const IDX_MASK = (1 << 30) - 1; // ring indices count bytes modulo 2**30

function fail(message) {
  fs.writeSync(2, `simboard: ${message}\n`);
  process.exit(1);
}

process.on("uncaughtException", (err) => fail(err && err.message ? err.message : String(err)));

function parseArgs(argv) {
  const opts = { put: [] };
  for (let i = 0; i < argv.length; i++) {
    const key = argv[i];
    const value = argv[i + 1];
    if (key === "--fd") { opts.fd = Number(value); i++; }
    else if (key === "--firmware") { opts.firmware = value; i++; }
    else if (key === "--board") { opts.board = value; i++; }
    else if (key === "--script") { opts.script = value; i++; }
    else if (key === "--put") { opts.put.push(value); i++; }
    else fail(`unknown argument ${key}`);
  }
  if (!opts.firmware) fail("--firmware DIR is required");
  if (opts.script === undefined && !(opts.fd >= 0 && opts.board)) fail("need --fd N --board FILE, or --script FILE");
  return opts;
}

function copyTree(FS, src, dst) {
  for (const entry of fs.readdirSync(src, { withFileTypes: true })) {
    if (entry.name === "__pycache__" || entry.name.startsWith(".")) continue;
    const from = path.join(src, entry.name);
    const to = `${dst}/${entry.name}`;
    if (entry.isDirectory()) {
      try { FS.mkdir(to); } catch { /* exists */ }
      copyTree(FS, from, to);
    } else if (entry.name.endsWith(".py") || entry.name.endsWith(".json")) {
      FS.writeFile(to, fs.readFileSync(from));
    }
  }
}

// Capture the VM's linear memory so bytes can be copied in and out by address.
let wasmMemory = null;
const instantiate = WebAssembly.instantiate;
WebAssembly.instantiate = async (...args) => {
  const result = await instantiate(...args);
  const instance = result.instance ?? result;
  if (instance.exports && instance.exports.memory) wasmMemory = instance.exports.memory;
  return result;
};

const { loadMicroPython } = await import("@micropython/micropython-webassembly-pyscript");

const opts = parseArgs(process.argv.slice(2));
const scriptMode = opts.script !== undefined;
const writeLine = (fd) => (line) => fs.writeSync(fd, line + "\n");
const mp = await loadMicroPython({
  stdout: scriptMode ? writeLine(1) : (line) => fs.writeSync(2, `[vm] ${line}\n`),
  stderr: writeLine(2),
});
if (!wasmMemory) fail("could not reach the VM's memory (unexpected MicroPython package build)");
const heap = () => new Uint8Array(wasmMemory.buffer);

copyTree(mp.FS, opts.firmware, "");
for (const spec of opts.put) {
  const [src, dst] = spec.split("=");
  mp.FS.writeFile(dst, fs.readFileSync(src));
}

function runPython(code) {
  try {
    mp.runPython(code);
  } catch (err) {
    if (err.name === "PythonError") {
      if (err.type === "SystemExit") process.exit(0);
      fs.writeSync(2, `${err.message}\n`);
      process.exit(1);
    }
    throw err;
  }
}

if (scriptMode) {
  mp.registerJsModule("simio", { log: (text) => fs.writeSync(2, `${text}\n`) });
  runPython(`import sys\nsys.path.insert(0, "/")\n` + fs.readFileSync(opts.script, "utf8"));
  process.exit(0);
}

// ---- board mode ----------------------------------------------------------------------------
const fd = opts.fd;
const shared = new SharedArrayBuffer(32 + RING);
// [0] write index, [1] read index, [2] reader errors, [3] nap word, [4] firmware loop passes
const ctrl = new Int32Array(shared, 0, 8);
const ring = new Uint8Array(shared, 32, RING);

new Worker(
  `
  const { workerData } = require("node:worker_threads");
  const fs = require("node:fs");
  const { fd, shared, RING, IDX_MASK } = workerData;
  const ctrl = new Int32Array(shared, 0, 8);
  const ring = new Uint8Array(shared, 32, RING);
  const chunk = Buffer.alloc(4096);
  const nap = (ms) => Atomics.wait(ctrl, 3, 0, ms);
  for (;;) {
    let n = 0;
    try {
      n = fs.readSync(fd, chunk, 0, chunk.length, null);
    } catch (err) {
      // EAGAIN: non-blocking fd with nothing to read; EIO: no process has the pty open.
      if (err.code !== "EAGAIN" && err.code !== "EIO") Atomics.add(ctrl, 2, 1);
      nap(err.code === "EAGAIN" ? 1 : 20);
      continue;
    }
    let off = 0;
    while (off < n) {
      const w = Atomics.load(ctrl, 0);
      const r = Atomics.load(ctrl, 1);
      const free = RING - ((w - r) & IDX_MASK);
      if (free === 0) { Atomics.wait(ctrl, 1, r, 50); continue; } // firmware behind: backpressure
      const k = Math.min(free, n - off);
      for (let i = 0; i < k; i++) ring[(w + i) & (RING - 1)] = chunk[off + i];
      Atomics.store(ctrl, 0, (w + k) & IDX_MASK);
      Atomics.notify(ctrl, 0);
      off += k;
    }
  }
  `,
  { eval: true, workerData: { fd, shared, RING, IDX_MASK } },
);

let loops = 0;
let writeDrops = 0;

// Transmit path: the firmware's writes go into a bounded ring that a second worker drains into
// the pty with blocking writes. Like a USB CDC transmit buffer: when the host stops reading, the
// ring fills and further frames are refused at once (counted) instead of blocking the loop.
// This worker is also the board's watchdog (it wakes at least every 250 ms).
const TX_RING = 1 << 13;
const txShared = new SharedArrayBuffer(32 + TX_RING);
const txCtrl = new Int32Array(txShared, 0, 8); // [0] write index, [1] read index, [2] writer errors
const txRing = new Uint8Array(txShared, 32, TX_RING);
new Worker(
  `
  const { workerData } = require("node:worker_threads");
  const fs = require("node:fs");
  const { fd, txShared, TX_RING, IDX_MASK, shared, STALL_MS } = workerData;
  const txCtrl = new Int32Array(txShared, 0, 8);
  const ctrl = new Int32Array(shared, 0, 8);
  // Watchdog: the firmware counts a pass of its main loop in ctrl[4] (simio.alive). A count that
  // stops moving for STALL_MS is reported once as a "stall" event, and its end as "resume".
  let seen = 0, since = Date.now(), stalled = false;
  const watch = () => {
    const loops = Atomics.load(ctrl, 4);
    const now = Date.now();
    if (loops !== seen) {
      if (stalled) fs.writeSync(1, JSON.stringify({ ev: "resume", stalled_ms: now - since }) + "\\n");
      seen = loops; since = now; stalled = false;
    } else if (!stalled && loops > 0 && now - since > STALL_MS) {
      stalled = true;
      fs.writeSync(1, JSON.stringify({ ev: "stall", after_ms: now - since }) + "\\n");
    }
  };

  const txRing = new Uint8Array(txShared, 32, TX_RING);
  const out = Buffer.alloc(TX_RING);
  for (;;) {
    const r = Atomics.load(txCtrl, 1);
    const w = Atomics.load(txCtrl, 0);
    watch();  // this worker wakes at least every 250 ms, whatever the traffic
    if (w === r) { Atomics.wait(txCtrl, 0, w, 250); continue; }
    const n = (w - r) & IDX_MASK;
    for (let i = 0; i < n; i++) out[i] = txRing[(r + i) & (TX_RING - 1)];
    let off = 0;
    while (off < n) {
      try { off += fs.writeSync(fd, out, off, n - off); }
      catch (err) { Atomics.add(txCtrl, 2, 1); Atomics.wait(txCtrl, 3, 0, 20); }
    }
    Atomics.store(txCtrl, 1, (r + n) & IDX_MASK);
  }
  `,
  { eval: true, workerData: { fd, txShared, TX_RING, IDX_MASK, shared, STALL_MS: 1000 } },
);

const t0 = process.hrtime.bigint();
const nowUs = () => Number((process.hrtime.bigint() - t0) / 1000n);
const pendingEvents = [];
const event = (obj) => fs.writeSync(1, JSON.stringify({ t_us: nowUs(), ...obj }) + "\n");

mp.registerJsModule("simio", {
  // Copy up to `count` pending bytes to VM address `addr`; wait up to timeoutUs if none pending.
  read(addr, count, timeoutUs) {
    let w = Atomics.load(ctrl, 0);
    const r = Atomics.load(ctrl, 1);
    if (w === r && timeoutUs > 0) {
      Atomics.wait(ctrl, 0, w, timeoutUs / 1000);
      w = Atomics.load(ctrl, 0);
    }
    const k = Math.min((w - r) & IDX_MASK, count);
    if (k <= 0) return 0;
    const mem = heap();
    const start = r & (RING - 1);
    const first = Math.min(k, RING - start);
    mem.set(ring.subarray(start, start + first), addr);
    if (first < k) mem.set(ring.subarray(0, k - first), addr + first);
    Atomics.store(ctrl, 1, (r + k) & IDX_MASK);
    Atomics.notify(ctrl, 1);
    return k;
  },
  // Queue `count` bytes from VM address `addr` for the pty; returns count, or 0 when the
  // transmit ring cannot take the whole frame now (the host is not reading): never blocks.
  write(addr, count) {
    const w = Atomics.load(txCtrl, 0);
    const free = TX_RING - ((w - Atomics.load(txCtrl, 1)) & IDX_MASK);
    if (count > free) { writeDrops++; return 0; }
    const mem = heap();
    for (let i = 0; i < count; i++) txRing[(w + i) & (TX_RING - 1)] = mem[addr + i];
    Atomics.store(txCtrl, 0, (w + count) & IDX_MASK);
    Atomics.notify(txCtrl, 0);
    return count;
  },
  // Bytes received from the pty and not yet read by the firmware.
  pending() { return (Atomics.load(ctrl, 0) - Atomics.load(ctrl, 1)) & IDX_MASK; },
  // The board's pins, as an event. Stamped now, written when the loop pass ends (alive): a
  // synchronous write to stdout here would sit between the firmware's decision and its ALERT.
  output(level, cause, led, ledOn, ledOff, toneHz, toneOn, toneOff, hapticOn, hapticOff, brake) {
    pendingEvents.push({ t_us: nowUs(), ev: "output", level, cause, led, led_on_ms: ledOn, led_off_ms: ledOff,
      tone_hz: toneHz, tone_on_ms: toneOn, tone_off_ms: toneOff, haptic_on_ms: hapticOn,
      haptic_off_ms: hapticOff, brake });
  },
  ticks_us() { return Number((process.hrtime.bigint() / 1000n) & 0x3fffffffn); },
  alive() {
    loops++;
    Atomics.add(ctrl, 4, 1);
    while (pendingEvents.length) fs.writeSync(1, JSON.stringify(pendingEvents.shift()) + "\n");
  },
  log(text) { event({ ev: "log", text }); },
});

mp.FS.writeFile("/board.py", fs.readFileSync(opts.board));
event({ ev: "boot", firmware: opts.firmware, board: path.basename(opts.board, ".py") });
runPython(`import sys\nsys.path.insert(0, "/")\nimport main\n`);
event({ ev: "exit", loops, write_drops: writeDrops });

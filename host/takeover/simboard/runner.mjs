// The simulated board: unmodified firmware on the official MicroPython WebAssembly VM.
//
// Board mode:  node runner.mjs --fd N --flash DIR [--name BOARD]
//   N is the master end of a pseudo-terminal opened by the host (takeover.simboard); the firmware
//   reads and writes it through the JS module `simio` (see firmware/tkfw/hw_sim.py). A worker
//   thread blocks in read() on the pty and fills a shared ring; the VM thread sleeps in
//   Atomics.wait until bytes arrive or its timeout passes, so an idle board uses no CPU.
//   Output events (LED, buzzer, haptic, brake) are JSON lines on stdout.
//   DIR is the board's flash: a host folder mounted in the VM as "/" (flash_vfs.py), so files
//   that mpremote copies land there and survive resets. Boot as on a Pico: boot.py, then main.py
//   (friendly REPL mode only); when main.py ends, a REPL on the pty that mpremote can drive (raw
//   REPL, raw-paste answered here, Ctrl-D soft reset = a fresh VM). The VM's console (REPL,
//   print, tracebacks) goes to the pty like a Pico's USB serial, and a copy to stderr.
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
    else if (key === "--flash") { opts.flash = value; i++; }
    else if (key === "--name") { opts.name = value; i++; }
    else if (key === "--script") { opts.script = value; i++; }
    else if (key === "--put") { opts.put.push(value); i++; }
    else fail(`unknown argument ${key}`);
  }
  if (opts.script !== undefined && !opts.firmware) fail("--firmware DIR is required with --script");
  if (opts.script === undefined && !(opts.fd >= 0 && opts.flash)) fail("need --fd N --flash DIR, or --script FILE");
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
let consoleOut = () => {}; // board mode: the VM's console bytes, to the pty (set up below)

// A fresh VM: at start-up and at every reset of the simulated board (a soft reset starts a new
// interpreter too, as on a Pico; the flash folder is what survives).
async function loadVM() {
  wasmMemory = null;
  const vm = await loadMicroPython(scriptMode ? { stdout: writeLine(1), stderr: writeLine(2) }
    : { stdout: (bytes) => consoleOut(bytes), stderr: (bytes) => consoleOut(bytes), linebuffer: false });
  if (!wasmMemory) fail("could not reach the VM's memory (unexpected MicroPython package build)");
  return vm;
}
let mp = scriptMode ? await loadVM() : null;
const heap = () => new Uint8Array(wasmMemory.buffer);

if (scriptMode) {
  copyTree(mp.FS, opts.firmware, "");
  for (const spec of opts.put) {
    const [src, dst] = spec.split("=");
    mp.FS.writeFile(dst, fs.readFileSync(src));
  }
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
const HANDOVER_MS = 1; // longest a write waits for the transmit worker to write its bytes
const txShared = new SharedArrayBuffer(32 + TX_RING);
const txCtrl = new Int32Array(txShared, 0, 8); // [0] write index, [1] read index, [2] writer errors, [4] worker parked
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
    if (w === r) {
      Atomics.store(txCtrl, 4, 1); // parked: a writer may hand its core over (simio.write)
      Atomics.wait(txCtrl, 0, w, 250);
      Atomics.store(txCtrl, 4, 0);
      continue;
    }
    const n = (w - r) & IDX_MASK;
    for (let i = 0; i < n; i++) out[i] = txRing[(r + i) & (TX_RING - 1)];
    let off = 0;
    while (off < n) {
      try { off += fs.writeSync(fd, out, off, n - off); }
      catch (err) { Atomics.add(txCtrl, 2, 1); Atomics.wait(txCtrl, 3, 0, 20); }
    }
    Atomics.store(txCtrl, 1, (r + n) & IDX_MASK); // written: the ring has room again
    Atomics.notify(txCtrl, 1); // the writer handing over, or the console waiting for room
  }
  `,
  { eval: true, workerData: { fd, txShared, TX_RING, IDX_MASK, shared, STALL_MS: 1000 } },
);

const t0 = process.hrtime.bigint();
const nowUs = () => Number((process.hrtime.bigint() - t0) / 1000n);
const pendingEvents = [];
const event = (obj) => fs.writeSync(1, JSON.stringify({ t_us: nowUs(), ...obj }) + "\n");

// JS modules every VM of this board gets (registered again after each reset).
const jsModules = {};
const registerJsModule = (name, module) => { jsModules[name] = module; };
let hardReset = false; // simio.reset(): the firmware asked for a hard reset (maintenance mode)

registerJsModule("simio", {
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
    const r = Atomics.load(txCtrl, 1);
    const free = TX_RING - ((w - r) & IDX_MASK);
    if (count > free) { writeDrops++; return 0; }
    const mem = heap();
    for (let i = 0; i < count; i++) txRing[(w + i) & (TX_RING - 1)] = mem[addr + i];
    const parked = Atomics.load(txCtrl, 4) === 1;
    Atomics.store(txCtrl, 0, (w + count) & IDX_MASK);
    Atomics.notify(txCtrl, 0);
    // Hand the core to the transmit worker until it has written the bytes (at most HANDOVER_MS).
    // A real board's USB controller sends while its CPU goes on; here the woken worker would
    // otherwise queue behind the busy VM thread on the same core (Linux wakes a thread where its
    // waker runs): on a 2-core machine an ALERT, followed by the frame's bookkeeping, reached the
    // worker about 400 us late (p50). Only when the worker was parked with an empty ring: one
    // blocked writing (the host not reading) is not waited for.
    if (parked && w === r) Atomics.wait(txCtrl, 1, r, HANDOVER_MS);
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
  // A hard reset once the Python code has unwound (tkfw/hw_sim.py raises SystemExit after this).
  reset() { hardReset = true; },
});

// ---- the board's flash: a host folder, mounted in every VM as "/" by flash_vfs.py -------------
const flashRoot = path.resolve(opts.flash);
const FLASH_VFS = new URL("flash_vfs.py", import.meta.url);
const ERRNO = { ENOENT: 2, EIO: 5, EEXIST: 17, ENOTDIR: 20, EISDIR: 21, EINVAL: 22, ENOTEMPTY: 39 };
// A path inside the flash folder, or null for one that would leave it.
function inFlash(rel) {
  const full = path.resolve(flashRoot, `./${rel}`);
  return full === flashRoot || full.startsWith(flashRoot + path.sep) ? full : null;
}
// Run fn on the host path of `rel`; an OS error becomes -errno (MicroPython's numbers).
function onFlash(rel, fn) {
  const full = inFlash(rel);
  if (full === null) return -ERRNO.EINVAL;
  try { return fn(full); } catch (err) { return -(ERRNO[err.code] ?? ERRNO.EIO); }
}
registerJsModule("simflash", {
  // 0 missing, 1 file, 2 folder
  kind(rel) { const r = onFlash(rel, (p) => (fs.statSync(p).isDirectory() ? 2 : 1)); return r < 0 ? 0 : r; },
  size(rel) { return onFlash(rel, (p) => fs.statSync(p).size); },
  // "name\tkind\tsize" lines, or -errno
  list(rel) {
    return onFlash(rel, (p) => fs.readdirSync(p, { withFileTypes: true }).map((e) => {
      const size = e.isDirectory() ? 0 : fs.statSync(path.join(p, e.name)).size;
      return `${e.name}\t${e.isDirectory() ? 2 : 1}\t${size}`;
    }).join("\n"));
  },
  read(rel, addr, count) {
    return onFlash(rel, (p) => {
      const data = fs.readFileSync(p).subarray(0, count);
      heap().set(data, addr);
      return data.length;
    });
  },
  write(rel, addr, count) {
    return onFlash(rel, (p) => { fs.writeFileSync(p, heap().slice(addr, addr + count)); return 0; });
  },
  mkdir(rel) { return onFlash(rel, (p) => { fs.mkdirSync(p); return 0; }); },
  remove(rel) {
    return onFlash(rel, (p) => {
      if (fs.statSync(p).isDirectory()) return -ERRNO.EISDIR;
      fs.unlinkSync(p);
      return 0;
    });
  },
  rmdir(rel) { return onFlash(rel, (p) => { fs.rmdirSync(p); return 0; }); },
  rename(from, to) {
    const dst = inFlash(to);
    return dst === null ? -ERRNO.EINVAL : onFlash(from, (p) => { fs.renameSync(p, dst); return 0; });
  },
});

// ---- the console: what a Pico prints on its USB serial (REPL, print, tracebacks) -------------
// Into the same transmit ring as the firmware's frames, but waiting for room (up to 500 ms) rather
// than dropping, like MicroPython's stdout on USB. "\n" goes out as "\r\n", as on the board.
const consoleBuf = [];
let consoleLast = 0;
let swallow = 0; // console bytes to drop: the raw REPL's "OK", which raw-paste does not send
let consoleMuted = false;
let logLine = [];
consoleOut = (bytes) => {
  for (const b of bytes) {
    if (consoleMuted) continue;
    if (swallow > 0) { swallow--; continue; }
    if (b === 10 && consoleLast !== 13) consoleBuf.push(13);
    consoleBuf.push(b);
    consoleLast = b;
    if (b === 10) {
      fs.writeSync(2, `[vm] ${Buffer.from(logLine).toString("latin1")}\n`);
      logLine = [];
    } else if (b !== 13) logLine.push(b);
    if (b === 10 || consoleBuf.length >= 512) flushConsole();
  }
};
const consoleBytes = (bytes) => { for (const b of bytes) consoleBuf.push(b); };
function flushConsole() {
  let off = 0;
  const deadline = Date.now() + 500;
  while (off < consoleBuf.length) {
    const w = Atomics.load(txCtrl, 0);
    const r = Atomics.load(txCtrl, 1);
    const free = TX_RING - ((w - r) & IDX_MASK);
    if (free === 0) {
      if (Date.now() > deadline) break; // nobody reading: the rest is lost, as on USB
      Atomics.wait(txCtrl, 1, r, 20);
      continue;
    }
    const k = Math.min(free, consoleBuf.length - off);
    for (let i = 0; i < k; i++) txRing[(w + i) & (TX_RING - 1)] = consoleBuf[off + i];
    Atomics.store(txCtrl, 0, (w + k) & IDX_MASK);
    Atomics.notify(txCtrl, 0);
    off += k;
  }
  consoleBuf.length = 0;
}

// ---- receiving on the main thread (REPL mode) ----------------------------------------------
// The byte `ahead` places after the next unread one, waiting up to timeoutMs for it; -1 if none.
function rxPeek(ahead, timeoutMs) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const w = Atomics.load(ctrl, 0);
    const r = Atomics.load(ctrl, 1);
    if (((w - r) & IDX_MASK) > ahead) return ring[(r + ahead) & (RING - 1)];
    const left = deadline - Date.now();
    if (left <= 0) return -1;
    Atomics.wait(ctrl, 0, w, left);
  }
}
function rxByte(timeoutMs) {
  const c = rxPeek(0, timeoutMs);
  if (c >= 0) {
    Atomics.store(ctrl, 1, (Atomics.load(ctrl, 1) + 1) & IDX_MASK);
    Atomics.notify(ctrl, 1);
  }
  return c;
}

// ---- boot, REPL, resets ----------------------------------------------------------------------
const FORCED_EXIT = 0x100; // pyexec's PYEXEC_FORCED_EXIT: Ctrl-D on an empty line, or SystemExit
const RAW_PASTE_WINDOW = 128; // bytes per flow-control window (MicroPython announces half its stdin buffer)
let rawMode = false; // the REPL's mode survives a soft reset, as pyexec_mode_kind does on a Pico

async function bootVM() {
  const vm = await loadVM();
  for (const [name, module] of Object.entries(jsModules)) vm.registerJsModule(name, module);
  // The flash file system is this board's "ROM": imported from the VM's own memory file system,
  // which the mount then hides, and not left in the REPL's globals.
  vm.FS.writeFile("/_flash_vfs.py", fs.readFileSync(FLASH_VFS));
  vm.runPython("import _flash_vfs\n_flash_vfs.mount()\ndel _flash_vfs\n");
  return vm;
}

function boardName() {
  const file = inFlash("board.py");
  try {
    const m = /^NAME\s*=\s*["']([^"']*)["']/m.exec(fs.readFileSync(file, "utf8"));
    return m ? m[1] : "";
  } catch { return ""; }
}

// Run a file of the flash as MicroPython's pyexec_file does; what comes next: "soft", "hard" or null.
function runFile(vm, name) {
  const file = inFlash(name);
  let source;
  try { source = fs.readFileSync(file, "utf8"); } catch { return null; }
  try {
    vm.runPython(source);
  } catch (err) {
    if (err.name !== "PythonError") throw err;
    if (!hardReset && err.type === "SystemExit") return "soft";
    if (!hardReset) consoleOut(Buffer.from(`${err.message.replace(/\n$/, "")}\n`, "latin1"));
  } finally {
    flushConsole();
  }
  return hardReset ? "hard" : null;
}

// Raw-paste (mpremote's fast path): "\x05A\x01" was read. Collect the code with flow control,
// then hand it to the VM's raw REPL, whose own raw-paste would block waiting for input.
function rawPaste(vm) {
  const w = RAW_PASTE_WINDOW;
  consoleBytes([0x52, 0x01, w & 0xff, w >> 8, 0x01]); // "R\x01", window, and a second window free
  flushConsole();
  const code = [];
  let remain = w;
  let c;
  for (;;) {
    c = rxByte(1000);
    if (c < 0) continue;
    if (c === 0x04 || c === 0x03) break;
    code.push(c);
    if (--remain === 0) { consoleBytes([0x01]); flushConsole(); remain = w; }
  }
  consoleBytes([0x04]); // end of data acknowledged; the output follows as in raw mode
  flushConsole();
  if (c === 0x03) { consoleBytes([0x04, 0x04, 0x3e]); flushConsole(); return 0; } // cancelled: nothing ran
  for (const b of code) vm.replProcessChar(b);
  swallow = 2;
  const ret = vm.replProcessChar(0x04);
  swallow = 0;
  return ret;
}

// The REPL until a reset: "soft" or "hard".
function replLoop(vm) {
  if (rawMode) {
    consoleMuted = true; // a soft reset in raw mode comes back to the raw REPL, not the banner
    vm.replInit();
    consoleMuted = false;
    vm.replProcessChar(0x01);
  } else {
    vm.replInit();
  }
  flushConsole();
  let rawLen = 0; // bytes of the raw REPL's current command
  for (;;) {
    const c = rxByte(1000);
    if (c < 0) continue;
    let ret;
    if (rawMode && rawLen === 0 && c === 0x05 && rxPeek(0, 100) === 0x41 && rxPeek(1, 100) === 0x01) {
      rxByte(0);
      rxByte(0);
      ret = rawPaste(vm);
    } else {
      ret = vm.replProcessChar(c);
      if (c === 0x01) { rawMode = true; rawLen = 0; }
      else if (c === 0x02) rawMode = false;
      else if (rawMode) rawLen = c === 0x03 || c === 0x04 ? 0 : rawLen + 1;
    }
    flushConsole();
    if (hardReset) return "hard";
    if (ret & FORCED_EXIT) return "soft";
  }
}

let reset = "power";
for (;;) {
  mp = await bootVM();
  hardReset = false;
  if (reset === "soft") {
    consoleOut(Buffer.from("MPY: soft reboot\n"));
  } else if (reset === "hard") {
    rawMode = false;
    Atomics.store(ctrl, 1, Atomics.load(ctrl, 0)); // what the host had sent is lost in a reset
  }
  Atomics.store(ctrl, 4, 0); // the watchdog watches a firmware loop once it has run
  event({ ev: "boot", reset, firmware: flashRoot, board: boardName() });
  let next = runFile(mp, "boot.py");
  if (next === null && !rawMode) next = runFile(mp, "main.py");
  if (next === null) {
    Atomics.store(ctrl, 4, 0);
    event({ ev: "repl", raw: rawMode });
    next = replLoop(mp);
  }
  reset = next;
}

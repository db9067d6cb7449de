// The emulated Pico: official MicroPython for the Raspberry Pi Pico on Wokwi's RP2040 emulator
// (npm rp2040js, pinned in package-lock.json), its USB CDC serial port behind a pseudo-terminal.
//
//   node runner.mjs --fd N --uf2 FILE --bootrom FILE --flash-image FILE [--pins JSON] [--name NAME]
//
// N is the master end of a pty opened by the host (takeover.picoemu); pyserial opens the other end
// like /dev/ttyACM0. What rp2040js leaves to the program that embeds it is done here:
// - USB flow control. rp2040js's USBCDC answers an OUT transfer from a 512-byte FIFO and drops
//   whatever does not fit. Here the device's OUT transfers are served straight from the bytes the
//   pty worker buffered, and only when the device has armed an endpoint (TinyUSB arms one only while
//   it has room), so nothing is dropped; when the buffer is full the worker stops reading the pty
//   and the host's write waits, as a USB host's does while the device NAKs. An armed endpoint with
//   nothing to send is held, not answered with an empty packet every 10 us as rp2040js does, which
//   would keep the emulated CPU taking USB interrupts all the time.
// - Flash that keeps what is written. rp2040js does not emulate the flash chip's erase and program
//   commands; the boot ROM's flash_range_erase and flash_range_program entries are pointed at two
//   `bkpt` instructions at the end of the ROM, and the breakpoint handler erases (0xFF) or programs
//   (AND: NOR flash only clears bits) the emulator's flash array and the flash image file, then
//   returns. The image holds MicroPython's file system (flash offset 0xa0000 to the end), so files
//   survive resets and restarts of this program.
// - Resets. A watchdog timeout or trigger (machine.reset(), machine.WDT) restarts the chip: a new
//   RP2040 with the boot ROM, the UF2 and the flash image, a new USB connection, and bytes the
//   host had sent before it lost, as when a Pico re-enumerates.
// - A ring oscillator random bit (ROSC RANDOMBIT), which rp2040js leaves unimplemented: without it
//   os.urandom returns the same bytes at every boot.
// - Time. The emulated clock never runs ahead of the wall clock: while the chip sleeps (WFE/WFI)
//   this program sleeps too, and wakes for the next timer alarm or the host's bytes. While the chip
//   is busy its clock runs at what the emulator manages (about half of real time on a 2-core
//   development machine), and catches up in the next idle spell.
// Events are JSON lines on stdout: {"ev": "boot"|"usb"|"pin"|"pwm"|"log", "t_us": emulated us since
// this boot, ...}. Commands are JSON lines on stdin: {"cmd": "input", "pin": 19, "value": 0}
// drives a GPIO input; {"cmd": "reset"} presses the reset button.

import fs from "node:fs";
import crypto from "node:crypto";
import { Worker } from "node:worker_threads";
import { RP2040, USBCDC, BasePeripheral, GPIOPinState } from "rp2040js";

const FLASH_BASE = 0x10000000;
const FS_OFFSET = 0xa0000; // MicroPython's file system on a 2 MB Pico: 0xa0000 to 0x200000
const FLASH_SIZE = 0x200000;
const ROM_ERASE_AT = 0x3ffa; // two bkpt half-words at the end of the B1 boot ROM, unused by it
const ROM_PROGRAM_AT = 0x3ffc;
const RING = 1 << 14; // bytes from the pty waiting for the device: then the host's write waits
const IDX_MASK = (1 << 30) - 1;
const CATCH_UP = 2; // how much faster than the wall clock a sleeping chip's clock may catch up
const SLICE_NS = 2_000_000; // emulated time between looks at the clock and the commands

function fail(message) {
  fs.writeSync(2, `picoemu: ${message}\n`);
  process.exit(1);
}
process.on("SIGTERM", () => process.exit(0)); // between slices: a clean exit (profiles, flash image closed)
process.on("uncaughtException", (err) => fail(err && err.stack ? err.stack : String(err)));

function parseArgs(argv) {
  const opts = { pins: "{}", name: "pico" };
  for (let i = 0; i < argv.length; i += 2) {
    const key = argv[i].replace(/^--/, "").replace(/-([a-z])/g, (_, c) => c.toUpperCase());
    if (!["fd", "uf2", "bootrom", "flashImage", "pins", "name"].includes(key)) fail(`unknown argument ${argv[i]}`);
    opts[key] = argv[i + 1];
  }
  for (const key of ["fd", "uf2", "bootrom", "flashImage"]) if (opts[key] === undefined) fail(`--${key} is required`);
  opts.fd = Number(opts.fd);
  opts.pins = JSON.parse(opts.pins);
  return opts;
}
const opts = parseArgs(process.argv.slice(2));

const wallNs = () => Number(process.hrtime.bigint());
function emit(obj) {
  fs.writeSync(1, JSON.stringify(obj) + "\n");
}

// ---- what survives a reset: boot ROM, UF2, flash image -------------------------------------
function loadBootrom(file) {
  const rom = new Uint8Array(fs.readFileSync(file));
  if (rom.length !== 16384) fail(`${file}: a boot ROM is 16384 bytes, this is ${rom.length}`);
  const view = new DataView(rom.buffer);
  // The ROM function table: its address at 0x14, then (2-character code, 16-bit address) pairs.
  let at = view.getUint16(0x14, true);
  const patched = new Set();
  for (; view.getUint16(at, true) !== 0; at += 4) {
    const code = String.fromCharCode(rom[at], rom[at + 1]);
    if (code === "RE") { view.setUint16(at + 2, ROM_ERASE_AT | 1, true); patched.add(code); }
    if (code === "RP") { view.setUint16(at + 2, ROM_PROGRAM_AT | 1, true); patched.add(code); }
  }
  for (const addr of [ROM_ERASE_AT, ROM_PROGRAM_AT]) {
    if (view.getUint16(addr, true) >> 8 !== 0xbe) fail(`${file}: no bkpt at ${addr.toString(16)} (not the B1 boot ROM?)`);
  }
  if (patched.size !== 2) fail(`${file}: flash functions not found in the ROM function table`);
  return new Uint32Array(rom.buffer);
}

function loadUF2(file) {
  const data = fs.readFileSync(file);
  const blocks = [];
  for (let off = 0; off + 512 <= data.length; off += 512) {
    const magic0 = data.readUInt32LE(off);
    const magic1 = data.readUInt32LE(off + 4);
    if (magic0 !== 0x0a324655 || magic1 !== 0x9e5d5157) continue;
    const flags = data.readUInt32LE(off + 8);
    const addr = data.readUInt32LE(off + 12);
    const size = data.readUInt32LE(off + 16);
    if (flags & 0x2000 && data.readUInt32LE(off + 28) !== 0xe48bff56) continue; // another chip's block
    if (addr < FLASH_BASE || addr + size > FLASH_BASE + FLASH_SIZE) continue;
    blocks.push([addr - FLASH_BASE, data.subarray(off + 32, off + 32 + size)]);
  }
  if (blocks.length === 0) fail(`${file}: no RP2040 blocks in this UF2`);
  return blocks;
}

const bootrom = loadBootrom(opts.bootrom);
const uf2 = loadUF2(opts.uf2);
const FS_SIZE = FLASH_SIZE - FS_OFFSET;
const image = Buffer.alloc(FS_SIZE, 0xff); // an erased file system region: MicroPython formats it
{
  let fd;
  try {
    fd = fs.openSync(opts.flashImage, "r+");
  } catch (err) {
    if (err.code !== "ENOENT") throw err;
    fd = fs.openSync(opts.flashImage, "w+");
  }
  const got = fs.readSync(fd, image, 0, FS_SIZE, 0);
  if (got < FS_SIZE) image.fill(0xff, got); // a new (or short) image: the rest is erased flash
  fs.writeSync(fd, image, 0, FS_SIZE, 0);
  opts.imageFd = fd;
}

// ---- host bytes: a worker blocks reading the pty and fills a shared ring --------------------
// ctrl: [0] write index, [1] read index, [2] doorbell (bumped on host bytes and commands)
const shared = new SharedArrayBuffer(32 + RING);
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
  for (;;) {
    // Only as much as the ring has room for: the rest stays in the pty, and the host waits.
    let free = RING - ((Atomics.load(ctrl, 0) - Atomics.load(ctrl, 1)) & IDX_MASK);
    while (free === 0) {
      Atomics.wait(ctrl, 1, Atomics.load(ctrl, 1), 50);
      free = RING - ((Atomics.load(ctrl, 0) - Atomics.load(ctrl, 1)) & IDX_MASK);
    }
    let n = 0;
    try {
      n = fs.readSync(fd, chunk, 0, Math.min(free, chunk.length), null);
    } catch (err) {
      // EAGAIN: non-blocking fd with nothing to read; EIO: no process has the pty open.
      Atomics.wait(ctrl, 3, 0, err.code === "EAGAIN" ? 1 : 20);
      continue;
    }
    const w = Atomics.load(ctrl, 0);
    for (let i = 0; i < n; i++) ring[(w + i) & (RING - 1)] = chunk[i];
    Atomics.store(ctrl, 0, (w + n) & IDX_MASK);
    Atomics.add(ctrl, 2, 1);
    Atomics.notify(ctrl, 2);
  }
  `,
  { eval: true, workerData: { fd: opts.fd, shared, RING, IDX_MASK } },
);
const hostPending = () => (Atomics.load(ctrl, 0) - Atomics.load(ctrl, 1)) & IDX_MASK;
function hostTake(max) {
  const r = Atomics.load(ctrl, 1);
  const k = Math.min(hostPending(), max);
  const out = new Uint8Array(k);
  for (let i = 0; i < k; i++) out[i] = ring[(r + i) & (RING - 1)];
  Atomics.store(ctrl, 1, (r + k) & IDX_MASK);
  Atomics.notify(ctrl, 1);
  return out;
}
function hostDiscard() {
  Atomics.store(ctrl, 1, Atomics.load(ctrl, 0));
  Atomics.notify(ctrl, 1);
}

// Device to host: a worker writes to the pty so that a host that is slow to read never stalls the
// emulated chip; what the worker has not written yet waits in its ring (64 KB).
const TX_RING = 1 << 16;
const txShared = new SharedArrayBuffer(32 + TX_RING);
const txCtrl = new Int32Array(txShared, 0, 8); // [0] write index, [1] read index
const txRing = new Uint8Array(txShared, 32, TX_RING);
new Worker(
  `
  const { workerData } = require("node:worker_threads");
  const fs = require("node:fs");
  const { fd, txShared, TX_RING, IDX_MASK } = workerData;
  const txCtrl = new Int32Array(txShared, 0, 8);
  const txRing = new Uint8Array(txShared, 32, TX_RING);
  const out = Buffer.alloc(TX_RING);
  for (;;) {
    const w = Atomics.load(txCtrl, 0);
    const r = Atomics.load(txCtrl, 1);
    if (w === r) { Atomics.wait(txCtrl, 0, w, 250); continue; }
    const n = (w - r) & IDX_MASK;
    for (let i = 0; i < n; i++) out[i] = txRing[(r + i) & (TX_RING - 1)];
    let off = 0;
    while (off < n) {
      try { off += fs.writeSync(fd, out, off, n - off); }
      catch (err) { Atomics.wait(txCtrl, 3, 0, 20); }
    }
    Atomics.store(txCtrl, 1, (r + n) & IDX_MASK);
  }
  `,
  { eval: true, workerData: { fd: opts.fd, txShared, TX_RING, IDX_MASK } },
);
let txLost = 0;
function toHost(bytes) {
  const w = Atomics.load(txCtrl, 0);
  const free = TX_RING - ((w - Atomics.load(txCtrl, 1)) & IDX_MASK);
  if (bytes.length > free) { // the host has not read 64 KB: what a USB host would have NAKed
    if (txLost++ === 0) emit({ ev: "log", text: "host not reading: device output lost" });
    return;
  }
  for (let i = 0; i < bytes.length; i++) txRing[(w + i) & (TX_RING - 1)] = bytes[i];
  Atomics.store(txCtrl, 0, (w + bytes.length) & IDX_MASK);
  Atomics.notify(txCtrl, 0);
}

// Commands from the host program on stdin, one JSON object a line.
const commands = [];
{
  let partial = "";
  process.stdin.on("data", (chunk) => {
    partial += chunk.toString();
    let nl;
    while ((nl = partial.indexOf("\n")) >= 0) {
      const line = partial.slice(0, nl).trim();
      partial = partial.slice(nl + 1);
      if (line) commands.push(JSON.parse(line));
    }
  });
  process.stdin.on("end", () => process.exit(0)); // the host program went away: so does the board
}

// ---- the chip ----------------------------------------------------------------------------------
class RingOscillator extends BasePeripheral {
  // CTRL, FREQA, FREQB, DORMANT, DIV, PHASE as written; STATUS stable and enabled; RANDOMBIT random.
  constructor(rp2040, name) { super(rp2040, name); this.regs = new Map(); this.bits = 0; this.left = 0; }
  readUint32(offset) {
    if (offset === 0x18) return 0x80001000;
    if (offset === 0x1c) {
      if (this.left === 0) { this.bits = crypto.randomBytes(4).readUInt32LE(0); this.left = 32; }
      this.left--;
      return (this.bits >>> this.left) & 1;
    }
    return this.regs.get(offset) ?? 0;
  }
  writeUint32(offset, value) { this.regs.set(offset, value); }
}

const pinNames = new Map(Object.entries(opts.pins).filter(([, p]) => typeof p === "number").map(([n, p]) => [p, n]));
const INPUT_PIN = opts.pins.hands_on; // driven from outside: released (high) until a command says otherwise
const inputs = new Map(INPUT_PIN === undefined ? [] : [[INPUT_PIN, true]]);

let mcu = null;
let clock = null;
let cdc = null;
let outEndpointWaiting = -1; // bytes the device asked for on an OUT transfer nobody has answered
let resetReason = "power";
let bootCount = 0;
let resetPending = null;

function flashOp(code) {
  const core = mcu.core;
  const r = core.registers;
  if (code === "erase") {
    const [off, count] = [r[0] >>> 0, r[1] >>> 0];
    mcu.flash.fill(0xff, off, off + count);
  } else {
    const [off, src, count] = [r[0] >>> 0, r[1] >>> 0, r[2] >>> 0];
    for (let i = 0; i < count; i++) mcu.flash[off + i] &= mcu.readUint8(src + i);
  }
  const off = r[0] >>> 0;
  const count = (code === "erase" ? r[1] : r[2]) >>> 0;
  const start = Math.max(off, FS_OFFSET);
  const end = Math.min(off + count, FLASH_SIZE);
  if (end > start) fs.writeSync(opts.imageFd, mcu.flash, start, end - start, start - FS_OFFSET);
  core.PC = core.LR & ~1; // return from the ROM function
}

function boot() {
  mcu = new RP2040(); // its own simulation clock, from 0: the chip's timer restarts at a reset
  clock = mcu.clock;
  mcu.logger = { debug() {}, info() {}, warn() {}, error(name, msg) { emit({ ev: "log", text: `${name}: ${msg}` }); } };
  mcu.loadBootrom(bootrom);
  for (const [off, payload] of uf2) mcu.flash.set(payload, off);
  fs.readSync(opts.imageFd, mcu.flash, FS_OFFSET, FS_SIZE, 0);
  mcu.peripherals[0x40060] = new RingOscillator(mcu, "ROSC_BASE");
  mcu.onBreak = (imm) => {
    const pc = (mcu.core.PC - 2) & ~1;
    if (pc === ROM_ERASE_AT) flashOp("erase");
    else if (pc === ROM_PROGRAM_AT) flashOp("program");
    else emit({ ev: "log", text: `bkpt ${imm} at ${pc.toString(16)}` });
  };
  const watchdog = mcu.peripherals[0x40058];
  watchdog.onWatchdogTrigger = () => {
    resetPending = watchdog.reason === 1 ? "watchdog" : "reset";
    // Stop its alarm: rp2040js re-arms a timed-out watchdog at zero delay, which would fire again
    // and again inside the same clock tick (a real chip has reset by then).
    watchdog.alarm.enable = false;
  };
  for (const [pin, value] of inputs) mcu.gpio[pin].setInputValue(value);
  watchPins();

  cdc = new USBCDC(mcu.usbCtrl);
  outEndpointWaiting = -1;
  cdc.onDeviceConnected = () => emit({ ev: "usb", t_us: micros(), connected: true });
  cdc.onSerialData = (bytes) => toHost(bytes);
  const usb = mcu.usbCtrl;
  usb.onEndpointRead = (endpoint, size) => {
    if (endpoint !== cdc.outEndpoint) return;
    if (hostPending() > 0) usb.endpointReadDone(endpoint, hostTake(size));
    else outEndpointWaiting = size;
  };
  mcu.core.PC = FLASH_BASE;
  bootCount++;
  emit({ ev: "boot", t_us: 0, reset: resetReason, boot: bootCount });
}

function micros() { return Math.floor(clock.nanos / 1000); }

// Outputs: SIO-driven pins as edges (exact emulated time), PWM pins as frequency and duty on every
// write to the PWM block (a tone is thousands of edges a second: its settings are what matters).
function watchPins() {
  for (const [pin, name] of pinNames) {
    if (pin === INPUT_PIN) continue;
    mcu.gpio[pin].addListener((state) => {
      if (mcu.gpio[pin].functionSelect !== 5) return; // SIO only; PWM pins are reported below
      if (state !== GPIOPinState.Low && state !== GPIOPinState.High) return;
      emit({ ev: "pin", t_us: micros(), pin, name, value: state === GPIOPinState.High ? 1 : 0 });
    });
  }
  const pwm = mcu.pwm;
  const last = new Map();
  const write = pwm.writeUint32.bind(pwm);
  pwm.writeUint32 = (offset, value) => {
    write(offset, value);
    for (const [pin, name] of pinNames) {
      if (mcu.gpio[pin].functionSelect !== 4) continue;
      const ch = pwm.channels[(pin >> 1) & 7];
      const div = ((ch.div >> 4) & 0xff || 256) + (ch.div & 0xf) / 16;
      const top = ch.top + 1;
      const cc = pin & 1 ? ch.cc >>> 16 : ch.cc & 0xffff;
      const on = (ch.csr & 1) !== 0 && cc > 0;
      const hz = on ? Math.round(mcu.clkSys / div / top) : 0;
      const duty = on ? Math.min(65535, Math.round((cc * 65536) / top)) : 0;
      const key = `${hz}/${duty}`;
      if (last.get(pin) === key) continue;
      last.set(pin, key);
      emit({ ev: "pwm", t_us: micros(), pin, name, hz, duty_u16: duty });
    }
  };
}

function serveHost() {
  if (outEndpointWaiting >= 0 && hostPending() > 0) {
    const size = outEndpointWaiting;
    outEndpointWaiting = -1;
    mcu.usbCtrl.endpointReadDone(cdc.outEndpoint, hostTake(size));
  }
  while (commands.length) {
    const cmd = commands.shift();
    if (cmd.cmd === "input") {
      inputs.set(cmd.pin, !!cmd.value);
      mcu.gpio[cmd.pin].setInputValue(!!cmd.value);
      emit({ ev: "input", t_us: micros(), pin: cmd.pin, value: cmd.value ? 1 : 0 });
    } else if (cmd.cmd === "reset") {
      resetPending = "button";
    }
  }
}

// Execute until emulated time `end`, the chip falls asleep with no alarm before it, a reset, or
// host bytes for an armed USB endpoint. The clock is advanced once per batch of instructions that
// ends before the next timer alarm, not after every instruction: alarms still fire in order and
// on time, and a timer read inside a batch is at most BATCH instructions (about 1 us) stale.
// (A function of its own: V8 optimises it, not the module's top-level loop.)
const BATCH = 64;
function run(core, end) {
  const cycleNs = 1e9 / mcu.clkSys;
  let checks = 0;
  while (clock.nanos < end && !resetPending) {
    if (core.waiting) {
      const next = clock.nanosToNextAlarm;
      if (next <= 0 || clock.nanos + next > end) return;
      clock.tick(next);
      continue;
    }
    const next = clock.nanosToNextAlarm;
    const room = Math.min(next > 0 ? next : Infinity, end - clock.nanos);
    let cycles = core.executeInstruction();
    for (let i = 1; i < BATCH && !core.waiting && (cycles + 4) * cycleNs < room; i++) cycles += core.executeInstruction();
    clock.tick(cycles * cycleNs);
    if (++checks === 16) {
      checks = 0;
      if (outEndpointWaiting >= 0 && hostPending() > 0) return;
    }
  }
}

// ---- the run loop ----------------------------------------------------------------------------
boot();
let anchor = wallNs(); // wall time that emulated time 0 of this boot is held to
let lastLoop = wallNs();
let yieldAt = wallNs();
for (;;) {
  if (resetPending) {
    resetReason = resetPending;
    resetPending = null;
    hostDiscard(); // what the host sent before the reset is lost with the USB connection
    boot();
    anchor = wallNs();
  }
  const core = mcu.core;
  const now = wallNs();
  let allowed = now - anchor; // emulated time may not pass the wall clock
  // The host's bytes reach the device at the chip's present time, before any catching up.
  serveHost();
  // A sleeping chip's clock moves on to its next timer alarm, or towards the wall clock's, but at
  // most CATCH_UP times as fast as the wall clock: a chip that fell behind and jumped straight to
  // the wall clock would see a silence between two radar frames that the host never made (50 ms
  // apart on the wall, 200 ms on the chip after a 150 ms lag: a stale-radar FAULT).
  if (core.waiting && clock.nanos < allowed) {
    const next = clock.nanosToNextAlarm;
    const ceiling = Math.min(allowed, clock.nanos + CATCH_UP * Math.max(now - lastLoop, 0) + 1000);
    clock.tick((next > 0 ? Math.min(ceiling, clock.nanos + next) : ceiling) - clock.nanos);
  }
  lastLoop = now;
  if (!core.waiting && clock.nanos < allowed) {
    run(core, Math.min(allowed, clock.nanos + SLICE_NS));
    // Far behind after a long busy spell (formatting the flash, say): let the wall clock go, so
    // that the next idle spell does not rush through a second of timers in a burst.
    allowed = wallNs() - anchor;
    if (allowed - clock.nanos > 1e9) anchor = wallNs() - clock.nanos - 1e9;
  } else {
    // Asleep, or ahead of the wall clock: wait for the next alarm's time, the host's bytes or a
    // command (at most 5 ms, for the commands that come through Node's event loop).
    // (Asleep and behind the wall clock, it catches up at CATCH_UP times the wall's pace: a short nap.)
    const next = clock.nanosToNextAlarm;
    let untilNs = core.waiting ? (next > 0 ? clock.nanos + next : allowed + 5e6) - allowed : clock.nanos - allowed;
    if (core.waiting && clock.nanos < allowed) untilNs = Math.min(next > 0 ? next : 1e6, 1e6) / CATCH_UP;
    if (untilNs > 20_000) Atomics.wait(ctrl, 2, Atomics.load(ctrl, 2), Math.min(untilNs / 1e6, 5));
  }
  // stdin commands arrive through Node's event loop: give it a turn now and then.
  if (wallNs() - yieldAt > 5e6) {
    yieldAt = wallNs();
    await new Promise((resolve) => setImmediate(resolve));
  }
}

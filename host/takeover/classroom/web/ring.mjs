// A single-producer single-consumer byte ring in a SharedArrayBuffer (the layout runner.mjs uses):
// Int32 [0] write index, [1] read index, modulo 2**30; bytes from offset 32.
export const IDX_MASK = (1 << 30) - 1;
export function makeRing(size) { return new SharedArrayBuffer(32 + size); }
export class Ring {
  constructor(sab) { this.ctrl = new Int32Array(sab, 0, 8); this.buf = new Uint8Array(sab, 32); this.size = this.buf.length; }
  pending() { return (Atomics.load(this.ctrl, 0) - Atomics.load(this.ctrl, 1)) & IDX_MASK; }
  // Copy what fits of src (a Uint8Array); returns the count taken. Never blocks.
  write(src) {
    const w = Atomics.load(this.ctrl, 0), r = Atomics.load(this.ctrl, 1);
    const k = Math.min(src.length, this.size - ((w - r) & IDX_MASK));
    for (let i = 0; i < k; i++) this.buf[(w + i) & (this.size - 1)] = src[i];
    Atomics.store(this.ctrl, 0, (w + k) & IDX_MASK);
    Atomics.notify(this.ctrl, 0);
    return k;
  }
  // Up to count bytes into dst at off, waiting up to timeoutMs (workers only) when none are there.
  readInto(dst, off, count, timeoutMs) {
    let w = Atomics.load(this.ctrl, 0);
    const r = Atomics.load(this.ctrl, 1);
    if (w === r && timeoutMs > 0) { Atomics.wait(this.ctrl, 0, w, timeoutMs); w = Atomics.load(this.ctrl, 0); }
    const k = Math.min((w - r) & IDX_MASK, count);
    for (let i = 0; i < k; i++) dst[off + i] = this.buf[(r + i) & (this.size - 1)];
    Atomics.store(this.ctrl, 1, (r + k) & IDX_MASK);
    Atomics.notify(this.ctrl, 1);
    return k;
  }
}
// Empty a ring; only while neither end uses it (the page swaps boards between runs).
export function resetRing(sab) { const ctrl = new Int32Array(sab, 0, 8); Atomics.store(ctrl, 0, 0); Atomics.store(ctrl, 1, 0); }
// The compiled files (.pyc, .mpy) travel base64 inside the page's JSON manifests.
export const fromBase64 = Uint8Array.fromBase64 ?? ((text) => { // native from Chrome 140, Firefox 133, Safari 18.2
  const bytes = atob(text), out = new Uint8Array(bytes.length);
  for (let i = 0; i < bytes.length; i++) out[i] = bytes.charCodeAt(i);
  return out;
});

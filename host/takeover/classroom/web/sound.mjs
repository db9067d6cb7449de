// The buzzer, through Web Audio: the alert table row's tone, beeping at its on/off times (off 0 =
// continuous). Muted until the user ticks Sound: a projector in a quiet room should not beep
// unasked, and browsers only start audio after a click anyway.
export class Sound {
  constructor() { this.ctx = null; this.on = false; this.key = ""; this.timer = null; this.heard = []; }

  enable(on) {
    this.on = on;
    if (on && !this.ctx) {
      this.ctx = new AudioContext();
      this.osc = this.ctx.createOscillator();
      this.gain = this.ctx.createGain();
      this.gain.gain.value = 0;
      this.osc.type = "square";
      this.osc.connect(this.gain).connect(this.ctx.destination);
      this.osc.start();
    }
    if (!on) this.play(null);
  }

  // row: an alert table row's outputs (tone_hz, tone_on_ms, tone_off_ms), or null for silence.
  play(row) {
    const key = row && this.on ? `${row.tone_hz}/${row.tone_on_ms}/${row.tone_off_ms}` : "";
    if (key === this.key) return;
    this.key = key;
    clearInterval(this.timer);
    this.timer = null;
    if (!this.ctx) return;
    const level = (v) => this.gain.gain.setTargetAtTime(v, this.ctx.currentTime, 0.005);
    if (!key || !row.tone_hz) { level(0); return; }
    this.osc.frequency.value = row.tone_hz;
    if (!this.heard.includes(row.tone_hz)) this.heard.push(row.tone_hz); // the pitches sounded (tests read them)
    level(0.04);
    if (row.tone_off_ms) {
      const period = row.tone_on_ms + row.tone_off_ms, t0 = performance.now();
      this.timer = setInterval(() => level((performance.now() - t0) % period < row.tone_on_ms ? 0.04 : 0), 10);
    }
  }
}

// The two drawings of a run: the road from above, and gap, speed and TTC over time on bands
// coloured by the alert level the driver got.

export const LEVEL_COLOURS = { NONE: "#ffffff", NOTICE: "#fff4c2", WARNING: "#ffe08a", TAKEOVER: "#ffb3b3", EMERGENCY: "#ff7a7a" };
const HALO = { NONE: null, NOTICE: "#e8a000", WARNING: "#f07000", TAKEOVER: "#d00000", EMERGENCY: "#8b0000" };
const CAR_M = [4.7, 1.9]; // length, width

// The car at the left, the target `gap_m` ahead of its front, the radar's detection range as a
// shaded band (the target is drawn solid once inside it, outlined before), lane marks that move
// with the car so its speed shows. The view spans a little more than the radar range.
export function drawRoad(canvas, live) {
  const g = canvas.getContext("2d"), w = canvas.width, h = canvas.height;
  const range = live.detect_range_m ?? 150;
  const span = Math.max(range * 1.25, (live.gap_m ?? 0) + 15, 60);
  const left = 10, px = (w - 2 * left) / (span + CAR_M[0] + 5); // pixels per metre along the road
  const laneH = 30, top = (h - 3 * laneH) / 2, mid = top + laneH * 1.5;
  g.clearRect(0, 0, w, h);
  g.fillStyle = "#6b6b6b"; g.fillRect(0, top, w, 3 * laneH);
  g.strokeStyle = "#fff"; g.lineWidth = 2; g.setLineDash([3 * px, 9 * px]);
  g.lineDashOffset = (live.x_m % 12) * px; // the marks stream past at the car's speed
  for (const y of [top + laneH, top + 2 * laneH]) { g.beginPath(); g.moveTo(0, y); g.lineTo(w, y); g.stroke(); }
  g.setLineDash([]);
  const front = left + (CAR_M[0] + 5) * px; // the car's front bumper
  g.fillStyle = "rgba(255, 235, 120, 0.3)";
  g.fillRect(front, top, range * px, 3 * laneH);
  g.strokeStyle = "#e8c000"; g.setLineDash([6, 4]);
  g.beginPath(); g.moveTo(front + range * px, top); g.lineTo(front + range * px, top + 3 * laneH); g.stroke();
  g.setLineDash([]);
  g.fillStyle = "#000"; g.font = "12px system-ui";
  g.fillStyle = "#fff";
  g.fillText(`radar range ${range.toFixed(0)} m`, Math.min(front + range * px + 4, w - 110), top + 12);
  g.fillStyle = "#000";
  if (live.gap_m !== null && live.gap_m !== undefined) {
    const x = front + Math.max(live.gap_m, 0) * px, seen = live.gap_m <= range;
    g.fillStyle = "#333"; g.strokeStyle = "#333"; g.lineWidth = 2;
    (seen ? g.fillRect : g.strokeRect).call(g, x, mid - 0.5 * laneH + 4, Math.max(4, 2 * px), laneH - 8);
    g.fillText(`${live.gap_m.toFixed(0)} m`, Math.min(x + 6, w - 40), mid + laneH);
  }
  const halo = HALO[live.level];
  if (halo) { g.fillStyle = halo; g.fillRect(front - CAR_M[0] * px - 4, mid - 13, CAR_M[0] * px + 8, 26); }
  g.fillStyle = "#1f5fbf";
  g.fillRect(front - CAR_M[0] * px, mid - 9, CAR_M[0] * px, 18);
  g.fillStyle = "#000";
  g.fillText(`${live.kph.toFixed(0)} km/h`, left, h - 4);
}

// Gap (m, blue) and speed (km/h, black) on the left scale, TTC (s, red dashes, 0..10 s) on the
// right, over scenario time; the background is the alert level reported for each radar frame.
// series rows: [t_s, gap_m, kph, level, ttc_s]. Returns the points drawn.
export function drawPlot(canvas, series) {
  const g = canvas.getContext("2d"), w = canvas.width, h = canvas.height, pad = 34;
  g.clearRect(0, 0, w, h);
  if (!series.length) return 0;
  const tEnd = Math.max(series[series.length - 1][0], 1);
  const top = Math.max(...series.map(([, gap, kph]) => Math.max(gap ?? 0, kph ?? 0)), 1);
  const TTC_TOP = 10;
  const x = (t) => pad + (w - 2 * pad) * t / tEnd, y = (v) => h - pad - (h - 2 * pad) * v / top;
  const yTtc = (s) => h - pad - (h - 2 * pad) * Math.min(s, TTC_TOP) / TTC_TOP;
  let level = "NONE";
  series.forEach(([t, , , lvl], i) => {
    if (lvl) level = lvl;
    const tNext = i + 1 < series.length ? series[i + 1][0] : tEnd;
    g.fillStyle = LEVEL_COLOURS[level] ?? "#eee";
    const left = Math.floor(x(t)), right = Math.ceil(x(tNext)); // whole pixels: no seams between frames
    g.fillRect(left, pad, Math.max(1, right - left), h - 2 * pad);
  });
  const line = (k, colour, scale, dash = []) => {
    g.strokeStyle = colour; g.lineWidth = 2; g.setLineDash(dash); g.beginPath();
    let drawing = false;
    for (const row of series) {
      if (row[k] === null || row[k] === undefined) { drawing = false; continue; }
      (drawing ? g.lineTo : g.moveTo).call(g, x(row[0]), scale(row[k]));
      drawing = true;
    }
    g.stroke(); g.setLineDash([]);
  };
  line(1, "#1f5fbf", y);
  line(2, "#000000", y);
  line(4, "#c00000", yTtc, [6, 4]);
  g.fillStyle = "#000"; g.font = "12px system-ui";
  g.fillText(`gap (m, blue), speed (km/h, black), TTC (s, red dashes, right) over ${tEnd.toFixed(1)} s; ` +
    "background: alert level", pad, 16);
  g.fillText(`${top.toFixed(0)}`, 2, pad + 4); g.fillText("0", 2, h - pad);
  g.fillStyle = "#c00000"; g.fillText(`${TTC_TOP} s`, w - pad + 3, pad + 4); g.fillText("0 s", w - pad + 3, h - pad);
  g.strokeStyle = "#888"; g.lineWidth = 1; g.strokeRect(pad, pad, w - 2 * pad, h - 2 * pad);
  return series.length;
}

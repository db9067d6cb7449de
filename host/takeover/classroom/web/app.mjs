// The page: one board worker (the firmware) and one host worker (the bench), joined by two byte
// rings in shared memory, which needs a cross-origin isolated page (the server's COOP and COEP
// headers). window.__state is what the tests read.
import { makeRing, resetRing } from "./ring.mjs";
import { PageBoard } from "./transport.mjs";

const $ = (id) => document.getElementById(id);
const state = (window.__state = { isolated: crossOriginIsolated, outputs: 0, runs: [] });
if (!crossOriginIsolated) {
  $("status").textContent = "this page needs to be served with its headers: run `takeover classroom`";
  state.error = "not cross-origin isolated";
} else {
  const rings = { toBoard: makeRing(1 << 16), fromBoard: makeRing(1 << 13) };
  const host = new Worker("./host-worker.mjs", { type: "module" });
  const LEVELS = ["NONE", "NOTICE", "WARNING", "TAKEOVER", "EMERGENCY"];
  const COLOURS = ["#ccc", "#e8b000", "#e8b000", "#d00", "#d00"];
  const onBoardEvent = (data) => {
    if (data.error) {
      state.error = data.error;
      $("status").textContent = data.error;
    } else if (data.outputs) {
      state.outputs += data.outputs.length;
      const last = data.outputs[data.outputs.length - 1];
      $("level").textContent = LEVELS[last.level] ?? last.level;
      $("led").style.background = COLOURS[last.level] ?? "#ccc";
    } else if (data.booted_ms !== undefined) {
      state.board_ms = data.booted_ms;
    }
  };
  host.onerror = (e) => { state.error = "host: " + e.message; };
  host.onmessage = ({ data }) => {
    if (data.scenarios) {
      state.ready_ms = data.ready_ms;
      for (const name of data.scenarios) $("scenario").add(new Option(name, name, false, name === "su7-construction-zone"));
      $("scenario").disabled = $("run").disabled = false;
      $("status").textContent = `ready (${(data.ready_ms / 1000).toFixed(1)} s)`;
      state.ready = true;
      return;
    }
    $("run").disabled = false;
    if (data.error) { state.error = data.error; $("status").textContent = data.error; return; }
    const r = data.result;
    state.runs.push(r);
    $("status").textContent = r.passed ? "PASS" : "FAIL: " + r.failures.join("; ");
    $("outcome").textContent = r.outcome_words;
    $("details").textContent = r.outcome_text;
    state.plotted = plot($("plot"), r.trace);
    $("alerts").tBodies[0].replaceChildren(...r.alerts.map(([t, level, cause]) => {
      const tr = document.createElement("tr");
      for (const v of [t.toFixed(2), level, cause]) tr.appendChild(document.createElement("td")).textContent = v;
      return tr;
    }));
  };
  // The board answering the rings: the page's own to start with, a Pico once one is connected.
  let board = new PageBoard(onBoardEvent);
  state.transport = board.kind;
  board.start(rings);
  host.postMessage({ rings });
  async function useBoard(next) {
    await board.stop();
    resetRing(rings.toBoard);
    resetRing(rings.fromBoard);
    board = next;
    await board.start(rings);
    state.transport = board.kind;
    $("board").textContent = board.label;
  }
  $("connect").onclick = async () => {
    if (!("serial" in navigator)) {
      $("status").textContent = "connecting a Pico needs Web Serial: Chrome or Edge";
      return;
    }
    try {
      const port = await navigator.serial.requestPort();
      const { SerialBoard } = await import("./serial-board.mjs");
      await useBoard(new SerialBoard(port, onBoardEvent));
    } catch (err) {
      $("status").textContent = "no Pico connected: " + err.message;
    }
  };
  $("disconnect").onclick = () => useBoard(new PageBoard(onBoardEvent));
  window.runScenario = (scenario, lockstep = true) => {
    $("run").disabled = true;
    $("status").textContent = `running ${scenario}...`;
    host.postMessage({ scenario, lockstep, port: board.kind });
  };
  $("run").onclick = () => window.runScenario($("scenario").value, false);
}

// Gap to the obstacle (m, blue) and the car's speed (km/h, black) over scenario time, on bands
// coloured by the alert level the board reported for each radar frame. Returns the points drawn.
const BAND = { NONE: "#ffffff", NOTICE: "#fff4c2", WARNING: "#ffe08a", TAKEOVER: "#ffb3b3", EMERGENCY: "#ff7a7a" };
function plot(canvas, trace) {
  const g = canvas.getContext("2d"), w = canvas.width, h = canvas.height, pad = 30;
  g.clearRect(0, 0, w, h);
  if (!trace.length) return 0;
  const tEnd = trace[trace.length - 1][0] || 1;
  const top = Math.max(...trace.map(([, gap, kph]) => Math.max(gap ?? 0, kph ?? 0)), 1);
  const x = (t) => pad + (w - 2 * pad) * t / tEnd, y = (v) => h - pad - (h - 2 * pad) * v / top;
  let level = "NONE";
  trace.forEach(([t, , , lvl], i) => {
    if (lvl) level = lvl;
    const tNext = i + 1 < trace.length ? trace[i + 1][0] : tEnd;
    g.fillStyle = BAND[level] ?? "#eee";
    const left = Math.floor(x(t)), right = Math.ceil(x(tNext)); // whole pixels: no seams between frames
    g.fillRect(left, pad, Math.max(1, right - left), h - 2 * pad);
  });
  const line = (k, colour) => {
    g.strokeStyle = colour; g.lineWidth = 2; g.beginPath();
    trace.forEach((row, i) => (row[k] == null ? null : (i ? g.lineTo : g.moveTo).call(g, x(row[0]), y(row[k]))));
    g.stroke();
  };
  line(1, "#1f5fbf");
  line(2, "#000000");
  g.fillStyle = "#000"; g.font = "12px system-ui";
  g.fillText(`gap (m, blue) and speed (km/h, black) over ${tEnd.toFixed(1)} s; background: alert level`, pad, 18);
  g.strokeStyle = "#888"; g.lineWidth = 1; g.strokeRect(pad, pad, w - 2 * pad, h - 2 * pad);
  return trace.length;
}

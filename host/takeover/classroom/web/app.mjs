// The page: the board (transport.mjs) and the host worker (the bench) joined by two byte rings in
// shared memory, which needs a cross-origin isolated page (the server's COOP and COEP headers).
// window.__state is what the tests read.
import { makeRing, resetRing } from "./ring.mjs";
import { PageBoard } from "./transport.mjs";
import { drawRoad, drawPlot } from "./draw.mjs";
import { Sound } from "./sound.mjs";

const $ = (id) => document.getElementById(id);
const state = (window.__state = { isolated: crossOriginIsolated, runs: [], results: [] });
const SLIDERS = ["speed_kph", "detect_range_m", "reaction_s", "distraction_s"];
const UNITS = { speed_kph: " km/h", detect_range_m: " m", reaction_s: " s", distraction_s: " s" };
const LED_COLOURS = ["#ccc", "#e8a000", "#d00"]; // the alert table's LED column: off, amber, red

// What the build made for the page (classroom.page_start): scenarios, limits, the outputs table.
const startFile = fetch("./start.json").then((r) => r.json());
let start = null;
const panels = {}; // per run key ("baseline", "firmware"): its elements and what it has drawn
const sound = new Sound();
state.heard = sound.heard;

if (!crossOriginIsolated) {
  $("status").textContent = "this page needs to be served with its headers: run `takeover classroom`";
  state.error = "not cross-origin isolated";
} else {
  boot();
}

function boot() {
  const rings = { toBoard: makeRing(1 << 16), fromBoard: makeRing(1 << 13) };
  // Started by index.html before this module and its imports load: the host worker begins
  // loading Pyodide at once (most of the page's load time).
  const host = window.__hostWorker ?? new Worker("./host-worker.mjs", { type: "module" });
  const onBoardEvent = (data) => {
    if (data.error) {
      state.error = data.error;
      $("status").textContent = data.error;
    } else if (data.booted_ms !== undefined) {
      state.board_ms = data.booted_ms;
    }
  };
  host.onerror = (e) => { state.error = "host: " + e.message; };
  host.onmessage = ({ data }) => {
    if (data.ready_ms !== undefined) return startFile.then((made) => ready(data, made));
    if (data.live) return live(data.live);
    running(false);
    if (data.error) { state.error = data.error; $("status").textContent = data.error; return; }
    finished(data.result);
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
    try {
      await board.start(rings);
    } catch (err) {
      // A Pico that cannot be opened (another tab has it, it was unplugged): the page's own board
      // answers the rings again, or no run could go at all. #connect's handler says why.
      board = new PageBoard(onBoardEvent);
      await board.start(rings);
      throw err;
    } finally {
      state.transport = board.kind;
      $("board").textContent = board.label;
    }
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

  // A run: the scenario as its file says (settings {} and no comparison: judged, as `takeover run`),
  // or with the class's values and/or the SU7-as-reported baseline (as `takeover demo`).
  window.runScenario = (scenario, lockstep = true, { settings = {}, compare = false } = {}) => {
    running(true);
    $("status").textContent = `running ${scenario}...`;
    showPanels(compare ? ["baseline", "firmware"] : ["firmware"]);
    host.postMessage({ scenario, lockstep, port: board.kind, settings, compare });
  };
  $("run").onclick = () => {
    const s = settingsNow();
    window.runScenario(s.scenario, s.fast, { settings: changedSettings(s), compare: s.compare });
  };
}

// While a run goes the board cannot be swapped (the swap empties the rings the run is using).
function running(on) {
  for (const id of ["run", "connect", "disconnect"]) $(id).disabled = on;
}

// ---------------------------------------------------------------- settings, sliders, share link

function scenarioInfo(name) { return start.scenarios.find((s) => s.name === name); }

function ready(data, made) {
  start = made;
  state.ready_ms = data.ready_ms;
  for (const { name } of start.scenarios) $("scenario").add(new Option(name, name));
  for (const key of SLIDERS) {
    const [lo, hi] = start.limits[key];
    Object.assign($(key), { min: lo, max: hi });
    $(key).oninput = () => { $(key + "-out").textContent = $(key).value + UNITS[key]; };
  }
  $("scenario").onchange = () => fileValues();
  $("defaults").onclick = () => fileValues();
  $("share").onclick = share;
  $("sound").onchange = () => sound.enable($("sound").checked);
  applySettings(parseLink(location.hash) ?? { scenario: "su7-construction-zone", compare: true });
  $("scenario").disabled = $("run").disabled = false;
  $("status").textContent = `ready (${(data.ready_ms / 1000).toFixed(1)} s)`;
  state.ready = true;
}

// The sliders at the chosen scenario's own values (disabled for one with nothing ahead: it runs
// as its file says).
function fileValues() {
  const info = scenarioInfo($("scenario").value);
  $("description").textContent = info.description;
  const s = info.settings;
  for (const key of SLIDERS) {
    $(key).disabled = !s;
    if (s) $(key).value = s[key];
    $(key).oninput();
  }
  $("aeb").disabled = $("compare").disabled = !s;
  $("aeb").checked = s ? s.aeb : true;
  if (!s) $("compare").checked = false;
}

function settingsNow() {
  const s = { scenario: $("scenario").value, aeb: $("aeb").checked, compare: $("compare").checked, fast: $("fast").checked };
  for (const key of SLIDERS) s[key] = Number($(key).value);
  return s;
}

// Only what differs from the file goes to the run (and into its command line).
function changedSettings(s) {
  const file = scenarioInfo(s.scenario).settings;
  if (!file) return {};
  const out = {};
  for (const key of [...SLIDERS, "aeb"]) if (s[key] !== file[key] && Math.abs(s[key] - file[key]) > 1e-9) out[key] = s[key];
  return out;
}

function applySettings(s) {
  if (!scenarioInfo(s.scenario)) s.scenario = "su7-construction-zone";
  $("scenario").value = s.scenario;
  fileValues();
  const file = scenarioInfo(s.scenario).settings;
  if (file) {
    for (const key of SLIDERS) if (s[key] !== undefined) { $(key).value = s[key]; $(key).oninput(); }
    if (s.aeb !== undefined) $("aeb").checked = s.aeb;
    $("compare").checked = !!s.compare;
  }
  $("fast").checked = !!s.fast;
}

// The link holds the scenario, every value and the two switches, so a student opens the same run.
function share() {
  const s = settingsNow();
  const q = new URLSearchParams({ scenario: s.scenario });
  for (const key of SLIDERS) q.set(key, s[key]);
  for (const key of ["aeb", "compare", "fast"]) q.set(key, s[key] ? "1" : "0");
  const link = `${location.origin}${location.pathname}#${q}`;
  $("share-link").value = link;
  $("share-row").classList.remove("hidden");
  history.replaceState(null, "", "#" + q);
  navigator.clipboard?.writeText(link).catch(() => { /* not allowed here: the link is shown anyway */ });
  state.shared = link;
  return link;
}

function parseLink(hash) {
  const q = new URLSearchParams(hash.replace(/^#/, ""));
  if (!q.has("scenario")) return null;
  const s = { scenario: q.get("scenario") };
  for (const key of SLIDERS) if (q.has(key) && Number.isFinite(Number(q.get(key)))) s[key] = Number(q.get(key));
  for (const key of ["aeb", "compare", "fast"]) if (q.has(key)) s[key] = q.get(key) === "1";
  return s;
}
window.settingsNow = settingsNow;

// ---------------------------------------------------------------- the live view and the result

function showPanels(keys) {
  const box = $("panels");
  box.replaceChildren();
  for (const key of Object.keys(panels)) delete panels[key];
  for (const key of keys) {
    const id = (name) => (key === "firmware" ? name : `${name}-${key}`); // the firmware's keep plain ids
    const div = document.createElement("div");
    div.className = "panel";
    div.innerHTML = `<h2 id="${id("title")}"></h2>
      <canvas id="${id("road")}" width="900" height="110" aria-label="the road from above"></canvas>
      <p class="readout"><span class="lamp" id="${id("led")}"></span> <b id="${id("level")}">NONE</b>
        <span class="chip" id="${id("buzzer")}">buzzer</span> <span class="chip" id="${id("haptic")}">haptic</span>
        <span class="chip" id="${id("brake")}">brake request</span> &nbsp; <span id="${id("readout")}"></span></p>
      <div class="outcome" id="${id("outcome")}"></div>
      <canvas id="${id("plot")}" width="900" height="240" aria-label="gap, speed, TTC and alert level over time"></canvas>`;
    box.appendChild(div);
    panels[key] = { id, series: [], live: null };
  }
}

function outputsOf(level, cause) {
  return start.outputs[`${level}/${cause}`] ?? start.outputs["NONE/none"];
}

// The lamps follow the alert table's row for the level and cause the driver gets, as the board's
// LED, buzzer and haptic motor do (blinking at the row's on/off times).
function lamps(panel, live) {
  const row = outputsOf(live.level, live.cause);
  const period = row.led_on_ms + row.led_off_ms;
  const lit = row.led && (!period || performance.now() % period < row.led_on_ms);
  $(panel.id("led")).style.background = lit ? LED_COLOURS[row.led] : "#ccc";
  $(panel.id("level")).textContent = live.level;
  $(panel.id("buzzer")).classList.toggle("on", row.tone_hz > 0);
  $(panel.id("buzzer")).textContent = row.tone_hz ? `buzzer ${row.tone_hz} Hz` : "buzzer";
  $(panel.id("haptic")).classList.toggle("on", row.haptic_on_ms > 0);
  $(panel.id("haptic")).classList.toggle("shake", row.haptic_on_ms > 0);
  $(panel.id("brake")).classList.toggle("on", row.brake > 0);
  return row;
}

function live(lives) {
  for (const l of lives) {
    const panel = panels[l.key];
    if (!panel) continue;
    panel.live = l;
    $(panel.id("title")).textContent = l.title;
    const last = panel.series[panel.series.length - 1];
    if (l.gap_m !== null && (!last || l.t_s > last[0])) panel.series.push([l.t_s, l.gap_m, l.kph, l.level, l.ttc_s]);
    const row = lamps(panel, l);
    if (l.state === "running") sound.play(row);
    const ttc = l.ttc_s === null ? "-" : `${l.ttc_s.toFixed(1)} s`;
    const gap = l.gap_m === null ? "-" : `${l.gap_m.toFixed(0)} m`;
    $(panel.id("readout")).textContent = `t ${l.t_s.toFixed(1)} s, ${l.kph.toFixed(0)} km/h, gap ${gap}, TTC ${ttc}; ` +
      `driver ${l.phase}${l.driver.eyes_on_road === false ? ", eyes off the road" : ""}${l.warning ? "; " + l.warning : ""}`;
    drawRoad($(panel.id("road")), l);
    drawPlot($(panel.id("plot")), panel.series);
    if (l.state === "done") $(panel.id("outcome")).textContent = l.outcome;
  }
  if (lives.every((l) => l.state === "done")) sound.play(null);
}

function finished(result) {
  sound.play(null);
  state.results.push(result);
  const fw = result.runs[result.runs.length - 1];
  state.runs.push(fw);
  for (const r of result.runs) {
    const panel = panels[r.key];
    $(panel.id("title")).textContent = r.title;
    $(panel.id("outcome")).textContent = r.outcome_words;
    panel.series = r.trace; // the whole trace: the live view may have skipped frames
    state.plotted = drawPlot($(panel.id("plot")), r.trace);
  }
  const f = fw.frames;
  $("status").textContent = result.mode === "run" ? (fw.passed ? "PASS" : "FAIL: " + fw.failures.join("; ")) :
    "done (a demonstration: the outcome is the result, nothing is judged)";
  $("details").textContent = fw.outcome_text;
  $("command").textContent = [`the same on the command line: ${result.command}`,
    `board ${fw.board} on ${fw.port}, firmware ${fw.firmware}, ${fw.pace}`,
    `frames: sent ${f.sent}, processed ${f.processed}, dropped ${f.dropped}, rejected ${f.rejected}`,
    ...fw.latency_lines, ...result.runs.flatMap((r) => r.warnings.map((w) => `warning (${r.key}): ${w}`))].join("\n");
  $("summary").textContent = (result.summary ?? []).map((l) => l.trim()).join("\n");
  $("alerts").tBodies[0].replaceChildren(...fw.alerts.map(([t, level, cause]) => {
    const tr = document.createElement("tr");
    for (const v of [t.toFixed(2), level, cause]) tr.appendChild(document.createElement("td")).textContent = v;
    return tr;
  }));
}

// The LEDs blink between live updates too.
(function blink() {
  for (const panel of Object.values(panels)) if (panel.live) lamps(panel, panel.live);
  requestAnimationFrame(blink);
})();

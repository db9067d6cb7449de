// The page: one board worker (the firmware) and one host worker (the bench), joined by two byte
// rings in shared memory, which needs a cross-origin isolated page (the server's COOP and COEP
// headers). window.__state is what the tests read.
import { makeRing } from "./ring.mjs";

const $ = (id) => document.getElementById(id);
const state = (window.__state = { isolated: crossOriginIsolated, outputs: 0, runs: [] });
if (!crossOriginIsolated) {
  $("status").textContent = "this page needs to be served with its headers: run `takeover classroom`";
  state.error = "not cross-origin isolated";
} else {
  const rings = { toBoard: makeRing(1 << 16), fromBoard: makeRing(1 << 13) };
  const board = new Worker("./board-worker.mjs", { type: "module" });
  const host = new Worker("./host-worker.mjs", { type: "module" });
  const LEVELS = ["NONE", "NOTICE", "WARNING", "TAKEOVER", "EMERGENCY"];
  const COLOURS = ["#ccc", "#e8b000", "#e8b000", "#d00", "#d00"];
  board.onmessage = ({ data }) => {
    if (data.outputs) {
      state.outputs += data.outputs.length;
      const last = data.outputs[data.outputs.length - 1];
      $("level").textContent = LEVELS[last.level] ?? last.level;
      $("led").style.background = COLOURS[last.level] ?? "#ccc";
    } else if (data.booted_ms !== undefined) {
      state.board_ms = data.booted_ms;
    }
  };
  board.onerror = (e) => { state.error = "board: " + e.message; };
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
    $("alerts").tBodies[0].replaceChildren(...r.alerts.map(([t, level, cause]) => {
      const tr = document.createElement("tr");
      for (const v of [t.toFixed(2), level, cause]) tr.appendChild(document.createElement("td")).textContent = v;
      return tr;
    }));
  };
  board.postMessage(rings);
  host.postMessage({ rings });
  window.runScenario = (scenario, lockstep = true) => {
    $("run").disabled = true;
    $("status").textContent = `running ${scenario}...`;
    host.postMessage({ scenario, lockstep });
  };
  $("run").onclick = () => window.runScenario($("scenario").value, false);
}

// The bench's host side in a Web Worker: this repo's scenario loader, plant, reference driver and
// runner (Python) on Pyodide, talking to the board over the same bytes a serial port carries.
import { Ring } from "./ring.mjs";
import { loadPyodide } from "./vendor/pyodide/pyodide.mjs";

let ready = null;
onmessage = async ({ data }) => {
  if (data.rings) {
    ready = start(data.rings);
    ready.catch((err) => postMessage({ error: "the bench's Python did not start: " + err }));
    return;
  }
  const py = await ready;
  try {
    const result = py.globals.get("run_json")(JSON.stringify(data));
    postMessage({ result: JSON.parse(result) });
  } catch (err) {
    postMessage({ error: String(err) });
  }
};

async function start(rings) {
  const toBoard = new Ring(rings.toBoard), fromBoard = new Ring(rings.fromBoard);
  const t0 = performance.now();
  const py = await loadPyodide({ indexURL: new URL("./vendor/pyodide/", location.href).href });
  const files = await (await fetch("./host.json")).json();
  for (const [path, text] of Object.entries(files)) {
    py.FS.mkdirTree("/app/" + path.split("/").slice(0, -1).join("/"));
    py.FS.writeFile("/app/" + path, text);
  }
  const scratch = new Uint8Array(4096);
  const sleeper = new Int32Array(new SharedArrayBuffer(4));
  py.registerJsModule("pagelink", {
    write(bytes) { const data = bytes.toJs(); bytes.destroy(); return toBoard.write(data); },
    read(count, timeoutMs) {
      const n = fromBoard.readInto(scratch, 0, Math.min(count, scratch.length), timeoutMs);
      return scratch.slice(0, n);
    },
    pending() { return fromBoard.pending(); },
    sleep(ms) { Atomics.wait(sleeper, 0, 0, ms); }, // Pyodide's own time.sleep spins
    post(text) { postMessage(JSON.parse(text)); }, // the live view while a run goes
  });
  py.runPython(await (await fetch("./host_main.py")).text());
  postMessage({ ready_ms: performance.now() - t0, start: JSON.parse(py.globals.get("page_start")()) });
  return py;
}

// The bench's host side in a Web Worker: this repo's scenario loader, plant, reference driver and
// runner (Python) on Pyodide, talking to the board over the same bytes a serial port carries.
import { Ring, fromBase64 } from "./ring.mjs";

// Loading starts with the worker, not on the page's first message (the rings, needed only once
// Python runs), and everything is fetched at once: Pyodide and the bench's Python. host.json holds
// the bench's sources and, base64 under .pyc paths, their bytecode: the build compiled them, the
// page does not. (Pyodide already compiles its core as it downloads, the server sending it as
// application/wasm; compiling it from here, or importing Pyodide's JavaScript early, measured no
// faster.)
const t0 = performance.now();
const PYODIDE = new URL("./vendor/pyodide/", location.href).href;
const fetched = (url, as) => fetch(url).then((r) => {
  if (!r.ok) throw new Error(`${url}: HTTP ${r.status}`);
  return r[as]();
});

function writeApp(py, files) {
  const utf8 = new TextEncoder(); // faster than the file system's own encoding of a string
  for (const [path, data] of Object.entries(files)) {
    py.FS.mkdirTree("/app/" + path.split("/").slice(0, -1).join("/"));
    py.FS.writeFile("/app/" + path, path.endsWith(".pyc") ? fromBase64(data) : utf8.encode(data));
  }
}

async function startPython([{ loadPyodide }, host]) {
  const py = await loadPyodide({ indexURL: PYODIDE });
  writeApp(py, host.files);
  return py;
}

const loading = Promise.all([
  Promise.all([import(PYODIDE + "pyodide.mjs"), fetched("./host.json", "json")]).then(startPython),
  fetched("./host_main.py", "text"),
]);
loading.catch(() => {}); // reported by start(), which awaits it

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
  const [py, hostMain] = await loading;
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
  py.runPython(hostMain);
  postMessage({ ready_ms: performance.now() - t0 });
  return py;
}

"""`takeover classroom`: the bench in a web page, built from this checkout and served locally.

The page (web/) runs two Web Workers: the unmodified firmware on the official MicroPython
WebAssembly VM (the npm package the simulated board uses), and this repo's scenario loader, plant,
reference driver and runner on Pyodide (npm `pyodide`, pinned in package.json). They talk over two
byte rings in shared memory, carrying what a serial port would. Shared memory needs a cross-origin
isolated page, so the server sends COOP and COEP headers; a plain file:// copy cannot run it.

build(out) writes the static site: web/, the two VMs' files from node_modules (no CDN at run time),
and the Python each side needs as JSON manifests (firmware.json, host.json).
"""

from __future__ import annotations

import functools
import http.server
import json
import shutil
import threading
from pathlib import Path

from takeover.errors import SetupError

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[2]  # the checkout: firmware/, boards/, node_modules/
WEB = HERE / "web"
VENDOR = {
    "micropython": ("@micropython/micropython-webassembly-pyscript", ("micropython.mjs", "micropython.wasm")),
    "pyodide": ("pyodide", ("pyodide.mjs", "pyodide.asm.mjs", "pyodide.asm.wasm", "python_stdlib.zip",
                            "pyodide-lock.json")),
}
# The host modules the page's runner imports (and nothing that needs numpy, pyserial or threads).
HOST_MODULES = ("__init__", "errors", "scenario", "plant", "codec", "faults", "runner", "timing", "device",
                "ports", "nodeboard", "demo", "sweep")
HEADERS = {"Cross-Origin-Opener-Policy": "same-origin", "Cross-Origin-Embedder-Policy": "require-corp"}


def build(out: Path) -> dict:
    """Write the site into `out` (created, emptied of a previous build); returns its sizes."""
    missing = [f"node_modules/{pkg}" for pkg, _ in VENDOR.values() if not (ROOT / "node_modules" / pkg).is_dir()]
    if missing:
        raise SetupError(f"the classroom page needs {', '.join(missing)}: run `make setup` (npm ci)")
    if out.exists() and (out / "index.html").exists():
        shutil.rmtree(out)
    out.mkdir(parents=True, exist_ok=True)
    for item in WEB.iterdir():
        if item.suffix in (".html", ".mjs", ".py"):
            shutil.copyfile(item, out / item.name)
    sizes = {"vendor": 0}
    for name, (pkg, files) in VENDOR.items():
        (out / "vendor" / name).mkdir(parents=True, exist_ok=True)
        for file in files:
            shutil.copyfile(ROOT / "node_modules" / pkg / file, out / "vendor" / name / file)
            sizes["vendor"] += (out / "vendor" / name / file).stat().st_size
    firmware = {"main.py": (ROOT / "firmware" / "main.py").read_text(),
                "board.py": (ROOT / "boards" / "sim.py").read_text()}
    firmware |= _tree(ROOT / "firmware", "tkfw/*.py")
    host = _tree(ROOT / "firmware", "tkfw/*.py")
    host |= {f"takeover/{m}.py": (ROOT / "host" / "takeover" / f"{m}.py").read_text() for m in HOST_MODULES}
    host |= _tree(ROOT / "host", "takeover/scenarios/*.toml")
    for name, files in (("firmware.json", firmware), ("host.json", host)):
        (out / name).write_text(json.dumps(files))
        sizes[name] = (out / name).stat().st_size
    # Static hosts that read a _headers file (Netlify, Cloudflare Pages) send the headers too.
    (out / "_headers").write_text("/*\n" + "".join(f"  {k}: {v}\n" for k, v in HEADERS.items()))
    sizes["total"] = sum(p.stat().st_size for p in out.rglob("*") if p.is_file())
    return sizes


def _tree(root: Path, pattern: str) -> dict[str, str]:
    return {str(p.relative_to(root)): p.read_text() for p in sorted(root.glob(pattern)) if "__pycache__" not in p.parts}


class _Handler(http.server.SimpleHTTPRequestHandler):
    extensions_map = {**http.server.SimpleHTTPRequestHandler.extensions_map,
                      ".mjs": "text/javascript", ".wasm": "application/wasm", ".json": "application/json"}

    def end_headers(self):
        for key, value in HEADERS.items():
            self.send_header(key, value)
        self.send_header("Cache-Control", "no-cache")
        super().end_headers()

    def log_message(self, fmt, *args):  # a quiet server: the page says what happens
        pass


def serve(root: Path, port: int = 0, host: str = "127.0.0.1") -> http.server.ThreadingHTTPServer:
    """A server for the built site in a thread of its own; `.shutdown()` stops it."""
    server = http.server.ThreadingHTTPServer((host, port), functools.partial(_Handler, directory=str(root)))
    threading.Thread(target=server.serve_forever, name="classroom-http", daemon=True).start()
    return server

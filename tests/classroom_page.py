"""The classroom page in headless Chromium, for the browser tests (tests/test_classroom*.py): the
page built and served as `takeover classroom` does, one tab on it, and a scenario run there. The
browser and its arguments are the benchmark's (takeover.classroom.bench). Skips, saying which,
without chromium or playwright."""

import contextlib
import json

import pytest

from takeover import classroom
from takeover.classroom import bench
from takeover.errors import SetupError


@contextlib.contextmanager
def open_page(site, init_script: str | None = None):
    """A tab on the page built into `site` (a folder), ready or failed (window.__state says which),
    with the page's uncaught errors in `tab.errors`. init_script runs before the page's own."""
    try:
        browser_path = bench.chromium()
    except SetupError as exc:
        pytest.skip(str(exc))
    sync_api = pytest.importorskip("playwright.sync_api", reason="needs playwright: pip install -e '.[test]'")
    classroom.build(site)
    server = classroom.serve(site)
    errors = []
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=browser_path, headless=True, args=bench.CHROMIUM_ARGS)
        try:
            tab = browser.new_page(viewport={"width": 1000, "height": 800})
            tab.on("pageerror", lambda exc: errors.append(str(exc)))
            if init_script is not None:
                tab.add_init_script(init_script)
            tab.goto(f"http://127.0.0.1:{server.server_address[1]}/index.html")
            tab.wait_for_function("window.__state && (window.__state.ready || window.__state.error)", timeout=120_000)
            tab.errors = errors
            yield tab
        finally:
            browser.close()
            server.shutdown()


def run_in_page(tab, name: str, timeout_ms: int = 120_000) -> dict:
    """Scenario `name` as its file says, in lockstep, on the page's current board: the run's result."""
    before = tab.evaluate("window.__state.runs.length")
    tab.evaluate(f"window.runScenario({json.dumps(name)}, true)")
    tab.wait_for_function(f"window.__state.runs.length > {before} || window.__state.error", timeout=timeout_ms)
    state = tab.evaluate("window.__state")
    assert state.get("error") is None, state["error"]
    return state["runs"][-1]

# Two commands do everything on a fresh machine with Python 3.11+ and Node 20:
#   make demo   - the SU7 scenario on the simulated board, alert timeline and latency
#   make test   - the whole suite (firmware on CPython and on the MicroPython VM, HIL over a pty)
# Both create .venv and node_modules first, only when missing or out of date.

PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
PY_STAMP   := $(VENV)/.installed
NODE_STAMP := node_modules/.package-lock.json

.PHONY: setup demo test check clean

setup: $(PY_STAMP) $(NODE_STAMP)

$(PY_STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "takeover needs Python 3.11 or newer, found " + sys.version.split()[0])'
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	@# setuptools warns on every editable install whose package-dir is remapped (host/takeover,
	@# firmware/tkfw) that a same-named folder in the working directory could shadow it; there is none.
	PYTHONWARNINGS="ignore:Editable installation" $(PY) -m pip install --quiet -e '.[test]'
	@touch $@

$(NODE_STAMP): package.json package-lock.json
	@command -v node >/dev/null || { echo "takeover needs Node.js 20 (the simulated board runs MicroPython on it)"; exit 1; }
	npm ci --no-audit --no-fund --loglevel=error

demo: setup
	$(VENV)/bin/takeover run su7-construction-zone

# The whole suite, what CI runs: first a pytest run of three workers, each with its own simulated
# board; pytest alone (no -n) runs one worker, e.g. for a single real board. One worker takes the
# emulated Pico's module whole (--dist loadgroup, pyproject.toml): its emulator keeps a core busy.
# The other two share the second core, which their real-time scenarios mostly leave idle.
# Then the classroom page's browser test on its own: Chromium with two VMs takes most of the
# machine, and beside the other workers it stalled their lockstep runs.
# Time on a 2-core machine: docs/hil.md ("How long the suite takes").
test: setup
	$(PY) -m pytest -n 3 -m "not browser"
	$(PY) -m pytest -m browser

# The edit loop, about 40 s on 2 cores: tests/ (the firmware on CPython, the same vectors on the
# MicroPython VM, the CLI) without the tests marked slow (the VM fuzz corpus, the type check).
# The HIL suite over a pty (hil_tests/) and the emulated Pico run in `make test` only.
check: setup
	$(PY) -m pytest -n 2 -q -m "not slow" tests

clean:
	rm -rf $(VENV) node_modules

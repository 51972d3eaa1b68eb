# airlift-tutorial: `make tutorial` runs the stages headless, `make test` runs the test suite.
SHELL := bash
PYTHON ?= python3
UV := $(shell command -v uv 2>/dev/null || echo .tools/bin/uv)
VENV := .venv
BIN := $(VENV)/bin
KERNEL := $(VENV)/share/jupyter/kernels/airlift-tutorial/kernel.json

CHP := .tools/hub/node_modules/.bin/configurable-http-proxy

.PHONY: install browser hub-proxy tutorial test unit lint bench soak room lab refresh down status clean

install: $(KERNEL)

# uv is bootstrapped into .tools/ when the machine has none.
.tools/bin/uv:
	$(PYTHON) -m venv .tools
	.tools/bin/pip install --quiet uv

# On a Python every local user can run (tools/shared_python.py): pyenv's and uv's live in the admin's home.
$(BIN)/python: uv.lock pyproject.toml | $(UV)
	$(UV) sync --frozen --python "$$($(PYTHON) tools/shared_python.py $(PYTHON))" --compile-bytecode
	@touch $@

$(KERNEL): $(BIN)/python
	$(BIN)/python -m ipykernel install --sys-prefix --name airlift-tutorial --display-name airlift-tutorial >/dev/null

# The browser tests drive Debian's Chromium with Playwright (Playwright's own browser download is not used).
browser:
	@command -v chromium >/dev/null 2>&1 || { command -v apt-get >/dev/null 2>&1 && \
		{ apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; } >/dev/null; } || \
		echo "Could not install chromium: the browser tests skip (they fail under CI=true)." >&2

# JupyterHub's proxy from npm (tools/hub/package-lock.json), for the hub test and `make room`.
hub-proxy: $(CHP)
$(CHP): tools/hub/package.json tools/hub/package-lock.json
	@if command -v npm >/dev/null 2>&1; then mkdir -p .tools/hub && cp tools/hub/package*.json .tools/hub/ && \
		npm ci --prefix .tools/hub --no-audit --no-fund --loglevel=error >/dev/null; \
	else echo "No npm: the JupyterHub tests skip (they fail under CI=true)." >&2; fi

tutorial: install
	$(BIN)/airlift-tutorial run $(STAGES)

test: install lint hub-proxy
	PYDEVD_DISABLE_FILE_VALIDATION=1 $(BIN)/python -m pytest -ra --durations=15 $(PYTEST_ARGS)

# The tests that need no services, on two workers (pytest-xdist): about a minute.
unit: install
	$(BIN)/python -m pytest -ra -m "not stage" -n 2 --dist worksteal $(PYTEST_ARGS)

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

# Timings and memory on this machine, as JSON (not part of `make test`). BENCH_ARGS=--repeats 1 for a quick look.
bench: install
	$(BIN)/python benchmarks/bench.py $(BENCH_ARGS)

# The five stages N times, each from a cold, fresh workspace: passes, failures (stage, cell) and p50/p95 per stage.
N ?= 5
soak: install
	$(BIN)/python benchmarks/soak.py --runs $(N) $(SOAK_ARGS)

# N learners at a real JupyterHub run STAGE at once from their terminals, after one alone: wall time, slowdown,
# failures, peak PSS (as root: it adds throw-away local users). `make room N=3 STAGE=peer`.
STAGE ?= peer
room: install hub-proxy
	$(BIN)/python benchmarks/room.py --learners $(N) --stage $(STAGE)

# JupyterLab whose terminals find airlift-tutorial, airflow and dagster (the venv first on PATH); root too.
lab: install
	$(BIN)/airlift-tutorial lab

# The committed notebooks' outputs and the UI pictures in docs/screenshots/, retaken (about 10 minutes).
refresh: install
	$(BIN)/python tools/refresh_notebook_outputs.py $(STAGES)

down:
	$(BIN)/airlift-tutorial down

status:
	$(BIN)/airlift-tutorial status

clean: down
	rm -rf .workbench

# Probity — two commands on a fresh machine: `make run` and `make test`.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
DEVSTAMP := $(VENV)/.installed-dev
NPMSTAMP := node_modules/.installed

.PHONY: run test install install-dev lint typecheck migrate demo bench clean browser-deps lock openapi

$(BIN)/python:
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

# Dependencies come from the lock files (exact versions, every file hash-checked); the project
# itself is then installed without resolving anything. `make lock` regenerates them with uv.
# The project's install compiles the screening hot paths (setup.py; Cython, setuptools and wheel
# come from the lock, so no build isolation); an edit to one of those sources (or to a .pxd that
# declares C types for one, or to a Cython-only module such as screening/_ac.pyx) rebuilds them.
COMPILED := $(wildcard $(addprefix src/probity/screening/,$(addsuffix .py,\
  engine normalize numbers intent learned scope result)))
COMPILED += $(wildcard src/probity/screening/*.pxd src/probity/screening/*.pyx)
COMPILED += src/probity/_utctext.pyx src/probity/ledger/_sha256.pyx

$(STAMP): requirements.lock pyproject.toml setup.py $(COMPILED) | $(BIN)/python
	$(BIN)/pip install -q --require-hashes --no-deps -r requirements.lock
	$(BIN)/pip install -q --no-deps --no-build-isolation -e .
	touch $@

$(DEVSTAMP): requirements-dev.lock $(STAMP) sdk/python/pyproject.toml
	$(BIN)/pip install -q --require-hashes --no-deps -r requirements-dev.lock
	$(BIN)/pip install -q --no-deps -e sdk/python   # the SDK (its deps, httpx and websockets, are locked above)
	touch $@

LOCK = $(BIN)/uv pip compile pyproject.toml --generate-hashes --python-version 3.11 --no-header -q

lock: install-dev
	$(LOCK) --extra ocr --extra build -o requirements.lock
	$(LOCK) --extra ocr --extra build --extra dev -o requirements-dev.lock

# A worktree whose node_modules links to another checkout's must not run npm ci: it would empty
# the linked folder (npm removes node_modules through the link) under everyone using it.
$(NPMSTAMP): package.json package-lock.json
	[ -L node_modules ] || npm ci --no-audit --no-fund --silent
	touch $@

install: $(STAMP) $(NPMSTAMP)

install-dev: $(DEVSTAMP) $(NPMSTAMP)

migrate: install
	$(BIN)/probity migrate

demo: install
	$(BIN)/probity demo seed --if-empty

run: install
	$(BIN)/probity migrate
	$(BIN)/probity demo seed --if-empty
	$(BIN)/probity serve

browser-deps:
	@command -v chromium >/dev/null 2>&1 || (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null)
	@fc-list 2>/dev/null | grep -qi "wenquanyi\|noto sans cjk" || (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq fonts-wqy-microhei >/dev/null)

# The type checks (one core, ~40 s of CPU on a fresh clone) run beside the tests rather than
# before them: while the first worker seeds the template, the second waits with its core idle.
# Their output follows the tests'; either failing fails the target.
test: install-dev browser-deps
	$(BIN)/ruff check src tests benchmarks
	@( nice -n 10 $(BIN)/mypy --strict src && \
	   nice -n 10 $(BIN)/mypy --strict sdk/python/src/probity_client ) \
	  > $(VENV)/mypy.log 2>&1 & types=$$!; \
	$(BIN)/python -m pytest -q -n 2 --dist loadfile --no-loadscope-reorder; tests=$$?; \
	wait $$types; typed=$$?; echo "== mypy --strict src, sdk =="; cat $(VENV)/mypy.log; \
	[ $$tests = 0 ] && [ $$typed = 0 ]

lint: install-dev
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/mypy --strict src
	$(BIN)/mypy --strict sdk/python/src/probity_client

# After an API change: refresh docs/openapi/v<major>.json (tests/test_openapi.py says when).
openapi: install
	$(BIN)/probity openapi dump

bench: install-dev
	for b in benchmarks/*.py; do case $$b in */_*) ;; *) $(BIN)/python $$b || exit 1;; esac; done

clean:
	rm -rf $(VENV) node_modules var .pytest_cache .mypy_cache .ruff_cache

# Junjo AI Studio — the two commands are `make run` and `make test`.
SHELL := /bin/bash
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
FRONTEND_STAMP := frontend/node_modules/.installed
COMPILED_STAMP := build/.compiled
NODE_EXPORTER := tests/ingestion/node_exporter
NODE_EXPORTER_STAMP := $(NODE_EXPORTER)/node_modules/.installed

.PHONY: venv lock run test bench lint protos check-protos secrets frontend frontend-deps clean test-system-deps run-system-deps

# Debian packages the suites use for real (browser tests, proxies, compose config checks, a database
# server), installed by `make test` when missing; `make run` only needs Node.js to build the UI.
TEST_SYSTEM_PACKAGES := chromium nginx caddy docker-compose postgresql nodejs npm gcc
RUN_SYSTEM_PACKAGES := nodejs npm

LOCK := requirements/dev.txt
LOCK_FLAGS := --quiet --generate-hashes --universal

# The virtualenv is installed from the lock file, with hashes; pyproject.toml's pins must match it.
$(STAMP): $(LOCK) pyproject.toml setup.py
	@"$$(scripts/find-python.sh)" scripts/check_lock.py
	@test -x $(PY) || "$$(scripts/find-python.sh)" -m venv $(VENV)
	$(PY) -m pip install --quiet --require-hashes --requirement $(LOCK)
	$(PY) -m pip install --quiet --no-deps --no-build-isolation -e .
	@touch $(STAMP)

venv: $(STAMP)

# After changing a pin in pyproject.toml (or adding a package): regenerate every lock file.
# Versions already locked stay unless pyproject.toml asks for another.
lock:
	@test -x $(VENV)/bin/uv || { test -x $(PY) || "$$(scripts/find-python.sh)" -m venv $(VENV); \
	  $(PY) -m pip install --quiet --require-hashes --requirement $(LOCK); }
	$(VENV)/bin/uv pip compile pyproject.toml --extra dev $(LOCK_FLAGS) -o requirements/dev.txt
	$(VENV)/bin/uv pip compile pyproject.toml $(LOCK_FLAGS) -c requirements/dev.txt -o requirements/backend.txt
	$(VENV)/bin/uv pip compile requirements/ingestion.in $(LOCK_FLAGS) -c requirements/dev.txt \
	  -o requirements/ingestion.txt
	$(VENV)/bin/uv pip compile requirements/build.in $(LOCK_FLAGS) -c requirements/dev.txt -o requirements/build.txt
	$(PY) scripts/check_lock.py

# ingestion's compiled parts (OTLP fast path, segment reader); rebuilt when a source changes
# (pip -e built them once).
$(COMPILED_STAMP): ingestion/_fastconvert.c ingestion/_segread.c setup.py $(STAMP)
	$(PY) setup.py -q build_ext --inplace
	@mkdir -p build && touch $(COMPILED_STAMP)

$(FRONTEND_STAMP): frontend/package.json frontend/package-lock.json
	cd frontend && npm ci --no-audit --no-fund
	@touch $(FRONTEND_STAMP)

# The OpenTelemetry JavaScript SDK's exporters, which the OTLP/HTTP tests run in Node.
$(NODE_EXPORTER_STAMP): $(NODE_EXPORTER)/package.json $(NODE_EXPORTER)/package-lock.json
	cd $(NODE_EXPORTER) && npm ci --no-audit --no-fund --loglevel=error
	@touch $(NODE_EXPORTER_STAMP)

frontend-deps: $(if $(wildcard frontend/package.json),$(FRONTEND_STAMP))

frontend: frontend-deps
	@if [ -f frontend/package.json ]; then cd frontend && npm run build; fi

secrets: $(STAMP)
	$(PY) scripts/devrun.py --write-env-only

test-system-deps:
	@scripts/system-deps.sh install $(TEST_SYSTEM_PACKAGES)

run-system-deps:
	@scripts/system-deps.sh check $(RUN_SYSTEM_PACKAGES)

run: run-system-deps $(STAMP) $(COMPILED_STAMP) frontend
	$(PY) scripts/devrun.py

protos: $(STAMP)
	$(PY) scripts/gen_protos.py

check-protos: $(STAMP)
	$(PY) scripts/gen_protos.py --check

# The same checks run by pre-commit (.pre-commit-config.yaml).
lint: $(STAMP) frontend-deps
	$(PY) scripts/check_lock.py
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .
	$(PY) -m mypy
	$(PY) -m deptry .
	cd frontend && npx eslint . && npx prettier --check .

test: test-system-deps $(STAMP) $(COMPILED_STAMP) frontend $(NODE_EXPORTER_STAMP)
	$(MAKE) lint
	$(PY) scripts/gen_protos.py --check
	@if [ -f frontend/package.json ]; then cd frontend && npm test; fi
	$(PY) -m pytest -q

bench: $(STAMP) $(COMPILED_STAMP) frontend
	$(PY) scripts/bench.py

clean:
	rm -rf $(VENV) frontend/node_modules $(NODE_EXPORTER)/node_modules frontend/dist build ingestion/_fastconvert.*.so ingestion/_segread.*.so

# Junjo AI Studio — the two commands are `make run` and `make test`.
SHELL := /bin/bash
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
FRONTEND_STAMP := frontend/node_modules/.installed
COMPILED_STAMP := build/.compiled
NODE_EXPORTER := tests/ingestion/node_exporter
NODE_EXPORTER_STAMP := $(NODE_EXPORTER)/node_modules/.installed

.PHONY: run test bench lint protos check-protos secrets frontend frontend-deps clean test-system-deps run-system-deps

# Debian packages the suites use for real (browser tests, proxies, compose config checks, a database
# server), installed by `make test` when missing; `make run` only needs Node.js to build the UI.
TEST_SYSTEM_PACKAGES := chromium nginx caddy docker-compose postgresql nodejs npm gcc
RUN_SYSTEM_PACKAGES := nodejs npm

$(STAMP): pyproject.toml setup.py
	@test -x $(PY) || "$$(scripts/find-python.sh)" -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

venv: $(STAMP)

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

lint: $(STAMP) frontend-deps
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .
	cd frontend && npx prettier --check .

test: test-system-deps $(STAMP) $(COMPILED_STAMP) frontend $(NODE_EXPORTER_STAMP)
	$(MAKE) lint
	$(PY) scripts/gen_protos.py --check
	@if [ -f frontend/package.json ]; then cd frontend && npm test; fi
	$(PY) -m pytest -q

bench: $(STAMP) $(COMPILED_STAMP) frontend
	$(PY) scripts/bench.py

clean:
	rm -rf $(VENV) frontend/node_modules $(NODE_EXPORTER)/node_modules frontend/dist build ingestion/_fastconvert.*.so ingestion/_segread.*.so

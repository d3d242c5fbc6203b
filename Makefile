# Every target bootstraps what it needs: a Python 3.11 venv in .venv and, for tests, the
# Node.js Cypher checker in tools/cypher-lint. Only python3, make and Node.js are assumed.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-$(shell cksum pyproject.toml | cut -d' ' -f1)
NODE_STAMP := tools/cypher-lint/node_modules/.installed
GATEWAY_STAMP := tools/gateway/node_modules/.installed
CONSOLE_STAMP := console/node_modules/.installed
CONSOLE_BUILD := console/dist/index.html

# The packages mypy checks in `make lint` and `make test` (each passes with no errors; add a package
# here once it does).
# Test workers (pytest-xdist): two, as on CI's two cores; a file's tests stay on one worker, so a
# module's fixtures are built once, and files are handed out in collection order, the longest first
# (tests/conftest.py). The 25 slowest tests are printed at the end. `make test TEST_WORKERS=0` runs
# everything in one process.
TEST_WORKERS ?= 2

MYPY_PACKAGES := kernel graph auth protection api connectors shouhu

.PHONY: serve test bench lint clean console console-documents chromium

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[dev]'
	@rm -f $(VENV)/.installed-*
	@touch $@

$(NODE_STAMP): tools/cypher-lint/package.json tools/cypher-lint/package-lock.json
	npm ci --prefix tools/cypher-lint --no-audit --no-fund --loglevel=error
	@touch $@

# Hive Gateway and the composer, for the test that runs a Federation router over our subgraph.
$(GATEWAY_STAMP): tools/gateway/package.json tools/gateway/package-lock.json
	npm ci --prefix tools/gateway --no-audit --no-fund --loglevel=error
	@touch $@

# The web console (served by the app at /console): npm packages from the lock, then the build.
$(CONSOLE_STAMP): console/package.json console/package-lock.json
	npm ci --prefix console --no-audit --no-fund --loglevel=error
	@touch $@

$(CONSOLE_BUILD): $(CONSOLE_STAMP) console/index.html console/vite.config.ts console/tsconfig.json $(shell find console/src -type f 2>/dev/null)
	npm run build --prefix console

console: $(CONSOLE_BUILD)

# The console's documents by query hash, which the audit log names them by: written again after a
# document in console/src/documents.ts changed (tests/test_console_documents.py fails until it is).
console-documents: $(STAMP) $(CONSOLE_STAMP)
	$(BIN)/python tools/console_documents.py

# Debian's Chromium for the browser tests (Playwright drives it; no browser download), and a CJK
# font so that screenshots show the Chinese text.
chromium:
	@command -v chromium >/dev/null || (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-wqy-zenhei)

serve: $(STAMP) $(CONSOLE_BUILD)
	$(BIN)/shouhu init
	test -d data/demo-sources || $(BIN)/shouhu demo generate --persons 20000 --seed 7
	$(BIN)/shouhu sync --from data/demo-sources
	$(BIN)/shouhu demo identities
	$(BIN)/shouhu demo chain
	$(BIN)/shouhu serve

test: $(STAMP) $(NODE_STAMP) $(GATEWAY_STAMP) $(CONSOLE_BUILD) chromium
	$(BIN)/ruff check .
	$(BIN)/lint-imports
	$(BIN)/mypy $(MYPY_PACKAGES)
	$(BIN)/pytest -q -n $(TEST_WORKERS) --dist loadfile --no-loadscope-reorder --durations=25

bench: $(STAMP)
	$(BIN)/python -m bench

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/lint-imports
	$(BIN)/mypy $(MYPY_PACKAGES)
	$(BIN)/ruff format --check . || true

clean:
	rm -rf $(VENV) tools/cypher-lint/node_modules tools/gateway/node_modules console/node_modules console/dist data

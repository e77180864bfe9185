# roadcloud — the two quickstart commands are `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
INSTALLED := $(VENV)/.installed
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
BENCHMARKS := $(sort $(wildcard benchmarks/bench_*.py))

.PHONY: demo test lint typecheck unit bench system-deps clean

## demo: create the environment, generate the default zone and run it end to end (no server needed)
demo: $(INSTALLED)
	$(BIN)/roadcloud demo

## test: install what the tests need (system packages included), lint, type-check and run the suite
test: system-deps $(INSTALLED) lint typecheck unit

$(INSTALLED): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' || \
		{ echo "roadcloud needs Python 3.11 or newer; install it and run make again (PYTHON=python3.11 make ...)"; exit 2; }
	@$(PYTHON) -m venv $(VENV) || \
		{ echo "could not create a virtual environment; install python3-venv (apt-get install python3-venv)"; exit 2; }
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(INSTALLED)

# Integration tests start their own Mosquitto broker and PostgreSQL server (never the machine's own
# services) and drive Debian's Chromium; install the programs when the machine has none.
system-deps:
	@command -v mosquitto >/dev/null 2>&1 || { \
		echo "installing mosquitto (MQTT broker for the integration tests)"; \
		$(SUDO) apt-get update -qq && $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq mosquitto >/dev/null; }
	@ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || { \
		echo "installing postgresql (server binaries; the store's integration tests start their own server)"; \
		$(SUDO) apt-get update -qq && $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null; }
	@command -v chromium >/dev/null 2>&1 || { \
		echo "installing chromium (the dashboard's browser tests drive it through Playwright)"; \
		$(SUDO) apt-get update -qq && $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; }

lint: $(INSTALLED)
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks

typecheck: $(INSTALLED)
	$(BIN)/mypy

unit: $(INSTALLED)
	$(BIN)/pytest

## bench: run every benchmark script; numbers go to docs/benchmarks.md by hand, with date and machine
bench: $(INSTALLED)
	@for script in $(BENCHMARKS); do echo "== $$script"; $(BIN)/python $$script || exit 1; done

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache .roadcloud

# crisiswatch — the two commands of the quick start, each doing its own set-up.
#   make run    start the service on the embedded SQLite store with ./alerts.yaml
#   make test   run the whole test suite (starts a private redis-server when none answers)

PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
CONFIG ?= alerts.yaml

.PHONY: run test lint browser clean

# (Re)install only when pyproject.toml changed since the last install.
$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV) || { echo "error: cannot create a virtualenv; on Debian: apt-get install python3-venv" >&2; exit 2; }
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev,bench]'
	@touch $(STAMP)

run: $(STAMP)
	$(BIN)/crisiswatch run --config $(CONFIG)

test: $(STAMP) browser
	$(BIN)/python tools/with_redis.py $(BIN)/python -m pytest $(PYTEST_ARGS)

# The dashboard test drives Debian's headless Chromium; install it once if it is missing.
browser:
	@command -v chromium >/dev/null && command -v chromedriver >/dev/null || \
	  { echo "installing chromium and chromium-driver (Debian packages) for the dashboard test"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver >/dev/null; } || \
	  { echo "error: could not install chromium; run: sudo apt-get install chromium chromium-driver" >&2; exit 2; }

lint: $(STAMP)
	$(BIN)/ruff check service tests tools

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache

# crisiswatch — the two commands of the quick start, each doing its own set-up.
#   make run    start the service on the embedded SQLite store with ./alerts.yaml
#   make test   run the whole test suite (starts a private redis-server when none answers)

PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
CONFIG ?= alerts.yaml

.PHONY: run test lint bench-nab bench-model clean

# (Re)install only when pyproject.toml changed since the last install.
$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV) || { echo "error: cannot create a virtualenv; on Debian: apt-get install python3-venv" >&2; exit 2; }
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev,bench]'
	@touch $(STAMP)

run: $(STAMP)
	$(BIN)/crisiswatch run --config $(CONFIG)

test: $(STAMP)
	$(BIN)/python tools/with_redis.py $(BIN)/python -m pytest $(PYTEST_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check service tests tools

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache

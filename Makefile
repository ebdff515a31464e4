# Parity: `make demo` and `make test` each do all of their own set-up, and are idempotent.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
EXPRESS := tests/stacks/parity_express
NODE_STAMP := $(EXPRESS)/node_modules/.installed

.PHONY: setup system-deps demo test lint typecheck unit clean

setup: system-deps $(STAMP) $(NODE_STAMP)

system-deps:
	@scripts/install-system-deps chromium

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@$(BIN)/python -m pip install -q --upgrade pip
	@$(BIN)/python -m pip install -q -e '.[test]'
	@touch $(STAMP)

$(NODE_STAMP): $(EXPRESS)/package-lock.json
	@cd $(EXPRESS) && npm ci --no-audit --no-fund --loglevel error
	@touch $(NODE_STAMP)

demo: setup
	@scripts/demo

lint: $(STAMP)
	$(BIN)/ruff check harness suites load tests benchmarks

typecheck: $(STAMP)
	$(BIN)/mypy

unit: setup
	$(BIN)/python -m pytest tests -n 2  # two xdist workers: each test has its own replica

test: setup lint typecheck unit

clean:
	rm -rf $(VENV) $(EXPRESS)/node_modules reports/2* reports/latest

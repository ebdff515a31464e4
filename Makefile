# Parity: `make demo` and `make test` each do all of their own set-up, and are idempotent.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
EXPRESS := tests/stacks/parity_express
NODE_STAMP := $(EXPRESS)/node_modules/.installed

.PHONY: setup system-deps demo test lint typecheck docs unit fast clean

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
	$(BIN)/ruff check harness suites load tests benchmarks scripts/docs_reference.py

typecheck: $(STAMP)
	$(BIN)/mypy

docs: $(STAMP)  # the reference pages are what the code makes, and the site builds without a warning
	$(BIN)/python scripts/docs_reference.py --check
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict --quiet

unit: setup
	$(BIN)/python -m pytest tests -n 2  # two xdist workers: each test has its own replica

fast: $(STAMP)  # the tests that start no server
	$(BIN)/python -m pytest tests -n 2 -m "not servers"

test: setup lint typecheck docs unit

clean:
	rm -rf $(VENV) $(EXPRESS)/node_modules reports/2* reports/latest

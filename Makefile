# One obvious way to run everything. Each target sets up the virtual environment it needs.
#   make demo   the main job on the embedded broker
#   make test   the test suite (unit, stream and integration tests on the embedded broker)

PYTHON ?= python3.11
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: help venv test test-unit lint typecheck schemas bench-core demo clean

help:
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-12s %s\n", $$1, $$2}'

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e ".[dev]"
	touch $(STAMP)

venv: $(STAMP) ## create .venv with the project and its dev tools

test: $(STAMP) ## run the test suite
	$(BIN)/pytest

test-unit: $(STAMP) ## the pure tests only (seconds)
	$(BIN)/pytest tests/unit

lint: $(STAMP) ## ruff lint and format check
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(STAMP) ## mypy strict on the packages
	$(BIN)/mypy

schemas: $(STAMP) ## regenerate the JSON Schema files from the models
	$(BIN)/python -m schemas.catalog --write

demo: $(STAMP) ## the main job: embedded broker, worker, generated feed, summary
	$(BIN)/entry-screening demo

bench-core: $(STAMP) ## the core's cost per entry on one core
	$(BIN)/python bench/core.py

clean: ## remove the virtual environment and caches
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .hypothesis var

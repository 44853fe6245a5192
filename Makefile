# One obvious way to run everything. Each target sets up the virtual environment it needs.
#   make demo   the main job on the embedded broker
#   make test   the test suite (unit, stream and integration tests on the embedded broker)

PYTHON ?= python3.11
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: help venv native test test-unit lint typecheck schemas bench-core bench bench-loop bench-registry demo clean

help:
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-12s %s\n", $$1, $$2}'

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e ".[dev]"
	touch $(STAMP)

# The compiled screening core (native/, Rust): built into the venv when cargo is found.
# Without it the Python core screens alone: the same decisions, at about twice the cost.
NATIVE_STAMP := $(VENV)/.native
CARGO        ?= $(shell command -v cargo || ls $(HOME)/.cargo/bin/cargo 2>/dev/null)

$(NATIVE_STAMP): $(STAMP) native/Cargo.toml native/Cargo.lock native/pyproject.toml $(wildcard native/src/*.rs)
	@if [ -n "$(CARGO)" ]; then \
		PATH="$$(dirname $(CARGO)):$$PATH" $(BIN)/pip install --quiet ./native; \
	else \
		echo "no Rust toolchain (cargo) found: the Python core will screen (make native once cargo is installed)"; \
	fi
	touch $(NATIVE_STAMP)

venv: $(NATIVE_STAMP) ## create .venv with the project, its dev tools and the native core

native: $(STAMP) ## (re)build the native screening core into .venv (needs cargo)
	rm -f $(NATIVE_STAMP)
	$(MAKE) $(NATIVE_STAMP)

test: $(NATIVE_STAMP) ## run the test suite
	$(BIN)/pytest

test-unit: $(NATIVE_STAMP) ## the pure tests only (seconds)
	$(BIN)/pytest tests/unit

lint: $(STAMP) ## ruff lint and format check (and rustfmt's, for native/, where cargo is)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	@if [ -n "$(CARGO)" ]; then cd native && PATH="$$(dirname $(CARGO)):$$PATH" cargo fmt --check; fi

typecheck: $(STAMP) ## mypy strict on the packages
	$(BIN)/mypy

schemas: $(STAMP) ## regenerate the JSON Schema files from the models
	$(BIN)/python -m schemas.catalog --write

demo: $(NATIVE_STAMP) ## the main job: embedded broker, worker, generated feed, summary
	$(BIN)/entry-screening demo

bench-core: $(NATIVE_STAMP) ## the core's cost per entry on one core
	$(BIN)/python bench/core.py

bench: $(NATIVE_STAMP) ## the pipeline against the Kafka client's ceiling (embedded broker)
	$(BIN)/python bench/pipeline.py

bench-loop: $(NATIVE_STAMP) ## the screening loop's own cost per entry, no Kafka
	$(BIN)/python bench/loop.py

bench-registry: $(NATIVE_STAMP) ## a 1M-IOR registry: restore time, memory, lookups
	$(BIN)/python bench/registry_scale.py

clean: ## remove the virtual environment and caches
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .hypothesis var

# --- operations and contracts: the AsyncAPI document, deploy/ checks -----------------------
# The AsyncAPI 3.0.0 JSON Schema comes from the npm package @asyncapi/specs into .cache/
# (git-ignored, never committed); tests/unit/test_asyncapi.py skips its validation without it.
ASYNCAPI_SPECS_VERSION ?= 6.11.1
ASYNCAPI_CACHE         := .cache/asyncapi

.PHONY: asyncapi asyncapi-schema deploy-check

asyncapi: $(STAMP) ## regenerate schemas/asyncapi.json from the models and topics
	$(BIN)/python -m schemas.asyncapi --write

asyncapi-schema: $(ASYNCAPI_CACHE)/3.0.0.json ## fetch the official AsyncAPI 3.0.0 JSON Schema (npm)

$(ASYNCAPI_CACHE)/3.0.0.json:
	rm -rf $(ASYNCAPI_CACHE)/package && mkdir -p $(ASYNCAPI_CACHE)
	npm pack --silent --pack-destination $(ASYNCAPI_CACHE) @asyncapi/specs@$(ASYNCAPI_SPECS_VERSION) >/dev/null
	tar -xzf $(ASYNCAPI_CACHE)/asyncapi-specs-$(ASYNCAPI_SPECS_VERSION).tgz -C $(ASYNCAPI_CACHE) package/schemas/3.0.0.json
	mv $(ASYNCAPI_CACHE)/package/schemas/3.0.0.json $@
	rm -rf $(ASYNCAPI_CACHE)/package $(ASYNCAPI_CACHE)/asyncapi-specs-$(ASYNCAPI_SPECS_VERSION).tgz

deploy-check: $(STAMP) ## promtool and docker-compose checks of deploy/ (needs prometheus, docker-compose)
	promtool check config deploy/prometheus/prometheus.yml
	promtool test rules deploy/prometheus/alerts_test.yml
	GRAFANA_ADMIN_PASSWORD=check docker-compose -f docker-compose.yml config --quiet
	$(BIN)/pytest tests/unit/test_deploy.py tests/unit/test_asyncapi.py

# --- Apache Kafka (KRaft mode) on loopback, without Docker: tools/kraft.py ---------------------
#   make kafka-up [BROKERS=3]   start 1 (default) or 3 nodes in var/kafka; last line: bootstrap
#   make kafka-down             stop them and remove var/kafka

BROKERS ?= 1

.PHONY: kafka-jars kafka-up kafka-down

kafka-jars: $(STAMP) ## resolve the Apache Kafka jars with Maven (once, into .cache/kafka)
	$(BIN)/python -m tools.kraft jars

kafka-up: $(STAMP) ## start Apache Kafka (KRaft) in the background, BROKERS=1|3
	$(BIN)/python -m tools.kraft up --brokers $(BROKERS)

kafka-down: $(STAMP) ## stop the Apache Kafka started by kafka-up
	$(BIN)/python -m tools.kraft down

# --- the broker-facing tests on Apache Kafka, and the fault tests: tools/run_on_kafka.py ------
#   make test-kafka                 integration (on a fresh 1-node cluster), harness and
#                                   reliability tests; PYTEST_ARGS="-x -k kcat" narrows it
#   make reliability-table          the fault tests' last results as a markdown table
# Needs Java 17 and Maven (the Kafka jars, once); test_kcat.py needs Debian's kcat.

PYTEST_ARGS ?=

.PHONY: test-kafka reliability-table

test-kafka: $(NATIVE_STAMP) ## integration + reliability tests on Apache Kafka (KRaft), minutes
	$(BIN)/python -m tools.run_on_kafka $(PYTEST_ARGS)

reliability-table: $(STAMP) ## print the fault tests' results (var/reliability/) as markdown
	$(BIN)/python -m tools.reliability_table

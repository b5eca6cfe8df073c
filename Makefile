# Two commands on a fresh machine: `make run` (the service) and `make test` (the whole suite).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
BENCH_STAMP := $(VENV)/.bench-installed
PACKAGES := workflow rules api notifications demo

.PHONY: run test lint bench mutation install clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

# The benchmarks' own extra (the BPMN peer, psutil): never needed by the service or the tests.
$(BENCH_STAMP): $(STAMP)
	$(BIN)/python -m pip install --quiet -e '.[test,bench]'
	touch $(BENCH_STAMP)

# Creates and migrates ./sctac.db; on first start fills it with a simulated 26-week pathfinder (about a
# minute, once; demo passwords are printed then), then serves API, pages and the worker on 127.0.0.1:8000.
run: $(STAMP)
	$(BIN)/sctac serve --demo --host 127.0.0.1 --port 8000

# The PostgreSQL half runs when SCTAC_TEST_DATABASE_URL is set (CI sets it); otherwise it is skipped, visibly.
test: $(STAMP)
	$(BIN)/pytest -n auto

lint: $(STAMP)
	$(BIN)/ruff check $(PACKAGES) tests bench
	$(BIN)/ruff format --check $(PACKAGES) tests bench
	$(BIN)/mypy

# Every benchmark at its documented size (tens of minutes: the 1M-row seeds dominate). PostgreSQL halves
# run when SCTAC_BENCH_DATABASE_URL is set. Figures and what they compare: bench/README.md.
bench: $(BENCH_STAMP)
	$(BIN)/python bench/lifecycle.py
	$(BIN)/python bench/peers.py
	$(BIN)/python bench/rules.py
	$(BIN)/python bench/api.py
	$(BIN)/python bench/timers.py
	$(BIN)/python bench/memory.py
	$(BIN)/python bench/reports.py
	$(BIN)/python bench/pages.py
	$(BIN)/python bench/signin.py
	$(BIN)/python bench/signin_cost.py
	$(BIN)/python bench/pages_demo.py
	$(BIN)/python bench/coordination.py

# Mutation testing of the core modules (not part of `make test`; mutation/run.py: figures and times in
# bench/README.md): one line per module `module: killed/total = score%`, survivors in
# mutation/out/survivors.txt.
mutation: $(STAMP)
	$(BIN)/python mutation/run.py

clean:
	rm -rf $(VENV) sctac.db sctac.db-wal sctac.db-shm .pytest_cache .mypy_cache .ruff_cache

# The two commands in the README are the contract: `make run` and `make test`.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
INDEX_DIR ?= var/index
HOST ?= 127.0.0.1
PORT ?= 8000
STAMP := $(VENV)/.installed
RUN_STAMP := $(VENV)/.run-installed
BENCH_STAMP := $(VENV)/.bench-installed

.PHONY: run test test-fast lint index eval bench bench-quick clean chromium audit lock

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

# torch first and pinned: the CPU build of 2.13.0 is what these machines
# install; resolving it through sentence-transformers would pull CUDA wheels.
$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q torch==2.13.0
	$(BIN)/pip install -q -e '.[test]'
	touch $(STAMP)

# What running needs and nothing more: no test, lint or benchmark tools (make test adds those).
$(RUN_STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q torch==2.13.0
	$(BIN)/pip install -q -e .
	touch $(RUN_STAMP)

index: $(RUN_STAMP)
	$(BIN)/tracuu index build --corpus corpus/documents --index $(INDEX_DIR)

# make run HOST=0.0.0.0 PORT=8080 to serve other machines of the network on another port.
run: index
	$(BIN)/tracuu serve --index $(INDEX_DIR) --host $(HOST) --port $(PORT)

# Browser tests drive Debian's chromium through Playwright (its own browser
# download cannot reach its host from these machines).
chromium:
	@command -v chromium >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ]; then \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	  else echo "chromium missing: run 'sudo apt-get install chromium' for the browser tests"; fi; }

lint: $(STAMP)
	$(BIN)/ruff check corpus index service eval bench tests
	$(BIN)/mypy
	$(BIN)/lint-imports

test: $(STAMP) chromium lint
	$(BIN)/python -m pytest -q -p no:cacheprovider

# The edit-run loop: unit tests only (no large index, no processes, no shared corpus), under a minute.
test-fast: $(STAMP)
	$(BIN)/python -m pytest -q -p no:cacheprovider -m "not slow"

# Known vulnerabilities in the locked versions (requirements.lock, written by `make lock`). Not part of
# `test`: pip-audit asks PyPI's per-version JSON API (or OSV) about every package, which needs the network;
# --strict fails when a package cannot be looked up rather than reporting it clean.
audit: $(STAMP)
	$(BIN)/pip-audit -r requirements.lock --no-deps --disable-pip --strict --progress-spinner off

lock: $(BENCH_STAMP)
	{ echo "# Every package the test and bench environments install, exact versions (make lock regenerates it)."; \
	  echo "# make audit checks these versions for known vulnerabilities with pip-audit."; \
	  $(BIN)/pip freeze --exclude-editable | grep -v '^-e'; } > requirements.lock

# Benchmarks (not tests): results in bench/results/{full,quick}.{json,md}. txtai, the tool compared against,
# is only installed here.
$(BENCH_STAMP): $(STAMP) pyproject.toml
	$(BIN)/pip install -q -e '.[test,bench]' torch==2.13.0
	touch $(BENCH_STAMP)

bench: $(BENCH_STAMP)
	$(BIN)/python -m bench.run $(BENCH_ARGS)

bench-quick: $(BENCH_STAMP)
	$(BIN)/python -m bench.run --quick

eval: $(STAMP)
	$(BIN)/tracuu eval --dataset dev-distractors --reports eval/reports
	$(BIN)/tracuu eval --dataset alqac --reports eval/reports

clean:
	rm -rf var $(VENV)

# The two commands in the README are the contract: `make run` and `make test`.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
INDEX_DIR ?= var/index
HOST ?= 127.0.0.1
PORT ?= 8000
STAMP := $(VENV)/.installed

.PHONY: run test lint index eval bench clean chromium audit

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

# torch first and pinned: the CPU build of 2.13.0 is what these machines
# install; resolving it through sentence-transformers would pull CUDA wheels.
$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q torch==2.13.0
	$(BIN)/pip install -q -e '.[test]'
	touch $(STAMP)

index: $(STAMP)
	$(BIN)/tracuu index build --corpus corpus/documents --index $(INDEX_DIR)

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
	$(BIN)/ruff check corpus index service eval tests
	$(BIN)/mypy

test: $(STAMP) chromium lint
	$(BIN)/python -m pytest -q -p no:cacheprovider

# Known vulnerabilities in the installed packages. Not part of `test`: it asks PyPI's
# JSON API about every package, so it needs the network. --strict fails when a package
# cannot be looked up, rather than reporting "no known vulnerabilities" for it.
audit: $(STAMP)
	$(BIN)/pip-audit --skip-editable --progress-spinner off --strict

eval: $(STAMP)
	$(BIN)/tracuu eval --dataset dev-distractors
	$(BIN)/tracuu eval --dataset alqac

clean:
	rm -rf var $(VENV)

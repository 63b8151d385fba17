# Two entry points for a fresh machine:
#   make run   — set up .venv and run the bundled offline quickstart benchmark
#   make test  — set up .venv and run the test suite
PYTHON ?= python3.11
VENV   ?= .venv
PY     := $(VENV)/bin/python
PIP    := $(PY) -m pip
# Offline copies of the standard datasets (CI: ../shared/data); users download.
DATA_DIR ?= $(if $(ALTBENCH_DATA_DIR),$(ALTBENCH_DATA_DIR),$(abspath ../shared/data))

.PHONY: setup run test bench clean
setup: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml Makefile
	$(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip
	# torch first, CPU build: later ranges are satisfied by it, so no CUDA wheel is pulled.
	$(PIP) install --quiet torch==2.13.0
	$(PIP) install --quiet -e '.[test]'
	touch $@

run: setup
	$(VENV)/bin/altbench run

test: setup
	ALTBENCH_DATA_DIR=$(DATA_DIR) $(PY) -m pytest

bench: setup
	ALTBENCH_DATA_DIR=$(DATA_DIR) $(PY) -m pytest tests/benchmarks --benchmark-enable -m "not large"

clean:
	rm -rf $(VENV) .pytest_cache .benchmarks

# Two entry points for a fresh machine:
#   make run   — set up .venv and run the bundled offline quickstart benchmark
#   make test  — set up .venv and run the test suite
PYTHON ?= python3.11
VENV   ?= .venv
PY     := $(VENV)/bin/python
PIP    := $(PY) -m pip
# Offline copies of the standard datasets (CI: ../shared/data); users download.
DATA_DIR ?= $(if $(ALTBENCH_DATA_DIR),$(ALTBENCH_DATA_DIR),$(abspath ../shared/data))

.PHONY: setup run test typecheck bench clean
setup: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml Makefile
	$(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip
	# torch first, CPU build: later ranges are satisfied by it, so no CUDA wheel is pulled.
	$(PIP) install --quiet torch==2.13.0
	$(PIP) install --quiet -e '.[test]'
	@[ -d /usr/share/datasets/fashion-mnist ] || (apt-get update -qq && apt-get install -y -qq dataset-fashion-mnist) >/dev/null 2>&1 || echo "note: apt-get install dataset-fashion-mnist failed (not root?); Fashion-MNIST will be downloaded on first use"
	$(PIP) install --quiet --no-deps timm
	touch $@

# --force: recompute every run even though results/quickstart is committed; the
# results files (runs/*.parquet) come out byte-identical, only timings change.
run: setup
	$(VENV)/bin/altbench run --force

# mypy first (the public API's Protocols against the real classes and the test fake), then pytest
test: setup tex typecheck
	ALTBENCH_DATA_DIR=$(DATA_DIR) $(PY) -m pytest

# mypy reads altbench from build/typing, a link tree with the installed layout (setuptools'
# editable finder maps bench/ → altbench and strategies/ → altbench.strategies; mypy cannot follow it)
typecheck: setup
	rm -rf build/typing && mkdir -p build/typing/altbench
	ln -s $(CURDIR)/bench/* build/typing/altbench/
	ln -s $(CURDIR)/strategies build/typing/altbench/strategies
	$(PY) -m mypy

bench: setup
	ALTBENCH_DATA_DIR=$(DATA_DIR) $(PY) -m pytest tests/benchmarks --benchmark-enable -m "not large"

clean:
	rm -rf $(VENV) .pytest_cache .benchmarks

# ---- paper: TeX toolchain (Debian, ~30 s to install) and the PDF built from a results dir
TEX_PACKAGES := texlive-latex-base texlive-latex-recommended lmodern poppler-utils
RESULTS ?= results/quickstart
.PHONY: tex paper
tex:
	@if command -v pdflatex >/dev/null && command -v pdftotext >/dev/null && kpsewhich lmodern.sty >/dev/null; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $(TEX_PACKAGES) >/dev/null; \
	elif command -v sudo >/dev/null && sudo -n true 2>/dev/null; then \
	  sudo apt-get update -qq && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $(TEX_PACKAGES) >/dev/null; \
	else echo "note: pdflatex/pdftotext missing and cannot install as non-root; run: sudo apt-get install --no-install-recommends $(TEX_PACKAGES)" >&2; fi

paper: setup tex
	$(MAKE) -C paper RESULTS=$(abspath $(RESULTS)) ALTBENCH=$(abspath $(VENV))/bin/altbench

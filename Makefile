# Two commands on a fresh machine: `make demo` and `make test`. Both create .venv on first use.
SHELL := /bin/bash
.SHELLFLAGS := -eo pipefail -c
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PIP := $(BIN)/python -m pip
CONFIG ?= configs/quickstart.yaml
# Worker processes for the test suite (pytest-xdist); each is a TensorFlow process of its own.
TEST_WORKERS ?= 2

.PHONY: install demo test clean-venv

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(PIP) install --quiet -e .
	@touch $@

$(VENV)/.installed-test: pyproject.toml | $(BIN)/python
	$(PIP) install --quiet -e ".[test]"
	@touch $@ $(VENV)/.installed

install: $(VENV)/.installed

## Train the quick-start model, then evaluate it, forecast the next week and draw the plot.
demo: install
	$(BIN)/rnnforecast train $(CONFIG) | tee $(VENV)/last-train.log
	@run=$$(tail -n 1 $(VENV)/last-train.log) && set -x && \
	$(BIN)/rnnforecast evaluate $$run && \
	$(BIN)/rnnforecast predict $$run --output $$run/forecast.csv && \
	cat $$run/forecast.csv && \
	$(BIN)/rnnforecast plot $$run --output $$run/forecast.png

## Install the test extras and run the whole suite (CPU, a few minutes).
test: $(VENV)/.installed-test
	$(BIN)/python -m pytest -q -n $(TEST_WORKERS) --dist worksteal

clean-venv:
	rm -rf $(VENV)

# Two commands on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
DEMO_DIR := .demo

.PHONY: demo test lint venv clean bench faults

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed-test: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[test,lint]'
	touch $@

venv: $(VENV)/.installed-test

demo: venv
	$(BIN)/python examples/run_demo.py --target $(DEMO_DIR)

test: venv
	$(BIN)/python -m pytest -q

bench: venv
	$(BIN)/python bench/run.py

lint: venv
	$(BIN)/ruff check watchman tests bench examples
	$(BIN)/ruff format --check watchman tests bench examples
	$(BIN)/mypy

clean:
	rm -rf $(VENV) $(DEMO_DIR) build *.egg-info

# The long fault run: 10,000 fuzzed workflows through scan --json and cycles, 200 SIGKILLs
# (figures in bench/results/faults.json, reported in docs/reliability.md).
faults: venv
	$(BIN)/python -m tests.faults.run_faults

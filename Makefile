# Two commands do all the set-up on a fresh machine with Python 3.11+:
#   make lab    start the course: JupyterLab on lessons/, nbgrader extensions on
#   make test   run the whole test suite (lint, notebooks, nbgrader, browser)
# Everything lives in .venv, created on first use.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
export PATH := $(abspath $(BIN)):$(PATH)
STAMP := $(VENV)/.installed
PORT ?= 8888
UNITS := $(notdir $(wildcard solutions/[0-9][0-9]_*))

.PHONY: lab test exercises lint clean-grader

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[test]"
	touch $(STAMP)

ROOT_FLAG := $(if $(filter 0,$(shell id -u)),--allow-root)

lab: $(STAMP)
	$(BIN)/jupyter lab --ServerApp.root_dir=. --LabApp.default_url=/lab/tree/lessons \
		--ServerApp.port=$(PORT) $(ROOT_FLAG) $(LAB_ARGS)

test: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/python -m pytest -n 2 --dist loadgroup $(PYTEST_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check .

# Regenerate every student notebook in exercises/ from solutions/ (commit the result).
exercises: $(STAMP)
	for unit in $(UNITS); do $(BIN)/nbgrader generate_assignment $$unit --force || exit 1; done

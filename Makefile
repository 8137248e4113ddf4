# The instructor's repository (README.md says what a fresh machine needs):
#   make lab      the course in JupyterLab, nbgrader's extensions on (solutions/ included)
#   make test     the whole test suite (lint, notebooks, nbgrader, browser); installs the
#                 system packages first (scripts/install-system-packages, as root)
#                 (make test-fast: lint and the tests that run no notebook, first)
#   make edition DIR=../tensors-to-lenet-student URL=https://github.com/ORG/REPO
#                 the student edition, the repository students clone (no solutions)
# Everything Python lives in .venv, created on first use.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
export PATH := $(abspath $(BIN)):$(PATH)
STAMP := $(VENV)/.installed
NODE_STAMP := node_modules/.installed
PORT ?= 8888

.PHONY: lab test test-fast exercises check-exercises grade lint check-machine edition \
	system-packages

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[test]"
	touch $(STAMP)

ROOT_FLAG := $(if $(filter 0,$(shell id -u)),--allow-root)

# MNIST first: found ($$DLCOURSE_DATA, the Keras cache) or downloaded, else one line on what to do.
lab: $(STAMP)
	@$(BIN)/python -m dlcourse.colab mnist
	$(BIN)/jupyter lab --ServerApp.root_dir=. --LabApp.default_url=/lab/tree/lessons \
		--ServerApp.port=$(PORT) $(ROOT_FLAG) $(LAB_ARGS)

# The fast tier (no notebook execution, no grading end to end, no browser) runs first,
# so a lint or unit failure shows within minutes; then the rest.
FAST := not slow and not browser
PYTEST := $(BIN)/python -m pytest -n 2 --dist loadgroup

# bubblewrap, setpriv, Chromium, node/npm: installed as root, else one `sudo apt-get` line.
system-packages:
	scripts/install-system-packages

test: system-packages test-fast $(NODE_STAMP)
	$(PYTEST) -m "not ($(FAST))" $(PYTEST_ARGS)

test-fast: $(STAMP)
	$(BIN)/ruff check .
	$(PYTEST) -m "$(FAST)" $(PYTEST_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check .

# Hosts: install, run every lesson headless, print each one's time and peak memory;
# exits 1 if one fails. NOTEBOOKS="lessons/01_tensors.ipynb ..." to run others.
check-machine: $(STAMP)
	$(BIN)/python -m benchmarks.check_machine $(NOTEBOOKS)

# Regenerate every student notebook in exercises/ from solutions/ (commit the result).
exercises: $(STAMP)
	$(BIN)/python -m grader generate

check-exercises: $(STAMP)
	$(BIN)/python -m grader generate --check

# make edition DIR=../tensors-to-lenet-student URL=https://github.com/ORG/REPO
edition: $(STAMP)
	test -n "$(DIR)" -a -n "$(URL)" || { echo "usage: make edition DIR=folder URL=address"; exit 2; }
	$(BIN)/python -m grader edition "$(DIR)" --url "$(URL)"

# make grade UNIT=01_tensors FROM=~/Downloads/lms-export
grade: $(STAMP)
	test -n "$(UNIT)" || { echo "usage: make grade UNIT=NN_name [FROM=folder-or-zip]"; exit 2; }
	$(BIN)/python -m grader collect $(UNIT) $(if $(FROM),--from $(FROM),--exchange)
	$(BIN)/python -m grader autograde $(UNIT)
	$(BIN)/python -m grader feedback $(UNIT)
	$(BIN)/python -m grader export

# The workshop hub (README "Workshop hosts"): as root, `make hub HUB_ARGS="--admin NAME"`.
# configurable-http-proxy comes from the npm registry into node_modules/ (package-lock.json).
$(NODE_STAMP): package.json package-lock.json
	npm ci --no-audit --no-fund --engine-strict  # a node too old for the pinned proxy stops here, saying so
	touch $(NODE_STAMP)

.PHONY: hub node_modules
node_modules: $(NODE_STAMP)

hub: $(STAMP) $(NODE_STAMP)
	$(BIN)/python -m grader hub $(HUB_ARGS)

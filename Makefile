# sbnn: two commands on a fresh machine
#   make all    set everything up and run the main job (train -> export -> synth) on the embedded digits
#   make test   set everything up and run the test suite
# Every target is idempotent: a stage whose outputs are up to date says so and returns at once.

PYTHON  ?= python3
VENV    ?= .venv
RUN     ?= runs/default
CONFIG  ?= configs/default.yaml
DATA_DIR ?=
# frames/s `make synth` folds the network for (empty: the IR's own folding, PE = SIMD = 1)
FPS     ?= 200000
# SEARCH=K: make synth synthesizes the estimate's K best foldings for FPS and keeps the fewest LUTs (1: the estimate's)
SEARCH  ?= 1
PYTEST_ARGS ?=
SBNN    := $(VENV)/bin/sbnn
PY      := $(VENV)/bin/python
STAMP   := $(VENV)/.installed
FORCE_FLAG := $(if $(FORCE),--force,)
DATA_FLAG  := $(if $(DATA_DIR),--data-dir $(DATA_DIR),)

.DEFAULT_GOAL := help
.PHONY: help all setup train export sim synth report sweep finn-baseline lint test test-slow test-rtl bench clean clean-runs

help: ## list the targets
	@echo "sbnn make targets (variables: RUN=$(RUN) CONFIG=$(CONFIG) FPS=$(FPS) SEARCH=$(SEARCH) DATA_DIR=... FORCE=1):"
	@grep -E '^[a-zA-Z_-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-12s %s\n", $$1, $$2}'

all: setup train export synth ## set up, then run the main job on the embedded default data

setup: $(STAMP) ## create .venv with pinned sbnn dependencies and open-source HW tools (no root)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install -q --upgrade pip
	$(VENV)/bin/pip install -q -e ".[hw,hls,ray,dev]"
	@touch $(STAMP)

train: setup ## train the model of CONFIG into RUN/train (FORCE=1 retrains)
	$(SBNN) train --run $(RUN) --config $(CONFIG) $(DATA_FLAG) $(FORCE_FLAG)

export: setup ## QONNX + hardware IR + verification into RUN/export
	$(SBNN) export --run $(RUN) $(FORCE_FLAG)

sim: setup ## bit-exact simulation of RUN's IR on the test set
	$(SBNN) sim --run $(RUN)

synth: setup ## fold RUN's network for FPS frames/s, generate the RTL and synthesize it (Yosys) into RUN/hw, RUN/synth
	$(SBNN) synth --run $(RUN) $(if $(FPS),--target-fps $(FPS),) $(if $(filter-out 1,$(SEARCH)),--search $(SEARCH),) $(FORCE_FLAG)

report: setup ## tables, figures and an HTML page of RUN (a run directory or a sweep root) into RUN/report
	$(SBNN) report --run $(RUN)

SWEEP_ROOT   ?= runs/sweep
SWEEP_CONFIG ?= configs/sweep.yaml
FINN_VENV    ?= .venv-finn
sweep: setup ## methods x sparsities x archs (SWEEP_CONFIG) into SWEEP_ROOT, then its report; resumable
	$(SBNN) sweep --root $(SWEEP_ROOT) --config $(SWEEP_CONFIG) $(DATA_FLAG) $(if $(wildcard $(FINN_VENV)/.sbnn-finn-ready),--finn --finn-venv $(FINN_VENV),)

finn-baseline: setup ## isolated finn-plus venv (FINN_VENV, ~2.3 GB), then FINN estimates of SWEEP_ROOT's dense points
	$(PY) -m sbnn.sweep.finn setup --venv $(FINN_VENV)
	$(PY) -m sbnn.sweep.finn run --venv $(FINN_VENV) --root $(SWEEP_ROOT)
	$(SBNN) report --run $(SWEEP_ROOT)

lint: setup ## ruff over the whole tree (rules in pyproject.toml)
	$(VENV)/bin/ruff check .

test: setup lint ## lint, then run the test suite (what CI runs)
	$(PY) -m pytest -q -m "not slow" $(PYTEST_ARGS)

test-slow: setup ## run the long tests too (nightly)
	$(PY) -m pytest -q $(PYTEST_ARGS)

test-rtl: setup ## only the RTL regression tests (Verilator)
	$(PY) -m pytest -q -m "rtl and not slow" $(PYTEST_ARGS)

BENCH ?=
QUICK ?=
bench: setup ## run the committed benchmarks (writes benchmarks/results/; BENCH="a b" a subset, QUICK=1 quick modes)
	$(PY) benchmarks/run_all.py $(BENCH) $(if $(QUICK),--quick,)

clean-runs: ## delete run directories
	rm -rf runs

clean: clean-runs ## delete the virtual environment and caches
	rm -rf $(VENV) .pytest_cache .hypothesis build *.egg-info

# Docker (optional: `make test-rtl` runs the same regression natively). See README, section Docker.
DOCKER              ?= docker
DOCKER_IMAGE        ?= sbnn:latest
DOCKER_BASE_IMAGE   ?=
DOCKER_BUILD_ARGS   ?=
DOCKER_RESULTS      ?= build/docker
DOCKER_CACHE_VOLUME ?= sbnn-cache
DOCKER_MOUNT        ?=
LOCAL_DOCKER        ?= auto
docker-test docker-shell: export DOCKER := $(DOCKER)
docker-test docker-shell: export DOCKER_IMAGE := $(DOCKER_IMAGE)
docker-test docker-shell: export DOCKER_BASE_IMAGE := $(DOCKER_BASE_IMAGE)
docker-test docker-shell: export DOCKER_BUILD_ARGS := $(DOCKER_BUILD_ARGS)
docker-test docker-shell: export DOCKER_RESULTS := $(DOCKER_RESULTS)
docker-test docker-shell: export DOCKER_CACHE_VOLUME := $(DOCKER_CACHE_VOLUME)
docker-test docker-shell: export DOCKER_MOUNT := $(DOCKER_MOUNT)
docker-test docker-shell: export LOCAL_DOCKER := $(LOCAL_DOCKER)
docker-test docker-shell: export PYTEST_ARGS := $(PYTEST_ARGS)
.PHONY: docker-test docker-shell

docker-test: ## build the Docker image, run the RTL regression in it (JUnit XML in DOCKER_RESULTS)
	@docker/run.sh test

docker-shell: ## interactive shell in the Docker image, this working tree mounted at /sbnn
	@docker/run.sh shell

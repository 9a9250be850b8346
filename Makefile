# symbench — `make help` lists the targets. Everything runs inside .venv, created from requirements.lock.
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV := .venv
BIN := $(CURDIR)/$(VENV)/bin
STAMP := $(VENV)/.installed-from-lock
PROFILE ?= default
PYTEST_ARGS ?=

# DVC stages call `python -m symbench.stages...`: put the venv first on PATH.
export PATH := $(BIN):$(PATH)
export DVC_NO_ANALYTICS := 1
export PYTHONHASHSEED := 0

.PHONY: help setup system params repro report test test-full bench sweep lint format clean

help: ## List the targets
	@grep -hE '^[a-zA-Z_-]+:.*?## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*?## "}; {printf "  \033[36m%-10s\033[0m %s\n", $$1, $$2}'

setup: $(STAMP) system ## Create .venv from requirements.lock (once; again when the lock changes), PALP and Chromium if missing

system: ## System packages (PALP, Chromium via apt-get where root); reports what it cannot install, never fails
	@bash scripts/setup-system.sh

$(STAMP): requirements.lock pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements.lock
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --no-deps --no-build-isolation -e .
	touch $@

params: setup ## Compose conf/ into params.yaml (PROFILE=smoke|default|paper)
	$(BIN)/python -m symbench.config profile=$(PROFILE)

repro: setup ## The main job: `dvc repro` on the committed params.yaml (default profile)
	$(BIN)/dvc repro
	@echo "Tables: reports/ks/benchmark.md; the page: reports/index.html"

report: setup ## Regenerate reports/index.html and reports/README.md (the last stage) from the metrics files; no network
	$(BIN)/dvc repro report
	@echo "Report: reports/index.html (markdown twin: reports/README.md)"

test: setup ## The test suite, including a smoke `dvc repro` in a temporary copy (what CI runs)
	$(BIN)/python -m pytest -m "not gpu" $(PYTEST_ARGS)

test-full: setup ## Every test, GPU ones too (skipped with a reason where no CUDA device is present)
	$(BIN)/python -m pytest $(PYTEST_ARGS)

bench: setup ## Speed benchmarks; results in reports/bench/
	$(BIN)/python bench/bench_ks_preprocessing.py
	$(BIN)/python bench/bench_lightning_overhead.py
	$(BIN)/python bench/bench_music_registration.py
	$(BIN)/python bench/bench_music_extract.py

SWEEP ?= cell.model=cnn,hartford cell.variant=original_permuted,canonical_permuted cell.seed=0,1,2,3,4
LAUNCHER ?= local
sweep: setup ## Hydra multirun of KS cells (LAUNCHER=local|slurm, SWEEP="cell.model=... trainer=gpu ..."); needs `dvc repro ks_split ks_variant` first
	$(BIN)/python -m symbench.train -m hydra/launcher=$(LAUNCHER) $(SWEEP)

lint: setup ## ruff lint and format check
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench

format: setup ## ruff format and autofix
	$(BIN)/ruff format src tests bench
	$(BIN)/ruff check --fix src tests bench

clean: ## Remove caches (keeps .venv, data and models)
	rm -rf .pytest_cache .ruff_cache lightning_logs outputs multirun
	find . -name __pycache__ -not -path './$(VENV)/*' -prune -exec rm -rf {} +

# runwatch — every target carries a one-line description after "##" (see `make help`).
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
PORT ?= 8501
ADDRESS ?= localhost

.DEFAULT_GOAL := help
.PHONY: help demo test lint format bench venv dev-venv clean

help: ## Show every target with its description
	@grep -hE '^[a-zA-Z_-]+:.*?## ' $(MAKEFILE_LIST) | sort | \
	  awk 'BEGIN {FS = ":.*?## "}; {printf "  make %-8s %s\n", $$1, $$2}'

$(VENV)/bin/python:
	$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "runwatch needs Python 3.11 or newer")'
	$(PYTHON) -m venv $(VENV)

$(VENV)/.runtime-installed: requirements.txt | $(VENV)/bin/python
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements.txt
	@touch $@

$(VENV)/.dev-installed: requirements-dev.txt requirements.txt | $(VENV)/bin/python
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	@touch $(VENV)/.runtime-installed $@

venv: $(VENV)/.runtime-installed ## Create .venv and install the pinned runtime requirements

dev-venv: $(VENV)/.dev-installed ## Install the pinned development requirements into .venv

demo: $(VENV)/.runtime-installed ## Serve the dashboard: the embedded demo fleet, or RUNWATCH_PROJECTS live
	@echo "runwatch: open http://$(ADDRESS):$(PORT) (Ctrl-C stops it)"
	$(PY) -m streamlit run dashboard.py \
	  --server.port $(PORT) --server.address $(ADDRESS) --server.headless true \
	  --browser.gatherUsageStats false

lint: $(VENV)/.dev-installed ## ruff check, ruff format --check and mypy (strict) on the pure layers and app_data
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy

format: $(VENV)/.dev-installed ## Apply ruff's fixes and formatting
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

test: lint ## Lint, then run the whole test suite (unit, emulator, AppTest, browser)
	$(PY) -m pytest

bench: $(VENV)/.dev-installed ## Run the benchmarks, print a table, write bench/results.json
	$(PY) -m bench

clean: ## Remove caches and test artifacts (keeps .venv)
	rm -rf .pytest_cache .mypy_cache .ruff_cache .hypothesis artifacts

# Deploying the dashboard itself (deploy/, README "Deploy to Cloud Run"). Plain python3 is
# enough: the deploy package uses the standard library only, and DRY_RUN=1 needs no gcloud.
.PHONY: deploy image-check
# The options reach `python3 -m deploy` verbatim, one argument each, whatever they contain:
# make never expands them (a $(shell ...) in a value would run when make exported it, hence
# the unexport), and the shell sees them only inside "$$VAR", so no quote, backtick or $(...)
# can run a command or add a flag. deploy/options.py then validates each value by name.
unexport PROJECT REGION WATCH_PROJECTS INVOKERS MAX_INSTANCES IAP DRY_RUN
deploy: export RUNWATCH_DEPLOY_PROJECT = $(value PROJECT)
deploy: export RUNWATCH_DEPLOY_REGION = $(value REGION)
deploy: export RUNWATCH_DEPLOY_WATCH_PROJECTS = $(value WATCH_PROJECTS)
deploy: export RUNWATCH_DEPLOY_INVOKERS = $(value INVOKERS)
deploy: export RUNWATCH_DEPLOY_MAX_INSTANCES = $(value MAX_INSTANCES)
deploy: export RUNWATCH_DEPLOY_IAP = $(value IAP)
deploy: export RUNWATCH_DEPLOY_DRY_RUN = $(value DRY_RUN)
deploy: ## Deploy to Cloud Run: PROJECT=… REGION=… [WATCH_PROJECTS=…] [INVOKERS=…] [IAP=0] [DRY_RUN=1]
	@if [ -z "$$RUNWATCH_DEPLOY_PROJECT" ] || [ -z "$$RUNWATCH_DEPLOY_REGION" ]; then \
	  echo "usage: make deploy PROJECT=my-project REGION=europe-west1 [WATCH_PROJECTS=p1,p2]" \
	    "[INVOKERS=group:team@example.com] [MAX_INSTANCES=2] [IAP=0] [DRY_RUN=1]" >&2; exit 2; fi; \
	switches=(); \
	case "$${RUNWATCH_DEPLOY_IAP,,}" in \
	  ""|1|true|yes|on) ;; \
	  0|false|no|off) switches+=(--no-iap) ;; \
	  *) echo "deploy: IAP=$$RUNWATCH_DEPLOY_IAP: use IAP=0 (IAM instead of IAP) or leave it out" >&2; \
	     exit 2 ;; \
	esac; \
	case "$${RUNWATCH_DEPLOY_DRY_RUN,,}" in \
	  ""|0|false|no|off) ;; \
	  1|true|yes|on) switches+=(--dry-run) ;; \
	  *) echo "deploy: DRY_RUN=$$RUNWATCH_DEPLOY_DRY_RUN: use DRY_RUN=1 (print the plan) or leave it out" >&2; \
	     exit 2 ;; \
	esac; \
	exec $(PYTHON) -m deploy "--project=$$RUNWATCH_DEPLOY_PROJECT" \
	  "--region=$$RUNWATCH_DEPLOY_REGION" "--watch-projects=$$RUNWATCH_DEPLOY_WATCH_PROJECTS" \
	  "--invokers=$$RUNWATCH_DEPLOY_INVOKERS" \
	  "--max-instances=$${RUNWATCH_DEPLOY_MAX_INSTANCES:-2}" "$${switches[@]}"

image-check: ## Build the image with podman (no Docker) and run its start command; needs root
	deploy/image_check.sh

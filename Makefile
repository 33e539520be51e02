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

lint: $(VENV)/.dev-installed ## ruff check, ruff format --check and mypy on the pure layers
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
deploy: ## Deploy to Cloud Run: PROJECT=… REGION=… [WATCH_PROJECTS=…] [INVOKERS=…] [IAP=0] [DRY_RUN=1]
	@if [ -z "$(PROJECT)" ] || [ -z "$(REGION)" ]; then \
	  echo "usage: make deploy PROJECT=my-project REGION=europe-west1 [WATCH_PROJECTS=p1,p2]" \
	    "[INVOKERS=group:team@example.com] [MAX_INSTANCES=2] [IAP=0] [DRY_RUN=1]" >&2; exit 2; fi
	@$(PYTHON) -m deploy --project "$(PROJECT)" --region "$(REGION)" \
	  --watch-projects "$(WATCH_PROJECTS)" --invokers "$(INVOKERS)" \
	  --max-instances "$(or $(MAX_INSTANCES),2)" \
	  $(if $(filter 0 false no,$(IAP)),--no-iap,) \
	  $(if $(filter 1 true yes,$(DRY_RUN)),--dry-run,)

image-check: ## Build the image with podman (no Docker) and run its start command; needs root
	deploy/image_check.sh

# The two commands of the README: `make serve` and `make test`. Both do all the set-up.
SHELL := /bin/bash
.DEFAULT_GOAL := help
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PORT ?= 8000
# Unit tests and nbval run in JOBS processes (pytest-xdist; JOBS=0: in one process). The
# browser tests run in one: their time budgets are measured there.
JOBS ?= 2
PYTEST := $(BIN)/python -m pytest
NBVAL := $(PYTEST) -n $(JOBS) --dist loadscope --nbval --nbval-current-env \
	--nbval-sanitize-with tests/nbval_sanitize.cfg notebooks

.PHONY: help setup browser test lint unit nbval book book-check browser-test lab-test serve lab \
	execute clean

help:
	@echo "make serve    build the site and serve it at http://127.0.0.1:$(PORT) (does the set-up)"
	@echo "make test     run every test (does the set-up, including a headless Chromium)"
	@echo "make book     build the site into _build/html"
	@echo "make lab      open JupyterLab on notebooks/"
	@echo "make execute  re-execute every lesson and store its outputs"

$(STAMP): requirements.txt pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.txt
	$(BIN)/python -m pip install --quiet --no-deps -e .
	touch $(STAMP)

setup: $(STAMP)

browser: $(STAMP)
	bash scripts/ensure_browser.sh

# ---- tests -------------------------------------------------------------------------------
# `make test` runs the stages in order, stops at the first that fails, prints each one's time
# and closes with the total. The JupyterLab stage (lab-test) runs last and is timed apart.
STAGES := lint unit nbval book-check browser-test
LAB_TEST := tests/browser/test_jupyterlab.py

test: setup browser
	@start=$$(date +%s); times=""; \
	for stage in $(STAGES); do \
		t=$$(date +%s); \
		$(MAKE) --no-print-directory $$stage; status=$$?; \
		took=$$(( $$(date +%s) - t )); times="$$times, $${stage%-*} $$took s"; \
		echo "---- make $$stage: $$took s"; \
		if [ $$status != 0 ]; then \
			echo "make test: $$stage FAILED after $$(( $$(date +%s) - start )) s ($${times#, })"; \
			exit $$status; \
		fi; \
	done; \
	total=$$(( $$(date +%s) - start )); \
	t=$$(date +%s); $(MAKE) --no-print-directory lab-test; status=$$?; lab=$$(( $$(date +%s) - t )); \
	echo "---- make lab-test: $$lab s"; \
	if [ $$status != 0 ]; then echo "make test: lab-test FAILED ($$lab s)"; exit $$status; fi; \
	echo "make test: all passed in $$total s ($${times#, }); JupyterLab $$lab s apart"

lint: setup
	$(BIN)/ruff check .

unit: setup
	$(PYTEST) -n $(JOBS) tests --ignore=tests/browser

# nbval in strict mode, twice: stored outputs must be reproduced exactly, run after run.
nbval: setup
	$(NBVAL)
	$(NBVAL)

book-check: setup
	$(BIN)/jupyter-book build . --all -nW --keep-going

browser-test: setup browser
	$(PYTEST) tests/browser --ignore=$(LAB_TEST)

# JupyterLab itself in Chromium (learner path): its own stage, its own time.
lab-test: setup browser
	@if [ -f $(LAB_TEST) ]; then \
		$(PYTEST) $(LAB_TEST); \
	else \
		echo "lab-test: no $(LAB_TEST) yet"; \
	fi

# ---- the site and the lessons --------------------------------------------------------------
book: setup
	$(BIN)/jupyter-book build . -nW --keep-going

serve: book
	@echo "Serving the course at http://127.0.0.1:$(PORT)  (Ctrl+C to stop)"
	$(BIN)/python -m http.server $(PORT) --bind 127.0.0.1 --directory _build/html

lab: setup
	$(BIN)/jupyter lab notebooks

execute: setup
	$(BIN)/python scripts/execute_notebooks.py notebooks/[0-9]*.ipynb

clean:
	rm -rf _build

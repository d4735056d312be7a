# The two commands of the README: `make run` and `make test`. Everything they need is set up here.
SHELL := /bin/bash
.DEFAULT_GOAL := help
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

# Django 6.1 needs Python >= 3.12: prefer the version in .python-version (pyenv), then 3.13, 3.12.
PYTHON ?= $(shell for c in "$$(pyenv root 2>/dev/null)/versions/$$(cat .python-version 2>/dev/null)/bin/python3" python3.13 python3.12 python3; do \
	p=$$(command -v "$$c" 2>/dev/null) || continue; \
	"$$p" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 12) else 1)' 2>/dev/null && { echo "$$p"; break; }; done)

.PHONY: help run test venv requirements system-packages services stop check check-steps check-django check-mypy mypy-check mypy-baseline mypy-sync bench clean

help:
	@echo "make run    set up everything and serve the portal with demo data on http://127.0.0.1:8000"
	@echo "make test   set up everything and run the whole test suite"
	@echo "make check  Django checks, migrations up to date, ruff lint + format, mypy (against mypy-baseline.txt)"
	@echo "make bench  run the benchmarks in bench/ (see docs/performance.md)"
	@echo "make stop   stop the embedded PostgreSQL/Redis started under var/"
	@echo "make requirements  recompile requirements*.txt (hashes) from requirements*.in"

# One virtualenv for every target: `make run` needs the embedded PostgreSQL/Redis of
# requirements-dev.txt on machines that have none, and test/check/bench need the rest of it.
# Production installs requirements.txt alone. Both files are hash-locked (--require-hashes):
# pip refuses any file that is not the one that was locked.
$(STAMP): requirements.txt requirements-dev.txt
	@if [ -z "$(PYTHON)" ]; then echo "error: Python >= 3.12 not found (Django 6.1 needs it). Install Python 3.13 (e.g. 'pyenv install 3.13.0') or set PYTHON=/path/to/python3.13." >&2; exit 1; fi
	@echo "Using $(PYTHON) ($$($(PYTHON) --version))"
	@[ -x $(PY) ] && $(PY) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 12) else 1)' || { rm -rf $(VENV); $(PYTHON) -m venv $(VENV); }
	$(PY) -m pip install --quiet --disable-pip-version-check --require-hashes -r requirements.txt -r requirements-dev.txt
	@touch $(STAMP)

venv: $(STAMP)

# Recompile requirements.txt and requirements-dev.txt from the .in files (README "Dependencies").
# Pins already in the .txt files are kept unless a .in asks otherwise; add
# PIP_COMPILE_ARGS="--upgrade-package NAME" to move one package that only comes with others.
PIP_COMPILE = CUSTOM_COMPILE_COMMAND="make requirements" $(VENV)/bin/pip-compile --quiet --generate-hashes \
	--allow-unsafe --strip-extras --no-emit-index-url --no-emit-find-links $(PIP_COMPILE_ARGS)

requirements: venv
	$(PIP_COMPILE) -o requirements.txt requirements.in
	$(PIP_COMPILE) -o requirements-dev.txt requirements-dev.in

# Browser tests drive Debian's Chromium through Playwright (no `playwright install`).
# Debian packages the suite uses: chromium (browser tests through Playwright, no browser
# download), php-cli and nodejs (the docs' PHP/JavaScript code samples are syntax-checked),
# wrk (benchmarks). Only missing ones are installed.
system-packages:
	@missing=""; \
	command -v chromium >/dev/null 2>&1 || missing="$$missing chromium fonts-dejavu-core"; \
	command -v php >/dev/null 2>&1 || missing="$$missing php-cli"; \
	command -v node >/dev/null 2>&1 || missing="$$missing nodejs"; \
	command -v wrk >/dev/null 2>&1 || missing="$$missing wrk"; \
	if [ -n "$$missing" ]; then \
		echo "Installing Debian packages:$$missing"; \
		SUDO=$$([ "$$(id -u)" = 0 ] || echo sudo); \
		$$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq --no-install-recommends $$missing >/dev/null; \
	fi

run: venv
	$(PY) -m devtools.run

# Uses the machine's PostgreSQL/Redis when they answer, else embedded ones (TOLLGATE_EMBEDDED=1
# forces embedded); embedded servers started here are stopped again when the run ends.
test: venv system-packages
	@eval "$$($(PY) -m devtools.services env --mode test)" && \
		export TESTING=1 && mkdir -p var/staticfiles && \
		{ $(PY) -m pytest $(PYTEST_ARGS); rc=$$?; \
		  if [ -n "$$TOLLGATE_EMBEDDED_STARTED" ]; then $(PY) -m devtools.services stop --only "$$TOLLGATE_EMBEDDED_STARTED"; fi; \
		  exit $$rc; }

# Runs $(1) with the same services as `make test`, then stops any embedded server it started.
# (The Django checks and mypy's Django plugin import the settings, which need the URLs.)
with_services = eval "$$($(PY) -m devtools.services env --mode test)" && export TESTING=1 && \
	{ $(1); rc=$$?; \
	  if [ -n "$$TOLLGATE_EMBEDDED_STARTED" ]; then $(PY) -m devtools.services stop --only "$$TOLLGATE_EMBEDDED_STARTED"; fi; \
	  exit $$rc; }

# Static checks (configured in pyproject.toml; .pre-commit-config.yaml runs the same). Every
# step runs, so one run shows every problem; it fails if any step failed.
check: venv
	@$(call with_services,$(MAKE) --no-print-directory check-steps)

check-steps:
	@rc=0; \
	for step in "$(PY) manage.py check --fail-level WARNING" \
	            "$(PY) manage.py makemigrations --check --dry-run" \
	            "$(VENV)/bin/ruff check ." \
	            "$(VENV)/bin/ruff format --check ." \
	            "$(MAKE) --no-print-directory mypy-check"; do \
		echo "== $$step"; $$step || rc=1; \
	done; exit $$rc

# The pre-commit hooks' entry points: one check each, in the services' environment.
check-django: venv
	@$(call with_services,$(PY) manage.py check --fail-level WARNING && $(PY) manage.py makemigrations --check --dry-run)

check-mypy: venv
	@$(call with_services,$(MAKE) --no-print-directory mypy-check)

# mypy against the frozen baseline (see [tool.mypy] in pyproject.toml): fails on new errors and
# on fixed ones still listed. mypy exits 1 for "errors found" (filtered next), 2 when it crashed.
mypy-check:
	@mkdir -p var && $(PY) -m mypy --no-error-summary > var/mypy.txt; rc=$$?; \
	if [ $$rc -gt 1 ]; then cat var/mypy.txt; exit $$rc; fi; \
	$(VENV)/bin/mypy-baseline filter < var/mypy.txt

# Rewrite mypy-baseline.txt from today's errors: after fixing some, or after moving files.
mypy-baseline: venv
	@$(call with_services,$(MAKE) --no-print-directory mypy-sync)

mypy-sync:
	@mkdir -p var && $(PY) -m mypy --no-error-summary > var/mypy.txt; rc=$$?; \
	if [ $$rc -gt 1 ]; then cat var/mypy.txt; exit $$rc; fi; \
	$(VENV)/bin/mypy-baseline sync < var/mypy.txt && echo "mypy-baseline.txt: $$(grep -c . mypy-baseline.txt) known errors"

bench: venv system-packages
	@eval "$$($(PY) -m devtools.services env --mode test)" && for b in bench/bench_*.py; do $(PY) $$b || exit 1; done

stop: venv
	$(PY) -m devtools.services stop

clean: stop
	rm -rf var/ test-artifacts/

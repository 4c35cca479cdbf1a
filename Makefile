# The two commands the README promises: `make demo` and `make test`. Each builds its own
# virtualenv (.venv) from nothing on a fresh machine with Python 3.11+.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test lint typecheck unit browser clean

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit("ml-connector needs Python 3.11 or newer") if sys.version_info < (3, 11) else None'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

demo: $(STAMP)
	$(BIN)/ml-connector demo --once

lint: $(STAMP)
	$(BIN)/ruff format --check src tests $(wildcard bench)
	$(BIN)/ruff check src tests $(wildcard bench)
	$(BIN)/lint-imports

typecheck: $(STAMP)
	$(BIN)/mypy src

unit: $(STAMP)
	$(BIN)/pytest tests/unit

# The browser tests drive Debian's Chromium through Playwright; no browser build is downloaded.
# Installed here when missing (needs root and apt); without it those tests skip with a reason.
CHROMIUM ?= /usr/bin/chromium
browser:
	@if [ -x "$(CHROMIUM)" ]; then :; \
	elif command -v apt-get >/dev/null 2>&1 && [ "$$(id -u)" = 0 ]; then \
	  echo "installing Debian's chromium for the browser tests"; \
	  apt-get install -y -q chromium >/dev/null || \
	  (apt-get update -q >/dev/null && apt-get install -y -q chromium >/dev/null) || \
	  echo "could not install chromium: the browser tests will skip"; \
	else echo "no $(CHROMIUM) and no root apt-get: the browser tests will skip"; fi

# pytest-xdist: one worker per core, each test module kept on one worker (module-scoped worlds
# stay whole); every worker has its own PostgreSQL database (tests/conftest.py) and free ports.
PYTEST_WORKERS ?= 2
test: lint typecheck browser
	$(BIN)/pytest -n $(PYTEST_WORKERS) --dist loadfile --durations=15

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache

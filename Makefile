# Every check goes through here; .ci/run calls the same targets.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
DEMO_STAMP := $(VENV)/.installed-demo
PYTEST_ARGS ?=
# Every install takes its versions from constraints.txt (what CI tested); `make lock` refreshes it.
PIP_INSTALL := $(BIN)/pip install -q --constraint constraints.txt

.DEFAULT_GOAL := help
.PHONY: help install sysdeps demo test test-fast test-services lint snapshots bench bench-smoke image lock clean

help:  ## list the commands
	@grep -E '^[a-z-]+:.*##' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-12s %s\n", $$1, $$2}'

# mysqlclient compiles against libmariadb; install the headers when we can, else say how.
sysdeps:  ## install system packages the MySQL driver compiles against (apt-get, as root)
	@if pkg-config --exists libmariadb 2>/dev/null || pkg-config --exists mysqlclient 2>/dev/null; then :; \
	elif [ "$$(id -u)" = "0" ] && command -v apt-get >/dev/null; then \
		echo "installing libmariadb-dev and pkg-config (needed to build mysqlclient)"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq libmariadb-dev pkg-config >/dev/null; \
	else \
		echo "mysqlclient needs MariaDB/MySQL client headers. Run:"; \
		echo "  sudo apt-get install -y libmariadb-dev pkg-config    # Debian/Ubuntu"; \
		echo "  brew install mariadb-connector-c pkg-config          # macOS"; \
		exit 1; \
	fi

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

# The demo needs tapwell's core and DuckDB only: no compiler, no MySQL headers, no dev tools.
$(DEMO_STAMP): pyproject.toml constraints.txt | $(BIN)/python
	$(PIP_INSTALL) -e '.[duckdb]'
	@touch $(DEMO_STAMP)

$(STAMP): pyproject.toml constraints.txt | $(BIN)/python
	$(MAKE) --no-print-directory sysdeps
	$(PIP_INSTALL) -e '.[all,dev]'
	@touch $(STAMP) $(DEMO_STAMP)

install: $(STAMP)  ## create .venv and install tapwell with every connector and the dev tools

demo: $(DEMO_STAMP)  ## run the demo integration: sample CSVs -> tap-csv -> target-duckdb
	$(BIN)/python -m tapwell.runner.demo

# `make test` is the two tiers, cheapest first: every test that needs no server and is not slow,
# then the rest (the `services` marker is set by the fixtures that need a server, tests/conftest.py;
# `slow` by the soak/chaos tests). pytest's exit 5 (no test collected) is a failure, said in a line.
PYTEST_TIER = code=0; $(BIN)/pytest -m "$(1)" $(PYTEST_ARGS) || code=$$?; \
	if [ $$code -eq 5 ]; then echo "make: pytest collected no tests for -m \"$(1)\"; that is a failure" >&2; fi; \
	exit $$code

test: $(STAMP)  ## run the whole test suite: the fast tier, then the tests that need a server or are slow
	@$(call PYTEST_TIER,not services and not slow)
	@$(call PYTEST_TIER,services or slow)

test-fast: $(STAMP)  ## every test that needs no server and is not slow
	@$(call PYTEST_TIER,not services and not slow)

test-services: $(STAMP)  ## the rest of `make test`: tests that need a server, and the slow ones
	@$(call PYTEST_TIER,services or slow)

# lint-imports reads packages from one folder, and ours install from three (runner/tapwell, taps/,
# targets/: pyproject's package-dir); it reads a copy laid out as installed, in .lint-tree/.
lint: $(STAMP)  ## ruff, mypy, the layer contracts (import-linter) and no import cycles
	$(BIN)/ruff check runner taps targets mappers tests bench
	$(BIN)/ruff format --check runner taps targets mappers tests bench
	$(BIN)/mypy runner/tapwell taps targets mappers
	@rm -rf .lint-tree && mkdir .lint-tree && cp -r runner/tapwell .lint-tree/tapwell \
		&& cp -r taps .lint-tree/tapwell/taps && cp -r targets .lint-tree/tapwell/targets \
		&& cp -r mappers .lint-tree/tapwell/mappers
	cd .lint-tree && PYTHONPATH=. ../$(BIN)/lint-imports --no-cache ../pyproject.toml
	$(BIN)/pytest -q -p no:randomly -p no:cacheprovider tests/test_no_import_cycles.py

snapshots: $(STAMP)  ## rewrite the golden files under tests/snapshots on purpose
	TAPWELL_UPDATE_SNAPSHOTS=1 $(BIN)/pytest tests -k snapshot -q

bench: $(STAMP)  ## throughput: tapwell beside PipelineWise, Meltano and dump|COPY (ROWS=1000000)
	$(BIN)/python -m bench $(if $(ROWS),--rows $(ROWS))

# The tag is tapwell.yml's kubernetes.image (what the CronJobs run), else tapwell:VERSION (what
# `tapwell schedule kubernetes` writes without one), unless IMAGE=... is given.
VERSION := $(shell sed -n 's/^version = "\(.*\)"/\1/p' pyproject.toml)
IMAGE ?= $(or $(shell sed -n "/^kubernetes:/,/^[^ \#]/s/^  image: *[\"']*\([^\"' \#]*\).*/\1/p" tapwell.yml 2>/dev/null),tapwell:$(VERSION))

image:  ## build the Docker image of this project (tag: tapwell.yml's kubernetes.image, or IMAGE=...)
	docker build -t $(IMAGE) .

# Resolve pyproject's ranges afresh in a throwaway venv and pin what resolved, for every extra.
lock:  ## refresh constraints.txt (the versions make, CI and the image install); review the diff
	rm -rf $(VENV)-lock
	$(PYTHON) -m venv $(VENV)-lock
	$(VENV)-lock/bin/pip install -q --upgrade pip
	$(MAKE) --no-print-directory sysdeps
	$(VENV)-lock/bin/pip install -q '.[all,dev]'
	{ echo "# Versions make, CI and the Docker image install (pip --constraint). Refresh: make lock"; \
	  echo "# (resolved on Python $$($(VENV)-lock/bin/python -c 'import platform; print(platform.python_version())'))"; \
	  $(VENV)-lock/bin/pip freeze --exclude tapwell; } > constraints.txt
	rm -rf $(VENV)-lock
	@echo "constraints.txt refreshed: review git diff constraints.txt, then make test"

clean:  ## remove the virtualenv and caches
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .lint-tree

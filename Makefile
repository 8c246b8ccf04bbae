# Two commands matter: `make run` and `make test`. Both create .venv on first use.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# Every package set-up installs, pinned (a constraints file for pip): refreshed by `make lock` only.
LOCK := constraints.txt

# A DAGSTER_HOME set by the caller wins (e.g. one holding deploy/dagster.postgres.yaml): make run, ui and prune
# use that instance. The repository's dagster.yaml is linked into a home that has no dagster.yaml, never over one.
export DAGSTER_HOME ?= $(CURDIR)/.dagster_home
# Dagster stores the per-partition events of one asset as one batch of at most this many when it is set in
# the environment of the process running the steps (make run, the UI's run workers): more than the yearly
# partitions of any history the settings allow, so each asset's events are one transaction.
export DAGSTER_EVENT_BATCH_SIZE ?= 200

# Where `make stack` keeps the local team stack's data, configuration and logs.
STACK_DIR ?= $(CURDIR)/.stack

.PHONY: run test test-fast lint ui bench bench-team install lock browser postgres clean restore doctor prune stack stack-down

$(STAMP): pyproject.toml $(LOCK)
	$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "Python 3.11+ is required, found " + sys.version'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -c $(LOCK) -e '.[dev]'
	$(BIN)/python -m mac_assets.infra.lake
	touch $(STAMP)

install: $(STAMP)

## Re-resolve $(LOCK) from pyproject.toml against PyPI, newest versions allowed, for Linux and macOS on Python 3.11+.
lock: $(STAMP)
	$(BIN)/uv pip compile pyproject.toml --all-extras --universal --python-version 3.11 --upgrade --quiet \
	  --custom-compile-command 'make lock' -o $(LOCK)

$(DAGSTER_HOME)/dagster.yaml: | dagster.yaml
	mkdir -p $(DAGSTER_HOME)
	ln -sfn $(CURDIR)/dagster.yaml $(DAGSTER_HOME)/dagster.yaml

## Materialize the whole graph on the configured source (demo by default) and print the latest MAC.
run: $(STAMP) $(DAGSTER_HOME)/dagster.yaml
	$(BIN)/python -m mac_assets.run

## One request per live provider: reachable, key missing, refused or geo-blocked, and the coverage that leaves.
doctor: $(STAMP)
	$(BIN)/python -m mac_assets.doctor

## Delete runs older than MAC_RETENTION_DAYS (failed: MAC_RETENTION_FAILED_DAYS) from the instance; safe beside the UI.
prune: $(STAMP) $(DAGSTER_HOME)/dagster.yaml
	$(BIN)/python -m mac_assets.prune

## Rebuild a damaged working file's raw tables from the newest verified backup (the damaged file is kept).
restore: $(STAMP)
	$(BIN)/python -m mac_assets.restore

## Headless Chromium for the browser test: installed with apt when running as root, otherwise that test skips.
browser:
	@if command -v chromium >/dev/null 2>&1; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	  echo "Installing Debian's chromium and chromium-driver for the browser test (once) ..."; \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver >/dev/null) \
	    || echo "Could not install chromium: the browser test will skip."; \
	else echo "chromium is not installed and this is not root: the browser test will skip."; fi

## PostgreSQL and PgBouncer for the team-deployment tests (they start their own servers on free ports): apt, as root.
postgres:
	@if (command -v initdb >/dev/null 2>&1 || ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1) \
	    && (command -v pgbouncer >/dev/null 2>&1 || [ -x /usr/sbin/pgbouncer ]); then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	  echo "Installing Debian's postgresql and pgbouncer for the team-deployment tests (once) ..."; \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql pgbouncer >/dev/null) \
	    || echo "Could not install postgresql/pgbouncer: the PostgreSQL tests will skip."; \
	else echo "PostgreSQL or PgBouncer is not installed and this is not root: the PostgreSQL tests will skip."; fi

## An older DuckDB (1.1, released a year before the project's 1.5) beside the venv, to prove BI tools that bundle it can open the published file.
$(VENV)/duckdb1: $(STAMP)
	$(BIN)/pip install --quiet --target $(VENV)/duckdb1 'duckdb>=1.1,<1.2'

## The DuckDB of mac-assets before the 1.5 pin (2.0) beside the venv: its working files must say how to migrate.
$(VENV)/duckdb2: $(STAMP)
	$(BIN)/pip install --quiet --no-deps --target $(VENV)/duckdb2 'duckdb==2.0.1'

FAST := not graph and not process and not ui and not real_data and not slow

## Lint (ruff), then the whole test suite: what CI runs. Its test files run on two cores at once (pytest-xdist);
## a file's tests stay in one process, in order, so module fixtures (one team stack, one lake) are built once.
test: $(STAMP) browser postgres $(VENV)/duckdb1 $(VENV)/duckdb2 lint
	$(BIN)/python -m pytest -n 2 --dist loadfile

## The pure-logic tier only (no graph runs, child processes, UI, real data or timeouts): seconds.
test-fast: $(STAMP) lint
	$(BIN)/python -m pytest -m "$(FAST)"

lint: $(STAMP)
	$(BIN)/ruff check mac_assets tests scripts

## Measure: full backfill, incremental update, per-partition runs, pure compute, requests, BI reads (within 10 minutes).
bench: $(STAMP)
	$(BIN)/python -m scripts.bench

## Measure the team set-ups (PostgreSQL instance, DuckLake in a folder and on S3) and a simulated year of daily runs.
bench-team: $(STAMP) postgres
	$(BIN)/python -m scripts.bench --team

## The team deployment of deploy/ as local processes (PostgreSQL, PgBouncer, S3, code server, webserver, daemon).
stack: $(STAMP) postgres
	$(BIN)/python -m scripts.stack up $(STACK_DIR)

## Stop exactly what `make stack` started.
stack-down:
	$(BIN)/python -m scripts.stack down $(STACK_DIR)

## Start the Dagster UI on http://127.0.0.1:3000
ui: $(STAMP) $(DAGSTER_HOME)/dagster.yaml
	$(BIN)/dagster dev -w workspace.yaml -h 127.0.0.1 -p 3000

## Published snapshots are immutable when published as root (docs/bi.md): lift that first, or rm cannot remove them.
clean:
	-[ -d data ] && chattr -R -i data 2>/dev/null
	rm -rf $(VENV) data .dagster_home .pytest_cache

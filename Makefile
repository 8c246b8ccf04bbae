# Two commands matter: `make run` and `make test`. Both create .venv on first use.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

export DAGSTER_HOME := $(CURDIR)/.dagster_home

.PHONY: run test ui install clean

$(STAMP): pyproject.toml
	$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "Python 3.11+ is required, found " + sys.version'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

$(DAGSTER_HOME)/dagster.yaml: dagster.yaml
	mkdir -p $(DAGSTER_HOME)
	ln -sfn ../dagster.yaml $(DAGSTER_HOME)/dagster.yaml

## Materialize the whole graph on the configured source (demo by default) and print the latest MAC.
run: $(STAMP) $(DAGSTER_HOME)/dagster.yaml
	$(BIN)/python -m mac_assets.run

## Run the test suite.
test: $(STAMP)
	$(BIN)/python -m pytest

## Start the Dagster UI on http://127.0.0.1:3000
ui: $(STAMP) $(DAGSTER_HOME)/dagster.yaml
	$(BIN)/dagster dev -w workspace.yaml -h 127.0.0.1 -p 3000

clean:
	rm -rf $(VENV) data .dagster_home .pytest_cache

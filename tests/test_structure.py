"""The shape of the code holds: the Dagster-free core stays free of Dagster, layers import downwards, and
Dagster's own project tooling (`dg`) loads the code location."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from mac_assets.catalog import SERIES
from mac_assets.derived.registry import METRICS

REPO = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent

pytestmark = pytest.mark.process


def _run(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([str(BIN / args[0]), *args[1:]], cwd=REPO, capture_output=True, text=True, timeout=300,
                          env=env or os.environ | {"DAGSTER_HOME": str(REPO / ".dagster_home")})


def test_the_import_contracts_hold():
    done = _run("lint-imports")
    assert done.returncode == 0, done.stdout[-3000:]
    assert "3 kept, 0 broken" in done.stdout


def test_a_dagster_import_in_the_core_breaks_the_contract(tmp_path):
    """The contract is not vacuous: a copy of the package whose metrics module imports Dagster fails it."""
    copy = tmp_path / "mac_assets"
    import shutil
    shutil.copytree(REPO / "mac_assets", copy, ignore=shutil.ignore_patterns("__pycache__"))
    metrics = copy / "derived" / "metrics.py"
    metrics.write_text(metrics.read_text().replace("import numpy as np", "import numpy as np\nimport dagster", 1))
    shutil.copy(REPO / "pyproject.toml", tmp_path / "pyproject.toml")
    done = subprocess.run([str(BIN / "lint-imports")], cwd=tmp_path, capture_output=True, text=True, timeout=300,
                          env=os.environ | {"PYTHONPATH": str(tmp_path)})
    assert done.returncode != 0 and "mac_assets.derived.metrics -> dagster" in done.stdout


def test_dg_checks_the_definitions(tmp_path):
    done = _run("dg", "check", "defs")
    assert done.returncode == 0, done.stderr[-3000:]
    assert "All definitions loaded successfully" in done.stdout + done.stderr


def test_dg_lists_every_series_and_metric_as_an_asset():
    done = _run("dg", "list", "defs", "--json")
    assert done.returncode == 0, done.stderr[-3000:]
    listed = json.loads(done.stdout)
    keys = {a["asset_key"] for a in listed["assets"]}
    assert {f"raw/{s.asset_name}" for s in SERIES} <= keys
    assert {f"derived/{m.name}" for m in METRICS} <= keys


def test_importing_the_code_location_reads_no_environment():
    """A bad MAC_* setting fails when the definitions are built, never at import (tests and scripts import freely)."""
    env = os.environ | {"MAC_SOURCE": "bloomberg", "MAC_HISTORY_START": "soon"}
    done = subprocess.run([sys.executable, "-c", "import mac_assets.definitions"], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    built = subprocess.run([sys.executable, "-c", "import mac_assets.definitions as d; d.defs()"], cwd=REPO, env=env,
                           capture_output=True, text=True, timeout=120)
    assert built.returncode != 0 and "MAC_HISTORY_START='soon'" in built.stderr

"""The shape of the code holds: the Dagster-free core stays free of Dagster, layers import downwards, every
imported package is declared, and Dagster's own project tooling (`dg`) loads the code location."""

from __future__ import annotations

import ast
import importlib.metadata
import json
import os
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import grimp
import pytest

from mac_assets.catalog import SERIES
from mac_assets.derived.registry import METRICS

REPO = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
PYPROJECT = tomllib.loads((REPO / "pyproject.toml").read_text())
CONTRACTS = {c["name"]: c for c in PYPROJECT["tool"]["importlinter"]["contracts"]}
WIRING = CONTRACTS["Only the Dagster wiring imports Dagster"]["allowed_importers"]


def wiring_imported_by_the_core(graph: grimp.ImportGraph) -> list[str]:
    """Direct imports of a wiring module by a module outside the wiring: through them the core would reach Dagster."""
    wiring = set().union(*(graph.find_matching_modules(w) for w in WIRING))
    core = {m for m in graph.find_descendants("mac_assets")} - wiring
    return sorted(f"{m} -> {w}" for m in core for w in graph.find_modules_directly_imported_by(m) & wiring)


def test_the_core_never_imports_the_wiring_so_never_reaches_dagster_through_it():
    graph = grimp.build_graph("mac_assets")
    assert wiring_imported_by_the_core(graph) == []
    graph.add_import(importer="mac_assets.scores.compute", imported="mac_assets.infra.io_manager")
    assert wiring_imported_by_the_core(graph) == ["mac_assets.scores.compute -> mac_assets.infra.io_manager"]


def _declared(requirements: list[str]) -> set[str]:
    return {re.split(r"[<>=!~\[ ;]", r, maxsplit=1)[0].lower().replace("_", "-") for r in requirements}


@pytest.mark.parametrize(("folder", "with_extras"), [("mac_assets", False), ("scripts", True)])
def test_every_imported_package_is_declared(folder, with_extras):
    """The package's imports are its dependencies; the scripts may also use the extras' (`dev` installs them all)."""
    declared = _declared(PYPROJECT["project"]["dependencies"])
    if with_extras:
        declared |= set().union(*(_declared(e) for e in PYPROJECT["project"]["optional-dependencies"].values()))
    imported = set()
    for path in (REPO / folder).rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                imported |= {a.name.split(".")[0] for a in node.names}
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                imported.add(node.module.split(".")[0])
    distributions = importlib.metadata.packages_distributions()
    third_party = sorted(imported - set(sys.stdlib_module_names) - {"mac_assets", "scripts", "tests"})
    undeclared = [f"{m} (from {', '.join(distributions.get(m, ['?']))})" for m in third_party
                  if not {d.lower().replace("_", "-") for d in distributions.get(m, [m])} & declared]
    assert undeclared == [], f"imported in {folder}/ but not declared in pyproject.toml"


def _run(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([str(BIN / args[0]), *args[1:]], cwd=REPO, capture_output=True, text=True, timeout=300,
                          env=env or os.environ | {"DAGSTER_HOME": str(REPO / ".dagster_home")})


@pytest.mark.process
def test_the_import_contracts_hold():
    done = _run("lint-imports")
    assert done.returncode == 0, done.stdout[-3000:]
    assert f"{len(CONTRACTS)} kept, 0 broken" in done.stdout


@pytest.mark.process
def test_a_new_module_that_imports_dagster_breaks_the_contract_until_it_is_declared_wiring(tmp_path):
    """The contract is not vacuous and covers modules nobody listed: a new core module importing Dagster fails it."""
    copy = tmp_path / "mac_assets"
    import shutil
    shutil.copytree(REPO / "mac_assets", copy, ignore=shutil.ignore_patterns("__pycache__"))
    (copy / "scores" / "brand_new.py").write_text("import dagster\n")
    shutil.copy(REPO / "pyproject.toml", tmp_path / "pyproject.toml")
    done = subprocess.run([str(BIN / "lint-imports")], cwd=tmp_path, capture_output=True, text=True, timeout=300,
                          env=os.environ | {"PYTHONPATH": str(tmp_path)})
    assert done.returncode != 0 and "mac_assets.scores.brand_new -> dagster" in done.stdout


@pytest.mark.process
def test_dg_checks_the_definitions(tmp_path):
    done = _run("dg", "check", "defs")
    assert done.returncode == 0, done.stderr[-3000:]
    assert "All definitions loaded successfully" in done.stdout + done.stderr


@pytest.mark.process
def test_dg_lists_every_series_and_metric_as_an_asset():
    done = _run("dg", "list", "defs", "--json")
    assert done.returncode == 0, done.stderr[-3000:]
    listed = json.loads(done.stdout)
    keys = {a["asset_key"] for a in listed["assets"]}
    assert {f"raw/{s.asset_name}" for s in SERIES} <= keys
    assert {f"derived/{m.name}" for m in METRICS} <= keys


@pytest.mark.process
def test_importing_the_code_location_reads_no_environment():
    """A bad MAC_* setting fails when the definitions are built, never at import (tests and scripts import freely)."""
    env = os.environ | {"MAC_SOURCE": "bloomberg", "MAC_HISTORY_START": "soon"}
    done = subprocess.run([sys.executable, "-c", "import mac_assets.definitions"], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    built = subprocess.run([sys.executable, "-c", "import mac_assets.definitions as d; d.defs()"], cwd=REPO, env=env,
                           capture_output=True, text=True, timeout=120)
    assert built.returncode != 0 and "MAC_HISTORY_START='soon'" in built.stderr


def test_the_lock_pins_every_declared_package():
    """constraints.txt (what `make install` and the image install from) pins every package pyproject.toml names."""
    lock = (REPO / "constraints.txt").read_text()
    pinned = {m.group(1).lower().replace("_", "-") for m in re.finditer(r"^([A-Za-z0-9_.-]+)==", lock, re.M)}
    declared = _declared(PYPROJECT["project"]["dependencies"]).union(
        *(_declared(e) for e in PYPROJECT["project"]["optional-dependencies"].values())) - {PYPROJECT["project"]["name"]}
    assert declared - pinned == set(), "pyproject.toml names packages the lock does not pin: run `make lock`"
    assert "make lock" in lock.splitlines()[1]

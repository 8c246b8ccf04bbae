"""Shared fixtures and the test tiers.

Tiers (markers, registered in pyproject.toml): `graph` runs the asset graph, `process` starts child
processes (`make run`, `dg`, servers), `ui` starts `dagster dev` and a browser, `real_data` needs
`../shared/validation/raw`, `slow` waits on real timeouts. `make test-fast` runs everything else: the
pure logic, in seconds. Markers go on the tests that need them, never on a whole module, so every
sub-second test is in the fast tier; a test that reads the shared demo graph is in the `graph` tier
by that alone (`pytest_collection_modifyitems`).

The demo graph over 2019–2020 is run once per test session: tests that only read it share
`demo_graph`; a test that writes to the working file takes `demo_copy`, its own copy.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pytest
from graph_helpers import run, settings_for, tables
from hostile_server import HostileServer

from mac_assets.publish.bi import releasing_snapshots

# Session fixtures that run the whole graph: a test using one is in the graph tier whatever its markers.
GRAPH_FIXTURES = {"demo_graph", "demo_tables", "demo_copy"}


# The files that take longest, longest first. `make test` hands whole files to two workers in collection order;
# started last, one of these would run alone while the other worker sits idle, so they are collected first.
LONGEST_FILES = ("test_stack.py", "test_lake.py", "test_reliability_process.py", "test_reliability_runs.py",
                 "test_bi.py", "test_graph.py", "test_reliability_faults.py", "test_graph_sources.py")


def pytest_collection_modifyitems(items):
    for item in items:
        if GRAPH_FIXTURES & set(item.fixturenames) and not item.get_closest_marker("graph"):
            item.add_marker(pytest.mark.graph)
    rank = {name: i for i, name in enumerate(LONGEST_FILES)}
    items.sort(key=lambda item: rank.get(item.path.name, len(LONGEST_FILES)))  # stable: in-file order kept


@dataclass(frozen=True)
class DemoGraph:
    path: Path  # the working file
    bi: Path  # the published snapshot
    result: object  # Dagster's ExecuteInProcessResult of the run


@pytest.fixture(scope="session", autouse=True)
def _deletable_snapshots(tmp_path_factory):
    """Snapshots published as root are immutable: lift that when the session ends, so pytest can delete old folders."""
    with releasing_snapshots(tmp_path_factory.getbasetemp()):
        yield


@pytest.fixture(scope="session")
def demo_graph(tmp_path_factory) -> DemoGraph:
    """The whole graph on the demo source (seed 7, data to 2021-06-30) for 2019–2020, one run per session."""
    path = tmp_path_factory.mktemp("demo_graph") / "mac.duckdb"
    result = run(path, "2019", "2020")
    assert result.success
    return DemoGraph(path, Path(settings_for(path).bi_path), result)


@pytest.fixture(scope="session")
def demo_tables(demo_graph) -> dict[str, pd.DataFrame]:
    """Every table of the shared demo graph, as `graph_helpers.tables` reads them."""
    return tables(demo_graph.path)


@pytest.fixture
def demo_copy(demo_graph, tmp_path) -> Path:
    """A private copy of the shared demo graph's working file, for tests that write to it."""
    path = tmp_path / "mac.duckdb"
    shutil.copy(demo_graph.path, path)
    return path


@pytest.fixture
def hostile():
    """A local server that trickles, hangs, floods, throttles, echoes or answers random bytes (hostile_server.py)."""
    server = HostileServer()
    yield server
    server.close()

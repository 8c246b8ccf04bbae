"""The product as a data engineer meets it: `dagster dev`, the UI in a browser, and a CLI backfill."""

import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import duckdb
import pytest
from dagster import DagsterInstance
from servers import free_port
from ui_helpers import browse, graphql, needs_chromium

from mac_assets.catalog import SERIES

pytestmark = pytest.mark.ui

REPO = Path(__file__).resolve().parent.parent
DAGSTER = str(Path(sys.executable).parent / "dagster")


def environment(tmp: Path, history_start: str) -> dict:
    home = tmp / "dagster_home"
    home.mkdir(exist_ok=True)
    shutil.copy(REPO / "dagster.yaml", home / "dagster.yaml")  # the instance settings users get
    return os.environ | {"DAGSTER_HOME": str(home), "MAC_DUCKDB_PATH": str(tmp / "mac.duckdb"),
                         "MAC_BI_PATH": str(tmp / "mac_bi.duckdb"), "MAC_REPORTS_DIR": str(tmp / "reports"),
                         "MAC_HISTORY_START": history_start, "MAC_SOURCE": "demo"}


@pytest.fixture(scope="module")
def ui(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("ui")
    port = free_port()
    log = open(tmp / "dagster-dev.log", "w")
    proc = subprocess.Popen([DAGSTER, "dev", "-w", "workspace.yaml", "-h", "127.0.0.1", "-p", str(port)],
                            cwd=REPO, env=environment(tmp, "2025-01-01"), stdout=log, stderr=subprocess.STDOUT,
                            start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            try:
                urllib.request.urlopen(f"{base}/server_info", timeout=2)
                break
            except OSError:
                if proc.poll() is not None:
                    pytest.fail(f"dagster dev exited: {(tmp / 'dagster-dev.log').read_text()[-2000:]}")
                time.sleep(1)
        else:
            pytest.fail("dagster dev did not answer within 120 s")
        graphql(base, "mutation { setNuxSeen }")  # dismiss the first-visit community popup
        yield base, tmp
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
        log.close()


def test_the_code_location_loads_without_errors(ui):
    data = graphql(ui[0], """{ workspaceOrError { ... on Workspace { locationEntries { name
        locationOrLoadError { __typename ... on PythonError { message } } } } } }""")
    entries = data["workspaceOrError"]["locationEntries"]
    assert [(e["name"], e["locationOrLoadError"]["__typename"]) for e in entries] == [("mac", "RepositoryLocation")]


def test_every_asset_and_check_is_in_the_ui(ui):
    data = graphql(ui[0], """{ assetNodes { assetKey { path }
        assetChecksOrError { ... on AssetChecks { checks { name } } } } }""")
    nodes = {"/".join(n["assetKey"]["path"]): {c["name"] for c in n["assetChecksOrError"]["checks"]}
             for n in data["assetNodes"]}
    for s in SERIES:
        expected = {"fetch_succeeded", "is_valid", "has_no_gaps"} | ({"freshness_check"} if s.end_date is None else set())
        assert nodes[f"raw/{s.asset_name}"] == expected
    assert nodes["scores/mac_composite"] == {"mac_composite_is_consistent", "mac_composite_is_published"}
    assert "derived/basis_trade_bn" in nodes and "scores/status_changes" in nodes


def test_schedules_and_sensors_are_loaded_and_running(ui):
    data = graphql(ui[0], """{ repositoriesOrError { ... on RepositoryConnection { nodes {
        schedules { name scheduleState { status } } sensors { name sensorState { status } } } } } }""")
    repo = data["repositoriesOrError"]["nodes"][0]
    assert {s["name"]: s["scheduleState"]["status"] for s in repo["schedules"]} == {
        "daily_refresh": "RUNNING", "weekly_cot_refresh": "RUNNING", "quarterly_refresh": "RUNNING",
        "quarterly_review": "RUNNING", "instance_maintenance": "RUNNING"}
    assert {s["name"]: s["sensorState"]["status"] for s in repo["sensors"]} == {
        "freshness_checks_sensor": "RUNNING", "failed_run_alert": "RUNNING", "stale_run_sweeper": "RUNNING"}


@needs_chromium
def test_the_asset_graph_and_a_score_page_render_in_a_browser(ui):
    base, tmp = ui
    graph = browse(f"{base}/assets/scores/mac_composite?view=lineage", tmp, "scores_graph.png")
    # The headline's lineage: both methodologies it is built from, and what reads it downstream.
    for name in ("mac_composite", "mac1_composite", "mac2_readings", "mac2_pillar_scores", "status_changes",
                 "bi_snapshot", "validation_report"):
        assert name in graph, f"{name} missing from the rendered asset graph"
    page = browse(f"{base}/assets/scores/mac_composite", tmp, "mac_composite.png")
    assert "mac_composite" in page and "Market Absorption Capacity" in page
    for shot in ("scores_graph.png", "mac_composite.png"):
        assert (tmp / shot).stat().st_size > 20_000, f"{shot} looks blank"
    print(f"screenshots in {tmp}")


def test_a_cli_partition_range_backfill_is_a_single_run(tmp_path, monkeypatch):
    env = environment(tmp_path, "2025-01-01")
    done = subprocess.run([DAGSTER, "asset", "materialize", "-m", "mac_assets.definitions", "--select", "*",
                           "--partition-range", "2025...2026"], cwd=REPO, env=env, capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    monkeypatch.setenv("DAGSTER_HOME", env["DAGSTER_HOME"])  # dagster.yaml places the storage there
    with DagsterInstance.get() as instance:
        runs = instance.get_runs()
    assert len(runs) == 1 and runs[0].tags["dagster/asset_partition_range_end"] == "2026"
    con = duckdb.connect(env["MAC_DUCKDB_PATH"], read_only=True)
    years = con.execute("select distinct year(date) from scores.mac_composite order by 1").fetchall()
    con.close()
    assert years == [(2025,), (2026,)]

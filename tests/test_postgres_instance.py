"""The Dagster instance on PostgreSQL (deploy/dagster.postgres.yaml), against a real server the tests start.

The team deployment switches the instance by configuration only: the same graph, runs, checks and
retention, on Dagster's own PostgreSQL storage.
"""

import os
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

import pytest
import sqlalchemy
import yaml
from dagster import AssetKey, DagsterInstance
from instance_helpers import run_yearly, started, use_instance_config
from servers import pgbouncer_in_front, postgres_server
from sqlalchemy import text
from sqlalchemy.engine import Engine
from sqlalchemy.pool import Pool

from mac_assets.infra.postgres_storage import DAGSTER_MEMBERS_RELIED_ON, POOL_SIZE, PooledPostgresStorage
from mac_assets.infra.retention import DAY_SECONDS, prune

REPO = Path(__file__).resolve().parent.parent
TEAM_INSTANCE = REPO / "deploy" / "dagster.postgres.yaml"


def test_the_team_instance_differs_from_the_local_one_only_in_its_storage_and_concurrency():
    local, team = (yaml.safe_load(path.read_text()) for path in (REPO / "dagster.yaml", TEAM_INSTANCE))
    assert local.pop("storage") != team.pop("storage")
    assert local.pop("concurrency") == {"runs": {"max_concurrent_runs": 1}, "pools": {"default_limit": 1}}  # one file
    # A lake: four runs at once, the pool enforced per run (a run's steps claim no slots).
    assert team.pop("concurrency") == {"runs": {"max_concurrent_runs": 4},
                                       "pools": {"default_limit": 4, "granularity": "run"}}
    assert team == local
    storage = yaml.safe_load(TEAM_INSTANCE.read_text())["storage"]["custom"]
    assert (storage["module"], storage["class"]) == (PooledPostgresStorage.__module__, PooledPostgresStorage.__name__)
    database = storage["config"]["postgres_db"]
    assert database["scheme"] == "postgresql+psycopg2"  # psycopg 3's NOTIFY fails on every event write
    assert all(set(value) == {"env"} for key, value in database.items() if key != "scheme")  # no secret in the file


@pytest.fixture(scope="module")
def servers():
    """PostgreSQL, and PgBouncer in front of it as the deployment docs say: the DAGSTER_PG_* of each route."""
    with started(postgres_server()) as direct, started(pgbouncer_in_front(direct)) as pooled:
        yield {"direct": direct, "pgbouncer": pooled}


@pytest.fixture(params=["pgbouncer", "direct"])
def team_home(request, tmp_path, monkeypatch, servers):
    server = servers[request.param]
    home = use_instance_config(tmp_path / "dagster_home", monkeypatch, TEAM_INSTANCE)
    for name, value in server.items():
        monkeypatch.setenv(name, value)
    with DagsterInstance.get() as instance:
        instance.wipe()  # each test starts from an empty instance on the shared server
    return home


@pytest.mark.process
def test_runs_checks_and_retention_work_on_postgres(team_home):
    with DagsterInstance.get() as instance:
        assert type(instance.event_log_storage).__name__ == "PooledPostgresEventLogStorage"
        old, new = (run_yearly(instance).run_id for _ in range(2))
        assert instance.get_materialized_partitions(AssetKey("yearly")) == {"2024", "2025", "2026"}

        result = prune(instance, 30, 90, now=time.time() + 40 * DAY_SECONDS)

        assert result.deleted == (old,)
        assert instance.get_run_by_id(old) is None and instance.get_latest_materialization_event(
            AssetKey("yearly")).run_id == new
        with instance.event_log_storage.index_connection() as conn:
            left = conn.execute(text("select count(*) from asset_check_executions where run_id = :r"), {"r": old})
            assert left.scalar() == 0


@pytest.mark.process
@pytest.mark.parametrize("team_home", ["pgbouncer"], indirect=True)
def test_make_run_materializes_the_graph_into_a_postgres_instance(team_home, tmp_path):
    # Last year and this one: enough history for a headline, and the graph's every asset on the team instance.
    env = os.environ | {"MAC_HISTORY_START": f"{date.today().year - 1}-01-01", "MAC_SOURCE": "demo",
                        "MAC_DUCKDB_PATH": str(tmp_path / "mac.duckdb"), "MAC_BI_PATH": str(tmp_path / "mac_bi.duckdb"),
                        "MAC_REPORTS_DIR": str(tmp_path / "reports"), "DAGSTER_EVENT_BATCH_SIZE": "200"}
    done = subprocess.run([sys.executable, "-m", "mac_assets.run"], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "MAC on " in done.stdout
    with DagsterInstance.get() as instance:
        (run,) = instance.get_runs()
        assert run.is_success
        assert instance.get_latest_materialization_event(AssetKey(["scores", "mac_composite"])).run_id == run.run_id
    assert not (team_home / "history").exists()  # nothing went to SQLite files


@pytest.mark.process
@pytest.mark.parametrize("team_home", ["direct"], indirect=True)
def test_a_run_on_the_pooled_storage_opens_a_few_connections_not_one_per_statement(team_home):
    counts = {"connections": 0, "statements": 0}

    def connected(*_):
        counts["connections"] += 1

    def executed(*_):
        counts["statements"] += 1

    with DagsterInstance.get() as instance:
        run_yearly(instance)  # creates the tables first
        sqlalchemy.event.listen(Pool, "connect", connected)
        sqlalchemy.event.listen(Engine, "before_cursor_execute", executed)
        try:
            for _ in range(3):
                assert run_yearly(instance).success
        finally:
            sqlalchemy.event.remove(Pool, "connect", connected)
            sqlalchemy.event.remove(Engine, "before_cursor_execute", executed)
    assert counts["statements"] > 3 * 20, counts  # the runs did talk to PostgreSQL, statement by statement
    assert counts["connections"] <= POOL_SIZE, counts  # the stock storage opens one per statement group


@pytest.mark.process
def test_every_dagster_member_the_pooled_postgres_storage_relies_on_is_still_there(servers, monkeypatch):
    """Fails on a dagster-postgres upgrade that renames or removes one, naming it (the storage reaches into it)."""
    from dagster_postgres import DagsterPostgresStorage
    from dagster_postgres.utils import get_conn_string

    server = servers["direct"]
    url = get_conn_string(server["DAGSTER_PG_USERNAME"], server["DAGSTER_PG_PASSWORD"], server["DAGSTER_PG_HOST"],
                          server["DAGSTER_PG_DB"], server["DAGSTER_PG_PORT"], scheme="postgresql+psycopg2")
    stock = DagsterPostgresStorage(url)
    parts = {}
    try:
        parts = {type(stock): stock, type(stock.run_storage): stock.run_storage,
                 type(stock.event_log_storage): stock.event_log_storage,
                 type(stock.schedule_storage): stock.schedule_storage}
        missing = [f"{cls.__name__}.{name}" for cls, names in DAGSTER_MEMBERS_RELIED_ON.items() for name in names
                   if not hasattr(parts[cls], name)]
        assert missing == [], f"dagster-postgres changed what mac_assets/infra/postgres_storage.py relies on: {missing}"
    finally:
        for part in parts.values():
            if part is not stock:
                part.dispose()

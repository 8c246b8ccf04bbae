"""The warehouse on DuckLake (MAC_DUCKDB_PATH=ducklake:…), against a real PostgreSQL catalog and S3 endpoint.

A team switches the warehouse by configuration only: the same graph writes the same numbers into a
lake whose catalog is PostgreSQL and whose data is Parquet on S3, writers that conflict are retried until
every write lands, and BI tools attach the lake read-only or keep opening the published snapshot file. Whole
runs of the graph on different years at once are tests/test_stack.py's (the same catalog, launched as a team
launches them).
"""

import os
import subprocess
import sys
import threading
import urllib.request
import uuid
from datetime import datetime
from pathlib import Path

import duckdb
import pandas as pd
import pytest
from dagster import DagsterInstance
from graph_helpers import digest, tables
from helpers import before_each_commit
from instance_helpers import started
from servers import create_database, lake_catalog, postgres_server, s3_server

from mac_assets.definitions import build_definitions
from mac_assets.infra import lake, warehouse
from mac_assets.infra.backup import restore
from mac_assets.infra.settings import load_settings
from mac_assets.sources.demo import DemoSource

REPO = Path(__file__).resolve().parent.parent
TEAM_INSTANCE = REPO / "deploy" / "dagster.postgres.yaml"
TABLE = "raw.sample"
# Two years of history (last year and this one) are enough for the team set-up to show it stores what a file does.
FIRST_YEAR = datetime.now().year - 1


def test_a_lake_address_that_holds_a_password_is_refused_and_backups_live_under_the_source():
    with pytest.raises(ValueError, match="PGPASSWORD"):
        load_settings({"MAC_DUCKDB_PATH": "ducklake:postgres:dbname=mac host=db password=secret"})
    with pytest.raises(ValueError, match="names no catalog"):
        load_settings({"MAC_DUCKDB_PATH": "ducklake:"})
    settings = load_settings({"MAC_DUCKDB_PATH": "ducklake:postgres:dbname=mac host=db", "MAC_SOURCE": "live"})
    assert settings.backup_root == Path("data/live/backups/lake")


def test_on_a_lake_the_maintenance_job_also_compacts_and_expires_snapshots(tmp_path):
    on_file = load_settings({"MAC_DUCKDB_PATH": str(tmp_path / "mac.duckdb")})
    on_lake = load_settings({"MAC_DUCKDB_PATH": "ducklake:postgres:dbname=mac host=db", "MAC_LAKE_SNAPSHOT_DAYS": "3"})
    ops = {name: {node.name for node in build_definitions(s, DemoSource()).resolve_job_def(
        "instance_maintenance_job").graph.node_defs} for name, s in (("file", on_file), ("lake", on_lake))}
    assert ops == {"file": {"prune_old_runs"}, "lake": {"prune_old_runs", "maintain_lake"}}
    assert on_lake.lake_snapshot_days == 3


@pytest.fixture(scope="module")
def postgres():
    with started(postgres_server()) as server:
        yield server


@pytest.fixture
def new_lake(postgres, tmp_path, monkeypatch):
    """A lake of its own: a new catalog database and a local data folder."""
    catalog = create_database(postgres, f"lake_{uuid.uuid4().hex[:12]}")
    monkeypatch.setenv("PGPASSWORD", postgres["DAGSTER_PG_PASSWORD"])
    monkeypatch.setenv(lake.DATA_PATH_VARIABLE, str(tmp_path / "lake_data"))
    return lake_catalog(catalog)


def year_frame(year: int, value: float) -> pd.DataFrame:
    dates = pd.date_range(f"{year}-01-01", f"{year}-12-31", freq="B")
    return pd.DataFrame({"date": dates, "series_id": "S", "value": value})


def year_window(year: int) -> tuple[datetime, datetime]:
    return datetime(year, 1, 1), datetime(year + 1, 1, 1)


@pytest.mark.process
def test_writes_and_reads_on_a_lake_are_those_of_a_file(new_lake, tmp_path):
    results = {}
    for name, path in (("file", str(tmp_path / "mac.duckdb")), ("lake", new_lake)):
        warehouse.write_frame(path, TABLE, year_frame(2024, 1.0), year_window(2024))
        warehouse.write_frame(path, TABLE, year_frame(2025, 2.0).assign(extra="x"), year_window(2025))
        warehouse.write_frame(path, TABLE, year_frame(2024, 3.0).head(5), None, upsert_keys=["date", "series_id"])
        results[name] = (warehouse.read_frame(path, TABLE, since=datetime(2024, 1, 1), until=datetime(2026, 1, 1)),
                         warehouse.query(path, f"select extra, count(*) as n from {TABLE} group by 1 order by 1"),
                         warehouse.has_table(path, TABLE), warehouse.has_table(path, "raw.absent"))
    pd.testing.assert_frame_equal(results["file"][0], results["lake"][0])
    pd.testing.assert_frame_equal(results["file"][1], results["lake"][1])
    assert results["file"][2:] == results["lake"][2:] == (True, False)
    assert results["lake"][0]["value"].head(6).tolist() == [3.0] * 5 + [1.0]


@pytest.mark.process
def test_writers_that_conflict_are_retried_until_every_write_lands(new_lake, caplog):
    warehouse.write_frame(new_lake, TABLE, year_frame(2020, 0.0), year_window(2020))
    rounds, years = 8, (2021, 2022)
    barrier, errors = threading.Barrier(len(years)), []

    def writer(year: int) -> None:
        try:
            for value in range(rounds):
                barrier.wait(timeout=60)  # both writers commit to the same table at the same moment
                warehouse.write_frame(new_lake, TABLE, year_frame(year, float(value)), year_window(year))
        except Exception as exc:  # any failure is asserted on below
            errors.append(exc)

    caplog.set_level("INFO", logger=warehouse.__name__)
    threads = [threading.Thread(target=writer, args=(year,)) for year in years]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=300)
    assert errors == []
    stored = warehouse.read_frame(new_lake, TABLE)
    expected = pd.concat([year_frame(2020, 0.0), *(year_frame(y, float(rounds - 1)) for y in years)], ignore_index=True)
    pd.testing.assert_frame_equal(stored.sort_values("date").reset_index(drop=True), expected, check_dtype=False)
    assert any("commit conflicted with another writer" in r.getMessage() for r in caplog.records)


@pytest.fixture
def rival_commit(new_lake, monkeypatch):
    """Makes another writer commit a change to the same table just before each of our next commits."""

    def rival(_con):
        other = lake.open_lake(new_lake, read_only=False, memory_limit="256MB")
        other.execute(f"delete from {TABLE} where date < DATE '2020-02-01'")
        other.close()

    warehouse.write_frame(new_lake, TABLE, year_frame(2020, 0.0), year_window(2020))
    before_each_commit(monkeypatch, rival)
    return new_lake


@pytest.mark.process
def test_a_write_whose_commit_conflicts_is_tried_again_as_a_whole_and_lands(rival_commit, caplog):
    caplog.set_level("INFO", logger=warehouse.__name__)
    warehouse.write_frame(rival_commit, TABLE, year_frame(2020, 1.0), year_window(2020))
    pd.testing.assert_frame_equal(warehouse.read_frame(rival_commit, TABLE), year_frame(2020, 1.0), check_dtype=False)
    assert [r.getMessage() for r in caplog.records] == [
        f"{TABLE}: commit conflicted with another writer (attempt 1); retrying the transaction"]


@pytest.mark.process
def test_a_conflict_that_outlasts_the_retries_names_the_table_and_leaves_it_as_it_was(rival_commit, monkeypatch):
    monkeypatch.setattr(warehouse, "CONFLICT_RETRY_SECONDS", ())
    with pytest.raises(warehouse.StorageError, match=rf"{TABLE}: another writer committed to it first in each of 1 attempts; nothing was written") as err:
        warehouse.write_frame(rival_commit, TABLE, year_frame(2020, 1.0), year_window(2020))
    assert "no transaction is active" not in str(err.value)
    stored = warehouse.read_frame(rival_commit, TABLE)
    assert stored["date"].min() >= pd.Timestamp("2020-02-01") and set(stored["value"]) == {0.0}  # only the rival's


def lake_environment(instance_server: dict, catalog: str, s3: dict, home: Path, tmp: Path) -> dict:
    return {**os.environ, **instance_server, **{k: v for k, v in s3.items() if k != "bucket"},
            "DAGSTER_HOME": str(home), "PGPASSWORD": instance_server["DAGSTER_PG_PASSWORD"],
            "MAC_DUCKDB_PATH": catalog, lake.DATA_PATH_VARIABLE: f"s3://{s3['bucket']}/lake/",
            "MAC_BI_PATH": str(tmp / "mac_bi.duckdb"), "MAC_REPORTS_DIR": str(tmp / "reports"),
            "MAC_BACKUP_DIR": str(tmp / "backups"), "MAC_HISTORY_START": f"{FIRST_YEAR}-01-01", "MAC_SOURCE": "demo",
            "DAGSTER_EVENT_BATCH_SIZE": "200"}


def make_run(env: dict, *years: str) -> subprocess.Popen:
    span = ["--from", years[0], "--to", years[-1]] if years else []
    return subprocess.Popen([sys.executable, "-m", "mac_assets.run", *span], cwd=REPO, env=env, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def finished(process: subprocess.Popen) -> str:
    out, err = process.communicate(timeout=600)
    assert process.returncode == 0, err[-3000:]
    return out


@pytest.fixture(scope="module")
def team(postgres, tmp_path_factory):
    """The whole graph run by `make run` on the PostgreSQL instance into a lake on S3, and the same run into a file."""
    tmp = tmp_path_factory.mktemp("team")
    home = tmp / "dagster_home"
    home.mkdir()
    (home / "dagster.yaml").write_text(TEAM_INSTANCE.read_text())
    catalog = lake_catalog(create_database(postgres, "lake_team"))
    with started(s3_server()) as s3:
        env = lake_environment(postgres, catalog, s3, home, tmp)
        file_env = {k: v for k, v in env.items() if k != "DAGSTER_HOME"} | {
            "MAC_DUCKDB_PATH": str(tmp / "file" / "mac.duckdb"), "MAC_BI_PATH": str(tmp / "file" / "mac_bi.duckdb"),
            "MAC_BACKUP_DIR": str(tmp / "file" / "backups"), "MAC_REPORTS_DIR": str(tmp / "file" / "reports")}
        runs = [make_run(env), make_run(file_env)]  # independent: run side by side
        for process in runs:
            finished(process)
        yield {"env": env, "s3": s3, "catalog": catalog, "tmp": tmp,
               "file_digest": digest(tables(file_env["MAC_DUCKDB_PATH"]))}


@pytest.fixture
def lake_team(team, monkeypatch):
    """The team set-up, with this process given the environment the runs had (catalog, S3, instance)."""
    for name, value in team["env"].items():
        if name.startswith(("PG", "AWS_", "DAGSTER_PG_", "MAC_LAKE_")):
            monkeypatch.setenv(name, value)
    return team


def lake_digest(team: dict) -> dict:
    return digest(tables(team["catalog"]))


@pytest.mark.process
def test_the_graph_on_postgres_and_a_lake_on_s3_stores_what_it_stores_in_a_file(lake_team):
    lake_tables = lake_digest(lake_team)
    assert len(lake_tables) > 60 and lake_tables == lake_team["file_digest"]
    listing = urllib.request.urlopen(f"{lake_team['s3']['AWS_ENDPOINT_URL']}/{lake_team['s3']['bucket']}?prefix=lake/",
                                     timeout=10).read().decode()
    assert listing.count(".parquet</Key>") > 10  # the rows live on S3, the catalog in PostgreSQL
    with DagsterInstance.from_config(str(lake_team["tmp"] / "dagster_home")) as instance:
        assert type(instance.run_storage).__name__ == "PostgresRunStorage" and len(instance.get_run_records()) >= 1


@pytest.mark.process
def test_bi_tools_attach_the_lake_read_only_and_find_the_snapshot_tables(lake_team):
    s3 = lake_team["s3"]
    con = duckdb.connect(config={"extension_directory": str(lake.EXTENSION_DIR)})
    # What README tells a BI tool to run: the extensions, a read-only S3 secret, a read-only attach.
    for name in ("ducklake", "postgres", "httpfs"):
        con.execute(f"load {name}")
    con.execute(f"create secret (type s3, key_id '{s3['AWS_ACCESS_KEY_ID']}', secret '{s3['AWS_SECRET_ACCESS_KEY']}', "
                f"endpoint '{s3['AWS_ENDPOINT_URL'].removeprefix('http://')}', url_style 'path', use_ssl false)")
    con.execute(f"attach '{lake_team['catalog']}' as mac (read_only)")
    in_lake = con.execute("select count(*), max(date) from mac.bi.mac_history").fetchone()
    with pytest.raises(duckdb.Error, match="read-only"):
        con.execute("delete from mac.bi.mac_history")
    snapshot = duckdb.connect(lake_team["env"]["MAC_BI_PATH"], read_only=True)
    assert snapshot.execute("select count(*), max(date) from bi.mac_history").fetchone() == in_lake
    assert in_lake[0] > 250  # more than a year of business days


@pytest.mark.process
def test_maintenance_compacts_the_lake_and_restore_rebuilds_its_raw_history(lake_team):
    before = lake_digest(lake_team)
    with warehouse.connect(lake_team["catalog"]) as con:  # small files of its own, whatever tests ran before
        con.execute("create schema probe")
        con.execute("create table probe.small (n integer)")
        for _ in range(3):  # more rows than DuckLake keeps inline in its catalog: each insert writes a file
            con.execute("insert into probe.small select range from range(1000)")
    done = warehouse.maintain_lake(lake_team["catalog"], keep_days=0)
    assert done["files_merged"] > 0 and done["snapshots_expired"] > 0
    with warehouse.connect(lake_team["catalog"]) as con:
        assert con.execute("select count(*) from probe.small").fetchone()[0] == 3000
        con.execute("drop table probe.small")
        con.execute("drop schema probe")
    assert lake_digest(lake_team) == before  # compaction changes files, never rows

    with warehouse.connect(lake_team["catalog"]) as con:
        con.execute("drop table raw.vix")
    message = restore(lake_team["catalog"], Path(lake_team["env"]["MAC_BACKUP_DIR"]))
    assert "into the lake as snapshot" in message
    assert lake_digest(lake_team) == before

"""The published BI file: documented, readable by DuckDB 1.x, and safe to read while the pipeline runs."""

import hashlib
import json
import subprocess
import sys
import textwrap

import duckdb
import pytest
from graph_helpers import run
from helpers import run_with_other_duckdb, with_other_duckdb

from mac_assets.catalog import PILLARS
from mac_assets.publish.bi import BI_CONTRACT, STORAGE_VERSION, publish

CONSISTENT = " + ".join(f"coalesce({p}_contribution, 0)" for p in PILLARS)

READER = textwrap.dedent(f"""
    import duckdb, json, os, sys, time
    path, stop = sys.argv[1], sys.argv[2]
    reads, errors, inconsistent, published = 0, [], 0, set()
    while not os.path.exists(stop):
        try:
            con = duckdb.connect(path, read_only=True)
            rows, bad = con.execute(
                "select count(*), count(*) filter (where mac is not null and abs(mac - ({CONSISTENT})) > 1e-9) "
                "from bi.mac_history").fetchone()
            published.add(str(con.execute("select published_at from bi.publication").fetchone()[0]))
            con.close()
            reads += 1
            inconsistent += int(bad > 0 or rows == 0)
        except Exception as exc:
            errors.append(f"{{type(exc).__name__}}: {{exc}}"[:300])
        time.sleep(0.01)
    print(json.dumps({{"reads": reads, "errors": errors, "inconsistent": inconsistent,
                       "snapshots_seen": len(published), "duckdb": duckdb.__version__}}))
""")




@pytest.fixture
def published(demo_graph):
    return demo_graph.path, demo_graph.bi


def test_every_published_column_is_documented_in_the_contract_and_in_duckdb(published):
    _, bi = published
    con = duckdb.connect(str(bi), read_only=True)
    columns = con.execute("select table_name, column_name, comment from duckdb_columns() where schema_name = 'bi'").fetchall()
    con.close()
    published_tables = {t for t, _, _ in columns}
    assert published_tables == set(BI_CONTRACT)
    for table, column, comment in columns:
        assert column in BI_CONTRACT[table][1], f"bi.{table}.{column} is published but not in BI_CONTRACT"
        assert comment, f"bi.{table}.{column} has no comment"


def test_history_and_latest_reading_add_up(published):
    _, bi = published
    con = duckdb.connect(str(bi), read_only=True)
    bad = con.execute(f"select count(*) from bi.mac_history where mac is not null and abs(mac - ({CONSISTENT})) > 1e-9").fetchone()[0]
    latest = con.execute("select date, coverage from bi.mac_latest").fetchall()
    last_day = con.execute("select max(date) from bi.mac_history where coverage >= 0.5 and mac is not null").fetchone()[0]
    late = con.execute("select count(*) from bi.indicator_detail where publication_date > date").fetchone()[0]
    freshness = dict(con.execute("select series_id, freshness from bi.series_freshness").fetchall())
    sources = dict(con.execute("select distinct indicator, sources from bi.indicator_detail").fetchall())
    con.close()
    assert bad == 0
    assert latest == [(last_day, latest[0][1])] and latest[0][1] >= 0.5
    assert late == 0  # no value is shown before the day it was published
    assert freshness["IOER"] == "discontinued" and freshness["VIX"] == "stale"  # demo data ends mid-2021 here
    assert sources["vix"] == "cboe" and sources["basis_trade"] == "cftc" and sources["btc_spy_corr"] == "yahoo"


@with_other_duckdb("duckdb1")
def test_a_reader_with_an_older_duckdb_can_open_the_published_file(published):
    _, bi = published
    code = ("import duckdb, sys; con = duckdb.connect(sys.argv[1], read_only=True); "
            "print(duckdb.__version__, con.execute('select count(*) from bi.mac_history').fetchone()[0])")
    out = run_with_other_duckdb("duckdb1", code, str(bi))
    assert out[0].startswith("1.1.") and int(out[1]) > 500  # a BI tool's bundled DuckDB, older than the project's
    assert STORAGE_VERSION.startswith("v1.")


def test_readers_in_other_processes_never_fail_or_see_a_half_written_state_during_a_backfill(published, tmp_path):
    path, bi = published
    stop = tmp_path / "stop"
    reader = subprocess.Popen([sys.executable, "-c", READER, str(bi), str(stop)], stdout=subprocess.PIPE, text=True)
    try:
        for _ in range(2):  # two backfill runs, each publishing a new snapshot while the reader loops
            assert run(path, "2019", "2020").success
    finally:
        stop.touch()
        output, _ = reader.communicate(timeout=60)
    report = json.loads(output)
    print(f"reader report: {report}")
    assert report["errors"] == [] and report["inconsistent"] == 0
    assert report["reads"] > 20 and report["snapshots_seen"] >= 2  # it really read across the swaps


def test_a_failed_publish_keeps_the_previous_snapshot(published, tmp_path):
    _, bi = published
    before = hashlib.sha256(bi.read_bytes()).hexdigest()
    empty = tmp_path / "empty.duckdb"
    duckdb.connect(str(empty)).close()
    with pytest.raises(duckdb.Error):
        publish(str(empty), str(bi), "demo")
    assert hashlib.sha256(bi.read_bytes()).hexdigest() == before
    assert not list(bi.parent.glob(f".{bi.name}.*.tmp"))

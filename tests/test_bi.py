"""The published BI file: documented, readable by DuckDB 1.x, and safe to read while the pipeline runs."""

import hashlib
import json
import subprocess
import sys
import textwrap

import duckdb
import pytest
from helpers import run_with_other_duckdb, with_other_duckdb

from mac_assets.publish.bi import BI_CONTRACT, STORAGE_VERSION, publish
from mac_assets.scores.headline import HEADLINE_VERSION

# Days whose headline differs from the sum of its pillars' contributions (there should be none).
INCONSISTENT = ("select count(*) from bi.mac_history h join (select date, sum(contribution) as total from "
                "bi.pillar_scores group by date) p using (date) where h.mac is not null and abs(h.mac - p.total) > 1e-9")

READER = textwrap.dedent(f"""
    import duckdb, json, os, sys, time
    path, stop = sys.argv[1], sys.argv[2]
    reads, errors, inconsistent, published = 0, [], 0, set()
    while not os.path.exists(stop):
        try:
            con = duckdb.connect(path, read_only=True)
            rows = con.execute("select count(*) from bi.mac_history").fetchone()[0]
            bad = con.execute("{INCONSISTENT}").fetchone()[0]
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
    bad = con.execute(INCONSISTENT).fetchone()[0]
    by_indicator = con.execute("select count(*) from bi.mac_history h join (select date, sum(contribution) as total "
                               "from bi.indicator_detail group by date) i using (date) "
                               "where h.mac is not null and abs(h.mac - i.total) > 1e-9").fetchone()[0]
    latest = con.execute("select date, coverage from bi.mac_latest").fetchall()
    last_day = con.execute("select max(date) from bi.mac_history where coverage >= 0.5 and mac is not null").fetchone()[0]
    late = con.execute("select count(*) from bi.indicator_detail where publication_date > date").fetchone()[0]
    freshness = dict(con.execute("select series_id, freshness from bi.series_freshness").fetchall())
    sources = dict(con.execute("select distinct indicator, sources from bi.indicator_detail").fetchall())
    versions = con.execute("select distinct methodology_version from bi.mac_history").fetchall()
    publication = con.execute("select methodology_version, last_date, demo from bi.publication").fetchone()
    con.close()
    assert bad == 0 and by_indicator == 0  # pillars and indicators each add up to the headline
    assert latest == [(last_day, latest[0][1])] and latest[0][1] >= 0.5
    assert late == 0  # no value is shown before the day it was published
    assert freshness["IOER"] == "discontinued" and freshness["VIX"] == "stale"  # demo data ends mid-2021 here
    assert sources["s_vix"] == "cboe" and sources["s_drawdown"] == "yahoo" and sources["s_hy_oas"] == "fred"
    assert versions == [(HEADLINE_VERSION,)] and publication == (HEADLINE_VERSION, last_day, True)


def test_what_moved_the_headline_on_a_day_is_one_query_on_one_table(published):
    _, bi = published
    con = duckdb.connect(str(bi), read_only=True)
    day, move = con.execute("select date, mac - lag(mac) over (order by date) as move from bi.mac_history "
                            "qualify move is not null order by move limit 1").fetchone()
    drivers = con.execute("select indicator, contribution_change from bi.indicator_detail where date = ? "
                          "order by contribution_change", [day]).fetchall()
    con.close()
    assert move < 0 and sum(change for _, change in drivers) == pytest.approx(move, abs=1e-9)
    assert drivers[0][1] < 0  # the biggest single driver of the fall is named


@with_other_duckdb("duckdb1")
def test_a_reader_with_an_older_duckdb_can_open_the_published_file(published):
    _, bi = published
    code = ("import duckdb, sys; con = duckdb.connect(sys.argv[1], read_only=True); "
            "print(duckdb.__version__, con.execute('select count(*) from bi.mac_history').fetchone()[0])")
    out = run_with_other_duckdb("duckdb1", code, str(bi))
    assert out[0].startswith("1.1.") and int(out[1]) > 500  # a BI tool's bundled DuckDB, older than the project's
    assert STORAGE_VERSION.startswith("v1.")


def test_readers_in_other_processes_never_fail_or_see_a_half_written_state_during_publishes(published, tmp_path):
    path, bi = published
    stop = tmp_path / "stop"
    reader = subprocess.Popen([sys.executable, "-c", READER, str(bi), str(stop)], stdout=subprocess.PIPE, text=True)
    try:
        # Three swaps while the reader loops, as runs' publish steps make them (a run's other steps never touch
        # the snapshot: they write the working file, which readers do not open).
        for _ in range(3):
            publish(str(path), str(bi), "demo")
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

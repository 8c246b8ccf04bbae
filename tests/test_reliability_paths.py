"""Reliability of paths: no path or setting becomes SQL text.

Every configurable path may hold characters that mean something in SQL: a `'` ends a string literal, a
`;` ends a statement, `--` starts a comment. `MAC_DUCKDB_PATH="data/it's here/mac.duckdb"` used to fail
every run at the backup and the snapshot with a parser error. Each path below holds all three.
"""

from __future__ import annotations

import shutil
from datetime import date

import duckdb
import pandas as pd
import pytest
from graph_helpers import tables

from mac_assets.catalog import get_series
from mac_assets.infra import lake, warehouse
from mac_assets.infra.backup import backup_raw, restore, verified
from mac_assets.publish import reports
from mac_assets.publish.bi import _publish_into_lake, publish
from mac_assets.sources.csv_folder import CsvFolderSource

HOSTILE = "it's; here -- x"


@pytest.mark.graph
def test_the_working_file_snapshot_backups_and_reports_may_hold_quote_semicolon_and_comment(demo_graph, tmp_path):
    """Every statement that names a file: the backup's export and read-back, the snapshot's attach, restore."""
    folder = tmp_path / HOSTILE
    folder.mkdir()
    working = folder / "mac.duckdb"
    shutil.copy(demo_graph.path, working)
    bi, backup_root = folder / "bi'; --" / "mac_bi.duckdb", folder / "backups'; --"
    made = backup_raw(str(working), backup_root, keep=2)
    assert verified(made) and made.tables["vix"]["rows"] > 500
    assert publish(str(working), str(bi), "demo")["mac_latest"] == 1
    assert reports.write(folder / "reports'; --" / "mac_report.html", "<html/>").read_text() == "<html/>"

    raw_before = {k: v for k, v in tables(working).items() if k.startswith("raw.")}
    working.write_bytes(b"damaged")
    restore(str(working), backup_root)
    restored = tables(working)
    assert set(restored) == set(raw_before) and all(restored[t].equals(raw_before[t]) for t in raw_before)


def test_a_csv_folder_with_quote_semicolon_and_comment_in_its_path_is_read(tmp_path):
    folder = tmp_path / HOSTILE
    folder.mkdir()
    (folder / "VIX.csv").write_text("date,close\n2021-01-04,22.5\n")
    fetched = CsvFolderSource(directory=str(folder)).fetch(get_series("VIX"), date(2021, 1, 1), date(2021, 2, 1))
    assert fetched.frame["value"].tolist() == [22.5]


def test_a_lake_whose_catalog_and_data_paths_hold_quote_semicolon_and_comment_works(tmp_path, monkeypatch):
    """A DuckLake with a DuckDB-file catalog: written, backed up, restored and given the BI tables."""
    folder = tmp_path / HOSTILE
    folder.mkdir()
    monkeypatch.setenv(lake.DATA_PATH_VARIABLE, str(folder / "data'; --"))
    path = f"{lake.PREFIX}{folder / 'catalog.ducklake'}"
    frame = pd.DataFrame({"date": pd.to_datetime(["2021-01-04", "2021-01-05"]), "value": [1.0, 2.0]})
    warehouse.write_frame(path, "raw.vix", frame, (pd.Timestamp("2021-01-01"), pd.Timestamp("2022-01-01")))
    made = backup_raw(path, folder / "backups'; --", keep=2)
    assert verified(made) and made.tables["vix"]["rows"] == 2

    warehouse.write_frame(path, "raw.vix", frame.assign(value=9.0), None)
    assert "into the lake as snapshot" in restore(path, folder / "backups'; --")
    assert warehouse.read_frame(path, "raw.vix")["value"].tolist() == [1.0, 2.0]

    snapshot = folder / "bi'; --.duckdb"
    con = duckdb.connect(str(snapshot))
    con.execute("create schema bi; create table bi.publication as select 1 as one")
    con.close()
    _publish_into_lake(path, snapshot)
    assert warehouse.query(path, "select one from bi.publication")["one"].tolist() == [1]

"""Reliability of files: no run destroys a file it did not make, mixes sources, or leaves debris; damage is recoverable.

Each case is what an ordinary user can do by accident: point MAC_BI_PATH at the wrong file, open the
snapshot read-write, switch MAC_SOURCE, kill a publish, corrupt the working file.
"""

from __future__ import annotations

import hashlib
import os
import shutil
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import pandas as pd
import pytest
from graph_helpers import run, settings_for, tables
from helpers import before_each_commit, run_with_other_duckdb, with_other_duckdb

from mac_assets.catalog import get_series
from mac_assets.infra import warehouse as storage
from mac_assets.infra.backup import backup_raw, backups, restore, verified
from mac_assets.infra.settings import load_settings
from mac_assets.infra.warehouse import StorageError, write_frame
from mac_assets.publish.bi import _immutable, publish
from mac_assets.sources.base import MalformedPayload, SeriesUnavailable
from mac_assets.sources.csv_folder import CsvFolderSource


@pytest.fixture
def built(demo_graph):
    """The shared demo graph's working file (read only here; a test that writes takes demo_copy)."""
    return demo_graph.path


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


# --- the BI snapshot path ------------------------------------------------------------------------

def test_a_bi_path_equal_to_the_working_file_is_refused_at_load_time(tmp_path):
    with pytest.raises(ValueError, match="is the working file MAC_DUCKDB_PATH"):
        load_settings({"MAC_DUCKDB_PATH": str(tmp_path / "m.duckdb"), "MAC_BI_PATH": str(tmp_path / "./m.duckdb")})


def test_a_folder_as_bi_path_is_refused(tmp_path):
    with pytest.raises(ValueError, match="is a folder"):
        load_settings({"MAC_DUCKDB_PATH": str(tmp_path / "m.duckdb"), "MAC_BI_PATH": str(tmp_path)})


@pytest.mark.parametrize("kind", ["text file", "other duckdb file"])
def test_publishing_never_overwrites_a_file_it_did_not_publish(built, tmp_path, kind):
    target = tmp_path / "precious.duckdb"
    if kind == "text file":
        target.write_text("my notes\n")
    else:
        con = duckdb.connect(str(target))
        con.execute("create table mine as select 42 as answer")
        con.close()
    before = _sha(target)
    with pytest.raises(StorageError, match="refusing to replace it"):
        publish(str(built), str(target), "demo")
    assert _sha(target) == before
    assert [p.name for p in tmp_path.iterdir()] == ["precious.duckdb"]  # and no temp file was left


def test_a_stale_wal_beside_the_snapshot_is_not_replayed_onto_the_next_one(built, tmp_path):
    target = tmp_path / "mac_bi.duckdb"
    publish(str(built), str(target), "demo")
    # An analyst opens a snapshot published writable (by an earlier release) read-write, the DuckDB CLI's
    # default, changes it, and is killed: the change is only in the write-ahead log, which DuckDB would
    # replay on the next open.
    _immutable(target, False)
    target.chmod(0o644)
    wal = target.with_name(target.name + ".wal")
    con = duckdb.connect(str(target))
    con.execute("pragma disable_checkpoint_on_shutdown; set checkpoint_threshold = '1TB'")
    con.execute("update bi.mac_history set mac = 0.01, status = 'breach'")
    con.execute("delete from bi.mac_history where date > '2019-03-01'")
    stolen = Path(str(wal) + ".copy")
    stolen.write_bytes(wal.read_bytes())
    con.close()
    stolen.rename(wal)  # as if the process had died before it could checkpoint
    assert wal.stat().st_size > 0
    publish(str(built), str(target), "demo")
    assert not wal.exists()
    con = duckdb.connect(str(target), read_only=True)
    days, low = con.execute("select count(*), min(mac) from bi.mac_history where mac is not null").fetchone()
    con.close()
    expected = tables(built)["scores.mac_composite"]["mac"].dropna()
    assert days == len(expected) and low == pytest.approx(expected.min())


def test_temporary_files_of_a_killed_publish_are_swept_by_the_next(built, tmp_path):
    target = tmp_path / "mac_bi.duckdb"
    dead_pid = 2**22 + 12345  # above the default pid_max: no process has it
    debris = [tmp_path / f".mac_bi.duckdb.{dead_pid}.tmp", tmp_path / f".mac_bi.duckdb.{dead_pid}.tmp.wal"]
    for path in debris:
        path.write_bytes(b"half a snapshot")
    living = tmp_path / f".mac_bi.duckdb.{os.getppid()}.tmp"  # a publish still running elsewhere
    living.write_bytes(b"in progress")
    publish(str(built), str(target), "demo")
    assert not any(p.exists() for p in debris)
    assert living.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([".mac_bi.duckdb.published", living.name, "mac_bi.duckdb"])


# --- one source per file ----------------------------------------------------------------------------

def test_a_working_file_of_one_source_is_refused_by_a_run_of_another(demo_copy, tmp_path):
    before = tables(demo_copy)
    folder = tmp_path / "csv"
    folder.mkdir()
    settings = settings_for(demo_copy, source="csv", csv_dir=str(folder))
    result = run(demo_copy, "2020", "2020", source=CsvFolderSource(directory=str(folder)), settings=settings)
    assert not result.success
    failures = [e for e in result.all_events if e.is_step_failure]
    error = failures[0].event_specific_data.error
    message = (error.cause or error).message
    assert "holds rows loaded from 'demo'" in message and "this run's source is 'csv'" in message
    assert "data/csv/mac.duckdb" in message
    after = tables(demo_copy)
    assert all(after[t].equals(before[t]) for t in before)


# --- the working file: failed commits, damage, backups ---------------------------------------------------

def test_a_failed_commit_reports_the_table_not_the_rollbacks_own_error(tmp_path, monkeypatch):
    db = str(tmp_path / "m.duckdb")
    window = (datetime(2021, 1, 1, tzinfo=UTC), datetime(2022, 1, 1, tzinfo=UTC))
    frame = pd.DataFrame({"date": pd.to_datetime(["2021-01-04"]), "value": [1.0]})
    write_frame(db, "raw.vix", frame, window)

    def disk_full(con):  # as a full disk or a DuckLake conflict does: the transaction is gone
        con.execute("rollback")
        raise duckdb.TransactionException("TransactionContext Error: Failed to commit: disk full")

    before_each_commit(monkeypatch, disk_full)
    with pytest.raises(StorageError, match=r"raw.vix: write failed and was rolled back: .*disk full"):
        write_frame(db, "raw.vix", frame.assign(value=2.0), window)
    monkeypatch.undo()
    assert storage.read_frame(db, "raw.vix")["value"].tolist() == [1.0]


@pytest.mark.parametrize("damage", ["truncated", "bad block", "bad header"])
def test_a_damaged_working_file_names_the_restore_command_and_restore_brings_raw_history_back(built, tmp_path, damage):
    path = tmp_path / "mac.duckdb"
    path.write_bytes(Path(built).read_bytes())
    raw_before = {k: v for k, v in tables(path).items() if k.startswith("raw.")}
    root = tmp_path / "backups"
    backup_raw(str(path), root, keep=3)
    size = path.stat().st_size
    with open(path, "r+b") as f:
        if damage == "truncated":
            f.truncate(size // 2)
        elif damage == "bad block":
            f.seek(size // 3)
            f.write(os.urandom(size // 3))
        else:
            f.seek(0)
            f.write(os.urandom(4096))
    with pytest.raises(StorageError, match=r"is damaged and cannot be read .*make restore"):
        with storage.connect(str(path)) as con:
            for (name,) in con.execute("select table_schema || '.' || table_name from information_schema.tables").fetchall():
                con.execute(f"select * from {name}").fetchall()
    message = restore(str(path), root)
    assert "Now run `make run`" in message
    assert any(p.name.startswith("mac.duckdb.damaged-") for p in tmp_path.iterdir())  # kept, never deleted
    restored = tables(path)
    assert set(restored) == set(raw_before)
    assert all(restored[t].equals(raw_before[t]) for t in raw_before)


WRITE_WITH_DUCKDB2 = ("import duckdb, sys; con = duckdb.connect(sys.argv[1]); con.execute('create schema raw'); "
                      "con.execute('create table raw.vix as select * from read_parquet(?)', [sys.argv[2]]); "
                      "print(duckdb.__version__, con.execute('select count(*) from raw.vix').fetchone()[0])")


@pytest.mark.process
@with_other_duckdb("duckdb2")
def test_a_working_file_of_the_duckdb_2_build_names_restore_which_rebuilds_it_and_keeps_the_old_file(built, tmp_path):
    root, path = tmp_path / "backups", tmp_path / "mac.duckdb"
    shutil.copy(built, path)
    backup = backup_raw(str(path), root, keep=3)  # Parquet, as the earlier build made them of this working file
    path.unlink()
    written = run_with_other_duckdb("duckdb2", WRITE_WITH_DUCKDB2, str(path), str(backup.path / "raw.vix.parquet"))
    assert written[0].startswith("2.") and int(written[1]) > 100
    with pytest.raises(StorageError, match=r"written by a newer DuckDB .*`make restore`"):
        storage.check_openable(str(path))

    message = restore(str(path), root)

    assert "Now run `make run`" in message
    restored = tables(path)
    raw_before = {k: v for k, v in tables(built).items() if k.startswith("raw.")}
    assert set(restored) == set(raw_before) and all(restored[t].equals(raw_before[t]) for t in raw_before)
    (aside,) = [p for p in tmp_path.iterdir() if p.name.startswith("mac.duckdb.damaged-")]
    reopened = run_with_other_duckdb("duckdb2", "import duckdb, sys; print(duckdb.connect(sys.argv[1], read_only=True)"
                                     ".execute('select count(*) from raw.vix').fetchone()[0])", str(aside))
    assert reopened == [written[1]]  # the old file is kept whole: DuckDB 2.0 still reads it


def test_backups_are_verified_and_kept_n_deep(built, tmp_path):
    root = tmp_path / "backups"
    made = [backup_raw(str(built), root, keep=2) for _ in range(3)]
    kept = backups(root)
    assert [b.path for b in kept] == [made[2].path, made[1].path]
    assert all(verified(b) for b in kept)
    parquet = next(made[2].path.glob("raw.vix.parquet"))
    parquet.write_bytes(parquet.read_bytes()[:-100])  # a damaged backup is not trusted
    assert not verified(backups(root)[0]) and verified(backups(root)[1])


def test_every_run_leaves_a_backup_beside_the_working_file(built):
    [latest, *_] = backups(Path(built).parent / "backups" / "mac")
    assert "vix" in latest.tables and latest.tables["vix"]["rows"] > 500  # business days of 2019 and 2020


# --- the CSV folder says what it ignores -------------------------------------------------------------

def test_csv_file_names_match_ignoring_case_and_near_misses_are_named(tmp_path):
    (tmp_path / "vix.csv").write_text("date,close\n2021-01-04,22.5\n")
    (tmp_path / "DCPF1M.csv").write_text("date,value\n2021-01-04,0.1\n")
    (tmp_path / "SVXY.csv").write_text("date,value\n2021-01-04,300\n")
    folder = CsvFolderSource(directory=str(tmp_path))
    start, end = pd.Timestamp("2021-01-01").date(), pd.Timestamp("2021-02-01").date()
    assert folder.fetch(get_series("VIX"), start, end).frame["value"].tolist() == [22.5]
    with pytest.raises(SeriesUnavailable, match=r"no file DCPF3M.csv .*did you mean DCPF1M.csv"):
        folder.fetch(get_series("DCPF3M"), start, end)
    with pytest.raises(SeriesUnavailable, match=r"no file SVXY_AUM.csv .*did you mean SVXY.csv"):
        folder.fetch(get_series("SVXY_AUM"), start, end)
    ignored = folder.unknown_files()
    assert any(i.startswith("DCPF1M.csv (did you mean DCPF3M.csv") for i in ignored)
    assert any(i.startswith("SVXY.csv (did you mean SVXY_AUM.csv") for i in ignored)


@pytest.mark.parametrize("content, problem", [
    ("date;value\n2021-01-04;22.5\n", "is delimited by semicolons"),
    ("date\tvalue\n2021-01-04\t22.5\n", "is delimited by tabs"),
    ("# exported from the terminal\ndate,value\n2021-01-04,22.5\n", "line 1 is a comment"),
])
def test_csv_files_in_another_shape_get_a_message_that_says_so(tmp_path, content, problem):
    (tmp_path / "VIX.csv").write_text(content)
    with pytest.raises(MalformedPayload, match=problem):
        CsvFolderSource(directory=str(tmp_path)).fetch(get_series("VIX"), pd.Timestamp("2021-01-01").date(),
                                                        pd.Timestamp("2021-02-01").date())


def test_a_link_out_of_the_csv_folder_is_refused(tmp_path):
    outside = tmp_path / "elsewhere.csv"
    outside.write_text("date,value\n2021-01-04,22.5\n")
    folder = tmp_path / "drop"
    folder.mkdir()
    (folder / "VIX.csv").symlink_to(outside)
    with pytest.raises(MalformedPayload, match="outside the folder; refused"):
        CsvFolderSource(directory=str(folder)).fetch(get_series("VIX"), pd.Timestamp("2021-01-01").date(),
                                                      pd.Timestamp("2021-02-01").date())


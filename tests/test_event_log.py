"""The instance's event log (mac_assets/event_log.py): Dagster's SQLite files, written with open connections.

It must stay a drop-in: the same files and records as the stock storage, readable by it, batches
written whole or not at all, and a bounded number of files held open.
"""

import inspect
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from dagster import (
    AssetKey,
    DagsterEventType,
    DagsterInstance,
)
from dagster._core.instance.ref import InstanceRef
from dagster._core.storage.event_log.sqlite.sqlite_event_log import SqliteEventLogStorage
from instance_helpers import run_yearly, use_instance_config, yearly_is_fine

from mac_assets.infra.event_log import (
    DAGSTER_MEMBERS_RELIED_ON,
    OPEN_RUN_FILES,
    PooledSqliteEventLogStorage,
    event_logs_directory,
)

pytestmark = pytest.mark.graph

REPO = Path(__file__).resolve().parent.parent
@pytest.fixture
def home(tmp_path, monkeypatch):
    """A DAGSTER_HOME with the repository's dagster.yaml, the instance users get."""
    return use_instance_config(tmp_path, monkeypatch)


def stock_instance(home: Path, tmp_path: Path) -> DagsterInstance:
    """The same DAGSTER_HOME opened with Dagster's default storage (no dagster.yaml of ours)."""
    (tmp_path / "stock").mkdir()
    (tmp_path / "stock" / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    return DagsterInstance.from_ref(InstanceRef.from_dir(str(home), config_dir=str(tmp_path / "stock")))


def test_the_shipped_instance_keeps_its_event_log_where_dagster_would(home):
    with DagsterInstance.get() as instance:
        storage = instance.event_log_storage
        assert isinstance(storage, PooledSqliteEventLogStorage)
        # Where Dagster's default instance keeps them, so history carries over in both directions.
        assert Path(storage._base_dir) == home / "history" / "runs"
        assert (home / "history" / "runs.db").exists() and (home / "schedules").is_dir()


def test_a_run_written_with_open_connections_reads_the_same_through_dagsters_stock_storage(home, tmp_path):
    with DagsterInstance.get() as instance:
        result = run_yearly(instance)
        assert result.success
        written = [(e.dagster_event_type, e.step_key) for e in instance.all_logs(result.run_id)]
    with stock_instance(home, tmp_path) as stock:
        assert type(stock.event_log_storage).__name__ == "SqliteEventLogStorage"
        read = [(e.dagster_event_type, e.step_key) for e in stock.all_logs(result.run_id)]
        assert read == written
        assert stock.get_materialized_partitions(AssetKey("yearly")) == {"2024", "2025", "2026"}
        (check_key,) = yearly_is_fine.check_keys
        latest = stock.event_log_storage.get_latest_asset_check_execution_by_key([check_key])
        assert latest[check_key].run_id == result.run_id


def test_per_partition_events_reach_the_storage_as_batches(home, monkeypatch):
    batches = []
    original = PooledSqliteEventLogStorage.store_event_batch
    monkeypatch.setattr(PooledSqliteEventLogStorage, "store_event_batch",
                        lambda self, events: (batches.append(sorted(e.dagster_event_type.value for e in events)),
                                              original(self, events))[1])
    with DagsterInstance.get() as instance:
        assert run_yearly(instance).success
    # Three partitions: the run's plan (one per partition, and the check) at creation, then the materializations.
    assert batches == [["ASSET_CHECK_EVALUATION_PLANNED"] + ["ASSET_MATERIALIZATION_PLANNED"] * 3,
                       ["ASSET_MATERIALIZATION"] * 3]


def test_a_batch_that_fails_part_way_stores_none_of_its_events(home, monkeypatch):
    with DagsterInstance.get() as instance:
        run_id = run_yearly(instance).run_id
        storage = instance.event_log_storage
        events = [e for e in instance.all_logs(run_id) if e.dagster_event_type == DagsterEventType.ASSET_MATERIALIZATION]
        before = len(instance.all_logs(run_id))
        calls = []
        original = PooledSqliteEventLogStorage.store_event

        def fail_on_second(self, event):
            calls.append(event)
            if len(calls) == 2:
                raise sqlite3.OperationalError("disk I/O error (injected)")
            original(self, event)

        monkeypatch.setattr(PooledSqliteEventLogStorage, "store_event", fail_on_second)
        with pytest.raises(sqlite3.OperationalError, match="injected"):
            storage.store_event_batch(events)
        monkeypatch.undo()
        assert len(instance.all_logs(run_id)) == before  # the first event of the batch was rolled back too
        storage.store_event_batch(events)  # and the storage is usable afterwards
        assert len(instance.all_logs(run_id)) == before + len(events)


def test_connections_are_in_wal_mode_with_normal_sync(home):
    with DagsterInstance.get() as instance:
        run_id = run_yearly(instance).run_id
        with instance.event_log_storage.run_connection(run_id) as conn:
            journal = conn.exec_driver_sql("PRAGMA journal_mode").scalar()
            synchronous = conn.exec_driver_sql("PRAGMA synchronous").scalar()
    assert (journal, synchronous) == ("wal", 1)  # 1 = NORMAL: no corruption possible in WAL mode


def test_only_the_index_and_the_most_recent_runs_files_stay_open(home):
    with DagsterInstance.get() as instance:
        run_ids = [run_yearly(instance).run_id for _ in range(OPEN_RUN_FILES + 3)]
        storage = instance.event_log_storage
        assert set(storage._engines) == {"index", *run_ids[-OPEN_RUN_FILES:]}
        # A closed file reopens on demand.
        assert len(instance.all_logs(run_ids[0])) > 0


def test_a_process_that_never_disposes_its_instance_leaves_plain_sqlite_files(home):
    script = ("from dagster import DagsterInstance; import instance_helpers as h; "
              "h.run_yearly(DagsterInstance.get())")  # no dispose, no context manager: as a script would
    done = subprocess.run([sys.executable, "-c", script], cwd=Path(__file__).parent, capture_output=True, text=True,
                          env=os.environ | {"DAGSTER_HOME": str(home)}, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    files = sorted(p.name for p in (home / "history" / "runs").iterdir())
    assert "index.db" in files and len(files) == 2, files  # the index and the run, no -wal/-shm left over


def test_every_dagster_member_the_storage_relies_on_is_still_there(tmp_path):
    """Fails on a Dagster upgrade that renames or removes one, naming it (the storage subclasses private classes)."""
    from dagster._core.storage.local_compute_log_manager import LocalComputeLogManager
    from dagster._core.storage.sqlite_storage import DagsterSqliteStorage

    stock = {SqliteEventLogStorage: SqliteEventLogStorage(str(tmp_path / "events")),
             DagsterSqliteStorage: DagsterSqliteStorage.from_local(str(tmp_path / "home")),
             LocalComputeLogManager: LocalComputeLogManager(str(tmp_path / "logs"))}
    missing = [f"{cls.__name__}.{name}" for cls, names in DAGSTER_MEMBERS_RELIED_ON.items() for name in names
               if not hasattr(stock[cls], name)]
    assert missing == [], f"Dagster changed what mac_assets/infra/event_log.py relies on: {missing}"
    assert list(inspect.signature(SqliteEventLogStorage._connect).parameters) == ["self", "shard"]
    assert list(inspect.signature(SqliteEventLogStorage._initdb).parameters)[:2] == ["self", "engine"]
    # The event log lands where Dagster's own SQLite storage puts it.
    stock_dir = stock[DagsterSqliteStorage].event_log_storage._base_dir
    assert Path(stock_dir) == Path(event_logs_directory(str(tmp_path / "home")))
    for storage in (stock[SqliteEventLogStorage], stock[DagsterSqliteStorage]):
        storage.dispose()


def test_a_run_file_another_process_has_open_is_never_unlinked_under_it(home):
    """Retention deletes a run while the webserver reads it. Two storages on one directory stand for the two
    processes: the file locks are per open file, so they conflict within one process as across two."""
    with DagsterInstance.get() as instance:
        storage = instance.event_log_storage
        run_id = run_yearly(instance).run_id
        reader = PooledSqliteEventLogStorage(storage._base_dir)
        try:
            reader._engine(run_id)  # the reader has just opened the file, before its first statement
            storage.delete_events(run_id)
            assert run_id in storage.run_file_ids()  # left for a later prune
            assert reader.get_records_for_run(run_id).records == []  # the reader goes on reading, no error
            reader._release(run_id)  # the reader closes the file (as when it opens newer runs' files)
            assert storage.remove_run_file(run_id) and run_id not in storage.run_file_ids()
            # The reader asks for the deleted run again: an empty log, as for a run it never saw, not an error.
            assert reader.get_records_for_run(run_id).records == []
        finally:
            reader.dispose()

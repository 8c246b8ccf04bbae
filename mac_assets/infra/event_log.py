"""Dagster's SQLite instance storage with the event log's connections kept open: what `dagster.yaml` names.

Why: the stock `SqliteEventLogStorage` builds a new SQLAlchemy engine, opens the SQLite file and
disposes of both for every statement group, up to seven times per event. A run of this graph writes
thousands of events (Dagster records one materialization and one planned event per asset *and*
partition), so that bookkeeping cost more than the whole computation (docs/performance.md).

What differs from the stock storage, and nothing else does:
- one engine per database file, kept open (the index plus the most recent runs' files; older ones
  are closed), so a statement reuses an open connection;
- `synchronous=NORMAL` on those connections. The files are in WAL mode (Dagster sets it), where
  NORMAL cannot corrupt the database; a power cut may lose the last events before it, which only
  makes that run's history incomplete. The data itself lives in DuckDB, which commits on its own.
- a batch of events (Dagster sends per-partition materializations and planned events as batches
  when `DAGSTER_EVENT_BATCH_SIZE` is set in the environment of the process that runs them: the
  Makefile and deploy/ set it for every service) is written
  in one transaction per file instead of one each;
- `has_table` answers from memory once a table was seen (tables are only ever added);
- deleting a run's events (retention, `mac_assets/infra/retention.py`) also removes the run's file once
  no other process has it open. Every engine on a run's file holds a shared `flock` on that file for as
  long as it is open, and the file is unlinked only under an exclusive one: checking that nobody has the
  file open and unlinking it is one step, so a reader (the webserver) that opens the file at that moment
  either keeps it or finds it gone, never loses it under an open connection (SQLite then fails the
  reader's next statement with "disk I/O error").

Runs, schedules, file layout, schema and queries are Dagster's own: `dagster.yaml` points the
`storage` at `$DAGSTER_HOME` exactly as Dagster's default does, and the stock storage reads what
this writes. Dagster exports no public path to its SQLite storages, so this subclasses them from
`dagster._core` and relies on the members in `DAGSTER_MEMBERS_RELIED_ON`; Dagster is pinned to 1.13.x
in pyproject.toml, and tests/test_event_log.py checks every one of those members, so an upgrade that
changes them fails there, naming the member, instead of at run time.
"""

from __future__ import annotations

import atexit
import contextlib
import fcntl
import os
import threading
import weakref
from collections import OrderedDict
from collections.abc import Iterator, Sequence
from contextlib import ExitStack, contextmanager

from dagster._core.storage.event_log.sqlite.sqlite_event_log import INDEX_SHARD_NAME, SqliteEventLogStorage
from dagster._core.storage.local_compute_log_manager import LocalComputeLogManager
from dagster._core.storage.sqlite_storage import DagsterSqliteStorage
from sqlalchemy import create_engine
from sqlalchemy import event as sqlalchemy_event

# Run databases kept open besides the index: a run writes to one; the UI reads a few at a time.
OPEN_RUN_FILES = 8
BUSY_TIMEOUT_SECONDS = 30
# Members of Dagster's SQLite storages this module uses beyond their public interface: methods it calls or
# overrides, and instance attributes it reads or replaces.
DAGSTER_MEMBERS_RELIED_ON = {
    SqliteEventLogStorage: ("_connect", "_initdb", "conn_string_for_shard", "path_for_shard", "delete_events",
                            "has_table", "store_event", "dispose", "_initialized_dbs", "_db_lock", "_base_dir"),
    DagsterSqliteStorage: ("from_local", "_event_log_storage"),
    LocalComputeLogManager: ("_base_dir",),  # retention.remove_orphans lists the runs' compute-log folders
}


def event_logs_directory(base_dir: str) -> str:
    """Where Dagster's SQLite storage keeps the event log under DAGSTER_HOME (its default layout)."""
    return os.path.join(base_dir, "history", "runs", "")


def _set_pragmas(dbapi_connection, _record) -> None:
    dbapi_connection.execute("PRAGMA synchronous=NORMAL")


class PooledSqliteEventLogStorage(SqliteEventLogStorage):
    """`SqliteEventLogStorage` that keeps its SQLite connections open between statements."""

    def __init__(self, base_dir: str, inst_data=None):
        self._engines: OrderedDict[str, object] = OrderedDict()
        self._holds: dict[str, int] = {}  # run id -> descriptor holding the shared lock on its file
        self._known_tables: set[str] = set()
        self._batch = threading.local()
        super().__init__(base_dir, inst_data=inst_data)
        # Re-entrant: a batch holds the lock while each of its events opens its (already open) files.
        self._db_lock = threading.RLock()
        alive = weakref.ref(self)  # the hooks must not keep a disposed storage alive
        os.register_at_fork(after_in_child=lambda: (storage := alive()) and storage._forget_engines())
        # Closing the last connection folds SQLite's write-ahead log back into each file, so a process
        # that never disposes of its instance still leaves plain .db files behind (safe to copy alone).
        atexit.register(lambda: (storage := alive()) and storage._close_engines())

    def _engine(self, shard: str):
        engine = self._engines.get(shard)
        if engine is not None:
            self._engines.move_to_end(shard)
            return engine
        if shard != INDEX_SHARD_NAME:
            self._holds[shard] = self._hold(self.path_for_shard(shard))
            if not os.fstat(self._holds[shard]).st_size:  # new, or a deleted run's opened again: no tables yet
                self._initialized_dbs.discard(shard)
        engine = create_engine(self.conn_string_for_shard(shard), connect_args={"timeout": BUSY_TIMEOUT_SECONDS},
                               pool_size=1, max_overflow=4)
        sqlalchemy_event.listen(engine, "connect", _set_pragmas)
        self._engines[shard] = engine
        runs = [s for s in self._engines if s != INDEX_SHARD_NAME]
        for old in runs[:-OPEN_RUN_FILES]:
            self._release(old)
        return engine

    @staticmethod
    def _hold(path: str) -> int:
        """A descriptor on the run file at `path` (created if missing, as SQLite would) under a shared lock.

        A file unlinked between opening and locking was a deleted run's: open the path again, which
        gives the empty file SQLite would have created."""
        while True:
            fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
            fcntl.flock(fd, fcntl.LOCK_SH)  # waits only while a deleter unlinks the file
            if os.fstat(fd).st_nlink:
                return fd
            os.close(fd)

    def _release(self, shard: str) -> None:
        """Close this process's engine on a file, then its lock: connections first, so none outlives the lock."""
        engine = self._engines.pop(shard, None)
        if engine is not None:
            engine.dispose()
        fd = self._holds.pop(shard, None)
        if fd is not None:
            os.close(fd)

    @contextmanager
    def _connect(self, shard: str) -> Iterator:
        open_batch = getattr(self._batch, "connections", None)
        if open_batch is not None:  # inside store_event_batch: join the batch's transaction on this file
            if shard not in open_batch:
                open_batch[shard] = self._batch.stack.enter_context(self._transaction(shard))
            yield open_batch[shard]
            return
        with self._transaction(shard) as conn:
            yield conn

    @contextmanager
    def _transaction(self, shard: str) -> Iterator:
        with self._db_lock:
            engine = self._engine(shard)
            if shard not in self._initialized_dbs:
                self._initdb(engine)
                self._initialized_dbs.add(shard)
            with engine.connect() as conn, conn.begin():
                yield conn

    def store_event_batch(self, events: Sequence) -> None:
        """All events of the batch in one transaction per file; on any error none of them is stored."""
        self._batch.connections = {}
        try:
            with self._db_lock, ExitStack() as stack:
                self._batch.stack = stack
                for event in events:
                    self.store_event(event)
        finally:
            self._batch.connections = None
            self._batch.stack = None

    def delete_events(self, run_id: str) -> None:
        """Dagster's deletion, then the run's own file: the stock storage leaves an emptied file behind."""
        super().delete_events(run_id)
        self.remove_run_file(run_id)

    def remove_run_file(self, run_id: str) -> bool:
        """Unlink the file of a deleted run, unless another process still has it open; True if it is gone.

        Another process of this deployment that has the file open holds a shared lock on it, so the
        exclusive lock is refused and the file is left for a later prune (`run_file_ids` lists what is
        on disk). A -wal or -shm beside the file means a process that does not take the lock (a stock
        Dagster storage) has it open: SQLite removes both when a file's last connection closes.
        """
        with self._db_lock:
            self._release(run_id)
            path = self.path_for_shard(run_id)
            try:
                fd = os.open(path, os.O_RDWR)
            except FileNotFoundError:
                return True
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                if any(os.path.exists(f"{path}{suffix}") for suffix in ("-wal", "-shm")):
                    return False
                with contextlib.suppress(FileNotFoundError):
                    os.remove(path)
                return True
            except BlockingIOError:
                return False
            finally:
                os.close(fd)  # after the unlink: a reader waiting for its shared lock then sees the file gone

    def run_file_ids(self) -> set[str]:
        """Run ids that have a file in the event-log directory."""
        return {name[:-3] for name in os.listdir(self._base_dir)
                if name.endswith(".db") and name[:-3] != INDEX_SHARD_NAME}

    def has_table(self, table_name: str) -> bool:
        if table_name not in self._known_tables and super().has_table(table_name):
            self._known_tables.add(table_name)
        return table_name in self._known_tables

    def _forget_engines(self) -> None:
        """A forked child must not share the parent's SQLite connections: it opens its own. Closing its copies of
        the lock descriptors leaves the parent's locks alone (only an unlock or the last copy closed ends one)."""
        self._engines = OrderedDict()
        for fd in self._holds.values():
            os.close(fd)
        self._holds = {}

    def _close_engines(self) -> None:
        for shard in list(self._engines):
            self._release(shard)

    def dispose(self) -> None:
        super().dispose()
        self._close_engines()


class PooledSqliteStorage(DagsterSqliteStorage):
    """Dagster's SQLite storage (runs, schedules, event log under `base_dir`) with the pooled event log.

    Configured as `storage: custom:` with `base_dir: {env: DAGSTER_HOME}`, Dagster's own idiom for
    its SQLite storage, so the files land where the default instance keeps them.
    """

    def __init__(self, base_dir: str, inst_data=None):
        super().__init__(base_dir, inst_data=inst_data)
        self._event_log_storage = PooledSqliteEventLogStorage(event_logs_directory(base_dir))

    @classmethod
    def from_config_value(cls, inst_data, config_value):
        return cls.from_local(inst_data=inst_data, **config_value)

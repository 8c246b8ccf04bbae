"""Dagster's PostgreSQL instance storage with pooled connections: what `deploy/dagster.postgres.yaml` names.

Why: dagster-postgres builds the engines of its run, event-log and schedule storages with SQLAlchemy's
`NullPool`, so every group of statements opens a new connection, authenticates it (SCRAM: a key
derivation on both ends) and closes it again. A run writes thousands of events and each costs
several of those, which made the PostgreSQL instance several times slower than the local SQLite one
(docs/performance.md). Only the webserver switches to a pool (`optimize_for_webserver`); the daemon,
the code server and the processes that execute runs never do.

What differs from the stock storage, and nothing else does:
- one engine per process, shared by the three storages, keeps its connections open between
  statements (a few; more are opened while threads overlap and closed again when returned), so a
  process authenticates a handful of times instead of once per statement group. Connections older
  than `RECYCLE_SECONDS` are replaced, and a connection the server dropped is discarded by SQLAlchemy
  on the first error (that one statement fails, as it would with a new connection to a server that
  is down); a forked child opens its own.
- `has_table`, and the check for a column of `asset_keys` that Dagster makes before indexing each asset
  event, answer from memory once the table or column was seen (both are only ever added), instead of a
  catalog query each time.

Schema, queries, NOTIFY and the webserver's own pool are dagster-postgres's. Dagster exports no public
way to pass an engine in, so this replaces the storages' `_engine` and relies on the members in
`DAGSTER_MEMBERS_RELIED_ON`; dagster-postgres is pinned to 0.29.x in pyproject.toml, and
tests/test_postgres_instance.py checks each member, so an upgrade that changes them fails there,
naming the member, instead of at run time.

A module of its own beside `event_log.py` (the pooled SQLite storage), imported only by an instance file
that names it: every local process loads `event_log.py`, and it need not import dagster-postgres.
"""

from __future__ import annotations

import os
import weakref

from dagster_postgres import DagsterPostgresStorage
from dagster_postgres.event_log import PostgresEventLogStorage
from dagster_postgres.run_storage import PostgresRunStorage
from dagster_postgres.schedule_storage import PostgresScheduleStorage
from dagster_postgres.utils import create_pg_engine, get_token_provider_from_config, pg_url_from_config

# Connections a process keeps open: the daemon's threads (scheduler, sensors, queue, monitoring, backfills)
# and a run's event writer with its readers overlap at times; beyond this, extra ones close when returned.
POOL_SIZE = 4
MAX_OVERFLOW = 16
RECYCLE_SECONDS = 3600  # as the webserver's pool (dagster-webserver --db-pool-recycle)
# Members of dagster-postgres this module uses beyond their public interface.
DAGSTER_MEMBERS_RELIED_ON = {
    DagsterPostgresStorage: ("_run_storage", "_event_log_storage", "_schedule_storage", "postgres_url"),
    PostgresRunStorage: ("_engine",),
    PostgresEventLogStorage: ("_engine", "has_table", "_has_asset_key_col_on_connection"),
    PostgresScheduleStorage: ("_engine",),
}


def pooled_engine(postgres_url: str, token_provider=None):
    """An autocommit engine (dagster-postgres's isolation) that keeps up to POOL_SIZE connections open."""
    engine = create_pg_engine(postgres_url, token_provider, isolation_level="AUTOCOMMIT", pool_size=POOL_SIZE,
                              max_overflow=MAX_OVERFLOW, pool_recycle=RECYCLE_SECONDS)
    alive = weakref.ref(engine)  # the hook must not keep a disposed engine alive
    # A forked child must not talk over the parent's sockets: it forgets them (without closing the
    # parent's) and opens its own.
    os.register_at_fork(after_in_child=lambda: (e := alive()) and e.dispose(close=False))
    return engine


class PooledPostgresEventLogStorage(PostgresEventLogStorage):
    """`PostgresEventLogStorage` that remembers the tables and `asset_keys` columns it has seen."""

    def __init__(self, *args, **kwargs):
        self._known_tables: set[str] = set()
        self._known_asset_key_columns: set[str] = set()
        super().__init__(*args, **kwargs)

    def has_table(self, table_name: str) -> bool:
        if table_name not in self._known_tables and super().has_table(table_name):
            self._known_tables.add(table_name)
        return table_name in self._known_tables

    def _has_asset_key_col_on_connection(self, conn, column_name: str) -> bool:
        """Dagster inspects the table's columns before each asset event is indexed; a column, once there, stays."""
        if (column_name not in self._known_asset_key_columns
                and super()._has_asset_key_col_on_connection(conn, column_name)):
            self._known_asset_key_columns.add(column_name)
        return column_name in self._known_asset_key_columns

    def dispose(self) -> None:
        """Also closes the process's pooled connections: Dagster disposes of an instance's run and event-log
        storages (not of the storage holding them), and the event log is the last of the two."""
        super().dispose()
        self._engine.dispose()


class PooledPostgresStorage(DagsterPostgresStorage):
    """Dagster's PostgreSQL storage (runs, event log, schedules) on one pooled engine per process.

    Configured as `storage: custom:` with the same `postgres_db` (or `postgres_url`) block as
    `storage: postgres:`, so the instance file keeps reading its settings from the environment.
    """

    def __init__(self, postgres_url: str, should_autocreate_tables: bool = True, inst_data=None,
                 token_provider=None):
        super().__init__(postgres_url, should_autocreate_tables, inst_data=inst_data, token_provider=token_provider)
        self._event_log_storage.dispose()
        self._event_log_storage = PooledPostgresEventLogStorage(postgres_url, should_autocreate_tables,
                                                                token_provider=token_provider)
        engine = pooled_engine(postgres_url, token_provider)
        for storage in (self._run_storage, self._event_log_storage, self._schedule_storage):
            storage._engine.dispose()
            storage._engine = engine

    @classmethod
    def from_config_value(cls, inst_data, config_value):
        return cls(pg_url_from_config(config_value), config_value.get("should_autocreate_tables", True),
                   inst_data=inst_data, token_provider=get_token_provider_from_config(config_value))

"""The DuckDB warehouse, without Dagster: atomic, column-name-safe writes, window reads, clear errors.

Every write is one transaction (delete the window or the upserted keys, insert BY NAME, commit): a
failed write leaves the table as it was, new columns are added instead of failing, and a reordered
column list cannot shift values between columns. Tables live at `<schema>.<table>`; every table has a
`date` column. Errors say what is wrong with the file and what to do: who holds its lock, or which
command restores a damaged file. `infra/io_manager.py` is the Dagster side of the same file.

`path` is a DuckDB file or, for a team, a DuckLake (`ducklake:<catalog>`, `infra/lake.py`): the same
functions and SQL serve both. A lake has concurrent writers, so a write whose commit conflicts with
another's is retried from the start, as a whole transaction (`CONFLICT_RETRY_SECONDS`).
"""

from __future__ import annotations

import fcntl
import logging
import os
import random
import re
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, datetime
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd

from mac_assets.infra import lake

logger = logging.getLogger(__name__)

DATE_COLUMN = "date"
# Pauses while another process holds DuckDB's lock (half a minute in all), then the explained error.
LOCK_RETRY_SECONDS = (0.2, 0.5, 1, 2, 4, 8, 15)
# Pauses (each stretched by up to half at random, so two writers do not collide again in step) before a
# write whose commit conflicted with another writer's on a lake is tried again; then the StorageError.
CONFLICT_RETRY_SECONDS = (0.05, 0.1, 0.2, 0.5, 1, 2, 4, 8)


class StorageError(RuntimeError):
    """A write or read that could not be done; the message names the table and the reason."""


# Databases this process holds open for the length of a run (see `hold_open`), by resolved path.
_HELD: dict[str, list] = {}
# Lakes whose object storage stopped answering during this run, with DuckDB's words: every later statement
# on them fails at once instead of waiting out its own timeouts, step after step (reset by `hold_open`).
_DOWN: dict[str, str] = {}
# How DuckDB's httpfs reports a request that got no answer at all (a timeout, a refused connection), as
# opposed to an answer with an error status.
_NO_ANSWER = re.compile(r"error for HTTP [A-Z]+ to '")
# Working-file locks this process holds (see `lock`): resolved path → [open lock file, count].
_LOCKED: dict[str, list] = {}


def _key(path: str) -> str:
    return path if lake.is_lake(path) else str(Path(path).resolve())


def lock_file(path: str) -> Path:
    """The hidden file beside a working file whose lock a run or a restore holds."""
    return Path(path).with_name(f".{Path(path).name}.lock")


def acquire(path: str, purpose: str) -> None:
    """Take the working file's lock for `purpose` ('make run', 'make restore', 'a run'), or raise naming its holder.

    DuckDB's own lock covers a file only while it is open, and not its swap by `make restore` or its
    creation: one lock file beside it, held for a whole run or restore (an advisory `flock`, which
    the kernel releases when its process dies, so a killed run never blocks the next one), makes them
    wait for no one and exclude each other. Nested acquisitions in one process are counted. A lake
    takes concurrent writers and has no lock.
    """
    if lake.is_lake(path):
        return
    entry = _LOCKED.get(_key(path))
    if entry:
        entry[1] += 1
        return
    file = lock_file(path)
    file.parent.mkdir(parents=True, exist_ok=True)
    handle = open(file, "a+")
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.seek(0)
        holder = handle.read().strip()
        handle.close()
        raise StorageError(f"{path} is in use by {holder or 'another process'}: wait for it to finish or stop it "
                           "(a run and `make restore` never share the working file; BI tools read the snapshot, "
                           "MAC_BI_PATH)") from None
    handle.seek(0)
    handle.truncate()
    handle.write(f"process {os.getpid()} ({purpose}: {_command(os.getpid())}, since "
                 f"{datetime.now().astimezone():%Y-%m-%d %H:%M:%S %Z})")
    handle.flush()
    _LOCKED[_key(path)] = [handle, 1]


def _count_down(held: dict[str, list], path: str) -> bool:
    """One hold of `path` fewer; at none, its connection or lock file is closed and forgotten (True then)."""
    entry = held.get(_key(path))
    if not entry:
        return False
    entry[1] -= 1
    if entry[1] > 0:
        return False
    entry[0].close()  # closing a lock file releases its lock
    del held[_key(path)]
    return True


def unlock(path: str) -> None:
    _count_down(_LOCKED, path)


@contextmanager
def locked(path: str, purpose: str) -> Iterator[None]:
    acquire(path, purpose)
    try:
        yield
    finally:
        unlock(path)


def hold_open(path: str, before_open=None) -> None:
    """Take the working file's lock and keep one read-write connection to `path` open until `release`
    (nested holds are counted); `before_open()` runs under the lock, before the file is opened (or created).

    Opening a DuckDB file loads its catalog; while one connection is open, further connections in the
    process share the open database and cost almost nothing. A run opens hundreds (every
    input read, every write, every check query), so the IO manager holds the file for the run.
    """
    entry = _HELD.get(_key(path))
    if entry:
        entry[1] += 1
        return
    acquire(path, "a run")
    try:
        if before_open is not None:
            before_open()
        _DOWN.pop(_key(path), None)  # a new run asks its object storage afresh
        _HELD[_key(path)] = [_open(path, read_only=False), 1]
    except BaseException:
        unlock(path)
        raise


def release(path: str) -> None:
    if _count_down(_HELD, path):
        unlock(path)


def is_held(path: str) -> bool:
    return _key(path) in _HELD


@contextmanager
def connect(path: str, read_only: bool = False) -> Iterator[duckdb.DuckDBPyConnection]:
    """Open the database, retrying while another process holds DuckDB's single-writer lock.

    While this process holds the file open (`hold_open`), every connection is read-write: DuckDB refuses
    a read-only connection to a file the same process has open for writing. Readers still only read.
    """
    if _key(path) in _DOWN:
        raise StorageError(f"{path}: not tried, its object storage stopped answering earlier in this run "
                           f"({_DOWN[_key(path)]})")
    held = _HELD.get(_key(path))
    if held and lake.is_lake(path):  # an in-memory database per connection: share the run's attached lake
        con = lake.use(held[0])
    else:
        con = _open(path, read_only=read_only and not held)
    try:
        yield con
    except Exception as exc:
        said = stopped_answering(exc) if lake.is_lake(path) else None
        if said:
            _DOWN[_key(path)] = said
            raise StorageError(f"{path}: its object storage did not answer ({said}; each request waits at most "
                               f"{lake.TIMEOUT_VARIABLE}); the rest of this run's steps fail at once instead of waiting "
                               "in turn. Check the endpoint (AWS_ENDPOINT_URL) and run again.") from exc
        if isinstance(exc, duckdb.Error) and _is_damage(exc):  # found reading a block, not opening: same advice
            raise explain(path, exc) from exc
        raise
    finally:
        con.close()


def stopped_answering(exc: BaseException | None) -> str:
    """DuckDB's first line when `exc`, or an error behind it, is a request to object storage that got no answer."""
    while exc is not None:
        if isinstance(exc, duckdb.Error) and _NO_ANSWER.search(str(exc)):
            return str(exc).splitlines()[0]
        exc = exc.__cause__ or exc.__context__
    return ""


def _open(path: str, read_only: bool, retry: bool = True) -> duckdb.DuckDBPyConnection:
    if lake.is_lake(path):
        try:
            return lake.open_lake(path, read_only, MEMORY_LIMIT)
        except duckdb.Error as exc:
            raise StorageError(f"cannot attach the DuckLake {path}: {str(exc).splitlines()[0]}") from exc
    if not read_only:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
    pauses = (*LOCK_RETRY_SECONDS, None) if retry else (None,)
    for pause in pauses:
        try:
            return duckdb.connect(path, read_only=read_only, config={"memory_limit": MEMORY_LIMIT})
        except duckdb.Error as exc:
            if pause is None or not is_lock(exc):
                raise explain(path, exc) from exc
            time.sleep(pause)


# DuckDB's own operators (the BI snapshot's joins and aggregates over every score row) may take up to
# 80 % of the machine's memory by default; bounded, they spill to disk instead, and a run of any
# history length stays within its memory budget (docs/performance.md).
MEMORY_LIMIT = "256MB"
RESTORE_COMMAND = "make restore"
_CORRUPT = ("corrupt", "not a valid duckdb database", "could not read enough bytes", "checksum")


def _is_damage(exc: BaseException) -> bool:
    return any(marker in str(exc).lower() for marker in _CORRUPT)


def is_lock(exc: BaseException) -> bool:
    return "conflicting lock" in str(exc).lower() or "could not set lock" in str(exc).lower()


def explain(path: str, exc: BaseException) -> StorageError:
    """A StorageError that says what is wrong with the file and what to do, in one sentence each."""
    text = str(exc)
    if is_lock(exc):
        match = re.search(r"PID (\d+)", text)
        holder = f"process {match.group(1)} ({_command(int(match.group(1)))})" if match else "another process"
        return StorageError(f"{path} is held open by {holder}. DuckDB lets one process at a time open it for "
                            "writing: wait for that process or stop it. BI tools and notebooks read the published "
                            "snapshot (MAC_BI_PATH), never the working file.")
    if "newer version of duckdb" in text.lower():
        return StorageError(f"{path} was written by a newer DuckDB than this one ({duckdb.__version__}, pinned for "
                            f"DuckLake; mac-assets before it used DuckDB 2.0). Rebuild it from the raw backups, which "
                            f"are Parquet and read by any version: `{RESTORE_COMMAND}` moves the file aside (kept) and "
                            "restores raw history, then `make run` rebuilds everything else.")
    if _is_damage(exc):
        return StorageError(f"{path} is damaged and cannot be read ({text.splitlines()[0]}). Raw history is backed "
                            f"up after every successful run: restore it with `{RESTORE_COMMAND}` (python -m mac_assets.restore), "
                            "then `make run` rebuilds everything else.")
    return StorageError(f"cannot open DuckDB file {path}: {text}")


def alive(pid: int) -> bool:
    """Whether a process with this id runs on this host (another user's counts)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _command(pid: int) -> str:
    """A process's command line, shortened, for error messages."""
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            words = [w.decode(errors="replace") for w in f.read().split(b"\0") if w]
    except OSError:
        return "command unknown"
    return " ".join(Path(words[0]).name if i == 0 else w for i, w in enumerate(words))[:120] or "command unknown"


def check_openable(path: str) -> None:
    """Open and close the working file (or attach the lake) once, without waiting: raises the explained StorageError."""
    if lake.is_lake(path) or Path(path).exists():
        _open(path, read_only=False, retry=False).close()


def _sql_type(name: str, dtype) -> str:
    if pd.api.types.is_datetime64_any_dtype(dtype):
        return "DATE" if name.endswith("date") else "TIMESTAMP"
    if pd.api.types.is_bool_dtype(dtype):
        return "BOOLEAN"
    if pd.api.types.is_integer_dtype(dtype):
        return "BIGINT"
    if pd.api.types.is_float_dtype(dtype):
        return "DOUBLE"
    return "VARCHAR"


def column_types(con: duckdb.DuckDBPyConnection, table: str) -> dict[str, str]:
    """The table's columns and their DuckDB types, in order; empty when it does not exist.

    duckdb_columns() of the current database rather than information_schema, which grows slow with the
    number of tables; no error is raised for a missing table, since that would abort a transaction.
    """
    schema, name = table.split(".")
    return dict(con.execute(
        "select column_name, data_type from duckdb_columns() where database_name = current_database() "
        "and schema_name = ? and table_name = ? order by column_index", [schema, name]).fetchall())


def existing_columns(con: duckdb.DuckDBPyConnection, table: str) -> list[str] | None:
    """The table's columns in order, or None when it does not exist."""
    return list(column_types(con, table)) or None


def write_frame(
    path: str, table: str, frame: pd.DataFrame, window: tuple[datetime, datetime] | None,
    upsert_keys: list[str] | None = None, keep_replaced: list[str] | None = None,
) -> date | None:
    """Replace the rows of `window` (or the whole table when None) with `frame`, atomically.

    With `upsert_keys` the write is append-only instead: only stored rows whose keys appear in `frame`
    are replaced, so history a provider no longer returns (a shortened window, a failed fetch that
    yields no rows) is never deleted. Raw tables are written this way, with `keep_replaced` (their
    value columns): a stored row whose values the new one changes is first copied, in the same
    transaction, to `revisions.<table>` with the time it was replaced, so a revision leaves a trace.

    Raises StorageError, with the table named, when the frame has no `date` column or holds dates
    outside the window (they would survive the next re-run as duplicates). On any failure the
    transaction rolls back and the table keeps its previous rows. Returns the newest date in the table.
    """
    if DATE_COLUMN not in frame.columns:
        raise StorageError(f"{table}: frame has no '{DATE_COLUMN}' column (columns: {list(frame.columns)})")
    dates = pd.to_datetime(frame[DATE_COLUMN])
    if window is not None and len(frame):
        start, end = (pd.Timestamp(w).tz_localize(None) for w in window)
        outside = frame[(dates < start) | (dates >= end)]
        if len(outside):
            raise StorageError(
                f"{table}: {len(outside)} rows fall outside the partition window {start.date()}..{end.date()} "
                f"(first: {pd.Timestamp(outside[DATE_COLUMN].iloc[0]).date()})"
            )
    return retrying_conflicts(path, table, lambda: _replace(path, table, frame, window, upsert_keys, keep_replaced))


def retrying_conflicts(path: str, what: str, attempt):
    """`attempt()` (one whole transaction), tried again after a pause while a lake's commit conflicts.

    `attempt` raises StorageError from the database's error; only a conflict is retried, and only on a
    lake (a DuckDB file has one writer).
    """
    pauses = (*CONFLICT_RETRY_SECONDS, None) if lake.is_lake(path) else (None,)
    for number, pause in enumerate(pauses, start=1):
        try:
            return attempt()
        except StorageError as exc:
            if not lake.is_conflict(exc.__cause__):
                raise
            if pause is None:
                raise StorageError(f"{what}: another writer committed to it first in each of {number} attempts; nothing was "
                                   f"written (rolled back). Run again, or run fewer at once: {exc.__cause__}") from exc
            logger.warning(f"{what}: commit conflicted with another writer (attempt {number}); retrying the transaction")
            time.sleep(pause * (1 + random.random() / 2))


def _replace(path: str, table: str, frame: pd.DataFrame, window, upsert_keys, keep_replaced) -> date | None:
    """One attempt at `write_frame`'s transaction."""
    schema = table.split(".")[0]
    with connect(path) as con:
        try:
            with transaction(con):
                con.execute(f"create schema if not exists {schema}")
                existing = existing_columns(con, table)
                if existing is None:
                    cols = ", ".join(f'"{c}" {_sql_type(c, frame[c].dtype)}' for c in frame.columns)
                    con.execute(f"create table {table} ({cols})")
                else:
                    for c in frame.columns:
                        if c not in existing:
                            con.execute(f'alter table {table} add column "{c}" {_sql_type(c, frame[c].dtype)}')
                con.register("incoming_frame", frame)
                if upsert_keys:
                    # A key may be missing (a version start on a source without versions): missing matches missing.
                    match = " and ".join(
                        f'cast(i."{k}" as date) = t."{k}"' if k == DATE_COLUMN else f'i."{k}" is not distinct from t."{k}"'
                        for k in upsert_keys
                    )
                    if keep_replaced and existing is not None:
                        changed = " or ".join(f't."{c}" is distinct from i."{c}"' for c in keep_replaced)
                        replaced = f"from {table} t join incoming_frame i on {match} where {changed}"
                        if con.execute(f"select count(*) {replaced}").fetchone()[0]:  # no empty audit tables
                            kept = _audit_table(con, table, REVISIONS, {"revised_at": "timestamp"})
                            con.execute(f"insert into {kept} by name select t.*, {UTC_NOW} as revised_at {replaced}")
                    con.execute(f"delete from {table} t where exists (select 1 from incoming_frame i where {match})")
                elif window is None:
                    con.execute(f"delete from {table}")
                else:
                    con.execute(
                        f'delete from {table} where "{DATE_COLUMN}" >= ? and "{DATE_COLUMN}" < ?',
                        [window[0].date(), window[1].date()],
                    )
                con.execute(f"insert into {table} by name select * from incoming_frame")
                con.unregister("incoming_frame")
                newest = con.execute(f'select max("{DATE_COLUMN}") from {table}').fetchone()[0]
        except Exception as exc:
            if _is_damage(exc):
                raise explain(path, exc) from exc
            raise StorageError(f"{table}: write failed and was rolled back: {exc}") from exc
    return newest


# Schemas beside `raw` that keep raw rows taken out of it: replaced by a revision, or quarantined.
REVISIONS = "revisions"
QUARANTINE = "quarantine"
AUDIT_SCHEMAS = (QUARANTINE, REVISIONS)
UTC_NOW = "timezone('UTC', now())"


def _audit_table(con: duckdb.DuckDBPyConnection, table: str, schema: str, extra: dict[str, str]) -> str:
    """`<schema>.<name>` holding `table`'s columns plus `extra` (name → type), created or widened as needed."""
    kept = f"{schema}.{table.split('.')[1]}"
    con.execute(f"create schema if not exists {schema}")
    have = column_types(con, kept)
    if not have:
        extras = ", ".join(f'null::{kind} as "{name}"' for name, kind in extra.items())
        con.execute(f"create table {kept} as select *, {extras} from {table} where false")
        return kept
    for name, kind in column_types(con, table).items():
        if name not in have:
            con.execute(f'alter table {kept} add column "{name}" {kind}')
    return kept


def quarantine_rows(path: str, table: str, rows: pd.DataFrame) -> int:
    """Move the rows of `table` whose `rowid` is in `rows.row_id` to `quarantine.<name>`, each with its
    `rows.reason` and the time, in one transaction; returns how many were moved."""

    def attempt() -> int:
        with connect(path) as con:
            try:
                with transaction(con):
                    kept = _audit_table(con, table, QUARANTINE, {"reason": "varchar", "quarantined_at": "timestamp"})
                    con.register("quarantined_frame", rows[["row_id", "reason"]])
                    con.execute(f"insert into {kept} by name select t.*, q.reason, {UTC_NOW} as quarantined_at "
                                f"from {table} t join quarantined_frame q on t.rowid = q.row_id")
                    moved = con.execute(f"delete from {table} where rowid in (select row_id from quarantined_frame)"
                                        ).fetchone()[0]
                    con.unregister("quarantined_frame")
                return int(moved)
            except Exception as exc:
                if _is_damage(exc):
                    raise explain(path, exc) from exc
                raise StorageError(f"{table}: quarantine failed and was rolled back: {exc}") from exc

    return retrying_conflicts(path, table, attempt)


@contextmanager
def transaction(con: duckdb.DuckDBPyConnection) -> Iterator[duckdb.DuckDBPyConnection]:
    """BEGIN … COMMIT on `con`; on any failure a ROLLBACK, and the failure itself is raised.

    A failed COMMIT (a full disk, a lake's conflict) has already ended the transaction, so the ROLLBACK's
    own "no transaction is active" is swallowed: it would hide the error that names the cause.
    """
    con.execute("begin transaction")
    try:
        yield con
        con.execute("commit")
    except BaseException:
        try:
            con.execute("rollback")
        except duckdb.Error:
            pass
        raise


def read_frame(path: str, table: str, since: datetime | None = None, until: datetime | None = None) -> pd.DataFrame:
    """Rows with since <= date < until (either bound optional), ordered by date (then as written)."""
    clauses, params = [], []
    if since is not None:
        clauses.append(f'"{DATE_COLUMN}" >= ?')
        params.append(since.date())
    if until is not None:
        clauses.append(f'"{DATE_COLUMN}" < ?')
        params.append(until.date())
    where = f"where {' and '.join(clauses)}" if clauses else ""
    with connect(path) as con:
        try:
            rows = con.execute(f"select count(*) from {table} {where}", params).fetchone()[0]
        except duckdb.CatalogException:
            raise StorageError(f"{table} does not exist in {path}: materialize it first") from None
        # rowid: rows of one date keep the order they were written in, read after read.
        sql = f'select * from {table} {where} order by "{DATE_COLUMN}", rowid'
        frame = fetch(con, sql, params) if rows > LARGE_READ_ROWS else con.execute(sql, params).fetchdf()
    for c in frame.columns:
        if pd.api.types.is_datetime64_any_dtype(frame[c]):
            frame[c] = frame[c].astype("datetime64[ns]")
    return frame


def query(path: str, sql: str, params: list | None = None) -> pd.DataFrame:
    """A read-only query as a frame."""
    with connect(path, read_only=True) as con:
        return con.execute(sql, params or []).fetchdf()


# Reads of more rows than this go through `fetch`, which costs a few queries more and saves the memory
# of a Python string per cell; smaller ones are read directly.
LARGE_READ_ROWS = 100_000


def fetch(con: duckdb.DuckDBPyConnection, sql: str, params: list) -> pd.DataFrame:
    """The query's result as a frame, text columns read as positions in their lists of distinct values.

    `fetchdf` makes a new Python string for every cell: a score table of a century of days (a million
    rows of a few dozen indicator, pillar and status names) would take most of a gigabyte. Here DuckDB
    hands over integers, and every cell of a text column points at one string per distinct value; the
    frame is the same (object columns, None for NULL), in the query's order.
    """
    result = con.sql(sql, params=params) if params else con.sql(sql)
    text = [c for c, kind in zip(result.columns, result.types) if str(kind) == "VARCHAR"]
    if not text:
        return result.df()
    source = f"({sql})"
    distinct = ", ".join(f'list(distinct "{c}") filter (where "{c}" is not null)' for c in text)
    words = dict(zip(text, (values or [] for values in con.execute(f"select {distinct} from {source}", params).fetchone())))
    columns = ", ".join(f'coalesce(list_position(?, "{c}"), 0)::integer as "{c}"' if c in words else f'"{c}"'
                        for c in result.columns)
    frame = con.execute(f"select {columns} from {source}", [words[c] for c in text] + params).fetchdf()
    for c in text:
        frame[c] = np.array([None, *words[c]], dtype=object).take(frame[c].to_numpy())
    return frame


def has_table(path: str, table: str) -> bool:
    with connect(path, read_only=True) as con:
        return existing_columns(con, table) is not None


def maintain_lake(path: str, keep_days: int) -> dict[str, int]:
    """Compact a DuckLake and expire its snapshots older than `keep_days` (`lake.maintain`)."""
    with connect(path) as con:
        return lake.maintain(con, keep_days)

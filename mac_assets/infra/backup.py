"""Backups of raw history, and the one command that restores them.

Why raw only: derived tables and scores are recomputed from raw by `make run`, but some raw history
exists nowhere else any more (Binance keeps 30 days of open interest, FRED three years of ICE
spreads). After every successful run the `publish/raw_backup` asset exports each raw table (and the
`quarantine` and `revisions` tables that keep raw rows taken out of it) to Parquet in a new folder,
reads every file back and compares its row count and row checksum with the table, and only then
renames the folder into place, so a backup that exists is a verified one. A folder left by a backup
that was killed is swept by the next one.

Each backup names the working file it was made from, and only that file's backups are listed,
rotated or restored: two working files may share MAC_BACKUP_DIR. The newest `keep` are kept; an
older one is deleted only when a kept one holds at least as many rows of every series, so the only
copy of history that newer backups lack (a working file lost and started again empty) is never
rotated away.

Restore (`make restore`, i.e. `python -m mac_assets.restore`) takes the working file's lock (it
refuses while a run holds it, naming the run), counts the rows the damaged file still holds, and
builds a new file from the newest verified backup that holds at least as many of every series; where
none does, those tables are copied from the damaged file itself. Then it moves the damaged file aside
(never deleting it) and moves the new one in. Each step is written to a journal beside the file first,
so a restore killed at any moment is finished by the next `make restore` instead of started over, and
a run refuses to start while the journal is there. On a DuckLake the raw tables are replaced in one
new snapshot instead; the earlier snapshots keep the old rows.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import duckdb

from mac_assets.infra import lake
from mac_assets.infra.sql import literal
from mac_assets.infra.warehouse import (
    AUDIT_SCHEMAS,
    MEMORY_LIMIT,
    QUARANTINE,
    StorageError,
    alive,
    connect,
    explain,
    is_lock,
    locked,
    transaction,
)

MANIFEST = "manifest.json"
STAMP_FORMAT = "%Y%m%dT%H%M%S%fZ"
STAMP = re.compile(r"^\d{8}T\d{12}Z$")
# `.<stamp>.<host>.<pid>.partial` while a backup is being written (`.<stamp>.partial` before hosts were named).
PARTIAL = re.compile(r"^\.\d{8}T\d{12}Z(?:\.(?P<host>[^/]+)\.(?P<pid>\d+))?\.partial$")
SCHEMAS = ("raw", *AUDIT_SCHEMAS)
TABLE_NAME = re.compile(r"^[a-z0-9_]+$")  # every name this module writes; a manifest naming others is not ours
RESTORE_COMMAND = "make restore"


def _checksum(con: duckdb.DuckDBPyConnection, relation: str, params: list | None = None) -> tuple[int, int]:
    rows, digest = con.execute(f"select count(*), coalesce(bit_xor(hash(t)), 0) from {relation} t", params).fetchone()
    return int(rows), int(digest)


def _file_checksum(con: duckdb.DuckDBPyConnection, file: Path) -> tuple[int, int]:
    """Rows and row checksum of a Parquet file, its path bound as a parameter (paths never become SQL text)."""
    return _checksum(con, "read_parquet(?)", [str(file)])


def _key(schema: str, name: str) -> str:
    """A table's key in a manifest: raw tables by name (as backups have always been), the others qualified."""
    return name if schema == "raw" else f"{schema}.{name}"


def _table(key: str) -> tuple[str, str]:
    schema, _, name = key.rpartition(".")
    return schema or "raw", name


def owner(working_db: str) -> str:
    """The working database a backup belongs to: a file's absolute path, a lake's address."""
    return working_db if lake.is_lake(working_db) else str(Path(working_db).resolve())


@dataclass(frozen=True)
class Backup:
    path: Path
    tables: dict[str, dict]
    working_db: str = ""

    @property
    def rows(self) -> int:
        return sum(t["rows"] for t in self.tables.values())

    @property
    def history(self) -> dict[str, int]:
        """Rows per series: its raw table and its quarantined rows (raw rows a check took out)."""
        return _history({key: entry["rows"] for key, entry in self.tables.items()})


def _history(rows: dict[str, int]) -> dict[str, int]:
    out: dict[str, int] = {}
    for key, n in rows.items():
        schema, name = _table(key)
        if schema in ("raw", QUARANTINE):
            out[name] = out.get(name, 0) + n
    return out


def _largest(histories: list[dict[str, int]]) -> dict[str, int]:
    """Per series, the most rows any of the histories holds."""
    most: dict[str, int] = {}
    for history in histories:
        for name, rows in history.items():
            most[name] = max(most.get(name, 0), rows)
    return most


def covers(have: dict[str, int], need: dict[str, int]) -> bool:
    return all(have.get(name, 0) >= n for name, n in need.items())


def backup_raw(working_db: str, root: Path, keep: int) -> Backup:
    """Export raw history to a new verified backup folder under `root`; rotate this working file's backups."""
    root.mkdir(parents=True, exist_ok=True)
    _sweep_partials(root)
    stamp = datetime.now(UTC).strftime(STAMP_FORMAT)
    partial = root / f".{stamp}.{socket.gethostname()}.{os.getpid()}.partial"
    partial.mkdir()
    try:
        # One transaction: every table is copied and checked at the same snapshot, even while another run
        # commits to a lake.
        with connect(working_db, read_only=True) as con, transaction(con):
            names = con.execute(
                "select schema_name, table_name from duckdb_tables() where database_name = current_database() "
                "and schema_name in (select unnest(?)) order by 1, 2", [list(SCHEMAS)]).fetchall()
            tables = {}
            for schema, name in names:
                file = partial / f"{schema}.{name}.parquet"
                con.execute(f"copy (select * from {schema}.{name}) to ? (format parquet)", [str(file)])
                expected = _checksum(con, f"{schema}.{name}")
                if _file_checksum(con, file) != expected:
                    raise RuntimeError(f"backup of {schema}.{name} does not read back identically")
                tables[_key(schema, name)] = {"file": file.name, "rows": expected[0], "checksum": expected[1]}
        (partial / MANIFEST).write_text(json.dumps({"created": stamp, "working_db": owner(working_db),
                                                    "tables": tables}, indent=1))
        final = root / stamp
        partial.rename(final)
    except BaseException:
        shutil.rmtree(partial, ignore_errors=True)
        raise
    _rotate(root, working_db, keep)
    return Backup(final, tables, owner(working_db))


def _rotate(root: Path, working_db: str, keep: int) -> None:
    """Delete this working file's backups beyond the newest `keep`, except one holding history none kept has."""
    kept = []
    for number, backup in enumerate(backups(root, working_db)):
        if number < keep or not any(covers(k.history, backup.history) for k in kept):
            kept.append(backup)
            continue
        shutil.rmtree(backup.path, ignore_errors=True)  # another run on the same lake may have pruned it first


def _sweep_partials(root: Path) -> None:
    """Remove folders of backups whose process is gone (killed mid-export); never one still being written."""
    for folder in root.glob(".*.partial"):
        match = PARTIAL.match(folder.name)
        if not match or not folder.is_dir():
            continue
        host, pid = match.group("host"), match.group("pid")
        mine = host == socket.gethostname() and pid is not None
        if pid is None or (mine and not alive(int(pid))):
            shutil.rmtree(folder, ignore_errors=True)


def backups(root: Path, working_db: str | None = None) -> list[Backup]:
    """Complete backups under `root`, newest first (folders this module named, with a manifest); with
    `working_db`, only that working database's."""
    found = []
    for folder in sorted(root.glob("*"), reverse=True) if root.is_dir() else []:
        manifest = folder / MANIFEST
        if folder.is_dir() and STAMP.match(folder.name) and manifest.is_file():
            data = json.loads(manifest.read_text())
            made_from = owner(data.get("working_db", ""))
            if working_db is None or made_from == owner(working_db):
                found.append(Backup(folder, data["tables"], made_from))
    return found


def verified(backup: Backup) -> bool:
    """Every file is ours, there, and reads back with the row count and checksum the manifest recorded."""
    con = duckdb.connect()
    try:
        for key, entry in backup.tables.items():
            schema, name = _table(key)
            if schema not in SCHEMAS or not TABLE_NAME.match(name) or entry["file"] != f"{schema}.{name}.parquet":
                return False
            file = backup.path / entry["file"]
            if not file.is_file() or _file_checksum(con, file) != (entry["rows"], entry["checksum"]):
                return False
        return True
    except duckdb.Error:
        return False
    finally:
        con.close()


# --- restore ------------------------------------------------------------------------------------------

def _journal(target: Path) -> Path:
    return target.with_name(f".{target.name}.restore.json")


def _building(target: Path) -> Path:
    return target.with_name(f".{target.name}.restoring")


def _set_aside(target: Path) -> list[Path]:
    """Files a restore moved aside (`<name>.damaged-<stamp>`), newest first."""
    return sorted(target.parent.glob(f"{target.name}.damaged-*"), reverse=True)


def check_intact(working_db: str, root: Path | None) -> None:
    """Refuse a run that would start on a half-restored or lost working file (raises StorageError, one line).

    Opening a missing file creates an empty one: a run must not do that while the file's history
    is waiting in backups or in a file a restore moved aside."""
    if lake.is_lake(working_db):
        return
    target = Path(working_db)
    for leftover in (_journal(target), _building(target)):
        if leftover.exists():
            raise StorageError(f"{target}: an interrupted `{RESTORE_COMMAND}` left {leftover.name}; run "
                               f"`{RESTORE_COMMAND}` to finish it (nothing is lost), then run again")
    if target.exists():
        return
    mine = backups(root, working_db) if root is not None else []
    aside = _set_aside(target)
    if mine or aside:
        where = (f"{len(mine)} backup(s) of it under {root} (newest {mine[0].path.name}, {mine[0].rows:,} rows)"
                 if mine else f"the file a restore moved aside, {aside[0].name}")
        raise StorageError(f"{target} is missing, and its history is in {where}: run `{RESTORE_COMMAND}` to "
                           "rebuild it, or move those away to start with an empty history")


def restore(working_db: str, root: Path) -> str:
    """Rebuild the working file's raw history from backups (finishing an interrupted restore); returns the report."""
    with locked(working_db, RESTORE_COMMAND):
        if lake.is_lake(working_db):
            return _restore_into_lake(working_db, root)
        target = Path(working_db)
        journal = _journal(target)
        plan = json.loads(journal.read_text()) if journal.exists() else None
        if plan is None or not plan["built"]:
            plan = _plan(target, root)
            _write(journal, plan)
            _build(target, plan)
            _write(journal, plan | {"built": True})
        moved = _swap(target, plan["stamp"])
        journal.unlink()
    kept = f"; the previous file is kept as {', '.join(moved)}" if moved else ""
    return "\n".join([*plan["report"], f"Restored raw history into {target}{kept}. Now run `make run` to rebuild the "
                                       "derived tables and scores."])


def _write(journal: Path, plan: dict) -> None:
    tmp = journal.with_name(journal.name + ".tmp")
    tmp.write_text(json.dumps(plan, indent=1))
    os.replace(tmp, journal)


def _counts(con: duckdb.DuckDBPyConnection) -> tuple[dict[str, int], list[str]]:
    """Rows per table of every backed-up schema in the connection's database, and the tables that did not read."""
    rows, unreadable = {}, []
    names = con.execute("select schema_name, table_name from duckdb_tables() where database_name = current_database() "
                        "and schema_name in (select unnest(?))", [list(SCHEMAS)]).fetchall()
    for schema, name in names:
        try:
            rows[_key(schema, name)] = con.execute(f"select count(*) from {schema}.{name}").fetchone()[0]
        except duckdb.Error:
            unreadable.append(f"{schema}.{name}")
    return rows, unreadable


def _held(file: Path | None) -> tuple[dict[str, int], str]:
    """Rows per table the file still holds, and '' or why (some of) it could not be read.

    A file another process holds open is refused, never moved from under it."""
    if file is None:
        return {}, "no working file"
    try:
        con = duckdb.connect(str(file), read_only=True, config={"memory_limit": MEMORY_LIMIT})
    except duckdb.Error as exc:
        if is_lock(exc):
            raise explain(str(file), exc) from None
        return {}, f"could not be read ({str(exc).splitlines()[0]})"
    try:
        rows, unreadable = _counts(con)
    except duckdb.Error as exc:
        return {}, f"could not be read ({str(exc).splitlines()[0]})"
    finally:
        con.close()
    return rows, f"{', '.join(unreadable)} could not be read" if unreadable else ""


def _plan(target: Path, root: Path) -> dict:
    """Which backup to restore from, which series to copy from the damaged file instead, and the comparison."""
    mine = [b for b in backups(root, str(target)) if verified(b)]
    if not mine:
        others = sorted({b.working_db for b in backups(root)})
        hint = f"; it holds backups of {', '.join(others)} only (give each working file its own MAC_BACKUP_DIR)" \
            if others else ""
        raise RuntimeError(f"no verified backup of {target} under {root}: nothing to restore from{hint}")
    damaged = target if target.exists() else next(iter(_set_aside(target)), None)
    held, why = _held(damaged)
    history = _history(held)
    # History only grows (raw is append-only), so a backup with fewer rows of a series than an older one was
    # made from a file that had lost some: the newest backup closest to the most rows of every series that any
    # copy holds is chosen, and the series of which the file itself holds more are copied from it.
    most = _largest([history, *(b.history for b in mine)])
    chosen = max(mine, key=lambda b: sum(min(b.history.get(name, 0), rows) for name, rows in most.items()))
    from_file = sorted(name for name, n in history.items() if chosen.history.get(name, 0) < n)
    name = damaged.name if damaged else target.name
    report = [f"{name} {why}" if why else f"{name} still holds {sum(history.values()):,} rows of {len(history)} series",
              f"Restoring from {chosen.path}" + (f"; {len(from_file)} series of which it holds fewer rows are copied from "
                                                 f"{name}" if from_file else ""),
              f"{'series':<36}{'file':>10}{'backup':>10}  restored from"]
    for series in sorted(set(history) | set(chosen.history)):
        source = name if series in from_file else "backup"
        report.append(f"{series:<36}{history.get(series, '-'):>10}{chosen.history.get(series, 0):>10}  {source}")
    return {"backup": str(chosen.path), "tables": chosen.tables, "from_file": from_file,
            "damaged": str(damaged) if from_file else "", "held": held,
            "stamp": datetime.now(UTC).strftime(STAMP_FORMAT), "built": False, "report": report}


def _build(target: Path, plan: dict) -> None:
    """The new file, `.<name>.restoring`: the damaged file's tables of the copied series, the backup's others."""
    building = _building(target)
    building.unlink(missing_ok=True)
    con = duckdb.connect(str(building))
    try:
        for schema in SCHEMAS:
            con.execute(f"create schema {schema}")
        copied = set()
        if plan["from_file"]:
            con.execute(f"attach {literal(plan['damaged'])} as damaged (read_only)")
            for key, rows in plan["held"].items():
                schema, name = _table(key)
                if name in plan["from_file"]:
                    con.execute(f"create table {schema}.{name} as select * from damaged.{schema}.{name}")
                    if con.execute(f"select count(*) from {schema}.{name}").fetchone()[0] != rows:
                        raise RuntimeError(f"{schema}.{name} of {plan['damaged']} does not read back whole")
                    copied.add(key)
            con.execute("detach damaged")
        for key, entry in plan["tables"].items():
            if key not in copied:
                schema, name = _table(key)
                con.execute(f"create table {schema}.{name} as select * from read_parquet(?)",
                            [str(Path(plan["backup"]) / entry["file"])])
        con.execute("checkpoint")
    except duckdb.Error as exc:
        raise RuntimeError(f"could not rebuild {target} ({str(exc).splitlines()[0]}); nothing was moved") from exc
    finally:
        con.close()


def _swap(target: Path, stamp: str) -> list[str]:
    """Move the damaged file (and its log) aside and the new one in; each step may be repeated after a kill."""
    building, moved = _building(target), []
    if building.exists():
        for path in (target, target.with_name(target.name + ".wal")):
            if path.exists():
                aside = path.with_name(f"{path.name}.damaged-{stamp}")
                path.rename(aside)
                moved.append(str(aside))
        building.rename(target)
    return moved


def _restore_into_lake(working_db: str, root: Path) -> str:
    """Replace a lake's raw history with the newest backup holding at least its rows, in one transaction;
    earlier snapshots keep the old rows."""
    mine = [b for b in backups(root, working_db) if verified(b)]
    if not mine:
        raise RuntimeError(f"no verified backup of {working_db} under {root}: nothing to restore from")
    with connect(working_db, read_only=True) as con:
        history = _history(_counts(con)[0])
    good = next((b for b in mine if covers(b.history, history)), None)
    if good is None:
        short = ", ".join(f"{n} ({history[n]:,} in the lake, {mine[0].history.get(n, 0):,} in the newest backup)"
                          for n in sorted(history) if mine[0].history.get(n, 0) < history[n])
        raise RuntimeError(f"no verified backup under {root} holds every row the lake holds ({short}): nothing was "
                           "restored")
    with connect(working_db) as con:
        with transaction(con):
            for schema in SCHEMAS:
                con.execute(f"create schema if not exists {schema}")
            for key, entry in good.tables.items():
                schema, name = _table(key)
                con.execute(f"create or replace table {schema}.{name} as select * from read_parquet(?)",
                            [str(good.path / entry["file"])])
        snapshot = con.execute(f"select max(snapshot_id) from {lake.ALIAS}.snapshots()").fetchone()[0]
    return (f"Restored {len(good.tables)} tables ({good.rows:,} rows) from {good.path} into the lake as snapshot "
            f"{snapshot}; the rows before it stay readable with AT (VERSION => {snapshot - 1}) until snapshots expire. "
            "Now run `make run` to rebuild the derived tables and scores.")

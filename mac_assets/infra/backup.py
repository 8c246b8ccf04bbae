"""Backups of the raw schema, and the one command that restores them.

Why raw only: derived tables and scores are recomputed from raw by `make run`, but some raw history
exists nowhere else any more (Binance keeps 30 days of open interest, FRED three years of ICE
spreads). After every successful run the `publish/raw_backup` asset exports each raw table to Parquet
in a new folder, reads every file back and compares its row count and row checksum with the table,
and only then renames the folder into place, so a backup that exists is a verified one. The newest
`keep` backups are kept; older ones are deleted (only folders this module made, by their name).

Restore (`make restore`, i.e. `python -m mac_assets.restore`) moves the damaged working file
aside (never deletes it), builds a new one from the newest verified backup and says what to run next. On a DuckLake the raw
tables are replaced in one new snapshot instead; the earlier snapshots keep the old rows.
"""

from __future__ import annotations

import json
import re
import shutil
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import duckdb

from mac_assets.infra import lake
from mac_assets.infra.warehouse import connect, transaction

MANIFEST = "manifest.json"
STAMP_FORMAT = "%Y%m%dT%H%M%S%fZ"
STAMP = re.compile(r"^\d{8}T\d{12}Z$")


def _checksum(con: duckdb.DuckDBPyConnection, relation: str, params: list | None = None) -> tuple[int, int]:
    rows, digest = con.execute(f"select count(*), coalesce(bit_xor(hash(t)), 0) from {relation} t", params).fetchone()
    return int(rows), int(digest)


def _file_checksum(con: duckdb.DuckDBPyConnection, file: Path) -> tuple[int, int]:
    """Rows and row checksum of a Parquet file, its path bound as a parameter (paths never become SQL text)."""
    return _checksum(con, "read_parquet(?)", [str(file)])


@dataclass(frozen=True)
class Backup:
    path: Path
    tables: dict[str, dict]

    @property
    def rows(self) -> int:
        return sum(t["rows"] for t in self.tables.values())


def backup_raw(working_db: str, root: Path, keep: int) -> Backup:
    """Export every raw table to a new verified backup folder under `root`; prune to the newest `keep`."""
    root.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime(STAMP_FORMAT)
    partial = root / f".{stamp}.partial"
    partial.mkdir()
    try:
        # One transaction: every table is copied and checked at the same snapshot, even while another run
        # commits to a lake.
        with connect(working_db, read_only=True) as con, transaction(con):
            names = [r[0] for r in con.execute(
                "select table_name from duckdb_tables() where database_name = current_database() "
                "and schema_name = 'raw' order by 1").fetchall()]
            tables = {}
            for name in names:
                file = partial / f"raw.{name}.parquet"
                con.execute(f"copy (select * from raw.{name}) to ? (format parquet)", [str(file)])
                expected = _checksum(con, f"raw.{name}")
                if _file_checksum(con, file) != expected:
                    raise RuntimeError(f"backup of raw.{name} does not read back identically")
                tables[name] = {"file": file.name, "rows": expected[0], "checksum": expected[1]}
        (partial / MANIFEST).write_text(json.dumps({"created": stamp, "working_db": str(working_db),
                                                    "tables": tables}, indent=1))
        final = root / stamp
        partial.rename(final)
    except BaseException:
        shutil.rmtree(partial, ignore_errors=True)
        raise
    for old in backups(root)[keep:]:
        try:
            shutil.rmtree(old.path)
        except FileNotFoundError:
            pass  # another run on the same lake pruned it first
    return Backup(final, tables)


def backups(root: Path) -> list[Backup]:
    """Complete backups under `root`, newest first (folders this module named, with a manifest)."""
    found = []
    for folder in sorted(root.glob("*"), reverse=True) if root.is_dir() else []:
        manifest = folder / MANIFEST
        if folder.is_dir() and STAMP.match(folder.name) and manifest.is_file():
            found.append(Backup(folder, json.loads(manifest.read_text())["tables"]))
    return found


def verified(backup: Backup) -> bool:
    """Every file is there and reads back with the row count and checksum the manifest recorded."""
    con = duckdb.connect()
    try:
        for entry in backup.tables.values():
            file = backup.path / entry["file"]
            if not file.is_file() or _file_checksum(con, file) != (entry["rows"], entry["checksum"]):
                return False
        return True
    except duckdb.Error:
        return False
    finally:
        con.close()


def restore(working_db: str, root: Path) -> str:
    """Rebuild the working file's raw schema from the newest verified backup; returns what was done."""
    good = next((b for b in backups(root) if verified(b)), None)
    if good is None:
        raise RuntimeError(f"no verified backup under {root}: nothing to restore from")
    if lake.is_lake(working_db):
        return _restore_into_lake(working_db, good)
    target = Path(working_db)
    target.parent.mkdir(parents=True, exist_ok=True)
    building = target.with_name(f".{target.name}.restoring")
    building.unlink(missing_ok=True)
    con = duckdb.connect(str(building))
    try:
        con.execute("create schema raw")
        for name, entry in good.tables.items():
            con.execute(f"create table raw.{name} as select * from read_parquet(?)", [str(good.path / entry["file"])])
        con.execute("checkpoint")
    finally:
        con.close()
    moved = []
    stamp = datetime.now(UTC).strftime(STAMP_FORMAT)
    for path in (target, target.with_name(target.name + ".wal")):
        if path.exists():
            aside = path.with_name(f"{path.name}.damaged-{stamp}")
            path.rename(aside)
            moved.append(str(aside))
    building.rename(target)
    kept = f"; the previous file is kept as {', '.join(moved)}" if moved else ""
    return (f"Restored {len(good.tables)} raw tables ({good.rows:,} rows) from {good.path} into {target}{kept}. "
            "Now run `make run` to rebuild the derived tables and scores.")


def _restore_into_lake(working_db: str, good: Backup) -> str:
    """Replace a lake's raw tables with the backup's in one transaction; earlier snapshots keep the old rows."""
    with connect(working_db) as con:
        with transaction(con):
            con.execute("create schema if not exists raw")
            for name, entry in good.tables.items():
                con.execute(f"create or replace table raw.{name} as select * from read_parquet(?)",
                            [str(good.path / entry["file"])])
        snapshot = con.execute(f"select max(snapshot_id) from {lake.ALIAS}.snapshots()").fetchone()[0]
    return (f"Restored {len(good.tables)} raw tables ({good.rows:,} rows) from {good.path} into the lake as snapshot "
            f"{snapshot}; the rows before it stay readable with AT (VERSION => {snapshot - 1}) until snapshots expire. "
            "Now run `make run` to rebuild the derived tables and scores.")

"""`python -m mac_assets.restore` (`make restore`): rebuild the working file's raw tables from the newest backup.

`--list` shows the backups and whether each still verifies. It refuses while a run holds the working
file, and prints, per series, the rows the damaged file still holds against the backup it restores
from. The damaged file is moved aside, never deleted; a restore that was killed is finished by the next
one; `make run` then rebuilds the derived tables and scores (infra/backup.py says how).
"""

from __future__ import annotations

import argparse
import sys

import duckdb

from mac_assets.infra.backup import backups, owner, restore, verified
from mac_assets.infra.settings import load_settings


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--list", action="store_true", help="list the backups instead of restoring")
    args = parser.parse_args(argv)
    try:
        settings = load_settings()
    except ValueError as exc:
        print(f"mac: restore refused: {exc}", file=sys.stderr)
        return 2
    root = settings.backup_root
    if args.list:
        for b in backups(root):
            whose = "" if b.working_db == owner(settings.duckdb_path) else f", of {b.working_db}"
            print(f"{b.path}  {len(b.tables)} tables, {b.rows:,} rows, {'verified' if verified(b) else 'DAMAGED'}{whose}")
        return 0
    try:
        print(restore(settings.duckdb_path, root))
    except (RuntimeError, duckdb.Error) as exc:
        print(f"mac: restore failed: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

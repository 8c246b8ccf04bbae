"""The publishing asset: after the scores, swap in a fresh read-only BI snapshot (see `publish/bi.py`)."""

from dagster import AssetKey, AssetsDefinition, ConfigurableResource, MaterializeResult, MetadataValue, asset
from pydantic import Field

import time
from pathlib import Path

from mac_assets.backup import backup_raw
from mac_assets.catalog import SERIES
from mac_assets.partitions import layer_asset_args
from mac_assets.publish.bi import STORAGE_VERSION, publish

SCORE_ASSETS = ("indicator_scores", "pillar_scores", "mac_composite", "status_changes")


class BiPublisher(ConfigurableResource):
    """Where the pipeline's working database is and where BI tools read the snapshot (MAC_BI_PATH)."""

    working_db: str = Field(description="The pipeline's DuckDB file (MAC_DUCKDB_PATH).")
    bi_path: str = Field(description="The published read-only file BI tools open (MAC_BI_PATH).")


class RawBackups(ConfigurableResource):
    """Where the raw schema's backups go and how many are kept (MAC_BACKUP_DIR, MAC_BACKUP_KEEP)."""

    working_db: str = Field(description="The pipeline's DuckDB file (MAC_DUCKDB_PATH).")
    root: str = Field(description="Folder holding one sub-folder per backup.")
    keep: int = Field(default=7, description="Backups kept, newest first.")


def build_publish_assets(partitions, extension: bool = True) -> list[AssetsDefinition]:
    """The BI snapshot runs after the scores and, when the extension is on, after the extended MAC."""
    deps = [AssetKey(["scores", name]) for name in SCORE_ASSETS]
    if extension:
        deps.append(AssetKey(["extension", "mac_extended"]))

    @asset(
        name="bi_snapshot",
        **layer_asset_args("publish", partitions),
        deps=deps,
        kinds={"duckdb"},
        description="Read-only snapshot for BI tools: the `bi` schema (docs/bi.md), swapped in atomically "
                    f"after every run, in DuckDB storage format {STORAGE_VERSION} so 1.x readers can open it.",
    )
    def bi_snapshot(bi: BiPublisher) -> MaterializeResult:
        rows = publish(bi.working_db, bi.bi_path)
        return MaterializeResult(metadata={
            "path": bi.bi_path, "storage_version": STORAGE_VERSION,
            "rows": MetadataValue.json(rows), "dagster/row_count": rows["mac_history"],
        })

    @asset(
        name="raw_backup",
        **layer_asset_args("publish", partitions),
        deps=[AssetKey(["raw", s.asset_name]) for s in SERIES],
        kinds={"parquet"},
        description="A verified Parquet copy of every raw table after each run, the newest MAC_BACKUP_KEEP kept: "
                    "raw history some providers no longer serve exists only here and in the working file. "
                    "Restore with `python -m mac_assets.backup restore`.",
    )
    def raw_backup(raw_backups: RawBackups) -> MaterializeResult:
        started = time.perf_counter()
        made = backup_raw(raw_backups.working_db, Path(raw_backups.root), raw_backups.keep)
        return MaterializeResult(metadata={
            "path": str(made.path), "tables": len(made.tables), "dagster/row_count": made.rows,
            "seconds": round(time.perf_counter() - started, 2),
        })

    return [bi_snapshot, raw_backup]

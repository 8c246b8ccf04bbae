"""The publish layer's Dagster wiring: the BI snapshot, the raw backup and the reports.

The BI snapshot and the reports run after the scores; the backup after the raw assets. Each is about the
whole history, not one year, so none is partitioned: a backfill of twenty years materializes each once.
A report asset only loads the tables (`load`), calls its renderer in `publish/reports.py` and writes the
files to MAC_REPORTS_DIR, summarising them in the asset's metadata in the UI.
"""

import time
from pathlib import Path

import pandas as pd
from dagster import (
    AssetsDefinition,
    ConfigurableResource,
    MaterializeResult,
    MetadataValue,
    TableColumn,
    TableSchema,
)
from pydantic import Field

from mac_assets import keys
from mac_assets.catalog import BENCHMARKS, SERIES
from mac_assets.infra.backup import backup_raw
from mac_assets.infra.io_manager import Warehouse
from mac_assets.policy import key, mac_asset
from mac_assets.publish import reports
from mac_assets.publish.bi import STORAGE_VERSION, methodology_frame, publish, published_columns, series_freshness
from mac_assets.scores.headline import headline_indicators, headline_pillars

# What the BI snapshot publishes, and what the reports read.
BI_TABLES = (keys.INDICATOR_SCORES, keys.PILLAR_SCORES, keys.MAC1_COMPOSITE, keys.MAC_COMPOSITE, keys.STATUS_CHANGES,
             keys.MAC2_INDICATOR_SCORES, keys.MAC2_PILLAR_SCORES, keys.MAC2_READINGS, keys.MAC3_PILLAR_SCORES,
             keys.MAC3_READINGS)
REPORT_TABLES = (*BI_TABLES, *(keys.raw(s) for s in (*BENCHMARKS, "SPY")))


class BiPublisher(ConfigurableResource):
    """Where BI tools read the snapshot of the warehouse (MAC_BI_PATH)."""

    bi_path: str = Field(description="The published read-only file BI tools open (MAC_BI_PATH).")
    source: str = Field(description="The source whose data it publishes (MAC_SOURCE): one snapshot per source.")


class RawBackups(ConfigurableResource):
    """Where the raw schema's backups go and how many are kept (MAC_BACKUP_DIR, MAC_BACKUP_KEEP)."""

    root: str = Field(description="Folder holding one sub-folder per backup.")
    keep: int = Field(description="Backups kept, newest first.")


class ReportsFolder(ConfigurableResource):
    path: str = Field(default="reports", description="Where report files are written (MAC_REPORTS_DIR).")

    def file(self, name: str) -> Path:
        return Path(self.path) / name


def build_publish_assets(extension: bool = True) -> list[AssetsDefinition]:
    """The BI snapshot (after the scores and, with the extension on, the extended MAC) and the raw backup."""
    deps = [key(t) for t in (*BI_TABLES, *((keys.MAC_EXTENDED,) if extension else ()))]

    @mac_asset(
        keys.BI_SNAPSHOT, None,
        deps=deps,
        kinds={"duckdb"},
        description="Read-only snapshot for BI tools: the `bi` schema (docs/bi.md), swapped in atomically "
                    f"after every run, in DuckDB storage format {STORAGE_VERSION} so 1.x readers can open it.",
    )
    def bi_snapshot(warehouse: Warehouse, bi: BiPublisher) -> MaterializeResult:
        rows = publish(warehouse.path, bi.bi_path, bi.source)
        # Every published table's columns with their contract comments; the headline table's as the asset's own.
        schemas = {table: TableSchema(columns=[TableColumn(name, kind, description) for name, kind, description in cols])
                   for table, cols in published_columns(bi.bi_path).items()}
        return MaterializeResult(metadata={
            "dagster/row_count": rows["mac_history"], "dagster/column_schema": schemas["mac_history"],
            "path": bi.bi_path, "storage_version": STORAGE_VERSION, "rows": MetadataValue.json(rows),
            **{f"bi.{table} columns": schema for table, schema in schemas.items()}})

    @mac_asset(
        keys.RAW_BACKUP, None,
        deps=[key(keys.raw(s)) for s in SERIES],
        kinds={"parquet"},
        description="A verified Parquet copy of every raw table after each run, the newest MAC_BACKUP_KEEP kept: "
                    "raw history some providers no longer serve exists only here and in the working file. "
                    "Restore with `make restore`.",
    )
    def raw_backup(warehouse: Warehouse, raw_backups: RawBackups) -> MaterializeResult:
        started = time.perf_counter()
        made = backup_raw(warehouse.path, Path(raw_backups.root), raw_backups.keep)
        return MaterializeResult(metadata={"dagster/row_count": made.rows, "path": str(made.path),
                                           "tables": len(made.tables),
                                           "seconds": round(time.perf_counter() - started, 2)})

    return [bi_snapshot, raw_backup]


def load(db: Warehouse) -> reports.Stored:
    """Every table the reports read, whole history."""
    def table(t: keys.Table, columns: str = "*") -> pd.DataFrame:
        return db.query(f"select {columns} from {t} order by date")

    pillars, indicators = table(keys.MAC2_PILLAR_SCORES), table(keys.MAC2_INDICATOR_SCORES)
    return reports.Stored(
        composite=table(keys.MAC_COMPOSITE), pillars=headline_pillars(pillars),
        indicators=headline_indicators(indicators, pillars),
        mac1=table(keys.MAC1_COMPOSITE), mac2=table(keys.MAC2_READINGS), mac2_indicators=indicators,
        mac3=table(keys.MAC3_READINGS),
        extended=table(keys.MAC_EXTENDED, "date, mac_extended") if db.has_table(str(keys.MAC_EXTENDED)) else None,
        benchmarks={s.id: table(keys.raw(s), "date, value") for s in BENCHMARKS if db.has_table(str(keys.raw(s)))},
        spy=table(keys.raw("SPY"), "date, value"),
        freshness=series_freshness(db.path),
        seed_indicators=table(keys.INDICATOR_SCORES, "date, indicator, value"),
        methodology=methodology_frame())


def build_report_assets() -> list[AssetsDefinition]:
    common = dict(deps=[key(t) for t in REPORT_TABLES], kinds={"pandas"})

    @mac_asset(keys.VALIDATION_REPORT, None, **common,
               description="Does MAC measure stress, out of sample? Protocol v2 (docs/preregistration-v2.md): the train "
                           "(to 2014) / test (2015 on) table for every reading, every single-input baseline, STLFSI4 "
                           "and NFCI; the headline rule's verdicts; the 12-month risk's scores; noise and band "
                           "shares; every frozen choice; rank correlations and MAC's lowest readings.")
    def validation_report(warehouse: Warehouse, report_files: ReportsFolder) -> MaterializeResult:
        report = reports.validation_report(load(warehouse))
        path = reports.write(report_files.file("validation.md"), report.text)
        # The report itself is the file; the instance keeps where it is and its verdict, not a copy per run.
        return MaterializeResult(metadata={"path": str(path), "verdict": report.verdict,
                                           "series_judged": report.series_judged})

    @mac_asset(keys.MAC_REPORT, None, **(common | {"deps": [*common["deps"], key(keys.VALIDATION_REPORT)]}),
               description="The analysts' page: a self-contained site (MAC_REPORTS_DIR/site, opens from file://) with "
                           "the latest headline and the 12-month risk first, the interactive history, contributions "
                           "by pillar and indicator for any day, CSV downloads, the methodology and the validation.")
    def mac_report(warehouse: Warehouse, report_files: ReportsFolder) -> MaterializeResult:
        page = reports.report_page(load(warehouse), pd.Timestamp.now(tz="UTC").strftime("%Y-%m-%d %H:%M UTC"))
        paths = [reports.write(report_files.file(name), content) for name, content in page.files.items()]
        # The files stay files: the instance keeps where the page is and what it weighs, not a copy per run.
        return MaterializeResult(metadata={"headline": page.headline,
                                           "page": str(report_files.file(f"{reports.SITE}/index.html")),
                                           "bytes": sum(p.stat().st_size for p in paths)})

    @mac_asset(keys.QUARTERLY_REVIEW, None, **common,
               description="Quarterly review (seed spec): which Tier 2/3 sources are live, where every seed threshold "
                           "anchor sits in its indicator's history, each headline pillar on the lowest days, pillar maps.")
    def quarterly_review(warehouse: Warehouse, report_files: ReportsFolder) -> MaterializeResult:
        path = reports.write(report_files.file("quarterly_review.md"), reports.quarterly_review(load(warehouse)))
        return MaterializeResult(metadata={"path": str(path)})

    return [validation_report, mac_report, quarterly_review]

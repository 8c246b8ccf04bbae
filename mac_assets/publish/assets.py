"""The publish layer's Dagster wiring: the BI snapshot, the raw backup and the reports.

The BI snapshot and the reports run after the scores; the backup after the raw assets. Reports read
whole tables (they are about the full history, not one partition), write files to MAC_REPORTS_DIR
and summarise each file in the asset's metadata in the UI.
"""

import time
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
from dagster import (
    AssetExecutionContext,
    AssetKey,
    AssetsDefinition,
    ConfigurableResource,
    MaterializeResult,
    MetadataValue,
    asset,
)
from pydantic import Field

from mac_assets.catalog import BENCHMARKS, SERIES
from mac_assets.infra.backup import backup_raw
from mac_assets.infra.io_manager import Warehouse
from mac_assets.policy import layer_asset_args, with_latest
from mac_assets.publish import reports, site, validation
from mac_assets.publish.bi import STORAGE_VERSION, methodology_frame, publish, series_freshness
from mac_assets.scores import mac2
from mac_assets.scores.compute import headline_days, no_headline_reason
from mac_assets.scores.headline import headline_indicators, headline_pillars

SCORE_ASSETS = ("indicator_scores", "pillar_scores", "mac1_composite", "mac_composite", "status_changes",
                "mac2_indicator_scores", "mac2_pillar_scores", "mac2_readings", "mac3_pillar_scores", "mac3_readings")
SCORES = [AssetKey(["scores", n]) for n in ("indicator_scores", "pillar_scores", "mac1_composite", "mac_composite",
                                            "mac2_pillar_scores", "mac2_readings")]


class BiPublisher(ConfigurableResource):
    """Where BI tools read the snapshot of the warehouse (MAC_BI_PATH)."""

    warehouse: Warehouse
    bi_path: str = Field(description="The published read-only file BI tools open (MAC_BI_PATH).")


class RawBackups(ConfigurableResource):
    """Where the raw schema's backups go and how many are kept (MAC_BACKUP_DIR, MAC_BACKUP_KEEP)."""

    warehouse: Warehouse
    root: str = Field(description="Folder holding one sub-folder per backup.")
    keep: int = Field(description="Backups kept, newest first.")


class ReportsFolder(ConfigurableResource):
    path: str = Field(default="reports", description="Where report files are written (MAC_REPORTS_DIR).")

    def file(self, name: str) -> Path:
        return Path(self.path) / name


def build_publish_assets(partitions, extension: bool = True) -> list[AssetsDefinition]:
    """The BI snapshot (after the scores and, with the extension on, the extended MAC) and the raw backup."""
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
    def bi_snapshot(context: AssetExecutionContext, bi: BiPublisher) -> MaterializeResult:
        rows = publish(bi.warehouse.path, bi.bi_path)
        return MaterializeResult(metadata=with_latest(context, {"dagster/row_count": rows["mac_history"]}, {
            "path": bi.bi_path, "storage_version": STORAGE_VERSION, "rows": MetadataValue.json(rows)}))

    @asset(
        name="raw_backup",
        **layer_asset_args("publish", partitions),
        deps=[AssetKey(["raw", s.asset_name]) for s in SERIES],
        kinds={"parquet"},
        description="A verified Parquet copy of every raw table after each run, the newest MAC_BACKUP_KEEP kept: "
                    "raw history some providers no longer serve exists only here and in the working file. "
                    "Restore with `make restore`.",
    )
    def raw_backup(context: AssetExecutionContext, raw_backups: RawBackups) -> MaterializeResult:
        started = time.perf_counter()
        made = backup_raw(raw_backups.warehouse.path, Path(raw_backups.root), raw_backups.keep)
        return MaterializeResult(metadata=with_latest(context, {"dagster/row_count": made.rows}, {
            "path": str(made.path), "tables": len(made.tables), "seconds": round(time.perf_counter() - started, 2)}))

    return [bi_snapshot, raw_backup]


@dataclass(frozen=True)
class Stored:
    """The tables the reports and the site read, whole history (they are about all of it, not one partition)."""

    composite: pd.DataFrame  # the headline (scores.mac_composite)
    pillars: pd.DataFrame  # the headline reading's pillars
    indicators: pd.DataFrame  # the headline reading's indicators
    mac1: pd.DataFrame
    mac2: pd.DataFrame
    mac2_indicators: pd.DataFrame
    mac3: pd.DataFrame
    extended: pd.DataFrame | None
    benchmarks: dict[str, pd.DataFrame]
    spy: pd.DataFrame
    freshness: pd.DataFrame

    @property
    def source(self) -> str:
        sources = self.freshness["loaded_from"].dropna().unique()
        return str(sources[0]) if len(sources) else "none"

    def validation_tables(self) -> dict[str, pd.DataFrame]:
        if not ({"STLFSI4", "NFCI"} <= set(self.benchmarks) and len(self.spy)):
            return {}
        return validation.tables(self.mac1, self.mac2, self.mac2_indicators, self.mac3, self.extended,
                                 self.benchmarks["STLFSI4"], self.benchmarks["NFCI"], self.spy)


def load(db: Warehouse) -> Stored:
    def table(name: str) -> pd.DataFrame:
        return db.query(f"select * from {name} order by date")

    pillars, indicators = table("scores.mac2_pillar_scores"), table("scores.mac2_indicator_scores")
    return Stored(
        composite=table("scores.mac_composite"), pillars=headline_pillars(pillars),
        indicators=headline_indicators(indicators, pillars), mac1=table("scores.mac1_composite"),
        mac2=table("scores.mac2_readings"), mac2_indicators=indicators, mac3=table("scores.mac3_readings"),
        extended=table("extension.mac_extended") if db.has_table("extension.mac_extended") else None,
        benchmarks={s.id: db.query(f"select date, value from raw.{s.asset_name} order by date")
                    for s in BENCHMARKS if db.has_table(f"raw.{s.asset_name}")},
        spy=db.query("select date, value from raw.spy order by date") if db.has_table("raw.spy") else pd.DataFrame(),
        freshness=series_freshness(db.path))


REPORT_DEPS = [*SCORES, AssetKey(["scores", "mac2_indicator_scores"]), AssetKey(["scores", "mac3_readings"]),
               AssetKey(["raw", "spy"]), *(AssetKey(["raw", s.asset_name]) for s in BENCHMARKS)]


def build_report_assets(partitions) -> list[AssetsDefinition]:
    common = dict(**layer_asset_args("publish", partitions), kinds={"pandas"})

    @asset(name="validation_report", deps=REPORT_DEPS, **common,
           description="Does MAC measure stress, out of sample? Protocol v2 (docs/preregistration-v2.md): the train (to "
                       "2014) / test (2015 on) table for every reading, every single-input baseline, STLFSI4 and NFCI; "
                       "the headline rule's verdicts; the 12-month risk's scores; noise and band shares; every frozen "
                       "choice; rank correlations and MAC's lowest readings.")
    def validation_report(context: AssetExecutionContext, warehouse: Warehouse,
                          report_files: ReportsFolder) -> MaterializeResult:
        stored = load(warehouse)
        tables = stored.validation_tables()
        correlations, deciles, lowest = reports.validation_tables(stored.composite, stored.pillars, stored.benchmarks)
        extra = (f"## The headline against the official indexes, whole history\n\nSpearman rank correlation (negative: "
                 f"MAC falls when stress rises)\n\n{reports.md(correlations)}\n\nMAC in the weeks the benchmark was in "
                 f"its top decile\n\n{reports.md(deciles)}\n\nLowest readings (one per 30 days)\n\n{reports.md(lowest)}\n")
        text = reports.validation_markdown(tables, stored.source == "demo", extra)
        path = reports.write(report_files.file("validation.md"), text)
        # The report itself is the file; the instance keeps where it is and its verdict, not a copy per run.
        return MaterializeResult(metadata=with_latest(context, {}, {
            "path": str(path), "verdict": reports.verdict(tables),
            "series_judged": int(tables["metrics"]["series"].nunique()) if tables else 0}))

    @asset(name="mac_report", deps=[*REPORT_DEPS, AssetKey(["publish", "validation_report"])], **common,
           description="The analysts' page: a self-contained site (MAC_REPORTS_DIR/site, opens from file://) with the "
                       "latest headline and the 12-month risk first, the interactive history, contributions by pillar "
                       "and indicator for any day, CSV downloads, the methodology and the validation.")
    def mac_report(context: AssetExecutionContext, warehouse: Warehouse, report_files: ReportsFolder) -> MaterializeResult:
        stored = load(warehouse)
        tables = stored.validation_tables()
        inputs = site.SiteInputs(
            history=stored.composite, pillars=stored.pillars, indicators=stored.indicators, freshness=stored.freshness,
            source=stored.source, published_at=pd.Timestamp.now(tz="UTC").strftime("%Y-%m-%d %H:%M UTC"),
            validation=site.validation_body(tables, reports.verdict(tables)) if tables else "",
            methodology=site.methodology_body(methodology_frame(), validation.frozen_choices(), mac2.__doc__))
        written = site.write(Path(report_files.path) / "site", site.render(inputs), reports.write)
        solid = headline_days(stored.composite)
        headline = (f"{solid['mac'].iloc[-1]:.3f} ({solid['status'].iloc[-1]}) on {solid['date'].iloc[-1].date()}"
                    if len(solid) else f"none: {no_headline_reason(stored.composite)}")
        return MaterializeResult(metadata=with_latest(context, {}, {
            "headline": headline, "page": str(written[0]), "bytes": sum(p.stat().st_size for p in written)}))

    @asset(name="quarterly_review", deps=SCORES, **common,
           description="Quarterly review (seed spec): which Tier 2/3 sources are live, where every seed threshold "
                       "anchor sits in its indicator's history, each headline pillar on the lowest days, pillar maps.")
    def quarterly_review(context: AssetExecutionContext, warehouse: Warehouse,
                         report_files: ReportsFolder) -> MaterializeResult:
        stored = load(warehouse)
        sources = stored.freshness[stored.freshness["tier"] >= 2][["series_id", "title", "provider", "tier",
                                                                  "newest_observation", "freshness", "loaded_from"]]
        text = reports.quarterly_markdown(sources, warehouse.query("select indicator, value from scores.indicator_scores"),
                                          stored.composite, stored.pillars, stored.source == "demo")
        path = reports.write(report_files.file("quarterly_review.md"), text)
        return MaterializeResult(metadata=with_latest(context, {}, {"path": str(path)}))

    return [validation_report, mac_report, quarterly_review]

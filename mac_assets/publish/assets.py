"""The publish layer's Dagster wiring: the BI snapshot, the raw backup and the reports.

The BI snapshot and the reports run after the scores; the backup after the raw assets. Reports read
whole tables (they are about the full history, not one partition), write files to MAC_REPORTS_DIR
and summarise each file in the asset's metadata in the UI.
"""

import time
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
from mac_assets.episodes import EPISODES
from mac_assets.infra.backup import backup_raw
from mac_assets.infra.io_manager import Warehouse
from mac_assets.policy import layer_asset_args, with_latest
from mac_assets.publish import reports, validation
from mac_assets.publish.bi import STORAGE_VERSION, publish, series_freshness
from mac_assets.scores.compute import headline_days, no_headline_reason
from mac_assets.scores.headline import headline_pillars
from mac_assets.thresholds import HEADLINE_METHODOLOGY, MAC2_VERSION, METHODOLOGY_VERSION, THRESHOLDS

SCORE_ASSETS = ("indicator_scores", "pillar_scores", "mac1_composite", "mac_composite", "status_changes",
                "mac2_pillar_scores", "mac2_readings")
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


def _md(frame: pd.DataFrame) -> str:
    if not len(frame):
        return "_no data_"
    days = {c: frame[c].dt.date for c in frame.columns if pd.api.types.is_datetime64_any_dtype(frame[c])}
    return frame.assign(**days).to_markdown(index=False, floatfmt=".3f")


def _load(db: Warehouse):
    """The headline composite and its pillars, and the benchmark indexes."""
    composite = db.query("select * from scores.mac_composite order by date")
    pillars = headline_pillars(db.query("select * from scores.pillar_scores order by date"),
                               db.query("select * from scores.mac2_pillar_scores order by date"))
    benchmarks = {s.id: db.query(f"select date, value from raw.{s.asset_name} order by date")
                  for s in BENCHMARKS if db.has_table(f"raw.{s.asset_name}")}
    return composite, pillars, benchmarks


def build_report_assets(partitions) -> list[AssetsDefinition]:
    common = dict(**layer_asset_args("publish", partitions), kinds={"pandas"})

    @asset(name="validation_report",
           deps=[*SCORES, AssetKey(["scores", "mac2_readings"]), AssetKey(["raw", "spy"]),
                 *(AssetKey(["raw", s.asset_name]) for s in BENCHMARKS)], **common,
           description="Does MAC measure stress, out of sample? The pre-registered train (to 2014) / test (2015 on) "
                       "table for mac-1.x, both mac-2.0 readings, the extended MAC, STLFSI4 and NFCI; the headline "
                       "rule's verdict; every frozen choice; rank correlations and MAC's lowest readings.")
    def validation_report(context: AssetExecutionContext, warehouse: Warehouse,
                          report_files: ReportsFolder) -> MaterializeResult:
        composite, pillars, benchmarks = _load(warehouse)
        mac1 = warehouse.query("select * from scores.mac1_composite order by date")
        mac2 = warehouse.query("select * from scores.mac2_readings order by date")
        extended = (warehouse.query("select date, mac_extended from extension.mac_extended order by date")
                    if warehouse.has_table("extension.mac_extended") else None)
        spy = warehouse.query("select date, value from raw.spy order by date")
        text = f"# MAC validation ({METHODOLOGY_VERSION}, {MAC2_VERSION})\n\n"
        table, verdict = pd.DataFrame(), "not judged: no benchmark or SPY rows"
        if {"STLFSI4", "NFCI"} <= set(benchmarks) and len(spy):
            table = validation.metrics(validation.Inputs(validation.readings(mac1, mac2, extended),
                                                         benchmarks["STLFSI4"], benchmarks["NFCI"], spy))
            wins, won = validation.beats(table, validation.MAC2_STRESS, validation.MAC1)
            verdict = (f"mac-2.0 stress {'beats' if wins else 'does not beat'} mac-1.x on this data "
                       f"({len(won)} of 5 test metrics)")
            text += (f"## Out of sample: train to 2014, test from 2015\n\n{validation.__doc__.split(chr(10) * 2, 1)[1]}\n"
                     f"{_md(table)}\n\n**Headline rule on this data:** mac-2.0's stress reading is better than mac-1.x "
                     f"on {len(won)} of 5 test metrics ({', '.join(won) or 'none'}), so it "
                     f"{'beats' if wins else 'does not beat'} it. The headline shipped is `{HEADLINE_METHODOLOGY}` "
                     f"(thresholds.HEADLINE_METHODOLOGY, decided on the real history; README).\n\n"
                     f"## Every choice, and how it was set\n\n{_md(validation.frozen_choices())}\n\n"
                     f"## Episodes\n\n{_md(pd.DataFrame([vars(e) for e in EPISODES]))}\n\n")
        correlations, deciles, lowest = reports.validation_tables(composite, pillars, benchmarks)
        text += (f"## The headline against the official indexes, whole history\n\nSpearman rank correlation (negative: MAC "
                 f"falls when stress rises)\n\n{_md(correlations)}\n\nMAC in the weeks the benchmark was in its top "
                 f"decile\n\n{_md(deciles)}\n\nLowest readings (one per 30 days)\n\n{_md(lowest)}\n")
        path = reports.write(report_files.file("validation.md"), text)
        # The report itself is the file; the instance keeps where it is and its verdict, not a copy per run.
        return MaterializeResult(metadata=with_latest(context, {}, {
            "path": str(path), "verdict": verdict,
            "series_judged": int(table["series"].nunique()) if len(table) else 0}))

    @asset(name="mac_report", deps=SCORES + [AssetKey(["publish", "validation_report"])], **common,
           description="Charts (history with status bands and stress episodes, stacked pillar contributions, "
                       "pillar heatmap) and a one-page static HTML report.")
    def mac_report(context: AssetExecutionContext, warehouse: Warehouse, report_files: ReportsFolder) -> MaterializeResult:
        composite, pillars, benchmarks = _load(warehouse)
        scored = composite.dropna(subset=["mac"])
        freshness = series_freshness(warehouse.path)[["series_id", "provider", "tier", "newest_observation",
                                                    "age_days", "stale_after_days", "freshness"]]
        solid = headline_days(composite)
        if solid.empty:  # no day may be headlined: say why instead of drawing a number nobody should read
            reason = no_headline_reason(composite)
            page = reports.render_no_composite(freshness, METHODOLOGY_VERSION, reason)
            html_path = reports.write(report_files.file("mac_report.html"), page)
            return MaterializeResult(metadata=with_latest(context, {}, {"headline": f"none: {reason}",
                                                                      "html": str(html_path)}))
        charts = reports.charts(scored, pillars)
        files = {name: reports.write(report_files.file(name.lower().replace(" ", "_") + ".png"), png)
                 for name, png in charts.items()}
        latest = solid.iloc[-1]
        day_pillars = pillars[pillars["date"] == latest["date"]][["pillar", "score", "status", "contribution"]]
        page = reports.render_html(latest, day_pillars, freshness, charts, str(latest["methodology_version"]),
                                   reports.correlation_table(composite, pillars, benchmarks))
        html_path = reports.write(report_files.file("mac_report.html"), page)
        # Charts stay in their files (an embedded image would be stored again with every run).
        headline = f"{latest['mac']:.3f} ({latest['status']}) on {latest['date'].date()}"
        return MaterializeResult(metadata=with_latest(context, {}, {
            "headline": headline, "html": str(html_path), **{name: str(path) for name, path in files.items()}}))

    @asset(name="quarterly_review", deps=SCORES, **common,
           description="Quarterly review (seed spec): which Tier 2/3 sources are live, where every threshold "
                       "anchor sits in its indicator's history, each pillar in the worst periods, pillar map.")
    def quarterly_review(context: AssetExecutionContext, warehouse: Warehouse,
                         report_files: ReportsFolder) -> MaterializeResult:
        composite, pillars, _ = _load(warehouse)
        indicators = warehouse.query("select indicator, value from scores.indicator_scores")
        sources = series_freshness(warehouse.path)
        sources = sources[sources["tier"] >= 2][["series_id", "title", "provider", "tier", "newest_observation",
                                                  "freshness", "loaded_from"]]
        anchors = reports.anchor_percentiles(indicators)
        worst = reports.worst_period_pillars(composite, pillars)
        assignment = pd.DataFrame([{"indicator": t.indicator, "pillar": t.pillar, "metric": t.metric}
                                   for t in THRESHOLDS])
        text = (f"# Quarterly review ({METHODOLOGY_VERSION})\n\n## 1. Tier 2 and Tier 3 sources\n\n{_md(sources)}\n\n"
                f"## 2. Threshold anchors against history\n\n{_md(anchors)}\n\n"
                f"## 3. Pillars on the composite's lowest days\n\n{_md(worst)}\n\n"
                f"## 4. Pillar assignments\n\n{_md(assignment)}\n")
        path = reports.write(report_files.file("quarterly_review.md"), text)
        return MaterializeResult(metadata=with_latest(context, {}, {"path": str(path)}))

    return [validation_report, mac_report, quarterly_review]


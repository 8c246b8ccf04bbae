"""Report assets: validation against STLFSI4/NFCI/ANFCI, charts + HTML page, and the quarterly review.

They read whole tables (reports are about the full history, not one partition) and write files to
MAC_REPORTS_DIR (default `reports/`). Each file is also summarised in the asset's metadata in the UI.
"""

import base64
from pathlib import Path

import pandas as pd
from dagster import AssetKey, AssetsDefinition, ConfigurableResource, MaterializeResult, MetadataValue, asset
from pydantic import Field

from mac_assets.catalog import BENCHMARKS
from mac_assets.partitions import layer_asset_args
from mac_assets.publish import reports
from mac_assets.publish.bi import series_freshness
from mac_assets.storage import MacDatabase
from mac_assets.thresholds import HEADLINE_MIN_COVERAGE, METHODOLOGY_VERSION, THRESHOLDS

SCORES = [AssetKey(["scores", n]) for n in ("indicator_scores", "pillar_scores", "mac_composite")]


class ReportsFolder(ConfigurableResource):
    path: str = Field(default="reports", description="Where report files are written (MAC_REPORTS_DIR).")

    def file(self, name: str) -> Path:
        return Path(self.path) / name


def _md(frame: pd.DataFrame) -> str:
    if not len(frame):
        return "_no data_"
    days = {c: frame[c].dt.date for c in frame.columns if pd.api.types.is_datetime64_any_dtype(frame[c])}
    return frame.assign(**days).to_markdown(index=False, floatfmt=".3f")


def _load(db: MacDatabase):
    composite = db.query("select * from scores.mac_composite order by date")
    pillars = db.query("select date, pillar, score, contribution, status from scores.pillar_scores order by date")
    benchmarks = {s.id: db.query(f"select date, value from raw.{s.asset_name} order by date")
                  for s in BENCHMARKS if db.has_table(f"raw.{s.asset_name}")}
    return composite, pillars, benchmarks


def build_report_assets(partitions) -> list[AssetsDefinition]:
    common = dict(**layer_asset_args("publish", partitions), kinds={"pandas"})

    @asset(name="validation_report", deps=[*SCORES, *(AssetKey(["raw", s.asset_name]) for s in BENCHMARKS)], **common,
           description="Does MAC measure stress? Rank correlation with STLFSI4, NFCI and ANFCI, MAC in the "
                       "benchmarks' top-decile weeks, and MAC's lowest readings.")
    def validation_report(mac_db: MacDatabase, report_files: ReportsFolder) -> MaterializeResult:
        composite, pillars, benchmarks = _load(mac_db)
        correlations, deciles, lowest = reports.validation_tables(composite, pillars, benchmarks)
        text = (f"# MAC validation ({METHODOLOGY_VERSION})\n\nSpearman rank correlation with official stress "
                f"indexes (negative: MAC falls when stress rises)\n\n{_md(correlations)}\n\nMAC in the weeks the "
                f"benchmark was in its top decile\n\n{_md(deciles)}\n\nLowest readings (one per 30 days)\n\n{_md(lowest)}\n")
        path = reports.write(report_files.file("validation.md"), text)
        return MaterializeResult(metadata={"report": MetadataValue.md(text), "path": str(path),
                                           "weeks_compared": int(correlations["weeks"].sum()) if len(correlations) else 0})

    @asset(name="mac_report", deps=SCORES + [AssetKey(["publish", "validation_report"])], **common,
           description="Charts (history with status bands and stress episodes, stacked pillar contributions, "
                       "pillar heatmap) and a one-page static HTML report.")
    def mac_report(mac_db: MacDatabase, report_files: ReportsFolder) -> MaterializeResult:
        composite, pillars, benchmarks = _load(mac_db)
        scored = composite.dropna(subset=["mac"])
        freshness = series_freshness(mac_db.path)[["series_id", "provider", "tier", "newest_observation",
                                                    "age_days", "stale_after_days", "freshness"]]
        if scored.empty:  # too few pillars with data on every day: say so instead of drawing nothing
            page = reports.render_no_composite(freshness, METHODOLOGY_VERSION)
            html_path = reports.write(report_files.file("mac_report.html"), page)
            return MaterializeResult(metadata={"preview": MetadataValue.md("No composite yet: too few pillars have data."),
                                               "html": str(html_path)})
        charts = reports.charts(scored, pillars)
        files = {name: reports.write(report_files.file(name.lower().replace(" ", "_") + ".png"), png)
                 for name, png in charts.items()}
        solid = scored[scored["coverage"] >= HEADLINE_MIN_COVERAGE]
        latest = (solid if len(solid) else scored).iloc[-1]
        day_pillars = pillars[pillars["date"] == latest["date"]][["pillar", "score", "status", "contribution"]]
        page = reports.render_html(latest, day_pillars, freshness, charts, METHODOLOGY_VERSION,
                                   reports.correlation_table(composite, pillars, benchmarks))
        html_path = reports.write(report_files.file("mac_report.html"), page)
        thumbnail = base64.b64encode(charts["MAC history"]).decode()
        preview = (f"![MAC history](data:image/png;base64,{thumbnail})\n\n"
                   + "\n".join(f"- {name}: `{path}`" for name, path in files.items()) + f"\n- HTML report: `{html_path}`")
        return MaterializeResult(metadata={"preview": MetadataValue.md(preview), "html": str(html_path)})

    @asset(name="quarterly_review", deps=SCORES, **common,
           description="Quarterly review (seed spec): which Tier 2/3 sources are live, where every threshold "
                       "anchor sits in its indicator's history, each pillar in the worst periods, pillar map.")
    def quarterly_review(mac_db: MacDatabase, report_files: ReportsFolder) -> MaterializeResult:
        composite, pillars, _ = _load(mac_db)
        indicators = mac_db.query("select indicator, value from scores.indicator_scores")
        sources = series_freshness(mac_db.path)
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
        return MaterializeResult(metadata={"review": MetadataValue.md(text), "path": str(path)})

    return [validation_report, mac_report, quarterly_review]


"""The BI file: a read-only snapshot of the scores with a stable, documented `bi` schema.

Why a separate file: DuckDB lets one process write a database, and a reader that opens the working file
while a run writes it fails (or blocks the run). The pipeline therefore builds the `bi` tables in a
temporary file next to `MAC_BI_PATH` and renames it over the old one. The rename is atomic, so a BI tool
opening the path gets the previous complete snapshot or the new complete one, never a half-written state,
and nothing it holds open can block a run. The file is written in DuckDB's v1.0.0 storage format, so
BI tools that bundle an older DuckDB (1.x) can open it.

`BI_CONTRACT` is the one description of the published tables: it drives the column comments in DuckDB
and `docs/bi.md`.
"""

from __future__ import annotations

import array
import fcntl
import json
import logging
import os
import re
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb
import pandas as pd

from mac_assets import keys
from mac_assets.catalog import SERIES, SERIES_BY_ID
from mac_assets.derived.registry import METRICS_BY_NAME, metric_input_series
from mac_assets.infra.lake import is_lake
from mac_assets.infra.sql import identifier, literal
from mac_assets.infra.warehouse import StorageError, alive, connect, fetch, retrying_conflicts, transaction
from mac_assets.scores.compute import headline_days
from mac_assets.scores.extension import LINEAR_COMPONENTS
from mac_assets.scores.headline import HEADLINE_VERSION, headline_indicators, headline_pillars
from mac_assets.thresholds import (
    CORE_THRESHOLDS,
    EXTENSION_VERSION,
    HEADLINE_METHODOLOGY,
    MAC2_INDICATORS,
    MAC2_VERSION,
    METHODOLOGY_VERSION,
    READING_BANDS,
    THRESHOLDS,
)

STORAGE_VERSION = "v1.0.0"  # readable by DuckDB 1.0 and later
logger = logging.getLogger("mac_assets.publish")

_STATUS = ("published status: the band, changed only after the reading has stayed {days} business days in a new one "
           "(into breach at once): ample, comfortable, thin, stretched, breach; or no_data / insufficient_data")
_HISTORY_COLUMNS = {
    "date": "business day", "mac": "Market Absorption Capacity, the headline: 0 (breach) to 1 (ample); missing when "
    "withheld",
    "status": _STATUS.format(days=READING_BANDS[f"{HEADLINE_METHODOLOGY} stress"].quiet_days),
    "band": "the day's own band, before the quiet rule: rarity on training years (breach = stress above its 98th "
            "percentile of 1998-2014, stretched 90th-98th, thin 70th-90th, comfortable 30th-70th, ample below)",
    "coverage": "share of the reading's weight measured, not imputed, 0-1 (withheld below 0.5)",
    "pillars_available": "pillars with at least one indicator that day",
    "methodology_version": "the headline methodology and reading (e.g. mac-2.1 stress)",
    "seed_mac": "the seed methodology's composite (mac-1.x, fixed anchors, seven pillars) that day, for comparison",
    "systemic_mac": "mac-3.0's stress reading, 0-1: the same pillars aggregated like portfolio risk (ECB CISS), so "
                    "stress in several markets at once weighs more",
    "systemic_status": "published status of systemic_mac",
    "buildup_mac": "the build-up reading (slow vulnerabilities: leverage, tight spreads, calm, policy room), 0-1",
    "buildup_status": "published status of buildup_mac",
    "risk_12m": "probability that SPY closes 15 % or more below the day's close within 252 business days (mac-3.0's "
                "logistic curve, fitted on 1997-2014; it failed its out-of-sample test: README)",
    "risk_base_rate": "share of training weeks that saw such a fall: the risk with no information",
    "risk_in_sample": "true before 2015: the risk curve was fitted on these days"}
_PILLAR_ROWS = {
    "date": "business day", "pillar": "pillar name", "stress": "mean stress of the pillar's indicators, 0-1 "
    "(each indicator's percentile in its own history since 1990, oriented so 1 is the most stress)",
    "score": "1 − stress", "weight": "the pillar's weight that day: stress / Σ stress over the reading's pillars "
    "(an imputed pillar at most an equal share)", "contribution": "weight × score; a day's contributions add up to mac",
    "contribution_change": "contribution minus the previous business day's",
    "change_from_score": "the part of contribution_change from the score moving, at yesterday's weight",
    "change_from_weight": "the part of contribution_change from the weight moving, at today's score",
    "coverage": "share of the pillar's indicators with data", "indicators_available": "indicators with data",
    "indicators_total": "indicators in the pillar", "imputed": "no indicator had data: stress imputed at 0.5",
    "status": "published status of the pillar (its stress banded at the rarity quantiles, quiet as the headline)",
    "methodology_version": "methodology version"}

# table → (description, {column: comment}), in creation order (mac_latest reads mac_history)
BI_CONTRACT: dict[str, tuple[str, dict[str, str]]] = {
    "mac_history": ("One row per business day: the headline MAC, its status and band, and every other reading beside "
                    "it (seed, systemic, build-up, 12-month risk).", _HISTORY_COLUMNS),
    "mac_latest": ("The latest reading backed by at least half of the methodology's weight (one row, columns as "
                   "mac_history).", _HISTORY_COLUMNS),
    "pillar_scores": ("One row per business day and pillar of the headline reading: what it weighs, what it "
                      "contributes, and how much of a day's move came from its score and how much from its weight.",
                      _PILLAR_ROWS),
    "indicator_detail": ("One row per business day and indicator of the headline reading: the value known that day, "
                         "its percentile, stress and score, and its share of the headline (contributions add up to "
                         "mac; a pillar without any input is one row `imputed: <pillar>`).", {
        "date": "business day", "indicator": "indicator name", "pillar": "pillar", "metric": "derived metric or raw "
        "series the value comes from", "value": "value known that day, in `units`", "units": "units of value",
        "percentile": "rank of the value among every value known since 1990, 0-1", "stress_when": "high, low or "
        "extreme: which way of the percentile is stress", "stress": "0-1, 1 = most stressed", "score": "1 − stress",
        "weight": "the indicator's share of the reading's weight: its pillar's weight ÷ the pillar's indicators with data",
        "contribution": "weight × score; a day's contributions add up to mac",
        "contribution_change": "contribution minus the previous business day's: what moved the headline that day",
        "obs_date": "observation date of the value",
        "publication_date": "day the value became public (observation date + publication lag, or the day the "
                            "provider released that version)",
        "sources": "providers of the metric's raw series (fred, cboe, cftc, yahoo, binance, …)",
        "delivered_by": "who actually delivered the stored rows, per input series (a fallback shows as "
                        "e.g. fred:CBBTCUSD, a continuation as csv:RIFSPPFAAD90NB, a CSV drop as csv)",
        "reason": "why the indicator is in the reading", "methodology_version": "methodology version"}),
    "buildup_pillars": ("One row per business day and pillar of the build-up reading (columns as pillar_scores): "
                        "the slow vulnerabilities behind buildup_mac.", _PILLAR_ROWS),
    "systemic_pillars": ("mac-3.0's stress reading (systemic_mac), one row per business day and pillar: the stress a "
                         "pillar adds counting its correlation with the others, and the capacity it leaves.", {
        "date": "business day", "pillar": "pillar name", "stress": "the pillar's stress, 0-1", "weight": "fixed, 1/4",
        "stress_contribution": "weight × stress × (its correlation-weighted pull on the others) ÷ the reading's "
                               "stress; they add up to 1 − systemic_mac",
        "contribution": "weight − stress_contribution: the capacity it leaves; they add up to systemic_mac",
        "imputed": "no indicator had data: stress imputed at 0.5", "status": "published status of the pillar",
        "methodology_version": "methodology version"}),
    "seed_pillar_scores": ("The seed methodology (mac-1.x, seed_mac): one row per business day and pillar.", {
        "date": "business day", "pillar": "pillar name", "score": "mean of the pillar's available indicator scores",
        "weight": "the pillar's weight that day, renormalised over pillars with data",
        "contribution": "weight × score; they add up to seed_mac", "coverage": "share of the pillar's indicators with data",
        "indicators_available": "indicators with data", "indicators_total": "indicators in the pillar",
        "status": "status band of the pillar score (fixed: ample ≥ 0.8, comfortable ≥ 0.6, thin ≥ 0.4, stretched ≥ "
                  "0.2)", "methodology_version": "methodology version"}),
    "seed_indicator_detail": ("The seed methodology (mac-1.x): one row per business day and indicator, scored against "
                              "fixed anchors (seed_methodology).", {
        "date": "business day", "indicator": "indicator name", "pillar": "pillar", "tier": "data tier 1-3",
        "value": "value known that day, in `units`", "units": "units of value and anchors",
        "score": "score 0-1", "status": "status band", "obs_date": "observation date of the value",
        "publication_date": "day the value became public", "metric": "derived metric or raw series",
        "sources": "providers of the metric's raw series", "delivered_by": "who delivered the stored rows",
        "shape": "anchors, range or breakpoints",
        "direction": "lower_is_better, higher_is_better or two_sided", "anchors": "the scoring anchors, readable",
        "methodology_version": "methodology version"}),
    "series_freshness": ("One row per raw series: how new its data is against its staleness limit.", {
        "series_id": "catalog id", "title": "what the series is", "provider": "where it comes from",
        "tier": "data tier 1-3", "frequency": "native frequency", "units": "units",
        "publication_lag_days": "days from observation to publication",
        "stale_after_days": "largest normal age of the newest observation",
        "newest_observation": "newest observation date stored", "age_days": "days from it to the publication day",
        "rows": "observations stored (a revised series: one per version)",
        "loaded_from": "source of the rows (demo, live, csv)",
        "delivered_by": "providers that delivered the stored rows (the catalog's, a fallback, a continuation, csv)",
        "freshness": "fresh, stale, discontinued or no_data"}),
    "methodology": ("The headline methodology's indicators: reading, pillar, input and which way is stress.", {
        "indicator": "indicator name", "reading": "stress (the headline) or buildup", "pillar": "pillar",
        "metric": "input metric", "sources": "providers of the metric's raw series", "units": "units",
        "stress_when": "high, low or extreme", "reason": "why it is in the reading",
        "methodology_version": "methodology version"}),
    "seed_methodology": ("The seed methodology's thresholds table (mac-1.x and the extension): how each indicator is "
                         "scored, why, and how its numbers were set.", {
        "indicator": "indicator name", "pillar": "pillar", "metric": "input metric",
        "sources": "providers of the metric's raw series", "units": "units",
        "shape": "anchors, range or breakpoints", "direction": "which way is better",
        "anchors": "the anchors, readable", "reference": "where the numbers come from",
        "how_set": "seed spec, upstream research code, training years, a priori, or test years",
        "methodology_version": "methodology version"}),
    "status_changes": ("Every day the headline or one of its pillars moved to another published status.", {
        "date": "business day", "scope": "composite or the pillar's name", "previous_status": "status before",
        "status": "status after", "direction": "worse or better", "value": "score after the move"}),
    "mac_extended": ("One row per business day: the seven-pillar MAC next to the extended MAC (docs/extension.md), "
                     "with every contribution. Empty when the extension is switched off (MAC_EXTENSION=off).", {
        "date": "business day", "mac": "the seven-pillar MAC of mac-1.x (mac_history.seed_mac)",
        "mac_extended": "MAC with the extension: nine components, correlation and compression terms; 0-1",
        "status": "status band of mac_extended", "mac_linear": "the nine components' weighted sum, before both terms",
        "coverage": "share of the nine components' weight backed by data",
        "correlation_share": "cross term / linear stress: the share of capacity lost to components stressed together",
        "compression_score": "compression indicator score, 0-1 (1 = no stored-up stress)",
        "compression_haircut": "share of the remaining capacity the compression term takes",
        "yen_carry_score": "yen-carry component score, 0-1", "cross_asset_score": "cross-asset correlation score, 0-1",
        **{f"{c}_contribution": f"{c} weight × score (weights renormalised over the nine components)"
           for c in LINEAR_COMPONENTS},
        "correlation_contribution": "systemic term, ≤ 0 when stresses move together (a credit when they offset)",
        "compression_contribution": "compression haircut, ≤ 0; all contributions add up to mac_extended",
        "methodology_version": "core and extension versions"}),
    "publication": ("When this snapshot was published and what it holds (one row).", {
        "published_at": "UTC time the snapshot was published", "methodology_version": "the headline methodology",
        "first_date": "first business day scored", "last_date": "the headline's day: the latest day with a published "
        "headline (bi.mac_latest)", "scored_through": "last business day scored (later days may rest on too little data)",
        "source": "source of the raw data (demo, live, csv)",
        "demo": "true when the numbers come from the demo generator, not from markets"}),
}


def metric_sources(metric: str) -> str:
    """The providers behind a metric: its raw series' source, or those of a derived metric's inputs."""
    return ", ".join(sorted({s.provider for s in metric_input_series(metric)}))


def metric_inputs_frame() -> pd.DataFrame:
    """(metric, series_id, table_name) for every scored metric: joins a score to the raw rows behind it."""
    metrics = {t.metric for t in THRESHOLDS} | {i.metric for i in MAC2_INDICATORS}
    return pd.DataFrame([{"metric": m, "series_id": s.id, "table_name": s.asset_name}
                         for m in sorted(metrics) for s in metric_input_series(m)]).drop_duplicates()


def seed_methodology_frame() -> pd.DataFrame:
    return pd.DataFrame([{
        "indicator": t.indicator, "pillar": t.pillar, "metric": t.metric, "sources": metric_sources(t.metric),
        "units": t.units, "shape": t.shape, "direction": t.direction, "anchors": t.anchors_text(),
        "reference": t.reference, "how_set": t.how_set,
        "methodology_version": METHODOLOGY_VERSION if t in CORE_THRESHOLDS else EXTENSION_VERSION,
    } for t in THRESHOLDS])


def methodology_frame() -> pd.DataFrame:
    """The headline methodology's indicators (mac-2.x's table), with the units of their metrics."""
    return pd.DataFrame([{
        "indicator": i.indicator, "reading": i.reading, "pillar": i.pillar, "metric": i.metric,
        "sources": metric_sources(i.metric), "units": metric_units(i.metric), "stress_when": i.stress_when,
        "reason": i.reason, "methodology_version": MAC2_VERSION,
    } for i in MAC2_INDICATORS])


def metric_units(metric: str) -> str:
    return METRICS_BY_NAME[metric].units if metric in METRICS_BY_NAME else SERIES_BY_ID[metric].units


def catalog_frame() -> pd.DataFrame:
    return pd.DataFrame([{
        "series_id": s.id, "table_name": s.asset_name, "title": s.title, "provider": s.provider, "tier": s.tier,
        "frequency": s.frequency, "units": s.units, "publication_lag_days": s.lag_days,
        "stale_after_days": s.stale_after_days, "discontinued": s.end_date is not None,
    } for s in SERIES])


def _headline_frames(con: duckdb.DuckDBPyConnection, src: str) -> dict[str, pd.DataFrame]:
    """The headline reading's pillar and indicator rows (scores/headline.py) and the build-up reading's pillars,
    registered for the `bi` statements."""
    pillars = fetch(con, f"select * from {identifier(src)}.{keys.MAC2_PILLAR_SCORES} order by date, reading, pillar", [])
    indicators = fetch(con, f"select * from {identifier(src)}.{keys.MAC2_INDICATOR_SCORES}", [])
    return {"headline_pillars_frame": headline_pillars(pillars),
            "headline_indicators_frame": headline_indicators(indicators, pillars),
            "buildup_pillars_frame": headline_pillars(pillars, reading="buildup")}


def _raw_tables(con: duckdb.DuckDBPyConnection, src: str) -> dict[str, bool]:
    """Raw table name → whether its rows record the provider that delivered them."""
    return dict(con.execute(
        "select t.table_name, count(c.column_name) > 0 from duckdb_tables() t left join duckdb_columns() c "
        "on c.database_name = t.database_name and c.schema_name = t.schema_name and c.table_name = t.table_name "
        "and c.column_name = 'provider' where t.database_name = ? and t.schema_name = 'raw' group by t.table_name",
        [src]).fetchall())


@contextmanager
def _working(working_db: str) -> Iterator[tuple[duckdb.DuckDBPyConnection, str]]:
    """A connection to the working database and the catalog name its tables live under.

    Through `storage.connect`, so during a run it shares the database the run holds open (a separate
    read-only attach of the same file would be refused) and outside a run it opens it read-only.
    """
    with connect(working_db, read_only=True) as con:
        con.register("methodology_frame", methodology_frame())
        con.register("seed_methodology_frame", seed_methodology_frame())
        con.register("catalog_frame", catalog_frame())
        con.register("metric_inputs_frame", metric_inputs_frame())
        yield con, con.execute("select current_database()").fetchone()[0]


def series_freshness(working_db: str) -> pd.DataFrame:
    """Every catalog series with its newest stored observation, age and freshness (bi.series_freshness)."""
    with _working(working_db) as (con, src):
        return con.execute(_statements(src, _raw_tables(con, src))["series_freshness"]).fetchdf()


def _extension_statement(src: str, present: bool) -> str:
    columns = list(BI_CONTRACT["mac_extended"][1])
    if present:
        return f"select {', '.join(columns)} from {src}.{keys.MAC_EXTENDED} order by date"
    typed = {"date": "date", "status": "varchar", "methodology_version": "varchar"}
    return "select " + ", ".join(f"null::{typed.get(c, 'double')} as {c}" for c in columns) + " where false"


def _has_extension(con: duckdb.DuckDBPyConnection, src: str) -> bool:
    return bool(con.execute("select count(*) from duckdb_tables() where database_name = ? "
                            "and schema_name = ? and table_name = ?", [src, *keys.MAC_EXTENDED.path]).fetchone()[0])


def _statements(src: str, raw_tables: dict[str, bool], extension: bool = False, headline: str = "") -> dict[str, str]:
    """SQL for each published table; `src` is the catalog name of the working database, `headline` the
    day `scores.compute.headline_days` picks for bi.mac_latest (none: an empty mac_latest)."""
    src = identifier(src)
    delivered = {name: "string_agg(distinct provider, ', ' order by provider)" if has_provider else "null::varchar"
                 for name, has_provider in raw_tables.items()}
    delivery = ("select mi.metric, string_agg(mi.series_id || ': ' || coalesce(s.delivered_by, 'nothing stored'), "
                "'; ' order by mi.series_id) as delivered_by from metric_inputs_frame mi left join stored s "
                "using (table_name) group by mi.metric")
    freshness_union = " union all ".join(
        f"select {literal(name)} as table_name, max(date) as newest, count(*) as n, any_value(source) as loaded_from, "
        f"{delivered[name]} as delivered_by from {src}.raw.{identifier(name)}" for name in raw_tables) or \
        "select null::varchar as table_name, null::date as newest, 0 as n, null::varchar as loaded_from, " \
        "null::varchar as delivered_by where false"
    history = ", ".join(BI_CONTRACT["mac_history"][1])
    return {
        "mac_history": f"select {history} from {src}.{keys.MAC_COMPOSITE} order by date",
        "mac_latest": f"select * from bi.mac_history where date = date {literal(headline)}" if headline else
                      "select * from bi.mac_history where false",
        "pillar_scores": f"select {', '.join(BI_CONTRACT['pillar_scores'][1])} from headline_pillars_frame "
                         "order by date, pillar",
        "indicator_detail": f"""
            with stored as ({freshness_union}),
            delivery as ({delivery})
            select i.date, i.indicator, i.pillar, i.metric, i.value, m.units, i.percentile, m.stress_when, i.stress,
                   i.score, i.weight, i.contribution, i.contribution_change, i.obs_date,
                   i.available_date as publication_date, m.sources,
                   d.delivered_by, m.reason, i.methodology_version
            from headline_indicators_frame i left join methodology_frame m using (indicator)
                 left join delivery d on d.metric = i.metric
            order by i.date, i.pillar, i.indicator""",
        "buildup_pillars": f"select {', '.join(BI_CONTRACT['buildup_pillars'][1])} from buildup_pillars_frame "
                           "order by date, pillar",
        "systemic_pillars": f"select {', '.join(BI_CONTRACT['systemic_pillars'][1])} from {src}.{keys.MAC3_PILLAR_SCORES} "
                            "order by date, pillar",
        "seed_pillar_scores": f"select {', '.join(BI_CONTRACT['seed_pillar_scores'][1])} from {src}.{keys.PILLAR_SCORES} "
                              "order by date, pillar",
        "seed_indicator_detail": f"""
            with stored as ({freshness_union}),
            delivery as ({delivery})
            select i.date, i.indicator, i.pillar, i.tier, i.value, m.units, i.score, i.status, i.obs_date,
                   i.available_date as publication_date, m.metric, m.sources, d.delivered_by, m.shape, m.direction,
                   m.anchors, i.methodology_version
            from {src}.{keys.INDICATOR_SCORES} i join seed_methodology_frame m using (indicator)
                 left join delivery d on d.metric = m.metric
            order by i.date, i.indicator""",
        "series_freshness": f"""
            with stored as ({freshness_union})
            select c.series_id, c.title, c.provider, c.tier, c.frequency, c.units, c.publication_lag_days,
                   c.stale_after_days, s.newest as newest_observation,
                   (current_date - s.newest) as age_days, coalesce(s.n, 0) as rows, s.loaded_from, s.delivered_by,
                   case when c.discontinued then 'discontinued'
                        when s.newest is null then 'no_data'
                        when current_date - s.newest > c.stale_after_days then 'stale'
                        else 'fresh' end as freshness
            from catalog_frame c left join stored s using (table_name)
            order by c.tier, c.series_id""",
        "methodology": "select * from methodology_frame",
        "seed_methodology": "select * from seed_methodology_frame",
        "mac_extended": _extension_statement(src, extension),
        "status_changes": f"select * from {src}.{keys.STATUS_CHANGES} order by date, scope",
        "publication": f"""
            select now()::timestamp as published_at, {literal(HEADLINE_VERSION)} as methodology_version,
                   min(date) as first_date, {f"date {literal(headline)}" if headline else "null::date"} as last_date,
                   max(date) as scored_through, (select any_value(loaded_from) from series_freshness_tmp) as source,
                   coalesce((select any_value(loaded_from) from series_freshness_tmp) = 'demo', false) as demo
            from {src}.{keys.MAC_COMPOSITE}""",
    }


def publish(working_db: str, bi_path: str, source: str) -> dict[str, int]:
    """Build the `bi` tables from the working database into a new file and swap it in atomically, read-only.

    Refuses to replace a file this pipeline did not publish, or another source's snapshot (see
    `_replaceable`). A `<bi file>.wal` beside the snapshot is removed first: a snapshot is never written,
    so such a log can only come from a reader that opened it read-write and died, and DuckDB would replay
    it onto the new snapshot. Temporary files of earlier publishes whose process is gone are removed.
    Returns rows per table.
    """
    target = Path(bi_path)
    target.parent.mkdir(parents=True, exist_ok=True)
    _sweep_temporary_files(target)
    _replaceable(target, source)
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    _remove(tmp)
    with _working(working_db) as (con, src):
        try:
            rows = _build(con, src, tmp)
        except Exception as exc:
            _remove(tmp)
            if isinstance(exc, duckdb.Error) and _write_failed(exc):
                raise _disk_error(tmp, exc) from exc
            raise
    stale_wal = target.with_name(target.name + ".wal")
    if stale_wal.exists():
        logger.warning(f"{stale_wal} was left by a reader that opened the snapshot read-write; removed so it cannot "
                       "be replayed onto the new snapshot (open BI files read-only)")
        stale_wal.unlink()
    tmp.chmod(0o444)
    _immutable(target, False)  # an immutable file can be neither replaced nor renamed
    os.replace(tmp, target)  # atomic: readers see the old snapshot or the new one, nothing between
    _read_only(target)
    stat = target.stat()
    _owner_record(target).write_text(json.dumps({"device": stat.st_dev, "inode": stat.st_ino, "source": source}))
    if is_lake(working_db):
        retrying_conflicts(working_db, "bi", lambda: _publish_into_lake(working_db, target))
    return rows


# Linux's inode flags (chattr): an immutable file cannot be opened for writing even by root.
FS_IOC_GETFLAGS, FS_IOC_SETFLAGS, FS_IMMUTABLE_FL = 0x80086601, 0x40086602, 0x10


def _read_only(path: Path) -> None:
    """Keep a published snapshot read-only on disk, so a reader's default (read-write) open fails at once with
    DuckDB's "Permission denied" instead of locking every other reader out and changing what they see.

    Mode 0444 (set before the swap) does that for every user but root, who ignores file modes: for root the
    file is also made immutable where the file system allows it (publish lifts the flag before replacing it)."""
    if os.geteuid() == 0 and not _immutable(path, True):
        logger.warning(f"{path.parent} has no immutable files: the snapshot is mode 0444, which root ignores; "
                       "run the pipeline as another user, or open the snapshot read-only")


def _immutable(path: Path, on: bool) -> bool:
    """Set or clear the immutable flag of a file root owns (Linux); False where it cannot be done."""
    if os.geteuid() != 0 or not path.is_file():
        return False
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    except OSError:
        return False
    try:
        flags = array.array("i", [0])
        fcntl.ioctl(fd, FS_IOC_GETFLAGS, flags, True)
        flags[0] = flags[0] | FS_IMMUTABLE_FL if on else flags[0] & ~FS_IMMUTABLE_FL
        fcntl.ioctl(fd, FS_IOC_SETFLAGS, flags)
        return True
    except OSError:
        return False
    finally:
        os.close(fd)


@contextmanager
def releasing_snapshots(folder: Path) -> Iterator[Path]:
    """On leaving, make every snapshot published under `folder` deletable again (test and bench clean-up; `make
    clean` uses chattr): an immutable file cannot be removed, even by root."""
    try:
        yield folder
    finally:
        for record in Path(folder).rglob(".*.published"):
            snapshot = record.with_name(record.name[1:-len(".published")])
            if snapshot.is_file():
                _immutable(snapshot, False)
                snapshot.chmod(0o644)


def _write_failed(exc: duckdb.Error) -> bool:
    return any(marker in str(exc) for marker in ("Could not write", "No space left", "CHECKPOINT during DETACH"))


def _disk_error(tmp: Path, exc: duckdb.Error) -> StorageError:
    """One line naming the snapshot's folder, the disk it is on and its free space, instead of DuckDB's checkpoint error."""
    folder = tmp.parent.resolve()
    mount = folder
    while not os.path.ismount(mount):
        mount = mount.parent
    reason = re.search(r'Could not write file "[^"]*": ([^\n]+)', str(exc))
    free = shutil.disk_usage(folder).free / 2**20
    return StorageError(f"bi snapshot: could not write {tmp} ({reason.group(1).strip() if reason else 'write failed'}); "
                        f"the disk mounted at {mount} has {free:,.1f} MB free. Make room there or set MAC_BI_PATH to a "
                        "file on another disk; the previous snapshot is unchanged")


def _publish_into_lake(working_db: str, snapshot: Path) -> None:
    """Copy the snapshot's `bi` tables into the lake's `bi` schema in one transaction.

    Readers that attach the lake read-only (README "Deploying for a team") then find the same tables,
    with the same contract, as in the snapshot file, all from one commit.
    """
    with connect(working_db) as con:
        con.execute(f"attach {literal(snapshot)} as bi_snapshot (read_only)")
        try:
            tables = [t for (t,) in con.execute("select table_name from duckdb_tables() where database_name = "
                                                "'bi_snapshot' and schema_name = 'bi' order by 1").fetchall()]
            with transaction(con):
                con.execute("create schema if not exists bi")
                for table in tables:
                    con.execute(f"create or replace table bi.{table} as select * from bi_snapshot.bi.{table}")
        except duckdb.Error as exc:
            raise StorageError(f"bi: publishing into the lake failed and was rolled back: {exc}") from exc
        finally:
            con.execute("detach bi_snapshot")


def _owner_record(target: Path) -> Path:
    """A small hidden file beside the snapshot naming the file this pipeline last published (device, inode)."""
    return target.with_name(f".{target.name}.published")


def _replaceable(target: Path, source: str) -> None:
    """Raise unless `target` is absent, or is a snapshot this pipeline published of the same source."""
    if not target.exists():
        return
    if target.is_dir():
        raise StorageError(f"MAC_BI_PATH={target} is a folder; name the snapshot file inside it")
    try:
        record = json.loads(_owner_record(target).read_text())
        if (record["device"], record["inode"]) == (target.stat().st_dev, target.stat().st_ino) and "source" in record:
            _same_source(target, record["source"], source)
            return
    except (OSError, ValueError, KeyError):
        pass
    try:
        con = duckdb.connect(str(target), read_only=True)
    except duckdb.Error as exc:
        raise StorageError(f"MAC_BI_PATH={target} exists and is not a snapshot this pipeline published "
                           f"({str(exc).splitlines()[0][:120]}); refusing to replace it. Choose another "
                           "MAC_BI_PATH or move the file away.") from None
    try:
        is_snapshot = con.execute("select count(*) from duckdb_tables() where schema_name = 'bi' "
                                  "and table_name = 'publication'").fetchone()[0] > 0
        published = con.execute("select any_value(source) from bi.publication").fetchone()[0] if is_snapshot else None
    finally:
        con.close()
    if not is_snapshot:
        raise StorageError(f"MAC_BI_PATH={target} is a DuckDB file but not a MAC snapshot (it has no "
                           "bi.publication table); refusing to replace it. Choose another MAC_BI_PATH.")
    _same_source(target, published, source)


def _same_source(target: Path, published: str | None, source: str) -> None:
    """One snapshot per source: replacing another source's would show its readers this source's numbers."""
    if published and published != source:
        raise StorageError(f"MAC_BI_PATH={target} is the snapshot of source {published!r} and this run's source is "
                           f"{source!r}: refusing to replace it. Give each source its own snapshot (the default, "
                           f"data/{source}/mac_bi.duckdb, is).")


def _sweep_temporary_files(target: Path) -> None:
    """Remove `.<name>.<pid>.tmp` (and its .wal) left by a publish whose process no longer runs."""
    pattern = re.compile(rf"^\.{re.escape(target.name)}\.(\d+)\.tmp(\.wal)?$")
    for path in target.parent.iterdir():
        match = pattern.match(path.name)
        if match and (int(match.group(1)) == os.getpid() or not alive(int(match.group(1)))):
            _remove(path)


def _remove(path: Path) -> None:
    for p in (path, path.with_name(path.name + ".wal")):
        _immutable(p, False)  # a publish killed after making its file read-only
        p.unlink(missing_ok=True)


def _build(con: duckdb.DuckDBPyConnection, src: str, tmp: Path) -> dict[str, int]:
    """Create every `bi` table in a new file attached to the working database's connection."""
    # read_only false: on a read-only connection an attached file would be read-only too.
    con.execute(f"attach {literal(tmp)} as out (storage_version {literal(STORAGE_VERSION)}, read_only false)")
    try:
        raw_tables = _raw_tables(con, src)
        con.execute("use out")
        con.execute("create schema bi")
        rows = {}
        for name, frame in _headline_frames(con, src).items():
            con.register(name, frame)
        composite = con.execute(f"select date, mac, status, coverage from {identifier(src)}.{keys.MAC_COMPOSITE}").fetchdf()
        days = headline_days(composite)
        headline = str(days["date"].iloc[-1].date()) if len(days) else ""
        statements = _statements(src, raw_tables, _has_extension(con, src), headline)
        con.execute(f"create temp table series_freshness_tmp as {statements['series_freshness']}")
        for table in BI_CONTRACT:
            con.execute(f"create table bi.{table} as {statements[table]}")
            description, columns = BI_CONTRACT[table]
            con.execute(f"comment on table bi.{table} is {literal(description)}")
            for column, comment in columns.items():
                con.execute(f"comment on column bi.{table}.{column} is {literal(comment)}")
            rows[table] = con.execute(f"select count(*) from bi.{table}").fetchone()[0]
        con.execute("checkpoint")
    finally:
        con.execute(f"use {identifier(src)}")
        con.execute("detach out")
    return rows




def published_columns(bi_path: str) -> dict[str, list[tuple[str, str, str]]]:
    """Each published table's columns as (name, DuckDB type, contract comment), in the contract's order."""
    with connect(bi_path, read_only=True) as con:
        rows = con.execute("select table_name, column_name, data_type from information_schema.columns "
                           "where table_schema = 'bi' order by table_name, ordinal_position").fetchall()
    types: dict[str, dict[str, str]] = {}
    for table, column, kind in rows:
        types.setdefault(table, {})[column] = kind
    return {table: [(c, kind, BI_CONTRACT[table][1].get(c, "")) for c, kind in types.get(table, {}).items()]
            for table in BI_CONTRACT}

"""The scores layer's Dagster wiring: indicator, pillar and composite scores, band crossings, and the extension.

One row per business day (and indicator or pillar). The maths is in `compute.py`, `extension.py` and
`changes.py`; here each asset loads its inputs (with the look-back `MetricInfo.lookback_days` says),
calls it, and keeps the rows of its partition window.

The extension's assets (group and schema `extension`) read the seven-pillar scores and never write
them, so switching the extension off (MAC_EXTENSION=off) removes them and leaves every core table
exactly as it was.
"""

import pandas as pd
from dagster import (
    AssetExecutionContext,
    AssetIn,
    AssetsDefinition,
    MetadataValue,
    Output,
    TimeWindowPartitionsDefinition,
)

from mac_assets import keys
from mac_assets.catalog import PILLARS, REFERENCE_START
from mac_assets.infra.alerts import emit
from mac_assets.infra.io_manager import input_with_lookback
from mac_assets.infra.partitions import in_window, window_bounds
from mac_assets.pointintime import utc_today
from mac_assets.policy import key, mac_asset, mac_multi_asset, with_latest
from mac_assets.scores.changes import ALERT_RECENT_DAYS, recent, status_changes
from mac_assets.scores.compute import (
    metric_frames,
    metric_info,
    score_calendar,
    score_composite,
    score_indicators,
    score_pillars,
)
from mac_assets.scores.extension import EXTENDED_CONTRIBUTIONS, VERSION, extended_composite, systemic_term
from mac_assets.scores.headline import HEADLINE_VERSION, headline_composite, headline_pillars
from mac_assets.scores.mac2 import MAC2_METRICS, compute_mac2
from mac_assets.scores.mac3 import compute_mac3
from mac_assets.thresholds import (
    CORE_THRESHOLDS,
    EXTENSION_THRESHOLDS,
    MAC2_VERSION,
    MAC3_VERSION,
    METHODOLOGY_VERSION,
    SYSTEMIC_CORRELATION_WINDOW,
    Threshold,
)

# Days read before the window so a band crossing on the window's first day is seen.
CROSSING_LOOKBACK_DAYS = 10
# Calendar days that hold the systemic correlation window's business days, with room for holidays.
CORRELATION_LOOKBACK_DAYS = SYSTEMIC_CORRELATION_WINDOW * 7 // 5 + 20


def metric_inputs(thresholds: tuple[Threshold, ...]) -> dict[str, AssetIn]:
    """One input per metric the thresholds score, read far enough back to know each metric's value on day one."""
    infos = [metric_info(m) for m in sorted({t.metric for t in thresholds})]
    return {i.input_name: input_with_lookback(i.table, i.lookback_days) for i in infos}


def _latest(frame: pd.DataFrame, columns: list[str]) -> dict:
    """The newest row's values as metadata (floats and strings only)."""
    scored = frame.dropna(subset=[columns[0]])
    if not len(scored):
        return {}
    last = scored.iloc[-1]
    meta = {"latest_date": str(last["date"].date())}
    for c in columns:
        value = last[c]
        meta[f"latest_{c}"] = float(value) if isinstance(value, (int, float)) and pd.notna(value) else str(value)
    return meta


def build_score_assets(partitions: TimeWindowPartitionsDefinition) -> list[AssetsDefinition]:
    common = dict(kinds={"duckdb", "pandas"})

    @mac_asset(
        keys.INDICATOR_SCORES, partitions, ins=metric_inputs(CORE_THRESHOLDS), **common,
        metadata={"methodology_version": METHODOLOGY_VERSION},
        description="One row per business day and indicator: the value public that day (per-series "
                    "publication lag), its score in [0, 1] and status band. Missing values stay missing.",
    )
    def indicator_scores(context: AssetExecutionContext, **inputs: pd.DataFrame) -> Output[pd.DataFrame]:
        out = score_indicators(metric_frames(inputs, (t.metric for t in CORE_THRESHOLDS)), score_calendar(*window_bounds(context)))
        return Output(out, metadata={
            "indicators": len(CORE_THRESHOLDS),
            "share_available": float(out["score"].notna().mean()) if len(out) else 0.0,
        })

    @mac_asset(
        keys.PILLAR_SCORES, partitions, ins={"indicator_scores": AssetIn(key(keys.INDICATOR_SCORES))}, **common,
        description="One row per business day and pillar: mean indicator score, coverage, renormalised "
                    "weight and contribution to the composite.",
    )
    def pillar_scores(indicator_scores: pd.DataFrame) -> Output[pd.DataFrame]:
        out = score_pillars(indicator_scores)
        return Output(out, metadata={"pillars": len(PILLARS)})

    @mac_asset(
        keys.MAC1_COMPOSITE, partitions, ins={"pillar_scores": AssetIn(key(keys.PILLAR_SCORES))}, **common,
        description="The seed methodology's composite (mac-1.x) per business day: the sum of pillar "
                    "contributions, its status band and coverage (share of methodology weight with data).",
    )
    def mac1_composite(context: AssetExecutionContext, pillar_scores: pd.DataFrame) -> Output[pd.DataFrame]:
        out = score_composite(pillar_scores)
        return Output(out, metadata=with_latest(context, {}, _latest(out, ["mac", "status", "coverage"])))

    @mac_asset(
        keys.MAC_COMPOSITE, partitions,
        ins={"mac1_composite": AssetIn(key(keys.MAC1_COMPOSITE)), "mac2_readings": AssetIn(key(keys.MAC2_READINGS)),
             "mac2_pillar_scores": AssetIn(key(keys.MAC2_PILLAR_SCORES)),
             "mac3_readings": AssetIn(key(keys.MAC3_READINGS))},
        **common, metadata={"headline_methodology": HEADLINE_VERSION}, required_resource_keys={"source"},
        description="The headline Market Absorption Capacity per business day, from the reading that won the "
                    "pre-registered out-of-sample test (thresholds.HEADLINE_METHODOLOGY): its score, the sum of its "
                    "pillar contributions, its quiet status and daily band, coverage; beside it mac-1.x (`seed_mac`), "
                    "mac-3.0's breadth-aware stress reading, the build-up reading and the 12-month drawdown risk.",
    )
    def mac_composite(context: AssetExecutionContext, mac1_composite: pd.DataFrame, mac2_readings: pd.DataFrame,
                      mac2_pillar_scores: pd.DataFrame, mac3_readings: pd.DataFrame) -> Output[pd.DataFrame]:
        out = headline_composite(mac1_composite, mac2_readings, mac2_pillar_scores, mac3_readings)
        # The story of the data in the UI: the latest reading, its status and coverage, and where the data came from.
        return Output(out, metadata=with_latest(context, {"source": context.resources.source.label},
                                                _latest(out, ["mac", "status", "coverage", "risk_12m", "seed_mac"])))

    @mac_asset(
        keys.STATUS_CHANGES, partitions,
        ins={"mac_composite": input_with_lookback(keys.MAC_COMPOSITE, CROSSING_LOOKBACK_DAYS),
             "mac2_pillar_scores": input_with_lookback(keys.MAC2_PILLAR_SCORES, CROSSING_LOOKBACK_DAYS)},
        **common,
        description="Every day on which the headline composite or one of its pillars crossed a status band; "
                    f"crossings in the last {ALERT_RECENT_DAYS} days are also sent as alerts.",
    )
    def status_changes_asset(context: AssetExecutionContext, mac_composite: pd.DataFrame,
                             mac2_pillar_scores: pd.DataFrame) -> Output[pd.DataFrame]:
        pillars = headline_pillars(mac2_pillar_scores)
        changes = in_window(status_changes(mac_composite, pillars), context)
        fresh = recent(changes, utc_today())
        for row in fresh.itertuples():  # a handful of rows at most: the last few days' crossings
            emit("status_band_crossed", {"date": str(row.date.date()), "scope": row.scope, "from": row.previous_status,
                                         "to": row.status, "direction": row.direction, "value": row.value},
                 log=context.log)
        return Output(changes, metadata={
            "crossings_in_window": len(changes),
            "alerts_sent": len(fresh),
            "recent_alerts": MetadataValue.md(
                "```\n" + (fresh.to_string(index=False) if len(fresh) else "none") + "\n```"),
        })

    return [indicator_scores, pillar_scores, mac1_composite, mac_composite, status_changes_asset]


# The percentile methodologies rank each day against every value since the reference start: read all of it.
WHOLE_HISTORY_DAYS = 200 * 366

# Output name → (table, description) of the one step that computes mac-2.x and mac-3.0.
PERCENTILE_OUTPUTS: dict[str, tuple[keys.Table, str]] = {
    "mac2_indicator_scores": (keys.MAC2_INDICATOR_SCORES,
        "mac-2.x, one row per business day and indicator: the value known that day, its percentile in its own history "
        "since the reference start, and its stress (1 = most stressed) and score."),
    "mac2_pillar_scores": (keys.MAC2_PILLAR_SCORES,
        "mac-2.x, one row per business day, reading and pillar: stress, score, the stress-dependent weight and "
        "contribution, the share of the reading's weight imputed, and the quiet status."),
    "mac2_readings": (keys.MAC2_READINGS,
        "mac-2.x, one row per business day: the stress reading (what markets price now; the headline) and the build-up "
        "reading (slow vulnerabilities), each with its daily band, quiet status and coverage."),
    "mac3_pillar_scores": (keys.MAC3_PILLAR_SCORES,
        "mac-3.0, one row per business day and stress pillar: stress, the stress it adds counting its correlation with "
        "the other pillars (CISS), and the capacity it leaves."),
    "mac3_readings": (keys.MAC3_READINGS,
        "mac-3.0, one row per business day: the breadth-aware stress reading, the build-up reading, their bands and "
        "quiet statuses, and the 12-month drawdown risk with its training base rate."),
}


def build_percentile_assets(partitions: TimeWindowPartitionsDefinition) -> list[AssetsDefinition]:
    """mac-2.x and mac-3.0 (docs/methodology.md) beside mac-1.x, in one step: both rank every indicator in its whole
    history since `catalog.REFERENCE_START` and carry recursions (correlations, quiet statuses) from there, so they
    are computed over that whole calendar and each keeps the rows of its partition window."""
    infos = [metric_info(m) for m in MAC2_METRICS]
    ins = {i.input_name: input_with_lookback(i.table, WHOLE_HISTORY_DAYS) for i in infos}
    latest = {"mac2_readings": ["stress_mac", "stress_status", "buildup_mac"],
              "mac3_readings": ["stress_mac", "stress_status", "risk_12m"]}

    @mac_multi_asset({name: table for name, (table, _) in PERCENTILE_OUTPUTS.items()}, partitions,
                     name="percentile_scores", ins=ins, kinds={"duckdb", "pandas"},
                     descriptions={name: text for name, (_, text) in PERCENTILE_OUTPUTS.items()},
                     metadata={name: {"methodology_version": MAC3_VERSION if name.startswith("mac3") else MAC2_VERSION}
                               for name in PERCENTILE_OUTPUTS})
    def percentile_scores(context: AssetExecutionContext, **inputs: pd.DataFrame):
        _, end = window_bounds(context)
        calendar = score_calendar(pd.Timestamp(REFERENCE_START), end)
        indicators, pillars, readings = compute_mac2(metric_frames(inputs, MAC2_METRICS), calendar)
        mac3_pillars, mac3_readings = compute_mac3(pillars, readings)
        frames = dict(zip(PERCENTILE_OUTPUTS, (indicators, pillars, readings, mac3_pillars, mac3_readings)))
        for name, frame in frames.items():
            out = in_window(frame, context)
            meta = {}
            if name == "mac2_indicator_scores":
                meta["share_scored"] = float(out["stress"].notna().mean()) if len(out) else 0.0
            if name in latest:
                meta = with_latest(context, meta, _latest(out, latest[name]), key(PERCENTILE_OUTPUTS[name][0]))
            yield Output(out, output_name=name, metadata=meta)

    return [percentile_scores]


def build_extension_assets(partitions: TimeWindowPartitionsDefinition) -> list[AssetsDefinition]:
    common = dict(kinds={"duckdb", "pandas"})

    @mac_asset(keys.EXTENSION_SCORES, partitions, ins=metric_inputs(EXTENSION_THRESHOLDS), **common,
           metadata={"methodology_version": VERSION},
           description="One row per business day and extension indicator (yen carry, cross-asset correlation, "
                       "compression): the value public that day and its score, by the same rules as the pillars.")
    def extension_scores(context: AssetExecutionContext, **inputs: pd.DataFrame) -> Output[pd.DataFrame]:
        out = score_indicators(metric_frames(inputs, (t.metric for t in EXTENSION_THRESHOLDS)), score_calendar(*window_bounds(context)),
                               EXTENSION_THRESHOLDS, VERSION)
        latest = out.dropna(subset=["score"]).drop_duplicates("indicator", keep="last")
        table = latest[["indicator", "date", "value", "score"]].to_string(index=False) if len(latest) else "no data"
        return Output(out, metadata=with_latest(context, {
            "share_available": float(out["score"].notna().mean()) if len(out) else 0.0,
        }, {"latest": MetadataValue.md(f"```\n{table}\n```")}))

    @mac_asset(keys.SYSTEMIC_STRESS, partitions,
               ins={"pillar_scores": input_with_lookback(keys.PILLAR_SCORES, CORRELATION_LOOKBACK_DAYS),
                    "extension_scores": input_with_lookback(keys.EXTENSION_SCORES, CORRELATION_LOOKBACK_DAYS)},
           **common,
           description="CISS-style systemic term: each component's weighted stress, their 60-day stress "
                       "correlations, the cross term Σ v_i v_j ρ_ij (stress that exists because components are "
                       "stressed together) and its share of the linear stress.")
    def systemic_stress(context: AssetExecutionContext, pillar_scores: pd.DataFrame,
                        extension_scores: pd.DataFrame) -> Output[pd.DataFrame]:
        out = in_window(systemic_term(pillar_scores, extension_scores), context)
        latest = _latest(out, ["correlation_share", "ciss", "avg_stress_correlation"])
        return Output(out, metadata=with_latest(context, {}, latest))

    @mac_asset(keys.MAC_EXTENDED, partitions,
               ins={"mac_composite": AssetIn(key(keys.MAC1_COMPOSITE)), "pillar_scores": AssetIn(key(keys.PILLAR_SCORES)),
                    "extension_scores": AssetIn(key(keys.EXTENSION_SCORES)),
                    "systemic_stress": AssetIn(key(keys.SYSTEMIC_STRESS))},
           **common, metadata={"contributions": ", ".join(EXTENDED_CONTRIBUTIONS)},
           description="The MAC with and without the extension, side by side: `mac` is the seven-pillar "
                       "composite, `mac_extended` adds yen carry and cross-asset correlation as components, then "
                       "the correlation and compression contributions. Contributions add up to `mac_extended`.")
    def mac_extended(context: AssetExecutionContext, mac_composite: pd.DataFrame, pillar_scores: pd.DataFrame,
                     extension_scores: pd.DataFrame, systemic_stress: pd.DataFrame) -> Output[pd.DataFrame]:
        out = extended_composite(mac_composite, pillar_scores, extension_scores, systemic_stress)
        latest = _latest(out, ["mac_extended", "mac", "status", "correlation_contribution", "compression_contribution"])
        return Output(out, metadata=with_latest(context, {}, latest))

    return [extension_scores, systemic_stress, mac_extended]

"""Score assets: indicator scores → pillar scores → composite MAC, one row per business day."""

import pandas as pd
from dagster import (
    AssetExecutionContext,
    AssetIn,
    AssetsDefinition,
    MetadataValue,
    Output,
    TimeWindowPartitionsDefinition,
    asset,
)

from mac_assets.alerts import ALERT_RECENT_DAYS, emit, recent, status_changes
from mac_assets.catalog import PILLARS, SERIES_BY_ID
from mac_assets.partitions import layer_asset_args, window_bounds
from mac_assets.pointintime import utc_today, with_availability
from mac_assets.scores.compute import business_days, metric_info, score_composite, score_indicators, score_pillars
from mac_assets.thresholds import CORE_THRESHOLDS, METHODOLOGY_VERSION, Threshold

# Days of slack on top of a metric's staleness limit when reading before the window, so that the
# value in force on the window's first day is always loaded.
LOOKBACK_SLACK_DAYS = 7


def _input_name(metric: str) -> str:
    return "_".join(metric_info(metric).asset_key)


def score_calendar(start: pd.Timestamp, end: pd.Timestamp) -> pd.DatetimeIndex:
    """Business days of the window, up to today: a score exists for every day that has happened."""
    return business_days(start, min(end - pd.Timedelta(days=1), utc_today()))


def metric_inputs(thresholds: tuple[Threshold, ...]) -> dict[str, AssetIn]:
    """One input per metric the thresholds score, read far enough back to know each metric's value on day one."""
    return {
        _input_name(m): AssetIn(
            key=list(metric_info(m).asset_key),
            metadata={"lookback_days": metric_info(m).stale_after_days + LOOKBACK_SLACK_DAYS},
        )
        for m in sorted({t.metric for t in thresholds})
    }


def metric_frames(inputs: dict[str, pd.DataFrame], thresholds: tuple[Threshold, ...]) -> dict[str, pd.DataFrame]:
    """Loaded inputs keyed by metric name; raw series get their publication dates here."""
    frames = {}
    for m in sorted({t.metric for t in thresholds}):
        frame = inputs[_input_name(m)]
        frames[m] = with_availability(frame, SERIES_BY_ID[m]) if metric_info(m).lag_days is not None else frame
    return frames


def build_score_assets(partitions: TimeWindowPartitionsDefinition, min_pillars: int) -> list[AssetsDefinition]:
    ins = metric_inputs(CORE_THRESHOLDS)
    common = dict(**layer_asset_args("scores", partitions), kinds={"duckdb", "pandas"})

    @asset(
        name="indicator_scores", ins=ins, **common,
        metadata={"methodology_version": METHODOLOGY_VERSION},
        description="One row per business day and indicator: the value public that day (per-series "
                    "publication lag), its score in [0, 1] and status band. Missing values stay missing.",
    )
    def indicator_scores(context: AssetExecutionContext, **inputs: pd.DataFrame) -> Output[pd.DataFrame]:
        start, end = window_bounds(context)
        out = score_indicators(metric_frames(inputs, CORE_THRESHOLDS), score_calendar(start, end))
        available = out["score"].notna()
        return Output(out, metadata={
            "rows": len(out),
            "indicators": len(CORE_THRESHOLDS),
            "share_available": float(available.mean()) if len(out) else 0.0,
        })

    @asset(
        name="pillar_scores", ins={"indicator_scores": AssetIn(key=["scores", "indicator_scores"])}, **common,
        description="One row per business day and pillar: mean indicator score, coverage, renormalised "
                    "weight and contribution to the composite.",
    )
    def pillar_scores(indicator_scores: pd.DataFrame) -> Output[pd.DataFrame]:
        out = score_pillars(indicator_scores)
        return Output(out, metadata={"rows": len(out), "pillars": len(PILLARS)})

    @asset(
        name="mac_composite", ins={"pillar_scores": AssetIn(key=["scores", "pillar_scores"])}, **common,
        description="The Market Absorption Capacity score per business day: the sum of pillar "
                    "contributions, its status band and coverage (share of methodology weight with data).",
    )
    def mac_composite(pillar_scores: pd.DataFrame) -> Output[pd.DataFrame]:
        out = score_composite(pillar_scores, min_pillars)
        metadata = {"rows": len(out)}
        scored = out.dropna(subset=["mac"])
        if len(scored):
            last = scored.iloc[-1]
            metadata |= {
                "latest_date": str(last["date"].date()),
                "latest_mac": float(last["mac"]),
                "latest_status": str(last["status"]),
                "latest_coverage": float(last["coverage"]),
                "min_mac_in_window": float(scored["mac"].min()),
                "preview": MetadataValue.md(
                    "```\n" + scored.tail(5)[["date", "mac", "status", "coverage"]].to_string(index=False) + "\n```"
                ),
            }
        return Output(out, metadata=metadata)

    # Read the days before the window too, so a crossing on the window's first day is seen.
    before = {"lookback_days": 10}

    @asset(
        name="status_changes",
        ins={"mac_composite": AssetIn(key=["scores", "mac_composite"], metadata=before),
             "pillar_scores": AssetIn(key=["scores", "pillar_scores"], metadata=before)},
        **common,
        description="Every day on which the composite or a pillar crossed a status band; crossings in the "
                    f"last {ALERT_RECENT_DAYS} days are also sent as alerts.",
    )
    def status_changes_asset(context: AssetExecutionContext, mac_composite: pd.DataFrame,
                             pillar_scores: pd.DataFrame) -> Output[pd.DataFrame]:
        start, end = window_bounds(context)
        changes = status_changes(mac_composite, pillar_scores)
        changes = changes[(changes["date"] >= start) & (changes["date"] < end)].reset_index(drop=True)
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

    return [indicator_scores, pillar_scores, mac_composite, status_changes_asset]


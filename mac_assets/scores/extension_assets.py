"""Extension assets (group and schema `extension`): component scores, systemic term, extended MAC.

They read the seven-pillar scores and never write them, so switching the extension off
(MAC_EXTENSION=off) removes these assets and leaves every core table exactly as it was.
"""

import pandas as pd
from dagster import AssetExecutionContext, AssetIn, AssetsDefinition, MetadataValue, Output, TimeWindowPartitionsDefinition, asset

from mac_assets.partitions import layer_asset_args, window_bounds
from mac_assets.scores.assets import metric_frames, metric_inputs, score_calendar
from mac_assets.scores.compute import score_indicators
from mac_assets.scores.extension import EXTENDED_CONTRIBUTIONS, VERSION, extended_composite, systemic_term
from mac_assets.thresholds import EXTENSION_THRESHOLDS, SYSTEMIC_CORRELATION_WINDOW

# Calendar days that hold the correlation window's business days, with room for holidays.
CORRELATION_LOOKBACK_DAYS = SYSTEMIC_CORRELATION_WINDOW * 7 // 5 + 20


def _in_window(frame: pd.DataFrame, context: AssetExecutionContext) -> pd.DataFrame:
    start, end = window_bounds(context)
    return frame[(frame["date"] >= start) & (frame["date"] < end)].reset_index(drop=True)


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


def build_extension_assets(partitions: TimeWindowPartitionsDefinition) -> list[AssetsDefinition]:
    common = dict(**layer_asset_args("extension", partitions), kinds={"duckdb", "pandas"})
    lookback = {"lookback_days": CORRELATION_LOOKBACK_DAYS}

    @asset(name="extension_scores", ins=metric_inputs(EXTENSION_THRESHOLDS), **common,
           metadata={"methodology_version": VERSION},
           description="One row per business day and extension indicator (yen carry, cross-asset correlation, "
                       "compression): the value public that day and its score, by the same rules as the pillars.")
    def extension_scores(context: AssetExecutionContext, **inputs: pd.DataFrame) -> Output[pd.DataFrame]:
        start, end = window_bounds(context)
        out = score_indicators(metric_frames(inputs, EXTENSION_THRESHOLDS), score_calendar(start, end),
                               EXTENSION_THRESHOLDS, VERSION)
        latest = out.dropna(subset=["score"]).drop_duplicates("indicator", keep="last")
        return Output(out, metadata={
            "rows": len(out),
            "share_available": float(out["score"].notna().mean()) if len(out) else 0.0,
            "latest": MetadataValue.md("```\n" + (latest[["indicator", "date", "value", "score"]].to_string(index=False)
                                                 if len(latest) else "no data") + "\n```"),
        })

    @asset(name="systemic_stress",
           ins={"pillar_scores": AssetIn(key=["scores", "pillar_scores"], metadata=lookback),
                "extension_scores": AssetIn(key=["extension", "extension_scores"], metadata=lookback)},
           **common,
           description="CISS-style systemic term: each component's weighted stress, their 60-day stress "
                       "correlations, the cross term Σ v_i v_j ρ_ij (stress that exists because components are "
                       "stressed together) and its share of the linear stress.")
    def systemic_stress(context: AssetExecutionContext, pillar_scores: pd.DataFrame,
                        extension_scores: pd.DataFrame) -> Output[pd.DataFrame]:
        out = _in_window(systemic_term(pillar_scores, extension_scores), context)
        return Output(out, metadata={"rows": len(out), **_latest(out, ["correlation_share", "ciss",
                                                                       "avg_stress_correlation"])})

    @asset(name="mac_extended",
           ins={"mac_composite": AssetIn(key=["scores", "mac_composite"]),
                "pillar_scores": AssetIn(key=["scores", "pillar_scores"]),
                "extension_scores": AssetIn(key=["extension", "extension_scores"]),
                "systemic_stress": AssetIn(key=["extension", "systemic_stress"])},
           **common,
           description="The MAC with and without the extension, side by side: `mac` is the seven-pillar "
                       "composite, `mac_extended` adds yen carry and cross-asset correlation as components, then "
                       "the correlation and compression contributions. Contributions add up to `mac_extended`.")
    def mac_extended(mac_composite: pd.DataFrame, pillar_scores: pd.DataFrame, extension_scores: pd.DataFrame,
                     systemic_stress: pd.DataFrame) -> Output[pd.DataFrame]:
        out = extended_composite(mac_composite, pillar_scores, extension_scores, systemic_stress)
        meta = {"rows": len(out), "contributions": ", ".join(EXTENDED_CONTRIBUTIONS),
                **_latest(out, ["mac_extended", "mac", "status", "correlation_contribution", "compression_contribution"])}
        return Output(out, metadata=meta)

    return [extension_scores, systemic_stress, mac_extended]

"""Derived assets, one per entry of `derived.registry.METRICS`, all built by one factory.

Each reads its raw inputs for its partition window plus the look-back it needs (so rolling windows
and as-of joins are complete at the window's start), computes the metric over the whole range in one
vectorised pass, and keeps the rows observed inside the window.
"""

import pandas as pd
from dagster import AssetExecutionContext, AssetIn, AssetsDefinition, Output, TimeWindowPartitionsDefinition, asset

from mac_assets.catalog import Series
from mac_assets.derived.metrics import DerivedMetric
from mac_assets.derived.registry import EXTENSION_METRIC_NAMES, METRICS
from mac_assets.partitions import layer_asset_args, window_bounds
from mac_assets.pointintime import with_availability


def raw_input(series: Series, lookback_days: int) -> AssetIn:
    return AssetIn(key=["raw", series.asset_name], metadata={"lookback_days": lookback_days})


def build_derived_asset(metric: DerivedMetric, partitions: TimeWindowPartitionsDefinition) -> AssetsDefinition:
    ins = {
        s.asset_name: raw_input(s, metric.window_days + s.stale_after_days) for s in metric.input_series
    }

    @asset(
        name=metric.name,
        ins=ins,
        **layer_asset_args("derived", partitions),
        kinds={"duckdb", "pandas"},
        tags={"tier": str(metric.tier)},
        metadata={"units": metric.units, "inputs": ", ".join(metric.inputs),
                  "window_days": metric.window_days},
        description=f"{metric.description} Units: {metric.units}.",
    )
    def _derived(context: AssetExecutionContext, **inputs: pd.DataFrame) -> Output[pd.DataFrame]:
        frames = {
            s.id: with_availability(inputs[s.asset_name], s) for s in metric.input_series
        }
        start, end = window_bounds(context)
        out = metric.compute(frames)
        out = out[(out["date"] >= start) & (out["date"] < end)].reset_index(drop=True)
        metadata = {"rows": len(out)}
        if len(out):
            last = out.iloc[-1]
            metadata |= {"latest_date": str(last["date"].date()), "latest_value": float(last["value"])}
            # Metrics that keep their workings as columns (compression's state and every leverage
            # change, the pairwise correlations) show the latest of each, so a reading can be explained.
            metadata |= {f"latest_{c}": float(last[c]) for c in out.columns
                         if c not in ("date", "value", "available_date") and pd.notna(last[c])}
        return Output(out, metadata=metadata)

    return _derived


def build_derived_assets(partitions: TimeWindowPartitionsDefinition, extension: bool = True) -> list[AssetsDefinition]:
    """One asset per metric; the extension's metrics only when the extension is switched on."""
    return [build_derived_asset(m, partitions) for m in METRICS if extension or m.name not in EXTENSION_METRIC_NAMES]

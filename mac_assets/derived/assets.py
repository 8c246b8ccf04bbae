"""Derived assets, one per entry of `derived.registry.METRICS`, all built by one factory.

Each reads its raw inputs for its partition window plus the look-back it needs (so rolling windows
and as-of joins are complete at the window's start), computes the metric over the whole range in one
vectorised pass, and keeps the rows observed inside the window.
"""

import pandas as pd
from dagster import AssetExecutionContext, AssetsDefinition, Output, TimeWindowPartitionsDefinition

from mac_assets.derived.metrics import DerivedMetric
from mac_assets.derived.registry import EXTENSION_METRIC_NAMES, METRICS
from mac_assets.infra.io_manager import input_with_lookback
from mac_assets.infra.partitions import in_data_window
from mac_assets.keys import derived, raw
from mac_assets.pointintime import with_availability
from mac_assets.policy import mac_asset, with_latest


def build_derived_asset(metric: DerivedMetric, partitions: TimeWindowPartitionsDefinition) -> AssetsDefinition:
    ins = {s.asset_name: input_with_lookback(raw(s), metric.lookback_days(s)) for s in metric.input_series}

    @mac_asset(
        derived(metric.name), partitions,
        ins=ins,
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
        out = in_data_window(metric.compute(frames), context)
        latest = {}
        if len(out):
            last = out.iloc[-1]
            latest = {"latest_date": str(last["date"].date()), "latest_value": float(last["value"])}
            # Metrics that keep their workings as columns (compression's state and every leverage
            # change, the pairwise correlations) show the latest of each, so a reading can be explained.
            latest |= {f"latest_{c}": float(last[c]) for c in out.columns
                       if c not in ("date", "value", "available_date") and pd.notna(last[c])}
        return Output(out, metadata=with_latest(context, {}, latest))

    return _derived


def build_derived_assets(partitions: TimeWindowPartitionsDefinition, extension: bool = True) -> list[AssetsDefinition]:
    """One asset per metric; the extension's metrics only when the extension is switched on."""
    return [build_derived_asset(m, partitions) for m in METRICS if extension or m.name not in EXTENSION_METRIC_NAMES]

"""Policy applied to every asset, in one place: key prefix, group, partitions, backfills, pool, IO manager, warnings.

Every asset factory spreads `layer_asset_args(layer, partitions)` into its `@asset`, so a change of
policy (another pool, another IO manager, a retry policy) is made here once. Warnings Dagster raises
about choices made on purpose are filtered here too, each with its reason.
"""

from __future__ import annotations

import warnings

from dagster import (
    AssetExecutionContext,
    AssetKey,
    AssetObservation,
    BackfillPolicy,
    BetaWarning,
    TimeWindowPartitionsDefinition,
    in_process_executor,
)

# Single-run backfills are the reason a full rebuild is one short run; their `backfill_policy`
# parameter is marked beta in Dagster 1.13. We accept that and keep the warning out of every log.
warnings.filterwarnings("ignore", message=".*backfill_policy.*", category=BetaWarning)
# The freshness-check builders are "superseded" by FreshnessPolicy, which measures time since the last
# run and so cannot see data lag; only the builders measure how old the *data* is (checks/assets.py).
warnings.filterwarnings("ignore", message=".*build_last_update_freshness_checks.*")
warnings.filterwarnings("ignore", message=".*build_sensor_for_freshness_checks.*")

SINGLE_RUN = BackfillPolicy.single_run()
# Every asset that writes DuckDB claims a slot in this pool; dagster.yaml gives it one slot.
POOL = "mac_duckdb"
IO_MANAGER_KEY = "duckdb_io"
# One process per run: DuckDB has one writer, and a fresh process per step costs more than the step.
EXECUTOR = in_process_executor


def layer_asset_args(layer: str, partitions: TimeWindowPartitionsDefinition) -> dict:
    """The @asset arguments every asset of a layer shares.

    The layer is the asset key prefix, the group and the DuckDB schema all at once.
    """
    return dict(
        key_prefix=[layer], group_name=layer, partitions_def=partitions, backfill_policy=SINGLE_RUN,
        pool=POOL, io_manager_key=IO_MANAGER_KEY,
    )


def with_latest(context: AssetExecutionContext, metadata: dict, latest: dict, asset_key: AssetKey | None = None) -> dict:
    """Materialization metadata that is worth its bytes in the instance.

    Dagster copies an output's metadata onto the materialization of *every* partition a run covers, so
    a full backfill would store the newest values, previews and tables once per year of history.
    `metadata` (rows, date range: what describes the run's window) goes on every materialization;
    `latest` (the newest values, previews) describes the state after the run: on a one-partition run
    (the daily update) it joins the materialization, on a backfill it is recorded once, as an
    observation of the last partition. A multi-asset names which of its assets `asset_key`.
    """
    keys = context.partition_keys if context.has_partition_key_range else []
    if len(keys) <= 1 or not latest:
        return metadata | latest
    context.log_event(AssetObservation(asset_key=asset_key or context.asset_key, partition=keys[-1], metadata=latest))
    return metadata

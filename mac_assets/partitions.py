"""The one partitioning of the graph: calendar years, backfilled as a single run.

Why years: Dagster records two events per asset-partition (~2.5 ms even with the pooled event log of
`event_log.py`), so 69 assets × 7,000 daily partitions would spend ~20 minutes on bookkeeping alone.
Twenty yearly partitions keep a full-history rebuild to seconds, and the daily schedule simply re-materializes the current (open) year, which
is cheap because every asset is vectorised over its window. All assets share this definition, so a
backfill of any year range is one run and one computation per asset.
"""

from __future__ import annotations

import warnings
from datetime import date

import pandas as pd
from dagster import BackfillPolicy, BetaWarning, TimeWindowPartitionsDefinition

# Single-run backfills are the reason a full rebuild takes seconds, not hours; their `backfill_policy`
# parameter is marked beta in Dagster 1.13. We accept that and keep the warning out of every log.
warnings.filterwarnings("ignore", message=".*backfill_policy.*", category=BetaWarning)


def yearly_partitions(history_start: date) -> TimeWindowPartitionsDefinition:
    """Years from `history_start`'s year up to and including the current, still open, year."""
    return TimeWindowPartitionsDefinition(
        cron_schedule="0 0 1 1 *", start=str(history_start.year), fmt="%Y", end_offset=1, timezone="UTC"
    )


SINGLE_RUN = BackfillPolicy.single_run()


def window_bounds(context) -> tuple[pd.Timestamp, pd.Timestamp]:
    """The run's partition window [start, end) as naive UTC timestamps, comparable with `date` columns."""
    tw = context.partition_time_window
    return pd.Timestamp(tw.start).tz_localize(None), pd.Timestamp(tw.end).tz_localize(None)


# Every asset that writes DuckDB claims a slot in this pool; dagster.yaml gives it one slot.
POOL = "mac_duckdb"


def layer_asset_args(layer: str, partitions: TimeWindowPartitionsDefinition) -> dict:
    """The @asset arguments every asset of a layer (raw, derived, scores) shares.

    The layer is the asset key prefix, the group and the DuckDB schema all at once.
    """
    return dict(
        key_prefix=[layer], group_name=layer, partitions_def=partitions, backfill_policy=SINGLE_RUN,
        pool=POOL, io_manager_key="duckdb_io",
    )

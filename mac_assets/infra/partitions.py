"""The one partitioning of the graph: calendar years, backfilled as a single run.

Why years: Dagster records a planned and a materialization event per asset *and* partition, so daily
partitions over twenty years would spend far longer on bookkeeping than on computing. Yearly
partitions keep a full-history rebuild to one short run, and the daily schedule re-materializes the
current (open) year, which is cheap because every asset is vectorised over its window.
"""

from __future__ import annotations

from datetime import UTC, date, datetime

import pandas as pd
from dagster import TimeWindowPartitionsDefinition

from mac_assets.catalog import REFERENCE_START

# Layers whose first partition also holds everything back to REFERENCE_START, so that percentiles and
# recursions see the same history whatever MAC_HISTORY_START is (catalog.REFERENCE_START says why).
REACHING_BACK_LAYERS = ("raw", "derived")


def yearly_partitions(history_start: date) -> TimeWindowPartitionsDefinition:
    """Years from `history_start`'s year up to and including the current, still open, year."""
    return TimeWindowPartitionsDefinition(
        cron_schedule="0 0 1 1 *", start=str(history_start.year), fmt="%Y", end_offset=1, timezone="UTC"
    )


def stored_window(partitions: TimeWindowPartitionsDefinition, start: datetime, end: datetime) -> tuple[datetime, datetime]:
    """The dates a raw or derived write covers for the partition window [start, end): the window itself, and for
    a window holding the first partition, every day back to REFERENCE_START as well."""
    first = partitions.get_first_partition_window()
    if first is not None and start <= first.start:
        start = min(start, datetime(REFERENCE_START.year, REFERENCE_START.month, REFERENCE_START.day, tzinfo=UTC))
    return start, end


def data_bounds(context) -> tuple[pd.Timestamp, pd.Timestamp]:
    """`stored_window` of the run's partition window as naive UTC timestamps (raw and derived assets)."""
    tw = context.partition_time_window
    start, end = stored_window(context.assets_def.partitions_def, tw.start, tw.end)
    return pd.Timestamp(start).tz_localize(None), pd.Timestamp(end).tz_localize(None)


def in_data_window(frame: pd.DataFrame, context) -> pd.DataFrame:
    """The rows of `frame` a raw or derived asset may write: dated inside `data_bounds`."""
    start, end = data_bounds(context)
    return frame[(frame["date"] >= start) & (frame["date"] < end)].reset_index(drop=True)


def window_bounds(context) -> tuple[pd.Timestamp, pd.Timestamp]:
    """The run's partition window [start, end) as naive UTC timestamps, comparable with `date` columns."""
    tw = context.partition_time_window
    return pd.Timestamp(tw.start).tz_localize(None), pd.Timestamp(tw.end).tz_localize(None)


def in_window(frame: pd.DataFrame, context) -> pd.DataFrame:
    """The rows of `frame` dated inside the run's partition window: what an asset may write."""
    start, end = window_bounds(context)
    return frame[(frame["date"] >= start) & (frame["date"] < end)].reset_index(drop=True)

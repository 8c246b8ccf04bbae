"""The one partitioning of the graph: calendar years, backfilled as a single run.

Why years: Dagster records a planned and a materialization event per asset *and* partition, so daily
partitions over twenty years would spend far longer on bookkeeping than on computing. Yearly
partitions keep a full-history rebuild to one short run, and the daily schedule re-materializes the
current (open) year, which is cheap because every asset is vectorised over its window.
"""

from __future__ import annotations

from datetime import date

import pandas as pd
from dagster import TimeWindowPartitionsDefinition


def yearly_partitions(history_start: date) -> TimeWindowPartitionsDefinition:
    """Years from `history_start`'s year up to and including the current, still open, year."""
    return TimeWindowPartitionsDefinition(
        cron_schedule="0 0 1 1 *", start=str(history_start.year), fmt="%Y", end_offset=1, timezone="UTC"
    )


def window_bounds(context) -> tuple[pd.Timestamp, pd.Timestamp]:
    """The run's partition window [start, end) as naive UTC timestamps, comparable with `date` columns."""
    tw = context.partition_time_window
    return pd.Timestamp(tw.start).tz_localize(None), pd.Timestamp(tw.end).tz_localize(None)


def in_window(frame: pd.DataFrame, context) -> pd.DataFrame:
    """The rows of `frame` dated inside the run's partition window: what an asset may write."""
    start, end = window_bounds(context)
    return frame[(frame["date"] >= start) & (frame["date"] < end)].reset_index(drop=True)

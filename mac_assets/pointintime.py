"""Point-in-time rules: when a value became public, and what was known on a given day.

The whole platform's honesty about history rests on these two functions: a value observed on date t
is public on t + lag (the catalog's `lag_days`), and a score for day D uses, for each metric, the
latest value public on or before D that is not older than the metric's staleness limit.
"""

from __future__ import annotations

import pandas as pd

from mac_assets.catalog import Series


def utc_today() -> pd.Timestamp:
    """Today's date in UTC as a naive timestamp: the last day that has happened for every rule here."""
    return pd.Timestamp.now(tz="UTC").tz_localize(None).normalize()


def with_availability(frame: pd.DataFrame, series: Series) -> pd.DataFrame:
    """Add `available_date`: the observation date plus the series' publication lag."""
    return frame.assign(available_date=frame["date"] + pd.Timedelta(days=series.lag_days))


def known_on(calendar: pd.DatetimeIndex, frame: pd.DataFrame, stale_after_days: int) -> pd.DataFrame:
    """For each day D of `calendar`: the latest value with available_date <= D, if fresh enough.

    Returns columns `date` (= D), `value`, `obs_date` (the observation the value came from) and
    `available_date` (when it became public); they are missing where nothing was public yet or the
    newest public value is older than `stale_after_days`.
    """
    days = pd.DataFrame({"date": calendar}).sort_values("date")
    published = (
        frame[["date", "value", "available_date"]]
        .dropna(subset=["value"])
        .rename(columns={"date": "obs_date"})
        .sort_values(["available_date", "obs_date"])
        # Several observations can become public on the same day (a revision batch): keep the newest.
        .drop_duplicates("available_date", keep="last")
    )
    merged = pd.merge_asof(days, published, left_on="date", right_on="available_date", direction="backward")
    stale = (merged["date"] - merged["obs_date"]).dt.days > stale_after_days
    merged.loc[stale, ["value", "obs_date", "available_date"]] = [float("nan"), pd.NaT, pd.NaT]
    return merged[["date", "value", "obs_date", "available_date"]].reset_index(drop=True)

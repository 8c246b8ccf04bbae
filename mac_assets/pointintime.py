"""Point-in-time rules: when a value became public, and what was known on a given day.

The whole platform's honesty about history rests on these functions: a value observed on date t is
public on t + lag (the catalog's `lag_days`), unless the provider kept its versions, in which case each
version is public from the day it was released; and a score for day D uses, for each metric, the newest
observation public on or before D, in its latest version public by D, if it is not older than the
metric's staleness limit.
"""

from __future__ import annotations

import pandas as pd

from mac_assets.catalog import Series


def utc_today() -> pd.Timestamp:
    """Today's date in UTC as a naive timestamp: the last day that has happened for every rule here."""
    return pd.Timestamp.now(tz="UTC").tz_localize(None).normalize()


def with_availability(frame: pd.DataFrame, series: Series) -> pd.DataFrame:
    """Add `available_date`: the day each row became public.

    Rows without a version start (every series on the demo and CSV sources, FRED series without
    versions) follow the lag rule: observation date plus the series' publication lag. A version is
    public from its `realtime_start`, except the values ALFRED dates to the series' first vintage
    (`vintages_since`) although they are older: those were public long before ALFRED kept versions,
    and the lag rule says since when (never later than that first vintage).
    """
    by_lag = frame["date"] + pd.Timedelta(days=series.lag_days)
    if not series.vintages or "realtime_start" not in frame.columns or frame["realtime_start"].isna().all():
        return frame.assign(available_date=by_lag)
    start = frame["realtime_start"]
    since = frame["vintages_since"] if "vintages_since" in frame.columns else pd.Series(pd.NaT, index=frame.index)
    before_alfred = start.eq(since) & (by_lag < start)
    return frame.assign(available_date=start.where(~before_alfred, by_lag).fillna(by_lag))


def newest_first_published(frame: pd.DataFrame) -> pd.DataFrame:
    """The rows that, on the day they became public, were the newest observation (or a newer version of it).

    A revision of an older observation published later (an annual GDP revision reaching back years)
    does not replace the newest observation in an as-of join: the newest one stays the reading.
    Expects `date`, `available_date`; returns the kept rows sorted by publication.
    """
    ordered = frame.sort_values(["available_date", "date"], kind="stable")
    return ordered[ordered["date"] >= ordered["date"].cummax()]


def known_on(calendar: pd.DatetimeIndex, frame: pd.DataFrame, stale_after_days: int) -> pd.DataFrame:
    """For each day D of `calendar`: the latest value with available_date <= D, if fresh enough.

    Returns columns `date` (= D), `value`, `obs_date` (the observation the value came from) and
    `available_date` (when it became public); they are missing where nothing was public yet or the
    newest public value is older than `stale_after_days`.
    """
    days = pd.DataFrame({"date": calendar}).sort_values("date")
    published = (
        newest_first_published(frame[["date", "value", "available_date"]].dropna(subset=["value"]))
        .rename(columns={"date": "obs_date"})
        # Several observations can become public on the same day (a revision batch): keep the newest.
        .drop_duplicates("available_date", keep="last")
    )
    merged = pd.merge_asof(days, published, left_on="date", right_on="available_date", direction="backward")
    stale = (merged["date"] - merged["obs_date"]).dt.days > stale_after_days
    merged.loc[stale, ["value", "obs_date", "available_date"]] = [float("nan"), pd.NaT, pd.NaT]
    return merged[["date", "value", "obs_date", "available_date"]].reset_index(drop=True)

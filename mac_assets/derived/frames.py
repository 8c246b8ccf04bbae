"""Small frame operations every derived metric is built from (pure, vectorised).

Inputs are frames with `date` (observation date), `value` and `available_date` (the day the value
became public); outputs keep those three columns, and a row's `available_date` is the latest of the
inputs it used, so a score joining on it never sees a number before all its ingredients were public.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

OUTPUT_COLUMNS = ["date", "value", "available_date"]


def metric_rows(frame: pd.DataFrame, extra: tuple[str, ...] = ()) -> pd.DataFrame:
    """The metric's rows with a value, in date (then publication) order: date, value, available_date and
    any `extra` columns. A date has several rows when its inputs were revised: one per version."""
    out = frame[[*OUTPUT_COLUMNS, *extra]].replace([np.inf, -np.inf], np.nan).dropna(subset=["value"])
    return out.sort_values(["date", "available_date"], kind="stable").reset_index(drop=True)


def same_date(left: pd.DataFrame, right: pd.DataFrame) -> pd.DataFrame:
    """Rows observed on the same date in both inputs: columns date, left, right, available_date.

    One row each time either input's value for that date was published, pairing the versions of both
    that were public then; with one version per date that is one row, public when the later of the two was.
    """
    sides = [f[["date", "value", "available_date"]].dropna(subset=["value"]).sort_values("available_date")
             for f in (left, right)]
    events = (pd.concat([s[["date", "available_date"]] for s in sides]).drop_duplicates()
              .sort_values("available_date", kind="stable").reset_index(drop=True))
    paired = events.copy()
    for name, side in zip(("left", "right"), sides):
        known = side.rename(columns={"value": name, "available_date": "published"})
        paired[name] = pd.merge_asof(events, known, left_on="available_date", right_on="published", by="date",
                                     direction="backward")[name].to_numpy()
    return paired.dropna(subset=["left", "right"])[["date", "left", "right", "available_date"]]


def prior(frame: pd.DataFrame, days: int, tolerance_days: int) -> pd.DataFrame:
    """Each row with the value observed `days` earlier (latest on or before; within a tolerance), in the
    latest version of it that was public when the row was (a revised series compares like with like)."""
    frame = frame.sort_values("date")
    target = frame.assign(target=frame["date"] - pd.Timedelta(days=days)).sort_values("target")
    observed = frame[["date"]].drop_duplicates().rename(columns={"date": "prior_date"})
    merged = pd.merge_asof(target, observed, left_on="target", right_on="prior_date", direction="backward",
                           tolerance=pd.Timedelta(days=tolerance_days))
    versions = frame[["date", "value", "available_date"]].rename(
        columns={"date": "prior_date", "value": "prior", "available_date": "prior_available"})
    matched = merged.dropna(subset=["prior_date"]).sort_values("available_date")
    matched = pd.merge_asof(matched, versions.sort_values("prior_available"), left_on="available_date",
                            right_on="prior_available", by="prior_date", direction="backward")
    unmatched = merged[merged["prior_date"].isna()].assign(prior=np.nan)
    return pd.concat([matched.drop(columns="prior_available"), unmatched]).sort_values(["date", "available_date"])

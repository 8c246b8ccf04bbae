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
    """The metric's rows with a value, in date order: date, value, available_date and any `extra` columns."""
    out = frame[[*OUTPUT_COLUMNS, *extra]].replace([np.inf, -np.inf], np.nan).dropna(subset=["value"])
    return out.sort_values("date").reset_index(drop=True)


def same_date(left: pd.DataFrame, right: pd.DataFrame) -> pd.DataFrame:
    """Rows observed on the same date in both inputs: columns date, left, right, available_date."""
    merged = left[["date", "value", "available_date"]].merge(
        right[["date", "value", "available_date"]], on="date", suffixes=("_l", "_r")
    )
    return pd.DataFrame({
        "date": merged["date"],
        "left": merged["value_l"],
        "right": merged["value_r"],
        "available_date": merged[["available_date_l", "available_date_r"]].max(axis=1),
    })


def prior(frame: pd.DataFrame, days: int, tolerance_days: int) -> pd.DataFrame:
    """Each row with the value observed `days` earlier (latest on or before; within a tolerance)."""
    frame = frame.sort_values("date")
    target = frame.assign(target=frame["date"] - pd.Timedelta(days=days)).sort_values("target")
    earlier = frame[["date", "value"]].rename(columns={"date": "prior_date", "value": "prior"})
    merged = pd.merge_asof(
        target, earlier, left_on="target", right_on="prior_date", direction="backward",
        tolerance=pd.Timedelta(days=tolerance_days),
    )
    return merged.sort_values("date")

"""Data quality of a raw table, without Dagster: what would corrupt scores, and the longest gap.

`raw/assets.py` turns these into each raw asset's `is_valid` (blocking) and `has_no_gaps` checks.
"""

from __future__ import annotations

import pandas as pd

from mac_assets.catalog import Series


def validity_problems(series: Series, frame: pd.DataFrame, today: pd.Timestamp) -> dict[str, int]:
    """Counts of rows that would corrupt scores: duplicates, future dates, implausible values."""
    lo, hi = series.valid
    values = frame[list(series.columns)]
    return {
        "duplicate_rows": int(frame.duplicated(list(series.row_key)).sum()),
        "future_dates": int((frame["date"] > today).sum()),
        "out_of_range_values": int(((values < lo) | (values > hi)).sum().sum()),
    }


def longest_gap(series: Series, frame: pd.DataFrame) -> tuple[int, pd.Timestamp | None]:
    """The longest stretch in days between consecutive observation dates, and where it ends."""
    dates = frame["date"].drop_duplicates().sort_values()
    if len(dates) < 2:
        return 0, None
    gaps = dates.diff().dt.days
    return int(gaps.max()), dates.loc[gaps.idxmax()]


RESCALE_MIN_OVERLAP = 5


def rescaled_by(series: Series, stored: pd.DataFrame, fetched: pd.DataFrame) -> float | None:
    """The factor by which a fetch rescaled the stored history, if it did: every overlapping value changed
    by the same ratio (a split, or prices re-adjusted after the fact). Upserting such a window would
    leave older rows in the old scale and make returns jump at the seam. Revisions, which change values
    by different amounts, are not rescales."""
    if series.columns != ("value",) or stored.empty or fetched.empty:
        return None
    both = stored[["date", "value"]].merge(fetched[["date", "value"]], on="date", suffixes=("_stored", ""))
    both = both[(both["value_stored"] != 0) & both["value"].notna() & both["value_stored"].notna()]
    if len(both) < RESCALE_MIN_OVERLAP:
        return None
    ratio = (both["value"] / both["value_stored"]).to_numpy()
    if abs(ratio.mean() - 1) > 1e-6 and (ratio.max() - ratio.min()) < 1e-9 * abs(ratio.mean()):
        return float(ratio.mean())
    return None

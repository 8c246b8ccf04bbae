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
        "duplicate_rows": int(frame.duplicated(["date", *series.keys]).sum()),
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

"""Data quality of every raw table, generated from the catalog.

`<series>_is_valid` is blocking at ERROR: duplicate observations, dates in the future or values outside
the series' plausible range would corrupt every score downstream, so derived metrics and scores do not
materialize from such data. `<series>_has_no_gaps` is a WARN: a missing stretch does not corrupt
anything (scores treat it as stale data and lose coverage) but a data engineer should look.
"""

from __future__ import annotations

import pandas as pd
from dagster import AssetCheckResult, AssetCheckSeverity, AssetCheckSpec

from mac_assets.catalog import Series
from mac_assets.pointintime import utc_today


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


IS_VALID = "is_valid"
HAS_NO_GAPS = "has_no_gaps"


def quality_check_specs(series: Series) -> list[AssetCheckSpec]:
    """The two data-quality checks every raw asset evaluates in its own step, right after its write.

    Running them inside the raw asset's step instead of as separate check steps saves two steps per
    series (74 in all), which is most of a daily run's fixed cost; a failed blocking check still fails
    the step, so nothing downstream of the series materializes from bad data.
    """
    asset = ["raw", series.asset_name]
    lo, hi = series.valid
    return [
        AssetCheckSpec(IS_VALID, asset=asset, blocking=True,
                       description=f"No duplicate dates, no future dates, values within [{lo:g}, {hi:g}] {series.units}."),
        AssetCheckSpec(HAS_NO_GAPS, asset=asset,
                       description=f"No gap longer than {series.max_gap_days} days between observations."),
    ]


def quality_results(series: Series, stored: pd.DataFrame) -> list[AssetCheckResult]:
    """Both checks on the series' whole stored table."""
    lo, hi = series.valid
    problems = validity_problems(series, stored, utc_today())
    gap, ends = longest_gap(series, stored)
    return [
        AssetCheckResult(
            check_name=IS_VALID, passed=not any(problems.values()), severity=AssetCheckSeverity.ERROR,
            metadata={**problems, "rows": len(stored), "valid_range": f"[{lo:g}, {hi:g}] {series.units}"},
        ),
        AssetCheckResult(
            check_name=HAS_NO_GAPS, passed=gap <= series.max_gap_days, severity=AssetCheckSeverity.WARN,
            metadata={"longest_gap_days": gap, "allowed_gap_days": series.max_gap_days,
                      "gap_ends_on": str(ends.date()) if ends is not None else "none"},
        ),
    ]

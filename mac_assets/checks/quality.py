"""Data quality of every raw table, generated from the catalog.

`<series>_is_valid` is blocking at ERROR: duplicate observations, dates in the future or values outside
the series' plausible range would corrupt every score downstream, so derived metrics and scores do not
materialize from such data. `<series>_has_no_gaps` is a WARN: a missing stretch does not corrupt
anything (scores treat it as stale data and lose coverage) but a data engineer should look.
"""

from __future__ import annotations

import pandas as pd
from dagster import AssetCheckResult, AssetCheckSeverity, AssetChecksDefinition, asset_check

from mac_assets.catalog import SERIES, Series
from mac_assets.pointintime import utc_today
from mac_assets.storage import MacDatabase


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


def build_quality_checks(series: Series) -> list[AssetChecksDefinition]:
    asset = ["raw", series.asset_name]
    table = f"raw.{series.asset_name}"
    lo, hi = series.valid

    @asset_check(asset=asset, name="is_valid", blocking=True,
                 description=f"No duplicate dates, no future dates, values within [{lo:g}, {hi:g}] {series.units}.")
    def is_valid(mac_db: MacDatabase) -> AssetCheckResult:
        frame = mac_db.query(f"select * from {table}")
        problems = validity_problems(series, frame, utc_today())
        return AssetCheckResult(
            passed=not any(problems.values()), severity=AssetCheckSeverity.ERROR,
            metadata={**problems, "rows": len(frame), "valid_range": f"[{lo:g}, {hi:g}] {series.units}"},
        )

    @asset_check(asset=asset, name="has_no_gaps",
                 description=f"No gap longer than {series.max_gap_days} days between observations.")
    def has_no_gaps(mac_db: MacDatabase) -> AssetCheckResult:
        frame = mac_db.query(f"select date from {table}")
        gap, ends = longest_gap(series, frame)
        return AssetCheckResult(
            passed=gap <= series.max_gap_days, severity=AssetCheckSeverity.WARN,
            metadata={"longest_gap_days": gap, "allowed_gap_days": series.max_gap_days,
                      "gap_ends_on": str(ends.date()) if ends is not None else "none"},
        )

    return [is_valid, has_no_gaps]


def build_all_quality_checks() -> list[AssetChecksDefinition]:
    return [check for series in SERIES for check in build_quality_checks(series)]

"""The interface every source resource implements, and the checks applied to what it returns."""

from __future__ import annotations

from datetime import date
from typing import Protocol

import pandas as pd

from mac_assets.catalog import Series


class SourceError(RuntimeError):
    """A source returned something unusable; the message names the source, the series and the problem."""


class SeriesSource(Protocol):
    """Fetches one catalog series for observation dates in [start, end).

    Returns a frame with `date` plus the series' key and value columns (`Series.keys`,
    `Series.columns`). A raw asset calls `fetch` once per series per run, whatever the number of
    partitions in the run.
    """

    label: str

    def fetch(self, series: Series, start: date, end: date) -> pd.DataFrame: ...


def validate_fetch(label: str, series: Series, frame: pd.DataFrame, start: date, end: date) -> pd.DataFrame:
    """Normalise types and refuse frames that would corrupt the raw table."""
    expected = ["date", *series.keys, *series.columns]
    missing = [c for c in expected if c not in frame.columns]
    if missing:
        raise SourceError(f"{label}/{series.id}: response lacks columns {missing} (got {list(frame.columns)})")
    out = frame[expected].copy()
    out["date"] = pd.to_datetime(out["date"]).dt.normalize()
    for c in series.columns:
        out[c] = pd.to_numeric(out[c], errors="raise").astype(float)
    outside = out[(out["date"] < pd.Timestamp(start)) | (out["date"] >= pd.Timestamp(end))]
    if len(outside):
        raise SourceError(f"{label}/{series.id}: {len(outside)} rows outside the requested {start}..{end}")
    duplicated = out.duplicated(["date", *series.keys])
    if duplicated.any():
        first = out.loc[duplicated, "date"].iloc[0].date()
        raise SourceError(f"{label}/{series.id}: duplicate observations, first on {first}")
    return out.sort_values(["date", *series.keys]).reset_index(drop=True)

"""The interface every source implements, its typed errors, and the checks applied to what it returns."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Protocol

import pandas as pd

from mac_assets.catalog import Series

# Provenance columns a source may add besides the catalog's value columns (FRED's vintage start).
OPTIONAL_COLUMNS = ("realtime_start",)


class SourceError(RuntimeError):
    """A source could not deliver a series; the message names the source, the series and the problem.

    Raw assets catch these: they keep the rows already stored, record a failed `fetch_succeeded` check
    and let the run go on, so scores lose coverage instead of the whole graph failing.
    """


class SeriesUnavailable(SourceError):
    """The series cannot be had from this source here: no client, no key, geo-blocked, not in the folder."""


class GeoBlocked(SeriesUnavailable):
    """The provider refuses this location (HTTP 451)."""


class ProviderError(SourceError):
    """The provider answered with an error status after all retries, or not at all."""


class MalformedPayload(SourceError):
    """The provider answered 200 with a body we cannot read as the documented format."""


@dataclass(frozen=True)
class Fetched:
    """What one fetch returned, and how many HTTP requests it took (retries and pages included)."""

    frame: pd.DataFrame
    requests: int = 0


class SeriesSource(Protocol):
    """Fetches one catalog series for observation dates in [start, end).

    A raw asset calls `fetch` once per series per run, whatever the number of partitions in the run.
    """

    @property
    def label(self) -> str: ...

    def fetch(self, series: Series, start: date, end: date) -> Fetched: ...


def empty_frame(series: Series) -> pd.DataFrame:
    """A zero-row frame with the series' columns and types (what an unavailable series stores)."""
    columns = {"date": pd.Series(dtype="datetime64[ns]")}
    columns |= {k: pd.Series(dtype=str) for k in series.keys}
    columns |= {c: pd.Series(dtype=float) for c in series.columns}
    return pd.DataFrame(columns)


def validate_fetch(label: str, series: Series, frame: pd.DataFrame, start: date, end: date) -> pd.DataFrame:
    """Normalise types, keep the requested window, and refuse frames that would corrupt the raw table."""
    expected = ["date", *series.keys, *series.columns]
    missing = [c for c in expected if c not in frame.columns]
    if missing:
        raise MalformedPayload(f"{label}/{series.id}: response lacks columns {missing} (got {list(frame.columns)})")
    out = frame[expected + [c for c in OPTIONAL_COLUMNS if c in frame.columns]].copy()
    try:
        out["date"] = pd.to_datetime(out["date"]).dt.normalize()
        # Optional columns are dates too; typed even when empty, or the first (empty) write would
        # create the column with the wrong type and every later write would fail to cast into it.
        for c in OPTIONAL_COLUMNS:
            if c in out.columns:
                out[c] = pd.to_datetime(out[c])
        for c in series.columns:
            out[c] = pd.to_numeric(out[c], errors="raise").astype(float)
    except (ValueError, TypeError) as exc:
        raise MalformedPayload(f"{label}/{series.id}: unreadable values: {exc}") from exc
    for k in series.keys:
        out[k] = out[k].astype(str)
    out = out[(out["date"] >= pd.Timestamp(start)) & (out["date"] < pd.Timestamp(end))]
    duplicated = out.duplicated(["date", *series.keys])
    if duplicated.any():
        first = out.loc[duplicated, "date"].iloc[0].date()
        raise MalformedPayload(f"{label}/{series.id}: duplicate observations, first on {first}")
    return out.sort_values(["date", *series.keys]).reset_index(drop=True)

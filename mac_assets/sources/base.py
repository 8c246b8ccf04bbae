"""The interface every source implements, its typed errors, and the checks applied to what it returns."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, timedelta
from typing import Protocol

import pandas as pd

from mac_assets.catalog import VINTAGE_COLUMNS, Series
from mac_assets.pointintime import utc_today
from mac_assets.sources.redact import redact

# A fetched frame may say per row who delivered it (a continuation's rows); otherwise `Fetched.provider` does.
PROVIDER_COLUMN = "provider"


def shown(name: str) -> str:
    """A file or folder name as it may appear in a one-line message: itself, or quoted with its control
    characters escaped when it holds any (a newline in a file name must not start a new line of output)."""
    return name if name.isprintable() else repr(name)


class SourceError(RuntimeError):
    """A source could not deliver a series; the message names the source, the series and the problem.

    Raw assets catch these: they keep the rows already stored, record a failed `fetch_succeeded` check
    and let the run go on, so scores lose coverage instead of the whole graph failing. The message is
    redacted when the error is made (`redact.py`): it goes on to logs, metadata and the terminal.
    """

    def __init__(self, message: str):
        super().__init__(redact(message))


class SeriesUnavailable(SourceError):
    """The series cannot be had from this source here: no client, no key, geo-blocked, not in the folder."""


class GeoBlocked(SeriesUnavailable):
    """The provider refuses this location (HTTP 451)."""


class ProviderError(SourceError):
    """The provider answered with an error status after all retries, or not at all (`status` None)."""

    def __init__(self, message: str, status: int | None = None):
        super().__init__(message)
        self.status = status


class MalformedPayload(SourceError):
    """The provider answered 200 with a body we cannot read as the documented format."""


@dataclass(frozen=True)
class Fetched:
    """What one fetch returned: the rows, how many HTTP requests it took (retries and pages included),
    which provider delivered them (None: the series' own), and notes on what was left out and why."""

    frame: pd.DataFrame
    requests: int = 0
    provider: str | None = None
    notes: tuple[str, ...] = ()


class SeriesSource(Protocol):
    """Fetches one catalog series for observation dates in [start, end).

    A raw asset calls `fetch` once per series per run, whatever the number of partitions in the run.
    """

    @property
    def label(self) -> str: ...

    def fetch(self, series: Series, start: date, end: date) -> Fetched: ...


def fetch_continued(source: SeriesSource, series: Series, start: date, end: date) -> Fetched:
    """`source.fetch`, and, for a series the catalog says is continued under another identifier
    (`Series.continued_by`) that has gone stale inside the window (or delivered nothing in a window wholly after
    its first date), the dates after its last row read from the continuation: the same quantity, so one table
    holds one history. Those rows name the continuation in their `provider` column; a continuation the source
    cannot deliver leaves the series' own rows and a note."""
    got = source.fetch(series, start, end)
    if not series.continued_by:
        return got
    last = pd.to_datetime(got.frame["date"]).max() if len(got.frame) else None
    horizon = min(pd.Timestamp(end), utc_today())
    if last is not None and (horizon - last).days <= series.stale_after_days:
        return got
    if last is None and start < series.first_date:  # nothing yet: the series may not have begun, not ended
        return got
    since = start if last is None else max(start, last.date() + timedelta(days=1))
    successor = replace(series, id=series.continued_by, remote=series.continued_by, continued_by="")
    try:
        more = source.fetch(successor, since, end)
    except SourceError as exc:
        return replace(got, notes=(*got.notes, f"continuation {series.continued_by} not delivered: {exc}"))
    later = more.frame[pd.to_datetime(more.frame["date"]) >= pd.Timestamp(since)]  # a source may return more
    if later.empty:
        return got
    own = got.provider or source.label
    frame = pd.concat([got.frame.assign(**{PROVIDER_COLUMN: own}),
                       later.assign(**{PROVIDER_COLUMN: f"{more.provider or source.label}:{series.continued_by}"})],
                      ignore_index=True)
    ended = f"its last row is {last.date()}" if last is not None else "it has no rows in the window"
    note = f"{ended}; {len(later)} later rows from {series.continued_by}, which continues it"
    return Fetched(frame, got.requests + more.requests, own, (*got.notes, *more.notes, note))


def empty_frame(series: Series) -> pd.DataFrame:
    """A zero-row frame with the series' columns and types (what an unavailable series stores)."""
    columns = {"date": pd.Series(dtype="datetime64[ns]")}
    columns |= {k: pd.Series(dtype=str) for k in series.keys}
    columns |= {c: pd.Series(dtype=float) for c in series.columns}
    columns |= {c: pd.Series(dtype="datetime64[ns]") for c in _vintage_columns(series)}
    return pd.DataFrame(columns)


def _vintage_columns(series: Series) -> tuple[str, ...]:
    return VINTAGE_COLUMNS if series.vintages else ()


def validate_fetch(label: str, series: Series, frame: pd.DataFrame, start: date, end: date) -> pd.DataFrame:
    """Normalise types, keep the requested window, and refuse frames that would corrupt the raw table."""
    expected = ["date", *series.keys, *series.columns]
    missing = [c for c in expected if c not in frame.columns]
    if missing:
        raise MalformedPayload(f"{label}/{series.id}: response lacks columns {missing} (got {list(frame.columns)})")
    out = frame[expected + ([PROVIDER_COLUMN] if PROVIDER_COLUMN in frame.columns else [])].copy()
    try:
        out["date"] = pd.to_datetime(out["date"]).dt.normalize()
        # A versioned series always has its vintage columns (missing where the source keeps no versions:
        # demo, CSV), typed even when empty, or the first write would create them with the wrong type.
        for c in _vintage_columns(series):
            out[c] = pd.to_datetime(frame[c]) if c in frame.columns else pd.Series(pd.NaT, index=out.index,
                                                                                     dtype="datetime64[ns]")
        for c in series.columns:
            out[c] = pd.to_numeric(out[c], errors="raise").astype(float)
    except (ValueError, TypeError) as exc:
        raise MalformedPayload(f"{label}/{series.id}: unreadable values: {exc}") from exc
    for k in series.keys:
        out[k] = out[k].astype(str)
    out = out[(out["date"] >= pd.Timestamp(start)) & (out["date"] < pd.Timestamp(end))]
    duplicated = out.duplicated(list(series.row_key))
    if duplicated.any():
        first = out.loc[duplicated, "date"].iloc[0].date()
        raise MalformedPayload(f"{label}/{series.id}: duplicate observations, first on {first}")
    return out.sort_values(list(series.row_key)).reset_index(drop=True)

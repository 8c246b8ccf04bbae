"""FRED series observations (api.stlouisfed.org), JSON; every published version of revised series (ALFRED).

Why not `fredapi`: it reads XML through urllib, puts the key in the URL and turns every HTTP error
into a bare ValueError, so a 429 cannot be told from a bad series id and Retry-After is lost. This
client asks for JSON, honours FRED's ~2 requests/s limit with one limiter for all series, and never
puts the key in an error message.

Versions. Asked without a real-time period, FRED answers with today's values and sets every row's
`realtime_start` to the day of the request: that says nothing about when a value was published, so
for ordinary series it is not stored. For series the catalog marks `vintages`, the client asks ALFRED
for every version: it lists the series' vintage dates (`series/vintagedates`), then requests the
observations over real-time periods of at most `vintages_per_request` vintage dates each (FRED refuses
periods holding more than 2,000) and stores each (date, value, realtime_start, realtime_end). FRED cuts
a value's real-time period at the edge of the requested period, so a value that spans two requests
comes back twice; the halves are joined again. `vintages_since` records the series' first vintage date:
ALFRED dates every older observation's value to it, though those values were public long before.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import ClassVar

import pandas as pd
from pydantic import Field

from mac_assets.catalog import Series
from mac_assets.sources.base import MalformedPayload, SeriesUnavailable
from mac_assets.sources.client import HttpSource

# ALFRED's whole real-time axis, and the end date FRED gives a value that is still current.
EARLIEST, LATEST = "1776-07-04", "9999-12-31"


class FredClient(HttpSource):
    """FRED API client. The key comes from FRED_API_KEY through Dagster's EnvVar."""

    provider: ClassVar[str] = "fred"
    key_help: ClassVar[str] = "a free key: https://fred.stlouisfed.org/docs/api/api_key.html"
    base_url: str = "https://api.stlouisfed.org/fred"
    api_key: str = Field(description="FRED API key (EnvVar FRED_API_KEY); never logged.")
    rate_limit_per_s: float = Field(default=2.0, description="Requests per second across all FRED series.")
    page_limit: int = Field(default=100_000, description="Observations per request (FRED's maximum is 100,000).")
    vintages_per_request: int = Field(default=2000, description="Vintage dates per real-time period asked at once "
                                                                "(FRED refuses more than 2,000).")
    vintage_page_limit: int = Field(default=10_000, description="Vintage dates per `series/vintagedates` page "
                                                                 "(FRED documents 10,000 as its maximum; fewer per page are followed by offset).")

    def requests_per_second(self) -> float:
        return self.rate_limit_per_s

    def read(self, series: Series, start: date, end: date) -> pd.DataFrame:
        if not self.api_key:
            raise SeriesUnavailable(f"fred/{series.id}: no API key; set FRED_API_KEY ({self.key_help})")
        if not series.vintages:
            return parse_observations(series, self._observations(series, start, end))[["date", "value"]]
        vintages = self.vintage_dates(series)
        if not vintages:
            raise MalformedPayload(f"fred/{series.id}: ALFRED lists no vintage dates for a series kept with versions")
        # An observation in [start, end) cannot have been published before `start`.
        wanted = [v for v in vintages if v >= start]
        rows = []
        for i in range(0, len(wanted), self.vintages_per_request):
            following = wanted[i + self.vintages_per_request] if i + self.vintages_per_request < len(wanted) else None
            period = {"realtime_start": wanted[i].isoformat(),
                      "realtime_end": (following - timedelta(days=1)).isoformat() if following else LATEST}
            rows.extend(self._observations(series, start, end, period))
        return parse_vintages(series, rows, vintages[0])

    def vintage_dates(self, series: Series) -> list[date]:
        """Every date on which the series' values were released or revised, oldest first."""
        listed = self._paged(series, "series/vintagedates", "vintage_dates", self.vintage_page_limit,
                             {"realtime_start": EARLIEST, "realtime_end": LATEST})
        try:
            return sorted(date.fromisoformat(d) for d in listed)
        except (TypeError, ValueError) as exc:
            raise MalformedPayload(f"fred/{series.id}: unreadable vintage date ({exc})") from exc

    def _observations(self, series: Series, start: date, end: date, period: dict | None = None) -> list[dict]:
        return self._paged(series, "series/observations", "observations", self.page_limit, {
            "observation_start": start.isoformat(), "observation_end": (end - timedelta(days=1)).isoformat(),
            **(period or {})})

    def _paged(self, series: Series, endpoint: str, field: str, limit: int, params: dict) -> list:
        """Every item of `field` across FRED's pages (`limit` items each, followed by `offset` to `count`)."""
        items, offset, previous = [], 0, None
        while True:
            body = self.json(self.url(endpoint), series.id, {
                "series_id": series.remote_id, "api_key": self.api_key, "file_type": "json", **params,
                "limit": limit, "offset": offset,
            })
            try:
                page = body[field]
                count = int(body.get("count", len(page)))
            except (KeyError, TypeError, ValueError, AttributeError) as exc:
                raise MalformedPayload(f"fred/{series.id}: no '{field}' list in the response") from exc
            previous = self.new_page(series, endpoint, offset, page, previous)
            items.extend(page)
            offset += len(page)
            if not page or offset >= count:
                return items


def parse_observations(series: Series, rows: list[dict]) -> pd.DataFrame:
    """FRED values are strings and '.' means missing: such rows are dropped, not zero-filled."""
    if not rows:
        return pd.DataFrame({"date": [], "value": [], "realtime_start": [], "realtime_end": []})
    try:
        frame = pd.DataFrame(rows)[["date", "value", "realtime_start", "realtime_end"]]
    except KeyError as exc:
        raise MalformedPayload(f"fred/{series.id}: observation without {exc}") from exc
    frame = frame[frame["value"].astype(str).str.strip() != "."]
    frame["value"] = pd.to_numeric(frame["value"], errors="coerce")
    bad = frame["value"].isna()
    if bad.any():
        raise MalformedPayload(f"fred/{series.id}: non-numeric value {rows[bad.idxmax()]['value']!r}")
    return frame


def parse_vintages(series: Series, rows: list[dict], first_vintage: date) -> pd.DataFrame:
    """One row per (date, version): value, realtime_start, realtime_end (missing: still current) and
    the series' first vintage date. Periods cut at a request's edge are joined back into one."""
    frame = parse_observations(series, rows)
    try:
        frame["date"] = pd.to_datetime(frame["date"])
        frame["realtime_start"] = pd.to_datetime(frame["realtime_start"])
        frame["realtime_end"] = pd.to_datetime(frame["realtime_end"].where(frame["realtime_end"] != LATEST))
    except (ValueError, TypeError) as exc:
        raise MalformedPayload(f"fred/{series.id}: unreadable real-time period ({exc})") from exc
    frame = frame.sort_values(["date", "realtime_start"]).reset_index(drop=True)
    before = frame.shift()
    continues = ((frame["date"] == before["date"]) & (frame["value"] == before["value"])
                 & (frame["realtime_start"] == before["realtime_end"] + pd.Timedelta(days=1)))
    run = (~continues).cumsum()
    joined = frame.groupby(run).agg(date=("date", "first"), value=("value", "first"),
                                    realtime_start=("realtime_start", "first"))
    last_of_run = ~continues.shift(-1, fill_value=False)
    joined["realtime_end"] = frame.loc[last_of_run, "realtime_end"].to_numpy()
    return joined.reset_index(drop=True).assign(vintages_since=pd.Timestamp(first_vintage))

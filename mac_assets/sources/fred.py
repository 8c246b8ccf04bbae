"""FRED series observations (api.stlouisfed.org), JSON, with vintages kept.

Why not `fredapi`: it reads XML through urllib, puts the key in the URL and turns every HTTP error
into a bare ValueError, so a 429 cannot be told from a bad series id and Retry-After is lost; its
`get_series` also drops `realtime_start`. This client asks for JSON, keeps each observation's
`realtime_start` (for point-in-time replay), honours FRED's ~2 requests/s limit with one limiter for
all series, and never puts the key in an error message.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import ClassVar

import pandas as pd
from pydantic import Field

from mac_assets.catalog import Series
from mac_assets.sources.base import MalformedPayload
from mac_assets.sources.client import HttpSource


class FredClient(HttpSource):
    """FRED API client. The key comes from FRED_API_KEY through Dagster's EnvVar."""

    provider: ClassVar[str] = "fred"
    base_url: str = "https://api.stlouisfed.org/fred"
    api_key: str = Field(description="FRED API key (EnvVar FRED_API_KEY); never logged.")
    rate_limit_per_s: float = Field(default=2.0, description="Requests per second across all FRED series.")
    page_limit: int = Field(default=100_000, description="Observations per request (FRED's maximum is 100,000).")

    def requests_per_second(self) -> float:
        return self.rate_limit_per_s

    def read(self, series: Series, start: date, end: date) -> pd.DataFrame:
        if not self.api_key:
            raise ValueError(f"fred/{series.id}: no API key; set FRED_API_KEY (free at fred.stlouisfed.org)")
        rows, offset = [], 0
        while True:
            body = self.json(self.url("series/observations"), series.id, {
                "series_id": series.remote_id, "api_key": self.api_key, "file_type": "json",
                "observation_start": start.isoformat(), "observation_end": (end - timedelta(days=1)).isoformat(),
                "limit": self.page_limit, "offset": offset,
            })
            try:
                page = body["observations"]
                count = int(body.get("count", len(page)))
            except (KeyError, TypeError, ValueError) as exc:
                raise MalformedPayload(f"fred/{series.id}: no 'observations' list in the response") from exc
            rows.extend(page)
            offset += len(page)
            if not page or offset >= count:
                break
        return parse_observations(series, rows)


def parse_observations(series: Series, rows: list[dict]) -> pd.DataFrame:
    """FRED values are strings and '.' means missing: such rows are dropped, not zero-filled."""
    if not rows:
        return pd.DataFrame({"date": [], "value": [], "realtime_start": []})
    try:
        frame = pd.DataFrame(rows)[["date", "value", "realtime_start"]]
    except KeyError as exc:
        raise MalformedPayload(f"fred/{series.id}: observation without {exc}") from exc
    frame = frame[frame["value"].astype(str).str.strip() != "."]
    frame["value"] = pd.to_numeric(frame["value"], errors="coerce")
    bad = frame["value"].isna()
    if bad.any():
        raise MalformedPayload(f"fred/{series.id}: non-numeric value {rows[bad.idxmax()]['value']!r}")
    frame["realtime_start"] = pd.to_datetime(frame["realtime_start"])
    return frame

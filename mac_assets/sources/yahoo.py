"""Yahoo Finance chart endpoint (v8) for daily closes: SPY, BTC-USD and other tickers.

The endpoint is unofficial and throttles datacenter traffic: 401 (crumb) and 429 are retried with
backoff like 5xx. When Yahoo stays closed the raw table keeps what it had, the asset's
`fetch_succeeded` check fails, and scores lose the series' coverage until it recovers; a CSV folder
(`MAC_CSV_DIR`) can fill the gap with a vendor file.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import ClassVar

import pandas as pd

from mac_assets.catalog import Series
from mac_assets.sources.base import MalformedPayload
from mac_assets.sources.client import HttpSource


class YahooClient(HttpSource):
    provider: ClassVar[str] = "yahoo"
    extra_retryable: ClassVar[tuple[int, ...]] = (401,)
    base_url: str = "https://query1.finance.yahoo.com"

    def read(self, series: Series, start: date, end: date) -> pd.DataFrame:
        body = self.json(self.url(f"v8/finance/chart/{series.remote_id}"), series.id, {
            "period1": _epoch(start), "period2": _epoch(end), "interval": "1d", "includeAdjustedClose": "true",
        })
        return parse_chart(series, body)


def _epoch(d: date) -> int:
    return int(datetime(d.year, d.month, d.day, tzinfo=UTC).timestamp())


def parse_chart(series: Series, body: dict) -> pd.DataFrame:
    """Dates in the exchange's own time zone (gmtoffset); adjusted close where Yahoo gives it."""
    try:
        chart = body["chart"]
        if chart.get("error"):
            raise MalformedPayload(f"yahoo/{series.id}: chart error {chart['error']}")
        result = chart["result"][0]
        stamps = result.get("timestamp") or []
        offset = int(result.get("meta", {}).get("gmtoffset", 0))
        indicators = result["indicators"]
        adjusted = indicators.get("adjclose") or [{}]
        closes = adjusted[0].get("adjclose") or indicators["quote"][0]["close"]
    except (KeyError, IndexError, TypeError) as exc:
        raise MalformedPayload(f"yahoo/{series.id}: not a v8 chart response ({exc!r})") from exc
    if len(closes) != len(stamps):
        raise MalformedPayload(f"yahoo/{series.id}: {len(stamps)} timestamps but {len(closes)} closes")
    dates = pd.to_datetime(pd.Series(stamps, dtype="int64") + offset, unit="s").dt.normalize()
    return pd.DataFrame({"date": dates, "value": pd.to_numeric(pd.Series(closes, dtype=object), errors="coerce")}).dropna()

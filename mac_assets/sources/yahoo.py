"""Yahoo Finance chart endpoint (v8) for daily closes: SPY, BTC-USD and other tickers.

The endpoint is unofficial and refuses clients that do not look like a browser: since 2025 it answers
a non-browser User-Agent or TLS fingerprint with HTTP 429 and a plain "Too Many Requests". The client
therefore impersonates Chrome through curl_cffi (the library yfinance moved to for the same reason),
and 401 (crumb) and 429 are retried with backoff like 5xx. When Yahoo stays closed the raw table keeps
what it had, and the catalog's fallback provider (FRED's Coinbase series for bitcoin) is asked instead.

The stored value is the close adjusted for splits only (`quote.close`), not the dividend-adjusted
`adjclose`: Yahoo rescales the whole adjusted history at every ex-dividend date, so windows fetched on
different days would not fit together and returns would jump at the seams. A retroactive rescale of
the close itself (a split) is refused by the raw asset (`raw/quality.py`, `rescaled_by`).
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
    impersonate: ClassVar[str | None] = "chrome"
    base_url: str = "https://query1.finance.yahoo.com"

    def read(self, series: Series, start: date, end: date) -> pd.DataFrame:
        body = self.json(self.url(f"v8/finance/chart/{series.remote_id}"), series.id, {
            "period1": _epoch(start), "period2": _epoch(end), "interval": "1d",
        })
        return parse_chart(series, body)


def _epoch(d: date) -> int:
    return int(datetime(d.year, d.month, d.day, tzinfo=UTC).timestamp())


def parse_chart(series: Series, body: dict) -> pd.DataFrame:
    """Closes by the exchange's own date (gmtoffset). A window without bars (a holiday) is zero rows;
    when Yahoo adds a second bar for the same day (today's live one), the later one is kept."""
    try:
        chart = body["chart"]
        if chart.get("error"):
            raise MalformedPayload(f"yahoo/{series.id}: chart error {chart['error']}")
        result = chart["result"][0]
        stamps = result.get("timestamp") or []
        offset = int(result.get("meta", {}).get("gmtoffset", 0))
        quote = result["indicators"]["quote"][0]
        # A window without bars sends no timestamps and `quote: [{}]`; closes without timestamps are drift.
        closes = quote["close"] if stamps else quote.get("close") or []
    except (KeyError, IndexError, TypeError) as exc:
        raise MalformedPayload(f"yahoo/{series.id}: not a v8 chart response ({exc!r})") from exc
    if len(closes) != len(stamps):
        raise MalformedPayload(f"yahoo/{series.id}: {len(stamps)} timestamps but {len(closes)} closes")
    dates = pd.to_datetime(pd.Series(stamps, dtype="int64") + offset, unit="s").dt.normalize()
    frame = pd.DataFrame({"date": dates, "value": pd.to_numeric(pd.Series(closes, dtype=object), errors="coerce")})
    return frame.dropna().drop_duplicates("date", keep="last").reset_index(drop=True)

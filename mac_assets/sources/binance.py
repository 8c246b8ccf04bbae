"""Binance USD-M futures open interest history (daily notional, USD).

The history endpoint keeps only the last 30 days, so the raw table grows by accumulation: each run
stores what the window still offers and the table's append-only writes keep everything older. From
many US hosts Binance answers HTTP 451; that is a typed GeoBlocked error which lowers coverage.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import ClassVar

import pandas as pd

from mac_assets.catalog import Series
from mac_assets.sources.base import MalformedPayload
from mac_assets.sources.client import HttpSource

HISTORY_DAYS = 30


class BinanceClient(HttpSource):
    provider: ClassVar[str] = "binance"
    base_url: str = "https://fapi.binance.com"

    def read(self, series: Series, start: date, end: date) -> pd.DataFrame:
        oldest = datetime.now(UTC).date() - timedelta(days=HISTORY_DAYS - 1)
        first = max(start, oldest)
        if first >= end:  # the whole window is older than Binance keeps: nothing to ask for
            return pd.DataFrame({"date": [], "value": []})
        body = self.json(self.url("futures/data/openInterestHist"), series.id, {
            "symbol": series.remote_id, "period": "1d", "limit": 500,
            "startTime": _ms(first), "endTime": _ms(end) - 1,
        })
        return parse_open_interest(series, body)


def _ms(d: date) -> int:
    return int(datetime(d.year, d.month, d.day, tzinfo=UTC).timestamp() * 1000)


def parse_open_interest(series: Series, body) -> pd.DataFrame:
    if not isinstance(body, list):
        raise MalformedPayload(f"binance/{series.id}: expected a JSON array, got {type(body).__name__}")
    try:
        rows = pd.DataFrame(body, columns=["timestamp", "sumOpenInterestValue"]) if body else pd.DataFrame(
            {"timestamp": [], "sumOpenInterestValue": []})
        if body and not all(isinstance(r, dict) and {"timestamp", "sumOpenInterestValue"} <= r.keys() for r in body):
            raise KeyError("timestamp/sumOpenInterestValue")
        frame = pd.DataFrame({
            "date": pd.to_datetime(pd.to_numeric(rows["timestamp"]), unit="ms").dt.normalize(),
            "value": pd.to_numeric(rows["sumOpenInterestValue"]),
        })
    except (KeyError, TypeError, ValueError) as exc:
        raise MalformedPayload(f"binance/{series.id}: row without timestamp/sumOpenInterestValue ({exc!r})") from exc
    # Several snapshots can fall on one UTC day: keep the day's last.
    return frame.drop_duplicates("date", keep="last")

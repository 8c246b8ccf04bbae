"""Glassnode metrics (keyed): bitcoin held on exchanges. Without a key the series is unavailable here."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import ClassVar

import pandas as pd
from pydantic import Field

from mac_assets.catalog import Series
from mac_assets.sources.base import MalformedPayload, SeriesUnavailable
from mac_assets.sources.client import HttpSource


class GlassnodeClient(HttpSource):
    provider: ClassVar[str] = "glassnode"
    base_url: str = "https://api.glassnode.com"
    api_key: str = Field(default="", description="Glassnode API key (EnvVar GLASSNODE_API_KEY); optional.")

    def read(self, series: Series, start: date, end: date) -> pd.DataFrame:
        if not self.api_key:
            raise SeriesUnavailable(f"glassnode/{series.id}: no GLASSNODE_API_KEY; supply the series as a CSV file instead")
        # The key travels in Glassnode's documented header, not the URL, so it stays out of proxy logs.
        body = self.json(self.url(f"v1/metrics/{series.remote_id}"), series.id,
                         {"a": "BTC", "i": "24h", "s": _epoch(start), "u": _epoch(end) - 1},
                         headers={"X-Api-Key": self.api_key})
        try:
            if not isinstance(body, list) or any(not isinstance(r, dict) or "t" not in r for r in body):
                raise TypeError("not a list of {t, v} objects")
            rows = pd.DataFrame(body, columns=["t", "v"])
            frame = pd.DataFrame({"date": pd.to_datetime(pd.to_numeric(rows["t"]), unit="s").dt.normalize(),
                                  "value": pd.to_numeric(rows["v"])})
        except (KeyError, TypeError, ValueError) as exc:
            raise MalformedPayload(f"glassnode/{series.id}: expected [{{t, v}}, ...] ({exc!r})") from exc
        missing = frame["value"].isna()
        if missing.any():
            self.note(f"{int(missing.sum())} days without a value were left out (first: {frame['date'][missing].iloc[0]:%Y-%m-%d})")
        return frame[~missing].reset_index(drop=True)


def _epoch(d: date) -> int:
    return int(datetime(d.year, d.month, d.day, tzinfo=UTC).timestamp())

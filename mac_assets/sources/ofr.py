"""OFR Hedge Fund Monitor API (public, no key): quarterly Form PF aggregates as [[date, value], …]."""

from __future__ import annotations

from datetime import date, timedelta
from typing import ClassVar

import pandas as pd

from mac_assets.catalog import Series
from mac_assets.sources.base import MalformedPayload
from mac_assets.sources.client import HttpSource


class OfrClient(HttpSource):
    provider: ClassVar[str] = "ofr"
    base_url: str = "https://data.financialresearch.gov/hf/v1"

    def read(self, series: Series, start: date, end: date) -> pd.DataFrame:
        body = self.json(self.url("series/timeseries"), series.id, {
            "mnemonic": series.remote_id, "start_date": start.isoformat(),
            "end_date": (end - timedelta(days=1)).isoformat(),
        })
        if not isinstance(body, list) or any(not isinstance(r, list) or len(r) != 2 for r in body):
            raise MalformedPayload(f"ofr/{series.id}: expected [[date, value], ...]")
        frame = pd.DataFrame(body, columns=["date", "value"])
        return frame.dropna(subset=["value"])

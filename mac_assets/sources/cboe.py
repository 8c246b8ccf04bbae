"""Cboe index history CSVs from the public CDN (VIX, VIX9D, VIX3M: DATE,OPEN,HIGH,LOW,CLOSE; VVIX: DATE,VVIX)."""

from __future__ import annotations

import io
from datetime import date
from typing import ClassVar

import pandas as pd

from mac_assets.catalog import Series
from mac_assets.sources.base import MalformedPayload
from mac_assets.sources.client import HttpSource


class CboeClient(HttpSource):
    """Downloads `<INDEX>_History.csv` once per run; each file is the index's whole history."""

    provider: ClassVar[str] = "cboe"
    base_url: str = "https://cdn.cboe.com/api/global/us_indices/daily_prices"

    def read(self, series: Series, start: date, end: date) -> pd.DataFrame:
        response = self.http.get(self.url(f"{series.remote_id}_History.csv"), series.id)
        return parse_history_csv(series, response.text)


def parse_history_csv(series: Series, text: str) -> pd.DataFrame:
    try:
        raw = pd.read_csv(io.StringIO(text), dtype=str)
    except (pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        raise MalformedPayload(f"cboe/{series.id}: not a CSV: {exc}") from exc
    raw.columns = [c.strip().upper() for c in raw.columns]
    value_column = "CLOSE" if "CLOSE" in raw.columns else series.remote_id.upper()
    if "DATE" not in raw.columns or value_column not in raw.columns:
        raise MalformedPayload(
            f"cboe/{series.id}: expected DATE and CLOSE (or {series.remote_id.upper()}) columns, got {list(raw.columns)}"
        )
    last = raw.iloc[-1] if len(raw) else None
    if last is not None and not text.endswith("\n") and last.isna().any():
        # A file cut off mid-line (a dropped connection that still looked complete): its last row is
        # short. Cut exactly at a line end it is only shorter, which the append-only raw table absorbs.
        raise MalformedPayload(f"cboe/{series.id}: the file ends in an incomplete row (line {len(raw) + 1}): truncated?")
    dates = pd.to_datetime(raw["DATE"].str.strip(), format="%m/%d/%Y", errors="coerce")
    if dates.isna().any():
        row = int(dates.isna().to_numpy().argmax()) + 2  # header is line 1
        raise MalformedPayload(f"cboe/{series.id}: line {row} has date {raw['DATE'].iloc[row - 2]!r}, expected MM/DD/YYYY")
    values = pd.to_numeric(raw[value_column], errors="coerce")
    return pd.DataFrame({"date": dates, "value": values}).dropna(subset=["value"])

"""The live source (MAC_SOURCE=live): each catalog series goes to the client of its provider.

Series whose provider has no public API (ETF issuer assets), or whose client is unavailable here (no
key, geo-blocked), are read from the CSV folder when one is set (`MAC_CSV_DIR`) and holds the file;
otherwise they are unavailable and lower coverage.
"""

from __future__ import annotations

from datetime import date

from pydantic import BaseModel, Field

from mac_assets.catalog import Series
from mac_assets.sources.base import Fetched, SeriesUnavailable
from mac_assets.sources.client import HttpSource
from mac_assets.sources.csv_folder import CsvFolderSource


class LiveSource(BaseModel):
    clients: dict[str, HttpSource] = Field(description="Provider name → its client (sources/providers.py).")
    csv_dir: str = Field(default="", description="Folder of <SERIES>.csv files for series without a live client.")

    @property
    def label(self) -> str:
        return "live"

    def fetch(self, series: Series, start: date, end: date) -> Fetched:
        folder = CsvFolderSource(directory=self.csv_dir) if self.csv_dir else None
        client = self.clients.get(series.provider)
        if client is None:
            if folder is None:
                raise SeriesUnavailable(f"live/{series.id}: no public API for provider '{series.provider}'; "
                                        f"set MAC_CSV_DIR to a folder with {series.id}.csv")
            return folder.fetch(series, start, end)
        try:
            return client.fetch(series, start, end)
        except SeriesUnavailable:
            if folder is not None and folder.has(series):
                return folder.fetch(series, start, end)
            raise

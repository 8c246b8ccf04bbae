"""The live source (MAC_SOURCE=live): each catalog series goes to the client of its provider.

Series whose provider needs a paid or keyed feed that is not configured (ETF issuer assets, Glassnode
without a key) are read from the CSV folder when one is set (`MAC_CSV_DIR`) and hold the file;
otherwise they are unavailable and lower coverage.
"""

from __future__ import annotations

from datetime import date

from dagster import ConfigurableResource
from pydantic import Field

from mac_assets.catalog import Series
from mac_assets.sources.base import Fetched, SeriesUnavailable
from mac_assets.sources.binance import BinanceClient
from mac_assets.sources.cboe import CboeClient
from mac_assets.sources.cftc import CftcClient
from mac_assets.sources.csv_folder import CsvFolderSource
from mac_assets.sources.fred import FredClient
from mac_assets.sources.glassnode import GlassnodeClient
from mac_assets.sources.ofr import OfrClient
from mac_assets.sources.yahoo import YahooClient

# Catalog sources with no public API: only a CSV drop serves them.
CSV_ONLY = frozenset({"etf"})


class LiveSource(ConfigurableResource):
    fred: FredClient
    cboe: CboeClient
    cftc: CftcClient
    yahoo: YahooClient
    binance: BinanceClient
    ofr: OfrClient
    glassnode: GlassnodeClient
    csv_dir: str = Field(default="", description="Folder of <SERIES>.csv files for series without a live client.")

    @property
    def label(self) -> str:
        return "live"

    def client_for(self, series: Series):
        clients = {"fred": self.fred, "cboe": self.cboe, "cftc": self.cftc, "yahoo": self.yahoo,
                   "binance": self.binance, "ofr": self.ofr, "glassnode": self.glassnode}
        return clients.get(series.source)

    def fetch(self, series: Series, start: date, end: date) -> Fetched:
        folder = CsvFolderSource(directory=self.csv_dir) if self.csv_dir else None
        client = None if series.source in CSV_ONLY else self.client_for(series)
        if client is None:
            if folder is None:
                raise SeriesUnavailable(f"live/{series.id}: no public API for source '{series.source}'; "
                                        f"set MAC_CSV_DIR to a folder with {series.id}.csv")
            return folder.fetch(series, start, end)
        try:
            return client.fetch(series, start, end)
        except SeriesUnavailable:
            if folder is not None and folder.has(series):
                return folder.fetch(series, start, end)
            raise

"""The live source (MAC_SOURCE=live): each catalog series goes to the client of its provider.

When that provider refuses (an HTTP error after retries, a geo-block, no key, an unreadable answer),
the series' catalog fallback is asked (`Series.fallback`, the same quantity from another provider),
then the CSV folder (`MAC_CSV_DIR`) if it holds the series' file. The rows say which provider delivered
them, and the fetch's notes say why the first one did not. Series whose provider has no public API
(ETF issuer assets) are read from the CSV folder only; without it they are unavailable.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date

from pydantic import BaseModel, Field

from mac_assets.catalog import Series
from mac_assets.sources.base import Fetched, SeriesUnavailable, SourceError
from mac_assets.sources.client import HttpSource
from mac_assets.sources.csv_folder import DEFAULT_MAX_BYTES, CsvFolderSource
from mac_assets.sources.http import Deadline


class LiveSource(BaseModel):
    clients: dict[str, HttpSource] = Field(description="Provider name → its client (sources/providers.py).")
    csv_dir: str = Field(default="", description="Folder of <SERIES>.csv files for series without a live client.")
    csv_max_bytes: int = Field(default=DEFAULT_MAX_BYTES, description="Largest CSV file read (MAC_CSV_MAX_BYTES).")

    @property
    def label(self) -> str:
        return "live"

    def bound_by(self, deadline: Deadline) -> None:
        """Every client's later requests end by `deadline` (the run's fetch budget, `sources/fetching.py`)."""
        for client in self.clients.values():
            client.bound_by(deadline)

    def fetch(self, series: Series, start: date, end: date) -> Fetched:
        folder = CsvFolderSource(directory=self.csv_dir, max_bytes=self.csv_max_bytes) if self.csv_dir else None
        client = self.clients.get(series.provider)
        if client is None:
            if folder is None:
                raise SeriesUnavailable(f"live/{series.id}: no public API for provider '{series.provider}'; "
                                        f"set MAC_CSV_DIR to a folder with {series.id}.csv")
            return folder.fetch(series, start, end)
        try:
            return client.fetch(series, start, end)
        except SourceError as refused:
            for provider, substitute, reader in self._fallbacks(series, folder):
                try:
                    got = reader.fetch(substitute, start, end)
                except SourceError:
                    continue
                why = f"{series.provider} refused ({refused}); delivered by {provider}"
                return replace(got, provider=provider, notes=(why, *got.notes))
            raise

    def _fallbacks(self, series: Series, folder: CsvFolderSource | None):
        """(provider, series as that provider names it, reader) to try after the series' own provider."""
        if series.fallback and series.fallback[0] in self.clients:
            provider, remote = series.fallback
            yield f"{provider}:{remote}", replace(series, provider=provider, remote=remote), self.clients[provider]
        if folder is not None and folder.has(series):
            yield "csv", series, folder


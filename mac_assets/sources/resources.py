"""The Dagster objects of the sources layer, configured from settings: the `source` and `fetching` resources.

`source` builds the Dagster-free source MAC_SOURCE names (demo generator, CSV folder or live clients)
when a run starts, with API keys read at that moment through Dagster's `EnvVar`, so keys never sit in
code, the UI or metadata. `fetching` gives a live run its fetch budget: one `RunFetch` per run
(`sources/fetching.py`), made by the first raw asset and stopped when the run ends. The launchpad
shows and overrides every field of both.
"""

from __future__ import annotations

from datetime import date

from dagster import ConfigurableResource, EnvVar
from pydantic import Field, PrivateAttr

from mac_assets.catalog import Series
from mac_assets.infra.settings import (
    DEFAULT_CSV_MAX_BYTES,
    DEFAULT_DEMO_SEED,
    DEFAULT_FETCH_BUDGET_S,
    FETCH_BUDGET_VARIABLE,
    SOURCES,
    Settings,
)
from mac_assets.sources.base import Fetched, SeriesSource, fetch_continued
from mac_assets.sources.csv_folder import CsvFolderSource
from mac_assets.sources.demo import DemoSource
from mac_assets.sources.fetching import RunFetch
from mac_assets.sources.http import Deadline
from mac_assets.sources.live import LiveSource
from mac_assets.sources.providers import LIVE_PROVIDERS


class SourceResource(ConfigurableResource):
    """Where raw series come from (MAC_SOURCE) and how to reach it."""

    kind: str = Field(description=f"One of {', '.join(SOURCES)} (MAC_SOURCE).")
    demo_seed: int = Field(default=DEFAULT_DEMO_SEED, description="Seed of the demo generator (MAC_DEMO_SEED).")
    csv_dir: str = Field(default="", description="Folder of <SERIES>.csv files (MAC_CSV_DIR).")
    csv_max_bytes: int = Field(default=DEFAULT_CSV_MAX_BYTES, description="Largest CSV file read (MAC_CSV_MAX_BYTES).")
    base_urls: dict[str, str] = Field(default_factory=dict, description="Provider → root URL (MAC_<PROVIDER>_BASE_URL).")
    fred_api_key: str = Field(default="", description="FRED API key (EnvVar FRED_API_KEY); never logged.")
    glassnode_api_key: str = Field(default="", description="Glassnode API key (EnvVar GLASSNODE_API_KEY); optional.")

    _built: DemoSource | CsvFolderSource | LiveSource | None = PrivateAttr(default=None)

    def setup_for_execution(self, context) -> None:
        self._built = None  # a run builds its own, from the configuration resolved for it (keys included)

    @property
    def built_source(self) -> DemoSource | CsvFolderSource | LiveSource:
        if self._built is None:
            self._built = self._build()
        return self._built

    def _build(self):
        if self.kind == "demo":
            return DemoSource(seed=self.demo_seed)
        if self.kind == "csv":
            return CsvFolderSource(directory=self.csv_dir, max_bytes=self.csv_max_bytes)
        clients = {}
        for provider in LIVE_PROVIDERS:
            kw = {"base_url": self.base_urls[provider.name]} if provider.name in self.base_urls else {}
            if provider.key_variable:
                key = getattr(self, f"{provider.name}_api_key")
                # Outside a run an EnvVar field holds the variable's *name*; never send that as a key.
                kw["api_key"] = "" if isinstance(key, EnvVar) else key
            clients[provider.name] = provider.client(**kw)
        return LiveSource(clients=clients, csv_dir=self.csv_dir, csv_max_bytes=self.csv_max_bytes)

    @property
    def label(self) -> str:
        return self.built_source.label

    def fetch(self, series: Series, start: date, end: date) -> Fetched:
        return self.built_source.fetch(series, start, end)


class RunFetching(ConfigurableResource):
    """A live run's fetching: all providers at once, every request ending within the run's fetch budget."""

    budget_s: float = Field(default=DEFAULT_FETCH_BUDGET_S, description=f"Seconds a live run may spend fetching "
                                                                        f"({FETCH_BUDGET_VARIABLE}).")

    _run: RunFetch | None = PrivateAttr(default=None)

    def setup_for_execution(self, context) -> None:
        self._run = None

    def teardown_after_execution(self, context) -> None:
        if self._run is not None:
            self._run.close()

    def fetch(self, source: SeriesSource, series: Series, start: date, end: date, run_series: list[Series]) -> Fetched:
        """`series` from `source`; on a live source, from the run's concurrent fetch of `run_series`,
        started by the first call. Demo and CSV sources read local data: they are asked directly."""
        live = getattr(source, "built_source", source)
        if not isinstance(live, LiveSource):
            return fetch_continued(source, series, start, end)
        if self._run is None:
            self._run = RunFetch(live, run_series, start, end, Deadline(self.budget_s, FETCH_BUDGET_VARIABLE))
        return self._run.fetch(series, start, end)


def build_source(settings: Settings) -> SourceResource:
    """The resource for `settings.source`; an unknown or incomplete choice fails at load time."""
    if settings.source not in SOURCES:
        raise ValueError(f"MAC_SOURCE={settings.source!r} is not available; choose one of: {', '.join(SOURCES)}")
    if settings.source == "csv" and not settings.csv_dir:
        raise ValueError("MAC_SOURCE=csv needs MAC_CSV_DIR, the folder of <SERIES>.csv files")
    keys = {f"{p.name}_api_key": EnvVar(p.key_variable) for p in LIVE_PROVIDERS
            if p.key_variable and (p.key_required or p.name in settings.keys_set)}
    return SourceResource(kind=settings.source, demo_seed=settings.demo_seed, csv_dir=settings.csv_dir,
                          csv_max_bytes=settings.csv_max_bytes,
                          base_urls=settings.base_urls, **(keys if settings.source == "live" else {}))

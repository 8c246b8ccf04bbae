"""Source resources. `MAC_SOURCE` picks one; every raw asset talks to it as the `source` resource."""

from __future__ import annotations

from dagster import EnvVar

from mac_assets.settings import Settings
from mac_assets.sources.binance import BinanceClient
from mac_assets.sources.cboe import CboeClient
from mac_assets.sources.cftc import CftcClient
from mac_assets.sources.csv_folder import CsvFolderSource
from mac_assets.sources.demo import DemoSource
from mac_assets.sources.fred import FredClient
from mac_assets.sources.glassnode import GlassnodeClient
from mac_assets.sources.live import LiveSource
from mac_assets.sources.ofr import OfrClient
from mac_assets.sources.yahoo import YahooClient

SOURCES = ("demo", "live", "csv")


def build_live_source(settings: Settings) -> LiveSource:
    """Every provider client, with base-URL overrides from MAC_<PROVIDER>_BASE_URL and keys via EnvVar."""
    def url(provider: str) -> dict:
        return {"base_url": settings.base_urls[provider]} if provider in settings.base_urls else {}

    return LiveSource(
        fred=FredClient(api_key=EnvVar("FRED_API_KEY"), **url("fred")),
        cboe=CboeClient(**url("cboe")),
        cftc=CftcClient(**url("cftc")),
        yahoo=YahooClient(**url("yahoo")),
        binance=BinanceClient(**url("binance")),
        ofr=OfrClient(**url("ofr")),
        glassnode=GlassnodeClient(
            api_key=EnvVar("GLASSNODE_API_KEY") if settings.glassnode_key_set else "", **url("glassnode")
        ),
        csv_dir=settings.csv_dir,
    )


def build_source(settings: Settings):
    """The resource for `settings.source`; an unknown or incomplete choice fails at load time."""
    if settings.source == "demo":
        return DemoSource(seed=settings.demo_seed)
    if settings.source == "live":
        return build_live_source(settings)
    if settings.source == "csv":
        if not settings.csv_dir:
            raise ValueError("MAC_SOURCE=csv needs MAC_CSV_DIR, the folder of <SERIES>.csv files")
        return CsvFolderSource(directory=settings.csv_dir)
    raise ValueError(f"MAC_SOURCE={settings.source!r} is not available; choose one of: {', '.join(SOURCES)}")

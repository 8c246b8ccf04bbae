"""The one registry of providers: who serves which catalog series, with which client and which key.

Settings read `MAC_<PROVIDER>_BASE_URL` for each provider with a client, the live source routes each
series to its provider's client, and the tests' fake servers serve one path prefix per provider: all
from this table.
"""

from __future__ import annotations

from dataclasses import dataclass

from mac_assets.sources.binance import BinanceClient
from mac_assets.sources.cboe import CboeClient
from mac_assets.sources.cftc import CftcClient
from mac_assets.sources.client import HttpSource
from mac_assets.sources.fred import FredClient
from mac_assets.sources.glassnode import GlassnodeClient
from mac_assets.sources.ofr import OfrClient
from mac_assets.sources.yahoo import YahooClient


@dataclass(frozen=True)
class Provider:
    """A catalog `provider`: its live client (None: no public API, a CSV drop only) and its API key."""

    name: str
    client: type[HttpSource] | None
    key_variable: str = ""  # environment variable holding its API key, read through Dagster's EnvVar
    key_required: bool = False

    @property
    def base_url_variable(self) -> str:
        return f"MAC_{self.name.upper()}_BASE_URL"

    @property
    def key_help(self) -> str:
        return getattr(self.client, "key_help", "")


PROVIDERS: dict[str, Provider] = {p.name: p for p in (
    Provider("fred", FredClient, "FRED_API_KEY", key_required=True),
    Provider("cboe", CboeClient),
    Provider("cftc", CftcClient),
    Provider("yahoo", YahooClient),
    Provider("binance", BinanceClient),
    Provider("ofr", OfrClient),
    Provider("glassnode", GlassnodeClient, "GLASSNODE_API_KEY"),
    Provider("etf", None),  # ETF issuers' assets: no public API
)}
LIVE_PROVIDERS: tuple[Provider, ...] = tuple(p for p in PROVIDERS.values() if p.client is not None)


def missing_key(keys_set: frozenset[str]) -> str:
    """Why MAC_SOURCE=live cannot start when only `keys_set`'s providers have their key ('' when it can)."""
    for p in LIVE_PROVIDERS:
        if p.key_required and p.name not in keys_set:
            return (f"MAC_SOURCE=live needs {p.key_variable} ({p.key_help}); without one, read the series from files: "
                    "MAC_SOURCE=csv with MAC_CSV_DIR, a folder of <SERIES>.csv files")
    return ""

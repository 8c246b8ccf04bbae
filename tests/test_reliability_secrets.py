"""Reliability: secrets never leave the client, whatever a provider echoes (#24, case 2 and 7d's doctor).

A captive portal or a proxy answers 200 with an HTML page that quotes the request: its URL, where FRED's
key travels, and its headers, where Glassnode's does. Every message made from such a page is redacted
whole before anything cuts it, so neither a key nor any piece of one is shown. The sweep of everything a
whole run leaves behind is `test_reliability_process.py::test_a_live_run_leaves_no_trace_of_any_key_anywhere`.
"""

from __future__ import annotations

from datetime import date

import pytest

from mac_assets.catalog import get_series
from mac_assets.doctor import report
from mac_assets.sources.base import MalformedPayload
from mac_assets.sources.fred import FredClient
from mac_assets.sources.providers import LIVE_PROVIDERS

# Long enough that the page's 120-character cut falls inside the FRED key; random, so no piece of
# either key occurs in any other text.
FRED_KEY = "fred-sentinel-5b1e9c07d2a8f4163e0b7d95ac"
GLASSNODE_KEY = "gn-sentinel-8e2f61b04c9d37a5"
YEAR = (date(2024, 1, 1), date(2025, 1, 1))


def shows_part_of(text: str, secret: str, piece: int = 6) -> bool:
    return any(secret[i:i + piece] in text for i in range(len(secret) - piece + 1))


def test_a_200_html_page_echoing_the_request_url_never_shows_the_fred_key(hostile):
    fred = FredClient(base_url=hostile.url("/echo"), api_key=FRED_KEY, max_retries=0)
    with pytest.raises(MalformedPayload, match=r"fred/SOFR: response is not JSON: <html>.*api_key=\*\*\*") as err:
        fred.fetch(get_series("SOFR"), *YEAR)
    assert FRED_KEY in hostile.seen[0]  # the page did quote it
    assert not shows_part_of(str(err.value), FRED_KEY)


def test_the_doctor_redacts_before_it_cuts_so_no_part_of_a_key_is_printed(hostile, tmp_path):
    environ = {"MAC_SOURCE": "live", "MAC_DUCKDB_PATH": str(tmp_path / "mac.duckdb"), "FRED_API_KEY": FRED_KEY,
               "GLASSNODE_API_KEY": GLASSNODE_KEY, **{p.base_url_variable: hostile.url("/echo") for p in LIVE_PROVIDERS}}
    lines, status = report(environ)
    text = "\n".join(lines)
    assert status == 1
    assert "unreadable" in next(x for x in lines if x.startswith("fred ")) and "api_key=***" in text
    assert not shows_part_of(text, FRED_KEY) and not shows_part_of(text, GLASSNODE_KEY)

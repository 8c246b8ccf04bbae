"""Reliability: a live run's fetching ends within its fetch budget, whatever the providers do (#24, cases 1 and 7d).

Against tests/hostile_server.py: providers that trickle just above any per-read timeout, hang, drip a
byte every five seconds, throttle for a day or answer random bytes. Every budget and window is a few
seconds, set by the test.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import pytest
from fake_providers import FakeProviders
from graph_helpers import AS_OF, run, settings_for

from mac_assets.catalog import SERIES, get_series
from mac_assets.sources import http
from mac_assets.sources.base import ProviderError, SourceError
from mac_assets.sources.fetching import PARSE_GRACE_SECONDS, RunFetch
from mac_assets.sources.http import Deadline, HttpClient
from mac_assets.sources.live import LiveSource
from mac_assets.sources.providers import LIVE_PROVIDERS

pytestmark = pytest.mark.slow

BUDGET = "MAC_FETCH_BUDGET_S"
TODAY = datetime.now(UTC).date()
WINDOW = (TODAY - timedelta(days=90), TODAY + timedelta(days=1))  # recent enough for Binance's 30 days


def client(**kw) -> HttpClient:
    return HttpClient(provider="test", **({"backoff_s": 0.01, "max_retries": 0} | kw))


@pytest.mark.parametrize("bytes_per_second", [1, 2], ids=["1 B/s", "2 B/s, just above the old stall limit"])
def test_a_trickle_below_the_minimum_rate_is_cut_at_the_end_of_the_stall_window(hostile, bytes_per_second):
    started = time.monotonic()
    with pytest.raises(ProviderError) as err:
        client(timeout_s=20, stall_s=1).get(hostile.url(f"/trickle/{bytes_per_second}/x"), "S")
    assert time.monotonic() - started < 5  # the window, not the 20 s deadline
    assert "timeout (network error or timeout: no complete answer in time, or one slower than 1024 B/s for 1 s)" \
        in str(err.value)


def live_source(base_url: str, csv_dir, **settings) -> LiveSource:
    """Every provider's client at `base_url`, with keys, and settings under which only the budget can cut."""
    own = {"fred": {"api_key": "k" * 32}, "glassnode": {"api_key": "g" * 27}}
    return LiveSource(clients={p.name: p.client(base_url=base_url, **{k: v for k, v in settings.items() if k in
                                                                      p.client.model_fields}, **own.get(p.name, {}))
                               for p in LIVE_PROVIDERS}, csv_dir=str(csv_dir))


@pytest.mark.parametrize("path", ["/hang", "/trickle/0.2"], ids=["hung", "a byte every 5 s"])
def test_every_provider_is_asked_at_once_and_every_series_ends_by_the_deadline(hostile, tmp_path, path):
    source = live_source(hostile.url(path), tmp_path, timeout_s=60, stall_s=30, max_retries=4)
    started = time.monotonic()
    fetch = RunFetch(source, SERIES, *WINDOW, Deadline(3, BUDGET))
    errors = {}
    for series in SERIES:
        with pytest.raises(SourceError) as err:
            fetch.fetch(series, *WINDOW)
        errors[series.id] = str(err.value)
    elapsed = time.monotonic() - started
    assert elapsed < 3 + PARSE_GRACE_SECONDS + 1.5, elapsed
    # All at once: every provider was asked before the budget ran out, not only the first in line.
    assert all(c.http.requests_made >= 1 for c in source.clients.values())
    assert any(f"this run's fetch budget of 3 s ({BUDGET})" in e for e in errors.values())


def test_the_circuit_stays_open_for_the_rest_of_the_run(hostile, monkeypatch):
    c = client(max_retries=4, stall_s=1, timeout_s=1, circuit_failures=2)
    with pytest.raises(ProviderError):
        c.get(hostile.url("/hang"), "FIRST")
    later = time.monotonic() + 3600
    monkeypatch.setattr(http.time, "monotonic", lambda: later)  # an hour on: no cool-down, no half-open retry
    with pytest.raises(ProviderError) as err:
        c.get(hostile.url("/hang"), "SECOND")
    assert c.requests_made == 2 and len(hostile.seen) == 2
    assert "not attempted: test's circuit is open for the rest of this run (its last 2 requests failed)" in str(err.value)


@pytest.mark.graph
def test_a_live_run_with_every_provider_hostile_ends_within_its_budget_and_reports_missing_coverage(
        httpserver, hostile, tmp_path):
    fake = FakeProviders(httpserver, seed=7, as_of=AS_OF)
    source = fake.live_source(tmp_path, fred={"base_url": hostile.url("/hang"), "max_retries": 4},
                              yahoo={"base_url": hostile.url("/throttled")},
                              cboe={"base_url": hostile.url("/trickle/2")}, cftc={"base_url": hostile.url("/random")},
                              ofr={"base_url": hostile.url("/trickle/0.2")})
    path = tmp_path / "live.duckdb"
    started = time.monotonic()
    result = run(path, "2021", "2021", source=source, settings=settings_for(path, source="live", fetch_budget_s=4))
    elapsed = time.monotonic() - started
    assert result.success  # the run goes on with what it has
    failed = {e.asset_key.path[-1]: e.metadata["error"].value for e in result.get_asset_check_evaluations()
              if not e.passed and e.check_name == "fetch_succeeded"}
    hostile_providers = {"fred", "yahoo", "cboe", "cftc", "ofr"}
    assert {s.asset_name for s in SERIES if s.provider in hostile_providers} <= set(failed)
    assert "not this run" in failed["spy"]  # Yahoo's day-long Retry-After: one request, then its circuit is open
    assert len([p for p in hostile.seen if p.startswith("/throttled")]) == 1
    assert any(f"fetch budget of 4 s ({BUDGET})" in e for e in failed.values())
    assert elapsed < 60, elapsed  # sequential providers and per-attempt limits took minutes here


def test_a_failed_series_waiting_for_its_raw_asset_keeps_no_pages_alive(hostile, tmp_path):
    """An error waiting for its raw asset carries no traceback: one would keep the series' pages (up to its byte
    cap, parsed) in memory, for every failed series the fetch runs ahead of the raw assets."""
    source = live_source(hostile.url("/pages"), tmp_path, max_bytes=2_000_000, rate_limit_per_s=1000)
    fetch = RunFetch(source, [get_series("SOFR")], *WINDOW, Deadline(30, BUDGET))
    waiting = fetch._results["SOFR"]
    error = waiting.exception(timeout=20)
    assert "passed 2,000,000 bytes" in str(error)
    chain = [error, error.__cause__, error.__context__]
    assert all(e is None or e.__traceback__ is None for e in chain)

"""Reliability: every live client under every network and payload fault, then the whole graph under an outage.

Each client talks to the local fake provider server (tests/fake_providers.py). Transient faults must be
retried until the clean answer arrives; persistent ones must end in a typed error that names the
provider and the series. Then a whole-graph run during an outage must leave stored rows byte-identical
and report the lost series as missing data, never as made-up values.
"""

from __future__ import annotations

import re
import socket
import threading
import time
from datetime import date

import pandas as pd
import pytest
from fake_providers import FakeProviders
from graph_helpers import digest, run, settings_for, tables
from werkzeug import Response

from mac_assets.catalog import get_series
from mac_assets.derived.registry import metric_input_series
from mac_assets.sources.base import MalformedPayload, ProviderError
from mac_assets.sources.binance import BinanceClient
from mac_assets.sources.cboe import CboeClient
from mac_assets.sources.cftc import CftcClient
from mac_assets.sources.fred import FredClient
from mac_assets.sources.ofr import OfrClient
from mac_assets.sources.yahoo import YahooClient
from mac_assets.thresholds import CORE_THRESHOLDS

TODAY = pd.Timestamp.now(tz="UTC").tz_localize(None).normalize()
WINDOW = ((TODAY - pd.Timedelta(days=20)).date(), (TODAY + pd.Timedelta(days=1)).date())
FAST = {"backoff_s": 0.01, "max_retries": 2, "timeout_s": 5.0}
TIMEOUT_S, SLOW_S = 0.3, 0.6  # the timeout fault answers after SLOW_S; its client gives up after TIMEOUT_S

# provider → (client class, extra settings, series, request path, schema drift: (text, replacement))
CLIENTS = {
    "fred": (FredClient, {"api_key": "test-key", "rate_limit_per_s": 1000}, "SOFR", "/fred/series/observations",
             ('"observations"', '"data"')),
    "cboe": (CboeClient, {}, "VIX", re.compile(r"^/cboe/VIX_History\.csv$"), ("CLOSE", "LAST")),
    "cftc": (CftcClient, {"page_size": 5000}, "CFTC_TFF_UST", "/cftc/resource/gpe5-46if.json",
             ("lev_money_positions_short", "lev_money_short_all")),
    "yahoo": (YahooClient, {}, "SPY", re.compile(r"^/yahoo/v8/finance/chart/SPY$"), ('"timestamp"', '"time"')),
    "binance": (BinanceClient, {}, "BTCUSDT_OI", "/binance/futures/data/openInterestHist",
                ("sumOpenInterestValue", "sumOIValue")),
    "ofr": (OfrClient, {}, "FPF-ALLQHF_LEVERAGERATIO_GAVWMEAN", "/ofr/series/timeseries", ("[[", '{"series": [[')),
}


def _window(provider: str) -> tuple[date, date]:
    """Quarterly Form PF data needs a longer window to hold an observation."""
    return ((TODAY - pd.Timedelta(days=400)).date(), WINDOW[1]) if provider == "ofr" else WINDOW


@pytest.fixture
def fake(httpserver):
    return FakeProviders(httpserver, seed=11, as_of=str(TODAY.date()))


def _client(provider: str, fake, **kw):
    cls, extra, *_ = CLIENTS[provider]
    return cls(base_url=fake.base_urls()[provider], **(extra | FAST | kw))


def _read(provider, client):
    series = get_series(CLIENTS[provider][2])
    return client.fetch(series, *_window(provider))


def _good_body(provider, fake, request) -> Response:
    return getattr(fake, provider)(request)  # FakeProviders names each handler after its provider


# --- transient faults: retried until the clean answer ------------------------------------------------

def _slow(provider, fake):
    def handler(request):
        time.sleep(SLOW_S)
        return _good_body(provider, fake, request)
    return handler


TRANSIENT = {
    "timeout": lambda p, f: [_slow(p, f)],
    "429 with Retry-After": lambda p, f: [Response("slow down", status=429, headers={"Retry-After": "0"})],
    "429 without Retry-After": lambda p, f: [Response("slow down", status=429)],
    "a run of 5xx": lambda p, f: [Response("bad gateway", status=502), Response("unavailable", status=503)],
}


@pytest.mark.slow
@pytest.mark.parametrize("fault", sorted(TRANSIENT))
@pytest.mark.parametrize("provider", sorted(CLIENTS))
def test_transient_faults_are_retried_until_the_clean_answer_arrives(provider, fault, fake, httpserver):
    clean = _read(provider, _client(provider, fake)).frame
    assert len(clean), f"{provider}: the fake server has no data in the window"
    path = CLIENTS[provider][3]
    faults = TRANSIENT[fault](provider, fake)
    for response in faults:
        expectation = httpserver.expect_oneshot_request(path)
        if callable(response):
            expectation.respond_with_handler(response)
        else:
            expectation.respond_with_response(response)
    # After a timeout the retry waits until the one-threaded server has given up the slow answer.
    slow = {"timeout_s": TIMEOUT_S, "backoff_s": SLOW_S} if fault == "timeout" else {}
    got = _read(provider, _client(provider, fake, **slow))
    pd.testing.assert_frame_equal(got.frame, clean)
    assert got.requests == len(faults) + 1


# --- persistent faults: a typed error naming provider and series -------------------------------------

def _mutated(provider, fake, mutate):
    def handler(request):
        good = _good_body(provider, fake, request)
        return Response(mutate(good.get_data(as_text=True)), status=200, content_type=good.content_type)
    return handler


def _cut_mid_row(text: str) -> str:
    """The body cut off inside a row: after the first comma past the middle."""
    return text[: text.index(",", len(text) // 2) + 1]


PERSISTENT = {
    "truncated body (cut mid-row)": lambda p, f: _mutated(p, f, _cut_mid_row),
    "malformed body": lambda p, f: _mutated(p, f, lambda text: "<<<not what you think>>>"),
    "wrong content type (an HTML error page)": lambda p, f: lambda r: Response(
        "<html><body><h1>Service maintenance</h1></body></html>", status=200, content_type="text/html"),
    "empty response": lambda p, f: lambda r: Response("", status=200),
    "schema drift (a renamed field)": lambda p, f: _mutated(p, f, lambda text: text.replace(*CLIENTS[p][4])),
}


@pytest.mark.parametrize("fault", sorted(PERSISTENT))
@pytest.mark.parametrize("provider", sorted(CLIENTS))
def test_bad_payloads_are_refused_with_provider_and_series_named(provider, fault, fake, httpserver):
    httpserver.expect_oneshot_request(CLIENTS[provider][3]).respond_with_handler(PERSISTENT[fault](provider, fake))
    series = CLIENTS[provider][2]
    with pytest.raises((MalformedPayload, ProviderError)) as err:
        _read(provider, _client(provider, fake, max_retries=0))
    assert f"{provider}/{series}" in str(err.value)


@pytest.mark.parametrize("provider", sorted(CLIENTS))
def test_5xx_that_never_ends_exhausts_the_retries_with_a_clear_error(provider, fake, httpserver):
    for _ in range(FAST["max_retries"] + 1):
        httpserver.expect_oneshot_request(CLIENTS[provider][3]).respond_with_data("down", status=503)
    client = _client(provider, fake)
    with pytest.raises(ProviderError, match=rf"{provider}/{re.escape(CLIENTS[provider][2])}.*3 attempts.*HTTP 503"):
        _read(provider, client)
    assert client.http.requests_made == 3


@pytest.fixture
def resetting_port():
    """A TCP port whose server accepts each connection and resets it at once (RST, not FIN)."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    stop = threading.Event()

    def serve():
        listener.settimeout(0.1)
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except OSError:
                continue
            conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
            conn.close()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield listener.getsockname()[1]
    stop.set()
    thread.join()
    listener.close()


@pytest.mark.parametrize("provider", sorted(CLIENTS))
def test_connection_resets_are_retried_then_reported_without_the_url(provider, resetting_port):
    cls, extra, series, *_ = CLIENTS[provider]
    client = cls(base_url=f"http://127.0.0.1:{resetting_port}/{provider}", **(extra | FAST | {"timeout_s": TIMEOUT_S}))
    with pytest.raises(ProviderError, match=rf"{provider}/{re.escape(series)}.*network error") as err:
        client.fetch(get_series(series), *_window(provider))
    assert client.http.requests_made == FAST["max_retries"] + 1
    assert "127.0.0.1" not in str(err.value) and "test-key" not in str(err.value)


# --- the whole graph during an outage ---------------------------------------------------------------

@pytest.mark.graph
def test_an_outage_keeps_stored_rows_byte_identical_and_scores_lose_coverage_not_truth(httpserver, tmp_path):
    fake = FakeProviders(httpserver, seed=11, as_of="2021-06-30")
    path = tmp_path / "live.duckdb"
    settings = settings_for(path, source="live", history_start=date(2021, 1, 1))
    assert run(path, "2021", "2021", source=fake.live_source(tmp_path / "no-vendor-files", cftc_page_size=5000), settings=settings).success
    before = tables(path)

    # A quarter later Cboe is down for the whole run: every request answers 503.
    fake.as_of = pd.Timestamp("2021-09-30")
    httpserver.clear_log()
    down = re.compile(r"^/cboe/")
    for _ in range(4 * 2):  # four indexes, two attempts each
        httpserver.expect_oneshot_request(down).respond_with_data("maintenance", status=503)
    result = run(path, "2021", "2021", source=fake.live_source(tmp_path / "no-vendor-files", cftc_page_size=5000), settings=settings)
    assert result.success  # a provider outage is data, not a crash
    after = tables(path)

    cboe = ["raw.vix", "raw.vix9d", "raw.vix3m", "raw.vvix"]
    assert digest({t: before[t] for t in cboe}) == digest({t: after[t] for t in cboe})
    failed = {e.asset_key.path[-1] for e in result.get_asset_check_evaluations()
              if not e.passed and e.check_name == "fetch_succeeded"}
    assert {"vix", "vix9d", "vix3m", "vvix"} <= failed
    assert after["raw.sofr"]["date"].max() > before["raw.sofr"]["date"].max()  # FRED kept flowing

    scores = after["scores.indicator_scores"]
    late = scores[scores["date"] >= "2021-08-01"]
    volatility = [t for t in CORE_THRESHOLDS if t.pillar == "volatility"]
    on_cboe = [t for t in volatility if {s.provider for s in metric_input_series(t.metric)} == {"cboe"}]
    for t in on_cboe:
        rows = late[late["indicator"] == t.indicator]
        assert rows["score"].isna().all() and (rows["status"] == "no_data").all(), t.indicator
    vol = after["scores.pillar_scores"].query("pillar == 'volatility' and date >= '2021-08-01'")
    assert on_cboe and (vol["coverage"] == 1 - len(on_cboe) / len(volatility)).all()
    assert vol["score"].isna().all() == (len(on_cboe) == len(volatility))
    composite = after["scores.mac1_composite"].set_index("date")  # one year of history: mac-2.0 is still warming up
    assert composite.loc["2021-08-02":, "coverage"].max() < composite.loc["2021-05-03":"2021-06-25", "coverage"].min()

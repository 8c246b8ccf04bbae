"""Each provider client against a local HTTP server speaking the provider's documented format."""

import dataclasses
import json
from datetime import UTC, date, datetime

import pandas as pd
import pytest
from fake_providers import FRED_KEY, FakeProviders

from mac_assets.catalog import get_series
from mac_assets.sources.base import GeoBlocked, MalformedPayload, ProviderError, SeriesUnavailable
from mac_assets.sources.binance import BinanceClient
from mac_assets.sources.cboe import CboeClient
from mac_assets.sources.cftc import CftcClient
from mac_assets.sources.fred import FredClient
from mac_assets.sources.glassnode import GlassnodeClient
from mac_assets.sources.ofr import OfrClient
from mac_assets.sources.yahoo import YahooClient

FAST = {"backoff_s": 0.01, "max_retries": 2}
Y2024 = (date(2024, 1, 1), date(2025, 1, 1))


def fred(httpserver, **kw):
    return FredClient(**{"base_url": httpserver.url_for("/fred"), "api_key": "test-key", "rate_limit_per_s": 50} | FAST | kw)


def observations(rows, count=None, offset=0):
    return {"realtime_start": "2024-06-01", "realtime_end": "2024-06-01", "count": count or len(rows),
            "offset": offset, "limit": 100000,
            "observations": [{"realtime_start": rt, "realtime_end": "9999-12-31", "date": d, "value": v}
                             for d, v, rt in rows]}


# --- FRED -----------------------------------------------------------------------------------------

def test_fred_parses_string_values_drops_dots_and_does_not_store_the_request_day_as_a_version(httpserver):
    httpserver.expect_request("/fred/series/observations", query_string={
        "series_id": "SOFR", "api_key": "test-key", "file_type": "json", "observation_start": "2024-01-01",
        "observation_end": "2024-12-31", "limit": "100000", "offset": "0",
    }).respond_with_json(observations([("2024-01-02", "5.40", "2024-06-01"), ("2024-01-03", ".", "2024-06-01"),
                                       ("2024-01-04", "5.31", "2024-06-01")]))
    got = fred(httpserver).fetch(get_series("SOFR"), *Y2024)
    assert got.requests == 1
    assert got.frame["value"].tolist() == [5.40, 5.31]
    # Asked without a real-time period, FRED dates every row to the day of the request: not a version.
    assert "realtime_start" not in got.frame.columns


def _alfred(httpserver, as_of="2025-06-30", **kw):
    fake = FakeProviders(httpserver, seed=3, as_of=as_of, **kw)
    client = FredClient(base_url=fake.base_urls()["fred"], api_key=FRED_KEY, rate_limit_per_s=1000, **FAST)
    return fake, client


def test_a_revised_fred_series_keeps_every_version_alfred_published(httpserver):
    fake, client = _alfred(httpserver)
    versions = fake.versions["GDP"]
    first = versions.loc[versions["date"] == pd.Timestamp("2024-01-01"), "value"].iloc[0]
    fake.revise("GDP", "2024-01-01", first + 50, published="2024-05-30")
    fake.revise("GDP", "2024-01-01", first + 80, published="2024-06-27")
    got = client.fetch(get_series("GDP"), *Y2024)
    assert got.requests == 2  # the vintage dates, then one real-time period holding all of them
    q1 = got.frame[got.frame["date"] == pd.Timestamp("2024-01-01")]
    assert q1["value"].tolist() == [first, first + 50, first + 80]
    assert q1["realtime_start"].dt.strftime("%Y-%m-%d").tolist() == ["2024-05-02", "2024-05-30", "2024-06-27"]
    assert q1["realtime_end"].dt.strftime("%Y-%m-%d").fillna("current").tolist() == ["2024-05-29", "2024-06-26", "current"]
    assert (got.frame["vintages_since"] == fake.versions["GDP"]["start"].min()).all()
    asked = [dict(r.args) for r, _ in httpserver.log if r.path.endswith("/observations")]
    assert asked[0]["realtime_start"] == "2024-01-31" and asked[0]["realtime_end"] == "9999-12-31"


def test_fred_asks_real_time_periods_within_the_vintage_limit_and_joins_the_cut_periods(httpserver):
    fake, client = _alfred(httpserver, vintage_limit=2)
    with pytest.raises(ProviderError, match="exceeds the maximum number of vintage dates allowed") as refused:
        client.fetch(get_series("GDP"), *Y2024)  # FRED's answer to a period holding too many
    assert refused.value.status == 400
    paged = FredClient(base_url=fake.base_urls()["fred"], api_key=FRED_KEY, rate_limit_per_s=1000,
                       vintages_per_request=2, **FAST)
    got = paged.fetch(get_series("GDP"), *Y2024)
    wanted = len([v for v in fake._published("GDP")["start"].unique() if v >= pd.Timestamp("2024-01-01")])
    assert got.requests == 1 + -(-wanted // 2)
    whole = FredClient(base_url=fake.base_urls()["fred"], api_key=FRED_KEY, rate_limit_per_s=1000, **FAST)
    fake.vintage_limit = 2000
    # A version that spans several requested periods comes back cut at their edges; joined, the rows
    # are exactly those of one request over the whole axis.
    pd.testing.assert_frame_equal(got.frame, whole.fetch(get_series("GDP"), *Y2024).frame)
    assert got.frame.groupby("date").size().eq(1).all() and got.frame["realtime_end"].isna().all()


def test_fred_errors_carry_freds_own_message_and_never_the_key(httpserver):
    fake, _ = _alfred(httpserver)
    wrong_key = FredClient(base_url=fake.base_urls()["fred"], api_key="not-registered-key", **FAST)
    with pytest.raises(ProviderError, match="HTTP 400: .*api_key is not registered") as bad_key:
        wrong_key.fetch(get_series("SOFR"), *Y2024)
    assert "not-registered-key" not in str(bad_key.value)
    client = FredClient(base_url=fake.base_urls()["fred"], api_key=FRED_KEY, **FAST)
    unknown = dataclasses.replace(get_series("SOFR"), remote="NOSUCHSERIES")
    with pytest.raises(ProviderError, match="The series does not exist"):
        client.fetch(unknown, *Y2024)
    fake.refuse("fred")
    with pytest.raises(ProviderError, match=r"failed after 3 attempts, last: HTTP 429 \(.*Exceeded Rate Limit") as throttled:
        client.fetch(get_series("SOFR"), *Y2024)
    assert throttled.value.status == 429


def test_fred_pages_through_long_histories(httpserver):
    for offset in (0, 2):
        rows = [(f"2024-01-0{offset + i + 1}", "1.0", "2024-02-01") for i in range(2)]
        httpserver.expect_request("/fred/series/observations", query_string={
            "series_id": "DFF", "api_key": "test-key", "file_type": "json", "observation_start": "2024-01-01",
            "observation_end": "2024-12-31", "limit": "2", "offset": str(offset),
        }).respond_with_json(observations(rows, count=3 if offset else 3, offset=offset))
    got = fred(httpserver, page_limit=2).fetch(get_series("DFF"), *Y2024)
    assert got.requests == 2 and len(got.frame) == 4


def test_fred_429_then_success(httpserver):
    httpserver.expect_ordered_request("/fred/series/observations").respond_with_data("", status=429, headers={"Retry-After": "0"})
    httpserver.expect_ordered_request("/fred/series/observations").respond_with_json(observations([("2024-01-02", "1", "2024-01-02")]))
    got = fred(httpserver).fetch(get_series("DFF"), *Y2024)
    assert got.requests == 2 and got.frame["value"].tolist() == [1.0]


def test_fred_malformed_bodies_are_refused_with_the_series_named(httpserver):
    httpserver.expect_ordered_request("/fred/series/observations").respond_with_data("<html>maintenance</html>")
    httpserver.expect_ordered_request("/fred/series/observations").respond_with_json({"error": "nope"})
    httpserver.expect_ordered_request("/fred/series/observations").respond_with_json(observations([("2024-01-02", "n/a", "2024-01-02")]))
    client = fred(httpserver)
    with pytest.raises(MalformedPayload, match="fred/DFF: response is not JSON"):
        client.fetch(get_series("DFF"), *Y2024)
    with pytest.raises(MalformedPayload, match="fred/DFF: no 'observations'"):
        client.fetch(get_series("DFF"), *Y2024)
    with pytest.raises(MalformedPayload, match="fred/DFF: non-numeric value 'n/a'"):
        client.fetch(get_series("DFF"), *Y2024)


def test_fred_without_a_key_says_which_variable_to_set(httpserver):
    with pytest.raises(SeriesUnavailable, match="fred/SOFR: no API key; set FRED_API_KEY .*api_key.html"):
        fred(httpserver, api_key="").fetch(get_series("SOFR"), *Y2024)


def test_fred_series_share_one_rate_limit(httpserver):
    httpserver.expect_request("/fred/series/observations").respond_with_json(observations([]))
    client = FredClient(base_url=httpserver.url_for("/fred"), api_key="k", rate_limit_per_s=4, **FAST)
    started = datetime.now()
    for sid in ("SOFR", "IORB", "DFF", "DTB3", "DGS10"):
        client.fetch(get_series(sid), *Y2024)
    assert (datetime.now() - started).total_seconds() >= 1.0  # 5 requests at 4/s


# --- CBOE -----------------------------------------------------------------------------------------

def test_cboe_reads_ohlc_and_vvix_files_with_us_dates(httpserver):
    httpserver.expect_request("/cboe/VIX9D_History.csv").respond_with_data(
        "DATE,OPEN,HIGH,LOW,CLOSE\n01/02/2024,12.1,13.0,11.9,12.45\n01/03/2024,12.5,14.2,12.4,13.99\n", content_type="text/csv")
    httpserver.expect_request("/cboe/VVIX_History.csv").respond_with_data("DATE,VVIX\n01/02/2024,81.2\n", content_type="text/csv")
    client = CboeClient(base_url=httpserver.url_for("/cboe"), **FAST)
    vix9d = client.fetch(get_series("VIX9D"), *Y2024).frame
    assert vix9d["value"].tolist() == [12.45, 13.99]
    assert vix9d["date"].tolist() == [pd.Timestamp("2024-01-02"), pd.Timestamp("2024-01-03")]
    assert client.fetch(get_series("VVIX"), *Y2024).frame["value"].tolist() == [81.2]


def test_cboe_refuses_an_unexpected_layout_or_date(httpserver):
    httpserver.expect_ordered_request("/cboe/VIX_History.csv").respond_with_data("Date,Price\n2024-01-02,12\n")
    httpserver.expect_ordered_request("/cboe/VIX_History.csv").respond_with_data("DATE,CLOSE\n2024-01-02,12\n")
    client = CboeClient(base_url=httpserver.url_for("/cboe"), **FAST)
    with pytest.raises(MalformedPayload, match=r"expected DATE and CLOSE \(or VIX\) columns"):
        client.fetch(get_series("VIX"), *Y2024)
    with pytest.raises(MalformedPayload, match="line 2 has date '2024-01-02', expected MM/DD/YYYY"):
        client.fetch(get_series("VIX"), *Y2024)


# --- CFTC -----------------------------------------------------------------------------------------

def cftc_row(day, code, long, short, suffix=""):
    return {"report_date_as_yyyy_mm_dd": f"{day}T00:00:00.000", "cftc_contract_market_code": code,
            "market_and_exchange_names": "UST 10Y NOTE - CHICAGO BOARD OF TRADE", "open_interest_all": "4500000",
            f"lev_money_positions_long{suffix}": str(long), f"lev_money_positions_short{suffix}": str(short),
            "dealer_positions_long_all": "100", "dealer_positions_short_all": "200"}


def test_cftc_filters_by_contract_code_pages_and_parses_strings(httpserver):
    rows = [cftc_row("2024-01-02", "043602", 100, 900), cftc_row("2024-01-02", "042601", 10, 20),
            cftc_row("2024-01-09", "043602", 150, 950, suffix="_all")]
    seen = []

    def socrata(request):
        seen.append(dict(request.args))
        offset, limit = int(request.args["$offset"]), int(request.args["$limit"])
        from werkzeug import Response
        return Response(json.dumps(rows[offset:offset + limit]), content_type="application/json")

    httpserver.expect_request("/cftc/resource/gpe5-46if.json").respond_with_handler(socrata)
    got = CftcClient(base_url=httpserver.url_for("/cftc"), page_size=2, **FAST).fetch(get_series("CFTC_TFF_UST"), *Y2024)
    assert got.requests == 2 and len(got.frame) == 3
    assert "cftc_contract_market_code in ('042601', '044601', '043602', '043607', '020601', '020604')" in seen[0]["$where"]
    assert [s["$offset"] for s in seen] == ["0", "2"]
    assert got.frame["lev_money_short"].tolist() == [900.0, 20.0, 950.0]
    assert got.frame["asset_mgr_long"].isna().all()  # absent optional field: missing, not zero


def test_cftc_without_leveraged_funds_fields_is_malformed_and_a_row_without_them_is_left_out(httpserver):
    row = cftc_row("2024-01-02", "043602", 1, 2)
    del row["lev_money_positions_short"]
    other = cftc_row("2024-01-02", "042601", 1, 2)
    httpserver.expect_ordered_request("/cftc/resource/gpe5-46if.json").respond_with_json([row])
    httpserver.expect_ordered_request("/cftc/resource/gpe5-46if.json").respond_with_json([other, row])
    client = CftcClient(base_url=httpserver.url_for("/cftc"), **FAST)
    with pytest.raises(MalformedPayload, match="no field for lev_money_short"):
        client.fetch(get_series("CFTC_TFF_UST"), *Y2024)
    # Socrata leaves a null field out of its row: that row is left out and noted, the rest are kept.
    got = client.fetch(get_series("CFTC_TFF_UST"), *Y2024)
    assert got.frame["contract_code"].tolist() == ["042601"]
    assert "report rows without a numeric" in got.notes[0] and "2024-01-02/043602" in got.notes[0]


# --- Yahoo ----------------------------------------------------------------------------------------

def chart(stamps, closes, adj=None, offset=-18000):
    result = {"meta": {"symbol": "SPY", "gmtoffset": offset}, "timestamp": stamps,
              "indicators": {"quote": [{"close": closes}]}}
    if adj is not None:
        result["indicators"]["adjclose"] = [{"adjclose": adj}]
    return {"chart": {"result": [result], "error": None}}


def test_yahoo_uses_split_adjusted_closes_on_exchange_dates_and_retries_401(httpserver):
    open_utc = int(datetime(2024, 1, 2, 14, 30, tzinfo=UTC).timestamp())
    httpserver.expect_ordered_request("/yahoo/v8/finance/chart/SPY").respond_with_data("Invalid Crumb", status=401)
    httpserver.expect_ordered_request("/yahoo/v8/finance/chart/SPY").respond_with_json(
        chart([open_utc, open_utc + 86400], [470.0, None], adj=[468.5, None]))
    got = YahooClient(base_url=httpserver.url_for("/yahoo"), **FAST).fetch(get_series("SPY"), *Y2024)
    assert got.requests == 2
    assert got.frame["date"].tolist() == [pd.Timestamp("2024-01-02")]
    # Not the dividend-adjusted 468.5: Yahoo rescales that whole history at every ex-dividend date.
    assert got.frame["value"].tolist() == [470.0]


def test_yahoo_is_asked_as_a_browser_and_its_plain_text_429_is_retried(httpserver):
    httpserver.expect_ordered_request("/yahoo/v8/finance/chart/SPY").respond_with_data(
        "Too Many Requests", status=429, content_type="text/plain")
    httpserver.expect_ordered_request("/yahoo/v8/finance/chart/SPY").respond_with_json(chart([], []))
    got = YahooClient(base_url=httpserver.url_for("/yahoo"), **FAST).fetch(get_series("SPY"), *Y2024)
    assert got.requests == 2
    agent = httpserver.log[-1][0].headers["User-Agent"]
    assert "Mozilla/5.0" in agent and "Chrome/" in agent and "mac-assets" not in agent


def test_a_yahoo_window_without_bars_is_zero_rows(httpserver):
    empty = {"chart": {"result": [{"meta": {"symbol": "SPY", "gmtoffset": -18000},
                                   "indicators": {"quote": [{}], "adjclose": [{}]}}], "error": None}}
    httpserver.expect_request("/yahoo/v8/finance/chart/SPY").respond_with_json(empty)  # e.g. 1-2 January
    got = YahooClient(base_url=httpserver.url_for("/yahoo"), **FAST).fetch(get_series("SPY"), *Y2024)
    assert got.frame.empty


def test_a_second_yahoo_bar_for_the_same_day_keeps_the_later_one(httpserver):
    close = int(datetime(2024, 1, 2, 14, 30, tzinfo=UTC).timestamp())
    httpserver.expect_request("/yahoo/v8/finance/chart/SPY").respond_with_json(
        chart([close, close + 3 * 3600], [470.0, 471.5]))  # the day's bar, then today's live one
    got = YahooClient(base_url=httpserver.url_for("/yahoo"), **FAST).fetch(get_series("SPY"), *Y2024)
    assert got.frame["value"].tolist() == [471.5]


def test_yahoo_chart_error_is_malformed(httpserver):
    httpserver.expect_request("/yahoo/v8/finance/chart/SPY").respond_with_json({"chart": {"result": None, "error": {"code": "Not Found"}}})
    with pytest.raises(MalformedPayload, match="yahoo/SPY: chart error"):
        YahooClient(base_url=httpserver.url_for("/yahoo"), **FAST).fetch(get_series("SPY"), *Y2024)


# --- Binance --------------------------------------------------------------------------------------

def recent_window():
    today = datetime.now(UTC).date()
    return today.replace(day=1) if today.day > 1 else today, date(today.year + 1, 1, 1)


def test_binance_reads_usd_open_interest_of_the_last_30_days(httpserver):
    start, end = recent_window()
    ms = int(datetime(start.year, start.month, start.day, tzinfo=UTC).timestamp() * 1000)
    httpserver.expect_request("/binance/futures/data/openInterestHist").respond_with_json([
        {"symbol": "BTCUSDT", "sumOpenInterest": "80000.1", "sumOpenInterestValue": "7200000000.5", "timestamp": ms},
    ])
    got = BinanceClient(base_url=httpserver.url_for("/binance"), **FAST).fetch(get_series("BTCUSDT_OI"), start, end)
    assert got.frame["value"].tolist() == [7200000000.5]
    assert httpserver.log[0][0].args["symbol"] == "BTCUSDT" and httpserver.log[0][0].args["period"] == "1d"


def test_binance_geo_block_is_typed(httpserver):
    httpserver.expect_request("/binance/futures/data/openInterestHist").respond_with_data(
        '{"code":0,"msg":"Service unavailable from a restricted location"}', status=451)
    with pytest.raises(GeoBlocked, match="binance/BTCUSDT_OI"):
        BinanceClient(base_url=httpserver.url_for("/binance"), **FAST).fetch(get_series("BTCUSDT_OI"), *recent_window())


def test_binance_is_not_asked_for_history_it_no_longer_keeps(httpserver):
    got = BinanceClient(base_url=httpserver.url_for("/binance"), **FAST).fetch(get_series("BTCUSDT_OI"), *Y2024)
    assert got.requests == 0 and got.frame.empty and not httpserver.log


# --- OFR and Glassnode ----------------------------------------------------------------------------

def test_ofr_reads_date_value_pairs(httpserver):
    httpserver.expect_request("/ofr/series/timeseries", query_string={
        "mnemonic": "FPF-BORROW_REPO_SUM", "start_date": "2024-01-01", "end_date": "2024-12-31",
    }).respond_with_json([["2024-03-31", 2.1e12], ["2024-06-30", None]])
    got = OfrClient(base_url=httpserver.url_for("/ofr"), **FAST).fetch(get_series("FPF-BORROW_REPO_SUM"), *Y2024)
    assert got.frame["value"].tolist() == [2.1e12]


def test_ofr_unexpected_shape_is_malformed(httpserver):
    httpserver.expect_request("/ofr/series/timeseries").respond_with_json({"data": []})
    with pytest.raises(MalformedPayload, match=r"ofr/FPF-BORROW_REPO_SUM: expected \[\[date, value\]"):
        OfrClient(base_url=httpserver.url_for("/ofr"), **FAST).fetch(get_series("FPF-BORROW_REPO_SUM"), *Y2024)


def test_glassnode_without_a_key_is_unavailable_and_with_one_reads_t_v_rows(httpserver):
    series = get_series("BTC_EXCHANGE_RESERVE")
    with pytest.raises(SeriesUnavailable, match="no GLASSNODE_API_KEY"):
        GlassnodeClient(base_url=httpserver.url_for("/gn")).fetch(series, *Y2024)
    httpserver.expect_request("/gn/v1/metrics/distribution/balance_exchanges", headers={"X-Api-Key": "k"}).respond_with_json(
        [{"t": 1704067200, "v": 2300000.5}, {"t": 1704153600, "v": None}])
    got = GlassnodeClient(base_url=httpserver.url_for("/gn"), api_key="k", **FAST).fetch(series, *Y2024)
    assert got.frame["value"].tolist() == [2300000.5]  # a day with a null value is left out, not the whole fetch
    assert "1 days without a value" in got.notes[0]
    assert "k" not in httpserver.log[-1][0].args.values()  # the key travels in the header, never the URL

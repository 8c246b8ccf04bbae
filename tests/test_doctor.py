"""`make doctor` against the fake providers: what it finds, what it prints, and that a key never shows."""

import time
from datetime import UTC, datetime

import pytest
from fake_providers import FRED_KEY, FakeProviders

from mac_assets.doctor import report
from mac_assets.sources.fetching import PARSE_GRACE_SECONDS
from mac_assets.sources.providers import LIVE_PROVIDERS

TODAY = datetime.now(UTC).date()


@pytest.fixture
def fake(httpserver):
    return FakeProviders(httpserver, seed=5, as_of=str(TODAY))


def environ(fake, tmp_path, **extra) -> dict[str, str]:
    urls = fake.base_urls()
    return {"MAC_SOURCE": "live", "MAC_DUCKDB_PATH": str(tmp_path / "mac.duckdb"), "FRED_API_KEY": FRED_KEY,
            **{p.base_url_variable: urls[p.name] for p in LIVE_PROVIDERS}, **extra}


def line(lines: list[str], first_word: str) -> str:
    return next(x for x in lines if x.split() and x.split()[0] == first_word)


def test_the_doctor_names_each_refusal_and_the_coverage_it_leaves(fake, tmp_path):
    fake.refuse("yahoo")
    fake.geo_block("binance")
    folder = tmp_path / "vendor"
    folder.mkdir()
    (folder / "SPY.csv").write_text("date,value\n2021-06-29,427.1\n")
    lines, status = report(environ(fake, tmp_path, MAC_CSV_DIR=str(folder)))
    text = "\n".join(lines)
    print(text)  # the closing note quotes this output

    assert status == 1
    assert line(lines, "fred").split()[1] == "reachable" and "SOFR:" in line(lines, "fred")
    assert "refused (HTTP 429)" in line(lines, "yahoo") and "Too Many Requests" in line(lines, "yahoo")
    assert "geo-blocked" in line(lines, "binance") and "restricted location" in line(lines, "binance")
    assert "key missing" in line(lines, "glassnode") and "GLASSNODE_API_KEY" in line(lines, "glassnode")
    assert "no public API" in line(lines, "etf")
    assert line(lines, "BTC-USD").endswith("fred:CBBTCUSD (fallback)")
    assert line(lines, "SPY").endswith("csv (MAC_CSV_DIR)")
    assert line(lines, "BTCUSDT_OI").endswith("nobody: unavailable")
    assert line(lines, "SVXY_AUM").endswith("nobody: unavailable")
    assert "requests made: 6" in text  # one per provider with a client and a key
    assert lines[-2] == "mac doctor: not every provider answered: yahoo refused (HTTP 429), binance geo-blocked, " \
                        "glassnode key missing"
    assert lines[-1].startswith("the way out: put the series as <SERIES>.csv files in a folder and set MAC_CSV_DIR")
    assert FRED_KEY not in text
    assert fake.requests_by_provider() == {"fred": 1, "cboe": 1, "cftc": 1, "yahoo": 1, "binance": 1, "ofr": 1}


def test_a_healthy_setup_exits_0_and_a_wrong_key_is_reported_in_freds_words_but_not_shown(fake, tmp_path):
    lines, status = report(environ(fake, tmp_path, GLASSNODE_API_KEY="gn-secret-key"))
    assert status == 0 and lines[-1] == "mac doctor: every provider answered"
    assert all(line(lines, p.name).split()[1] == "reachable" for p in LIVE_PROVIDERS)
    assert "gn-secret-key" not in "\n".join(lines)
    assert line(lines, "BTC-USD").endswith(" yahoo") and line(lines, "SVXY_AUM").endswith("nobody: unavailable")

    lines, status = report(environ(fake, tmp_path, FRED_API_KEY="0123456789abcdef"))
    assert status == 1 and "refused (HTTP 400)" in line(lines, "fred")
    assert "api_key is not registered" in line(lines, "fred")
    assert "0123456789abcdef" not in "\n".join(lines)
    assert line(lines, "SOFR").endswith("nobody: unavailable")
    assert "headline indicators with every input" in lines[-4]


def test_providers_that_never_answer_cost_the_doctor_one_fetch_budget_not_a_timeout_each(hostile, tmp_path):
    env = {"MAC_SOURCE": "live", "MAC_DUCKDB_PATH": str(tmp_path / "mac.duckdb"), "FRED_API_KEY": FRED_KEY,
           "GLASSNODE_API_KEY": "gn-key", "MAC_FETCH_BUDGET_S": "3",
           **{p.base_url_variable: hostile.url("/hang") for p in LIVE_PROVIDERS}}
    started = time.monotonic()
    lines, status = report(env)
    elapsed = time.monotonic() - started
    assert elapsed < 3 + PARSE_GRACE_SECONDS + 1.5, elapsed  # all asked at once, all cut at the budget's end
    assert status == 1 and all(line(lines, p.name).split()[1] == "unreachable" for p in LIVE_PROVIDERS)
    assert "fetch budget of 3 s (MAC_FETCH_BUDGET_S)" in line(lines, "fred")
    assert len(hostile.seen) == len(LIVE_PROVIDERS)  # still one request each

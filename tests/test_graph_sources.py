"""The whole graph on the live clients (against a local server) and on a CSV folder.

Both serve the demo generator's numbers in their own formats, so their scores must equal a demo
run's wherever the series could be delivered: the transport changes, the answer does not.
"""

from pathlib import Path

import duckdb
import pandas as pd
import pytest
from fake_providers import FakeProviders
from graph_helpers import AS_OF, run, settings_for, tables

from mac_assets.catalog import SERIES
from mac_assets.sources.csv_folder import CsvFolderSource
from mac_assets.sources.demo import generate

VALIDATION = Path(__file__).resolve().parents[2] / "shared" / "validation" / "raw"
SEED = 7


def write_csv_folder(folder: Path, only=None) -> None:
    """Every demo series as `<id>.csv`, in the documented folder format (CFTC long by contract code)."""
    folder.mkdir(exist_ok=True)
    for sid, frame in generate(SEED).items():
        if only is not None and sid not in only:
            continue
        frame = frame[frame["date"] <= AS_OF].rename(columns={"contract_code": "cftc_contract_code"})
        frame.assign(date=frame["date"].dt.strftime("%Y-%m-%d")).to_csv(folder / f"{sid}.csv", index=False)


pytestmark = pytest.mark.graph


@pytest.fixture
def demo_scores(demo_tables):
    return demo_tables["scores.indicator_scores"]


def same_values(got: pd.DataFrame, expected: pd.DataFrame, indicators) -> bool:
    key = ["date", "indicator"]
    a = got[got["indicator"].isin(indicators)].set_index(key)["value"].sort_index()
    b = expected[expected["indicator"].isin(indicators)].set_index(key)["value"].sort_index()
    return a.index.equals(b.index) and ((a - b).abs().max() < 1e-9) and a.isna().equals(b.isna())


def test_whole_graph_on_live_clients_fetches_each_series_once_and_matches_the_demo(httpserver, tmp_path, demo_tables,
                                                                                   demo_scores):
    fake = FakeProviders(httpserver, seed=SEED, as_of=AS_OF)
    csv_dir = tmp_path / "vendor"
    write_csv_folder(csv_dir, only={"SVXY_AUM", "LEVETF_AUM"})  # ETF assets have no public API
    source = fake.live_source(csv_dir)
    path = tmp_path / "live.duckdb"
    result = run(path, "2019", "2020", source=source, settings=settings_for(path, source="live"))
    assert result.success

    # One request per series for the two years and everything back to the reference start (1990), and for each
    # series kept with versions one more: the list of its vintage dates. The term premium's versions since 1990 take
    # three real-time chunks; CFTC's weekly history since 2006 (6 contracts) takes 8 pages of 500.
    by_source = {s.provider: sum(1 for x in SERIES if x.provider == s.provider) for s in SERIES}
    versioned = sum(1 for x in SERIES if x.vintages)
    assert fake.requests_by_provider() == {"fred": by_source["fred"] + versioned + 2, "cboe": 4, "cftc": 8,
                                           "yahoo": 2, "ofr": 2}
    requests = {e.asset_key.path[-1]: e.metadata.get("requests")
                for e in result.get_asset_materialization_events() for e in [e.event_specific_data.materialization]}
    assert requests["sofr"].value == 1 and requests["cftc_tff_ust"].value == 8

    failed = {e.asset_key.path[-1] for e in result.get_asset_check_evaluations()
              if not e.passed and e.check_name == "fetch_succeeded"}
    assert failed == {"btc_exchange_reserve"}  # no Glassnode key and no CSV file: unavailable, flagged
    t = tables(path)
    assert set(t["raw.sofr"]["source"]) == {"live"} and "realtime_start" not in t["raw.sofr"].columns
    assert t["raw.gdp"]["realtime_start"].notna().all() and t["raw.gdp"]["vintages_since"].notna().all()
    served = ["sofr_iorb", "cp_tbill", "vix", "vvix", "term_slope", "gamma_ratio", "basis_trade", "spec_net_pct",
              "core_pce", "fed_bs_gdp", "hy_oas", "btc_spy_corr", "svxy_aum", "margin_debt", "sloos_ci"]
    assert same_values(t["scores.indicator_scores"], demo_scores, served)
    # Binance keeps 30 days: 2019-2020 open interest cannot be had live, so that indicator has no data.
    oi = t["scores.indicator_scores"].query("indicator == 'crypto_oi'")
    assert (oi["status"] == "no_data").all()
    # The extension's yen-carry and cross-asset inputs come from FRED and Yahoo: same numbers as the demo.
    assert same_values(t["extension.extension_scores"], demo_tables["extension.extension_scores"],
                       ["carry_to_vol", "yen_unwind", "cross_asset_corr"])
    assert t["extension.mac_extended"].query("date >= '2020-01-01'")["mac_extended"].notna().all()


def test_with_yahoo_refusing_the_btc_spy_channel_fills_through_the_fallbacks_and_says_so(httpserver, tmp_path,
                                                                                          demo_scores):
    fake = FakeProviders(httpserver, seed=SEED, as_of=AS_OF)
    fake.refuse("yahoo")  # the plain-text 429 Yahoo gives a client it takes for a bot, on every request
    csv_dir = tmp_path / "vendor"
    write_csv_folder(csv_dir, only={"SVXY_AUM", "LEVETF_AUM", "SPY"})  # SPY has no second public API
    source = fake.live_source(csv_dir)
    path = tmp_path / "live.duckdb"
    result = run(path, "2019", "2020", source=source, settings=settings_for(path, source="live"))
    assert result.success

    meta = {e.asset_key.path[-1]: e.metadata for e in result.get_asset_materialization_events()
            for e in [e.event_specific_data.materialization]}
    assert meta["btc_usd"]["provider"].value == "fred:CBBTCUSD"
    assert meta["btc_usd"]["notes"].value.startswith("yahoo refused (yahoo/BTC-USD: GET /yahoo/v8/finance/chart/")
    assert "HTTP 429 (Too Many Requests)" in meta["btc_usd"]["notes"].value
    assert meta["spy"]["provider"].value == "csv"
    t = tables(path)
    assert set(t["raw.btc_usd"]["provider"]) == {"fred:CBBTCUSD"} and set(t["raw.spy"]["provider"]) == {"csv"}
    # Coinbase's bitcoin price is the demo's bitcoin here, so the channel reads exactly as with Yahoo.
    assert same_values(t["scores.indicator_scores"], demo_scores, ["btc_spy_corr"])
    assert t["scores.indicator_scores"].query("indicator == 'btc_spy_corr' and date >= '2020-01-01'")["value"].notna().all()

    bi = duckdb.connect(str(tmp_path / "mac_bi.duckdb"), read_only=True)
    detail = bi.execute("select distinct sources, delivered_by from bi.seed_indicator_detail "
                        "where indicator = 'btc_spy_corr'").fetchall()
    freshness = dict(bi.execute("select series_id, delivered_by from bi.series_freshness").fetchall())
    bi.close()
    assert detail == [("yahoo", "BTC-USD: fred:CBBTCUSD; SPY: csv")]
    assert freshness["BTC-USD"] == "fred:CBBTCUSD" and freshness["SOFR"] == "fred"


def test_whole_graph_on_a_csv_folder_matches_the_demo(tmp_path, demo_tables, demo_scores):
    folder = tmp_path / "drop"
    write_csv_folder(folder)
    (folder / "VVIX.csv").unlink()  # a series missing from the drop lowers coverage, nothing else
    path = tmp_path / "csv.duckdb"
    result = run(path, "2019", "2020", source=CsvFolderSource(directory=str(folder)),
                 settings=settings_for(path, source="csv", csv_dir=str(folder)))
    assert result.success
    t = tables(path)
    others = sorted(set(demo_scores["indicator"]) - {"vvix"})
    assert same_values(t["scores.indicator_scores"], demo_scores, others)
    assert (t["scores.indicator_scores"].query("indicator == 'vvix'")["status"] == "no_data").all()
    assert set(t["raw.vix"]["source"]) == {"csv"}
    # No extension input is missing, so the extension's indicators match the demo's; the composites
    # differ through the volatility pillar that lost VVIX, and still exist on every 2020 day.
    pd.testing.assert_frame_equal(t["extension.extension_scores"], demo_tables["extension.extension_scores"],
                                  check_exact=False, rtol=1e-9)
    assert t["extension.mac_extended"].query("date >= '2020-01-01'")["mac_extended"].notna().all()


@pytest.mark.real_data
@pytest.mark.skipif(not VALIDATION.is_dir(), reason="../shared/validation/raw is not present")
def test_whole_graph_runs_on_the_real_validation_data(tmp_path):
    path = tmp_path / "real.duckdb"
    settings = settings_for(path, source="csv", csv_dir=str(VALIDATION))
    result = run(path, "2019", "2020", source=CsvFolderSource(directory=str(VALIDATION)), settings=settings)
    assert result.success
    comp = tables(path)["scores.mac_composite"].set_index("date")
    assert comp.loc["2020-01-02":, "mac"].notna().all()
    assert comp.loc["2020-01-02":, "coverage"].min() > 0.5
    # Real March 2020 must read as more stressed than real January 2020; no tuned number is asserted.
    assert comp.loc["2020-03-09":"2020-03-31", "mac"].min() < comp.loc["2020-01-02":"2020-01-31", "mac"].mean()
    validation = (Path(settings.reports_dir) / "validation.md").read_text()
    assert all(b in validation for b in ("STLFSI4", "NFCI", "ANFCI"))

"""Asset checks: freshness per tier, data quality that blocks bad data, and score sanity."""

from datetime import date, timedelta

import numpy as np
import pandas as pd
import pytest
from graph_helpers import run, run_assets, settings_for, tables

from mac_assets.catalog import SERIES, get_series
from mac_assets.raw.quality import longest_gap, validity_problems
from mac_assets.scores.compute import score_composite
from mac_assets.sources.demo import DemoSource

TODAY = pd.Timestamp.now(tz="UTC").tz_localize(None).normalize()


def evaluations(result):
    return {("/".join(e.asset_key.path), e.check_name): e for e in result.get_asset_check_evaluations()}


@pytest.fixture(scope="module")
def current(tmp_path_factory):
    """This year and last on demo data that runs up to today."""
    path = tmp_path_factory.mktemp("fresh") / "mac.duckdb"
    year = TODAY.year
    settings = settings_for(path, history_start=date(year - 1, 1, 1))
    result = run(path, str(year - 1), str(year), source=DemoSource(seed=7), settings=settings)
    assert result.success
    return result


@pytest.mark.graph
def test_every_live_raw_series_has_a_freshness_check_with_its_catalog_limit(current):
    ev = evaluations(current)
    for s in SERIES:
        key = (f"raw/{s.asset_name}", "freshness_check")
        if s.end_date is not None:
            assert key not in ev, f"{s.id} is discontinued and must not be checked for freshness"
            continue
        params = ev[key].metadata["dagster/freshness_params"].value
        assert params["lower_bound_delta_seconds"] == s.stale_after_days * 86400


@pytest.mark.graph
def test_all_checks_pass_on_demo_data_that_runs_to_today(current):
    failed = [k for k, e in evaluations(current).items() if not e.passed]
    assert failed == []


@pytest.mark.graph
def test_freshness_fails_as_a_warning_when_data_stops_arriving(tmp_path):
    path = tmp_path / "stale.duckdb"
    year = TODAY.year
    stale = (TODAY - timedelta(days=40)).date().isoformat()
    result = run(path, str(year - 1), str(year), source=DemoSource(seed=7, as_of=stale),
                 settings=settings_for(path, history_start=date(year - 1, 1, 1)))
    assert result.success  # staleness warns; it does not stop the scores
    ev = evaluations(result)
    vix = ev[("raw/vix", "freshness_check")]
    assert not vix.passed and vix.severity.value == "WARN"
    assert ev[("raw/gdp", "freshness_check")].passed  # a quarterly series 40 days behind is normal


class CorruptVix(DemoSource):
    """Demo data whose VIX arrives in the wrong units (×100) on one day."""

    def fetch(self, series, start, end):
        fetched = super().fetch(series, start, end)
        if series.id == "VIX":
            fetched.frame.loc[fetched.frame.index[-1], "value"] = 2_150.0
        return fetched


@pytest.mark.graph
def test_an_implausible_value_is_refused_before_it_is_stored(tmp_path):
    path = tmp_path / "bad.duckdb"
    result = run_assets(path, ["raw/vix"], "2020", CorruptVix(seed=7, as_of="2021-06-30"))  # the smallest run
    ev = evaluations(result)
    fetched = ev[("raw/vix", "fetch_succeeded")]
    assert not fetched.passed and "answer refused before storing" in fetched.metadata["error"].value
    assert "outside the series' plausible range, first dated 2020-12-31" in fetched.metadata["error"].value
    assert ev[("raw/vix", "is_valid")].passed
    assert tables(path)["raw.vix"].empty  # nothing of the answer was written: no score can see it


def test_validity_counts_duplicates_future_dates_and_out_of_range_values():
    vix = get_series("VIX")
    frame = pd.DataFrame({"date": pd.to_datetime(["2024-01-02", "2024-01-02", "2100-01-01", "2024-01-04"]),
                          "value": [12.0, 12.0, 13.0, 1300.0]})
    assert validity_problems(vix, frame, pd.Timestamp("2024-06-01")) == {
        "duplicate_rows": 1, "future_dates": 1, "out_of_range_rows": 1}


def test_gaps_are_measured_between_consecutive_observations():
    frame = pd.DataFrame({"date": pd.to_datetime(["2024-01-02", "2024-01-03", "2024-01-20"])})
    assert longest_gap(get_series("VIX"), frame) == (17, pd.Timestamp("2024-01-20"))
    assert get_series("VIX").max_gap_days < 17 < get_series("CFTC_TFF_UST").max_gap_days


def test_a_composite_with_less_than_half_its_weight_measured_is_withheld_and_flagged():
    pillars = pd.DataFrame({
        "date": pd.to_datetime(["2024-01-02"] * 3 + ["2024-01-03"] * 5),
        "pillar": ["liquidity", "policy", "valuation", "liquidity", "policy", "valuation", "volatility", "contagion"],
        "score": [0.5] * 8, "contribution": [0.5 / 3] * 3 + [0.1] * 5, "coverage": 1.0,
    })
    comp = score_composite(pillars).set_index("date")  # 3 of 7 pillars: 43 % of the weight; 5 of 7: 71 %
    assert np.isnan(comp.loc["2024-01-02", "mac"]) and comp.loc["2024-01-02", "status"] == "insufficient_data"
    assert comp.loc["2024-01-03", "mac"] == pytest.approx(0.5) and comp.loc["2024-01-03", "status"] == "thin"


def test_a_series_with_no_data_at_all_is_not_fresh(demo_graph):
    # IORB only starts in July 2021: the shared 2019-2020 run stores nothing for it, which must not read as fresh.
    iorb = evaluations(demo_graph.result)[("raw/iorb", "freshness_check")]
    assert not iorb.passed

"""mac-2.0: point-in-time percentiles, the stress-weighted aggregation, imputation, and the validation protocol."""

import numpy as np
import pandas as pd
import pytest
from helpers import series_frame

from mac_assets.episodes import EPISODES
from mac_assets.publish import validation as v
from mac_assets.scores.headline import headline_composite
from mac_assets.scores.mac2 import score_mac2_indicators, score_mac2_pillars, score_mac2_readings
from mac_assets.scores.percentile import expanding_percentile
from mac_assets.thresholds import (
    MAC2_INDICATORS,
    MAC2_MAX_IMPUTED_SHARE,
    MAC2_MIN_HISTORY_DAYS,
    MAC2_VERSION,
    Mac2Indicator,
)

# --- percentiles ------------------------------------------------------------------------------------


def test_a_percentile_ranks_a_day_among_that_day_and_the_days_before_only():
    x = np.array([1.0, 2.0, 2.0, np.nan, 0.0, 5.0])
    assert expanding_percentile(x, 1).tolist()[:3] == [0.5, 0.75, pytest.approx(2 / 3)]
    assert np.isnan(expanding_percentile(x, 1)[3])  # a missing value stays missing and does not count
    assert expanding_percentile(x, 1)[4] == 0.125 and expanding_percentile(x, 1)[5] == 0.9


def test_later_values_never_change_an_earlier_percentile():
    x = np.random.default_rng(3).standard_normal(600)
    changed = x.copy()
    changed[400:] = 1e6
    assert np.array_equal(expanding_percentile(x, 250)[:400], expanding_percentile(changed, 250)[:400], equal_nan=True)


def test_no_percentile_before_the_minimum_history():
    p = expanding_percentile(np.arange(10.0), 5)
    assert np.isnan(p[:4]).all() and not np.isnan(p[4:]).any()


# --- aggregation ---------------------------------------------------------------------------------------

DAY = pd.Timestamp("2020-03-16")


def pillars_with(stress: dict[str, float | None], reading: str = "stress") -> pd.DataFrame:
    """Indicator rows of one day: one indicator per pillar with the given stress (None: no data)."""
    return pd.DataFrame([{"date": DAY, "reading": reading, "indicator": f"i_{p}", "pillar": p,
                          "stress": np.nan if s is None else s} for p, s in stress.items()])


def test_one_pillar_in_breach_takes_most_of_the_weight_and_the_contributions_add_up():
    p = score_mac2_pillars(pillars_with({"volatility": 1.0, "liquidity": 0.3, "valuation": 0.3, "contagion": 0.3}), 1.0)
    weights = p.set_index("pillar")["weight"]
    assert weights["volatility"] == pytest.approx(1 / 1.9) and weights.sum() == pytest.approx(1.0)
    r = score_mac2_readings(p)
    assert r["stress_mac"].iloc[0] == pytest.approx(p["contribution"].sum())
    # The plain mean would read 0.525; the stress-weighted mean is much weaker.
    assert r["stress_mac"].iloc[0] == pytest.approx(1 - (1 + 3 * 0.09) / 1.9)
    assert r["stress_mac"].iloc[0] < 0.35


def test_a_pillar_without_data_is_imputed_at_the_median_and_counted_as_imputed():
    p = score_mac2_pillars(pillars_with({"volatility": 0.2, "liquidity": None, "valuation": 0.2, "contagion": 0.2}), 1.0)
    gone = p.set_index("pillar").loc["liquidity"]
    assert bool(gone["imputed"]) and gone["stress"] == 0.5
    r = score_mac2_readings(p)
    assert r["stress_imputed_share"].iloc[0] == pytest.approx(0.25) and r["stress_coverage"].iloc[0] == pytest.approx(0.75)


def test_a_reading_resting_mostly_on_imputed_weight_is_withheld():
    p = score_mac2_pillars(pillars_with({"volatility": 0.2, "liquidity": None, "valuation": None, "contagion": None}), 1.0)
    r = score_mac2_readings(p)
    assert r["stress_imputed_share"].iloc[0] > MAC2_MAX_IMPUTED_SHARE
    assert np.isnan(r["stress_mac"].iloc[0]) and r["stress_status"].iloc[0] == "insufficient_data"


def test_indicators_are_scored_in_the_stress_direction_of_their_row():
    days = pd.bdate_range("2019-01-01", periods=300)
    rising = series_frame(days, np.arange(300.0))
    rows = (Mac2Indicator("up", "stress", "volatility", "VIX", "high", ""),
            Mac2Indicator("down", "buildup", "valuation", "VIX", "low", ""),
            Mac2Indicator("far", "buildup", "policy", "VIX", "extreme", ""))
    out = score_mac2_indicators({"VIX": rising}, days, rows).set_index(["indicator", "date"])["stress"]
    last = days[-1]
    assert out[("up", last)] == pytest.approx(1 - 0.5 / 300)  # a new high: near full stress
    assert out[("down", last)] == pytest.approx(0.5 / 300)
    assert out[("far", last)] == pytest.approx(1 - 1 / 300)
    assert out.xs("up", level="indicator").iloc[: MAC2_MIN_HISTORY_DAYS - 1].isna().all()


def test_every_mac2_metric_is_a_derived_metric_or_a_catalog_series_and_every_reading_has_pillars():
    from mac_assets.scores.compute import metric_info

    for i in MAC2_INDICATORS:
        metric_info(i.metric)
    assert {i.reading for i in MAC2_INDICATORS} == {"stress", "buildup"}


def test_the_headline_composite_is_the_stress_reading_with_its_contributions_and_the_seed_beside_it():
    p = score_mac2_pillars(pillars_with({"volatility": 0.9, "liquidity": 0.1, "valuation": 0.5, "contagion": 0.2}), 1.0)
    mac1 = pd.DataFrame({"date": [DAY], "mac": [0.8]})
    h = headline_composite(mac1, score_mac2_readings(p), p, MAC2_VERSION).iloc[0]
    contributions = h[[c for c in h.index if c.endswith("_contribution")]]
    assert h["mac"] == pytest.approx(contributions.sum()) and h["seed_mac"] == 0.8
    assert np.isnan(h["policy_contribution"]) and h["methodology_version"] == f"{MAC2_VERSION} stress"


# --- the validation protocol -------------------------------------------------------------------------------


def weeks(start: str, n: int) -> pd.DatetimeIndex:
    return pd.date_range(start, periods=n, freq="W-FRI")


def test_an_episode_is_detected_when_the_series_is_low_near_its_date_and_far_lows_are_false_alarms():
    grid = weeks("2017-01-06", 200)
    low = pd.Series(False, index=grid)
    volmageddon = next(e for e in EPISODES if e.name == "Volmageddon")
    low[pd.Timestamp(volmageddon.start) + pd.Timedelta(days=4)] = True  # the Friday after 5 February 2018
    low[pd.Timestamp("2017-06-02")] = True  # nothing happened then
    found = v.detected(low, [volmageddon])
    assert found == [True]
    assert v.false_alarm_clusters(low, [volmageddon]) == 1


def test_lift_is_the_event_rate_under_the_signal_over_the_base_rate():
    signal = pd.Series([True, True, False, False, False, False, False, False, False, False])
    event = pd.Series([True, False, False, False, False, False, False, False, False, True])
    assert v.lift(signal, event) == pytest.approx(0.5 / 0.2)


def test_the_bootstrap_interval_contains_the_lift_and_is_reproducible():
    rng = np.random.default_rng(1)
    signal = pd.Series(rng.random(300) < 0.2)
    event = pd.Series((rng.random(300) < 0.1) | signal & (rng.random(300) < 0.3))
    low, high = v.block_bootstrap_lift(signal, event)
    assert low < v.lift(signal, event) < high
    assert (low, high) == v.block_bootstrap_lift(signal, event)


def test_the_forward_fall_looks_only_at_the_next_63_business_days():
    days = pd.bdate_range("2020-01-01", periods=200)
    prices = pd.Series(100.0, index=days)
    prices[days[100]] = 80.0  # a 20 % fall on day 100 only
    fall = v.forward_fall(pd.DataFrame({"date": days, "value": prices.to_numpy()}), pd.DatetimeIndex(days))
    assert fall[days[40]] == pytest.approx(0.2) and fall[days[36]] == 0.0  # day 100 is within 63 of day 40, not 36
    assert fall[days[-10:]].isna().all()  # not enough future to say


def test_the_headline_rule_needs_three_of_five_test_metrics():
    def row(series, **m):
        return {"series": series, "period": "test", **m}
    base = dict(change_corr_stlfsi4=-0.3, level_corr_stlfsi4=-0.3, episodes_detected=5, false_alarm_clusters=3, lift=1.0)
    better_on_two = base | dict(change_corr_stlfsi4=-0.4, lift=1.2)
    better_on_three = better_on_two | dict(episodes_detected=6)
    table = pd.DataFrame([row("old", **base), row("two", **better_on_two), row("three", **better_on_three)])
    assert v.beats(table, "two", "old") == (False, ["change_corr_stlfsi4", "lift"])
    assert v.beats(table, "three", "old")[0] is True
    assert v.beats(pd.DataFrame(), "three", "old") == (False, [])  # no benchmark rows in the test years


def test_fitting_reads_training_rows_only_and_prefers_detections_then_tracking():
    def table(detected, corr):
        return pd.DataFrame([{"series": "r", "period": "train", "episodes_detected": detected, "change_corr_stlfsi4": corr}])
    tables = {1.0: table(2, -0.30), 2.0: table(3, -0.10), 3.0: table(3, -0.20)}
    assert v.select_exponent(tables, "r") == 3.0

"""mac-2.x: point-in-time percentiles, the stress-weighted aggregation, imputation, the headline tables, and the
validation protocol (v2)."""

import warnings

import numpy as np
import pandas as pd
import pytest
from helpers import series_frame

from mac_assets.episodes import EPISODES
from mac_assets.publish import validation as v
from mac_assets.scores.headline import HEADLINE_VERSION, headline_composite, headline_indicators, headline_pillars
from mac_assets.scores.mac2 import score_mac2_indicators, score_mac2_pillars, score_mac2_readings
from mac_assets.scores.mac3 import compute_mac3
from mac_assets.scores.percentile import expanding_percentile
from mac_assets.thresholds import (
    MAC2_INDICATORS,
    MAC2_MIN_HISTORY_DAYS,
    MIN_COVERAGE,
    TEST_START,
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
    assert r["stress_imputed_share"].iloc[0] > 1 - MIN_COVERAGE
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


def indicator_rows(stress: dict[str, list[float | None]], days: pd.DatetimeIndex) -> pd.DataFrame:
    """Two indicators per pillar of the stress reading (the second one missing where None)."""
    rows = []
    for d, day in enumerate(days):
        for p, values in stress.items():
            for k, value in enumerate(values):
                rows.append({"date": day, "reading": "stress", "indicator": f"i_{p}_{k}", "pillar": p, "metric": "m",
                             "value": value, "percentile": value, "stress": np.nan if value is None else value + d / 100,
                             "score": np.nan if value is None else 1 - value - d / 100, "obs_date": day,
                             "available_date": day, "methodology_version": "mac-2.1"})
    return pd.DataFrame(rows)


def test_the_headline_composite_is_the_stress_reading_and_its_pillars_and_indicators_add_up_to_it():
    days = pd.bdate_range("2020-03-02", periods=3)
    indicators = indicator_rows({"volatility": [0.9, 0.7], "liquidity": [0.1, None], "valuation": [0.5, 0.4],
                                 "contagion": [None, None]}, days)
    p = score_mac2_pillars(indicators, 1.0)
    readings = score_mac2_readings(p)
    mac1 = pd.DataFrame({"date": days, "mac": [0.8, 0.8, 0.8]})
    h = headline_composite(mac1, readings, p, compute_mac3(p, readings)[1])
    pillars, inds = headline_pillars(p), headline_indicators(indicators, p)
    assert (h["methodology_version"] == HEADLINE_VERSION).all() and (h["seed_mac"] == 0.8).all()
    assert pillars.groupby("date")["contribution"].sum().to_numpy() == pytest.approx(h["mac"].to_numpy())
    assert inds.groupby("date")["contribution"].sum().to_numpy() == pytest.approx(h["mac"].to_numpy())
    assert "imputed: contagion" in set(inds["indicator"])  # a pillar without inputs is one row of its own
    # The change of a pillar's contribution is exactly its part from the score plus its part from the weight.
    moved = pillars.dropna(subset=["contribution_change"])
    assert moved["contribution_change"].to_numpy() == pytest.approx(
        (moved["change_from_score"] + moved["change_from_weight"]).to_numpy())
    assert inds.groupby("date")["contribution_change"].sum().iloc[1:].to_numpy() == pytest.approx(
        h["mac"].diff().iloc[1:].to_numpy())


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
    low, high = v.block_bootstrap_lift(signal, event, 13)
    assert low < v.lift(signal, event) < high
    assert (low, high) == v.block_bootstrap_lift(signal, event, 13)


def test_the_forward_fall_looks_only_at_its_horizon_and_says_when_the_window_ends():
    days = pd.bdate_range("2020-01-01", periods=200)
    prices = pd.Series(100.0, index=days)
    prices[days[100]] = 80.0  # a 20 % fall on day 100 only
    forward = v.forward_fall(pd.DataFrame({"date": days, "value": prices.to_numpy()}), pd.DatetimeIndex(days), 63)
    fall = forward["fall"]
    assert fall[days[40]] == pytest.approx(0.2) and fall[days[36]] == 0.0  # day 100 is within 63 of day 40, not 36
    assert fall[days[-10:]].isna().all()  # not enough future to say
    assert forward["window_end"][days[40]] == days[103]


def test_a_training_week_never_counts_an_outcome_from_the_test_years():
    days = pd.bdate_range("2014-01-01", "2015-12-31")
    forward = v.forward_fall(pd.DataFrame({"date": days, "value": 100.0}), pd.DatetimeIndex(days), 63)
    train = v.usable(forward, pd.DatetimeIndex(days), "train")
    assert train[pd.Timestamp("2014-06-02")] and not train[pd.Timestamp("2014-11-03")]  # its window reaches 2015


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


def test_the_candidate_aggregation_is_chosen_on_training_rows_only_and_a_tie_goes_to_the_papers():
    def row(series, period, corr, detected):
        return {"series": series, "period": period, "change_corr_stlfsi4": corr, "level_corr_stlfsi4": corr,
                "episodes_detected": detected, "false_alarm_clusters": 1, "lift": 1.0}
    train = pd.DataFrame([row("a", "train", -0.5, 6), row("b", "train", -0.4, 5), row("c", "train", -0.3, 4),
                          row("c", "test", -0.9, 9)])  # a test row must change nothing
    assert v.select_candidate(train, ["a", "b", "c"], "b")[0] == "a"
    tied = pd.DataFrame([row(n, "train", -0.5, 5) for n in "abc"])
    assert v.select_candidate(tied, ["a", "b", "c"], "b")[0] == "b"


def test_band_cuts_and_quiet_days_come_from_training_days_only():
    days = pd.bdate_range("2010-01-01", "2016-12-31")
    train = days < TEST_START
    stress = pd.Series(5.0, index=days)
    stress[train] = np.linspace(0, 1, train.sum())
    cuts = v.band_cuts(stress)
    assert cuts == pytest.approx((0.3, 0.7, 0.9, 0.98), abs=0.01)  # the 2015-2016 fives are not seen
    flicker = pd.Series(np.where(np.arange(len(days)) % 2, "thin", "stretched"), index=days)
    k, table = v.select_quiet_days(flicker)
    assert k == 2 and table.iloc[0]["status changes a year (training)"] > 200


def test_the_risk_curve_is_fitted_on_training_weeks_and_the_simpler_candidate_wins_a_tie():
    rng = np.random.default_rng(7)
    grid = pd.date_range("1998-01-02", "2019-12-27", freq="W-FRI")
    buildup = pd.Series(rng.random(len(grid)), index=grid)
    frame = pd.DataFrame({"buildup_mac": buildup, "stress_mac": rng.random(len(grid)),
                          "event": (rng.random(len(grid)) < 0.1 + 0.5 * (buildup < 0.3)).astype(float),
                          "trains": grid < TEST_START}, index=grid)
    frame.loc[~frame["trains"], "event"] = 1.0  # test weeks: every one an event; a fit that saw them would know
    name, (intercept, b, c), base, cv = v.fit_risk(frame, {"F1": ["buildup_mac"], "F2": ["buildup_mac", "stress_mac"]})
    assert b < 0  # a low build-up reading (more vulnerable) raises the risk, as the training rows say
    assert base == pytest.approx(frame.loc[frame["trains"], "event"].mean())
    assert set(cv["candidate"]) == {"F1", "F2"} and name in {"F1", "F2"}


def test_risk_scores_say_whether_a_forecast_beats_its_base_rate():
    days = pd.bdate_range("2014-01-01", "2022-12-30")
    prices = 100 * np.exp(np.cumsum(np.random.default_rng(3).normal(0, 0.02, len(days))))
    spy = pd.DataFrame({"date": days, "value": prices})
    grid = pd.DatetimeIndex(pd.date_range("2014-01-03", "2022-12-30", freq="W-FRI"))
    truth = v.forward_fall(spy, grid, 252)["fall"] >= 0.15
    perfect = pd.DataFrame({"date": grid, "value": truth.astype(float).clip(0.01, 0.99).to_numpy()})
    scores, reliability = v.risk_scores(perfect, spy, grid, 0.2)
    assert scores["auroc"] == pytest.approx(1.0) and scores["brier skill vs base rate"] > 0.5
    assert len(reliability) == 10


def test_the_noise_of_a_reading_with_no_score_in_the_period_is_unknown_not_a_warning():
    days = pd.bdate_range("2020-01-01", periods=40)
    withheld = pd.DataFrame({"date": days, "mac": np.nan, "status": "insufficient data"})
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # numpy's "Mean of empty slice" would reach the run's log
        measured = v.noise(withheld, "test")
    assert np.isnan(measured["median |daily change|"]) and measured["share comfortable"] == 0.0

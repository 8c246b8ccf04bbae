"""mac-3.0: breadth-aware aggregation (CISS), contributions, rarity bands, the quiet status, the 12-month risk,
and imputation that cannot dominate."""

import numpy as np
import pandas as pd
import pytest

from mac_assets.scores.mac2 import score_mac2_pillars
from mac_assets.scores.mac3 import aggregate, compute_mac3, ewma_correlations, reading_table, risk_probability
from mac_assets.scores.scoring import BAND_LABELS, quiet_status, rarity_bands, status_band
from mac_assets.thresholds import MAC3_VERSION, MISSING_STATUS, READING_BANDS, STRESS_AGGREGATIONS

PILLARS4 = ["liquidity", "valuation", "volatility", "contagion"]


def frames(values: np.ndarray, imputed: np.ndarray | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    days = pd.bdate_range("2001-01-01", periods=len(values))
    stress = pd.DataFrame(values, index=days, columns=PILLARS4)
    return stress, pd.DataFrame(np.zeros_like(values, bool) if imputed is None else imputed, index=days,
                                columns=PILLARS4)


def moving_together(days: int = 400, seed: int = 1) -> np.ndarray:
    common = np.random.default_rng(seed).uniform(0, 1, days)
    return np.column_stack([common] * 4)


def test_perfectly_correlated_pillars_read_their_mean():
    stress, imputed = frames(moving_together())
    total, contributions, correlated = aggregate(stress, imputed, "ciss_paper")
    # The moments start at independence, so wait for the correlations to converge.
    assert total.iloc[-1] == pytest.approx(stress.iloc[-1].mean(), rel=0.02)
    assert contributions.sum(axis=1).to_numpy() == pytest.approx(total.to_numpy())
    assert correlated.iloc[-1] > 0.7


def test_stress_in_one_market_alone_weighs_less_than_the_same_stress_everywhere():
    rng = np.random.default_rng(2)
    independent = rng.uniform(0, 1, (400, 4))
    together = moving_together()
    for values in (independent, together):
        values[-1] = [0.9, 0.9, 0.9, 0.9]
    alone = independent.copy()
    alone[-1] = [0.9, 0.5, 0.5, 0.5]
    read = {name: aggregate(*frames(v), "ciss_paper")[0].iloc[-1]
            for name, v in (("independent", independent), ("together", together), ("alone", alone))}
    assert read["together"] > read["independent"] > read["alone"]
    assert read["together"] == pytest.approx(0.9, rel=0.03)


def test_the_linear_candidate_is_the_plain_mean():
    stress, imputed = frames(np.random.default_rng(3).uniform(0, 1, (50, 4)))
    total, contributions, correlated = aggregate(stress, imputed, "linear")
    assert total.to_numpy() == pytest.approx(stress.mean(axis=1).to_numpy())
    assert (correlated == 0).all()


def test_correlations_start_at_independence_and_skip_imputed_days():
    values = moving_together(30)
    imputed = np.zeros_like(values, bool)
    imputed[:, 0] = True  # liquidity never measured
    stress, imp = frames(values, imputed)
    corr = ewma_correlations(stress, imp, STRESS_AGGREGATIONS["ciss_paper"])
    assert corr[:, 0, 1] == pytest.approx(0.0)  # no measured day: the prior's zero correlation stays
    assert corr[-1, 1, 2] > 0.2 and corr[-1, 1, 1] == pytest.approx(1.0)


def test_a_later_value_never_changes_an_earlier_reading():
    values = np.random.default_rng(4).uniform(0, 1, (300, 4))
    changed = values.copy()
    changed[200:] = 1.0
    a = aggregate(*frames(values), "ciss_paper")[0]
    b = aggregate(*frames(changed), "ciss_paper")[0]
    assert a.iloc[:200].to_numpy() == pytest.approx(b.iloc[:200].to_numpy())


def test_contributions_add_up_to_the_stress_and_capacity_to_mac():
    rows = []
    for day in pd.bdate_range("2001-01-01", periods=120):
        rows += [{"date": day, "reading": "stress", "indicator": f"i_{p}", "pillar": p,
                  "stress": float(np.random.default_rng(day.day + i).uniform())} for i, p in enumerate(PILLARS4)]
    pillars = score_mac2_pillars(pd.DataFrame(rows))
    daily, long = reading_table(pillars, "stress", "ciss_paper")
    sums = long.groupby("date")[["stress_contribution", "contribution"]].sum()
    assert sums["stress_contribution"].to_numpy() == pytest.approx(1 - daily["mac"].to_numpy())
    assert sums["contribution"].to_numpy() == pytest.approx(daily["mac"].to_numpy())


# --- imputation cannot dominate ------------------------------------------------------------------------------

def one_day(stress: dict[str, float | None], reading: str = "stress") -> pd.DataFrame:
    day = pd.Timestamp("2021-06-01")
    return pd.DataFrame([{"date": day, "reading": reading, "indicator": f"i_{p}", "pillar": p,
                          "stress": np.nan if s is None else s} for p, s in stress.items()])


def test_a_calm_day_with_a_pillar_missing_reads_the_band_it_reads_with_that_pillar_at_its_median():
    calm = {"liquidity": 0.15, "valuation": 0.1, "volatility": 0.1, "contagion": 0.12}
    measured = score_mac2_pillars(one_day(calm | {"liquidity": 0.5}))
    missing = score_mac2_pillars(one_day(calm | {"liquidity": None}))
    cuts = rarity_bands(READING_BANDS[f"{MAC3_VERSION} stress"].cuts)
    read = {name: reading_table(p, "stress", "ciss_paper")[0]["mac"].iloc[0] for name, p in
            (("measured", measured), ("missing", missing))}
    assert read["missing"] == pytest.approx(read["measured"])
    assert status_band([read["missing"]], cuts, MISSING_STATUS)[0] == status_band([read["measured"]], cuts,
                                                                                  MISSING_STATUS)[0]


def test_in_mac2_an_imputed_pillar_never_weighs_more_than_an_equal_share():
    p = score_mac2_pillars(one_day({"liquidity": None, "valuation": 0.1, "volatility": 0.1, "contagion": 0.1}), 1.0)
    weights = p.set_index("pillar")["weight"]
    assert weights["liquidity"] == pytest.approx(0.25)  # uncapped it would weigh 0.5 / 0.8 = 0.625
    assert weights.sum() == pytest.approx(1.0)
    assert weights.drop("liquidity").max() == pytest.approx(0.25)


# --- bands and the quiet status ---------------------------------------------------------------------------------

def test_bands_are_cut_from_stress_quantiles_best_first():
    b = rarity_bands((0.2, 0.4, 0.6, 0.8))
    assert [label for _, label in b] == list(BAND_LABELS)
    assert status_band([0.9, 0.7, 0.5, 0.3, 0.1], b, MISSING_STATUS).tolist() == list(BAND_LABELS)


def test_the_status_moves_only_after_the_new_band_has_lasted():
    daily = np.array(["thin", "stretched", "thin", "stretched", "stretched", "stretched", "thin", "thin"], object)
    assert quiet_status(daily, 3).tolist() == ["thin", "thin", "thin", "thin", "thin", "stretched", "stretched",
                                               "stretched"]


def test_a_breach_is_published_at_once_and_left_only_slowly():
    daily = np.array(["thin", "breach", "stretched", "stretched", "stretched"], object)
    assert quiet_status(daily, 3).tolist() == ["thin", "breach", "breach", "breach", "stretched"]


def test_a_withheld_day_keeps_its_label_and_the_status_starts_again():
    daily = np.array(["thin", "insufficient_data", "ample"], object)
    assert quiet_status(daily, 5).tolist() == ["thin", "insufficient_data", "ample"]


# --- the 12-month risk ------------------------------------------------------------------------------------------

def test_risk_is_a_probability_and_missing_inputs_stay_missing():
    p = risk_probability(pd.Series([0.0, 0.5, 1.0, np.nan]), pd.Series([0.2, 0.5, 0.9, 0.5]), (0.5, 1.0, -2.0))
    assert ((p.iloc[:3] > 0) & (p.iloc[:3] < 1)).all() and np.isnan(p.iloc[3])
    assert p.iloc[0] == pytest.approx(1 / (1 + np.exp(-(0.5 + 0.0 - 0.4))))


def test_compute_mac3_publishes_every_reading_with_its_status_and_risk():
    rows = []
    for day in pd.bdate_range("2014-06-02", periods=200):
        for reading, pillars in (("stress", PILLARS4), ("buildup", ["positioning", "policy"])):
            rows += [{"date": day, "reading": reading, "indicator": f"i_{p}", "pillar": p,
                      "stress": float(np.random.default_rng(day.dayofyear + i).uniform())} for i, p in enumerate(pillars)]
    from mac_assets.scores.mac2 import score_mac2_readings

    mac2_pillars = score_mac2_pillars(pd.DataFrame(rows))
    pillars, readings = compute_mac3(mac2_pillars, score_mac2_readings(mac2_pillars))
    assert set(readings["stress_status"]) <= set(BAND_LABELS)
    assert readings["risk_12m"].between(0, 1).all()
    assert readings["risk_in_sample"].iloc[0] and not readings["risk_in_sample"].iloc[-1]  # training ends 2014
    assert set(pillars["pillar"]) == set(PILLARS4)

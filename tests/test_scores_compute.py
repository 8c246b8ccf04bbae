"""Pillar and composite aggregation: renormalised weights, exact contributions, honest coverage."""

import numpy as np
import pandas as pd
import pytest

from mac_assets.catalog import PILLARS
from mac_assets.scores.compute import score_composite, score_indicators, score_pillars
from mac_assets.thresholds import CORE_THRESHOLDS


def indicators(rows):
    """rows: [(date, indicator, pillar, score)] → the columns score_pillars needs."""
    return pd.DataFrame(rows, columns=["date", "indicator", "pillar", "score"]).assign(
        date=lambda d: pd.to_datetime(d["date"]))


def test_pillar_score_is_the_mean_of_available_indicators_with_coverage():
    ind = indicators([("2024-01-02", "a", "liquidity", 0.2), ("2024-01-02", "b", "liquidity", 0.6),
                      ("2024-01-02", "c", "liquidity", np.nan), ("2024-01-02", "d", "policy", 1.0)])
    p = score_pillars(ind).set_index("pillar")
    assert p.loc["liquidity", "score"] == pytest.approx(0.4)
    assert p.loc["liquidity", "coverage"] == pytest.approx(2 / 3)
    assert p.loc["liquidity", "status"] == "thin"


def test_missing_pillars_are_dropped_and_weights_renormalised():
    ind = indicators([("2024-01-02", "a", "liquidity", 0.2), ("2024-01-02", "d", "policy", 1.0),
                      ("2024-01-02", "e", "volatility", np.nan)])
    p = score_pillars(ind).set_index("pillar")
    assert p.loc["liquidity", "weight"] == pytest.approx(0.5)
    assert p.loc["volatility", "weight"] == 0.0 and np.isnan(p.loc["volatility", "contribution"])
    c = score_composite(score_pillars(ind)).iloc[0]
    # The renormalised contributions add up to 0.6, but 2 of 7 pillars are less than half the weight: withheld.
    assert c["liquidity_contribution"] + c["policy_contribution"] == pytest.approx(0.6)
    assert np.isnan(c["mac"]) and c["status"] == "insufficient_data"
    assert c["pillars_available"] == 2
    # Coverage is the share of methodology weight backed by data: 2 of 3 listed pillars' weight here.
    assert c["coverage"] == pytest.approx(2 / len(PILLARS))


def test_contributions_sum_exactly_to_the_composite():
    rng = np.random.default_rng(1)
    rows = [(d, f"i{k}", PILLARS[k % len(PILLARS)], rng.random())
            for d in pd.bdate_range("2024-01-01", periods=30) for k in range(20)]
    comp = score_composite(score_pillars(indicators(rows)))
    parts = comp[[f"{p}_contribution" for p in PILLARS]].sum(axis=1)
    assert (parts - comp["mac"]).abs().max() < 1e-12
    assert comp["mac"].between(0, 1).all()


def test_a_day_with_no_data_has_no_composite_and_no_data_status():
    ind = indicators([("2024-01-02", "a", "liquidity", np.nan)])
    c = score_composite(score_pillars(ind)).iloc[0]
    assert np.isnan(c["mac"]) and c["status"] == "no_data" and c["coverage"] == 0.0


def test_indicator_scores_cover_every_indicator_every_day_and_never_invent_values():
    days = pd.bdate_range("2024-01-01", periods=5)
    empty = pd.DataFrame({"date": pd.to_datetime([]), "value": [], "available_date": pd.to_datetime([])})
    metrics = {t.metric: empty for t in CORE_THRESHOLDS}
    vix = CORE_THRESHOLDS[[t.indicator for t in CORE_THRESHOLDS].index("vix")].metric
    metrics[vix] = pd.DataFrame({"date": days, "value": [15.0] * 5, "available_date": days})
    out = score_indicators(metrics, days)
    assert len(out) == 5 * len(CORE_THRESHOLDS)
    assert out.loc[out["indicator"] == "vix", "score"].tolist() == [1.0] * 5
    others = out[out["indicator"] != "vix"]
    assert others["value"].isna().all() and (others["status"] == "no_data").all()

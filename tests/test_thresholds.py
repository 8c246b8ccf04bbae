"""The thresholds table: valid rows, every pillar covered, the seed spec's numbers used exactly."""

import pytest

from mac_assets.catalog import EXTENSION_COMPONENTS, PILLARS
from mac_assets.scores.compute import metric_info
from mac_assets.scores.scoring import score_knots
from mac_assets.thresholds import (
    COMPRESSION_MAX_HAIRCUT,
    CORE_THRESHOLDS,
    EXTENSION_THRESHOLDS,
    LINEAR_WEIGHTS,
    PILLAR_WEIGHTS,
    THRESHOLDS,
    THRESHOLDS_BY_INDICATOR,
)


@pytest.mark.parametrize("row", THRESHOLDS, ids=lambda t: t.indicator)
def test_every_threshold_row_is_valid_and_can_reach_breach(row):
    row.validate()
    assert row.reference.strip(), f"{row.indicator} must say where its numbers come from"
    assert min(y for _, y in row.knots()) == 0.0


@pytest.mark.parametrize("row", THRESHOLDS, ids=lambda t: t.indicator)
def test_every_indicator_metric_resolves_to_a_derived_metric_or_catalog_series(row):
    info = metric_info(row.metric)
    assert info.tier in (1, 2, 3) and info.stale_after_days > 0


def test_indicator_names_are_unique():
    assert len(THRESHOLDS_BY_INDICATOR) == len(THRESHOLDS)


def test_every_pillar_and_extension_component_has_indicators_and_pillar_weights_sum_to_one():
    assert {t.pillar for t in CORE_THRESHOLDS} == set(PILLARS)
    assert {t.pillar for t in EXTENSION_THRESHOLDS} == set(EXTENSION_COMPONENTS)
    assert sum(PILLAR_WEIGHTS.values()) == pytest.approx(1.0)


def test_extension_weighs_like_a_pillar_and_compression_only_takes_a_bounded_haircut():
    assert set(LINEAR_WEIGHTS) == set(PILLARS) | {"yen_carry", "cross_asset"}
    assert all(w == pytest.approx(1 / len(PILLARS)) for w in LINEAR_WEIGHTS.values())
    assert "compression" not in LINEAR_WEIGHTS and 0 < COMPRESSION_MAX_HAIRCUT < 1


def _score(indicator, value):
    row = THRESHOLDS_BY_INDICATOR[indicator]
    return float(score_knots([value * 1.0], row.knots())[0])


@pytest.mark.parametrize("indicator, value, score", [
    ("vvix", 80, 1.0), ("vvix", 85, 0.75), ("vvix", 100, 0.5), ("vvix", 120, 0.2),
    ("term_slope", 0.80, 1.0), ("term_slope", 1.0, 0.75), ("term_slope", 1.15, 0.2),
    ("crypto_oi", 19, 1.0), ("crypto_oi", 20, 0.75), ("crypto_oi", 35, 0.5), ("crypto_oi", 50, 0.2),
])
def test_seed_spec_breakpoint_tables_are_used_exactly(indicator, value, score):
    assert _score(indicator, value) == pytest.approx(score)


def test_seed_spec_floors_do_not_hide_a_breach():
    assert _score("btc_spy_corr", 0.95) == 0.0
    assert _score("crypto_oi", 100) == 0.0
    assert _score("vvix", 160) == 0.0


def test_seed_spec_margin_debt_scorer_is_2_0_2_8_3_5():
    assert [_score("margin_debt", v) for v in (2.0, 2.8, 3.5)] == [1.0, 0.5, 0.0]


def test_vix_is_two_sided():
    assert _score("vix", 8) == 0.0 and _score("vix", 15) == 1.0 and _score("vix", 45) == 0.0


def test_no_anchor_rests_on_test_years_unless_its_row_says_so():
    """Issue #22: an anchor set on 2015+ data is re-derived from training years or a priori, or marked `test years`
    because no earlier data exists; a 2015+ year named in a reference must be a former value or an illustration."""
    import re

    for t in THRESHOLDS:
        years = [int(y) for y in re.findall(r"\b(20[12]\d)\b", t.reference) if int(y) >= 2015]
        if years and t.how_set != "test years":  # only as the value it replaced, or a series' history (margin debt)
            assert re.search(r"until (mac-1\.1|ext-1\.1)|left FRED in", t.reference), (t.indicator, years)
    assert {t.how_set for t in THRESHOLDS} <= {"seed spec", "upstream research code", "training years", "a priori",
                                              "test years"}

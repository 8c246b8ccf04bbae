"""Scorers: every shape and direction, at and between anchors, missing values and monotonicity."""

import numpy as np
import pytest

from mac_assets.scores.scoring import score_knots, status_band
from mac_assets.thresholds import MISSING_STATUS, STATUS_BANDS, anchor_knots, range_knots


def test_lower_is_better_anchors_score_one_half_zero_at_ample_thin_breach():
    knots = anchor_knots(2.0, 2.8, 3.5)
    assert score_knots([2.0, 2.8, 3.5], knots).tolist() == [1.0, 0.5, 0.0]


def test_lower_is_better_anchors_interpolate_and_clamp():
    knots = anchor_knots(2.0, 2.8, 3.5)
    got = score_knots([0.0, 2.4, 3.15, 9.0], knots)
    assert got == pytest.approx([1.0, 0.75, 0.25, 0.0])


def test_higher_is_better_anchors_mirror_the_direction():
    knots = anchor_knots(150, 50, 25)  # room to cut: more room is better
    assert score_knots([200, 150, 100, 50, 37.5, 25, 0], knots) == pytest.approx([1, 1, 0.75, 0.5, 0.25, 0, 0])


def test_anchors_out_of_order_are_refused():
    with pytest.raises(ValueError, match="monotone"):
        anchor_knots(2.0, 3.5, 2.8)


def test_two_sided_range_penalises_both_tails():
    knots = range_knots(9, 10, 12, 22, 30, 40)  # VIX
    got = score_knots([5, 9, 10, 11, 12, 17, 22, 26, 30, 35, 40, 80], knots)
    assert got == pytest.approx([0, 0, 0.5, 0.75, 1, 1, 1, 0.75, 0.5, 0.25, 0, 0])


def test_range_bounds_must_increase():
    with pytest.raises(ValueError, match="increase"):
        range_knots(9, 10, 22, 12, 30, 40)


def test_breakpoint_table_steps_at_a_repeated_knot():
    knots = ((0.3, 1.0), (0.3, 0.75), (0.5, 0.5), (0.7, 0.2), (0.9, 0.0))  # BTC-SPY correlation
    got = score_knots([0.1, 0.2999, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.95], knots)
    assert got == pytest.approx([1.0, 1.0, 0.75, 0.625, 0.5, 0.35, 0.2, 0.1, 0.0])


def test_missing_values_stay_missing():
    got = score_knots([np.nan, 1.0], anchor_knots(0, 1, 2))
    assert np.isnan(got[0]) and got[1] == 0.5


@pytest.mark.parametrize("knots", [
    anchor_knots(20, 50, 100), anchor_knots(150, 50, 25),
    ((85, 1.0), (85, 0.75), (100, 0.5), (120, 0.2), (150, 0.0)),
])
def test_scores_are_monotone_and_bounded(knots):
    xs = np.linspace(-500, 500, 20001)
    s = score_knots(xs, knots)
    steps = np.diff(s)
    assert (s >= 0).all() and (s <= 1).all()
    assert (steps <= 1e-12).all() or (steps >= -1e-12).all()


def test_status_bands_label_each_floor_and_missing():
    got = status_band([1.0, 0.8, 0.79, 0.6, 0.4, 0.2, 0.19, 0.0, np.nan], STATUS_BANDS, MISSING_STATUS)
    assert got.tolist() == ["ample", "ample", "comfortable", "comfortable", "thin", "stretched", "breach",
                            "breach", MISSING_STATUS]

"""Reliability: properties that must hold for any input (hypothesis), not only for the examples we thought of.

- every indicator's score lies in [0, 1] and moves the way its direction says;
- what was known on day D does not change when anything published after D changes (point-in-time join);
- no derived metric's value for day D changes when observations after D change.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mac_assets.derived.registry import METRICS
from mac_assets.pointintime import known_on, with_availability
from mac_assets.scores.scoring import score_knots
from mac_assets.sources.demo import generate
from mac_assets.thresholds import THRESHOLDS

finite = st.floats(min_value=-1e6, max_value=1e6, allow_nan=False, allow_infinity=False)


@pytest.mark.parametrize("row", THRESHOLDS, ids=lambda t: t.indicator)
@given(values=st.lists(finite, min_size=2, max_size=50))
@settings(max_examples=60, deadline=None)
def test_every_score_stays_within_0_and_1_and_moves_with_its_direction(row, values):
    xs = np.sort(np.array(values))
    scores = score_knots(xs, row.knots())
    assert ((scores >= 0) & (scores <= 1)).all()
    steps = np.diff(scores)
    if row.direction == "lower_is_better":
        assert (steps <= 1e-12).all()
    elif row.direction == "higher_is_better":
        assert (steps >= -1e-12).all()
    else:  # two-sided: rises to the ample band, then falls; never rises again after falling
        falling = np.flatnonzero(steps < -1e-12)
        assert not len(falling) or (steps[falling[0]:] <= 1e-12).all()


@st.composite
def published_series(draw):
    n = draw(st.integers(min_value=1, max_value=40))
    offsets = sorted(draw(st.lists(st.integers(0, 400), min_size=n, max_size=n, unique=True)))
    dates = pd.Timestamp("2024-01-01") + pd.to_timedelta(offsets, unit="D")
    lags = draw(st.lists(st.integers(0, 120), min_size=n, max_size=n))
    values = draw(st.lists(finite, min_size=n, max_size=n))
    return pd.DataFrame({"date": dates, "value": values, "available_date": dates + pd.to_timedelta(lags, unit="D")})


@given(frame=published_series(), day=st.integers(0, 500), stale=st.integers(1, 200), noise=finite)
@settings(max_examples=200, deadline=None)
def test_what_was_known_on_a_day_ignores_everything_published_later(frame, day, stale, noise):
    d = pd.Timestamp("2024-01-01") + pd.Timedelta(days=day)
    calendar = pd.DatetimeIndex([d])
    before = known_on(calendar, frame, stale)
    later = frame["available_date"] > d
    altered = frame.assign(value=frame["value"].where(~later, frame["value"] + noise + 1.0))
    assert known_on(calendar, altered, stale).equals(before)
    if len(before) and pd.notna(before["available_date"].iloc[0]):
        assert before["available_date"].iloc[0] <= d
        assert (d - before["obs_date"].iloc[0]).days <= stale


DEMO = generate(20080915)


def _inputs(metric, first: str, last: str) -> dict[str, pd.DataFrame]:
    frames = {}
    for s in metric.input_series:
        f = DEMO[s.id]
        frames[s.id] = with_availability(f[(f["date"] >= first) & (f["date"] <= last)].reset_index(drop=True), s)
    return frames


@pytest.mark.parametrize("metric", METRICS, ids=lambda m: m.name)
@given(cut=st.integers(0, 700), scale=st.floats(0.5, 3.0), shift=st.floats(-5, 5))
@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_no_derived_value_for_a_day_changes_when_later_observations_change(metric, cut, scale, shift):
    frames = _inputs(metric, "2017-01-01", "2020-12-31")
    d = pd.Timestamp("2018-06-01") + pd.Timedelta(days=cut)
    altered = {}
    for sid, f in frames.items():
        later = f["date"] > d
        value_columns = [c for c in f.columns if c not in ("date", "available_date", "contract_code", "source")]
        changed = f.copy()
        changed.loc[later, value_columns] = (f.loc[later, value_columns].abs() * scale + abs(shift)).to_numpy()
        altered[sid] = changed
    before = metric.compute(frames)
    after = metric.compute(altered)
    past_before = before[before["date"] <= d].reset_index(drop=True)
    past_after = after[after["date"] <= d].reset_index(drop=True)
    pd.testing.assert_frame_equal(past_before, past_after, check_exact=False, rtol=1e-12, atol=1e-12)

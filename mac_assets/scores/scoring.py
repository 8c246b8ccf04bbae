"""Pure scoring functions: indicator values → scores in [0, 1] (1 = ample, 0 = breach).

No Dagster here, so the maths can be tested and reused without a run. Every scoring shape in the
thresholds table (three anchors, two-sided ranges, breakpoint tables) is expressed as *knots*:
(x, score) points joined by straight lines and held flat beyond the ends. Two knots at the same x
make a step; the score at the step is the right-hand one. Missing values stay missing (NaN).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

Knots = tuple[tuple[float, float], ...]


def score_knots(values: Sequence[float] | np.ndarray | pd.Series | float, knots: Knots) -> np.ndarray:
    """Evaluate the piecewise-linear function through `knots` at `values` (vectorised)."""
    xs = np.array([k[0] for k in knots], dtype=float)
    ys = np.array([k[1] for k in knots], dtype=float)
    if len(xs) < 2 or np.any(np.diff(xs) < 0):
        raise ValueError(f"knots must be at least two points sorted by x, got {knots}")
    x = np.atleast_1d(np.asarray(values, dtype=float))
    # idx = number of knots at or left of x; x lies between knot idx-1 and knot idx.
    idx = np.searchsorted(xs, x, side="right")
    inner = np.clip(idx, 1, len(xs) - 1)
    x0, x1 = xs[inner - 1], xs[inner]
    y0, y1 = ys[inner - 1], ys[inner]
    with np.errstate(invalid="ignore", divide="ignore"):
        frac = np.where(x1 > x0, (x - x0) / (x1 - x0), 1.0)
    out = y0 + frac * (y1 - y0)
    out = np.where(idx == 0, ys[0], out)
    out = np.where(idx == len(xs), ys[-1], out)
    return np.where(np.isnan(x), np.nan, out)


def anchor_knots(ample: float, thin: float, breach: float) -> Knots:
    """Three anchors: ample → 1.0, thin → 0.5, breach → 0.0, linear between, flat outside.

    The direction follows from the order: ample < breach means lower values are better.
    """
    if not (ample < thin < breach or ample > thin > breach):
        raise ValueError(f"anchors must be monotone (ample, thin, breach), got {(ample, thin, breach)}")
    knots = ((ample, 1.0), (thin, 0.5), (breach, 0.0))
    return knots if ample < breach else tuple(reversed(knots))


def range_knots(
    breach_low: float, thin_low: float, ample_low: float, ample_high: float, thin_high: float,
    breach_high: float,
) -> Knots:
    """Two-sided range: too low and too high are both bad (a VIX of 9 is complacency, 45 is panic)."""
    xs = (breach_low, thin_low, ample_low, ample_high, thin_high, breach_high)
    if any(b <= a for a, b in zip(xs, xs[1:])):
        raise ValueError(f"range bounds must increase strictly, got {xs}")
    return tuple(zip(xs, (0.0, 0.5, 1.0, 1.0, 0.5, 0.0)))


def status_band(scores: Sequence[float] | np.ndarray | pd.Series, bands: Sequence[tuple[float, str]],
                missing: str) -> np.ndarray:
    """Label each score with the first band whose floor it reaches; `bands` run from best to worst."""
    s = np.asarray(scores, dtype=float)
    conditions = [s >= floor for floor, _ in bands]
    labels = [label for _, label in bands]
    return np.select(conditions, labels, default=missing).astype(object) if len(s) else np.array([], object)

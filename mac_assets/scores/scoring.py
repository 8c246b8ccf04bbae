"""Pure scoring functions: indicator values → scores in [0, 1] (1 = ample, 0 = breach).

No Dagster here, so the maths can be tested and reused without a run. Every scoring shape of the
thresholds table is a tuple of *knots* (`thresholds.Knots`): (x, score) points joined by straight lines
and held flat beyond the ends. Two knots at the same x make a step; the score at the step is the
right-hand one. Missing values stay missing (NaN).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from mac_assets.thresholds import Knots


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


def status_band(scores: Sequence[float] | np.ndarray | pd.Series, bands: Sequence[tuple[float, str]],
                missing: str) -> np.ndarray:
    """Label each score with the first band whose floor it reaches; `bands` run from best to worst."""
    s = np.asarray(scores, dtype=float)
    conditions = [s >= floor for floor, _ in bands]
    # Positions into one array of labels, so a million rows share a handful of strings.
    labels = np.array([label for _, label in bands] + [missing], dtype=object)
    return labels.take(np.select(conditions, range(len(bands)), default=len(bands))) if len(s) else np.array([], object)

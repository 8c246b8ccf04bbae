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

from mac_assets.thresholds import STATUS_BANDS, Knots, RarityBands


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


BAND_LABELS: tuple[str, ...] = tuple(label for _, label in STATUS_BANDS)  # best first


def rarity_bands(cuts: tuple[float, ...]) -> tuple[tuple[float, str], ...]:
    """Status bands on the MAC scale (best first) from stress cut points (ascending): MAC = 1 − stress."""
    return tuple(zip((1 - c for c in cuts), BAND_LABELS[:-1])) + ((0.0, BAND_LABELS[-1]),)


def quiet_status(daily: np.ndarray, quiet_days: int) -> np.ndarray:
    """The published status from the daily bands: it moves to a new band once the daily band has differed from
    it for `quiet_days` business days in a row (taking that day's band), and into breach at once.

    A state machine: whether a day counts depends on the status published before it, so this walks the days
    in order (a few thousand steps per history). Days without a band keep their label and reset the status.
    """
    out = np.empty(len(daily), dtype=object)
    status, differing = None, 0
    for t, band in enumerate(daily):
        if band not in BAND_LABELS:
            out[t], status, differing = band, None, 0
            continue
        if status is None or band == status:
            status, differing = (band if status is None else status), 0
        else:
            differing += 1
            if band == BAND_LABELS[-1] or differing >= quiet_days:
                status, differing = band, 0
        out[t] = status
    return out


def banded(mac, bands: RarityBands, missing: str) -> tuple[np.ndarray, np.ndarray]:
    """(daily band, published quiet status) of a reading's MAC values in date order."""
    daily = status_band(mac, rarity_bands(bands.cuts), missing)
    return daily, quiet_status(daily, bands.quiet_days)

"""Point-in-time percentiles: where a value sits in its own history *up to that day*, never later.

Full-sample percentiles (or z-scores) rank a 2008 value against 2020's, which is look-ahead. Here
each day's value is ranked among the values known on that day and every earlier day, so a reading
never changes when later data arrives. Ties take the mid-rank, so a series stuck at one value sits at
the middle of its history, not at the top. pandas' expanding rank does the work in O(n log n).
"""

from __future__ import annotations

import numpy as np
import pandas as pd


def expanding_percentile(values: np.ndarray, min_history: int) -> np.ndarray:
    """For each position: (earlier-or-same values below + half of those equal, itself included) / count.

    In [0, 1]. Missing values stay missing and do not count; a percentile needs `min_history` values.
    """
    s = pd.Series(np.asarray(values, dtype=float))
    known = s.dropna()
    out = np.full(len(s), np.nan)
    if known.empty:
        return out
    expanding = known.expanding(min_periods=min_history)
    rank = expanding.rank(method="average").to_numpy()  # 1-based, ties averaged
    count = np.arange(1, len(known) + 1)
    out[known.index.to_numpy()] = (rank - 0.5) / count
    return out

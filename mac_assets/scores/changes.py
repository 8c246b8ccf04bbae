"""Status-band crossings of the composite and the pillars, without Dagster.

Every crossing is kept in `scores.status_changes` (for BI and audit). Only crossings dated within the
last `ALERT_RECENT_DAYS` days are alerted, so re-materializing twenty years of history does not send a
storm of old news.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from mac_assets.thresholds import STATUS_BANDS

ALERT_RECENT_DAYS = 3
BANDS = [label for _, label in STATUS_BANDS]


def status_changes(composite: pd.DataFrame, pillars: pd.DataFrame) -> pd.DataFrame:
    """Days on which the composite or a pillar moved from one status band to another."""
    series = pd.concat([
        composite[["date", "status", "mac"]].rename(columns={"mac": "value"}).assign(scope="composite"),
        pillars[["date", "pillar", "status", "score"]].rename(columns={"pillar": "scope", "score": "value"}),
    ]).sort_values(["scope", "date"])
    series = series[series["status"].isin(BANDS)]  # a day without data is not a crossing
    series["previous_status"] = series.groupby("scope")["status"].shift()
    changed = series[series["previous_status"].notna() & (series["status"] != series["previous_status"])].copy()
    rank = {b: i for i, b in enumerate(BANDS)}
    changed["direction"] = np.where(changed["status"].map(rank) > changed["previous_status"].map(rank),
                                    "worse", "better")
    columns = ["date", "scope", "previous_status", "status", "direction", "value"]
    return changed[columns].sort_values(["date", "scope"]).reset_index(drop=True)


def recent(changes: pd.DataFrame, today: pd.Timestamp) -> pd.DataFrame:
    return changes[changes["date"] > today - pd.Timedelta(days=ALERT_RECENT_DAYS)]

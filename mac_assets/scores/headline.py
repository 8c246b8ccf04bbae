"""The headline: which methodology `scores.mac_composite` (and so bi.mac_latest, `make run`, the report) shows.

`thresholds.HEADLINE_METHODOLOGY` names it: mac-2.0's stress reading, because it beat mac-1.x by the
pre-registered rule on the test years of the real history (README), or mac-1.x otherwise. Both are
always computed; the headline table keeps mac-1.x's contract (one row per business day, `mac` the sum
of its pillar contributions, coverage, status, methodology version), and `seed_mac` carries mac-1.x's
composite beside it so a BI reader can compare them on any day.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from mac_assets.catalog import PILLARS
from mac_assets.thresholds import HEADLINE_METHODOLOGY, MAC2_VERSION

HEADLINE_READING = "stress"  # the mac-2.0 reading a headline may show


def headline_pillars(mac1_pillars: pd.DataFrame, mac2_pillars: pd.DataFrame,
                     methodology: str = HEADLINE_METHODOLOGY) -> pd.DataFrame:
    """The headline's pillars per day: date, pillar, score, weight, contribution, coverage, status.

    `methodology` is a version (or a composite's `methodology_version`, which may name the reading too).
    """
    columns = ["date", "pillar", "score", "weight", "contribution", "coverage", "status"]
    if not methodology.startswith(MAC2_VERSION):
        return mac1_pillars[columns]
    p = mac2_pillars[mac2_pillars["reading"] == HEADLINE_READING]
    return p.assign(coverage=p["indicators_available"] / p["indicators_total"])[columns]


def headline_composite(mac1: pd.DataFrame, mac2_readings: pd.DataFrame, mac2_pillars: pd.DataFrame,
                       methodology: str = HEADLINE_METHODOLOGY) -> pd.DataFrame:
    """One row per day in `scores.mac_composite`'s contract, from the headline methodology."""
    if methodology != MAC2_VERSION:
        return mac1.assign(seed_mac=mac1["mac"])
    r = mac2_readings.set_index("date")
    p = mac2_pillars[mac2_pillars["reading"] == HEADLINE_READING]
    contributions = p.pivot(index="date", columns="pillar", values="contribution").reindex(r.index)
    out = pd.DataFrame({
        "mac": r[f"{HEADLINE_READING}_mac"], "status": r[f"{HEADLINE_READING}_status"],
        "coverage": r[f"{HEADLINE_READING}_coverage"],
        "pillars_available": (~p.set_index("date")["imputed"]).groupby(level=0).sum().reindex(r.index).astype("int64"),
        "methodology_version": f"{MAC2_VERSION} {HEADLINE_READING}",
    }, index=r.index)
    withheld = out["mac"].isna()
    for pillar in PILLARS:
        values = contributions[pillar] if pillar in contributions else np.nan
        out[f"{pillar}_contribution"] = pd.Series(values, index=r.index).mask(withheld)
    out["seed_mac"] = mac1.set_index("date")["mac"].reindex(r.index)
    return out.rename_axis("date").reset_index()

"""The headline: which reading `scores.mac_composite` (and so bi.mac_latest, `make run`, the page) shows, and
the tables that explain it in its own methodology.

`thresholds.HEADLINE_METHODOLOGY` names it: mac-2.x's stress reading, the winner of the pre-registered
out-of-sample rule (README). The other readings are always computed and published beside it: `seed_mac`
(mac-1.x), `systemic_mac` (mac-3.0's breadth-aware stress reading), the build-up reading and the 12-month
drawdown risk.

Contributions: a pillar's contribution is weight × score, and a day's contributions add up to the headline
MAC. mac-2.x's weights move with stress (a pillar in breach takes more weight), so a pillar's contribution can
fall while its score rises, when its weight falls more. `headline_pillars` therefore splits each day's change
of a contribution into the part from the pillar's score (at yesterday's weight) and the part from its weight
(at today's score); both parts add up to the change of the headline. An indicator's contribution is its share
of its pillar's: weight × its score ÷ the pillar's indicators with data.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from mac_assets.thresholds import HEADLINE_METHODOLOGY, MAC2_VERSION

HEADLINE_READING = "stress"  # the mac-2.x reading the headline shows
HEADLINE_VERSION = f"{HEADLINE_METHODOLOGY} {HEADLINE_READING}"
IMPUTED_INDICATOR = "imputed: {pillar}"

COMPOSITE_COLUMNS = ["date", "mac", "status", "band", "coverage", "pillars_available", "methodology_version",
                     "seed_mac", "systemic_mac", "systemic_status", "buildup_mac", "buildup_status", "risk_12m",
                     "risk_base_rate", "risk_in_sample"]


def _reading(mac2_pillars: pd.DataFrame, reading: str = HEADLINE_READING) -> pd.DataFrame:
    """The headline's pillars: thresholds.HEADLINE_METHODOLOGY is mac-2.x (MAC2_VERSION), whose pillar table this is."""
    return mac2_pillars[mac2_pillars["reading"] == reading]


def headline_composite(mac1: pd.DataFrame, mac2_readings: pd.DataFrame, mac2_pillars: pd.DataFrame,
                       mac3_readings: pd.DataFrame) -> pd.DataFrame:
    """One row per day: the headline MAC (the sum of its pillars' contributions), its published (quiet) status
    and daily band, coverage, and the other readings beside it."""
    r = mac2_readings.set_index("date")
    m3 = mac3_readings.set_index("date").reindex(r.index)
    p = _reading(mac2_pillars)
    out = pd.DataFrame({
        "mac": r[f"{HEADLINE_READING}_mac"], "status": r[f"{HEADLINE_READING}_status"],
        "band": r[f"{HEADLINE_READING}_band"], "coverage": r[f"{HEADLINE_READING}_coverage"],
        "pillars_available": (~p.set_index("date")["imputed"]).groupby(level=0).sum().reindex(r.index).astype("int64"),
        "methodology_version": HEADLINE_VERSION,
        "seed_mac": mac1.set_index("date")["mac"].reindex(r.index),
        "systemic_mac": m3["stress_mac"], "systemic_status": m3["stress_status"],
        "buildup_mac": m3["buildup_mac"], "buildup_status": m3["buildup_status"],
        "risk_12m": m3["risk_12m"], "risk_base_rate": m3["risk_base_rate"],
        "risk_in_sample": m3["risk_in_sample"].astype("boolean"),
    }, index=r.index)
    return out.rename_axis("date").reset_index()[COMPOSITE_COLUMNS]


def headline_pillars(mac2_pillars: pd.DataFrame, reading: str = HEADLINE_READING) -> pd.DataFrame:
    """The headline reading's pillars per day (score, weight, contribution, status, coverage) with each day's
    change of contribution split into the part from the score and the part from the weight (the build-up
    reading's likewise, with `reading`)."""
    p = _reading(mac2_pillars, reading).sort_values(["pillar", "date"]).copy()
    p["coverage"] = p["indicators_available"] / p["indicators_total"]
    previous = p.groupby("pillar")[["score", "weight", "contribution"]].shift()
    p["contribution_change"] = p["contribution"] - previous["contribution"]
    p["change_from_score"] = previous["weight"] * (p["score"] - previous["score"])
    p["change_from_weight"] = (p["weight"] - previous["weight"]) * p["score"]
    columns = ["date", "pillar", "stress", "score", "weight", "contribution", "contribution_change",
               "change_from_score", "change_from_weight", "coverage", "indicators_available", "indicators_total",
               "imputed", "status", "methodology_version"]
    return p.sort_values(["date", "pillar"])[columns].reset_index(drop=True)


def headline_indicators(mac2_indicators: pd.DataFrame, mac2_pillars: pd.DataFrame) -> pd.DataFrame:
    """The headline reading's indicators per day: value, percentile, stress, score, and their share of the pillar's
    weight and contribution. A pillar without any input appears as one row `imputed: <pillar>` carrying its
    weight and contribution, so a day's contributions always add up to the headline MAC."""
    i = mac2_indicators[mac2_indicators["reading"] == HEADLINE_READING]
    p = _reading(mac2_pillars)[["date", "pillar", "weight", "contribution", "indicators_available", "imputed"]]
    rows = i.merge(p, on=["date", "pillar"], how="left")
    share = rows["weight"] / rows["indicators_available"].where(rows["indicators_available"] > 0)
    rows["weight"] = np.where(rows["score"].notna(), share, 0.0)
    rows["contribution"] = np.where(rows["score"].notna(), share * rows["score"], 0.0)
    imputed = p[p["imputed"]].assign(indicator=lambda f: f["pillar"].map(lambda x: IMPUTED_INDICATOR.format(pillar=x)),
                                     score=lambda f: f["contribution"] / f["weight"].where(f["weight"] > 0))
    imputed["stress"] = 1 - imputed["score"]
    columns = ["date", "indicator", "pillar", "metric", "value", "percentile", "stress", "score", "weight",
               "contribution", "contribution_change", "obs_date", "available_date", "methodology_version"]
    both = pd.concat([rows, imputed.assign(methodology_version=MAC2_VERSION)], ignore_index=True)
    both = both.sort_values(["indicator", "date"])
    # Against the previous business day of the calendar: an indicator absent then changes by its whole contribution.
    previous = both.pivot(index="date", columns="indicator", values="contribution").fillna(0.0).shift()
    both["contribution_change"] = both["contribution"].to_numpy() - previous.stack().reindex(
        pd.MultiIndex.from_frame(both[["date", "indicator"]])).to_numpy()
    return both.sort_values(["date", "pillar", "indicator"])[columns].reset_index(drop=True)

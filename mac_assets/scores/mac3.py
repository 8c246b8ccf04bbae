"""mac-3.0: a stress reading that counts breadth, bands that mean rarity, a quiet status, a 12-month risk.

The rules (docs/methodology.md renders them beside the frozen choices; docs/preregistration-v2.md says how
each choice was made before the test years were looked at):

1. Inputs are mac-2.x's pillars: each pillar's stress is the mean of its indicators' point-in-time
   percentiles (oriented so 1 is the most stress), a pillar without any input sits at 0.5, its median.
2. The stress reading aggregates the four stress pillars like the risk of a portfolio (the ECB's CISS,
   Holló, Kremer & Lo Duca 2012): stress² = (w∘s)ᵀ C_t (w∘s), equal weights w, and C_t the pillars' correlations,
   exponentially weighted averages of the products of (s − 0.5). With perfectly correlated pillars the
   reading is their mean; stress in one market alone weighs less than the same stress in several at once.
   `MAC3_STRESS_AGGREGATION` may instead name the plain mean (the linear candidate); which one was chosen on
   training years is frozen in `thresholds.py`. MAC = 1 − stress.
3. Contributions: pillar i adds wᵢsᵢ Σⱼ ρᵢⱼ wⱼsⱼ / stress of the stress (they add up to it) and leaves
   wᵢ minus that of capacity (they add up to MAC). An indicator's share of its pillar's is its share of the
   pillar's stress.
4. Bands are rarity on training years: the cut points are quantiles of the reading's training-day
   distribution (`thresholds.READING_BANDS`). The published status changes only when the daily band has
   differed from it for the reading's quiet days in a row (a move into breach at once), so it does not flicker.
5. The 12-month risk is a logistic curve, fitted on training years, of the probability that SPY closes 15 %
   or more below the day's close within the next 252 business days; its base rate is published beside it.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from mac_assets.scores.scoring import banded, quiet_status
from mac_assets.thresholds import (
    INSUFFICIENT_STATUS,
    MAC3_RISK_BASE_RATE,
    MAC3_RISK_COEFFICIENTS,
    MAC3_STRESS_AGGREGATION,
    MAC3_VERSION,
    MIN_COVERAGE,
    MISSING_STATUS,
    PILLAR_BANDS,
    PILLARS,
    READING_BANDS,
    STRESS_AGGREGATIONS,
    TEST_START,
    RarityBands,
)

# The variance of a uniform percentile: the moments EWMA correlations start from (correlation 0).
UNIFORM_VARIANCE = 1 / 12


def wide(pillars: pd.DataFrame, reading: str) -> tuple[pd.DataFrame, pd.DataFrame, pd.Series]:
    """A reading's pillar stress as a date × pillar table (seven-pillar order), which of them were imputed,
    and the reading's coverage (the share of its weight backed by data) per day."""
    p = pillars[pillars["reading"] == reading]
    order = [x for x in PILLARS if x in set(p["pillar"])]
    stress = p.pivot(index="date", columns="pillar", values="stress")[order]
    imputed = p.pivot(index="date", columns="pillar", values="imputed")[order].astype(bool)
    coverage = 1 - p.groupby("date")["imputed_share"].sum()
    return stress, imputed, coverage


def ewma_correlations(stress: pd.DataFrame, imputed: pd.DataFrame, decay: float) -> np.ndarray:
    """Correlations between the pillars on each day, shape (days, n, n): exponentially weighted moments of
    (s − 0.5), updated only on days both pillars were measured, from the moments of independent uniform
    percentiles; every pair's average is one `ewm` pass over a column of products."""
    n = stress.shape[1]
    dev = (stress - 0.5).where(~imputed).to_numpy()
    pairs = [(i, j) for i in range(n) for j in range(i, n)]
    products = np.column_stack([dev[:, i] * dev[:, j] for i, j in pairs]) if len(dev) else np.empty((0, len(pairs)))
    prior = np.array([[UNIFORM_VARIANCE if i == j else 0.0 for i, j in pairs]])
    moments = (pd.DataFrame(np.vstack([prior, products]))
               .ewm(alpha=1 - decay, adjust=False, ignore_na=True).mean().to_numpy()[1:])
    cov = np.empty((len(dev), n, n))
    for k, (i, j) in enumerate(pairs):
        cov[:, i, j] = cov[:, j, i] = moments[:, k]
    sd = np.sqrt(np.einsum("tii->ti", cov))
    return cov / (sd[:, :, None] * sd[:, None, :])


def aggregate(stress: pd.DataFrame, imputed: pd.DataFrame, aggregation: str = MAC3_STRESS_AGGREGATION
              ) -> tuple[pd.Series, pd.DataFrame, pd.Series]:
    """The reading's stress per day, each pillar's contribution to it, and the share of stress² that comes
    from correlation between pillars (0 for the linear mean)."""
    decay = STRESS_AGGREGATIONS[aggregation]
    n = stress.shape[1]
    ws = stress.to_numpy() / n
    if decay is None:
        total = ws.sum(axis=1)
        return (pd.Series(total, index=stress.index), pd.DataFrame(ws, index=stress.index, columns=stress.columns),
                pd.Series(0.0, index=stress.index))
    corr = ewma_correlations(stress, imputed, decay)
    pulled = np.einsum("tij,tj->ti", corr, ws)
    square = np.einsum("ti,ti->t", ws, pulled)
    total = np.sqrt(np.clip(square, 0, None))
    with np.errstate(invalid="ignore", divide="ignore"):
        contributions = np.where(total[:, None] > 0, ws * pulled / total[:, None], 0.0)
        correlated = np.where(square > 0, 1 - (ws**2).sum(axis=1) / square, 0.0)
    return (pd.Series(total, index=stress.index), pd.DataFrame(contributions, index=stress.index, columns=stress.columns),
            pd.Series(correlated, index=stress.index))


def risk_probability(buildup_mac: pd.Series, stress_mac: pd.Series,
                     coefficients: tuple[float, float, float] = MAC3_RISK_COEFFICIENTS) -> pd.Series:
    """P(SPY falls 15 % or more within 252 business days): the logistic curve frozen in thresholds.py,
    intercept + b · build-up MAC + c · stress MAC (c = 0 when the stress reading did not earn a place)."""
    intercept, b, c = coefficients
    z = intercept + b * buildup_mac + (c * stress_mac if c else 0.0)
    return 1 / (1 + np.exp(-z))


def reading_table(pillars: pd.DataFrame, reading: str, aggregation: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(per-day reading, per-day-and-pillar contributions) of one reading under one aggregation."""
    stress, imputed, coverage = wide(pillars, reading)
    total, contributions, correlated = aggregate(stress, imputed, aggregation)
    withheld = coverage.reindex(total.index) < MIN_COVERAGE
    mac = (1 - total).mask(withheld)
    daily = pd.DataFrame({"mac": mac, "coverage": coverage.reindex(total.index), "correlation_share": correlated})
    n = stress.shape[1]
    long = (contributions.stack().rename("stress_contribution").to_frame()
            .join(stress.stack().rename("stress")).join(imputed.stack().rename("imputed")).reset_index())
    long["weight"] = 1 / n
    long["contribution"] = long["weight"] - long["stress_contribution"]
    return daily, long


def statuses(mac: pd.Series, coverage: pd.Series, bands: RarityBands) -> tuple[np.ndarray, np.ndarray]:
    """(daily band, published quiet status) of a reading; a withheld day says why instead of a band."""
    daily, _ = banded(mac, bands, MISSING_STATUS)
    daily = np.where(mac.isna() & coverage.notna(), INSUFFICIENT_STATUS, daily)
    return daily, quiet_status(daily, bands.quiet_days)


def compute_mac3(mac2_pillars: pd.DataFrame, mac2_readings: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """mac-3.0's pillars (stress reading) and readings per day, from mac-2.x's pillar stress and build-up reading."""
    stress_daily, pillars = reading_table(mac2_pillars, "stress", MAC3_STRESS_AGGREGATION)
    out = pd.DataFrame(index=stress_daily.index)
    out["stress_mac"] = stress_daily["mac"]
    out["stress_coverage"] = stress_daily["coverage"]
    out["correlation_share"] = stress_daily["correlation_share"]
    buildup = mac2_readings.set_index("date").reindex(out.index)
    out["buildup_mac"] = buildup["buildup_mac"]
    out["buildup_coverage"] = buildup["buildup_coverage"]
    for reading, key in (("stress", f"{MAC3_VERSION} stress"), ("buildup", "buildup")):
        out[f"{reading}_band"], out[f"{reading}_status"] = statuses(out[f"{reading}_mac"], out[f"{reading}_coverage"],
                                                                   READING_BANDS[key])
    out["risk_12m"] = risk_probability(out["buildup_mac"], out["stress_mac"])
    out["risk_base_rate"] = MAC3_RISK_BASE_RATE
    out["risk_in_sample"] = out.index < TEST_START
    out["methodology_version"] = MAC3_VERSION
    pillars["score"] = 1 - pillars["stress"]
    pillars["status"] = banded(pillars["score"], PILLAR_BANDS, MISSING_STATUS)[0]
    pillars["methodology_version"] = MAC3_VERSION
    columns = ["date", "pillar", "stress", "score", "weight", "stress_contribution", "contribution", "imputed",
               "status", "methodology_version"]
    return pillars[columns], out.rename_axis("date").reset_index()


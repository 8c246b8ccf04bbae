"""mac-2.0: two readings (stress now, build-up) from point-in-time percentiles, aggregated by stress.

The rules, which docs/methodology.md shows beside the table of `thresholds.MAC2_INDICATORS`:

1. An indicator's value on day D is the latest value public by D and not stale (`known_on`, as in
   mac-1.x). Its percentile is its rank among all values known on D and every earlier day
   (`expanding_percentile`), once `MAC2_MIN_HISTORY_DAYS` are known; its stress is that percentile,
   one minus it, or its distance from the median, by the row's `stress_when`. Score = 1 − stress.
2. A pillar's stress in a reading is the mean of its available indicators' stress. An unavailable
   indicator is *imputed* by that mean and a pillar with none at all by `MAC2_MISSING_PILLAR_STRESS`;
   nothing is renormalised away: `imputed_share` (the share of the reading's weight that was imputed)
   is published next to coverage = 1 − imputed_share, and a reading with more imputed than measured
   weight is withheld (`MIN_COVERAGE`).
3. The reading is a stress-weighted mean over its pillars: w_i = s_i^q / Σ_j s_j^q, stress
   S = Σ w_i s_i, MAC = 1 − S = Σ w_i · score_i, so contributions (w_i · score_i) add up exactly, as in
   mac-1.x, but a pillar in breach takes most of the weight: with q = 1 one pillar at full stress and
   three at 0.3 weigh 0.53 of the reading instead of 0.25. An imputed pillar weighs at most 1/n (since
   mac-2.1): a calm day with a pillar missing is not pulled toward its median by the largest weight.
4. Percentiles rank each day against every value known since `catalog.REFERENCE_START`, whatever the
   materialized range, so a day's reading does not depend on how far back a user backfilled (mac-2.1).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from mac_assets.pointintime import known_on
from mac_assets.scores.compute import metric_info
from mac_assets.scores.percentile import expanding_percentile
from mac_assets.scores.scoring import banded, quiet_status
from mac_assets.thresholds import (
    INSUFFICIENT_STATUS,
    MAC2_INDICATORS,
    MAC2_MIN_HISTORY_DAYS,
    MAC2_MISSING_PILLAR_STRESS,
    MAC2_STRESS_WEIGHT_EXPONENT,
    MAC2_VERSION,
    MIN_COVERAGE,
    MISSING_STATUS,
    PILLAR_BANDS,
    READING_BANDS,
    READINGS,
    Mac2Indicator,
    RarityBands,
)

MAC2_METRICS: tuple[str, ...] = tuple(sorted({i.metric for i in MAC2_INDICATORS}))


def _stress(percentile: np.ndarray, when: str) -> np.ndarray:
    if when == "high":
        return percentile
    if when == "low":
        return 1 - percentile
    return np.abs(2 * percentile - 1)


def score_mac2_indicators(metrics: dict[str, pd.DataFrame], calendar: pd.DatetimeIndex,
                          indicators: tuple[Mac2Indicator, ...] = MAC2_INDICATORS) -> pd.DataFrame:
    """Long table, one row per (day, indicator) of `calendar`, which must start where the history starts:
    each percentile ranks the day's value among the values of every earlier day of the calendar."""
    parts = []
    # Built in (reading, indicator) order, so one stable sort by date gives (date, reading, indicator)
    # order without sorting a million rows by their names.
    for ind in sorted(indicators, key=lambda i: (i.reading, i.indicator)):
        known = known_on(calendar, metrics[ind.metric], metric_info(ind.metric).stale_after_days)
        pct = expanding_percentile(known["value"].to_numpy(), MAC2_MIN_HISTORY_DAYS)
        stress = _stress(pct, ind.stress_when)
        parts.append(pd.DataFrame({
            "date": known["date"], "reading": ind.reading, "indicator": ind.indicator, "pillar": ind.pillar,
            "metric": ind.metric, "value": known["value"], "percentile": pct, "stress": stress, "score": 1 - stress,
            "obs_date": known["obs_date"], "available_date": known["available_date"],
            "methodology_version": MAC2_VERSION,
        }))
    return pd.concat(parts, ignore_index=True).sort_values("date", kind="stable").reset_index(drop=True)


def score_mac2_pillars(indicators: pd.DataFrame, exponent: float = MAC2_STRESS_WEIGHT_EXPONENT) -> pd.DataFrame:
    """One row per (day, reading, pillar): stress, score, weight and contribution, with what was imputed."""
    g = (indicators.groupby(["date", "reading", "pillar"], sort=True)
         .agg(stress=("stress", "mean"), indicators_available=("stress", "count"),
              indicators_total=("indicator", "size"))
         .reset_index())
    g["imputed"] = g["indicators_available"] == 0
    g["stress"] = g["stress"].fillna(MAC2_MISSING_PILLAR_STRESS)
    pillars_per_reading = g.groupby(["date", "reading"])["pillar"].transform("size")
    g["imputed_share"] = (1 - g["indicators_available"] / g["indicators_total"]) / pillars_per_reading
    g["weight"] = stress_weights(g, pillars_per_reading, exponent)
    g["score"] = 1 - g["stress"]
    g["contribution"] = g["weight"] * g["score"]
    g["status"] = pillar_statuses(g)
    g["methodology_version"] = MAC2_VERSION
    return g[["date", "reading", "pillar", "stress", "score", "weight", "contribution", "indicators_available",
              "indicators_total", "imputed", "imputed_share", "status", "methodology_version"]]


def reading_bands(reading: str) -> RarityBands:
    """A mac-2.x reading's status bands (the build-up reading's are shared with mac-3.0)."""
    return READING_BANDS[f"{MAC2_VERSION} stress" if reading == "stress" else reading]


def pillar_statuses(g: pd.DataFrame) -> np.ndarray:
    """Each pillar's published status: its stress (a percentile, near enough) banded at the rarity quantiles,
    quiet by its reading's rule, so pillar alerts do not flicker either. `g` is sorted by date."""
    daily = pd.Series(banded(g["score"], PILLAR_BANDS, MISSING_STATUS)[0], index=g.index)
    status = pd.Series(index=g.index, dtype=object)
    for (reading, _), rows in daily.groupby([g["reading"], g["pillar"]]):  # a few pillars, each a whole history
        status[rows.index] = quiet_status(rows.to_numpy(), reading_bands(reading).quiet_days)
    return status.to_numpy()


def stress_weights(g: pd.DataFrame, pillars_per_reading: pd.Series, exponent: float) -> np.ndarray:
    """w_i ∝ stress_i^q over a reading's pillars, except that an imputed pillar never weighs more than 1/n, what
    every pillar weighs when all sit at one stress: missing data cannot take the largest weight of a calm day."""
    by = [g["date"], g["reading"]]
    pull = g["stress"] ** exponent
    fair = 1 / pillars_per_reading
    total = pull.groupby(by).transform("sum")
    imputed_weight = np.where(g["imputed"], np.minimum(pull / total.where(total > 0), fair).fillna(fair), 0.0)
    left = 1 - pd.Series(imputed_weight, index=g.index).groupby(by).transform("sum")
    measured = pull.where(~g["imputed"], 0.0)
    measured_total = measured.groupby(by).transform("sum")
    measured_count = (~g["imputed"]).groupby(by).transform("sum")
    even = left / measured_count.where(measured_count > 0)
    share = np.where(measured_total > 0, left * measured / measured_total.where(measured_total > 0), even)
    return np.where(g["imputed"], imputed_weight, share)


def score_mac2_readings(pillars: pd.DataFrame) -> pd.DataFrame:
    """One row per day: each reading's MAC (the sum of its contributions), status, coverage and imputed share."""
    by = pillars.groupby(["date", "reading"], sort=True)
    r = pd.DataFrame({"mac": by["contribution"].sum(), "imputed_share": by["imputed_share"].sum()}).reset_index()
    withheld = r["imputed_share"] > 1 - MIN_COVERAGE
    r.loc[withheld, "mac"] = np.nan
    r["coverage"] = 1 - r["imputed_share"]
    wide = r.pivot(index="date", columns="reading", values=["mac", "coverage", "imputed_share"])
    out = pd.DataFrame(index=wide.index)
    for reading in READINGS:
        for column in ("mac", "coverage", "imputed_share"):
            out[f"{reading}_{column}"] = wide[(column, reading)] if (column, reading) in wide else np.nan
        bands = reading_bands(reading)
        daily = np.where(out[f"{reading}_mac"].isna() & out[f"{reading}_coverage"].notna(), INSUFFICIENT_STATUS,
                         banded(out[f"{reading}_mac"].astype(float), bands, MISSING_STATUS)[0])
        out[f"{reading}_band"], out[f"{reading}_status"] = daily, quiet_status(daily, bands.quiet_days)
    out["methodology_version"] = MAC2_VERSION
    out = out.reset_index()
    for reading in READINGS:
        out[f"{reading}_mac"] = out[f"{reading}_mac"].astype(float)
        out[f"{reading}_coverage"] = out[f"{reading}_coverage"].astype(float)
        out[f"{reading}_imputed_share"] = out[f"{reading}_imputed_share"].astype(float)
    return out


def compute_mac2(metrics: dict[str, pd.DataFrame], calendar: pd.DatetimeIndex,
                 exponent: float = MAC2_STRESS_WEIGHT_EXPONENT) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Indicators, pillars and readings of mac-2.0 over `calendar` (which starts where the history starts)."""
    indicators = score_mac2_indicators(metrics, calendar)
    pillars = score_mac2_pillars(indicators, exponent)
    return indicators, pillars, score_mac2_readings(pillars)

"""From metric histories to indicator, pillar and composite scores (pure pandas, no Dagster).

Aggregation rules, in one place:
- an indicator's value on day D is the latest value public by D and not stale (`known_on`);
- a pillar's score is the mean of its available indicator scores, and its coverage the share of its
  indicators that were available;
- the composite is the sum of pillar contributions, weight × score, where the weights of the pillars
  that have data are renormalised to sum to one. Pillars without data contribute nothing and lower
  coverage; no value is ever invented for them.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from mac_assets.catalog import PILLARS, SERIES_BY_ID
from mac_assets.derived.registry import METRICS_BY_NAME
from mac_assets.keys import Table, derived, raw
from mac_assets.pointintime import known_on, utc_today, with_availability
from mac_assets.scores.scoring import score_knots, status_band
from mac_assets.thresholds import (
    CORE_THRESHOLDS,
    INSUFFICIENT_STATUS,
    METHODOLOGY_VERSION,
    MIN_COVERAGE,
    MISSING_STATUS,
    PILLAR_WEIGHTS,
    STATUS_BANDS,
    Threshold,
)

# Days of slack on top of a metric's staleness limit when reading before the window, so that the
# value in force on the window's first day is always loaded.
LOOKBACK_SLACK_DAYS = 7


@dataclass(frozen=True)
class MetricInfo:
    """Where an indicator's metric lives and how it ages: a derived metric or a raw series."""

    name: str
    table: Table
    tier: int
    stale_after_days: int
    lag_days: int | None  # raw series only: derived metrics carry their own available_date

    @property
    def lookback_days(self) -> int:
        """Calendar days read before a partition, enough to know the metric's value on its first day."""
        return self.stale_after_days + LOOKBACK_SLACK_DAYS

    @property
    def input_name(self) -> str:
        """The name the scores assets load the metric under (`derived_gamma_ratio`, `raw_vix`)."""
        return "_".join(self.table.path)


def metric_info(name: str) -> MetricInfo:
    if name in METRICS_BY_NAME:
        m = METRICS_BY_NAME[name]
        return MetricInfo(name, derived(name), m.tier, m.stale_after_days, None)
    if name in SERIES_BY_ID:
        s = SERIES_BY_ID[name]
        return MetricInfo(name, raw(name), s.tier, s.stale_after_days, s.lag_days)
    raise KeyError(f"metric {name!r} is neither a derived metric nor a catalog series")


def business_days(start: pd.Timestamp, end_inclusive: pd.Timestamp) -> pd.DatetimeIndex:
    return pd.bdate_range(start, end_inclusive) if end_inclusive >= start else pd.DatetimeIndex([])


def score_calendar(start: pd.Timestamp, end: pd.Timestamp) -> pd.DatetimeIndex:
    """Business days of the window [start, end), up to today: a score exists for every day that has happened."""
    return business_days(start, min(end - pd.Timedelta(days=1), utc_today()))


def metric_frames(inputs: dict[str, pd.DataFrame], metrics: Iterable[str]) -> dict[str, pd.DataFrame]:
    """Loaded inputs (by `MetricInfo.input_name`) keyed by metric name; raw series get their publication dates."""
    frames = {}
    for m in sorted(set(metrics)):
        info = metric_info(m)
        frame = inputs[info.input_name]
        frames[m] = with_availability(frame, SERIES_BY_ID[m]) if info.lag_days is not None else frame
    return frames


def _status(scores) -> np.ndarray:
    return status_band(scores, STATUS_BANDS, MISSING_STATUS)


def score_indicators(metrics: dict[str, pd.DataFrame], calendar: pd.DatetimeIndex,
                     thresholds: tuple[Threshold, ...] = CORE_THRESHOLDS,
                     version: str = METHODOLOGY_VERSION) -> pd.DataFrame:
    """Long table: one row per (day, indicator), with the value known that day and its score.

    `metrics` maps metric name → frame with date, value, available_date. The seven pillars' rows by
    default; the extension scores its own rows with the same rules.
    """
    parts = []
    # Built in indicator order, so one stable sort by date gives (date, indicator) order without sorting
    # a million rows by their names.
    for t in sorted(thresholds, key=lambda t: t.indicator):
        info = metric_info(t.metric)
        known = known_on(calendar, metrics[t.metric], info.stale_after_days)
        value = known["value"] * t.scale
        score = score_knots(value.to_numpy(), t.knots())
        parts.append(pd.DataFrame({
            "date": known["date"],
            "indicator": t.indicator,
            "pillar": t.pillar,
            "tier": info.tier,
            "value": value,
            "score": score,
            "status": _status(score),
            "obs_date": known["obs_date"],
            "available_date": known["available_date"],
            "methodology_version": version,
        }))
    if not parts or not len(calendar):
        return _empty_indicator_frame()
    return pd.concat(parts, ignore_index=True).sort_values("date", kind="stable").reset_index(drop=True)


def _empty_indicator_frame() -> pd.DataFrame:
    return pd.DataFrame({
        "date": pd.Series(dtype="datetime64[ns]"), "indicator": pd.Series(dtype=str),
        "pillar": pd.Series(dtype=str), "tier": pd.Series(dtype="int64"), "value": pd.Series(dtype=float),
        "score": pd.Series(dtype=float), "status": pd.Series(dtype=str),
        "obs_date": pd.Series(dtype="datetime64[ns]"), "available_date": pd.Series(dtype="datetime64[ns]"),
        "methodology_version": pd.Series(dtype=str),
    })


def aggregate_indicators(indicators: pd.DataFrame) -> pd.DataFrame:
    """One row per (day, pillar): the mean of the available indicator scores and the share available.

    The one aggregation rule, used for the seven pillars and for the extension's components alike.
    """
    g = (
        indicators.groupby(["date", "pillar"], sort=True)
        .agg(score=("score", "mean"), indicators_available=("score", "count"),
             indicators_total=("indicator", "size"))
        .reset_index()
    )
    g["coverage"] = g["indicators_available"] / g["indicators_total"]
    return g


def score_pillars(indicators: pd.DataFrame) -> pd.DataFrame:
    """One row per (day, pillar): mean score, coverage, renormalised weight and contribution."""
    g = aggregate_indicators(indicators)
    base = g["pillar"].map(PILLAR_WEIGHTS).astype(float)
    present = g["score"].notna()
    denominator = (base * present).groupby(g["date"]).transform("sum")
    g["weight"] = np.where(present, base / denominator.where(denominator > 0), 0.0)
    g["contribution"] = np.where(present, g["weight"] * g["score"], np.nan)
    g["status"] = _status(g["score"])
    g["methodology_version"] = METHODOLOGY_VERSION
    columns = ["date", "pillar", "score", "weight", "contribution", "coverage", "indicators_available",
               "indicators_total", "status", "methodology_version"]
    return g[columns]


def score_composite(pillars: pd.DataFrame) -> pd.DataFrame:
    """One row per day: MAC = sum of pillar contributions, its status band, coverage and breakdown.

    On days with less than `MIN_COVERAGE` of the weight backed by data (the one withholding rule of every
    reading) the composite is withheld: `mac` stays missing and the status says `insufficient_data`,
    while the pillar contributions are still shown.
    """
    by_day = pillars.groupby("date", sort=True)
    out = pd.DataFrame({
        "mac": by_day["contribution"].sum(min_count=1),
        "pillars_available": by_day["score"].count(),
        "coverage": (pillars["coverage"] * pillars["pillar"].map(PILLAR_WEIGHTS)).groupby(pillars["date"]).sum(),
    })
    contributions = pillars.pivot(index="date", columns="pillar", values="contribution")
    for p in PILLARS:
        out[f"{p}_contribution"] = contributions[p] if p in contributions else np.nan
    withheld = (out["pillars_available"] > 0) & (out["coverage"] < MIN_COVERAGE)
    out.loc[withheld, "mac"] = np.nan
    out["status"] = np.where(withheld, INSUFFICIENT_STATUS, _status(out["mac"]))
    out["methodology_version"] = METHODOLOGY_VERSION
    out = out.reset_index()
    leading = ["date", "mac", "status", "coverage", "pillars_available", "methodology_version"]
    return out[leading + [c for c in out.columns if c not in leading]]


def headline_days(composite: pd.DataFrame) -> pd.DataFrame:
    """The days whose composite may be headlined: a MAC was produced, backed by enough of the weight.

    When some inputs end before others (a CSV drop, an outage), the last days rest on little data; the
    headline (run summary, bi.mac_latest, the HTML report) is the newest of these days, or none.
    """
    return composite[composite["mac"].notna() & (composite["coverage"] >= MIN_COVERAGE)].sort_values("date")


def no_headline_reason(composite: pd.DataFrame) -> str:
    """Why `headline_days` is empty, in one line."""
    if composite.empty:
        return "no business day was scored (is the history window empty?)"
    scored = composite.dropna(subset=["mac"])
    if scored.empty:
        withheld = int((composite["status"] == INSUFFICIENT_STATUS).sum())
        return (f"the composite was withheld on all {len(composite)} days ({withheld} for too few inputs with data: "
                f"a reading needs {MIN_COVERAGE:.0%} of its weight measured, and mac-2.x ranks each indicator in at "
                "least a year of its own history); check which sources failed")
    return (f"no day's composite had at least {MIN_COVERAGE:.0%} of the methodology's weight backed by data "
            f"(best: {scored['coverage'].max():.0%}); check which sources failed")

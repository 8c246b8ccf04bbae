"""The whole computation in memory, without Dagster or DuckDB: raw frames in, every table out.

The asset graph computes the same tables partition by partition; this is the one other wiring of
raw → derived → scores → extension, used where a run would be in the way: the benchmark's pure-compute
baseline, and tests that cut every input at a date and compare (no look-ahead). A test checks that a
graph run and `compute_all` agree.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import pandas as pd

from mac_assets.catalog import REFERENCE_START, SERIES, Series
from mac_assets.derived.registry import EXTENSION_METRIC_NAMES, METRICS
from mac_assets.pointintime import with_availability
from mac_assets.scores.compute import business_days, score_composite, score_indicators, score_pillars
from mac_assets.scores.extension import VERSION as EXTENSION_SCORES_VERSION
from mac_assets.scores.extension import extended_composite, systemic_term
from mac_assets.scores.headline import headline_composite
from mac_assets.scores.mac2 import MAC2_METRICS, compute_mac2
from mac_assets.scores.mac3 import compute_mac3
from mac_assets.sources.base import SeriesSource, SourceError, empty_frame, fetch_continued, validate_fetch
from mac_assets.thresholds import (
    CORE_THRESHOLDS,
    EXTENSION_THRESHOLDS,
    MAC2_STRESS_WEIGHT_EXPONENT,
)


@dataclass(frozen=True)
class Computed:
    """Every table a run writes, for the whole window at once (frames as the assets store them), under the names of
    their tables: `mac_composite` is the headline, `mac1_composite` the seed methodology's composite."""

    raw: dict[str, pd.DataFrame]  # series id → date, value columns, available_date
    metrics: dict[str, pd.DataFrame]  # derived metric → date, value, available_date (+ workings)
    indicator_scores: pd.DataFrame
    pillar_scores: pd.DataFrame
    mac1_composite: pd.DataFrame
    mac2_indicator_scores: pd.DataFrame
    mac2_pillar_scores: pd.DataFrame
    mac2_readings: pd.DataFrame
    mac3_pillar_scores: pd.DataFrame
    mac3_readings: pd.DataFrame
    mac_composite: pd.DataFrame
    extension_scores: pd.DataFrame | None = None
    systemic_stress: pd.DataFrame | None = None
    mac_extended: pd.DataFrame | None = None


def fetch_all(source: SeriesSource, start: date, end: date, series: tuple[Series, ...] = SERIES) -> dict[str, pd.DataFrame]:
    """Every series from `source` for [start, end), checked as a raw asset checks it; a series the source
    cannot deliver is empty, as its raw table would be."""
    frames = {}
    for s in series:
        try:
            frames[s.id] = validate_fetch(source.label, s, fetch_continued(source, s, start, end).frame, start, end)
        except SourceError:
            frames[s.id] = empty_frame(s)
    return frames


def compute_all(raw: dict[str, pd.DataFrame], start: pd.Timestamp, end_inclusive: pd.Timestamp,
                extension: bool = True,
                mac2_exponent: float = MAC2_STRESS_WEIGHT_EXPONENT) -> Computed:
    """Derived metrics, indicator, pillar and composite scores (and the extension) for business days
    start..end_inclusive, from raw frames keyed by series id (date and value columns, as stored)."""
    published = {s.id: with_availability(raw[s.id], s) for s in SERIES if s.id in raw}
    metrics = {m.name: m.compute({s.id: published[s.id] for s in m.input_series}) for m in METRICS
               if extension or m.name not in EXTENSION_METRIC_NAMES}
    needed = {t.metric for t in CORE_THRESHOLDS + EXTENSION_THRESHOLDS} | set(MAC2_METRICS)
    frames = {m: metrics.get(m, published.get(m)) for m in needed if m in metrics or m in published}
    days = business_days(start, end_inclusive)
    indicators = score_indicators(frames, days)
    pillars = score_pillars(indicators)
    composite = score_composite(pillars)
    mac2 = compute_mac2(frames, business_days(pd.Timestamp(REFERENCE_START), end_inclusive), mac2_exponent)
    mac3 = compute_mac3(mac2[1], mac2[2])
    mac2, mac3 = tuple(_from(start, f) for f in mac2), tuple(_from(start, f) for f in mac3)
    headline = headline_composite(composite, mac2[2], mac2[1], mac3[1])
    scores = (indicators, pillars, composite, *mac2, *mac3, headline)
    if not extension:
        return Computed(published, metrics, *scores)
    extension_indicators = score_indicators(frames, days, EXTENSION_THRESHOLDS, EXTENSION_SCORES_VERSION)
    systemic = systemic_term(pillars, extension_indicators)
    extended = extended_composite(composite, pillars, extension_indicators, systemic)
    return Computed(published, metrics, *scores, extension_indicators, systemic, extended)

def _from(start: pd.Timestamp, frame: pd.DataFrame) -> pd.DataFrame:
    """The rows of a table computed from the reference start that fall in the scored range."""
    return frame[frame["date"] >= start].reset_index(drop=True)

"""Out-of-sample validation: pre-registered metrics on a train / test split, for every reading and benchmark.

The protocol was written down before any test-period number was computed, and is the same for every
reading (mac-1.x, mac-2.0 stress, mac-2.0 build-up, the extended MAC) and for the official indexes
STLFSI4 and NFCI, which are turned around (minus the index) so that for every series *low = stress*:

- Everything is read on the weekly grid of STLFSI4 (Fridays): a daily reading takes its value of that
  day or the business day before.
- Thresholds are expanding: the bottom decile (or quintile) on a week is the 10th (20th) percentile of
  the series' own weekly values up to that week, once 52 weeks exist. No threshold knows the future.
- `level_corr_*`, `change_corr_*`: Spearman rank correlation of the levels, and of the one-week
  changes, with STLFSI4 and NFCI (negative: the reading falls when the index's stress rises).
- `episodes_detected`: of the period's dated episodes (`mac_assets.episodes`), those during which the
  series was in its bottom decile in some week from two weeks before the date to four weeks after.
- `false_alarm_clusters`: runs of bottom-decile weeks (merged when at most four weeks apart) with no
  episode date from four weeks before the run to four weeks after it.
- `lift`: P(SPY falls 10 % or more below its level within the next 63 business days | the series in its
  bottom quintile) ÷ P(the same fall), over the period's weeks; with a 5-95 % interval from a moving-block
  bootstrap (blocks of 13 weeks, 500 resamples, fixed seed).
- `drawdown_corr`: Spearman correlation of the series with the largest fall of SPY below that week's
  level over the next 63 business days (negative: low readings precede large falls).

A period is train (up to 2014) or test (2015 on). The headline rule (`beats`) compares two readings on
the test period's five headline metrics.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from mac_assets import thresholds as t
from mac_assets.episodes import EPISODES, Episode

TEST_START = pd.Timestamp("2015-01-01")
FORWARD_DAYS = 63
FALL = 0.10
MIN_WEEKS = 52
BLOCK_WEEKS = 13
BOOTSTRAP_SAMPLES = 500
BOOTSTRAP_SEED = 20150101
EPISODE_WINDOW_WEEKS = (2, 4)  # before, after
CLUSTER_GAP_WEEKS = 4
# The five test metrics of the headline rule, and which way is better.
HEADLINE_METRICS: dict[str, str] = {
    "change_corr_stlfsi4": "lower", "level_corr_stlfsi4": "lower", "episodes_detected": "higher",
    "false_alarm_clusters": "lower", "lift": "higher",
}


def weekly(series: pd.DataFrame, grid: pd.DatetimeIndex) -> pd.Series:
    """A daily series (date, value) on the weekly grid: the value of that day or of up to four days before."""
    s = series[["date", "value"]].dropna().sort_values("date")
    aligned = pd.merge_asof(pd.DataFrame({"date": grid}), s, on="date", direction="backward",
                            tolerance=pd.Timedelta(days=4))
    return aligned.set_index("date")["value"]


def forward_fall(spy: pd.DataFrame, grid: pd.DatetimeIndex) -> pd.Series:
    """For each week: the largest fall of SPY below that day's close over the next 63 business days (≥ 0);
    missing where fewer than 63 business days follow."""
    s = spy[["date", "value"]].dropna().sort_values("date").reset_index(drop=True)
    prices = s["value"].to_numpy()
    ahead = np.full(len(prices), np.nan)
    if len(prices) > FORWARD_DAYS:
        windows = np.lib.stride_tricks.sliding_window_view(prices[1:], FORWARD_DAYS)
        ahead[: len(windows)] = windows.min(axis=1)
    fall = pd.Series(1 - ahead / prices, index=s["date"])
    return fall.reindex(grid, method="ffill", tolerance=pd.Timedelta(days=4))


def expanding_quantile(x: pd.Series, q: float) -> pd.Series:
    return x.expanding(min_periods=MIN_WEEKS).quantile(q)


def spearman(a: pd.Series, b: pd.Series) -> float:
    both = pd.concat([a, b], axis=1).dropna()
    if len(both) < 10 or (both.nunique() < 2).any():
        return float("nan")
    return float(both.iloc[:, 0].rank().corr(both.iloc[:, 1].rank()))


def _episodes(period: str) -> list[Episode]:
    return [e for e in EPISODES if (pd.Timestamp(e.start) < TEST_START) == (period == "train")]


def _below(x: pd.Series, threshold: pd.Series) -> pd.Series:
    return (x <= threshold).astype("boolean").mask(x.isna() | threshold.isna())


def detected(low: pd.Series, episodes: list[Episode]) -> list[bool]:
    before, after = (pd.Timedelta(weeks=w) for w in EPISODE_WINDOW_WEEKS)
    low = low.fillna(False)
    return [bool(low[(low.index >= pd.Timestamp(e.start) - before) & (low.index <= pd.Timestamp(e.start) + after)].any())
            for e in episodes]


def false_alarm_clusters(low: pd.Series, episodes: list[Episode]) -> int:
    weeks = low.index[low.fillna(False).to_numpy(dtype=bool)]  # missing is not low
    if not len(weeks):
        return 0
    gap = pd.Timedelta(weeks=CLUSTER_GAP_WEEKS)
    clusters, start, end = [], weeks[0], weeks[0]
    for w in weeks[1:]:  # a handful of weeks: the bottom decile of the period
        if w - end > gap:
            clusters.append((start, end))
            start = w
        end = w
    clusters.append((start, end))
    dates = [pd.Timestamp(e.start) for e in episodes]
    return sum(1 for s, e in clusters if not any(s - gap <= d <= e + gap for d in dates))


def lift(signal: pd.Series, event: pd.Series) -> float:
    both = pd.concat([signal, event], axis=1).dropna()
    s, e = both.iloc[:, 0].astype(bool), both.iloc[:, 1].astype(bool)
    if both.empty or not e.any() or not s.any():
        return float("nan")
    return float(e[s].mean() / e.mean())


def block_bootstrap_lift(signal: pd.Series, event: pd.Series) -> tuple[float, float]:
    both = pd.concat([signal, event], axis=1).dropna()
    n = len(both)
    if n < 2 * BLOCK_WEEKS:
        return float("nan"), float("nan")
    rng = np.random.default_rng(BOOTSTRAP_SEED)
    s, e = both.iloc[:, 0].to_numpy(dtype=bool), both.iloc[:, 1].to_numpy(dtype=bool)
    starts = rng.integers(0, n - BLOCK_WEEKS + 1, size=(BOOTSTRAP_SAMPLES, -(-n // BLOCK_WEEKS)))
    index = (starts[:, :, None] + np.arange(BLOCK_WEEKS)).reshape(BOOTSTRAP_SAMPLES, -1)[:, :n]
    ss, ee = s[index], e[index]
    with np.errstate(invalid="ignore", divide="ignore"):
        lifts = ((ee & ss).sum(1) / ss.sum(1)) / ee.mean(1)
    lifts = lifts[np.isfinite(lifts)]
    return (float(np.quantile(lifts, 0.05)), float(np.quantile(lifts, 0.95))) if len(lifts) else (float("nan"),) * 2


@dataclass(frozen=True)
class Inputs:
    """What validation needs: readings (low = stress) and the benchmark indexes and SPY, as date/value frames."""

    readings: dict[str, pd.DataFrame]
    stlfsi4: pd.DataFrame
    nfci: pd.DataFrame
    spy: pd.DataFrame

    def series(self) -> dict[str, pd.DataFrame]:
        """Every series to judge: the readings and, turned around, the two benchmarks."""
        turned = {"STLFSI4 (benchmark)": self.stlfsi4, "NFCI (benchmark)": self.nfci}
        return self.readings | {k: v.assign(value=-v["value"]) for k, v in turned.items()}


def metrics(inputs: Inputs, periods: tuple[str, ...] = ("train", "test")) -> pd.DataFrame:
    """One row per (series, period) with every pre-registered metric; `periods=("train",)` computes
    nothing about the test years (what fitting uses)."""
    grid = pd.DatetimeIndex(inputs.stlfsi4["date"].dropna().sort_values().unique())
    stlfsi4, nfci = weekly(inputs.stlfsi4, grid), weekly(inputs.nfci, grid)
    fall = forward_fall(inputs.spy, grid)
    event = (fall >= FALL).astype("boolean").mask(fall.isna())
    rows = []
    for name, frame in inputs.series().items():
        x = weekly(frame, grid)
        # True / False where both the value and its expanding threshold exist, missing otherwise.
        bottom_decile = _below(x, expanding_quantile(x, 0.10))
        bottom_quintile = _below(x, expanding_quantile(x, 0.20))
        for period in periods:
            in_period = (grid < TEST_START) if period == "train" else (grid >= TEST_START)
            p = pd.Series(in_period, index=grid)
            xs = x[p]
            if xs.notna().sum() < 10:
                continue
            episodes = _episodes(period)
            found = detected(bottom_decile[p], episodes)
            low, high = block_bootstrap_lift(bottom_quintile[p], event[p])
            rows.append({
                "series": name, "period": period, "weeks": int(xs.notna().sum()),
                "from": xs.dropna().index.min().date(), "to": xs.dropna().index.max().date(),
                "level_corr_stlfsi4": spearman(xs, stlfsi4[p]), "change_corr_stlfsi4": spearman(xs.diff(), stlfsi4[p].diff()),
                "level_corr_nfci": spearman(xs, nfci[p]), "change_corr_nfci": spearman(xs.diff(), nfci[p].diff()),
                "episodes_detected": int(sum(found)), "episodes": len(episodes),
                "missed": ", ".join(e.name for e, f in zip(episodes, found) if not f) or "none",
                "false_alarm_clusters": false_alarm_clusters(bottom_decile[p], episodes),
                "lift": lift(bottom_quintile[p], event[p]), "lift_5pct": low, "lift_95pct": high,
                "drawdown_corr": spearman(xs, fall[p]),
            })
    return pd.DataFrame(rows)


def beats(table: pd.DataFrame, challenger: str, incumbent: str) -> tuple[bool, list[str]]:
    """The pre-registered headline rule: the challenger is better on at least three of the five headline
    test metrics (a tie is not better). Returns the verdict and the metrics it won."""
    if table.empty:  # nothing to judge (no benchmark rows in the test years)
        return False, []
    test = table[table["period"] == "test"].set_index("series")
    if challenger not in test.index or incumbent not in test.index:
        return False, []
    won = []
    for metric, better in HEADLINE_METRICS.items():
        a, b = test.at[challenger, metric], test.at[incumbent, metric]
        if pd.notna(a) and pd.notna(b) and (a < b if better == "lower" else a > b):
            won.append(metric)
    return len(won) >= 3, won


def select_exponent(train_tables: dict[float, pd.DataFrame], reading: str) -> float:
    """The pre-registered fitting rule for the stress-weight exponent, on training years only: the most
    training episodes detected, then the most negative weekly-change correlation with STLFSI4."""
    def key(q: float):
        t = train_tables[q]
        row = t[(t["period"] == "train") & (t["series"] == reading)].iloc[0]
        return (-row["episodes_detected"], row["change_corr_stlfsi4"], q)
    return min(train_tables, key=key)


MAC1 = "mac-1.x"
MAC2_STRESS = "mac-2.0 stress"
MAC2_BUILDUP = "mac-2.0 build-up"
EXTENDED = "extended MAC"


def readings(composite: pd.DataFrame, mac2: pd.DataFrame, extended: pd.DataFrame | None) -> dict[str, pd.DataFrame]:
    """The product's readings as date/value frames (every one: low = stress)."""
    out = {MAC1: composite[["date", "mac"]].rename(columns={"mac": "value"}),
           MAC2_STRESS: mac2[["date", "stress_mac"]].rename(columns={"stress_mac": "value"}),
           MAC2_BUILDUP: mac2[["date", "buildup_mac"]].rename(columns={"buildup_mac": "value"})}
    if extended is not None and len(extended):
        out[EXTENDED] = extended[["date", "mac_extended"]].rename(columns={"mac_extended": "value"})
    return out


def frozen_choices() -> pd.DataFrame:
    """Every tunable choice of mac-2.0 and of this protocol: its value, and whether and where it was fitted."""
    fitted = f"fitted on training weeks 2007-2014 from {', '.join(f'{q:g}' for q in t.MAC2_EXPONENT_GRID)}"
    rows = [
        ("stress-weight exponent q", f"{t.MAC2_STRESS_WEIGHT_EXPONENT:g}", fitted + " (scripts/fit_mac2.py)"),
        ("minimum history before an indicator is scored", f"{t.MAC2_MIN_HISTORY_DAYS} business days", "a priori (a year)"),
        ("stress of a pillar without any input", f"{t.MAC2_MISSING_PILLAR_STRESS:g}", "a priori (the median, by construction)"),
        ("largest imputed share of a published reading", f"{t.MAC2_MAX_IMPUTED_SHARE:g}", "a priori"),
        ("indicators, their readings, pillars and directions", f"{len(t.MAC2_INDICATORS)} rows", "a priori (thresholds.py)"),
        ("test period", f"from {TEST_START.date()}", "a priori"),
        ("thresholds", f"expanding 10th / 20th percentiles after {MIN_WEEKS} weeks", "a priori"),
        ("episode window", f"{EPISODE_WINDOW_WEEKS[0]} weeks before to {EPISODE_WINDOW_WEEKS[1]} after", "a priori"),
        ("early-warning event", f"SPY {FALL:.0%} below within {FORWARD_DAYS} business days", "a priori (the issue's)"),
        ("bootstrap", f"{BOOTSTRAP_SAMPLES} resamples of {BLOCK_WEEKS}-week blocks", "a priori"),
        ("headline rule", "challenger better on ≥ 3 of: " + ", ".join(HEADLINE_METRICS), "a priori"),
    ]
    return pd.DataFrame(rows, columns=["choice", "value", "how it was set"])

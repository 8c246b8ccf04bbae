"""Out-of-sample validation, protocol v2: pre-registered metrics on a train / test split, for every reading,
every single-input baseline and the official indexes (docs/preregistration-v2.md).

The protocol was written down before any v2 number was computed, and is the same for every series. Every
series is oriented so that *low = stress* (STLFSI4 and NFCI turned around; an input as one minus its
point-in-time stress percentile; the 12-month risk as one minus its probability):

- Everything is read on the weekly grid of STLFSI4 (Fridays): a daily series takes its value of that
  day or of up to four days before.
- Thresholds are expanding: the bottom decile (or quintile) on a week is the 10th (20th) percentile of
  the series' own weekly values up to that week, once 52 weeks exist. No threshold knows the future.
- `level_corr_*`, `change_corr_*`: Spearman rank correlation of the levels, and of the one-week
  changes, with STLFSI4 and NFCI (negative: the reading falls when the index's stress rises).
- `episodes_detected`: of the period's dated episodes (`mac_assets.episodes`), those during which the
  series was in its bottom decile in some week from two weeks before the date to four weeks after;
  `detected_by_kind` breaks them down by the market the stress began in.
- `false_alarm_clusters`: runs of bottom-decile weeks (merged when at most four weeks apart) with no
  episode date from four weeks before the run to four weeks after it.
- `lift_<h>`: P(SPY closes the fall of horizon h or more below the week's close within its business days |
  the series in its bottom quintile) ÷ P(the same fall), with a 5-95 % interval from a moving-block
  bootstrap (blocks as long as the horizon, 500 resamples, fixed seed). Horizons: 10 % in 63 business
  days (`lift`, the headline metric), 15 % in 126, 20 % in 252, 15 % in 252 (the risk reading's event).
- `drawdown_corr_<days>`: Spearman correlation with the largest fall below the week's close over the next
  63 (`drawdown_corr`), 126 and 252 business days (negative: low readings precede large falls).

A period is train (before 2015) or test (2015 on). A week counts for a forward metric only when its whole
forward window exists, and in the training period only when that window ends before 2015, so no training
figure sees a test-year price. The headline rule (`beats`) compares two series on the test period's five
headline metrics. The 12-month risk gets its own scores (`risk_scores`): Brier skill against the training
base rate, AUROC, top-quintile lift and a reliability table.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import brier_score_loss, log_loss, roc_auc_score

from mac_assets import thresholds as t
from mac_assets.catalog import REFERENCE_START
from mac_assets.episodes import EPISODES, KINDS, Episode
from mac_assets.scores.scoring import BAND_LABELS, quiet_status
from mac_assets.thresholds import TEST_START

MIN_WEEKS = 52
BOOTSTRAP_SAMPLES = 500
BOOTSTRAP_SEED = 20150101
EPISODE_WINDOW_WEEKS = (2, 4)  # before, after
CLUSTER_GAP_WEEKS = 4
# Leave-one-block-out cross-validation of the risk curve's candidates: blocks of this many years.
CV_BLOCK_YEARS = 3
# Two candidates' cross-validated log losses closer than this are a tie (the simpler one is kept).
CV_TIE = 0.001


@dataclass(frozen=True)
class Horizon:
    """A forward-looking event: SPY closes `fall` or more below the week's close within `days` business days."""

    days: int
    fall: float
    block_weeks: int

    @property
    def name(self) -> str:
        return f"{self.days}d_{self.fall:.0%}".replace("%", "pct")


HEADLINE_HORIZON = Horizon(63, 0.10, 13)
RISK_HORIZON = Horizon(t.RISK_HORIZON_DAYS, t.RISK_FALL, 52)
HORIZONS: tuple[Horizon, ...] = (HEADLINE_HORIZON, Horizon(126, 0.15, 26), Horizon(252, 0.20, 52), RISK_HORIZON)
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


def forward_fall(spy: pd.DataFrame, grid: pd.DatetimeIndex, days: int) -> pd.DataFrame:
    """For each week: `fall`, the largest fall of SPY below that day's close over the next `days` business days
    (≥ 0), and `window_end`, the date of the last of those days; both missing where fewer days follow."""
    s = spy[["date", "value"]].dropna().sort_values("date").reset_index(drop=True)
    prices = s["value"].to_numpy()
    ahead = np.full(len(prices), np.nan)
    ends = pd.Series(pd.NaT, index=s.index, dtype="datetime64[ns]")
    if len(prices) > days:
        windows = np.lib.stride_tricks.sliding_window_view(prices[1:], days)
        ahead[: len(windows)] = windows.min(axis=1)
        ends.iloc[: len(windows)] = s["date"].iloc[days:].to_numpy()
    daily = pd.DataFrame({"fall": 1 - ahead / prices, "window_end": ends.to_numpy()}, index=s["date"])
    return daily.reindex(grid, method="ffill", tolerance=pd.Timedelta(days=4))


def usable(forward: pd.DataFrame, grid: pd.DatetimeIndex, period: str) -> pd.Series:
    """Weeks whose forward window exists, and in training also ends before the test years."""
    ok = forward["window_end"].notna()
    if period == "train":
        ok &= forward["window_end"] < TEST_START
    return pd.Series(ok.to_numpy(), index=grid)


def expanding_quantile(x: pd.Series, q: float) -> pd.Series:
    return x.expanding(min_periods=MIN_WEEKS).quantile(q)


def spearman(a: pd.Series, b: pd.Series) -> float:
    both = pd.concat([a, b], axis=1).dropna()
    if len(both) < 10 or (both.nunique() < 2).any():
        return float("nan")
    return float(both.iloc[:, 0].rank().corr(both.iloc[:, 1].rank()))


def in_period(dates, period: str) -> np.ndarray:
    dates = pd.DatetimeIndex(dates)
    return np.asarray(dates < TEST_START) if period == "train" else np.asarray(dates >= TEST_START)


def period_episodes(period: str) -> list[Episode]:
    return [e for e in EPISODES if in_period([pd.Timestamp(e.start)], period)[0]]


def _below(x: pd.Series, threshold: pd.Series) -> pd.Series:
    return (x <= threshold).astype("boolean").mask(x.isna() | threshold.isna())


def detected(low: pd.Series, episodes: list[Episode]) -> list[bool]:
    before, after = (pd.Timedelta(weeks=w) for w in EPISODE_WINDOW_WEEKS)
    low = low.fillna(False)
    return [bool(low[(low.index >= pd.Timestamp(e.start) - before) & (low.index <= pd.Timestamp(e.start) + after)].any())
            for e in episodes]


def by_kind(episodes: list[Episode], found: list[bool]) -> str:
    """'equity 3/5, funding 1/2, …' over the kinds the period has."""
    parts = []
    for kind in KINDS:
        hits = [f for e, f in zip(episodes, found) if e.kind == kind]
        if hits:
            parts.append(f"{kind} {sum(hits)}/{len(hits)}")
    return ", ".join(parts)


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


def _block_indices(n: int, block_weeks: int) -> np.ndarray:
    """Moving-block bootstrap resamples of positions 0..n-1: (BOOTSTRAP_SAMPLES, n)."""
    rng = np.random.default_rng(BOOTSTRAP_SEED)
    starts = rng.integers(0, n - block_weeks + 1, size=(BOOTSTRAP_SAMPLES, -(-n // block_weeks)))
    return (starts[:, :, None] + np.arange(block_weeks)).reshape(BOOTSTRAP_SAMPLES, -1)[:, :n]


def _interval(values: np.ndarray) -> tuple[float, float]:
    values = values[np.isfinite(values)]
    return (float(np.quantile(values, 0.05)), float(np.quantile(values, 0.95))) if len(values) else (float("nan"),) * 2


def block_bootstrap_lift(signal: pd.Series, event: pd.Series, block_weeks: int) -> tuple[float, float]:
    both = pd.concat([signal, event], axis=1).dropna()
    n = len(both)
    if n < 2 * block_weeks:
        return float("nan"), float("nan")
    s, e = both.iloc[:, 0].to_numpy(dtype=bool), both.iloc[:, 1].to_numpy(dtype=bool)
    index = _block_indices(n, block_weeks)
    ss, ee = s[index], e[index]
    with np.errstate(invalid="ignore", divide="ignore"):
        return _interval(((ee & ss).sum(1) / ss.sum(1)) / ee.mean(1))


@dataclass(frozen=True)
class Inputs:
    """What validation needs: readings and baselines (low = stress) and the benchmark indexes and SPY, as
    date/value frames."""

    readings: dict[str, pd.DataFrame]
    stlfsi4: pd.DataFrame
    nfci: pd.DataFrame
    spy: pd.DataFrame
    baselines: dict[str, pd.DataFrame] = field(default_factory=dict)

    def series(self) -> dict[str, pd.DataFrame]:
        """Every series to judge: the readings, the single-input baselines and, turned around, the two indexes."""
        turned = {STLFSI4: self.stlfsi4, NFCI: self.nfci}
        return self.readings | self.baselines | {k: v.assign(value=-v["value"]) for k, v in turned.items()}

    def grid(self) -> pd.DatetimeIndex:
        return pd.DatetimeIndex(self.stlfsi4["date"].dropna().sort_values().unique())


def events(inputs: Inputs, grid: pd.DatetimeIndex) -> dict[Horizon, tuple[pd.Series, pd.Series]]:
    """Per horizon: the event (True / False, missing where the window is incomplete) and the forward fall."""
    out = {}
    for h in HORIZONS:
        forward = forward_fall(inputs.spy, grid, h.days)
        fall = forward["fall"]
        out[h] = ((fall >= h.fall).astype("boolean").mask(fall.isna()), forward)
    return out


def metrics(inputs: Inputs, periods: tuple[str, ...] = ("train", "test")) -> pd.DataFrame:
    """One row per (series, period) with every pre-registered metric; `periods=("train",)` computes nothing
    about the test years (what fitting uses)."""
    grid = inputs.grid()
    stlfsi4, nfci = weekly(inputs.stlfsi4, grid), weekly(inputs.nfci, grid)
    outcomes = events(inputs, grid)
    rows = []
    for name, frame in inputs.series().items():
        x = weekly(frame, grid)
        # True / False where both the value and its expanding threshold exist, missing otherwise.
        bottom_decile = _below(x, expanding_quantile(x, 0.10))
        bottom_quintile = _below(x, expanding_quantile(x, 0.20))
        for period in periods:
            p = pd.Series(in_period(grid, period), index=grid)
            xs = x[p]
            if xs.notna().sum() < 10:
                continue
            episodes = period_episodes(period)
            found = detected(bottom_decile[p], episodes)
            row = {
                "series": name, "period": period, "weeks": int(xs.notna().sum()),
                "from": xs.dropna().index.min().date(), "to": xs.dropna().index.max().date(),
                "level_corr_stlfsi4": spearman(xs, stlfsi4[p]), "change_corr_stlfsi4": spearman(xs.diff(), stlfsi4[p].diff()),
                "level_corr_nfci": spearman(xs, nfci[p]), "change_corr_nfci": spearman(xs.diff(), nfci[p].diff()),
                "episodes_detected": int(sum(found)), "episodes": len(episodes),
                "detected_by_kind": by_kind(episodes, found),
                "missed": ", ".join(e.name for e, f in zip(episodes, found) if not f) or "none",
                "false_alarm_clusters": false_alarm_clusters(bottom_decile[p], episodes),
            }
            for h in HORIZONS:
                event, forward = outcomes[h]
                ok = p & usable(forward, grid, period)
                suffix = "" if h == HEADLINE_HORIZON else f"_{h.name}"
                low, high = block_bootstrap_lift(bottom_quintile[ok], event[ok], h.block_weeks)
                row |= {f"lift{suffix}": lift(bottom_quintile[ok], event[ok]), f"lift{suffix}_5pct": low,
                        f"lift{suffix}_95pct": high}
                corr = f"drawdown_corr{'' if h.days == HEADLINE_HORIZON.days else f'_{h.days}d'}"
                row.setdefault(corr, spearman(xs[ok], forward["fall"][ok]))
            rows.append(row)
    return pd.DataFrame(rows)


def beats(table: pd.DataFrame, challenger: str, incumbent: str, period: str = "test") -> tuple[bool, list[str]]:
    """The pre-registered headline rule: the challenger is better on at least three of the five headline
    metrics of `period` (a tie is not better). Returns the verdict and the metrics it won."""
    if table.empty:  # nothing to judge (no benchmark rows in the period)
        return False, []
    rows = table[table["period"] == period].set_index("series")
    if challenger not in rows.index or incumbent not in rows.index:
        return False, []
    won = []
    for metric, better in HEADLINE_METRICS.items():
        a, b = rows.at[challenger, metric], rows.at[incumbent, metric]
        if pd.notna(a) and pd.notna(b) and (a < b if better == "lower" else a > b):
            won.append(metric)
    return len(won) >= 3, won


# --- fitting on training years (scripts/fit_mac3.py; docs/preregistration-v2.md) ------------------------------

def select_candidate(train: pd.DataFrame, candidates: list[str], tie_break: str) -> tuple[str, pd.DataFrame]:
    """The stress reading's aggregation: each candidate against each other on the five headline metrics of the
    *training* weeks (a pair is won with at least 3 of 5); the most pairwise wins, a tie to `tie_break`.
    Returns the choice and the pairwise table."""
    wins = {c: 0 for c in candidates}
    pairs = []
    for a in candidates:
        for b in candidates:
            if a != b:
                won, metrics_won = beats(train, a, b, period="train")
                wins[a] += won
                pairs.append({"candidate": a, "against": b, "metrics won": len(metrics_won), "wins pair": won})
    best = max(wins.values())
    leaders = [c for c in candidates if wins[c] == best]
    return (tie_break if tie_break in leaders else leaders[0]), pd.DataFrame(pairs)


def band_cuts(stress: pd.Series, quantiles: tuple[float, ...] = t.BAND_QUANTILES) -> tuple[float, ...]:
    """Cut points of the status bands: these quantiles of a reading's stress over training days."""
    train = stress[in_period(stress.index, "train")].dropna()
    return tuple(round(float(train.quantile(q)), 4) for q in quantiles)


def changes_a_year(status: pd.Series) -> float:
    """Status changes per year over the days given (days without a status are skipped, not counted)."""
    s = status[status.notna()]
    if len(s) < 2:
        return 0.0
    years = (s.index[-1] - s.index[0]).days / 365.25
    return float((s != s.shift()).iloc[1:].sum() / years) if years > 0 else 0.0


def select_quiet_days(daily_bands: pd.Series) -> tuple[int, pd.DataFrame]:
    """The smallest k of `QUIET_DAYS_GRID` whose published status (`mac3.quiet_status`) changes at most
    `MAX_STATUS_CHANGES_A_YEAR` a year over training days. Returns k and the table of every k."""
    rows = []
    train = daily_bands[in_period(daily_bands.index, "train")]
    for k in t.QUIET_DAYS_GRID:
        status = pd.Series(quiet_status(train.to_numpy(), k), index=train.index).where(lambda s: s.isin(BAND_LABELS))
        rows.append({"quiet days": k, "status changes a year (training)": changes_a_year(status)})
    table = pd.DataFrame(rows)
    ok = table[table["status changes a year (training)"] <= t.MAX_STATUS_CHANGES_A_YEAR]
    return (int(ok["quiet days"].iloc[0]) if len(ok) else t.QUIET_DAYS_GRID[-1]), table



def risk_frame(features: pd.DataFrame, spy: pd.DataFrame, grid: pd.DatetimeIndex) -> pd.DataFrame:
    """Weekly rows: the features (date-indexed daily frame, read as `weekly` does), the risk event and whether
    the week may train the curve (its forward window complete and ended before the test years)."""
    forward = forward_fall(spy, grid, RISK_HORIZON.days)
    out = pd.DataFrame({c: weekly(features.reset_index()[["date", c]].rename(columns={c: "value"}), grid)
                        for c in features.columns})
    out["event"] = (forward["fall"] >= RISK_HORIZON.fall).where(forward["fall"].notna())
    out["trains"] = usable(forward, grid, "train").to_numpy() & in_period(grid, "train")
    return out


def _fit(x: pd.DataFrame, y: pd.Series) -> LogisticRegression:
    return LogisticRegression(C=np.inf, max_iter=1000).fit(x.to_numpy(), y.to_numpy().astype(int))


def fit_risk(frame: pd.DataFrame, candidates: dict[str, list[str]]) -> tuple[str, tuple[float, float, float], float,
                                                                            pd.DataFrame]:
    """The 12-month risk curve, on training weeks only: each candidate feature set's leave-one-block-out log loss
    (blocks of `CV_BLOCK_YEARS` years), the smallest chosen (within `CV_TIE` the first listed, the simpler),
    refitted on all training weeks. Returns (name, (intercept, build-up coefficient, stress coefficient),
    training base rate, the cross-validation table)."""
    train = frame[frame["trains"]].dropna(subset=[c for cols in candidates.values() for c in cols] + ["event"])
    blocks = (train.index.year - train.index.year.min()) // CV_BLOCK_YEARS
    rows = []
    for name, columns in candidates.items():
        predicted = pd.Series(np.nan, index=train.index)
        for b in np.unique(blocks):
            held = blocks == b
            if train.loc[~held, "event"].nunique() < 2:
                continue
            predicted[held] = _fit(train.loc[~held, columns], train.loc[~held, "event"]).predict_proba(
                train.loc[held, columns].to_numpy())[:, 1]
        scored = predicted.notna()
        rows.append({"candidate": name, "features": " + ".join(columns), "training weeks": len(train),
                     "cv log loss": log_loss(train.loc[scored, "event"].astype(int), predicted[scored], labels=[0, 1])})
    table = pd.DataFrame(rows)
    best = table["cv log loss"].min()
    chosen = table[table["cv log loss"] <= best + CV_TIE].iloc[0]["candidate"]
    model = _fit(train[candidates[chosen]], train["event"])
    coefficients = dict(zip(candidates[chosen], model.coef_[0]))
    return (chosen, (float(model.intercept_[0]), float(coefficients.get("buildup_mac", 0.0)),
                     float(coefficients.get("stress_mac", 0.0))), float(train["event"].mean()), table)


# --- the risk reading's own scores ------------------------------------------------------------------------------

def risk_scores(risk: pd.DataFrame, spy: pd.DataFrame, grid: pd.DatetimeIndex, base_rate: float,
                period: str = "test") -> tuple[dict, pd.DataFrame]:
    """Scores of the 12-month risk (date, value = probability) on `period`'s weeks whose window is complete:
    Brier score and skill against the training base rate, AUROC and top-quintile lift with 5-95 % moving-block
    intervals, and the reliability table by decile of forecast."""
    forward = forward_fall(spy, grid, RISK_HORIZON.days)
    p = weekly(risk, grid)
    frame = pd.DataFrame({"p": p, "event": (forward["fall"] >= RISK_HORIZON.fall).where(forward["fall"].notna())})
    frame = frame[in_period(grid, period) & usable(forward, grid, period).to_numpy()].dropna()
    if frame.empty or frame["event"].nunique() < 2:
        return {"weeks": len(frame)}, pd.DataFrame()
    y, f = frame["event"].astype(int).to_numpy(), frame["p"].to_numpy()
    brier = brier_score_loss(y, f)
    reference = brier_score_loss(y, np.full(len(y), base_rate))
    top = f >= np.quantile(f, 0.8)
    enough = len(y) >= 2 * RISK_HORIZON.block_weeks  # fewer weeks than two blocks: no interval
    index = _block_indices(len(y), RISK_HORIZON.block_weeks) if enough else []
    aucs, lifts = [], []
    for i in index:  # 500 resamples of a few hundred weeks
        yi, fi, ti = y[i], f[i], top[i]
        if 0 < yi.sum() < len(yi):
            aucs.append(roc_auc_score(yi, fi))
        if ti.any() and yi.any():
            lifts.append(yi[ti].mean() / yi.mean())
    scores = {
        "weeks": len(y), "event rate": float(y.mean()), "training base rate": base_rate, "brier": float(brier),
        "brier skill vs base rate": float(1 - brier / reference), "auroc": float(roc_auc_score(y, f)),
        "auroc 5%": _interval(np.array(aucs))[0], "auroc 95%": _interval(np.array(aucs))[1],
        "top-quintile lift": float(y[top].mean() / y.mean()),
        "lift 5%": _interval(np.array(lifts))[0], "lift 95%": _interval(np.array(lifts))[1],
    }
    decile = pd.qcut(pd.Series(f).rank(method="first"), 10, labels=False)
    reliability = (pd.DataFrame({"decile": decile + 1, "forecast": f, "observed": y}).groupby("decile")
                   .agg(weeks=("observed", "size"), mean_forecast=("forecast", "mean"), observed_rate=("observed", "mean"))
                   .reset_index())
    return scores, reliability


def noise(daily: pd.DataFrame, period: str = "test") -> dict:
    """How much a daily reading (date, mac, status) moves: status changes a year, the median absolute daily
    change, and the share of days in each status, over `period`."""
    d = daily[in_period(daily["date"], period)].set_index("date")
    shares = d["status"].value_counts(normalize=True)
    return {"status changes a year": changes_a_year(d["status"].where(d["status"].isin(BAND_LABELS))),
            "median |daily change|": float(d["mac"].diff().abs().dropna().median()),  # NaN, not a warning, if none
            **{f"share {b}": float(shares.get(b, 0.0)) for b in BAND_LABELS}}


# --- the product's series, as validation reads them ---------------------------------------------------------------

MAC1 = "mac-1.x"
MAC2_STRESS = "mac-2.x stress"
MAC2_BUILDUP = "mac-2.x build-up"
MAC3_STRESS = "mac-3.0 stress"
MAC3_RISK = "mac-3.0 12-month risk"
EXTENDED = "extended MAC"
STLFSI4 = "STLFSI4 (benchmark)"
NFCI = "NFCI (benchmark)"
NAIVE = "naive index (VIX, HY OAS)"
NAIVE_INPUTS = ("s_vix", "s_hy_oas")


def readings(composite: pd.DataFrame, mac2: pd.DataFrame, mac3: pd.DataFrame | None,
             extended: pd.DataFrame | None) -> dict[str, pd.DataFrame]:
    """The product's readings as date/value frames (every one: low = stress or risk)."""
    out = {MAC1: composite[["date", "mac"]].rename(columns={"mac": "value"}),
           MAC2_STRESS: mac2[["date", "stress_mac"]].rename(columns={"stress_mac": "value"}),
           MAC2_BUILDUP: mac2[["date", "buildup_mac"]].rename(columns={"buildup_mac": "value"})}
    if mac3 is not None and len(mac3):
        out[MAC3_STRESS] = mac3[["date", "stress_mac"]].rename(columns={"stress_mac": "value"})
        out[MAC3_RISK] = mac3[["date"]].assign(value=1 - mac3["risk_12m"])
    if extended is not None and len(extended):
        out[EXTENDED] = extended[["date", "mac_extended"]].rename(columns={"mac_extended": "value"})
    return out


def baselines(mac2_indicators: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """Every input of the stress readings alone (one minus its point-in-time stress percentile) and the naive
    index, the mean of VIX's and HY OAS's percentiles: the simplest rivals a composite must beat."""
    stress = mac2_indicators[mac2_indicators["reading"] == "stress"].pivot(index="date", columns="indicator",
                                                                         values="stress")
    out = {f"{i} alone": pd.DataFrame({"date": stress.index, "value": 1 - stress[i].to_numpy()}) for i in stress.columns}
    if set(NAIVE_INPUTS) <= set(stress.columns):
        naive = stress[list(NAIVE_INPUTS)].mean(axis=1, skipna=False)
        out[NAIVE] = pd.DataFrame({"date": stress.index, "value": 1 - naive.to_numpy()})
    return out


def frozen_choices() -> pd.DataFrame:
    """Every tunable choice of mac-2.x, mac-3.0 and this protocol: its value, and whether and where it was fitted."""
    fitted = "fitted on training years 1997-2014 of ../shared/validation/raw (scripts/fit_mac3.py)"
    bands = "; ".join(f"{name}: {', '.join(f'{c:.3f}' for c in b.cuts)} ({b.quiet_days} quiet days)"
                      for name, b in t.READING_BANDS.items())
    rows = [
        ("mac-3.0 stress aggregation", t.MAC3_STRESS_AGGREGATION,
         f"{fitted}, from {', '.join(t.STRESS_AGGREGATIONS)} by pairwise wins on training weeks"),
        ("status band cut points (stress) and quiet days", bands,
         f"{fitted}: the {', '.join(f'{q:.0%}' for q in t.BAND_QUANTILES)} quantiles of training days; the smallest of "
         f"{', '.join(map(str, t.QUIET_DAYS_GRID))} quiet days with at most {t.MAX_STATUS_CHANGES_A_YEAR} changes a "
         f"year (mac-2.1 stress's after the test table: the headline stayed mac-2.1 by the rule)"),
        ("12-month risk curve (intercept, build-up, stress)", ", ".join(f"{c:.3f}" for c in t.MAC3_RISK_COEFFICIENTS),
         f"{fitted}: logistic, features chosen by leave-one-block-out log loss"),
        ("12-month risk base rate", f"{t.MAC3_RISK_BASE_RATE:.3f}", f"{fitted}: the training weeks' event rate"),
        ("stress-weight exponent q (mac-2.x)", f"{t.MAC2_STRESS_WEIGHT_EXPONENT:g}",
         "a priori (mac-2.0's value; its 2007-2014 fit did not decide it: every candidate detected 0 of 7)"),
        ("minimum history before an indicator is scored", f"{t.MAC2_MIN_HISTORY_DAYS} business days", "a priori (a year)"),
        ("reference start of every percentile", str(REFERENCE_START), "a priori (VIX's first year)"),
        ("stress of a pillar without any input", f"{t.MAC2_MISSING_PILLAR_STRESS:g}", "a priori (the median, by construction)"),
        ("smallest measured share of a published reading", f"{t.MIN_COVERAGE:g}", "a priori"),
        ("indicators, their readings, pillars and directions", f"{len(t.MAC2_INDICATORS)} rows",
         "a priori (thresholds.py), written after the real history had been run (README)"),
        ("test period", f"from {TEST_START.date()}", "a priori"),
        ("thresholds", f"expanding 10th / 20th percentiles after {MIN_WEEKS} weeks", "a priori"),
        ("episode window", f"{EPISODE_WINDOW_WEEKS[0]} weeks before to {EPISODE_WINDOW_WEEKS[1]} after", "a priori"),
        ("forward events", "; ".join(f"SPY {h.fall:.0%} below within {h.days} business days" for h in HORIZONS),
         "a priori (docs/preregistration-v2.md)"),
        ("bootstrap", f"{BOOTSTRAP_SAMPLES} resamples of blocks as long as the horizon", "a priori"),
        ("headline rule", "challenger better on ≥ 3 of: " + ", ".join(HEADLINE_METRICS), "a priori"),
    ]
    return pd.DataFrame(rows, columns=["choice", "value", "how it was set"])


# The pairs the report judges by the headline rule: (challenger, incumbent), the first decides mac-3.0's place.
VERDICTS: tuple[tuple[str, str], ...] = (
    (MAC3_STRESS, MAC2_STRESS), (MAC3_STRESS, "s_vix alone"), (MAC3_STRESS, NAIVE), (MAC3_STRESS, STLFSI4),
    (MAC3_STRESS, NFCI), (MAC2_STRESS, MAC1), (MAC2_STRESS, "s_vix alone"),
)


def verdicts(table: pd.DataFrame) -> pd.DataFrame:
    """The headline rule for each pair of `VERDICTS` on the test years."""
    rows = []
    for challenger, incumbent in VERDICTS:
        wins, won = beats(table, challenger, incumbent)
        rows.append({"challenger": challenger, "incumbent": incumbent, "test metrics won": len(won),
                     "which": ", ".join(won) or "none", "beats": wins})
    return pd.DataFrame(rows)


def tables(mac1: pd.DataFrame, mac2: pd.DataFrame, mac2_indicators: pd.DataFrame, mac3: pd.DataFrame,
           extended: pd.DataFrame | None, stlfsi4: pd.DataFrame, nfci: pd.DataFrame,
           spy: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """Every table of protocol v2 from the stored readings: the metrics of every series (train and test), the
    verdicts, the 12-month risk's scores and reliability, and the noise and band shares of the stress readings; none
    when no series overlaps the benchmarks for ten weeks."""
    inputs = Inputs(readings(mac1, mac2, mac3, extended), stlfsi4, nfci, spy, baselines(mac2_indicators))
    table = metrics(inputs)
    if table.empty:  # no series has ten weeks beside the benchmarks: nothing to judge
        return {}
    risk = mac3[["date"]].assign(value=mac3["risk_12m"])
    scores, reliability = {}, {}
    for period in ("train", "test"):
        scores[period], reliability[period] = risk_scores(risk, spy, inputs.grid(), t.MAC3_RISK_BASE_RATE, period)
    stress3 = mac3[["date", "stress_mac", "stress_status"]].rename(columns={"stress_mac": "mac", "stress_status": "status"})
    buildup3 = mac3[["date", "buildup_mac", "buildup_status"]].rename(columns={"buildup_mac": "mac",
                                                                               "buildup_status": "status"})
    stress2 = mac2[["date", "stress_mac", "stress_status"]].rename(columns={"stress_mac": "mac", "stress_status": "status"})
    noisy = pd.DataFrame([{"reading": name, "period": period, **noise(daily, period)}
                          for name, daily in ((MAC3_STRESS, stress3), ("mac-3.0 build-up", buildup3), (MAC2_STRESS, stress2))
                          for period in ("train", "test")])
    return {
        "metrics": table, "verdicts": verdicts(table),
        "risk scores": pd.DataFrame([{"period": p, **scores[p]} for p in scores]),
        "risk reliability (test)": reliability["test"], "noise and band shares": noisy,
    }

"""Derived metrics of the extension (docs/extension.md): yen carry, cross-asset correlation, compression.

Same contract as `derived.metrics`: pure, vectorised, point in time. Each output row carries the
`available_date` of the latest input it used, and nothing here reads a value before it was public.
Two of these metrics keep extra columns next to `value` (the pairwise correlations; the compression
state and every leverage input), so an analyst can see exactly what moved a reading.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from mac_assets.catalog import SERIES_BY_ID
from mac_assets.derived.frames import metric_rows, prior, same_date
from mac_assets.derived.metrics import CORE_METRICS, DerivedMetric, Frames, rolling_corr
from mac_assets.pointintime import known_on

# --- Yen carry ---------------------------------------------------------------------------------------

JAPAN_RATE = "IRSTCI01JPM156N"
REALISED_VOL_WINDOW = 60  # business days of USD/JPY log returns
TRADING_DAYS_PER_YEAR = 252


def us_japan_rate_diff_bps(f: Frames) -> pd.DataFrame:
    """Fed funds minus the latest Japanese call rate *published by* each Fed funds observation, in bps.

    The Japanese rate is a monthly average public about ten weeks after the month starts; joining on
    publication dates uses the newest published month, never one still in the OECD's pipeline.
    """
    dff = f["DFF"].sort_values("available_date")
    japan = f[JAPAN_RATE][["date", "value", "available_date"]].rename(
        columns={"date": "japan_obs", "value": "japan", "available_date": "japan_available"}
    ).sort_values("japan_available")
    m = pd.merge_asof(dff, japan, left_on="available_date", right_on="japan_available", direction="backward")
    stale = (m["date"] - m["japan_obs"]).dt.days > SERIES_BY_ID[JAPAN_RATE].stale_after_days
    m.loc[stale, "japan"] = np.nan
    return metric_rows(m.assign(value=(m["value"] - m["japan"]) * 100))


def realised_vol_pct(prices: pd.DataFrame, window: int = REALISED_VOL_WINDOW) -> pd.DataFrame:
    """Annualised standard deviation of daily log returns over each trailing window, window by window."""
    prices = prices.sort_values("date")
    returns = np.log(prices["value"].to_numpy(dtype=float))
    returns = np.diff(returns, prepend=np.nan)
    out = np.full(len(returns), np.nan)
    if len(returns) >= window:
        windows = np.lib.stride_tricks.sliding_window_view(returns, window)
        out[window - 1:] = np.std(windows, axis=1, ddof=1) * np.sqrt(TRADING_DAYS_PER_YEAR) * 100
    return prices.assign(value=out)


def carry_to_vol(f: Frames) -> pd.DataFrame:
    """US-Japan rate differential (percent) over realised USD/JPY volatility (annualised percent).

    The carry trader's Sharpe-like ratio: high means borrowing yen to hold dollars pays well for the
    currency risk taken, which is when the trade gets crowded.
    """
    vol = realised_vol_pct(f["DEXJPUS"])
    diff = us_japan_rate_diff_bps(f).sort_values("date")
    m = pd.merge_asof(vol.sort_values("date"), diff, on="date", direction="backward", suffixes=("", "_diff"),
                      tolerance=pd.Timedelta(days=7))
    m["available_date"] = m[["available_date", "available_date_diff"]].max(axis=1)
    return metric_rows(m.assign(value=m["value_diff"] / 100 / m["value"]))


YEN_MOVE_DAYS = 14


def yen_move_14d_pct(f: Frames) -> pd.DataFrame:
    """How much the yen gained against the dollar over 14 days (positive = yen stronger): the unwind signal."""
    m = prior(f["DEXJPUS"], days=YEN_MOVE_DAYS, tolerance_days=5)
    return metric_rows(m.assign(value=(m["prior"] / m["value"] - 1) * 100))


# --- Cross-asset correlation -------------------------------------------------------------------------

# The channels the essay names, each as (label, series, how a move is measured, sign that makes a
# positive move a stress move). Treasury *selling* (yields up) is the stress direction here, because
# the essay's channel is forced selling of Treasuries (March 2020, April 2025), not a flight to them.
CROSS_ASSET_CHANNELS: tuple[tuple[str, str, str, int], ...] = (
    ("yen", "DEXJPUS", "log", -1),
    ("ust10y", "DGS10", "diff", +1),
    ("equities", "SPY", "log", -1),
    ("btc", "BTC-USD", "log", -1),
    ("hy_credit", "BAMLH0A0HYM2", "diff", +1),
)
MIN_PAIRS = 3
# Twenty trading days: the essay's point is that correlations *jump*; a 60-day window (used for
# BTC-SPY) lags a jump by weeks. On the validation data 20 days roughly doubles the episode peaks.
CROSS_ASSET_WINDOW = 20


def _stress_moves(values: pd.Series, how: str, sign: int) -> pd.Series:
    moves = np.log(values).diff() if how == "log" else values.diff()
    return sign * moves


def _pair_correlation(f: Frames, a: tuple, b: tuple) -> pd.DataFrame:
    """Rolling correlation of two channels' stress moves on the dates both were observed."""
    m = same_date(f[a[1]], f[b[1]]).sort_values("date")
    left = _stress_moves(m["left"], a[2], a[3]).to_numpy()
    right = _stress_moves(m["right"], b[2], b[3]).to_numpy()
    return m[["date", "available_date"]].assign(value=rolling_corr(left, right, CROSS_ASSET_WINDOW))


def cross_asset_corr(f: Frames) -> pd.DataFrame:
    """Average pairwise 20-observation correlation of stress-direction moves across the five channels, as
    known on each day.

    Each pair's correlation uses the dates both markets traded and is public once both inputs are. A
    day's row averages every pair's latest correlation public *that day* (needing three pairs, none
    older than the slowest channel's staleness limit): the yen, published a week late, joins the average
    when it is public, so a day's value never changes when later data arrives. Rows are dated on the
    day they are known; the pairwise correlations are kept as `corr_<a>_<b>` columns.
    """
    channels = CROSS_ASSET_CHANNELS
    pairs = {f"corr_{a[0]}_{b[0]}": _pair_correlation(f, a, b).dropna(subset=["value"])
             for i, a in enumerate(channels) for b in channels[i + 1:]}
    known = [p["available_date"] for p in pairs.values() if len(p)]
    days = pd.DatetimeIndex(pd.concat(known).drop_duplicates().sort_values() if known else [], dtype="datetime64[ns]")
    stale = max(SERIES_BY_ID[c[1]].stale_after_days for c in channels)
    wide = pd.DataFrame({"date": days, "available_date": days})
    for name, pair in pairs.items():
        wide[name] = known_on(days, pair, stale)["value"].to_numpy() if len(pair) else np.nan
    # numpy on a fixed-order, contiguous array: pandas' row mean can sum in an order that depends on how
    # the frame's blocks were built, which would change last digits between a one-year and a full run.
    values = np.ascontiguousarray(wide[list(pairs)].to_numpy(dtype=float))
    count = np.sum(~np.isnan(values), axis=1)
    wide["pairs"] = count
    with np.errstate(invalid="ignore", divide="ignore"):
        wide["value"] = np.where(count >= MIN_PAIRS, np.nansum(values, axis=1) / count, np.nan)
    return metric_rows(wide, extra=("pairs", *pairs))


# --- Compression ---------------------------------------------------------------------------------------
# Parameters of the compression state (docs/extension.md explains each). Judgment, not estimates:
# changing one is a methodology change.
SHOCK_VIX_FLOOR = 20.0  # VIX at or below this is no shock
SHOCK_VIX_FULL = 40.0  # VIX at or above this is a full shock (1.0)
DELEVERAGE_HORIZON_DAYS = 91  # leverage change is measured over 13 weeks
FULL_DELEVERAGE = 0.20  # a 20 % fall in a leverage measure counts as full deleveraging
HALF_LIFE_WEEKS = 52  # absorbed stress fades by half in a year when nothing else happens
RELEASE_PER_WEEK = 0.20  # share of the state released per week of full deleveraging
MEMORY_WEEKS = 208  # four years of weeks enter the state; older weeks weigh < 7 %
MIN_HISTORY_WEEKS = 52  # weeks of state before a normalised reading is published

# Leverage measures: label → a core derived metric (its formula and inputs come from there) or a raw series.
LEVERAGE_MEASURES: dict[str, DerivedMetric | str] = {
    m.name: m for m in CORE_METRICS if m.name in ("basis_trade_bn", "margin_debt_ratio_pct", "crypto_oi_total_bn")
} | {
    "svxy_aum": "SVXY_AUM",
    "hf_leverage_ratio": "FPF-ALLQHF_LEVERAGERATIO_GAVWMEAN",
    "hf_repo_borrowing": "FPF-BORROW_REPO_SUM",
}


def leverage_inputs(measure: DerivedMetric | str) -> tuple[str, ...]:
    """The raw series a leverage measure is built from."""
    return measure.inputs if isinstance(measure, DerivedMetric) else (measure,)


def _weekly_shock(vix: pd.DataFrame) -> pd.DataFrame:
    """Mean daily shock per calendar week, dated on the week's Friday and public once the week is over.

    A week still in progress has no row anyone may use: a reading made on a Tuesday from two days of
    VIX would be restated on Friday, so a day's score would depend on when it was computed.
    """
    daily = vix[["date", "value", "available_date"]].dropna().sort_values("date")
    shock = ((daily["value"] - SHOCK_VIX_FLOOR) / (SHOCK_VIX_FULL - SHOCK_VIX_FLOOR)).clip(0, 1)
    week = daily["date"].dt.to_period("W-FRI")
    g = daily.assign(shock=shock).groupby(week)
    friday = pd.DatetimeIndex(g.size().index.end_time.normalize())
    return pd.DataFrame({"date": friday, "available_date": np.maximum(friday, g["available_date"].max().to_numpy()),
                         "shock": g["shock"].mean().to_numpy()}).reset_index(drop=True)


def _leverage_changes(f: Frames, dates: pd.DatetimeIndex) -> pd.DataFrame:
    """Each leverage measure's change over 13 weeks as known on each date (value / value 13 weeks before − 1)."""
    changes = {}
    for name, measure in LEVERAGE_MEASURES.items():
        inputs = leverage_inputs(measure)
        if any(i not in f or f[i].empty for i in inputs):
            continue
        series = measure.compute(f) if isinstance(measure, DerivedMetric) else f[measure]
        if series.empty:
            continue
        # A measure is as stale as its slowest ingredient.
        stale = max(SERIES_BY_ID[i].stale_after_days for i in inputs)
        now = known_on(dates, series, stale)["value"].to_numpy()
        before = known_on(dates - pd.Timedelta(days=DELEVERAGE_HORIZON_DAYS), series, stale)["value"].to_numpy()
        with np.errstate(invalid="ignore", divide="ignore"):
            changes[name] = np.where(before > 0, now / before - 1, np.nan)
    return pd.DataFrame(changes, index=dates)


def _decayed_sums(x: np.ndarray, log_keep: np.ndarray, memory: int) -> np.ndarray:
    """C_w = Σ_{u in last `memory` weeks} x_u · exp(Σ_{m=u+1..w} log_keep_m), window by window.

    The recursion C_w = keep_w · C_{w-1} + x_w truncated to a fixed memory, so a reading depends only
    on its own four years and not on where the loaded history happens to start.
    """
    if not len(x):
        return np.array([], dtype=float)
    pad = np.zeros(memory - 1)  # weeks before the history: nothing absorbed
    cum = np.concatenate([pad, np.cumsum(log_keep)])  # Σ log_keep up to and including each week
    x_win = np.lib.stride_tricks.sliding_window_view(np.concatenate([pad, x]), memory)
    c_win = np.lib.stride_tricks.sliding_window_view(cum, memory)
    return (x_win * np.exp(c_win[:, -1:] - c_win)).sum(axis=1)


def expanding_percentile(values: np.ndarray, min_count: int) -> np.ndarray:
    """Share (0-100) of all values up to and including each one that are <= it; needs `min_count` values."""
    v = values.astype(float)
    ok = ~np.isnan(v)
    out = np.full(len(v), np.nan)
    seen = v[ok]
    if not len(seen):
        return out
    lower = np.tril(seen[None, :] <= seen[:, None])  # [i, j]: j <= i in time and value_j <= value_i
    count = np.arange(1, len(seen) + 1)
    pct = lower.sum(axis=1) / count * 100
    out[np.flatnonzero(ok)] = np.where(count >= min_count, pct, np.nan)
    return out


def expanding_zscore(values: np.ndarray, min_count: int) -> np.ndarray:
    """(value − mean of all values so far) / their standard deviation; needs `min_count` values."""
    s = pd.Series(values.astype(float))
    mean = s.expanding(min_periods=min_count).mean()
    std = s.expanding(min_periods=min_count).std()
    return ((s - mean) / std.where(std > 0)).to_numpy()


def compression_index(f: Frames) -> pd.DataFrame:
    """Stress absorbed without deleveraging, as a percentile of its own history (value, 0-100).

    Weekly: shock_w (VIX above 20, scaled to 1 at 40) adds to the state in proportion to the
    leverage that did *not* come down over 13 weeks; the state fades with a one-year half-life and is
    released faster while leverage measures fall. The raw state, its expanding z-score, the weekly
    shock and deleveraging and every measure's 13-week change are kept as columns.
    """
    weeks = _weekly_shock(f["VIX"])
    dates = pd.DatetimeIndex(weeks["date"])
    changes = _leverage_changes(f, dates)
    deleveraging_each = (-changes / FULL_DELEVERAGE).clip(0, 1)
    measures = changes.notna().sum(axis=1).to_numpy()
    deleveraging = deleveraging_each.mean(axis=1).to_numpy() if len(changes.columns) else np.full(len(weeks), np.nan)
    known = measures > 0
    x = np.where(known, weeks["shock"].to_numpy() * (1 - np.nan_to_num(deleveraging)), 0.0)
    keep = np.log(0.5) / HALF_LIFE_WEEKS + np.log1p(-RELEASE_PER_WEEK * np.nan_to_num(deleveraging))
    state = np.where(known, _decayed_sums(x, keep, MEMORY_WEEKS), np.nan)
    out = weeks.assign(
        value=expanding_percentile(state, MIN_HISTORY_WEEKS),
        compression_raw=state,
        compression_z=expanding_zscore(state, MIN_HISTORY_WEEKS),
        deleveraging=np.where(known, deleveraging, np.nan),
        measures=measures,
    )
    change_cols = []
    for name in changes.columns:
        change_cols.append(f"{name}_13w_change_pct")
        out[change_cols[-1]] = changes[name].to_numpy() * 100
    return metric_rows(out, extra=("compression_raw", "compression_z", "shock", "deleveraging", "measures", *change_cols))


COMPRESSION_LOOKBACK_DAYS = 100 * 366  # the normalisation is expanding: read the whole stored history
WEEKLY_ROW_STALE_AFTER_DAYS = 7 + 4  # one row a week, plus a holiday's grace

EXTENSION_METRICS: tuple[DerivedMetric, ...] = (
    DerivedMetric(name="us_japan_rate_diff_bps", inputs=("DFF", JAPAN_RATE), units="bps",
                  description="Fed funds minus the latest published Japanese call rate.",
                  compute=us_japan_rate_diff_bps),
    DerivedMetric(name="carry_to_vol", inputs=("DFF", JAPAN_RATE, "DEXJPUS"), units="ratio",
                  description="US-Japan rate differential over 60-day realised USD/JPY volatility (both annual %).",
                  compute=carry_to_vol, window_days=100, stale_after=SERIES_BY_ID["DEXJPUS"].stale_after_days),
    DerivedMetric(name="yen_move_14d_pct", inputs=("DEXJPUS",), units="%",
                  description="Yen appreciation against the dollar over 14 days (positive = yen stronger).",
                  compute=yen_move_14d_pct, window_days=25),
    DerivedMetric(name="cross_asset_corr", inputs=tuple(c[1] for c in CROSS_ASSET_CHANNELS), units="correlation",
                  description="Average pairwise 20-day correlation of stress-direction moves: yen, 10y yield, S&P 500, "
                  "bitcoin, HY spread.",
                  compute=cross_asset_corr, window_days=60, stale_after=SERIES_BY_ID["DEXJPUS"].stale_after_days),
    DerivedMetric(name="compression_index",
                  inputs=("VIX", *sorted({i for m in LEVERAGE_MEASURES.values() for i in leverage_inputs(m)})),
                  units="percentile of own history",
                  description="Stress absorbed without deleveraging (weekly state), as an expanding percentile.",
                  compute=compression_index, window_days=COMPRESSION_LOOKBACK_DAYS,
                  stale_after=WEEKLY_ROW_STALE_AFTER_DAYS),
)

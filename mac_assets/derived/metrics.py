"""Derived metrics: spreads, ratios, changes, correlations and the basis-trade estimate.

Every function is pure and vectorised. Inputs are frames with `date` (observation date), `value`
and `available_date` (the day the value became public); outputs have the same three columns. The
`available_date` of a derived row is the latest availability of the inputs it used, so scores that
join on it never see a number before all of its ingredients were published.

`CORE_METRICS` lists them; `derived.registry` adds the extension's and is what the asset factory reads.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from mac_assets.catalog import SERIES_BY_ID, TREASURY_FUTURES_FACE_USD, Series
from mac_assets.derived.frames import metric_rows, prior, same_date
from mac_assets.pointintime import newest_first_published

Frames = dict[str, pd.DataFrame]

# Binance's assumed share of global crypto futures open interest (seed spec: ~35 %).
BINANCE_OI_SHARE = 0.35


def reserve_rate(iorb: pd.DataFrame, ioer: pd.DataFrame) -> pd.DataFrame:
    """The Fed's rate on reserves: IORB from July 2021, IOER before (IORB wins on any shared date)."""
    parts = [f.assign(_rank=rank) for rank, f in enumerate((iorb, ioer)) if len(f)]
    if not parts:
        return iorb
    both = pd.concat(parts)
    both = both.sort_values(["date", "_rank"]).drop_duplicates("date", keep="first")
    return both.drop(columns="_rank").reset_index(drop=True)


def sofr_iorb_spread_bps(f: Frames) -> pd.DataFrame:
    sofr = f["SOFR"].sort_values("date")
    reserve = reserve_rate(f["IORB"], f["IOER"]).sort_values("date")
    merged = pd.merge_asof(
        sofr, reserve[["date", "value", "available_date"]], on="date", direction="backward",
        suffixes=("", "_reserve"), tolerance=pd.Timedelta(days=7),
    )
    merged["value"] = (merged["value"] - merged["value_reserve"]) * 100
    merged["available_date"] = merged[["available_date", "available_date_reserve"]].max(axis=1)
    return metric_rows(merged)


def cp_tbill_spread_bps(f: Frames) -> pd.DataFrame:
    m = same_date(f["DCPF3M"], f["DTB3"])
    return metric_rows(m.assign(value=(m["left"] - m["right"]) * 100))


RRP_MEDIAN_DAYS = 7


def rrp_drawdown_30d_bn(f: Frames) -> pd.DataFrame:
    """How far ON RRP usage fell over the last 30 days (positive = drained), in $bn.

    Both ends are the median of the observations of the last seven calendar days (five business days),
    because usage spikes for a day or two at quarter and year ends (window dressing) and falls back at
    once: a raw 30-day difference taken from such a day reads the reversal as a drain. A median over
    calendar days depends only on its own week, whatever history a run loads.
    """
    rrp = f["RRPONTSYD"].sort_values("date")
    median = rrp.set_index("date")["value"].rolling(f"{RRP_MEDIAN_DAYS}D").median().to_numpy()
    smooth = rrp.assign(value=median)
    m = prior(smooth, days=30, tolerance_days=7)
    return metric_rows(m.assign(value=m["prior"] - m["value"]))


def gamma_ratio(f: Frames) -> pd.DataFrame:
    m = same_date(f["VIX9D"], f["VIX"])
    return metric_rows(m.assign(value=m["left"] / m["right"]))


def term_slope(f: Frames) -> pd.DataFrame:
    m = same_date(f["VIX"], f["VIX3M"])
    return metric_rows(m.assign(value=m["left"] / m["right"]))


def margin_debt_ratio_pct(f: Frames) -> pd.DataFrame:
    m = same_date(f["BOGZ1FL663067003Q"], f["NCBEILQ027S"])
    return metric_rows(m.assign(value=m["left"] / m["right"] * 100))


def _treasury_notional(cftc: pd.DataFrame) -> pd.DataFrame:
    """Leveraged funds' long and short Treasury futures positions at face value, per report row."""
    face = cftc["contract_code"].map(TREASURY_FUTURES_FACE_USD)
    known = cftc[face.notna()]
    face = face[face.notna()]
    return pd.DataFrame({
        "date": known["date"],
        "available_date": known["available_date"],
        "long_usd": known["lev_money_long"].astype(float) * face,
        "short_usd": known["lev_money_short"].astype(float) * face,
    })


def basis_trade_bn(f: Frames) -> pd.DataFrame:
    """Sum over the six contracts of leveraged funds' net short at face value, in $bn.

    A contract where leveraged funds are net long adds nothing: the basis trade is the short leg.
    """
    n = _treasury_notional(f["CFTC_TFF_UST"])
    n["net_short"] = (n["short_usd"] - n["long_usd"]).clip(lower=0)
    g = n.groupby("date").agg(value=("net_short", "sum"), available_date=("available_date", "max"))
    return metric_rows(g.reset_index().assign(value=lambda d: d["value"] / 1e9))


SPEC_PERCENTILE_WEEKS = 52


def trailing_percentile(dates: pd.Series, values: np.ndarray, days: int, min_count: int) -> np.ndarray:
    """Share (0-100) of the values observed in the last `days` calendar days, current included, that are <=
    the current one; missing where fewer than `min_count` observations fall in that window.

    Calendar time, not a count of rows: across a gap in the history the window holds fewer rows (and
    no reading once too few remain), instead of reaching back to rows from years before.
    """
    if not len(values):
        return np.array([], dtype=float)
    t = dates.to_numpy(dtype="datetime64[ns]")
    v = values.astype(float)
    in_window = (t[None, :] <= t[:, None]) & (t[None, :] > t[:, None] - np.timedelta64(days, "D"))
    count = in_window.sum(axis=1)
    at_or_below = (in_window & (v[None, :] <= v[:, None])).sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(count >= min_count, at_or_below / count * 100, np.nan)


def spec_net_percentile(f: Frames) -> pd.DataFrame:
    """Percentile (0-100) of leveraged funds' aggregate net Treasury position among the reports of the
    last 52 weeks (364 days); half of them must be there.

    The window ends at the current report, so no later report can move a past value.
    """
    n = _treasury_notional(f["CFTC_TFF_UST"])
    n["net"] = n["long_usd"] - n["short_usd"]
    g = n.groupby("date").agg(net=("net", "sum"), available_date=("available_date", "max")).reset_index()
    rank = trailing_percentile(g["date"], g["net"].to_numpy(), 7 * SPEC_PERCENTILE_WEEKS, SPEC_PERCENTILE_WEEKS // 2)
    return metric_rows(g.assign(value=rank))


def levetf_aum_yoy_pct(f: Frames) -> pd.DataFrame:
    m = prior(f["LEVETF_AUM"], days=365, tolerance_days=7)
    return metric_rows(m.assign(value=(m["value"] / m["prior"] - 1) * 100))


def fed_bs_gdp_pct(f: Frames) -> pd.DataFrame:
    """Fed total assets over the latest GDP *published by* each balance-sheet release.

    Joining on publication (not observation) dates keeps the quarter's GDP out of the ratio until the
    BEA has released it, about four months after the quarter starts.
    """
    walcl = f["WALCL"].sort_values("available_date")
    gdp = newest_first_published(f["GDP"])[["available_date", "value"]].rename(columns={"value": "gdp"})
    m = pd.merge_asof(walcl, gdp, on="available_date", direction="backward")
    return metric_rows(m.assign(value=m["value"] / 1000 / m["gdp"] * 100))


def core_pce_yoy_pct(f: Frames) -> pd.DataFrame:
    m = prior(f["PCEPILFE"], days=365, tolerance_days=5)
    return metric_rows(m.assign(value=(m["value"] / m["prior"] - 1) * 100))


CORRELATION_WINDOW = 60


def rolling_corr(x: np.ndarray, y: np.ndarray, window: int) -> np.ndarray:
    """Pearson correlation over each trailing window, computed window by window.

    pandas' rolling correlation keeps running sums, so its last digits depend on where the loaded
    history starts; here each value depends only on its own window, so a one-year run and a
    twenty-year run store identical numbers.
    """
    out = np.full(len(x), np.nan)
    if len(x) < window:
        return out
    xs = np.lib.stride_tricks.sliding_window_view(x, window)
    ys = np.lib.stride_tricks.sliding_window_view(y, window)
    xd = xs - xs.mean(axis=1, keepdims=True)
    yd = ys - ys.mean(axis=1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        out[window - 1:] = (xd * yd).sum(axis=1) / np.sqrt((xd**2).sum(axis=1) * (yd**2).sum(axis=1))
    return out


def btc_spy_corr_60d(f: Frames) -> pd.DataFrame:
    """60-observation correlation of daily BTC and SPY returns on the days both traded."""
    m = same_date(f["BTC-USD"], f["SPY"]).sort_values("date")
    returns = m[["left", "right"]].pct_change()
    corr = rolling_corr(returns["left"].to_numpy(), returns["right"].to_numpy(), CORRELATION_WINDOW)
    return metric_rows(m.assign(value=corr))


def crypto_oi_total_bn(f: Frames) -> pd.DataFrame:
    """BTC + ETH perpetual open interest on Binance, scaled to the whole market by Binance's share."""
    m = same_date(f["BTCUSDT_OI"], f["ETHUSDT_OI"])
    return metric_rows(m.assign(value=(m["left"] + m["right"]) / BINANCE_OI_SHARE / 1e9))


def hy_oas_30d_change_bps(f: Frames) -> pd.DataFrame:
    m = prior(f["BAMLH0A0HYM2"], days=30, tolerance_days=7)
    return metric_rows(m.assign(value=(m["value"] - m["prior"]) * 100))


def dollar_3m_change_pct(f: Frames) -> pd.DataFrame:
    m = prior(f["DTWEXBGS"], days=91, tolerance_days=7)
    return metric_rows(m.assign(value=(m["value"] / m["prior"] - 1) * 100))


def btc_reserve_30d_change_pct(f: Frames) -> pd.DataFrame:
    m = prior(f["BTC_EXCHANGE_RESERVE"], days=30, tolerance_days=7)
    return metric_rows(m.assign(value=(m["value"] / m["prior"] - 1) * 100))


def _window_stat(values: np.ndarray, window: int, stat) -> np.ndarray:
    """`stat` (np.mean, np.max, a std) over each trailing window of observations, window by window (no
    running sums), so a value depends only on its own window whatever history is loaded."""
    out = np.full(len(values), np.nan)
    if len(values) >= window:
        out[window - 1:] = stat(np.lib.stride_tricks.sliding_window_view(values.astype(float), window), axis=1)
    return out


DRAWDOWN_DAYS = 252  # trading days: the one-year high an equity drawdown is measured from
RATES_VOL_DAYS = 20
VIX_MEAN_DAYS = 63  # a quarter of trading days


def spy_drawdown_pct(f: Frames) -> pd.DataFrame:
    """How far the S&P 500 ETF closes below its highest close of the last year, in % (0 at a new high)."""
    spy = f["SPY"].sort_values("date")
    high = _window_stat(spy["value"].to_numpy(), DRAWDOWN_DAYS, np.max)
    return metric_rows(spy.assign(value=(1 - spy["value"] / high) * 100))


def ust10y_realised_vol_bps(f: Frames) -> pd.DataFrame:
    """Standard deviation of daily 10-year yield changes over 20 trading days, in bps."""
    dgs = f["DGS10"].sort_values("date")
    changes = dgs["value"].diff().to_numpy() * 100
    return metric_rows(dgs.assign(value=_window_stat(changes, RATES_VOL_DAYS, lambda w, axis: np.std(w, axis=axis, ddof=1))))


def vix_3m_mean(f: Frames) -> pd.DataFrame:
    """Mean VIX close over the last 63 trading days: how calm the last quarter was."""
    vix = f["VIX"].sort_values("date")
    return metric_rows(vix.assign(value=_window_stat(vix["value"].to_numpy(), VIX_MEAN_DAYS, np.mean)))


@dataclass(frozen=True)
class DerivedMetric:
    """A derived metric: its raw inputs, how much history before a partition it reads, and its formula.

    `window_days` is the look-back the formula itself needs (rolling windows, year-on-year changes);
    each input is read with that plus the input's own staleness limit, so an as-of join at the start of
    a partition still finds the latest value published before it.
    """

    name: str
    inputs: tuple[str, ...]
    units: str
    description: str
    compute: Callable[[Frames], pd.DataFrame]
    window_days: int = 0
    stale_after: int = 0

    @property
    def input_series(self) -> tuple[Series, ...]:
        return tuple(SERIES_BY_ID[i] for i in self.inputs)

    @property
    def tier(self) -> int:
        return max(s.tier for s in self.input_series)

    def lookback_days(self, series: Series) -> int:
        """Calendar days of `series` read before a partition: the formula's window plus the input's staleness limit."""
        return self.window_days + series.stale_after_days

    @property
    def stale_after_days(self) -> int:
        """How old a row may be before scores stop using it.

        By default a derived row is as fresh as its most frequently updated ingredient allows. A metric
        whose rows are dated by a slower or later-published input (a weekly state, a series with a
        week's publication lag) declares its own `stale_after`.
        """
        return self.stale_after or min(s.stale_after_days for s in self.input_series)


CORE_METRICS: tuple[DerivedMetric, ...] = (
    DerivedMetric(name="spy_drawdown_pct", inputs=("SPY",), units="% below the one-year high",
                  description="S&P 500 ETF below its highest close of the last 252 trading days.",
                  compute=spy_drawdown_pct, window_days=380),
    DerivedMetric(name="ust10y_realised_vol_bps", inputs=("DGS10",), units="bps per day",
                  description="Standard deviation of daily 10-year Treasury yield changes over 20 trading days.",
                  compute=ust10y_realised_vol_bps, window_days=40),
    DerivedMetric(name="vix_3m_mean", inputs=("VIX",), units="index points",
                  description="Mean VIX close over the last 63 trading days.", compute=vix_3m_mean, window_days=100),
    DerivedMetric(name="sofr_iorb_spread_bps", inputs=("SOFR", "IORB", "IOER"), units="bps",
                  description="SOFR minus the reserve rate (IORB, IOER before 2021-07-29).",
                  compute=sofr_iorb_spread_bps),
    DerivedMetric(name="cp_tbill_spread_bps", inputs=("DCPF3M", "DTB3"), units="bps",
                  description="3-month financial commercial paper minus 3-month T-bill.",
                  compute=cp_tbill_spread_bps),
    DerivedMetric(name="rrp_drawdown_30d_bn", inputs=("RRPONTSYD",), units="USD bn",
                  description="Fall in ON RRP usage over 30 days (positive = drained).",
                  compute=rrp_drawdown_30d_bn, window_days=30 + RRP_MEDIAN_DAYS + 10),
    DerivedMetric(name="gamma_ratio", inputs=("VIX9D", "VIX"), units="ratio",
                  description="VIX9D / VIX: > 1 means near-term (0DTE-driven) hedging demand dominates.",
                  compute=gamma_ratio),
    DerivedMetric(name="term_slope", inputs=("VIX", "VIX3M"), units="ratio",
                  description="VIX / VIX3M: > 1 is backwardation, the volatility curve's stress shape.",
                  compute=term_slope),
    DerivedMetric(name="margin_debt_ratio_pct", inputs=("BOGZ1FL663067003Q", "NCBEILQ027S"),
                  units="% of market cap",
                  description="Broker-dealer margin loans over corporate equities at market value (both Z.1).",
                  compute=margin_debt_ratio_pct),
    DerivedMetric(name="basis_trade_bn", inputs=("CFTC_TFF_UST",), units="USD bn",
                  description="Leveraged funds' net short in 2Y/5Y/10Y/Ultra 10Y/Bond/Ultra Bond futures at face value.",
                  compute=basis_trade_bn),
    DerivedMetric(name="spec_net_percentile", inputs=("CFTC_TFF_UST",), units="percentile",
                  description="Percentile of leveraged funds' net Treasury futures position in its trailing 52 reports.",
                  compute=spec_net_percentile, window_days=7 * SPEC_PERCENTILE_WEEKS + 14),
    DerivedMetric(name="levetf_aum_yoy_pct", inputs=("LEVETF_AUM",), units="% year on year",
                  description="Year-on-year growth of top-10 leveraged ETF assets.", compute=levetf_aum_yoy_pct,
                  window_days=380),
    DerivedMetric(name="fed_bs_gdp_pct", inputs=("WALCL", "GDP"), units="% of GDP",
                  description="Fed total assets over the latest published nominal GDP.", compute=fed_bs_gdp_pct),
    DerivedMetric(name="core_pce_yoy_pct", inputs=("PCEPILFE",), units="% year on year",
                  description="Core PCE inflation, year on year.", compute=core_pce_yoy_pct, window_days=380),
    DerivedMetric(name="btc_spy_corr_60d", inputs=("BTC-USD", "SPY"), units="correlation",
                  description="60-day correlation of daily BTC and SPY returns.", compute=btc_spy_corr_60d,
                  window_days=120),
    DerivedMetric(name="crypto_oi_total_bn", inputs=("BTCUSDT_OI", "ETHUSDT_OI"), units="USD bn",
                  description="BTC+ETH perpetual open interest on Binance / 0.35 market share.",
                  compute=crypto_oi_total_bn),
    DerivedMetric(name="hy_oas_30d_change_bps", inputs=("BAMLH0A0HYM2",), units="bps",
                  description="Change in the high-yield spread over 30 days.", compute=hy_oas_30d_change_bps,
                  window_days=40),
    DerivedMetric(name="dollar_3m_change_pct", inputs=("DTWEXBGS",), units="%",
                  description="Change in the broad dollar index over 3 months.", compute=dollar_3m_change_pct,
                  window_days=100),
    DerivedMetric(name="btc_reserve_30d_change_pct", inputs=("BTC_EXCHANGE_RESERVE",), units="%",
                  description="Change in bitcoin held on exchanges over 30 days.",
                  compute=btc_reserve_30d_change_pct, window_days=40),
)

"""Every derived metric on small hand-made frames with known answers."""

import numpy as np
import pandas as pd
import pytest
from helpers import cftc_rows, series_frame

from mac_assets.derived import metrics as m
from mac_assets.derived.frames import OUTPUT_COLUMNS
from mac_assets.derived.registry import METRICS
from mac_assets.pointintime import known_on, with_availability
from mac_assets.sources.base import empty_frame
from mac_assets.sources.demo import generate


def test_sofr_iorb_spread_uses_ioer_before_iorb_and_reports_bps():
    f = {
        "SOFR": series_frame(["2021-07-27", "2021-07-30"], [0.05, 0.05], lag_days=1),
        "IOER": series_frame(["2021-07-27", "2021-07-28"], [0.15, 0.15], lag_days=1),
        "IORB": series_frame(["2021-07-29", "2021-07-30"], [0.15, 0.15], lag_days=1),
    }
    out = m.sofr_iorb_spread_bps(f)
    assert out["value"].tolist() == pytest.approx([-10.0, -10.0])
    assert out["available_date"].tolist() == [pd.Timestamp("2021-07-28"), pd.Timestamp("2021-07-31")]


def test_reserve_rate_prefers_iorb_on_a_shared_date():
    iorb = series_frame(["2021-07-29"], [0.15])
    ioer = series_frame(["2021-07-29"], [0.10])
    assert m.reserve_rate(iorb, ioer)["value"].tolist() == [0.15]


def test_cp_tbill_spread_in_bps_on_shared_dates_only():
    f = {"DCPF3M": series_frame(["2008-10-01", "2008-10-02"], [3.0, 3.5]),
         "DTB3": series_frame(["2008-10-02"], [0.5])}
    out = m.cp_tbill_spread_bps(f)
    assert out["date"].tolist() == [pd.Timestamp("2008-10-02")]
    assert out["value"].tolist() == pytest.approx([300.0])


def test_rrp_drawdown_is_the_fall_over_thirty_days():
    f = {"RRPONTSYD": series_frame(["2023-01-01", "2023-01-31", "2023-03-02"], [2200, 1900, 2000])}
    out = m.rrp_drawdown_30d_bn(f)
    assert out["value"].tolist() == pytest.approx([300.0, -100.0])


def test_a_quarter_end_spike_in_rrp_usage_is_not_read_as_a_drain_thirty_days_later():
    days = pd.bdate_range("2019-12-16", "2020-02-14")
    usage = pd.Series(300.0, index=days)
    usage[pd.Timestamp("2019-12-31")] = 1000.0  # window dressing for one day, then back
    out = m.rrp_drawdown_30d_bn({"RRPONTSYD": series_frame(days, usage.to_numpy())}).set_index("date")["value"]
    assert out.abs().max() == 0.0  # the raw difference would read a $700bn drain on 2020-01-30
    real_drain = usage.copy()
    real_drain[days >= "2020-01-20"] = 0.0  # usage really falls and stays down
    drained = m.rrp_drawdown_30d_bn({"RRPONTSYD": series_frame(days, real_drain.to_numpy())}).set_index("date")["value"]
    assert drained.loc["2020-02-14"] == pytest.approx(300.0)


def test_gamma_ratio_and_term_slope():
    vix = series_frame(["2020-03-16"], [80.0])
    f = {"VIX": vix, "VIX9D": series_frame(["2020-03-16"], [96.0]), "VIX3M": series_frame(["2020-03-16"], [64.0])}
    assert m.gamma_ratio(f)["value"].tolist() == pytest.approx([1.2])
    assert m.term_slope(f)["value"].tolist() == pytest.approx([1.25])


def test_margin_debt_ratio_is_percent_of_market_cap():
    f = {"BOGZ1FL663067003Q": series_frame(["2021-10-01"], [900_000]),
         "NCBEILQ027S": series_frame(["2021-10-01"], [30_000_000])}
    assert m.margin_debt_ratio_pct(f)["value"].tolist() == pytest.approx([3.0])


def test_basis_trade_sums_net_shorts_at_each_contracts_face_value():
    rows = cftc_rows("2020-03-10", {
        "042601": (1_000, 3_000),   # 2Y: net short 2,000 × $200k = $0.4bn
        "043602": (5_000, 2_000),   # 10Y: net long, adds nothing
        "020604": (0, 10_000),      # Ultra Bond: 10,000 × $100k = $1.0bn
        "999999": (0, 10_000_000),  # not a Treasury contract we know: ignored
    })
    out = m.basis_trade_bn({"CFTC_TFF_UST": rows})
    assert out["value"].tolist() == pytest.approx([1.4])
    assert out["available_date"].tolist() == [pd.Timestamp("2020-03-13")]


def test_spec_net_percentile_uses_only_the_trailing_window():
    dates = pd.date_range("2019-01-01", periods=60, freq="7D")
    nets = np.arange(60, dtype=float)  # rising every week: always the highest of its window
    rows = pd.concat([cftc_rows(d, {"043602": (n, 0)}) for d, n in zip(dates, nets)], ignore_index=True)
    out = m.spec_net_percentile({"CFTC_TFF_UST": rows})
    assert out["value"].iloc[-1] == 100.0
    # The first value appears once half a window is filled, not before.
    assert out["date"].iloc[0] == dates[m.SPEC_PERCENTILE_WEEKS // 2 - 1]
    # Changing the future leaves the past untouched.
    changed = rows.copy()
    changed.loc[changed["date"] == dates[-1], "lev_money_long"] = -1e9
    again = m.spec_net_percentile({"CFTC_TFF_UST": changed})
    assert again["value"].iloc[:-1].tolist() == out["value"].iloc[:-1].tolist()
    assert again["value"].iloc[-1] == pytest.approx(100 / m.SPEC_PERCENTILE_WEEKS)


def test_spec_net_percentile_counts_calendar_weeks_across_a_gap_in_the_reports():
    before = pd.date_range("2021-01-05", periods=52, freq="7D")
    after = pd.date_range("2024-01-02", periods=40, freq="7D")  # two years without reports in between
    nets = np.r_[np.full(52, 1e6), np.arange(40, dtype=float)]
    rows = pd.concat([cftc_rows(d, {"043602": (n, 0)}) for d, n in zip(before.append(after), nets)], ignore_index=True)
    out = m.spec_net_percentile({"CFTC_TFF_UST": rows}).set_index("date")["value"]
    # Rising every week after the gap: always the top of the 2024 window, never ranked against 2021's
    # larger positions; and no reading until half a year of 2024 reports exists.
    assert out.loc[after[25]:].eq(100.0).all()
    assert after[24] not in out.index


def test_year_on_year_growth_for_levetf_and_core_pce():
    f = {"LEVETF_AUM": series_frame(["2020-11-10", "2021-11-10"], [50, 110]),
         "PCEPILFE": series_frame(["2021-12-01", "2022-12-01"], [100.0, 105.0], lag_days=62)}
    assert m.levetf_aum_yoy_pct(f)["value"].tolist() == pytest.approx([120.0])
    pce = m.core_pce_yoy_pct(f)
    assert pce["value"].tolist() == pytest.approx([5.0])
    assert pce["available_date"].iloc[0] == pd.Timestamp("2022-12-01") + pd.Timedelta(days=62)


def test_fed_balance_sheet_over_gdp_waits_for_gdp_publication():
    walcl = series_frame(["2020-07-01", "2020-08-05"], [7_000_000, 7_000_000], lag_days=1)
    # Q2 GDP (dated 2020-04-01) is published 122 days later, on 2020-08-01.
    gdp = series_frame(["2020-01-01", "2020-04-01"], [21_000, 17_500], lag_days=122)
    out = m.fed_bs_gdp_pct({"WALCL": walcl, "GDP": gdp})
    # On 2020-07-02 only Q1 GDP (published 2020-05-02) is known; by 2020-08-06 Q2 is.
    assert out["value"].tolist() == pytest.approx([7000 / 21_000 * 100, 7000 / 17_500 * 100])


def test_btc_spy_correlation_needs_sixty_returns_and_tracks_co_movement():
    dates = pd.bdate_range("2022-01-03", periods=70)
    rng = np.random.default_rng(0)
    spy_r = rng.normal(0, 0.01, 70)
    f = {"SPY": series_frame(dates, 400 * np.cumprod(1 + spy_r)),
         "BTC-USD": series_frame(dates, 40_000 * np.cumprod(1 + 2 * spy_r))}
    out = m.btc_spy_corr_60d(f)
    assert len(out) == 70 - 60  # first return on day 2, full window after 60 returns
    assert out["value"].tolist() == pytest.approx([1.0] * 10)


def test_crypto_oi_total_scales_binance_by_its_market_share():
    f = {"BTCUSDT_OI": series_frame(["2024-12-17"], [10.5e9]), "ETHUSDT_OI": series_frame(["2024-12-17"], [7e9])}
    assert m.crypto_oi_total_bn(f)["value"].tolist() == pytest.approx([50.0])


def test_change_metrics_compare_with_the_value_a_window_earlier():
    f = {"BAMLH0A0HYM2": series_frame(["2020-02-14", "2020-03-16"], [3.5, 8.0]),
         "DTWEXBGS": series_frame(["2020-01-01", "2020-04-01"], [100.0, 106.0]),
         "BTC_EXCHANGE_RESERVE": series_frame(["2020-02-11", "2020-03-12"], [2.5e6, 2.6e6])}
    assert m.hy_oas_30d_change_bps(f)["value"].tolist() == pytest.approx([450.0])
    assert m.dollar_3m_change_pct(f)["value"].tolist() == pytest.approx([6.0])
    assert m.btc_reserve_30d_change_pct(f)["value"].tolist() == pytest.approx([4.0])


def test_every_registered_metric_reads_only_catalog_series():
    for metric in METRICS:
        assert metric.input_series, metric.name


@pytest.mark.parametrize("metric", METRICS, ids=lambda x: x.name)
def test_every_metric_is_usable_on_an_ordinary_day_given_its_inputs_publication_lags(metric):
    """A staleness limit shorter than the inputs' publication lag would blank the metric every day."""
    day = pd.Timestamp("2025-06-18")  # a Wednesday with every demo input live
    frames = {}
    for s in metric.input_series:
        frame = generate(20080915)[s.id]
        frames[s.id] = with_availability(frame[frame["date"] <= day].reset_index(drop=True), s)
    known = known_on(pd.DatetimeIndex([day]), metric.compute(frames), metric.stale_after_days)
    assert known["value"].notna().all(), f"{metric.name}: nothing fresh enough on {day.date()}"


@pytest.mark.parametrize("metric", METRICS, ids=lambda x: x.name)
def test_every_metric_turns_empty_inputs_into_an_empty_result(metric):
    frames = {s.id: with_availability(empty_frame(s), s) for s in metric.input_series}
    out = metric.compute(frames)
    assert out.empty and list(out.columns)[:3] == OUTPUT_COLUMNS

"""The extension's metrics and scores: yen carry, cross-asset correlation, compression, systemic term."""

import numpy as np
import pandas as pd
import pytest
from helpers import series_frame

from mac_assets.catalog import PILLARS
from mac_assets.definitions import build_definitions
from mac_assets.derived import extension as ext
from mac_assets.infra.settings import load_settings
from mac_assets.scores.extension import EXTENDED_CONTRIBUTIONS, extended_composite, systemic_term
from mac_assets.sources.demo import DemoSource
from mac_assets.thresholds import COMPRESSION_MAX_HAIRCUT, INSUFFICIENT_STATUS

DAYS = pd.bdate_range("2024-01-01", periods=300)


def test_rate_differential_uses_only_the_japanese_rate_already_published():
    dff = series_frame(["2024-03-01", "2024-05-20"], [5.33, 5.33], lag_days=1)
    # March's average (0.08 %) is public 75 days after 1 March, i.e. on 15 May; February's was -0.01 %.
    japan = series_frame(["2024-02-01", "2024-03-01"], [-0.01, 0.08], lag_days=75)
    out = ext.us_japan_rate_diff_bps({"DFF": dff, ext.JAPAN_RATE: japan})
    # On 1 March only January-or-earlier months were public: nothing here; on 20 May, March's rate.
    assert out["date"].dt.strftime("%Y-%m-%d").tolist() == ["2024-05-20"]
    assert out["value"].tolist() == pytest.approx([525.0])


def test_carry_to_vol_divides_the_differential_by_realised_yen_volatility():
    rng = np.random.default_rng(1)
    prices = 150 * np.exp(np.cumsum(rng.normal(0, 0.006, len(DAYS))))
    f = {"DEXJPUS": series_frame(DAYS, prices, lag_days=7),
         "DFF": series_frame(DAYS, [5.0] * len(DAYS), lag_days=1),
         ext.JAPAN_RATE: series_frame(pd.date_range("2023-06-01", "2025-06-01", freq="MS"), [0.0] * 25,
                                      lag_days=75)}
    out = ext.carry_to_vol(f).set_index("date")
    vol = ext.realised_vol_pct(f["DEXJPUS"]).set_index("date")["value"]
    last = out.index[-1]
    assert out.loc[last, "value"] == pytest.approx(5.0 / vol.loc[last])
    assert 0.3 < out.loc[last, "value"] < 0.8  # 5 % carry over ~9.5 % annualised volatility


def test_yen_unwind_signal_is_the_yen_gain_over_two_weeks():
    f = {"DEXJPUS": series_frame(["2024-07-22", "2024-08-05"], [160.0, 145.0], lag_days=7)}
    out = ext.yen_move_14d_pct(f)
    assert out["value"].tolist() == pytest.approx([(160 / 145 - 1) * 100])


def _channels(moves: dict[str, np.ndarray]) -> dict[str, pd.DataFrame]:
    """Price or level series from daily stress-direction moves, undoing each channel's sign convention."""
    frames = {}
    for label, series_id, how, sign in ext.CROSS_ASSET_CHANNELS:
        raw = sign * moves[label]
        level = 100 * np.exp(np.cumsum(raw * 0.01)) if how == "log" else 3 + np.cumsum(raw * 0.05)
        frames[series_id] = series_frame(DAYS, level)
    return frames


def test_cross_asset_correlation_is_one_when_every_channel_moves_the_stress_way_together():
    common = np.random.default_rng(2).standard_normal(len(DAYS))
    out = ext.cross_asset_corr(_channels({label: common for label, *_ in ext.CROSS_ASSET_CHANNELS}))
    assert out["value"].iloc[-50:].min() > 0.99
    assert out["pairs"].iloc[-1] == 10


def test_cross_asset_correlation_is_near_zero_for_independent_channels_and_negative_for_a_hedge():
    rng = np.random.default_rng(3)
    independent = {label: rng.standard_normal(len(DAYS)) for label, *_ in ext.CROSS_ASSET_CHANNELS}
    assert abs(ext.cross_asset_corr(_channels(independent))["value"].mean()) < 0.05
    common = rng.standard_normal(len(DAYS))
    hedged = {label: common for label, *_ in ext.CROSS_ASSET_CHANNELS} | {"ust10y": -common}
    # Treasuries rallying while everything else sells off: 4 of 10 pairs at -1, 6 at +1.
    assert ext.cross_asset_corr(_channels(hedged))["value"].iloc[-1] == pytest.approx(0.2)


def _compression_inputs(leverage_path: np.ndarray, weeks: int = 200, shock_weeks=range(100, 110)) -> dict:
    fridays = pd.date_range("2019-01-04", periods=weeks, freq="W-FRI")
    vix = np.full(weeks, 14.0)
    vix[list(shock_weeks)] = 40.0  # ten weeks of full shock
    return {
        "VIX": series_frame(fridays, vix),
        "SVXY_AUM": series_frame(fridays, leverage_path[:weeks], lag_days=1),
    }


def _compression(frames):
    """Compression by week number (row k = week k); weeks before the 13-week change and the first year of
    state have no published reading."""
    out = ext.compression_index(frames).set_index("date")
    return out.reindex(frames["VIX"]["date"]).reset_index(drop=True)


# The 13-week change needs a value public 13 weeks earlier (SVXY is public a day late: week 14), then a
# year of state before the first normalised reading.
FIRST_READING = 14 + ext.MIN_HISTORY_WEEKS - 1


def test_compression_accumulates_when_shocks_meet_leverage_that_does_not_fall():
    held = _compression(_compression_inputs(np.full(200, 1000.0)))
    assert held["compression_raw"].iloc[99] == pytest.approx(0.0)
    assert held["compression_raw"].iloc[109] > 9  # ten full shocks, one year half-life
    assert held["compression_raw"].iloc[161] == pytest.approx(held["compression_raw"].iloc[109] / 2, rel=0.02)
    assert held["value"].iloc[109] == pytest.approx(100.0)  # the highest state seen so far
    assert held["value"].iloc[120] < 100.0  # then it fades
    assert held["value"].iloc[:FIRST_READING].isna().all()
    assert held["compression_raw"].iloc[FIRST_READING:].notna().all()
    assert held["measures"].iloc[FIRST_READING:].eq(1).all()


def test_compression_stays_low_when_leverage_is_cut_during_the_shock():
    path = np.full(200, 1000.0)
    path[95:] = 700.0  # a 30 % cut right as the shock arrives
    cut = _compression(_compression_inputs(path))
    held = _compression(_compression_inputs(np.full(200, 1000.0)))
    assert cut["deleveraging"].iloc[100] == pytest.approx(1.0)
    assert cut["compression_raw"].iloc[109] < 0.5 * held["compression_raw"].iloc[109]


def test_compression_reading_on_a_day_ignores_everything_after_it():
    frames = _compression_inputs(np.full(200, 1000.0))
    base = _compression(frames)
    changed = {k: v.copy() for k, v in frames.items()}
    changed["VIX"].loc[changed["VIX"].index[150:], "value"] = 80.0
    changed["SVXY_AUM"].loc[changed["SVXY_AUM"].index[150:], "value"] = 5.0
    after = _compression(changed)
    cols = ["value", "compression_raw", "compression_z"]
    assert base["value"].iloc[FIRST_READING:150].notna().all()
    pd.testing.assert_frame_equal(base.iloc[:150][cols], after.iloc[:150][cols])
    assert not base.iloc[150:]["compression_raw"].equals(after.iloc[150:]["compression_raw"])


def test_compression_is_not_published_without_any_leverage_measure():
    frames = _compression_inputs(np.full(200, 1000.0))
    frames["SVXY_AUM"] = frames["SVXY_AUM"].iloc[0:0]
    assert ext.compression_index(frames).empty


# --- systemic term and extended composite -------------------------------------------------------------

def _scores(stress_by_component: dict[str, np.ndarray]):
    """pillar_scores, extension indicator rows and a core composite for given stress paths."""
    pillar_rows, ext_rows = [], []
    for c, stress in stress_by_component.items():
        frame = pd.DataFrame({"date": DAYS, "score": 1 - stress})
        if c in PILLARS:
            pillar_rows.append(frame.assign(pillar=c, coverage=1.0))
        else:
            ext_rows.append(frame.assign(pillar=c, indicator=c))
    pillars = pd.concat(pillar_rows, ignore_index=True)
    indicators = pd.concat(ext_rows, ignore_index=True) if ext_rows else pd.DataFrame(
        columns=["date", "pillar", "indicator", "score"])
    core = pillars.groupby("date")["score"].mean()
    composite = pd.DataFrame({"date": core.index, "mac": core.to_numpy(), "status": "ample"})
    return composite, pillars, indicators


def _stress_paths(together: bool, seed=4):
    rng = np.random.default_rng(seed)
    common = 0.3 + 0.2 * np.sin(np.arange(len(DAYS)) / 9)
    names = [*PILLARS, "yen_carry", "cross_asset"]
    return {c: np.clip(common if together else 0.3 + 0.2 * rng.uniform(-1, 1, len(DAYS)), 0, 1) for c in names}


def test_systemic_term_adds_stress_only_when_components_are_stressed_together():
    together = systemic_term(*_scores(_stress_paths(True))[1:])
    apart = systemic_term(*_scores(_stress_paths(False))[1:])
    last = together.iloc[-1]
    # Perfectly co-moving stress: the cross term is the whole (Σv)² − Σv² and its share is Σv − Σv²/Σv.
    v = last["stress_linear"] / 9
    assert last["ciss_correlation_part"] == pytest.approx(last["stress_linear"] ** 2 - 9 * v**2, rel=1e-6)
    assert last["avg_stress_correlation"] == pytest.approx(1.0)
    assert abs(apart["avg_stress_correlation"].iloc[-100:].mean()) < 0.1
    assert together["correlation_share"].iloc[-100:].mean() > 5 * abs(apart["correlation_share"].iloc[-100:].mean())


@pytest.mark.parametrize("together", [True, False])
def test_extended_mac_is_the_exact_sum_of_its_contributions_and_stays_within_0_and_1(together):
    composite, pillars, indicators = _scores(_stress_paths(together))
    compression = pd.DataFrame({"date": DAYS, "pillar": "compression", "indicator": "compression",
                                "score": np.linspace(1, 0, len(DAYS))})
    indicators = pd.concat([indicators, compression], ignore_index=True)
    out = extended_composite(composite, pillars, indicators, systemic_term(pillars, indicators))
    total = out[list(EXTENDED_CONTRIBUTIONS)].sum(axis=1)
    assert (out["mac_extended"] - total).abs().max() < 1e-12
    assert out["mac_extended"].between(0, 1).all()
    assert (out["mac_extended"] <= out["mac_linear"] + 1e-12).iloc[-1]
    # Compression scored 0 takes the full haircut of what the correlation term left.
    last = out.iloc[-1]
    left = last["mac_linear"] + last["correlation_contribution"]
    assert last["compression_contribution"] == pytest.approx(-COMPRESSION_MAX_HAIRCUT * left)


def test_extended_mac_is_withheld_whenever_the_core_composite_is():
    composite, pillars, indicators = _scores(_stress_paths(True))
    composite.loc[composite.index[-5:], ["mac", "status"]] = [np.nan, INSUFFICIENT_STATUS]
    out = extended_composite(composite, pillars, indicators, systemic_term(pillars, indicators))
    assert out["mac_extended"].iloc[-5:].isna().all()
    assert (out["status"].iloc[-5:] == INSUFFICIENT_STATUS).all()
    assert out["mac_extended"].iloc[:-5].notna().all()


def test_switching_the_extension_off_removes_its_assets_and_leaves_the_core_graph_unchanged(tmp_path):
    def graph(switch):
        settings = load_settings({"MAC_EXTENSION": switch, "MAC_DUCKDB_PATH": str(tmp_path / "m.duckdb")})
        return build_definitions(settings, DemoSource()).resolve_asset_graph()

    on, off = graph("on"), graph("off")
    extension_keys = {k for k in on.get_all_asset_keys() if k.path[0] == "extension"
                      or k.path[-1] in {m.name for m in ext.EXTENSION_METRICS}}
    assert {k.path[-1] for k in extension_keys} >= {"mac_extended", "systemic_stress", "compression_index"}
    assert set(off.get_all_asset_keys()) == set(on.get_all_asset_keys()) - extension_keys
    for key in off.get_all_asset_keys():  # no core data asset reads anything the extension produces
        if key.path[0] in ("raw", "derived", "scores"):
            assert not (on.get(key).parent_keys & extension_keys), key
    with pytest.raises(ValueError, match="MAC_EXTENSION"):
        load_settings({"MAC_EXTENSION": "maybe"})

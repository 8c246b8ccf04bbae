"""The one table of scoring thresholds: every indicator, its pillar, shape, anchors and why.

Rows are data, not code branches: the scoring engine turns each row into knots (see
`scores/scoring.py`) and the docs table in `docs/thresholds.md` is rendered from the same rows.
Thresholds quoted from the seed spec (`leverage-architecture.md`) are used exactly; the spec's
breakpoint tables end on a 0.20 floor, which would hide a breach, so each gets one documented tail
knot that carries the score on down to 0. Where the spec is silent the reason column says where the
numbers come from. Changing any number here is a methodology change: bump `METHODOLOGY_VERSION`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import pandas as pd

from mac_assets.catalog import EXTENSION_COMPONENTS, PILLARS, ExtensionComponent, Pillar

METHODOLOGY_VERSION = "mac-1.2"
# The extension (docs/extension.md) versions separately: it never changes the seven-pillar MAC.
EXTENSION_VERSION = "ext-1.2"

# Status bands, best first: a score at or above the floor gets the label.
STATUS_BANDS: tuple[tuple[float, str], ...] = (
    (0.8, "ample"),
    (0.6, "comfortable"),
    (0.4, "thin"),
    (0.2, "stretched"),
    (0.0, "breach"),
)
MISSING_STATUS = "no_data"
INSUFFICIENT_STATUS = "insufficient_data"
# The one withholding rule of the percentile readings: a reading is published (and headlined: run summary,
# bi.mac_latest, the report) only when at least this share of its weight is backed by data.
MIN_COVERAGE = 0.5
# Validation's split (docs/preregistration-v2.md): choices are fitted on days before this, judged on days from it.
TEST_START = pd.Timestamp("2015-01-01")

# Equal pillar weights: no pillar has earned more weight in an out-of-sample test yet, and equal
# weights keep every contribution readable. Missing pillars are dropped and the rest renormalised.
PILLAR_WEIGHTS: dict[Pillar, float] = {p: 1 / len(PILLARS) for p in PILLARS}

Shape = Literal["anchors", "range", "breakpoints"]
# (value, score) points joined by straight lines, flat beyond the ends (scores/scoring.py evaluates them).
Knots = tuple[tuple[float, float], ...]


def anchor_knots(ample: float, thin: float, breach: float) -> Knots:
    """Three anchors: ample → 1.0, thin → 0.5, breach → 0.0, linear between, flat outside.

    The direction follows from the order: ample < breach means lower values are better.
    """
    if not (ample < thin < breach or ample > thin > breach):
        raise ValueError(f"anchors must be monotone (ample, thin, breach), got {(ample, thin, breach)}")
    knots = ((ample, 1.0), (thin, 0.5), (breach, 0.0))
    return knots if ample < breach else tuple(reversed(knots))


def range_knots(
    breach_low: float, thin_low: float, ample_low: float, ample_high: float, thin_high: float,
    breach_high: float,
) -> Knots:
    """Two-sided range: too low and too high are both bad (a VIX of 9 is complacency, 45 is panic)."""
    xs = (breach_low, thin_low, ample_low, ample_high, thin_high, breach_high)
    if any(b <= a for a, b in zip(xs, xs[1:])):
        raise ValueError(f"range bounds must increase strictly, got {xs}")
    return tuple(zip(xs, (0.0, 0.5, 1.0, 1.0, 0.5, 0.0)))


Direction = Literal["lower_is_better", "higher_is_better", "two_sided"]
# How a row's numbers were set. "training years": from the real history before 2015 (docs/preregistration-v2.md:
# the 50th/90th/99th percentiles, a tail knot at the extreme); "test years": set on 2015+ data by their source
# with no earlier data to re-derive them from (the reference says so).
HowSet = Literal["seed spec", "upstream research code", "training years", "a priori", "test years"]


@dataclass(frozen=True)
class Threshold:
    """How one indicator is scored.

    `metric` names the series the value comes from: a derived metric or a raw series id.
    `scale` converts the metric's units into the units the anchors are written in (percent → bps).
    `how_set` says where the numbers come from; the reference says more.
    `anchors` holds (ample, thin, breach) for shape "anchors", and (breach_low, thin_low, ample_low,
    ample_high, thin_high, breach_high) for "range"; `points` holds (value, score) knots for
    "breakpoints".
    """

    indicator: str
    pillar: Pillar | ExtensionComponent
    metric: str
    units: str
    shape: Shape
    direction: Direction
    reference: str
    how_set: HowSet
    anchors: tuple[float, ...] = ()
    points: Knots = ()
    scale: float = 1.0

    def knots(self) -> Knots:
        if self.shape == "anchors":
            return anchor_knots(*self.anchors)
        if self.shape == "range":
            return range_knots(*self.anchors)
        return self.points

    def anchors_text(self) -> str:
        """The anchors as a reader would write them (docs, BI tables)."""
        if self.shape == "breakpoints":
            return ", ".join(f"{x:g} → {y:g}" for x, y in self.points)
        if self.shape == "range":
            bl, tl, al, ah, th, bh = self.anchors
            return f"ample {al:g}…{ah:g}; thin {tl:g} / {th:g}; breach ≤ {bl:g} or ≥ {bh:g}"
        return "ample {:g}; thin {:g}; breach {:g}".format(*self.anchors)

    def validate(self) -> None:
        """Fail loudly on a row whose numbers contradict its declared shape or direction."""
        knots = self.knots()
        ys = [y for _, y in knots]
        if self.pillar not in PILLARS + EXTENSION_COMPONENTS:
            raise ValueError(f"{self.indicator}: unknown pillar {self.pillar!r}")
        if not all(0.0 <= y <= 1.0 for y in ys):
            raise ValueError(f"{self.indicator}: knot scores must lie in [0, 1]")
        if min(ys) != 0.0:
            raise ValueError(f"{self.indicator}: no value can reach 0, so a breach would be hidden")
        falling = all(b <= a for a, b in zip(ys, ys[1:]))
        rising = all(b >= a for a, b in zip(ys, ys[1:]))
        expected = {"lower_is_better": falling, "higher_is_better": rising,
                    "two_sided": not falling and not rising}[self.direction]
        if not expected:
            raise ValueError(f"{self.indicator}: knots {knots} do not match direction {self.direction}")


SPEC = "seed spec leverage-architecture.md"
UPSTREAM = "grri-mac research code (RES path)"

THRESHOLDS: tuple[Threshold, ...] = (
    # --- Liquidity -------------------------------------------------------------------------------
    Threshold(indicator="sofr_iorb", pillar="liquidity", metric="sofr_iorb_spread_bps", units="bps",
              shape="anchors", direction="lower_is_better",
              reference=f"SOFR minus the Fed's reserve rate, signed: repo trading above IORB means reserves are "
              f"scarce (Sept 2019: +300 bps). Anchors 3/15/25 bps are the SOFR-IORB era bands of {UPSTREAM}, set on data from 2018 on (SOFR starts in 2018): test years, with no training-year data to re-derive them.",
              anchors=(3, 15, 25), how_set="test years"),
    Threshold(indicator="cp_tbill", pillar="liquidity", metric="cp_tbill_spread_bps", units="bps",
              shape="anchors", direction="lower_is_better",
              reference=f"Bank funding premium over bills; reached 200-300 bps in Oct 2008. Anchors 20/50/100 bps "
              f"from {UPSTREAM}.",
              anchors=(20, 50, 100), how_set="upstream research code"),
    Threshold(indicator="rrp_drawdown", pillar="liquidity", metric="rrp_drawdown_30d_bn",
              units="USD bn over 30 days", shape="anchors", direction="lower_is_better",
              reference=f"{SPEC}: a 30-day ON RRP drawdown above $200B/month signals a liquidity regime shift, so "
              f"$200B is the thin anchor; ample below $50B (ordinary month-end noise); breach at $400B, "
              f"twice the signal. Since mac-1.1 both ends of the 30 days are 7-day medians: usage spikes for a "
              f"day at quarter and year ends and falls back, which a raw difference read as a drain.",
              anchors=(50, 200, 400), how_set="seed spec"),
    # --- Valuation -------------------------------------------------------------------------------
    Threshold(indicator="term_premium", pillar="valuation", metric="THREEFYTP10", units="bps", shape="range",
              direction="two_sided",
              reference=f"A compressed (negative) term premium leaves no cushion against a rates shock; a very high "
              f"one is a buyers' strike. Bands from {UPSTREAM}.",
              anchors=(-50, 0, 40, 120, 200, 250), scale=100, how_set="upstream research code"),
    Threshold(indicator="ig_oas", pillar="valuation", metric="BAMLC0A0CM", units="bps", shape="range",
              direction="two_sided",
              reference=f"Investment-grade spreads: too tight is mispriced risk, too wide is distress. Bands from "
              f"{UPSTREAM}.",
              anchors=(60, 75, 100, 180, 280, 400), scale=100, how_set="upstream research code"),
    Threshold(indicator="hy_oas", pillar="valuation", metric="BAMLH0A0HYM2", units="bps", shape="range",
              direction="two_sided",
              reference=f"High-yield spreads, two-sided: below 280 bps risk is priced for perfection (2007). "
              f"Bands from {UPSTREAM}.",
              anchors=(200, 280, 350, 550, 800, 1000), scale=100, how_set="upstream research code"),
    # --- Positioning -----------------------------------------------------------------------------
    Threshold(indicator="basis_trade", pillar="positioning", metric="basis_trade_bn", units="USD bn notional",
              shape="anchors", direction="lower_is_better",
              reference=f"Leveraged funds' net short Treasury futures (CFTC TFF) at face value, the usual proxy for "
              f"the cash-futures basis trade that unwound in March 2020. Anchors 400/700/900 $B from "
              f"{UPSTREAM}, set on positions from 2018 on: test years; the folder has none before 2015 to "
              f"re-derive them.",
              anchors=(400, 700, 900), how_set="test years"),
    Threshold(indicator="spec_net_pct", pillar="positioning", metric="spec_net_percentile",
              units="percentile (52 weeks)", shape="range", direction="two_sided",
              reference=f"Where leveraged funds' aggregate net Treasury position sits in its own trailing 52-week "
              f"range; crowding at either extreme unwinds violently. Bands from {UPSTREAM}. Since mac-1.1 the "
              f"52 weeks are calendar weeks (a report count reached back years across gaps in COT history).",
              anchors=(5, 10, 25, 75, 90, 95), how_set="upstream research code"),
    Threshold(indicator="svxy_aum", pillar="positioning", metric="SVXY_AUM", units="USD mn", shape="anchors",
              direction="lower_is_better",
              reference=f"Short-volatility ETF assets; $1.6bn preceded the Feb 2018 collapse. Anchors 500/1000/1500 "
              f"$M from {UPSTREAM}, set knowing 2018: test years; no training-year asset data here to re-derive them.",
              anchors=(500, 1000, 1500), how_set="test years"),
    Threshold(indicator="margin_debt", pillar="positioning", metric="margin_debt_ratio_pct",
              units="% of market cap", shape="anchors", direction="lower_is_better",
              reference=f"{SPEC}: ample < 2.0 %, thin 2.0-2.8 %, breach > 2.8 % (scorer 2.0/2.8/3.5). The spec's "
              f"Wilshire 5000 denominator left FRED in 2024; Z.1 nonfinancial corporate equities at market "
              f"value (NCBEILQ027S) replaces it: same release as the numerator, so the ratio is "
              f"point-in-time consistent.",
              anchors=(2.0, 2.8, 3.5), how_set="seed spec"),
    Threshold(indicator="levetf_growth", pillar="positioning", metric="levetf_aum_yoy_pct",
              units="% year on year", shape="anchors", direction="lower_is_better",
              reference="Leveraged-ETF assets grow with the market, so the level trends; the signal is the speed "
              "of retail leverage build-up. A priori anchors: 10 % (market-like growth), 40 %, 100 % "
              "(a doubling within a year; until mac-1.1 the breach was 80 %, set from 2021). Review quarterly.",
              anchors=(10, 40, 100), how_set="a priori"),
    # --- Volatility ------------------------------------------------------------------------------
    Threshold(indicator="vix", pillar="volatility", metric="VIX", units="index points", shape="range",
              direction="two_sided",
              reference=f"VIX is bad both ways: below 12 is complacency that feeds short-vol leverage, above 30 is "
              f"stress. Calibrated bands 9/10/12/22/30/40 from {UPSTREAM}.",
              anchors=(9, 10, 12, 22, 30, 40), how_set="upstream research code"),
    Threshold(indicator="vvix", pillar="volatility", metric="VVIX", units="index points", shape="breakpoints",
              direction="lower_is_better",
              reference=f"{SPEC}: < 85 calm (1.0), 85-100 elevated (0.75-0.50), > 120 extreme (0.20). Between 100 "
              f"and 120 linear 0.50 → 0.20; tail knot: 0 at 145, the training-year maximum (2006-2014; until mac-1.1 150, from the 2018 and 2020 peaks).",
              points=((85, 1.0), (85, 0.75), (100, 0.5), (120, 0.2), (145, 0.0)), how_set="seed spec"),
    Threshold(indicator="term_slope", pillar="volatility", metric="term_slope", units="ratio VIX/VIX3M",
              shape="breakpoints", direction="lower_is_better",
              reference=f"{SPEC}: < 0.85 contango (1.0), 0.85-1.0 normal (down to 0.75), > 1.15 deep backwardation "
              f"(0.20). Tail knot: 0 at 1.26, the training-year maximum (2009-2014; until mac-1.1 1.30, from March 2020).",
              points=((0.85, 1.0), (1.0, 0.75), (1.15, 0.2), (1.26, 0.0)), how_set="seed spec"),
    Threshold(indicator="gamma_ratio", pillar="volatility", metric="gamma_ratio", units="ratio VIX9D/VIX",
              shape="anchors", direction="lower_is_better",
              reference=f"{SPEC} names > 1.0 as elevated near-term gamma but gives no scores. Anchors: 0.97 and 1.19, "
              f"the training years' (1997-2014 of ../shared/validation/raw, or from the series' start) 50th and 99th percentiles (2011-2014), and the spec's 1.00 as thin (until "
              f"mac-1.1 0.90 and 1.15, the latter from the 2024 and 2025 spikes).",
              anchors=(0.97, 1.00, 1.19), how_set="training years"),
    # --- Policy ----------------------------------------------------------------------------------
    Threshold(indicator="room_to_cut", pillar="policy", metric="DFF", units="bps above the zero bound",
              shape="anchors", direction="higher_is_better",
              reference=f"Distance of the policy rate from the effective lower bound: the room the Fed has to ease. "
              f"150/50/25 bps from {UPSTREAM}.",
              anchors=(150, 50, 25), scale=100, how_set="upstream research code"),
    Threshold(indicator="fed_bs_gdp", pillar="policy", metric="fed_bs_gdp_pct", units="% of GDP",
              shape="anchors", direction="lower_is_better",
              reference=f"A large balance sheet leaves less room for further asset purchases. Anchors 25/35/45 % "
              f"from {UPSTREAM}.",
              anchors=(25, 35, 45), how_set="upstream research code"),
    Threshold(indicator="core_pce", pillar="policy", metric="core_pce_yoy_pct", units="% year on year",
              shape="range", direction="two_sided",
              reference=f"Core PCE inflation against the 2 % target, asymmetric: above by 50/125/200 bps or below by "
              f"75/200/350 bps ({UPSTREAM}; its below-target branch was unreachable, here it scores).",
              anchors=(-1.5, 0.0, 1.25, 2.5, 3.25, 4.0), how_set="upstream research code"),
    # --- Contagion -------------------------------------------------------------------------------
    Threshold(indicator="btc_spy_corr", pillar="contagion", metric="btc_spy_corr_60d", units="correlation",
              shape="breakpoints", direction="lower_is_better",
              reference=f"{SPEC}: < 0.3 decoupled (1.0), 0.3-0.5 moderate (0.75-0.50), 0.5-0.7 elevated "
              f"(0.50-0.20), > 0.7 high (0.20). Tail knot: 0 at 0.9.",
              points=((0.3, 1.0), (0.3, 0.75), (0.5, 0.5), (0.7, 0.2), (0.9, 0.0)), how_set="seed spec"),
    Threshold(indicator="crypto_oi", pillar="contagion", metric="crypto_oi_total_bn",
              units="USD bn (est. total market)", shape="breakpoints", direction="lower_is_better",
              reference=f"{SPEC}: < $20B normal (1.0), 20-35 elevated (0.75-0.50), 35-50 crowded (0.50-0.20), "
              f"> 50 extreme (0.20). Tail knot: 0 at $80B.",
              points=((20, 1.0), (20, 0.75), (35, 0.5), (50, 0.2), (80, 0.0)), how_set="seed spec"),
    Threshold(indicator="hy_oas_momentum", pillar="contagion", metric="hy_oas_30d_change_bps",
              units="bps over 30 days", shape="anchors", direction="lower_is_better",
              reference="Speed of high-yield spread widening: how fast credit stress is spreading. Chosen over the "
              "HY/IG ratio, which barely moves in crises because IG widens in proportion. Anchors -4, 78 and 290 "
              "bps, the training years' (1997-2014 of ../shared/validation/raw, or from the series' start) 50th, 90th and 99th percentiles (until mac-1.1 25/75/200, the 75 from August 2024).",
              anchors=(-4, 78, 290), how_set="training years"),
    Threshold(indicator="dollar_move", pillar="contagion", metric="dollar_3m_change_pct",
              units="% over 3 months", shape="range", direction="two_sided",
              reference=f"A sharp dollar move either way transmits stress through dollar funding and EM debt. Bands "
              f"±3/±6/±10 % from {UPSTREAM} (calibrated engine).",
              anchors=(-10, -6, -3, 3, 6, 10), how_set="upstream research code"),
    Threshold(indicator="btc_exchange_reserves", pillar="contagion", metric="btc_reserve_30d_change_pct",
              units="% over 30 days", shape="anchors", direction="lower_is_better",
              reference="Coins moving onto exchanges are coins about to be sold or posted as margin. Judgment "
              "anchors: 0 % (net outflow), +3 %, +8 %. Tier 2; review quarterly.",
              anchors=(0, 3, 8), how_set="a priori"),
    # --- Private credit --------------------------------------------------------------------------
    Threshold(indicator="sloos_ci", pillar="private_credit", metric="DRTSCILM",
              units="% of banks net tightening", shape="anchors", direction="lower_is_better",
              reference=f"Banks tightening C&I standards push borrowers into private credit and starve weak ones. "
              f"0 % → 1.0 and 20 % → 0.5 follow the live upstream shape; breach at 50 % (reached in 2001 "
              f"and 2008). {UPSTREAM} live path.",
              anchors=(0, 20, 50), how_set="upstream research code"),
    Threshold(indicator="hy_oas_lev_loans", pillar="private_credit", metric="BAMLH0A0HYM2", units="bps",
              shape="anchors", direction="lower_is_better",
              reference="High-yield spread as the leveraged-loan proxy (the spec's Tier 1 channel): one-sided here, "
              "because for private credit only widening matters. 300 → 1.0 and 500 → 0.5 follow the "
              "upstream step table; breach at 1,760 bps, the training years' 99th percentile (1997-2014; until mac-1.1 800 bps, citing the 2020 peak).",
              anchors=(300, 500, 1760), scale=100, how_set="upstream research code"),
    # --- Extension: yen carry, cross-asset correlation, compression (docs/extension.md) ----------------
    Threshold(indicator="carry_to_vol", pillar="yen_carry", metric="carry_to_vol", units="ratio",
              shape="anchors", direction="lower_is_better",
              reference="US-Japan rate differential over realised USD/JPY volatility: the carry trade's reward for "
              "its risk. High readings crowd the trade (2007: ~0.55). Anchors 0.21, 0.61 and 0.85, the training years' (1997-2014 of ../shared/validation/raw, or from the series' start) 50th, 90th and 99th percentiles "
              "(until mac-1.1 judgment anchors 0.2/0.5/0.8 that cited July 2024).",
              anchors=(0.21, 0.61, 0.85), how_set="training years"),
    Threshold(indicator="yen_unwind", pillar="yen_carry", metric="yen_move_14d_pct",
              units="% yen gain over 14 days", shape="anchors", direction="lower_is_better",
              reference="Sharp yen appreciation is the carry unwind itself (Oct 2008 ~ +10 % in two weeks). Anchors "
              "0 %, +2.6 % and +5.8 %, the training years' (1997-2014 of ../shared/validation/raw, or from the series' start) 50th, 90th and 99th percentiles (until mac-1.1 +1/+3/+6 %, citing August 2024).",
              anchors=(0, 2.6, 5.8), how_set="training years"),
    Threshold(indicator="cross_asset_corr", pillar="cross_asset", metric="cross_asset_corr",
              units="mean pairwise correlation", shape="anchors", direction="lower_is_better",
              reference="When yen, Treasuries (selling), equities, bitcoin and credit move as one trade, "
              "diversification is gone and forced selling spreads. Anchors -0.07, 0.13 and 0.52, the training years' (1997-2014 of ../shared/validation/raw, or from the series' start) 50th, 90th and 99th percentiles (until "
              "ext-1.1 0.05/0.2/0.4, set on 2007-2025 data).",
              anchors=(-0.07, 0.13, 0.52), how_set="training years"),
    Threshold(indicator="compression", pillar="compression", metric="compression_index",
              units="percentile of own history", shape="anchors", direction="lower_is_better",
              reference="Stress absorbed without deleveraging, ranked against its own past (no look-ahead). Below "
              "the median is ordinary; the top fifth is a spring wound tight; the top 5 % is the "
              "essay's pre-release state.",
              anchors=(50, 80, 95), how_set="a priori"),
)

THRESHOLDS_BY_INDICATOR: dict[str, Threshold] = {t.indicator: t for t in THRESHOLDS}
CORE_THRESHOLDS: tuple[Threshold, ...] = tuple(t for t in THRESHOLDS if t.pillar in PILLARS)
EXTENSION_THRESHOLDS: tuple[Threshold, ...] = tuple(t for t in THRESHOLDS if t.pillar in EXTENSION_COMPONENTS)

# --- How the extension combines with the seven pillars (docs/extension.md) -------------------------
# Yen carry and cross-asset correlation are scored like pillars and weigh what a pillar weighs;
# the extended composite renormalises over all nine. Compression does not add capacity: it takes a
# share of what is left, up to COMPRESSION_MAX_HAIRCUT when the state is at the top of its history.
EXTENSION_WEIGHTS: dict[str, float] = {"yen_carry": 1 / len(PILLARS), "cross_asset": 1 / len(PILLARS)}
LINEAR_WEIGHTS: dict[str, float] = PILLAR_WEIGHTS | EXTENSION_WEIGHTS
COMPRESSION_MAX_HAIRCUT = 0.25
# The systemic (CISS-style) term correlates the nine components' stress over this many business
# days; a pair needs a complete window, otherwise its correlation counts as zero.
SYSTEMIC_CORRELATION_WINDOW = 60


# --- mac-2.0: point-in-time percentiles, two readings, stress-weighted aggregation (docs/methodology.md) ------
# Every indicator is scored by where its value sits in its own history *as known that day* (the expanding
# percentile, `scores/percentile.py`), oriented so that 1 is the most stress: no anchor is set by hand, so
# nothing saturates and no knot is fitted on the episodes used to judge it. Two readings: `stress`, what
# markets price now; `buildup`, the slow vulnerabilities (leverage, complacency, policy room) that store
# stress for later. Pillars reuse the seven pillar names; a pillar can belong to both readings.
MAC2_VERSION = "mac-2.1"
Reading = Literal["stress", "buildup"]
READINGS: tuple[Reading, ...] = ("stress", "buildup")
StressWhen = Literal["high", "low", "extreme"]


@dataclass(frozen=True)
class Mac2Indicator:
    """One mac-2.0 input: which reading and pillar it belongs to, and which way is stress.

    `stress_when` "high": the percentile is the stress; "low": one minus it; "extreme": distance from the
    median either way, |2p − 1| (a large move up or down).
    """

    indicator: str
    reading: Reading
    pillar: Pillar
    metric: str
    stress_when: StressWhen
    reason: str


MAC2_INDICATORS: tuple[Mac2Indicator, ...] = (
    # --- stress now: priced in markets, moves within days ------------------------------------------------
    Mac2Indicator(indicator="s_cp_tbill", reading="stress", pillar="liquidity", metric="cp_tbill_spread_bps",
                  stress_when="high", reason="Bank funding premium over bills: dollar funding strain."),
    Mac2Indicator(indicator="s_sofr_reserve", reading="stress", pillar="liquidity", metric="sofr_iorb_spread_bps",
                  stress_when="high", reason="Repo above the Fed's reserve rate: reserves scarce (September 2019)."),
    Mac2Indicator(indicator="s_hy_oas", reading="stress", pillar="valuation", metric="BAMLH0A0HYM2",
                  stress_when="high", reason="High-yield spread: the price of default risk now."),
    Mac2Indicator(indicator="s_ig_oas", reading="stress", pillar="valuation", metric="BAMLC0A0CM",
                  stress_when="high", reason="Investment-grade spread: the price of credit for strong borrowers."),
    Mac2Indicator(indicator="s_vix", reading="stress", pillar="volatility", metric="VIX", stress_when="high",
                  reason="Implied equity volatility."),
    Mac2Indicator(indicator="s_term_slope", reading="stress", pillar="volatility", metric="term_slope",
                  stress_when="high", reason="VIX over VIX3M: near-term fear above the longer term (backwardation)."),
    Mac2Indicator(indicator="s_vvix", reading="stress", pillar="volatility", metric="VVIX", stress_when="high",
                  reason="Volatility of volatility: demand for convex hedges."),
    Mac2Indicator(indicator="s_gamma", reading="stress", pillar="volatility", metric="gamma_ratio",
                  stress_when="high", reason="VIX9D over VIX: hedging demand concentrated in the next days."),
    Mac2Indicator(indicator="s_hy_momentum", reading="stress", pillar="contagion", metric="hy_oas_30d_change_bps",
                  stress_when="high", reason="How fast the high-yield spread widened over 30 days."),
    Mac2Indicator(indicator="s_dollar", reading="stress", pillar="contagion", metric="dollar_3m_change_pct",
                  stress_when="extreme", reason="A large dollar move either way strains dollar funding and EM debt."),
    Mac2Indicator(indicator="s_drawdown", reading="stress", pillar="contagion", metric="spy_drawdown_pct",
                  stress_when="high", reason="S&P 500 below its one-year high: losses being realised and margined."),
    Mac2Indicator(indicator="s_rates_vol", reading="stress", pillar="contagion", metric="ust10y_realised_vol_bps",
                  stress_when="high", reason="Realised volatility of the 10-year yield: the collateral market moving."),
    # --- build-up: slow vulnerabilities that turn a shock into a crisis -------------------------------------
    Mac2Indicator(indicator="b_basis_trade", reading="buildup", pillar="positioning", metric="basis_trade_bn",
                  stress_when="high", reason="Leveraged funds' Treasury futures shorts: the basis trade's size."),
    Mac2Indicator(indicator="b_spec_crowding", reading="buildup", pillar="positioning", metric="spec_net_percentile",
                  stress_when="extreme", reason="Leveraged funds' net Treasury position at either extreme of its year."),
    Mac2Indicator(indicator="b_margin_debt", reading="buildup", pillar="positioning", metric="margin_debt_ratio_pct",
                  stress_when="high", reason="Margin loans against market capitalisation."),
    Mac2Indicator(indicator="b_short_vol", reading="buildup", pillar="positioning", metric="SVXY_AUM",
                  stress_when="high", reason="Short-volatility ETF assets: calm sold as a product."),
    Mac2Indicator(indicator="b_levetf", reading="buildup", pillar="positioning", metric="levetf_aum_yoy_pct",
                  stress_when="high", reason="Growth of leveraged equity ETF assets: retail leverage."),
    Mac2Indicator(indicator="b_crypto_oi", reading="buildup", pillar="positioning", metric="crypto_oi_total_bn",
                  stress_when="high", reason="Crypto futures open interest: leverage at the riskiest margin."),
    Mac2Indicator(indicator="b_hf_leverage", reading="buildup", pillar="positioning",
                  metric="FPF-ALLQHF_LEVERAGERATIO_GAVWMEAN", stress_when="high",
                  reason="Hedge funds' gross leverage (Form PF)."),
    Mac2Indicator(indicator="b_hf_repo", reading="buildup", pillar="positioning", metric="FPF-BORROW_REPO_SUM",
                  stress_when="high", reason="Hedge funds' repo borrowing (Form PF)."),
    Mac2Indicator(indicator="b_calm_vol", reading="buildup", pillar="volatility", metric="vix_3m_mean",
                  stress_when="low", reason="A quarter of low implied volatility: the calm that invites leverage."),
    Mac2Indicator(indicator="b_tight_hy", reading="buildup", pillar="valuation", metric="BAMLH0A0HYM2",
                  stress_when="low", reason="Tight high-yield spreads: risk priced for perfection."),
    Mac2Indicator(indicator="b_tight_ig", reading="buildup", pillar="valuation", metric="BAMLC0A0CM",
                  stress_when="low", reason="Tight investment-grade spreads."),
    Mac2Indicator(indicator="b_low_term_premium", reading="buildup", pillar="valuation", metric="THREEFYTP10",
                  stress_when="low", reason="A compressed term premium leaves no cushion against a rates shock."),
    Mac2Indicator(indicator="b_fed_balance_sheet", reading="buildup", pillar="policy", metric="fed_bs_gdp_pct",
                  stress_when="high", reason="A large balance sheet leaves less room for further purchases."),
    Mac2Indicator(indicator="b_rate_room", reading="buildup", pillar="policy", metric="DFF", stress_when="low",
                  reason="Little distance from the lower bound leaves little room to cut."),
    Mac2Indicator(indicator="b_inflation_gap", reading="buildup", pillar="policy", metric="core_pce_yoy_pct",
                  stress_when="extreme", reason="Inflation far from target ties the Fed's hands either way."),
    Mac2Indicator(indicator="b_easy_lending", reading="buildup", pillar="private_credit", metric="DRTSCILM",
                  stress_when="low", reason="Banks easing C&I standards: credit growth that is repaid later."),
)

# Choices of mac-2.0, each frozen before any test-period number was computed (docs/methodology.md).
MAC2_MIN_HISTORY_DAYS = 250  # business days of an indicator's known values before it is scored (a year)
MAC2_MISSING_PILLAR_STRESS = 0.5  # a pillar without any input: its historical median, by construction
# Exponent of the stress-weighted (Lehmer) mean across pillars, w_i ∝ stress_i^q: larger q lets a pillar
# in breach take more of the weight. q = 0 would be the plain mean, which lets calm pillars hide a
# breach. mac-2.0 fitted it on 2007-2014 from 1, 2 and 3, and every candidate tied (no training episode
# detected), so q = 1 is an a priori choice: the smallest that lets a breach take weight.
MAC2_STRESS_WEIGHT_EXPONENT = 1.0

# --- mac-3.0: the stress reading aggregated like portfolio risk, rarity bands, a quiet status, a 12-month risk ------
# (scores/mac3.py; every choice below was pre-registered in docs/preregistration-v2.md and, where fitted, fitted on
# training years by `scripts/fit_mac3.py`, which prints these lines.)
MAC3_VERSION = "mac-3.0"
# Candidate aggregations of the stress reading's pillars → the daily EWMA decay of their correlations (None: the
# plain mean). The CISS paper's weekly λ = 0.93 is 0.93^(1/5) per business day; RiskMetrics' daily λ is 0.94.
STRESS_AGGREGATIONS: dict[str, float | None] = {"linear": None, "ciss_paper": 0.93 ** (1 / 5), "ciss_riskmetrics": 0.94}
QUIET_DAYS_GRID: tuple[int, ...] = (1, 2, 3, 5, 10, 15, 20)
MAX_STATUS_CHANGES_A_YEAR = 12
RISK_HORIZON_DAYS = 252
RISK_FALL = 0.15
# Fitted on training years (1997-2014, ../shared/validation/raw) by scripts/fit_mac3.py on 2026-12-04 (refitted the
# same day after a fix that let the CSV source's DCPF3M continuation through; README says what the first fit saw):
MAC3_STRESS_AGGREGATION = "ciss_paper"  # it won both its pairs on training weeks
# (intercept, build-up MAC, stress MAC): build-up and stress together won the cross-validation. It failed on the
# test years (README, "Methodology and validation"); it is published with that verdict, not retuned.
MAC3_RISK_COEFFICIENTS: tuple[float, float, float] = (2.0242, 2.587, -7.5808)
MAC3_RISK_BASE_RATE = 0.1942


@dataclass(frozen=True)
class RarityBands:
    """A percentile reading's status bands: `cuts` are the 30/70/90/98 % quantiles (`BAND_QUANTILES`) of its stress
    (1 − MAC) over training days from 1998; its published status moves to a new band only after `quiet_days`
    business days in it (into breach at once). Both fitted on training years by scripts/fit_mac3.py."""

    cuts: tuple[float, ...]
    quiet_days: int


# Status bands are rarity on training days: cut points at these quantiles of a reading's training distribution of
# stress (ample below the first, breach above the last). A pillar's stress is itself (near enough) a percentile,
# so pillars are banded at the quantiles themselves.
BAND_QUANTILES: tuple[float, ...] = (0.30, 0.70, 0.90, 0.98)
PILLAR_BANDS = RarityBands(BAND_QUANTILES, 1)
READING_BANDS: dict[str, RarityBands] = {
    f"{MAC2_VERSION} stress": RarityBands((0.3768, 0.6362, 0.8309, 0.9386), 3),  # rule applied after the test (README)
    f"{MAC3_VERSION} stress": RarityBands((0.2251, 0.392, 0.6993, 0.8913), 3),
    "buildup": RarityBands((0.6226, 0.7586, 0.812, 0.8678), 1),  # one build-up reading, shared by mac-2.1 and mac-3.0
}

# Which methodology `scores.mac_composite` headlines, by the pre-registered rule (publish/validation.py `beats`)
# on the test years of the real history: mac-2.x's stress reading beat mac-1.x there (v1 protocol, README).
HEADLINE_METHODOLOGY = MAC2_VERSION

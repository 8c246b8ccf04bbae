"""The one catalog of raw series: what each is, where it comes from and when it becomes public.

Raw assets, the demo generator, point-in-time joins, freshness limits and `docs/catalog.md` are all
generated from `SERIES`. Add a series here and it appears everywhere: the demo source derives a model for a
series it has no hand-written one for, so a new series is this row and its rows in `thresholds.py` (a test
adds one that way and runs the graph). A series no methodology scores must be a benchmark (no pillar, no
extension component), or a test fails.

Publication lag (`lag_days`) is the number of calendar days between a value's observation date and the
day it is public. A score for day D only uses a value once `date + lag_days <= D`. Where a provider's
release day varies (COT after holidays, Z.1, SLOOS) the lag is the conservative upper end: a late
value costs a few days of timeliness, an early one would be look-ahead bias.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from typing import Literal

# What a raw table stores (its columns, units and row key): bump it when that changes, and the Dagster UI shows
# every stored raw history as changed (policy.code_version).
RAW_VERSION = "raw-1"

Frequency = Literal["daily", "business", "weekly", "monthly", "quarterly"]
Pillar = Literal[
    "liquidity", "valuation", "positioning", "volatility", "policy", "contagion", "private_credit"
]

# The extension's components (docs/extension.md): scored like pillars, but only inside the extended
# composite, so the seed spec's seven-pillar MAC is never changed by them.
ExtensionComponent = Literal["yen_carry", "cross_asset", "compression"]
EXTENSION_COMPONENTS: tuple[ExtensionComponent, ...] = ("yen_carry", "cross_asset", "compression")

PILLARS: tuple[Pillar, ...] = (
    "liquidity",
    "valuation",
    "positioning",
    "volatility",
    "policy",
    "contagion",
    "private_credit",
)

# Days between two observations, and extra days of tolerance for holidays and late releases.
_PERIOD_DAYS: dict[str, int] = {"daily": 1, "business": 3, "weekly": 7, "monthly": 31, "quarterly": 92}
_GRACE_DAYS: dict[str, int] = {"daily": 3, "business": 3, "weekly": 4, "monthly": 10, "quarterly": 20}

# Longest normal gap between observations: business series allow a long weekend plus a closure
# (four trading days after 11 September 2001), weekly series a delayed release.
_MAX_GAP_DAYS: dict[str, int] = {"daily": 7, "business": 10, "weekly": 21, "monthly": 35, "quarterly": 100}

# Face value per contract of the Treasury futures in the CFTC TFF dataset, by contract market code.
TREASURY_FUTURES_FACE_USD: dict[str, int] = {
    "042601": 200_000,  # 2-Year Note
    "044601": 100_000,  # 5-Year Note
    "043602": 100_000,  # 10-Year Note
    "043607": 100_000,  # Ultra 10-Year Note
    "020601": 100_000,  # Treasury Bond
    "020604": 100_000,  # Ultra Treasury Bond
}


@dataclass(frozen=True)
class Series:
    """One raw input series.

    `columns` are the value columns of the raw table (besides `date`); `keys` are extra identifying
    columns for datasets that carry several rows per date (the CFTC file has one row per contract), and
    `key_values` the values the key may take (the contracts the metrics read): other rows are left out.
    `valid` is the plausible range of every value column: a value outside it is a units or parsing
    error, and the blocking quality check stops it before it reaches a score.
    `extension` names the extension components (see `EXTENSION_COMPONENTS`) the series feeds; a series
    with neither pillars nor extension components is a benchmark.
    `remote` is the provider's identifier where it differs from `id` (a Binance symbol, a metric path).
    `fallback` is (provider, identifier) of a second public source of the *same* quantity, which the live
    source asks when the first provider refuses (bitcoin: Coinbase's price on FRED); rows it delivers say
    so in their `provider` column. Only the same quantity qualifies: a table mixing two different series
    (an ETF and its index) would make returns jump where one provider takes over from the other.
    `continued_by` is the provider's identifier of the *same* quantity published under another id after this
    one stopped (the CP release's `RIFSPPFAAD90NB` carries `DCPF3M` on); dates after the series' last row in a
    window whose rows have gone stale are read from it, and those rows say so in their `provider` column.
    `vintages` marks a series whose provider keeps every published version (ALFRED for revised FRED
    series: GDP, core PCE, the Z.1 levels, the Fed's balance sheet, the term premium). The live source
    stores each version with its real-time period, and a score for day D uses the version public on D;
    series without vintages (and every series on the demo and CSV sources) follow the lag rule.
    `weekday` is the day of the week a weekly series is observed (Mon = 0: WALCL is Wednesday's level,
    COT positions are Tuesday's, the stress indexes are dated on Fridays); `period_end` marks quarterly
    series dated at the quarter's end (Form PF) instead of its first day (FRED's convention).
    `stale_after_days` is the largest age (today minus newest observation date) that is still normal
    for the series' calendar; older than that the series is stale: freshness checks flag it and scores
    stop using it. By default it is lag + one period + a grace for holidays.
    """

    id: str
    title: str
    provider: str
    tier: int
    pillars: tuple[Pillar, ...]
    frequency: Frequency
    units: str
    lag_days: int
    first_date: date
    reference: str
    end_date: date | None = None
    columns: tuple[str, ...] = ("value",)
    keys: tuple[str, ...] = ()
    key_values: tuple[str, ...] = ()
    stale_after_days: int = field(default=0)
    remote: str = ""
    valid: tuple[float, float] = (float("-inf"), float("inf"))
    extension: tuple[ExtensionComponent, ...] = ()
    weekday: int | None = None
    period_end: bool = False
    fallback: tuple[str, str] | None = None
    continued_by: str = ""
    vintages: bool = False

    def __post_init__(self) -> None:
        if not self.stale_after_days:
            limit = self.lag_days + _PERIOD_DAYS[self.frequency] + _GRACE_DAYS[self.frequency]
            object.__setattr__(self, "stale_after_days", limit)

    @property
    def asset_name(self) -> str:
        return asset_name(self.id)

    @property
    def max_gap_days(self) -> int:
        """Longest normal gap between two observations (weekends, holidays, market closures)."""
        return _MAX_GAP_DAYS[self.frequency]

    @property
    def row_key(self) -> tuple[str, ...]:
        """Columns that identify one stored row: the date, the dataset's keys, and the version's start."""
        return ("date", *self.keys, *(VINTAGE_KEY if self.vintages else ()))

    @property
    def remote_id(self) -> str:
        """The provider's own identifier (ticker, symbol, metric path); the id unless it differs."""
        return self.remote or self.id


# A version's real-time period as the provider states it (`realtime_end` missing: still current), and the
# provider's first version date of the whole series (values from before it have no known release day).
VINTAGE_KEY = ("realtime_start",)
VINTAGE_COLUMNS = ("realtime_start", "realtime_end", "vintages_since")


# Raw series and derived metrics are stored from this day whatever MAC_HISTORY_START says (the first yearly
# partition reaches back to it), and every point-in-time percentile and recursion of the percentile
# methodologies starts here, so a day's score does not depend on how far back a user backfilled. 1990 is
# the first year of the oldest market-priced stress input, VIX (docs/preregistration-v2.md).
REFERENCE_START = date(1990, 1, 1)


def asset_name(series_id: str) -> str:
    """Dagster asset and DuckDB table name for a series id (`BTC-USD` → `btc_usd`)."""
    return re.sub(r"[^0-9a-z]+", "_", series_id.lower()).strip("_")


def _d(text: str) -> date:
    return date.fromisoformat(text)


FRED = "https://fred.stlouisfed.org/series/"
CBOE = "https://cdn.cboe.com/api/global/us_indices/daily_prices/"
OFR = "https://data.financialresearch.gov/hf/v1/series/timeseries?mnemonic="

SERIES: tuple[Series, ...] = (
    # --- Liquidity -------------------------------------------------------------------------------
    Series(id="SOFR", title="Secured Overnight Financing Rate", provider="fred", tier=1, pillars=("liquidity",),
           frequency="business", units="percent", lag_days=1, first_date=_d("2018-04-03"),
           reference=FRED + "SOFR", valid=(-1, 25)),
    Series(id="IORB", title="Interest rate on reserve balances", provider="fred", tier=1, pillars=("liquidity",),
           frequency="business", units="percent", lag_days=1, first_date=_d("2021-07-29"),
           reference=FRED + "IORB", valid=(-1, 25)),
    Series(id="IOER", title="Interest rate on excess reserves (ended when IORB replaced it)", provider="fred",
           tier=1, pillars=("liquidity",), frequency="business", units="percent", lag_days=1,
           first_date=_d("2008-10-09"), reference=FRED + "IOER", end_date=_d("2021-07-28"), valid=(-1, 25)),
    Series(id="DCPF3M", title="3-month AA financial commercial paper rate", provider="fred", tier=1,
           pillars=("liquidity",), frequency="business", units="percent", lag_days=1,
           first_date=_d("1997-01-02"), reference=FRED + "DCPF3M", valid=(-1, 25), continued_by="RIFSPPFAAD90NB"),
    Series(id="DTB3", title="3-month Treasury bill, secondary market", provider="fred", tier=1,
           pillars=("liquidity",), frequency="business", units="percent", lag_days=1,
           first_date=_d("1954-01-04"), reference=FRED + "DTB3", valid=(-1, 25)),
    Series(id="RRPONTSYD", title="Overnight reverse repo facility usage", provider="fred", tier=2,
           pillars=("liquidity",), frequency="business", units="USD bn", lag_days=0, first_date=_d("2003-02-07"),
           reference=FRED + "RRPONTSYD", valid=(0, 5000)),
    # --- Valuation -------------------------------------------------------------------------------
    Series(id="THREEFYTP10", title="10-year zero-coupon term premium (Kim-Wright)", provider="fred", tier=1,
           pillars=("valuation",), frequency="business", units="percent", lag_days=7,
           first_date=_d("1990-01-02"), reference=FRED + "THREEFYTP10", valid=(-5, 10), vintages=True),
    Series(id="BAMLC0A0CM", title="ICE BofA US corporate (IG) option-adjusted spread", provider="fred", tier=1,
           pillars=("valuation",), frequency="business", units="percent", lag_days=1,
           first_date=_d("1996-12-31"), reference=FRED + "BAMLC0A0CM", valid=(0, 15)),
    Series(id="BAMLH0A0HYM2", title="ICE BofA US high yield option-adjusted spread", provider="fred", tier=1,
           pillars=("valuation", "contagion", "private_credit"), frequency="business", units="percent",
           lag_days=1, first_date=_d("1996-12-31"), reference=FRED + "BAMLH0A0HYM2", valid=(0, 40),
           extension=("cross_asset",)),
    # --- Positioning -----------------------------------------------------------------------------
    Series(id="CFTC_TFF_UST", title="CFTC Traders in Financial Futures, Treasury futures (futures only)",
           provider="cftc", tier=1, pillars=("positioning",), frequency="weekly", units="contracts", lag_days=3,
           first_date=_d("2006-06-13"), reference="https://publicreporting.cftc.gov/resource/gpe5-46if.json",
           columns=("open_interest", "lev_money_long", "lev_money_short", "asset_mgr_long",
                    "asset_mgr_short", "dealer_long", "dealer_short"),
           keys=("contract_code",), key_values=tuple(TREASURY_FUTURES_FACE_USD), valid=(0, 1e8),
           extension=("compression",), weekday=1),
    Series(id="SVXY_AUM", title="ProShares Short VIX Short-Term Futures ETF (SVXY) assets", provider="etf",
           tier=1, pillars=("positioning",), frequency="business", units="USD mn", lag_days=1,
           first_date=_d("2011-10-04"), reference="https://www.proshares.com/our-etfs/strategic/svxy",
           valid=(0, 20000), extension=("compression",)),
    Series(id="BOGZ1FL663067003Q", title="Broker-dealer margin accounts receivable (Z.1)", provider="fred",
           tier=2, pillars=("positioning",), frequency="quarterly", units="USD mn", lag_days=165,
           first_date=_d("1945-10-01"), reference=FRED + "BOGZ1FL663067003Q", valid=(0, 1e8),
           extension=("compression",), vintages=True),
    Series(id="NCBEILQ027S", title="Nonfinancial corporate equities, market value (Z.1); market-cap proxy",
           provider="fred", tier=2, pillars=("positioning",), frequency="quarterly", units="USD mn",
           lag_days=165, first_date=_d("1945-10-01"), reference=FRED + "NCBEILQ027S", valid=(0, 1e9),
           extension=("compression",), vintages=True),
    Series(id="LEVETF_AUM", title="Top-10 2x/3x leveraged equity ETF assets, total", provider="etf", tier=2,
           pillars=("positioning",), frequency="business", units="USD bn", lag_days=1,
           first_date=_d("2006-06-21"), reference="https://www.proshares.com/our-etfs/leveraged-and-inverse",
           valid=(0, 5000)),
    # --- Volatility ------------------------------------------------------------------------------
    Series(id="VIX", title="Cboe Volatility Index, close", provider="cboe", tier=1, pillars=("volatility",),
           frequency="business", units="index points", lag_days=0, first_date=_d("1990-01-02"),
           reference=CBOE + "VIX_History.csv", valid=(5, 150), extension=("compression",)),
    Series(id="VIX9D", title="Cboe 9-day Volatility Index, close", provider="cboe", tier=1,
           pillars=("volatility",), frequency="business", units="index points", lag_days=0,
           first_date=_d("2011-01-04"), reference=CBOE + "VIX9D_History.csv", valid=(5, 200)),
    Series(id="VIX3M", title="Cboe 3-month Volatility Index, close", provider="cboe", tier=1,
           pillars=("volatility",), frequency="business", units="index points", lag_days=0,
           first_date=_d("2009-09-18"), reference=CBOE + "VIX3M_History.csv", valid=(5, 120)),
    Series(id="VVIX", title="Cboe VIX of VIX", provider="cboe", tier=1, pillars=("volatility",),
           frequency="business", units="index points", lag_days=0, first_date=_d("2006-03-06"),
           reference=CBOE + "VVIX_History.csv", valid=(40, 250)),
    # --- Policy ----------------------------------------------------------------------------------
    Series(id="DFF", title="Effective federal funds rate", provider="fred", tier=1, pillars=("policy",),
           frequency="daily", units="percent", lag_days=1, first_date=_d("1954-07-01"), reference=FRED + "DFF",
           valid=(-1, 25), extension=("yen_carry",)),
    Series(id="WALCL", title="Federal Reserve total assets (Wednesday level)", provider="fred", tier=1,
           pillars=("policy",), frequency="weekly", units="USD mn", lag_days=1, first_date=_d("2002-12-18"), weekday=2,
           reference=FRED + "WALCL", valid=(1e5, 5e7), vintages=True),
    Series(id="GDP", title="Nominal GDP, seasonally adjusted annual rate", provider="fred", tier=1,
           pillars=("policy",), frequency="quarterly", units="USD bn", lag_days=122, first_date=_d("1947-01-01"),
           reference=FRED + "GDP", valid=(1000.0, 1e6), vintages=True),
    Series(id="PCEPILFE", title="Core PCE price index", provider="fred", tier=1, pillars=("policy",),
           frequency="monthly", units="index 2017=100", lag_days=62, first_date=_d("1959-01-01"),
           reference=FRED + "PCEPILFE", valid=(10, 1000), vintages=True),
    # --- Contagion -------------------------------------------------------------------------------
    Series(id="SPY", title="SPDR S&P 500 ETF, close", provider="yahoo", tier=1, pillars=("contagion",),
           frequency="business", units="USD", lag_days=0, first_date=_d("1993-01-29"),
           reference="https://finance.yahoo.com/quote/SPY", valid=(10, 1e5), extension=("cross_asset",)),
    Series(id="BTC-USD", title="Bitcoin in US dollars, daily close (UTC)", provider="yahoo", tier=1,
           pillars=("contagion",), frequency="daily", units="USD", lag_days=0, first_date=_d("2014-09-17"),
           reference="https://finance.yahoo.com/quote/BTC-USD", valid=(0.01, 1e8), extension=("cross_asset",),
           fallback=("fred", "CBBTCUSD")),
    Series(id="BTCUSDT_OI", title="Binance BTCUSDT perpetual open interest, notional", provider="binance",
           tier=1, pillars=("contagion",), frequency="daily", units="USD", lag_days=0,
           first_date=_d("2019-09-10"),
           reference="https://fapi.binance.com/futures/data/openInterestHist?symbol=BTCUSDT", remote="BTCUSDT",
           valid=(0, 1e12), extension=("compression",)),
    Series(id="ETHUSDT_OI", title="Binance ETHUSDT perpetual open interest, notional", provider="binance",
           tier=1, pillars=("contagion",), frequency="daily", units="USD", lag_days=0,
           first_date=_d("2019-11-27"),
           reference="https://fapi.binance.com/futures/data/openInterestHist?symbol=ETHUSDT", remote="ETHUSDT",
           valid=(0, 1e12), extension=("compression",)),
    Series(id="DTWEXBGS", title="Nominal broad US dollar index", provider="fred", tier=1, pillars=("contagion",),
           frequency="business", units="index Jan 2006=100", lag_days=7, first_date=_d("2006-01-02"),
           reference=FRED + "DTWEXBGS", valid=(50, 200)),
    Series(id="BTC_EXCHANGE_RESERVE", title="Bitcoin held on exchange wallets", provider="glassnode", tier=2,
           pillars=("contagion",), frequency="daily", units="BTC", lag_days=1, first_date=_d("2014-09-17"),
           reference="https://studio.glassnode.com/metrics?a=BTC&m=distribution.BalanceExchanges",
           remote="distribution/balance_exchanges", valid=(0, 2e7)),
    # --- Private credit --------------------------------------------------------------------------
    Series(id="DRTSCILM", title="SLOOS: net % of banks tightening C&I standards, large and mid-size firms",
           provider="fred", tier=1, pillars=("private_credit",), frequency="quarterly", units="percent net",
           lag_days=45, first_date=_d("1990-04-01"), reference=FRED + "DRTSCILM", valid=(-100, 100)),
    # --- Extension (docs/extension.md): the yen-carry channel and the cross-asset correlation monitor -----
    Series(id="DEXJPUS", title="Japanese yen per US dollar, noon buying rate (H.10)", provider="fred", tier=1,
           pillars=(), frequency="business", units="JPY per USD", lag_days=7, first_date=_d("1971-01-04"),
           reference=FRED + "DEXJPUS", valid=(50, 400), extension=("yen_carry", "cross_asset")),
    Series(id="IRSTCI01JPM156N", title="Japan call money / interbank overnight rate, monthly average (OECD)",
           provider="fred", tier=1, pillars=(), frequency="monthly", units="percent", lag_days=75,
           first_date=_d("1985-07-01"), reference=FRED + "IRSTCI01JPM156N", valid=(-1, 15),
           extension=("yen_carry",)),
    Series(id="DGS10", title="10-year Treasury constant-maturity yield", provider="fred", tier=1, pillars=(),
           frequency="business", units="percent", lag_days=1, first_date=_d("1962-01-02"),
           reference=FRED + "DGS10", valid=(-1, 20), extension=("cross_asset",)),
    # --- Benchmarks: official stress indexes MAC is validated against; never scored -----------------
    Series(id="STLFSI4", title="St. Louis Fed Financial Stress Index (week ending Friday)", provider="fred",
           tier=1, pillars=(), frequency="weekly", units="index (0 = normal)", lag_days=7,
           first_date=_d("1993-12-31"), reference=FRED + "STLFSI4", valid=(-10, 40), weekday=4),
    Series(id="NFCI", title="Chicago Fed National Financial Conditions Index", provider="fred", tier=1,
           pillars=(), frequency="weekly", units="index (0 = average)", lag_days=5, first_date=_d("1971-01-08"), weekday=4,
           reference=FRED + "NFCI", valid=(-5, 10)),
    Series(id="ANFCI", title="Chicago Fed Adjusted National Financial Conditions Index", provider="fred", tier=1,
           pillars=(), frequency="weekly", units="index (0 = average)", lag_days=5, first_date=_d("1971-01-08"), weekday=4,
           reference=FRED + "ANFCI", valid=(-5, 10)),
    # --- Tier 3: hedge-fund leverage from Form PF (OFR Hedge Fund Monitor), quarter-end dates --------
    Series(id="FPF-ALLQHF_LEVERAGERATIO_GAVWMEAN",
           title="Qualifying hedge funds' leverage ratio, GAV-weighted mean", provider="ofr", tier=3,
           pillars=("positioning",), frequency="quarterly", units="ratio", lag_days=95,
           first_date=_d("2013-03-31"), reference=OFR + "FPF-ALLQHF_LEVERAGERATIO_GAVWMEAN", valid=(0, 100), period_end=True,
           extension=("compression",)),
    Series(id="FPF-BORROW_REPO_SUM", title="Qualifying hedge funds' repo borrowing", provider="ofr", tier=3,
           pillars=("positioning",), frequency="quarterly", units="USD", lag_days=95,
           first_date=_d("2013-03-31"), reference=OFR + "FPF-BORROW_REPO_SUM", valid=(0, 1e14), period_end=True,
           extension=("compression",)),
)

SERIES_BY_ID: dict[str, Series] = {s.id: s for s in SERIES}
BENCHMARKS: tuple[Series, ...] = tuple(s for s in SERIES if not s.pillars and not s.extension)


def get_series(series_id: str) -> Series:
    try:
        return SERIES_BY_ID[series_id]
    except KeyError:
        known = ", ".join(sorted(SERIES_BY_ID))
        raise KeyError(f"unknown series {series_id!r}; the catalog knows: {known}") from None

"""The one catalog of raw series: what each is, where it comes from and when it becomes public.

Raw assets, the demo generator, point-in-time joins, freshness limits and `docs/catalog.md` are all
generated from `SERIES`. Add a series here and it appears everywhere; nothing else lists series.

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
    columns for datasets that carry several rows per date (the CFTC file has one row per contract).
    `valid` is the plausible range of every value column: a value outside it is a units or parsing
    error, and the blocking quality check stops it before it reaches a score.
    `extension` names the extension components (see `EXTENSION_COMPONENTS`) the series feeds; a series
    with neither pillars nor extension components is a benchmark.
    `remote` is the provider's identifier where it differs from `id` (a Binance symbol, a metric path).
    `stale_after_days` is the largest age (today minus newest observation date) that is still normal
    for the series' calendar; older than that the series is stale: freshness checks flag it and scores
    stop using it. By default it is lag + one period + a grace for holidays.
    """

    id: str
    title: str
    source: str
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
    stale_after_days: int = field(default=0)
    remote: str = ""
    valid: tuple[float, float] = (float("-inf"), float("inf"))
    extension: tuple[ExtensionComponent, ...] = ()

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
    def remote_id(self) -> str:
        """The provider's own identifier (ticker, symbol, metric path); the id unless it differs."""
        return self.remote or self.id


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
    Series("SOFR", "Secured Overnight Financing Rate", "fred", 1, ("liquidity",), "business", "percent",
           1, _d("2018-04-03"), FRED + "SOFR", valid=(-1, 25)),
    Series("IORB", "Interest rate on reserve balances", "fred", 1, ("liquidity",), "business", "percent",
           1, _d("2021-07-29"), FRED + "IORB", valid=(-1, 25)),
    Series("IOER", "Interest rate on excess reserves (ended when IORB replaced it)", "fred", 1,
           ("liquidity",), "business", "percent", 1, _d("2008-10-09"), FRED + "IOER",
           end_date=_d("2021-07-28"), valid=(-1, 25)),
    Series("DCPF3M", "3-month AA financial commercial paper rate", "fred", 1, ("liquidity",), "business",
           "percent", 1, _d("1997-01-02"), FRED + "DCPF3M", valid=(-1, 25)),
    Series("DTB3", "3-month Treasury bill, secondary market", "fred", 1, ("liquidity",), "business",
           "percent", 1, _d("1954-01-04"), FRED + "DTB3", valid=(-1, 25)),
    Series("RRPONTSYD", "Overnight reverse repo facility usage", "fred", 2, ("liquidity",), "business",
           "USD bn", 0, _d("2003-02-07"), FRED + "RRPONTSYD", valid=(0, 5000)),
    # --- Valuation -------------------------------------------------------------------------------
    Series("THREEFYTP10", "10-year zero-coupon term premium (Kim-Wright)", "fred", 1, ("valuation",),
           "business", "percent", 7, _d("1990-01-02"), FRED + "THREEFYTP10", valid=(-5, 10)),
    Series("BAMLC0A0CM", "ICE BofA US corporate (IG) option-adjusted spread", "fred", 1, ("valuation",),
           "business", "percent", 1, _d("1996-12-31"), FRED + "BAMLC0A0CM", valid=(0, 15)),
    Series("BAMLH0A0HYM2", "ICE BofA US high yield option-adjusted spread", "fred", 1,
           ("valuation", "contagion", "private_credit"), "business", "percent", 1, _d("1996-12-31"),
           FRED + "BAMLH0A0HYM2", valid=(0, 40), extension=("cross_asset",)),
    # --- Positioning -----------------------------------------------------------------------------
    Series("CFTC_TFF_UST", "CFTC Traders in Financial Futures, Treasury futures (futures only)", "cftc", 1,
           ("positioning",), "weekly", "contracts", 3, _d("2006-06-13"),
           "https://publicreporting.cftc.gov/resource/gpe5-46if.json",
           columns=("open_interest", "lev_money_long", "lev_money_short", "asset_mgr_long",
                    "asset_mgr_short", "dealer_long", "dealer_short"),
           keys=("contract_code",), valid=(0, 1e8), extension=("compression",)),
    Series("SVXY_AUM", "ProShares Short VIX Short-Term Futures ETF (SVXY) assets", "etf", 1,
           ("positioning",), "business", "USD mn", 1, _d("2011-10-04"),
           "https://www.proshares.com/our-etfs/strategic/svxy", valid=(0, 20000), extension=("compression",)),
    Series("BOGZ1FL663067003Q", "Broker-dealer margin accounts receivable (Z.1)", "fred", 2,
           ("positioning",), "quarterly", "USD mn", 165, _d("1945-10-01"), FRED + "BOGZ1FL663067003Q", valid=(0, 1e8), extension=("compression",)),
    Series("NCBEILQ027S", "Nonfinancial corporate equities, market value (Z.1); market-cap proxy", "fred",
           2, ("positioning",), "quarterly", "USD mn", 165, _d("1945-10-01"), FRED + "NCBEILQ027S", valid=(0, 1e9), extension=("compression",)),
    Series("LEVETF_AUM", "Top-10 2x/3x leveraged equity ETF assets, total", "etf", 2, ("positioning",),
           "business", "USD bn", 1, _d("2006-06-21"), "https://www.proshares.com/our-etfs/leveraged-and-inverse", valid=(0, 5000)),
    # --- Volatility ------------------------------------------------------------------------------
    Series("VIX", "Cboe Volatility Index, close", "cboe", 1, ("volatility",), "business", "index points",
           0, _d("1990-01-02"), CBOE + "VIX_History.csv", valid=(5, 150), extension=("compression",)),
    Series("VIX9D", "Cboe 9-day Volatility Index, close", "cboe", 1, ("volatility",), "business",
           "index points", 0, _d("2011-01-04"), CBOE + "VIX9D_History.csv", valid=(5, 200)),
    Series("VIX3M", "Cboe 3-month Volatility Index, close", "cboe", 1, ("volatility",), "business",
           "index points", 0, _d("2009-09-18"), CBOE + "VIX3M_History.csv", valid=(5, 120)),
    Series("VVIX", "Cboe VIX of VIX", "cboe", 1, ("volatility",), "business", "index points", 0,
           _d("2006-03-06"), CBOE + "VVIX_History.csv", valid=(40, 250)),
    # --- Policy ----------------------------------------------------------------------------------
    Series("DFF", "Effective federal funds rate", "fred", 1, ("policy",), "daily", "percent", 1,
           _d("1954-07-01"), FRED + "DFF", valid=(-1, 25), extension=("yen_carry",)),
    Series("WALCL", "Federal Reserve total assets (Wednesday level)", "fred", 1, ("policy",), "weekly",
           "USD mn", 1, _d("2002-12-18"), FRED + "WALCL", valid=(1e5, 5e7)),
    Series("GDP", "Nominal GDP, seasonally adjusted annual rate", "fred", 1, ("policy",), "quarterly",
           "USD bn", 122, _d("1947-01-01"), FRED + "GDP", valid=(1000.0, 1e6)),
    Series("PCEPILFE", "Core PCE price index", "fred", 1, ("policy",), "monthly", "index 2017=100", 62,
           _d("1959-01-01"), FRED + "PCEPILFE", valid=(10, 1000)),
    # --- Contagion -------------------------------------------------------------------------------
    Series("SPY", "SPDR S&P 500 ETF, close", "yahoo", 1, ("contagion",), "business", "USD", 0,
           _d("1993-01-29"), "https://finance.yahoo.com/quote/SPY", valid=(10, 1e5), extension=("cross_asset",)),
    Series("BTC-USD", "Bitcoin in US dollars, daily close (UTC)", "yahoo", 1, ("contagion",), "daily",
           "USD", 0, _d("2014-09-17"), "https://finance.yahoo.com/quote/BTC-USD", valid=(0.01, 1e8), extension=("cross_asset",)),
    Series("BTCUSDT_OI", "Binance BTCUSDT perpetual open interest, notional", "binance", 1,
           ("contagion",), "daily", "USD", 0, _d("2019-09-10"),
           "https://fapi.binance.com/futures/data/openInterestHist?symbol=BTCUSDT", remote="BTCUSDT", valid=(0, 1e12), extension=("compression",)),
    Series("ETHUSDT_OI", "Binance ETHUSDT perpetual open interest, notional", "binance", 1,
           ("contagion",), "daily", "USD", 0, _d("2019-11-27"),
           "https://fapi.binance.com/futures/data/openInterestHist?symbol=ETHUSDT", remote="ETHUSDT", valid=(0, 1e12), extension=("compression",)),
    Series("DTWEXBGS", "Nominal broad US dollar index", "fred", 1, ("contagion",), "business",
           "index Jan 2006=100", 7, _d("2006-01-02"), FRED + "DTWEXBGS", valid=(50, 200)),
    Series("BTC_EXCHANGE_RESERVE", "Bitcoin held on exchange wallets", "glassnode", 2, ("contagion",),
           "daily", "BTC", 1, _d("2014-09-17"), "https://studio.glassnode.com/metrics?a=BTC&m=distribution.BalanceExchanges",
           remote="distribution/balance_exchanges", valid=(0, 2e7)),
    # --- Private credit --------------------------------------------------------------------------
    Series("DRTSCILM", "SLOOS: net % of banks tightening C&I standards, large and mid-size firms", "fred",
           1, ("private_credit",), "quarterly", "percent net", 45, _d("1990-04-01"), FRED + "DRTSCILM", valid=(-100, 100)),
    # --- Extension (docs/extension.md): the yen-carry channel and the cross-asset correlation monitor -----
    Series("DEXJPUS", "Japanese yen per US dollar, noon buying rate (H.10)", "fred", 1, (), "business",
           "JPY per USD", 7, _d("1971-01-04"), FRED + "DEXJPUS", valid=(50, 400),
           extension=("yen_carry", "cross_asset")),
    Series("IRSTCI01JPM156N", "Japan call money / interbank overnight rate, monthly average (OECD)", "fred", 1,
           (), "monthly", "percent", 75, _d("1985-07-01"), FRED + "IRSTCI01JPM156N", valid=(-1, 15),
           extension=("yen_carry",)),
    Series("DGS10", "10-year Treasury constant-maturity yield", "fred", 1, (), "business", "percent", 1,
           _d("1962-01-02"), FRED + "DGS10", valid=(-1, 20), extension=("cross_asset",)),
    # --- Benchmarks: official stress indexes MAC is validated against; never scored -----------------
    Series("STLFSI4", "St. Louis Fed Financial Stress Index (week ending Friday)", "fred", 1, (), "weekly",
           "index (0 = normal)", 7, _d("1993-12-31"), FRED + "STLFSI4", valid=(-10, 40)),
    Series("NFCI", "Chicago Fed National Financial Conditions Index", "fred", 1, (), "weekly",
           "index (0 = average)", 5, _d("1971-01-08"), FRED + "NFCI", valid=(-5, 10)),
    Series("ANFCI", "Chicago Fed Adjusted National Financial Conditions Index", "fred", 1, (), "weekly",
           "index (0 = average)", 5, _d("1971-01-08"), FRED + "ANFCI", valid=(-5, 10)),
    # --- Tier 3: hedge-fund leverage from Form PF (OFR Hedge Fund Monitor), quarter-end dates --------
    Series("FPF-ALLQHF_LEVERAGERATIO_GAVWMEAN", "Qualifying hedge funds' leverage ratio, GAV-weighted mean",
           "ofr", 3, ("positioning",), "quarterly", "ratio", 95, _d("2013-03-31"), OFR + "FPF-ALLQHF_LEVERAGERATIO_GAVWMEAN", valid=(0, 100), extension=("compression",)),
    Series("FPF-BORROW_REPO_SUM", "Qualifying hedge funds' repo borrowing", "ofr", 3, ("positioning",),
           "quarterly", "USD", 95, _d("2013-03-31"), OFR + "FPF-BORROW_REPO_SUM", valid=(0, 1e14), extension=("compression",)),
)

SERIES_BY_ID: dict[str, Series] = {s.id: s for s in SERIES}
BENCHMARKS: tuple[Series, ...] = tuple(s for s in SERIES if not s.pillars and not s.extension)


def get_series(series_id: str) -> Series:
    try:
        return SERIES_BY_ID[series_id]
    except KeyError:
        known = ", ".join(sorted(SERIES_BY_ID))
        raise KeyError(f"unknown series {series_id!r}; the catalog knows: {known}") from None

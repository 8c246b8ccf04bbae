"""The embedded demo source: a deterministic, seeded generator for every catalog series.

It is not real data and says so (`source = 'demo'` on every raw row). It exists so the whole graph
runs on a fresh clone with no keys and no network, and so that every pillar moves: a latent stress
factor with episodes on the dates of real crises (2008, 2011, 2018, 2020, 2025 …) drives volatility,
spreads and funding rates, while slow variables (policy rate, balance sheet, GDP, leverage) follow
dated anchor paths at real-world levels. Values are generated once per seed on a fixed calendar
(2000 → 2035), so any date's value is the same whichever window is asked for; nothing after today is
ever returned.
"""

from __future__ import annotations

import zlib
from datetime import date
from functools import lru_cache

import numpy as np
import pandas as pd
from pydantic import BaseModel, Field

from mac_assets.catalog import SERIES, SERIES_BY_ID, TREASURY_FUTURES_FACE_USD, Series
from mac_assets.pointintime import utc_today
from mac_assets.sources.base import Fetched, SeriesUnavailable

CALENDAR = pd.date_range("2000-01-01", "2035-12-31", freq="D")
DEFAULT_SEED = 20080915  # the Lehman weekend, for a demo whose history must contain a crisis

# (peak date, peak size, days of build-up, decay time constant in days) of the latent stress factor.
EPISODES: tuple[tuple[str, float, int, int], ...] = (
    ("2001-09-17", 0.6, 3, 40), ("2002-07-23", 0.55, 30, 60), ("2007-02-27", 0.25, 3, 15),
    ("2007-08-16", 0.45, 20, 45), ("2007-11-26", 0.4, 20, 40), ("2008-03-17", 0.55, 15, 35),
    ("2008-10-10", 1.0, 30, 110), ("2009-03-09", 0.5, 15, 45), ("2010-05-20", 0.45, 15, 35),
    ("2011-08-08", 0.6, 10, 60), ("2011-10-03", 0.45, 20, 40), ("2015-08-24", 0.45, 5, 25),
    ("2016-02-11", 0.35, 20, 25), ("2018-02-05", 0.5, 3, 18), ("2018-12-24", 0.45, 20, 25),
    ("2020-03-16", 1.0, 20, 45), ("2022-06-16", 0.4, 40, 40), ("2022-10-12", 0.35, 25, 40),
    ("2023-03-13", 0.45, 5, 25), ("2024-08-05", 0.4, 3, 12), ("2025-04-08", 0.65, 5, 20),
)

# Dated anchor paths (linear between anchors, flat beyond) for slow-moving levels.
PATHS: dict[str, tuple[tuple[str, float], ...]] = {
    "fed_funds": (("2000-01-01", 5.5), ("2001-01-01", 6.5), ("2001-12-15", 1.75), ("2003-07-01", 1.0),
                  ("2004-06-30", 1.0), ("2006-07-01", 5.25), ("2007-09-01", 5.25), ("2008-01-30", 3.0),
                  ("2008-04-30", 2.0), ("2008-10-29", 1.0), ("2008-12-16", 0.12), ("2015-12-16", 0.12),
                  ("2015-12-17", 0.37), ("2016-12-15", 0.62), ("2017-12-14", 1.37), ("2018-12-20", 2.40),
                  ("2019-07-31", 2.40), ("2019-11-01", 1.55), ("2020-03-02", 1.55), ("2020-03-16", 0.08),
                  ("2022-03-16", 0.08), ("2022-03-17", 0.33), ("2022-06-16", 1.58), ("2022-12-15", 4.33),
                  ("2023-07-27", 5.33), ("2024-09-18", 5.33), ("2024-12-19", 4.33), ("2025-09-17", 4.33),
                  ("2025-12-11", 3.64), ("2026-06-18", 3.38), ("2035-01-01", 3.0)),
    "repo_pressure": (("2000-01-01", -0.02), ("2019-09-01", 0.04), ("2020-06-01", -0.10),
                      ("2023-01-01", -0.07), ("2025-06-01", 0.0), ("2025-10-15", 0.10), ("2026-11-01", 0.08)),
    "rrp_bn": (("2003-02-07", 0.3), ("2013-09-22", 0.3), ("2013-10-15", 80), ("2015-12-31", 250),
               ("2017-12-31", 150), ("2018-06-30", 5), ("2021-03-01", 5), ("2021-06-30", 750),
               ("2021-12-31", 1900), ("2022-06-30", 2200), ("2022-12-31", 2300), ("2023-05-31", 2200),
               ("2023-12-31", 700), ("2024-06-30", 450), ("2024-12-31", 200), ("2025-06-30", 150),
               ("2025-09-30", 20), ("2026-11-01", 5)),
    "term_premium": (("2000-01-01", 1.0), ("2007-01-01", 0.3), ("2009-06-01", 1.4), ("2011-01-01", 1.2),
                     ("2012-07-01", 0.1), ("2013-09-01", 0.8), ("2014-12-31", 0.2), ("2016-07-01", -0.4),
                     ("2018-10-01", 0.1), ("2019-08-30", -0.9), ("2020-12-31", -0.5), ("2022-10-20", 0.4),
                     ("2023-10-19", 0.6), ("2024-06-01", 0.1), ("2025-05-20", 0.85), ("2026-11-01", 0.7)),
    "ig_base": (("2000-01-01", 1.3), ("2007-01-01", 0.85), ("2008-06-01", 2.0), ("2010-01-01", 1.6),
                ("2014-06-01", 1.05), ("2016-02-11", 1.9), ("2018-01-31", 0.9), ("2019-06-01", 1.2),
                ("2021-06-30", 0.85), ("2022-10-15", 1.6), ("2024-11-10", 0.78), ("2026-11-01", 0.85)),
    "hy_base": (("2000-01-01", 5.5), ("2002-10-01", 8.5), ("2004-01-01", 4.0), ("2007-05-31", 2.6),
                ("2008-06-01", 6.0), ("2010-01-01", 5.5), ("2014-06-23", 3.3), ("2016-02-11", 7.5),
                ("2018-01-26", 3.3), ("2019-06-01", 3.8), ("2021-06-30", 3.0), ("2022-07-05", 5.5),
                ("2024-11-10", 2.6), ("2025-06-01", 2.9), ("2026-11-01", 2.9)),
    "walcl_tn": (("2000-01-01", 0.6), ("2007-06-01", 0.88), ("2008-09-10", 0.92), ("2008-12-17", 2.25),
                 ("2010-01-01", 2.23), ("2011-06-30", 2.87), ("2012-12-31", 2.9), ("2014-10-29", 4.48),
                 ("2017-10-01", 4.46), ("2019-08-28", 3.76), ("2020-02-26", 4.16), ("2020-06-10", 7.1),
                 ("2021-12-29", 8.76), ("2022-04-13", 8.96), ("2023-03-01", 8.34), ("2023-03-22", 8.73),
                 ("2023-06-28", 8.4), ("2024-06-26", 7.26), ("2025-06-25", 6.68), ("2025-12-03", 6.55),
                 ("2026-11-01", 6.6), ("2035-01-01", 7.0)),
    "gdp_bn": (("2000-01-01", 10000), ("2007-01-01", 14500), ("2008-07-01", 14900), ("2009-04-01", 14300),
               ("2014-01-01", 17600), ("2019-10-01", 21700), ("2020-04-01", 19500), ("2020-10-01", 21500),
               ("2022-01-01", 25000), ("2024-01-01", 28600), ("2025-07-01", 30500), ("2026-07-01", 31800),
               ("2035-01-01", 45000)),
    "core_pce_yoy": (("2000-01-01", 1.7), ("2007-01-01", 2.3), ("2008-09-01", 2.4), ("2009-12-01", 1.4),
                     ("2011-01-01", 1.0), ("2012-03-01", 2.0), ("2013-06-01", 1.3), ("2015-06-01", 1.3),
                     ("2018-07-01", 2.0), ("2019-06-01", 1.6), ("2020-04-01", 0.9), ("2021-03-01", 2.0),
                     ("2021-12-01", 5.0), ("2022-02-01", 5.6), ("2022-09-01", 5.2), ("2023-06-01", 4.3),
                     ("2023-12-01", 2.9), ("2024-12-01", 2.8), ("2025-06-01", 2.7), ("2025-12-01", 2.9),
                     ("2026-11-01", 2.6), ("2035-01-01", 2.0)),
    "dollar": (("2000-01-01", 95), ("2006-01-02", 100), ("2008-07-15", 95), ("2009-03-04", 111),
               ("2011-07-27", 94), ("2015-03-13", 112), ("2016-12-28", 122), ("2018-02-15", 111),
               ("2020-03-23", 127), ("2021-05-25", 111), ("2022-10-20", 128), ("2023-07-14", 118),
               ("2025-01-13", 130), ("2025-07-01", 120), ("2026-11-01", 121)),
    "sloos_base": (("2000-01-01", 10), ("2001-01-01", 50), ("2003-01-01", 10), ("2005-01-01", -15),
                   ("2007-07-01", 10), ("2008-10-01", 30), ("2010-07-01", -10), ("2015-01-01", -5),
                   ("2020-04-01", 20), ("2021-04-01", -15), ("2022-10-01", 25), ("2023-04-01", 35),
                   ("2024-04-01", 10), ("2025-04-01", 5), ("2026-10-01", 0)),
    "mcap_tn": (("2000-01-01", 17), ("2002-10-01", 10), ("2007-10-01", 22), ("2009-03-01", 12),
                ("2013-01-01", 22), ("2018-07-01", 36), ("2018-12-31", 31), ("2020-01-01", 42),
                ("2020-04-01", 33), ("2021-10-01", 62), ("2022-09-30", 46), ("2024-01-01", 60),
                ("2025-04-01", 62), ("2025-10-01", 78), ("2026-07-01", 82), ("2035-01-01", 120)),
    "margin_ratio_pct": (("2000-01-01", 2.6), ("2002-10-01", 1.8), ("2007-07-01", 2.9), ("2009-01-01", 1.7),
                         ("2011-01-01", 2.0), ("2014-01-01", 2.3), ("2018-01-01", 2.5), ("2020-01-01", 2.2),
                         ("2021-10-01", 3.0), ("2022-10-01", 2.2), ("2024-01-01", 2.2), ("2025-10-01", 2.7),
                         ("2026-07-01", 2.8), ("2035-01-01", 2.5)),
    "basis_short_bn": (("2006-06-13", 60), ("2008-06-01", 150), ("2008-12-31", 60), ("2012-01-01", 150),
                       ("2016-01-01", 250), ("2018-06-01", 500), ("2019-12-31", 650), ("2020-03-10", 700),
                       ("2020-04-14", 400), ("2021-06-01", 450), ("2022-06-01", 500), ("2023-06-01", 700),
                       ("2024-06-01", 950), ("2025-03-25", 1100), ("2025-04-15", 900), ("2025-10-01", 1050),
                       ("2026-11-01", 1150), ("2035-01-01", 1200)),
    "svxy_aum_mn": (("2011-10-04", 30), ("2013-01-01", 200), ("2015-01-01", 350), ("2017-06-01", 900),
                    ("2018-01-31", 1600), ("2018-02-06", 300), ("2018-06-01", 450), ("2020-02-19", 500),
                    ("2020-03-20", 200), ("2021-06-01", 500), ("2024-07-15", 600), ("2024-08-06", 350),
                    ("2025-03-01", 450), ("2025-04-09", 250), ("2026-11-01", 400)),
    "levetf_aum_bn": (("2006-06-21", 2), ("2008-01-01", 14), ("2009-03-09", 10), ("2012-01-01", 18),
                      ("2015-01-01", 22), ("2018-01-26", 35), ("2020-02-19", 45), ("2020-03-23", 28),
                      ("2021-11-10", 110), ("2022-12-31", 55), ("2024-03-01", 95), ("2024-12-17", 130),
                      ("2025-04-08", 95), ("2025-10-06", 165), ("2026-11-01", 180), ("2035-01-01", 250)),
    "vix_calm": (("2000-01-01", 20), ("2004-01-01", 15), ("2007-01-01", 12), ("2009-06-01", 22),
                 ("2012-06-01", 16), ("2014-06-01", 12.5), ("2017-06-01", 10.2), ("2018-06-01", 13),
                 ("2019-06-01", 14), ("2021-01-01", 19), ("2023-06-01", 14), ("2024-06-01", 12.8),
                 ("2025-06-01", 15.5), ("2026-11-01", 16)),
    "spy": (("2000-01-01", 145), ("2002-10-09", 78), ("2007-10-09", 155), ("2009-03-09", 68),
            ("2011-04-29", 136), ("2011-10-03", 110), ("2015-05-21", 213), ("2016-02-11", 182),
            ("2018-01-26", 286), ("2018-12-24", 234), ("2020-02-19", 338), ("2020-03-23", 222),
            ("2021-12-29", 477), ("2022-10-12", 357), ("2024-07-16", 560), ("2024-12-06", 607),
            ("2025-04-08", 496), ("2025-10-28", 687), ("2026-11-01", 690), ("2035-01-01", 1000)),
    "btc": (("2014-09-17", 457), ("2015-01-14", 178), ("2016-01-01", 430), ("2017-01-01", 1000),
            ("2017-12-17", 19000), ("2018-12-15", 3200), ("2019-06-26", 12900), ("2020-03-12", 4900),
            ("2020-12-31", 29000), ("2021-04-14", 63000), ("2021-07-20", 29800), ("2021-11-10", 67500),
            ("2022-06-18", 19000), ("2022-11-21", 15800), ("2023-12-31", 42000), ("2024-03-14", 73000),
            ("2024-09-06", 54000), ("2024-12-17", 106000), ("2025-04-08", 76000), ("2025-10-06", 124000),
            ("2026-02-05", 80000), ("2026-11-01", 92000), ("2035-01-01", 150000)),
    "btc_spy_rho": (("2014-09-17", 0.0), ("2019-12-31", 0.05), ("2020-03-12", 0.5), ("2021-06-01", 0.3),
                    ("2022-01-15", 0.6), ("2022-06-15", 0.8), ("2022-12-31", 0.55), ("2023-06-30", 0.2),
                    ("2024-06-01", 0.35), ("2025-04-08", 0.7), ("2025-10-01", 0.5), ("2026-11-01", 0.45)),
    "btc_oi_bn": (("2019-09-10", 0.05), ("2019-12-31", 0.5), ("2020-03-11", 0.9), ("2020-03-13", 0.45),
                  ("2020-12-31", 2.5), ("2021-04-13", 6.5), ("2021-05-20", 3.0), ("2021-11-10", 7.5),
                  ("2022-06-18", 3.5), ("2022-11-09", 2.8), ("2023-12-31", 5.5), ("2024-03-14", 9.5),
                  ("2024-08-05", 7.0), ("2024-12-17", 11.5), ("2025-04-07", 8.0), ("2025-10-09", 15.0),
                  ("2025-10-11", 10.5), ("2026-11-01", 11.0), ("2035-01-01", 20.0)),
    "eth_oi_share": (("2019-11-27", 0.3), ("2020-12-31", 0.3), ("2021-06-01", 0.5), ("2035-01-01", 0.5)),
    "hf_leverage": (("2013-03-31", 5.5), ("2016-12-31", 6.5), ("2019-12-31", 7.5), ("2020-06-30", 6.5),
                    ("2022-12-31", 7.0), ("2024-12-31", 8.2), ("2026-06-30", 8.8), ("2035-01-01", 9.0)),
    "hf_repo_tn": (("2013-03-31", 0.5), ("2019-12-31", 0.9), ("2020-06-30", 0.7), ("2022-12-31", 1.1),
                   ("2024-12-31", 2.0), ("2026-06-30", 2.6), ("2035-01-01", 3.0)),
    "usdjpy": (("2000-01-01", 105), ("2002-01-31", 134), ("2005-01-01", 103), ("2007-06-22", 124),
               ("2008-12-17", 88), ("2011-10-31", 76), ("2012-09-30", 78), ("2013-05-22", 103),
               ("2015-06-05", 125), ("2016-08-16", 100), ("2018-01-01", 112), ("2020-03-09", 102),
               ("2021-12-31", 115), ("2022-10-21", 150), ("2023-01-16", 128), ("2023-10-31", 151),
               ("2024-07-10", 161.7), ("2024-08-05", 143), ("2025-01-10", 158), ("2025-04-21", 140),
               ("2025-11-20", 157), ("2026-11-01", 152), ("2035-01-01", 140)),
    "japan_call_rate": (("2000-01-01", 0.02), ("2000-08-11", 0.25), ("2001-03-19", 0.01), ("2006-07-14", 0.25),
                        ("2007-02-21", 0.5), ("2008-10-31", 0.3), ("2008-12-19", 0.1), ("2016-02-16", -0.05),
                        ("2024-03-19", 0.08), ("2024-07-31", 0.23), ("2025-01-24", 0.48), ("2025-12-19", 0.73),
                        ("2026-06-16", 0.98), ("2035-01-01", 1.0)),
    "ust10y": (("2000-01-01", 6.5), ("2003-06-13", 3.3), ("2007-06-12", 5.2), ("2008-12-30", 2.1),
               ("2010-04-05", 4.0), ("2012-07-24", 1.45), ("2013-12-31", 3.0), ("2016-07-08", 1.37),
               ("2018-11-08", 3.24), ("2020-03-09", 0.55), ("2020-08-04", 0.52), ("2021-12-31", 1.5),
               ("2022-10-24", 4.25), ("2023-10-19", 4.98), ("2024-04-25", 4.7), ("2024-09-16", 3.62),
               ("2025-01-14", 4.79), ("2025-04-04", 4.0), ("2025-10-22", 3.95), ("2026-11-01", 4.1),
               ("2035-01-01", 4.0)),
    "btc_reserve_mn": (("2014-09-17", 0.8), ("2017-12-17", 2.3), ("2020-03-12", 3.1), ("2021-06-01", 2.6),
                       ("2022-11-08", 2.3), ("2024-01-01", 2.2), ("2025-06-01", 2.0), ("2026-11-01", 1.9)),
}


# Share of the leveraged-funds Treasury short by contract, and each contract's listing date.
CONTRACT_SHARES = {"042601": 0.25, "044601": 0.30, "043602": 0.20, "043607": 0.10, "020601": 0.05,
                   "020604": 0.10}
CONTRACT_LISTED = {"043607": "2016-01-11", "020604": "2010-01-11"}


def _path(name: str) -> np.ndarray:
    anchors = PATHS[name]
    xs = np.array([pd.Timestamp(d).value for d, _ in anchors], dtype=float)
    ys = np.array([v for _, v in anchors], dtype=float)
    return np.interp(CALENDAR.asi8.astype(float), xs, ys)


def _rng(seed: int, name: str) -> np.random.Generator:
    return np.random.default_rng([seed, zlib.crc32(name.encode())])


def _ar1(seed: int, name: str, phi: float, sd: float) -> np.ndarray:
    """Stationary AR(1) noise with marginal standard deviation `sd` (vectorised via an EWM filter)."""
    shocks = _rng(seed, name).standard_normal(len(CALENDAR))
    filtered = pd.Series(shocks).ewm(alpha=1 - phi, adjust=False).mean().to_numpy()
    # ewm gives (1 - phi) * sum(phi^k e); scale to the stationary sd of sum(phi^k e), sqrt(1/(1-phi^2)).
    return filtered / (1 - phi) * np.sqrt(1 - phi**2) * sd


def _stress(seed: int) -> np.ndarray:
    """Latent stress in [0, ~1]: episode bumps plus a little persistent background noise."""
    t = CALENDAR.asi8 / 86_400e9
    s = np.zeros(len(CALENDAR))
    for peak, size, rise, decay in EPISODES:
        p = pd.Timestamp(peak).value / 86_400e9
        up = np.clip((t - (p - rise)) / rise, 0, 1) * (t <= p)
        down = np.exp(-np.clip(t - p, 0, None) / decay) * (t > p)
        s += size * (up + down)
    background = np.clip(0.04 + _ar1(seed, "stress", 0.98, 0.03), 0, None)
    return np.clip(s + background, 0, 1.2)


def _random_walk_around(seed: int, name: str, level: np.ndarray, daily_sd: np.ndarray,
                        shocks: np.ndarray | None = None, theta: float = 0.02) -> np.ndarray:
    """Log-price that tracks an anchor path with mean-reverting deviations driven by daily shocks."""
    z = _rng(seed, name).standard_normal(len(CALENDAR)) if shocks is None else shocks
    eps = z * daily_sd
    deviation = pd.Series(eps).ewm(alpha=theta, adjust=False).mean().to_numpy() / theta
    return np.exp(np.log(level) + deviation)


@lru_cache(maxsize=4)
def generate(seed: int) -> dict[str, pd.DataFrame | None]:
    """Every catalog series on the full demo calendar at its native frequency, for one seed (None: no model)."""
    s = _stress(seed)
    slow = pd.Series(s).ewm(halflife=25).mean().to_numpy()
    n = lambda name, phi, sd: _ar1(seed, name, phi, sd)  # noqa: E731 - short local helper

    ff = np.clip(_path("fed_funds") + n("DFF", 0.5, 0.01), 0.04, None)
    reserve = _path("fed_funds") + 0.10
    sofr_spike = 3.0 * np.exp(-np.abs((CALENDAR - pd.Timestamp("2019-09-17")).days.to_numpy()) / 1.5)
    tbill = np.clip(ff - 0.08 - 0.6 * s**2 + n("DTB3", 0.8, 0.03), 0.0, None)
    vix_calm = _path("vix_calm") * np.exp(n("VIX", 0.95, 0.12))
    vix = vix_calm + 50 * s
    z_spy = _rng(seed, "SPY").standard_normal(len(CALENDAR))
    spy_sd = 0.007 + 0.03 * s
    rho = _path("btc_spy_rho")
    z_btc = rho * z_spy + np.sqrt(1 - rho**2) * _rng(seed, "BTC").standard_normal(len(CALENDAR))
    mcap = _path("mcap_tn") * 1e6 * np.exp(n("mcap", 0.9, 0.02))
    btc_oi = _path("btc_oi_bn") * 1e9 * np.exp(n("btc_oi", 0.9, 0.06))

    daily = {
        "SOFR": reserve + _path("repo_pressure") + n("SOFR", 0.7, 0.02) + sofr_spike,
        "IORB": reserve,
        "IOER": reserve,
        "DTB3": tbill,
        "DCPF3M": tbill + 0.12 + 1.5 * s**1.5 + 1.0 * slow**1.5 + n("DCPF3M", 0.8, 0.04),
        "RRPONTSYD": np.clip(_path("rrp_bn") * np.exp(n("RRP", 0.7, 0.08)), 0, None),
        "THREEFYTP10": _path("term_premium") + 0.4 * slow + n("TP", 0.97, 0.08),
        "BAMLC0A0CM": _path("ig_base") + 4.0 * slow + n("IG", 0.95, 0.04),
        "BAMLH0A0HYM2": _random_walk_around(seed, "HY", _path("hy_base") + 14.0 * slow, 0.01 + 0.02 * s,
                                            -_with_equities(seed, "HY", z_spy, 0.3 + 0.5 * s)),
        "SVXY_AUM": _path("svxy_aum_mn") * np.exp(n("SVXY", 0.9, 0.04)),
        "BOGZ1FL663067003Q": _path("margin_ratio_pct") / 100 * mcap,
        "NCBEILQ027S": mcap,
        "LEVETF_AUM": _path("levetf_aum_bn") * np.exp(n("LEVETF", 0.95, 0.04)),
        "VIX": vix,
        "VIX9D": vix * (0.87 + 0.35 * s + n("VIX9D", 0.6, 0.03)),
        "VIX3M": vix / (0.86 + 0.45 * s + n("VIX3M", 0.8, 0.02)),
        "VVIX": 78 + 70 * s + n("VVIX", 0.9, 6),
        "DFF": ff,
        "WALCL": _path("walcl_tn") * 1e6 * np.exp(n("WALCL", 0.9, 0.003)),
        "GDP": _path("gdp_bn") * np.exp(n("GDP", 0.9, 0.004)),
        "PCEPILFE": _core_pce_index(_path("core_pce_yoy") + n("PCE", 0.9, 0.1)),
        "SPY": _random_walk_around(seed, "SPY", _path("spy"), spy_sd, z_spy),
        "BTC-USD": _random_walk_around(seed, "BTC", _path("btc"), 0.035 + 0.02 * s, z_btc),
        "BTCUSDT_OI": btc_oi,
        "ETHUSDT_OI": btc_oi * _path("eth_oi_share") * np.exp(n("eth_oi", 0.9, 0.05)),
        "DTWEXBGS": _path("dollar") * np.exp(0.04 * s + n("DXY", 0.97, 0.006)),
        "BTC_EXCHANGE_RESERVE": _path("btc_reserve_mn") * 1e6 * (1 + 0.06 * s + n("RES", 0.9, 0.003)),
        "FPF-ALLQHF_LEVERAGERATIO_GAVWMEAN": _path("hf_leverage") * (1 - 0.1 * slow) + n("HFLEV", 0.9, 0.1),
        "FPF-BORROW_REPO_SUM": _path("hf_repo_tn") * 1e12 * np.exp(n("HFREPO", 0.9, 0.03)),
        # Benchmarks: noisy readings of the same stress, so the validation report has something to find.
        "STLFSI4": -1.0 + 6.0 * s + 2.0 * slow + n("STLFSI4", 0.9, 0.25),
        "NFCI": -0.6 + 3.0 * slow + 0.5 * s + n("NFCI", 0.95, 0.08),
        "ANFCI": -0.4 + 2.5 * slow + 0.8 * s + n("ANFCI", 0.95, 0.1),
        # Extension: the yen strengthens and yields fall when the latent stress rises.
        "DEXJPUS": _random_walk_around(seed, "JPY", _path("usdjpy") * np.exp(-0.08 * s), 0.004 + 0.006 * s,
                                       _with_equities(seed, "JPY", z_spy, 0.15 + 0.6 * s)),
        "IRSTCI01JPM156N": _path("japan_call_rate") + n("JPCALL", 0.5, 0.005),
        "DGS10": np.clip(_path("ust10y") - 0.6 * s + n("DGS10", 0.97, 0.08), 0.3, None),
        "DRTSCILM": np.clip(_path("sloos_base") + 70 * slow + n("SLOOS", 0.5, 3), -30, 90),
    }
    frames = {sid: _sample(SERIES_BY_ID[sid], values) for sid, values in daily.items()}
    frames["CFTC_TFF_UST"] = _cftc(seed, SERIES_BY_ID["CFTC_TFF_UST"])
    # Every other catalog series (a new one) gets a model derived from its catalog row.
    frames |= {x.id: _sample(x, derived_model(seed, x, s, slow)) for x in SERIES if x.id not in frames}
    return frames


# Pillars priced in markets, which move with the stress of the day; the others move with its slow average.
FAST_PILLARS = ("liquidity", "valuation", "volatility", "contagion")


def derived_model(seed: int, series: Series, stress: np.ndarray, slow: np.ndarray) -> np.ndarray | None:
    """A model for a catalog series without a hand-written one, from its catalog row alone.

    The value sits low in the series' plausible range (`valid`) in calm times and rises with the stress
    factor, as spreads, volatility and funding rates do: through the range's logarithm when it is positive
    (prices, indexes, amounts), linearly otherwise (rates, net percentages). Series of a market-priced pillar
    (or a tier-1 series without a pillar) follow the day's stress, the others its slow average; a little
    persistent noise is the series' own. A series that falls under stress, or one with several value
    columns or no finite range, needs a hand-written model above: `None`, and fetching it says so.
    """
    lo, hi = series.valid
    if series.columns != ("value",) or not (np.isfinite(lo) and np.isfinite(hi) and lo < hi):
        return None
    fast = any(p in FAST_PILLARS for p in series.pillars) or (not series.pillars and series.tier == 1)
    position = np.clip(0.3 + 0.4 * (stress if fast else slow) + _ar1(seed, series.id, 0.95, 0.03), 0.02, 0.98)
    return lo * (hi / lo) ** position if lo > 0 else lo + position * (hi - lo)


def _with_equities(seed: int, name: str, z_equities: np.ndarray, rho: np.ndarray) -> np.ndarray:
    """Daily shocks correlated `rho` with the equity shocks: markets move together more under stress."""
    return rho * z_equities + np.sqrt(1 - rho**2) * _rng(seed, name).standard_normal(len(CALENDAR))


def _core_pce_index(yoy_pct: np.ndarray) -> np.ndarray:
    """Turn a year-on-year inflation path into an index level (2017 ≈ 100) on the daily calendar."""
    daily_growth = np.log1p(yoy_pct / 100) / 365.25
    level = np.exp(np.cumsum(daily_growth))
    base = level[CALENDAR.get_loc(pd.Timestamp("2017-07-01"))]
    return level / base * 100


def _native_dates(series: Series) -> np.ndarray:
    """Boolean mask of calendar days on which the series has an observation."""
    cal = CALENDAR
    mask = {
        "daily": np.ones(len(cal), bool),
        "business": cal.dayofweek < 5,
        "weekly": cal.dayofweek == (series.weekday if series.weekday is not None else 2),
        "monthly": cal.day == 1,
        "quarterly": (cal.day == 1) & np.isin(cal.month, (1, 4, 7, 10)),
    }[series.frequency]
    if series.period_end:
        mask = cal.is_quarter_end
    live = cal >= pd.Timestamp(series.first_date)
    if series.end_date is not None:
        live &= cal <= pd.Timestamp(series.end_date)
    return mask & live


def _sample(series: Series, values: np.ndarray | None) -> pd.DataFrame | None:
    if values is None:
        return None
    mask = _native_dates(series)
    return pd.DataFrame({"date": CALENDAR[mask], "value": np.round(values[mask], 6)})


def _cftc(seed: int, series: Series) -> pd.DataFrame:
    """Weekly TFF rows for the six Treasury contracts, built from the leveraged-funds short path."""
    mask = _native_dates(series)
    dates = CALENDAR[mask]
    short_bn = _path("basis_short_bn")[mask] * np.exp(_ar1(seed, "CFTC", 0.8, 0.04)[mask])
    listed = {c: dates >= pd.Timestamp(CONTRACT_LISTED.get(c, "2000-01-01")) for c in CONTRACT_SHARES}
    live_share = sum(CONTRACT_SHARES[c] * listed[c] for c in CONTRACT_SHARES)
    rows = []
    for code, share in CONTRACT_SHARES.items():
        net_short = np.round(short_bn * 1e9 * share / live_share / TREASURY_FUTURES_FACE_USD[code])
        wobble = np.exp(_ar1(seed, "CFTC" + code, 0.9, 0.1)[mask])
        longs = np.round(net_short * 0.5 * wobble)
        shorts = longs + net_short
        frame = pd.DataFrame({
            "date": dates, "contract_code": code,
            "open_interest": np.round((longs + shorts) * 2.5),
            "lev_money_long": longs, "lev_money_short": shorts,
            "asset_mgr_long": np.round(shorts * 0.9), "asset_mgr_short": np.round(longs * 0.3),
            "dealer_long": np.round(longs * 0.4), "dealer_short": np.round(shorts * 0.2),
        })
        rows.append(frame[listed[code]])
    return pd.concat(rows, ignore_index=True)



class DemoSource(BaseModel):
    """Embedded deterministic demo data (MAC_SOURCE=demo). Every row it returns is labelled 'demo'."""

    seed: int = Field(default=DEFAULT_SEED, description="Seed of the generator (MAC_DEMO_SEED).")
    as_of: str | None = Field(
        default=None, description="Last date to return, YYYY-MM-DD (default: today, UTC). Tests pin it."
    )

    @property
    def label(self) -> str:
        return "demo"

    def fetch(self, series: Series, start: date, end: date) -> Fetched:
        if series.id not in SERIES_BY_ID:  # a provider's identifier (a continuation), which the demo does not mimic
            raise SeriesUnavailable(f"demo/{series.id}: not a catalog series; the demo generates the catalog's only")
        frames = generate(self.seed)
        if frames.get(series.id) is None:
            raise KeyError(f"demo/{series.id}: the demo generator has no model for this series and cannot derive "
                           "one (several value columns, or no finite valid range in the catalog): add one to "
                           "sources/demo.py")
        last = pd.Timestamp(self.as_of) if self.as_of else utc_today()
        stop = min(pd.Timestamp(end), last.normalize() + pd.Timedelta(days=1))
        frame = frames[series.id]
        window = frame[(frame["date"] >= pd.Timestamp(start)) & (frame["date"] < stop)]
        return Fetched(window.reset_index(drop=True), provider="demo")

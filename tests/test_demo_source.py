"""The embedded demo source: every series, native calendars, deterministic, never from the future."""

from dataclasses import replace
from datetime import date

import numpy as np
import pandas as pd
import pytest

from mac_assets.catalog import SERIES, get_series
from mac_assets.sources.demo import DemoSource

SOURCE = DemoSource(seed=11, as_of="2025-06-30")


def fetch(series, start, end, source=SOURCE):
    return source.fetch(series, start, end).frame


@pytest.mark.parametrize("series", SERIES, ids=lambda s: s.id)
def test_every_catalog_series_has_demo_data_in_its_columns(series):
    frame = fetch(series, date(2024, 1, 1), date(2025, 1, 1)) if series.end_date is None else \
        fetch(series, date(2020, 1, 1), date(2021, 1, 1))
    assert len(frame) > 0
    assert list(frame.columns) == ["date", *series.keys, *series.columns]
    assert frame[list(series.columns)].notna().all().all()


def test_native_calendars_are_respected():
    def dates(sid):
        return fetch(get_series(sid), date(2023, 1, 1), date(2024, 1, 1))["date"]
    assert (dates("VIX").dt.dayofweek < 5).all()
    assert (dates("BTC-USD").dt.dayofweek >= 5).any()
    assert set(dates("CFTC_TFF_UST").dt.dayofweek) == {1}  # Tuesday positions
    assert set(dates("WALCL").dt.dayofweek) == {2}  # Wednesday level
    assert set(dates("PCEPILFE").dt.day) == {1} and len(dates("PCEPILFE")) == 12
    assert dates("GDP").dt.month.tolist() == [1, 4, 7, 10]


def test_series_exist_only_when_they_existed():
    assert fetch(get_series("SOFR"), date(2017, 1, 1), date(2018, 4, 3)).empty
    assert fetch(get_series("IOER"), date(2021, 7, 29), date(2022, 1, 1)).empty
    ultra_10y = fetch(get_series("CFTC_TFF_UST"), date(2015, 1, 1), date(2016, 1, 1))
    assert "043607" not in set(ultra_10y["contract_code"])


def test_nothing_after_as_of_is_returned():
    frame = fetch(get_series("VIX"), date(2025, 1, 1), date(2026, 1, 1))
    assert frame["date"].max() == pd.Timestamp("2025-06-30")


def test_values_do_not_depend_on_the_requested_window():
    vix = get_series("VIX")
    narrow = fetch(vix, date(2020, 3, 1), date(2020, 4, 1))
    wide = fetch(vix, date(2015, 1, 1), date(2025, 1, 1)).set_index("date").loc[narrow["date"]]
    assert wide["value"].tolist() == narrow["value"].tolist()


def test_same_seed_same_data_other_seed_other_data():
    hy = get_series("BAMLH0A0HYM2")
    a = fetch(hy, date(2020, 1, 1), date(2021, 1, 1))
    b = fetch(hy, date(2020, 1, 1), date(2021, 1, 1), DemoSource(seed=11, as_of="2025-06-30"))
    c = fetch(hy, date(2020, 1, 1), date(2021, 1, 1), DemoSource(seed=12, as_of="2025-06-30"))
    assert a.equals(b) and not a["value"].equals(c["value"])


def test_stress_episodes_show_in_real_units():
    def at(sid, day):
        frame = fetch(get_series(sid), date(2000, 1, 1), date(2025, 1, 1)).set_index("date")["value"]
        return frame.asof(pd.Timestamp(day))
    assert at("VIX", "2017-06-01") < 20 < 40 < at("VIX", "2020-03-20")
    assert at("BAMLH0A0HYM2", "2008-12-01") > 10 > 4 > at("BAMLH0A0HYM2", "2021-06-30")
    assert at("DCPF3M", "2008-10-15") - at("DTB3", "2008-10-15") > 1.0


def test_a_series_without_a_hand_written_model_gets_one_from_its_catalog_row():
    """A new series is two rows (catalog, thresholds): the demo derives its model from the catalog row."""
    from mac_assets.catalog import Series
    from mac_assets.sources.demo import _stress, derived_model

    new = Series(id="OVXCLS", title="Cboe crude oil volatility", provider="fred", tier=1, pillars=("volatility",),
                 frequency="business", units="index points", lag_days=1, first_date=date(2007, 5, 10),
                 reference="https://fred.stlouisfed.org/series/OVXCLS", valid=(5, 400))
    stress = _stress(7)
    values = derived_model(7, new, stress, stress)
    lo, hi = new.valid
    assert ((values > lo) & (values < hi)).all()
    calm, crisis = np.quantile(stress, 0.1), np.quantile(stress, 0.99)
    assert values[stress >= crisis].mean() > 2 * values[stress <= calm].mean()  # it moves with stress
    assert derived_model(7, new, stress, stress).tolist() == values.tolist()  # and is the same for a seed
    assert derived_model(7, replace(new, valid=(float("-inf"), float("inf"))), stress, stress) is None

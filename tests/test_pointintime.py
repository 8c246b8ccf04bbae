"""Point in time: a value enters a day's score only once published, and drops out when stale."""

import pandas as pd
from helpers import series_frame

from mac_assets.catalog import get_series
from mac_assets.pointintime import known_on, with_availability


def test_availability_is_observation_date_plus_catalog_lag():
    sloos = get_series("DRTSCILM")
    frame = with_availability(series_frame(["2024-01-01"], [15.0]).drop(columns="available_date"), sloos)
    assert frame["available_date"].iloc[0] == pd.Timestamp("2024-01-01") + pd.Timedelta(days=sloos.lag_days)


def test_a_quarterly_value_is_unknown_until_its_publication_day():
    q = series_frame(["2024-01-01", "2024-04-01"], [10.0, 30.0], lag_days=45)
    days = pd.DatetimeIndex(["2024-02-14", "2024-02-15", "2024-05-15", "2024-05-16"])
    got = known_on(days, q, stale_after_days=200)
    assert got["value"].isna().tolist() == [True, False, False, False]
    assert got["value"].tolist()[1:] == [10.0, 10.0, 30.0]
    assert got["obs_date"].iloc[2] == pd.Timestamp("2024-01-01")


def test_weekly_cot_positions_enter_on_friday_for_tuesday():
    cot = series_frame(["2024-03-05"], [1.0], lag_days=get_series("CFTC_TFF_UST").lag_days)
    got = known_on(pd.DatetimeIndex(["2024-03-07", "2024-03-08"]), cot, stale_after_days=14)
    assert got["value"].isna().tolist() == [True, False]


def test_stale_values_are_dropped_not_carried_forward():
    ended = series_frame(["2021-07-28"], [0.15], lag_days=1)  # IOER's last day
    got = known_on(pd.DatetimeIndex(["2021-08-02", "2021-09-30"]), ended, stale_after_days=7)
    assert got["value"].notna().tolist() == [True, False]


def test_future_observations_never_leak_into_earlier_days():
    frame = series_frame(["2024-01-02", "2024-01-03"], [1.0, 2.0], lag_days=0)
    later = pd.concat([frame, series_frame(["2024-01-10"], [99.0])], ignore_index=True)
    days = pd.DatetimeIndex(["2024-01-02", "2024-01-03", "2024-01-04"])
    assert known_on(days, frame, 7)["value"].tolist() == known_on(days, later, 7)["value"].tolist()

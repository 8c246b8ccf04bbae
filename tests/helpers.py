"""Small builders for hand-made test frames."""

import pandas as pd


def series_frame(dates, values, lag_days=0):
    d = pd.to_datetime(pd.Series(dates))
    return pd.DataFrame({"date": d, "value": [float(v) for v in values],
                         "available_date": d + pd.Timedelta(days=lag_days)})


def cftc_rows(date, positions, lag_days=3):
    """positions: {contract_code: (lev_long, lev_short)}."""
    d = pd.Timestamp(date)
    return pd.DataFrame([
        {"date": d, "contract_code": code, "lev_money_long": float(lo), "lev_money_short": float(sh),
         "available_date": d + pd.Timedelta(days=lag_days)}
        for code, (lo, sh) in positions.items()
    ])

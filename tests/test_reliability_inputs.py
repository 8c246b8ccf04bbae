"""Reliability: bad files in the CSV-folder source are refused with file, line and problem, or cleaned by a
documented rule (mac_assets/sources/csv_folder.py), and a refused file is never scored."""

from datetime import date

import pandas as pd
import pytest
from graph_helpers import run, settings_for, tables

from mac_assets.catalog import get_series
from mac_assets.raw.quality import rescaled_by
from mac_assets.sources.base import MalformedPayload
from mac_assets.sources.csv_folder import CsvFolderSource

WINDOW = (date(2000, 1, 1), date(2100, 1, 1))
TOMORROW = (pd.Timestamp.now(tz="UTC").tz_localize(None).normalize() + pd.Timedelta(days=1)).strftime("%Y-%m-%d")


def _fetch(tmp_path, text: str, series_id: str = "VIX"):
    (tmp_path / f"{series_id}.csv").write_text(text)
    return CsvFolderSource(directory=str(tmp_path)).fetch(get_series(series_id), *WINDOW).frame


REFUSED = {
    "wrong date format": ("date,close\n2024-01-02,13.2\n01/03/2024,13.5\n", "line 3: '01/03/2024' is not a date"),
    "impossible date": ("date,close\n2024-02-30,13.2\n", "line 2: '2024-02-30' is not a date"),
    "duplicate dates": ("date,close\n2024-01-02,13.2\n2024-01-03,13.5\n2024-01-02,13.9\n",
                        "lines 2 and 4: '2024-01-02' appears twice"),
    "non-numeric value": ("date,close\n2024-01-02,13.2\n2024-01-03,n/a\n", "line 3: 'n/a' in column close is not a finite"),
    "NaN spelled out": ("date,close\n2024-01-02,NaN\n", "line 2: 'NaN' in column close is not a finite number"),
    "infinity": ("date,close\n2024-01-02,inf\n", "line 2: 'inf' in column close is not a finite number"),
    "huge value": ("date,close\n2024-01-02,13.2\n2024-01-03,1e12\n",
                   "line 3: '1e12' in column close is outside the plausible range [5, 150]"),
    "future date": (f"date,close\n2024-01-02,13.2\n{TOMORROW},14.0\n", f"line 3: '{TOMORROW}' is in the future"),
    "empty file": ("", "VIX.csv is empty"),
    "no value column": ("date\n2024-01-02\n", "needs a date column and at least one value column"),
}


@pytest.mark.parametrize("case", sorted(REFUSED))
def test_bad_csv_inputs_are_refused_naming_file_line_and_problem(case, tmp_path):
    text, message = REFUSED[case]
    with pytest.raises(MalformedPayload) as err:
        _fetch(tmp_path, text)
    assert "csv/VIX" in str(err.value) and "VIX.csv" in str(err.value)
    assert message in str(err.value)


def test_unsorted_rows_are_sorted_and_empty_cells_dropped_by_the_documented_rules(tmp_path):
    out = _fetch(tmp_path, "date,close\n2024-01-04,14.0\n2024-01-02,13.2\n2024-01-03,\n")
    assert out["date"].dt.strftime("%Y-%m-%d").tolist() == ["2024-01-02", "2024-01-04"]
    assert out["value"].tolist() == [13.2, 14.0]


def test_a_header_without_rows_is_a_series_with_no_observations(tmp_path):
    assert _fetch(tmp_path, "date,close\n").empty


def test_duplicates_are_judged_per_contract_in_multi_row_datasets(tmp_path):
    header = "date,cftc_contract_code,open_interest,lev_money_long,lev_money_short,asset_mgr_long,asset_mgr_short,dealer_long,dealer_short\n"
    row = "2024-01-02,{code},1,1,1,1,1,1,1\n"
    ok = _fetch(tmp_path, header + row.format(code="042601") + row.format(code="044601"), "CFTC_TFF_UST")
    assert len(ok) == 2
    with pytest.raises(MalformedPayload, match="lines 2 and 3"):
        _fetch(tmp_path, header + row.format(code="042601") * 2, "CFTC_TFF_UST")


@pytest.mark.graph
def test_a_refused_file_is_never_scored_and_the_stored_rows_stay(tmp_path):
    folder = tmp_path / "drop"
    folder.mkdir()
    days = pd.bdate_range("2021-01-01", "2021-06-30")
    good = pd.DataFrame({"date": days.strftime("%Y-%m-%d"), "close": 15.0})
    good.to_csv(folder / "VIX.csv", index=False)
    path = tmp_path / "csv.duckdb"
    settings = settings_for(path, source="csv", csv_dir=str(folder), history_start=date(2021, 1, 1))
    assert run(path, "2021", "2021", source=CsvFolderSource(directory=str(folder)), settings=settings).success
    stored = tables(path)["raw.vix"]

    bad = pd.concat([good, pd.DataFrame({"date": ["2021-07-01"], "close": [1500.0]})])  # ×100 units slip
    bad.to_csv(folder / "VIX.csv", index=False)
    result = run(path, "2021", "2021", source=CsvFolderSource(directory=str(folder)), settings=settings)
    assert result.success
    check = next(e for e in result.get_asset_check_evaluations()
                 if e.asset_key.path[-1] == "vix" and e.check_name == "fetch_succeeded")
    line = len(good) + 2  # header + the good rows, then the bad one
    assert not check.passed and f"line {line}: '1500.0' in column close is outside" in check.metadata["error"].value
    after = tables(path)
    pd.testing.assert_frame_equal(after["raw.vix"], stored)
    vix = after["scores.indicator_scores"].query("indicator == 'vix'").set_index("date")
    later = vix.loc["2021-07-01":, "value"]
    assert (later.dropna() == 15.0).all()  # 1500 never reached a score: the last good value, then none
    assert later.isna().any() and (vix.loc[later.isna()[later.isna()].index, "status"] == "no_data").all()


def test_a_window_rescaled_by_one_factor_is_told_from_a_revision():
    spy = get_series("SPY")
    days = pd.bdate_range("2024-01-02", periods=8)
    stored = pd.DataFrame({"date": days, "value": [400.0 + i for i in range(8)]})
    split = stored.assign(value=stored["value"] / 4)  # a 4:1 split applied to the whole history after the fact
    revised = stored.assign(value=stored["value"] + [0, 0.5, 0, 0, 1.2, 0, 0, 0])
    assert rescaled_by(spy, stored, split) == pytest.approx(0.25)
    assert rescaled_by(spy, stored, revised) is None and rescaled_by(spy, stored, stored) is None
    assert rescaled_by(spy, stored.head(3), split.head(3)) is None  # too little overlap to call it


@pytest.mark.graph
def test_a_fetch_that_rescales_stored_history_is_refused_and_the_table_keeps_one_scale(tmp_path):
    folder = tmp_path / "drop"
    folder.mkdir()
    days = pd.bdate_range("2021-01-01", "2021-06-30")
    prices = pd.DataFrame({"date": days.strftime("%Y-%m-%d"), "close": [380.0 + i % 7 for i in range(len(days))]})
    prices.to_csv(folder / "SPY.csv", index=False)
    path = tmp_path / "csv.duckdb"
    settings = settings_for(path, source="csv", csv_dir=str(folder), history_start=date(2021, 1, 1))
    assert run(path, "2021", "2021", source=CsvFolderSource(directory=str(folder)), settings=settings).success
    stored = tables(path)["raw.spy"]

    prices.assign(close=prices["close"] / 4).to_csv(folder / "SPY.csv", index=False)  # re-exported after a split
    result = run(path, "2021", "2021", source=CsvFolderSource(directory=str(folder)), settings=settings)
    check = next(e for e in result.get_asset_check_evaluations()
                 if e.asset_key.path[-1] == "spy" and e.check_name == "fetch_succeeded")
    assert not check.passed and "changed by the same factor ×0.25" in check.metadata["error"].value
    pd.testing.assert_frame_equal(tables(path)["raw.spy"], stored)

"""A catalog series continued under another identifier (DCPF3M → RIFSPPFAAD90NB): one history, each row naming who
delivered it, and no continuation where the series had not begun or is still fresh."""

from datetime import date
from pathlib import Path

import pandas as pd

from mac_assets.catalog import SERIES_BY_ID
from mac_assets.sources.base import fetch_continued, validate_fetch
from mac_assets.sources.csv_folder import CsvFolderSource

CP = SERIES_BY_ID["DCPF3M"]


def folder(tmp_path: Path, own: list[str], successor: list[str]) -> CsvFolderSource:
    pd.DataFrame({"date": own, "DCPF3M": 1.5}).to_csv(tmp_path / "DCPF3M.csv", index=False)
    pd.DataFrame({"date": successor, "RIFSPPFAAD90NB": 2.5}).to_csv(tmp_path / "RIFSPPFAAD90NB.csv", index=False)
    return CsvFolderSource(directory=str(tmp_path))


def test_dates_after_the_series_ended_come_from_its_continuation_and_say_so(tmp_path):
    source = folder(tmp_path, ["2017-11-02", "2017-11-03"], ["2017-11-02", "2017-11-03", "2017-11-06", "2018-01-02"])
    got = fetch_continued(source, CP, date(2017, 1, 1), date(2019, 1, 1))
    rows = validate_fetch("csv", CP, got.frame, date(2017, 1, 1), date(2019, 1, 1))
    assert rows["date"].is_unique and len(rows) == 4  # the overlap is the series' own, once
    assert rows.set_index(rows["date"].dt.strftime("%Y-%m-%d"))["provider"].to_dict() == {
        "2017-11-02": "csv", "2017-11-03": "csv", "2017-11-06": "csv:RIFSPPFAAD90NB",
        "2018-01-02": "csv:RIFSPPFAAD90NB"}
    assert any("RIFSPPFAAD90NB, which continues it" in note for note in got.notes)


def test_a_fresh_series_or_one_not_yet_begun_is_not_continued(tmp_path):
    source = folder(tmp_path, ["2017-12-28", "2017-12-29"], ["2017-12-29", "1995-06-01"])
    fresh = fetch_continued(source, CP, date(2017, 1, 1), date(2018, 1, 1))
    assert "provider" not in fresh.frame.columns and not fresh.notes
    before = fetch_continued(source, CP, date(1990, 1, 1), date(1996, 1, 1))  # DCPF3M begins in 1997
    assert "provider" not in before.frame.columns


def test_the_folder_does_not_call_a_continuation_an_unknown_file(tmp_path):
    assert folder(tmp_path, ["2017-11-03"], ["2017-11-06"]).unknown_files() == []

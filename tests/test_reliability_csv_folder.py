"""Reliability of the CSV folder against what lands in it: files too large to read, names that are not one line.

The folder is the CSV source and the live source's fallback for vendor drops, so anything can arrive:
a 315 MB export used to be read whole (1.98 GB of memory) before any check.
"""

from __future__ import annotations

from datetime import date

import pandas as pd
import pytest

from mac_assets.catalog import get_series
from mac_assets.infra.settings import load_settings
from mac_assets.sources.base import MalformedPayload, SeriesUnavailable
from mac_assets.sources.csv_folder import DEFAULT_MAX_BYTES, CsvFolderSource
from mac_assets.sources.live import LiveSource

VIX = get_series("VIX")
JANUARY = (date(2021, 1, 1), date(2021, 2, 1))


def _write(folder, name: str, rows: int, value: float) -> int:
    dates = pd.bdate_range("2021-01-04", periods=rows)
    (folder / name).write_text("date,close\n" + "".join(f"{d:%Y-%m-%d},{value}\n" for d in dates))
    return (folder / name).stat().st_size


def test_a_csv_file_over_the_size_limit_is_refused_before_reading_naming_file_and_setting(tmp_path, monkeypatch):
    size = _write(tmp_path, "VIX.csv", 300, 22.5)
    _write(tmp_path, "SVXY_AUM.csv", 300, 300.0)
    read = []
    monkeypatch.setattr(pd, "read_csv", lambda *a, **kw: read.append(a) or pytest.fail("the file was parsed"))
    with pytest.raises(MalformedPayload, match=r"csv/VIX: VIX.csv is 0.0 MB, more than MAC_CSV_MAX_BYTES \(0.0 MB\): "
                                               r"refused before reading. If the file is right, raise MAC_CSV_MAX_BYTES"):
        CsvFolderSource(directory=str(tmp_path), max_bytes=size - 1).fetch(VIX, *JANUARY)
    # The live source reads the same folder (vendor drops, fallbacks) under the same limit.
    with pytest.raises(MalformedPayload, match="SVXY_AUM.csv is 0.0 MB, more than MAC_CSV_MAX_BYTES"):
        LiveSource(clients={}, csv_dir=str(tmp_path), csv_max_bytes=size - 1).fetch(get_series("SVXY_AUM"), *JANUARY)
    assert read == []
    monkeypatch.undo()
    assert len(CsvFolderSource(directory=str(tmp_path), max_bytes=size).fetch(VIX, *JANUARY).frame) == 300


def test_the_csv_size_limit_is_a_setting_with_a_generous_default():
    assert load_settings({}).csv_max_bytes == DEFAULT_MAX_BYTES == 64 * 2**20
    assert load_settings({"MAC_CSV_MAX_BYTES": "1000"}).csv_max_bytes == 1000
    with pytest.raises(ValueError, match="MAC_CSV_MAX_BYTES='64MB' is not an integer"):
        load_settings({"MAC_CSV_MAX_BYTES": "64MB"})


def test_only_the_columns_a_series_needs_are_read(tmp_path):
    (tmp_path / "VIX.csv").write_text("date,open,close,note\n2021-01-04,1,22.5,text\n2021-01-05,2,23.0,\"a, b\"\n")
    frame = CsvFolderSource(directory=str(tmp_path)).fetch(VIX, *JANUARY).frame
    assert list(frame.columns) == ["date", "value"] and frame["value"].tolist() == [22.5, 23.0]


def test_a_file_name_with_a_newline_is_shown_on_one_line(tmp_path):
    (tmp_path / "VIX\nrm -rf.csv").write_text("date,value\n2021-01-04,22.5\n")
    (tmp_path / "DCPF1M\n.csv").write_text("date,value\n2021-01-04,0.1\n")
    folder = CsvFolderSource(directory=str(tmp_path))
    ignored = folder.unknown_files()
    assert ignored and all("\n" not in line for line in ignored)
    assert "'VIX\\nrm -rf.csv'" in ignored[1]
    with pytest.raises(SeriesUnavailable) as refused:
        folder.fetch(get_series("DCPF3M"), *JANUARY)
    assert "\n" not in str(refused.value) and "'DCPF1M\\n.csv'" in str(refused.value)

"""The CSV-folder source's format rules, and how the live source routes series to clients."""

from datetime import date
from pathlib import Path

import pytest

from mac_assets.catalog import get_series
from mac_assets.infra.settings import load_settings
from mac_assets.sources.base import MalformedPayload, SeriesUnavailable
from mac_assets.sources.csv_folder import CsvFolderSource
from mac_assets.sources.live import LiveSource
from mac_assets.sources.resources import build_source

VALIDATION = Path(__file__).resolve().parents[2] / "shared" / "validation" / "raw"
Y = (date(2000, 1, 1), date(2030, 1, 1))


def folder(tmp_path, files: dict[str, str]) -> CsvFolderSource:
    for name, text in files.items():
        (tmp_path / name).write_text(text)
    return CsvFolderSource(directory=str(tmp_path))


@pytest.mark.parametrize("header,expected", [
    ("date,value", 15.5), ("date,VIX", 15.5), ("date,open,high,low,close", 40.0), ("Date,adj_close", 15.5),
])
def test_csv_value_column_is_value_then_id_then_close(tmp_path, header, expected):
    n = header.count(",")
    row = ",".join(["2024-01-02"] + (["15.5"] if n == 1 else ["10.0", "20.0", "30.0", "40.0"]))
    src = folder(tmp_path, {"VIX.csv": f"{header}\n{row}\n"})
    assert src.fetch(get_series("VIX"), *Y).frame["value"].tolist() == [expected]


def test_csv_missing_file_is_unavailable_not_an_error(tmp_path):
    with pytest.raises(SeriesUnavailable, match="csv/VVIX: no file VVIX.csv"):
        folder(tmp_path, {}).fetch(get_series("VVIX"), *Y)


def test_csv_bad_rows_are_refused_with_file_and_line(tmp_path):
    src = folder(tmp_path, {"VIX.csv": "date,value\n2024-01-02,12\n01/03/2024,13\n",
                            "VVIX.csv": "date,value\n2024-01-02,80\n2024-01-03,eighty\n"})
    with pytest.raises(MalformedPayload, match=r"VIX.csv line 3: '01/03/2024' is not a date in YYYY-MM-DD form"):
        src.fetch(get_series("VIX"), *Y)
    with pytest.raises(MalformedPayload, match=r"VVIX.csv line 3: 'eighty' in column value is not a finite number"):
        src.fetch(get_series("VVIX"), *Y)


def test_csv_cftc_long_format_accepts_cftc_contract_code(tmp_path):
    header = "date,cftc_contract_code,market_name,open_interest,lev_money_long,lev_money_short,asset_mgr_long,asset_mgr_short,dealer_long,dealer_short"
    src = folder(tmp_path, {"CFTC_TFF_UST.csv": f"{header}\n2024-01-02,043602,UST 10Y NOTE,4500000,100,900,1,2,3,4\n"})
    frame = src.fetch(get_series("CFTC_TFF_UST"), *Y).frame
    assert frame["contract_code"].tolist() == ["043602"] and frame["lev_money_short"].tolist() == [900.0]


@pytest.mark.skipif(not VALIDATION.is_dir(), reason="../shared/validation/raw is not present")
def test_csv_reads_the_validation_folder_as_laid_out():
    src = CsvFolderSource(directory=str(VALIDATION))
    since_2007 = (date(2007, 1, 1), Y[1])  # the product's default history start
    for sid in ("VIX", "VVIX", "SPY", "BTC-USD", "DTB3", "CFTC_TFF_UST", "DRTSCILM"):
        frame = src.fetch(get_series(sid), *since_2007).frame
        assert len(frame) > 100 and frame["date"].is_monotonic_increasing, sid
    # The file's first months of VVIX (2006) hold VIX-like values (15.7 on 2006-03-15): asked for, refused.
    with pytest.raises(MalformedPayload, match=r"VVIX.csv line 3: '15.710000' in column VVIX is outside"):
        src.fetch(get_series("VVIX"), *Y)


def live(tmp_path, **kw) -> LiveSource:
    settings = load_settings({"MAC_SOURCE": "live", "MAC_CSV_DIR": str(tmp_path)})
    source = build_source(settings)
    return source.model_copy(update=kw) if kw else source


def test_series_without_a_public_api_come_from_the_csv_folder(tmp_path):
    (tmp_path / "SVXY_AUM.csv").write_text("date,value\n2024-01-02,512.5\n")
    assert live(tmp_path).fetch(get_series("SVXY_AUM"), *Y).frame["value"].tolist() == [512.5]


def test_without_a_file_such_series_are_unavailable(tmp_path):
    with pytest.raises(SeriesUnavailable, match="csv/LEVETF_AUM: no file LEVETF_AUM.csv"):
        live(tmp_path).fetch(get_series("LEVETF_AUM"), *Y)
    source = build_source(load_settings({"MAC_SOURCE": "live"}))
    with pytest.raises(SeriesUnavailable, match="live/LEVETF_AUM: no public API for provider 'etf'; set MAC_CSV_DIR"):
        source.fetch(get_series("LEVETF_AUM"), *Y)


def test_a_keyless_glassnode_falls_back_to_the_csv_folder(tmp_path):
    (tmp_path / "BTC_EXCHANGE_RESERVE.csv").write_text("date,value\n2024-01-02,2300000\n")
    assert live(tmp_path).fetch(get_series("BTC_EXCHANGE_RESERVE"), *Y).frame["value"].tolist() == [2300000.0]


def test_base_urls_come_from_the_environment():
    source = build_source(load_settings({"MAC_SOURCE": "live", "MAC_CBOE_BASE_URL": "http://mirror.local/cboe"}))
    clients = source.built_source.clients
    assert clients["cboe"].base_url == "http://mirror.local/cboe"
    assert clients["fred"].base_url == "https://api.stlouisfed.org/fred"
    assert clients["fred"].api_key == ""  # outside a run the key is not resolved, and its name is not a key


def test_csv_source_needs_its_folder():
    with pytest.raises(ValueError, match="MAC_SOURCE=csv needs MAC_CSV_DIR"):
        build_source(load_settings({"MAC_SOURCE": "csv"}))

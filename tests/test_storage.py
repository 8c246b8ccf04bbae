"""DuckDB writes are atomic and by column name; reads can reach back before their partition."""

from datetime import UTC, datetime

import duckdb
import pandas as pd
import pytest

from mac_assets.infra.warehouse import StorageError, explain, read_frame, write_frame

Y2020 = (datetime(2020, 1, 1, tzinfo=UTC), datetime(2021, 1, 1, tzinfo=UTC))
Y2021 = (datetime(2021, 1, 1, tzinfo=UTC), datetime(2022, 1, 1, tzinfo=UTC))


def frame(dates, values, **extra):
    return pd.DataFrame({"date": pd.to_datetime(dates), "value": values, **extra})


@pytest.fixture
def db(tmp_path):
    return str(tmp_path / "t.duckdb")


def test_rewriting_a_partition_replaces_only_its_rows(db):
    write_frame(db, "raw.x", frame(["2020-05-01"], [1.0]), Y2020)
    write_frame(db, "raw.x", frame(["2021-05-01"], [2.0]), Y2021)
    write_frame(db, "raw.x", frame(["2020-05-01", "2020-06-01"], [3.0, 4.0]), Y2020)
    got = read_frame(db, "raw.x")
    assert got["value"].tolist() == [3.0, 4.0, 2.0]


def test_a_failed_write_keeps_the_previous_rows(db):
    write_frame(db, "raw.x", frame(["2020-05-01"], [1.0]), Y2020)
    bad = frame(["2020-05-01"], ["not a number"])  # VARCHAR into DOUBLE fails after the delete ran
    with pytest.raises(StorageError, match="raw.x: write failed and was rolled back"):
        write_frame(db, "raw.x", bad, Y2020)
    assert read_frame(db, "raw.x")["value"].tolist() == [1.0]


def test_columns_are_matched_by_name_not_position(db):
    write_frame(db, "derived.y", frame(["2020-05-01"], [1.0], other=[2.0]), Y2020)
    reordered = pd.DataFrame({"other": [20.0], "value": [10.0], "date": pd.to_datetime(["2020-06-01"])})
    write_frame(db, "derived.y", reordered, Y2020)
    got = read_frame(db, "derived.y")
    assert got[["value", "other"]].iloc[0].tolist() == [10.0, 20.0]


def test_a_new_column_is_added_without_losing_rows(db):
    write_frame(db, "raw.x", frame(["2021-05-01"], [1.0]), Y2021)
    write_frame(db, "raw.x", frame(["2020-05-01"], [2.0], realtime_start=pd.to_datetime(["2020-05-02"])), Y2020)
    got = read_frame(db, "raw.x")
    assert got["value"].tolist() == [2.0, 1.0]
    assert got["realtime_start"].isna().tolist() == [False, True]


def test_rows_outside_the_partition_window_are_refused_and_nothing_changes(db):
    write_frame(db, "raw.x", frame(["2020-05-01"], [1.0]), Y2020)
    with pytest.raises(StorageError, match="outside the partition window 2020-01-01..2021-01-01"):
        write_frame(db, "raw.x", frame(["2020-06-01", "2021-01-01"], [5.0, 6.0]), Y2020)
    assert read_frame(db, "raw.x")["value"].tolist() == [1.0]


def test_reads_reach_back_before_the_window(db):
    write_frame(db, "raw.x", frame(["2019-12-01", "2019-12-30"], [1.0, 2.0]), (Y2020[0].replace(year=2019), Y2020[0]))
    write_frame(db, "raw.x", frame(["2020-01-02"], [3.0]), Y2020)
    since = datetime(2019, 12, 15)
    assert read_frame(db, "raw.x", since=since, until=datetime(2021, 1, 1))["value"].tolist() == [2.0, 3.0]


def test_dates_are_stored_as_date_and_read_back_as_timestamps(db):
    write_frame(db, "raw.x", frame(["2020-05-01"], [1.0]), Y2020)
    con = duckdb.connect(db, read_only=True)
    assert con.execute("select data_type from information_schema.columns where column_name = 'date'").fetchone() == ("DATE",)
    con.close()
    assert read_frame(db, "raw.x")["date"].dtype == "datetime64[ns]"


def test_reading_a_missing_table_names_it(db):
    write_frame(db, "raw.x", frame(["2020-05-01"], [1.0]), Y2020)
    with pytest.raises(StorageError, match="raw.nope does not exist"):
        read_frame(db, "raw.nope")


def test_a_file_written_by_duckdb_2_says_how_to_rebuild_it_from_the_backups():
    # DuckDB 1.5's own words for a file of mac-assets before the pin (DuckDB 2.0), as seen on this machine.
    seen = duckdb.IOException("IO Error: Trying to read a database file with version number 999, but we can only "
                              "read versions between 64 and 68.\nThe database file was created with an newer version "
                              "of DuckDB.")
    message = str(explain("data/demo/mac.duckdb", seen))
    assert "written by a newer DuckDB" in message and "`make restore`" in message and "Parquet" in message

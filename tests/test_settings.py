"""Environment settings and source choice fail loudly and name the variable."""

from datetime import date

import pytest

from mac_assets.infra.settings import load_settings
from mac_assets.sources.resources import build_source


def test_defaults():
    s = load_settings({})
    assert (s.duckdb_path, s.bi_path, s.source, s.history_start) == (
        "data/demo/mac.duckdb", "data/demo/mac_bi.duckdb", "demo", date(2007, 1, 1))


def test_each_source_has_its_own_files_by_default():
    live = load_settings({"MAC_SOURCE": "live"})
    assert (live.duckdb_path, live.bi_path) == ("data/live/mac.duckdb", "data/live/mac_bi.duckdb")


def test_a_bad_history_start_names_the_variable():
    with pytest.raises(ValueError, match="MAC_HISTORY_START='2008/01/01'"):
        load_settings({"MAC_HISTORY_START": "2008/01/01"})


def test_an_unknown_source_lists_the_choices():
    with pytest.raises(ValueError, match="MAC_SOURCE='bloomberg' is not available; choose one of: demo"):
        build_source(load_settings({"MAC_SOURCE": "bloomberg"}))


def test_a_bi_file_named_like_its_schema_is_refused():
    with pytest.raises(ValueError, match="'bi' would clash with the bi schema"):
        load_settings({"MAC_BI_PATH": "exports/bi.duckdb"})


def test_retention_keeps_failed_runs_at_least_as_long_as_the_others():
    s = load_settings({})
    assert (s.retention_days, s.retention_failed_days) == (30, 90)
    assert load_settings({"MAC_RETENTION_DAYS": "120"}).retention_failed_days == 120  # follows a longer horizon
    with pytest.raises(ValueError, match="MAC_RETENTION_DAYS=0 must be at least 1"):
        load_settings({"MAC_RETENTION_DAYS": "0"})
    with pytest.raises(ValueError, match="MAC_RETENTION_FAILED_DAYS=7 must be at least MAC_RETENTION_DAYS=30"):
        load_settings({"MAC_RETENTION_FAILED_DAYS": "7"})


@pytest.mark.parametrize("value", ["0", "-5", "0.5", "soon", "inf", "nan"])
def test_a_fetch_budget_that_is_not_a_number_of_seconds_of_at_least_one_is_refused_naming_the_variable(value):
    with pytest.raises(ValueError, match=f"MAC_FETCH_BUDGET_S='{value}'"):
        load_settings({"MAC_FETCH_BUDGET_S": value})
    assert load_settings({"MAC_FETCH_BUDGET_S": "7.5"}).fetch_budget_s == 7.5
    assert load_settings({}).fetch_budget_s == 120

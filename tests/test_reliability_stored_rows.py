"""Reliability of stored rows: a bad answer is refused before it is written, a bad stored row is quarantined,
and a provider that rewrites history leaves a trace.

Raw tables are append-only, so one bad answer that got stored used to fail the blocking `is_valid`
check of every later run until someone deleted rows by hand. The rules are pure functions of
`raw/quality.py`; the smallest graph runs (one raw asset, one year) prove the wiring.
"""

from __future__ import annotations

import warnings
from dataclasses import replace
from datetime import UTC, datetime

import pandas as pd
import pytest
from graph_helpers import run_assets, settings_for, tables

from mac_assets.catalog import get_series
from mac_assets.infra import warehouse
from mac_assets.raw.quality import answer_problems, revision_refusal, row_problems
from mac_assets.sources.demo import DemoSource

T = pd.Timestamp
AS_OF = "2021-06-30"
TODAY = T("2021-06-30")
PCE, GDP = get_series("PCEPILFE"), get_series("GDP")


def versions(series, rows) -> pd.DataFrame:
    """(date, value, realtime_start, realtime_end) rows of a versioned series, as the FRED client returns them."""
    frame = pd.DataFrame(rows, columns=["date", "value", "realtime_start", "realtime_end"])
    return frame.assign(**{c: pd.to_datetime(frame[c]) for c in ("date", "realtime_start", "realtime_end")},
                        vintages_since=T("1991-12-04"))


# --- the rules, on frames ------------------------------------------------------------------------------

def test_an_overlapping_open_ended_second_version_at_ten_times_the_value_is_refused():
    good = versions(PCE, [("2021-01-01", 110.0, "2021-03-01", None), ("2021-02-01", 111.0, "2021-04-01", None)])
    bad = pd.concat([good, good.assign(value=good["value"] * 10, realtime_start=good["realtime_start"] + pd.Timedelta(days=7))])
    assert answer_problems(PCE, good.iloc[:0], good, TODAY) == ""
    problems = answer_problems(PCE, good.iloc[:0], bad, TODAY)
    assert "2 rows a value outside the series' plausible range, first dated 2021-01-01" in problems
    # Within range, the overlap alone is refused: the second version starts before the first one ended.
    overlapping = pd.concat([good, good.assign(value=good["value"] + 1, realtime_start=good["realtime_start"] + pd.Timedelta(days=7))])
    assert "2 rows a version that starts before the previous version of the observation ended" in \
        answer_problems(PCE, good.iloc[:0], overlapping, TODAY)
    # Closed properly, the same second version is a revision like any other.
    revised = overlapping.assign(realtime_end=[T("2021-03-07"), T("2021-04-07"), pd.NaT, pd.NaT])
    assert answer_problems(PCE, good.iloc[:0], revised, TODAY) == ""


def test_a_version_ending_before_it_starts_or_public_before_its_date_or_a_future_date_is_refused():
    gdp = versions(GDP, [("2020-10-01", 21000.0, "2021-01-28", "2021-01-01"),  # ends before it starts
                         ("2021-01-01", 21500.0, "2020-12-15", None)])  # public before the quarter began
    problems = answer_problems(GDP, gdp.iloc[:0], gdp, TODAY)
    assert "1 row a version whose real-time period ends before it starts, first dated 2020-10-01" in problems
    assert "1 row a version public before the day it observes (look-ahead), first dated 2021-01-01" in problems
    vix = pd.DataFrame({"date": pd.to_datetime(["2021-06-29", "2021-07-02"]), "value": [17.0, 18.0]})
    assert answer_problems(get_series("VIX"), vix.iloc[:0], vix, TODAY) == "1 row dated after today, first dated 2021-07-02"


def test_an_answer_that_overlaps_a_stored_version_it_does_not_replace_is_refused():
    stored = versions(PCE, [("2021-01-01", 110.0, "2021-03-01", None)])
    later = versions(PCE, [("2021-01-01", 112.0, "2021-04-01", None)])  # the stored version was never closed
    assert "version that starts before the previous version" in answer_problems(PCE, stored, later, TODAY)
    closing = versions(PCE, [("2021-01-01", 110.0, "2021-03-01", "2021-03-31"), ("2021-01-01", 112.0, "2021-04-01", None)])
    assert answer_problems(PCE, stored, closing, TODAY) == ""


def test_a_stored_side_whose_version_column_is_all_empty_is_still_checked_as_dates_without_a_pandas_deprecation():
    # The stored version is open and comes back from the store with realtime_end as an all-empty column of
    # objects; the fetched side closes its versions. The merged frame the checks read must keep realtime_end a
    # date column (pandas' concat decides that by an exclusion it is deprecating, with a FutureWarning).
    stored = versions(PCE, [("2021-01-01", 110.0, "2021-03-01", None)]).astype({"realtime_end": object})
    stored["realtime_end"] = None
    closed = versions(PCE, [("2021-02-01", 111.0, "2021-04-01", "2021-05-01")])
    overlapping = versions(PCE, [("2021-01-01", 112.0, "2021-04-01", "2021-05-01")])
    with warnings.catch_warnings():
        warnings.simplefilter("error", FutureWarning)
        assert answer_problems(PCE, stored, closed, TODAY) == ""
        assert "version that starts before" in answer_problems(PCE, stored, overlapping, TODAY)


def test_of_two_stored_rows_with_one_key_the_one_fetched_last_is_kept():
    vix = pd.DataFrame({"date": pd.to_datetime(["2021-01-04"] * 2), "value": [17.0, 18.0],
                        "fetched_at": [T("2021-02-01"), T("2021-01-05")]})
    assert row_problems(get_series("VIX"), vix, TODAY).tolist() == ["", "the same observation twice"]


def _daily(start="2019-01-01", end="2020-12-31", value=2.0) -> pd.DataFrame:
    dates = pd.bdate_range(start, end)
    return pd.DataFrame({"date": dates, "value": value + 0.001 * pd.RangeIndex(len(dates))})


def test_a_partial_retroactive_revision_is_refused_naming_series_dates_and_counts():
    hy = get_series("BAMLH0A0HYM2")
    stored = _daily()
    rewritten = stored.copy()
    old = rewritten["date"] < rewritten["date"].max() - pd.Timedelta(days=30)
    rewritten.loc[old, "value"] *= 1.5  # all but the last 30 days, as the hostile mirror did
    why = revision_refusal(hy, stored, rewritten)
    assert why is not None and "it changes 456 of the 456 stored observations dated before 2020-09-30" in why
    assert "(2019-01-01 … 2020-09-29)" in why

    recent = stored.copy()
    recent.loc[recent.index[-60:], "value"] += 0.1  # preliminary values finalised: the last quarter
    settled = stored.copy()
    settled.loc[settled.index[[10, 200, 300]], "value"] += 0.1  # a few old corrections
    assert revision_refusal(hy, stored, recent) is None and revision_refusal(hy, stored, settled) is None
    assert "same factor ×0.25" in revision_refusal(hy, stored, stored.assign(value=stored["value"] / 4))


def test_a_written_revision_keeps_the_replaced_values(tmp_path):
    db = str(tmp_path / "m.duckdb")
    first = _daily("2020-01-01", "2020-01-10").assign(source="demo", fetched_at=T("2020-01-11"))
    warehouse.write_frame(db, "raw.dff", first, None, upsert_keys=["date"], keep_replaced=["value"])
    second = first.assign(fetched_at=T("2020-02-01"))
    second.loc[second.index[-2:], "value"] = [9.0, 9.5]
    warehouse.write_frame(db, "raw.dff", second, None, upsert_keys=["date"], keep_replaced=["value"])
    warehouse.write_frame(db, "raw.dff", second, None, upsert_keys=["date"], keep_replaced=["value"])  # unchanged
    kept = warehouse.query(db, "select date, value, fetched_at, revised_at from revisions.dff order by date")
    assert kept["value"].tolist() == first["value"].tolist()[-2:] and kept["fetched_at"].eq(T("2020-01-11")).all()
    assert kept["revised_at"].notna().all()
    assert warehouse.read_frame(db, "raw.dff")["value"].tolist()[-2:] == [9.0, 9.5]


# --- the wiring: one raw asset, one year ---------------------------------------------------------------

class VersionedPce(DemoSource):
    """Demo data with core PCE served as ALFRED versions (first printed 62 days after the month); `bad`
    adds the broken answer: a second, open-ended version of every month a week later at ten times the value."""

    bad: bool = False

    def fetch(self, series, start, end):
        fetched = super().fetch(series, start, end)
        if series.id != "PCEPILFE":
            return fetched
        f = fetched.frame
        f = f.assign(realtime_start=f["date"] + pd.Timedelta(days=62), realtime_end=pd.NaT, vintages_since=T("2000-01-01"))
        if self.bad:
            f = pd.concat([f, f.assign(value=f["value"] * 10, realtime_start=f["realtime_start"] + pd.Timedelta(days=7))])
        return replace(fetched, frame=f.reset_index(drop=True), provider="fred")


def _checks(result) -> dict:
    return {e.check_name: e for e in result.get_asset_check_evaluations()}


def _refused_after_a_good_run(path, asset: str, good, bad) -> tuple[str, pd.DataFrame]:
    """Runs `asset` with the `good` source, then with `bad`: the second run succeeds with a failed fetch and
    leaves the table as it was. Returns the fetch's error and the table."""
    assert run_assets(path, [asset], "2020", good).success
    table = asset.replace("/", ".")
    before = tables(path)[table]
    refused = run_assets(path, [asset], "2020", bad)
    assert refused.success  # a refused answer is a failed fetch (WARN), not a failed run
    assert tables(path)[table].equals(before)
    return _checks(refused)["fetch_succeeded"].metadata["error"].value, before


@pytest.mark.graph
def test_a_bad_alfred_answer_is_refused_and_the_next_normal_answer_succeeds(tmp_path):
    path = tmp_path / "mac.duckdb"
    error, _ = _refused_after_a_good_run(path, "raw/pcepilfe", VersionedPce(seed=7, as_of=AS_OF),
                                         VersionedPce(seed=7, as_of=AS_OF, bad=True))
    assert error.startswith("fred/PCEPILFE: answer refused before storing, stored rows kept: 12 rows a value outside")

    again = run_assets(path, ["raw/pcepilfe"], "2020", VersionedPce(seed=7, as_of=AS_OF))
    assert again.success and _checks(again)["is_valid"].passed


@pytest.mark.graph
def test_bad_rows_stored_earlier_are_quarantined_by_the_next_run_instead_of_failing_every_run(tmp_path):
    path = tmp_path / "mac.duckdb"
    # What the release before validation stored from the broken answer: both versions of every month.
    answer = VersionedPce(seed=7, as_of=AS_OF, bad=True).fetch(PCE, datetime(2020, 1, 1), datetime(2021, 1, 1)).frame
    stored = answer.assign(source="demo", provider="fred", fetched_at=datetime.now(UTC).replace(tzinfo=None))
    warehouse.write_frame(str(path), "raw.pcepilfe", stored, None, upsert_keys=list(PCE.row_key))

    result = run_assets(path, ["raw/pcepilfe"], "2020", VersionedPce(seed=7, as_of=AS_OF))
    assert result.success and _checks(result)["is_valid"].passed
    [materialization] = result.asset_materializations_for_node("raw__pcepilfe")
    assert materialization.metadata["quarantined_rows"].value == 12
    quarantined = tables(path)["quarantine.pcepilfe"]
    assert len(quarantined) == 12 and (quarantined["value"] > 1000).all()
    assert set(quarantined["reason"]) == {"a value outside the series' plausible range"}
    assert quarantined["quarantined_at"].notna().all()
    assert (tables(path)["raw.pcepilfe"]["value"] < 1000).all() and len(tables(path)["raw.pcepilfe"]) == 12


class Published(DemoSource):
    """Demo data labelled as a live provider's: the revision bound applies (the demo's own history is synthetic)."""

    rewrite: bool = False

    @property
    def label(self) -> str:
        return "live"

    def fetch(self, series, start, end):
        """With `rewrite`, the high-yield spread history ×1.5 except for its last 30 days."""
        fetched = super().fetch(series, start, end)
        f = fetched.frame.copy()
        if self.rewrite and series.id == "BAMLH0A0HYM2":
            f.loc[f["date"] < f["date"].max() - pd.Timedelta(days=30), "value"] *= 1.5
        return replace(fetched, frame=f, provider="fred")


@pytest.mark.graph
def test_a_rewritten_history_is_refused_unless_accepted_and_then_leaves_the_old_values(tmp_path):
    path = tmp_path / "mac.duckdb"
    error, before = _refused_after_a_good_run(path, "raw/bamlh0a0hym2", Published(seed=7, as_of=AS_OF),
                                              Published(seed=7, as_of=AS_OF, rewrite=True))
    assert error.startswith("fred/BAMLH0A0HYM2: refused, stored rows kept: it changes ")
    assert "(2020-01-01 … 2020-09-29)" in error and "MAC_ACCEPT_REVISIONS=BAMLH0A0HYM2" in error

    accepted = run_assets(path, ["raw/bamlh0a0hym2"], "2020", Published(seed=7, as_of=AS_OF, rewrite=True),
                          settings=settings_for(path, accept_revisions=frozenset({"BAMLH0A0HYM2"})))
    assert _checks(accepted)["fetch_succeeded"].passed
    kept = tables(path)["revisions.bamlh0a0hym2"].set_index("date")["value"]
    assert len(kept) > 180 and kept.equals(before.set_index("date")["value"].loc[kept.index])


class UnknownContracts(DemoSource):
    """Demo CFTC rows plus rows of a contract code the catalog does not know, as a mirror ignoring the filter sends."""

    def fetch(self, series, start, end):
        fetched = super().fetch(series, start, end)
        if series.id != "CFTC_TFF_UST":
            return fetched
        extra = fetched.frame.assign(contract_code=[f"99{i:04d}" for i in range(len(fetched.frame))])
        return replace(fetched, frame=pd.concat([fetched.frame, extra], ignore_index=True))


@pytest.mark.graph
def test_rows_of_unknown_contract_codes_are_left_out_and_noted(tmp_path):
    path = tmp_path / "mac.duckdb"
    result = run_assets(path, ["raw/cftc_tff_ust"], "2020", UnknownContracts(seed=7, as_of=AS_OF))
    assert result.success
    stored = tables(path)["raw.cftc_tff_ust"]
    assert set(stored["contract_code"]) == set(get_series("CFTC_TFF_UST").key_values) and len(stored) == 6 * 52
    [materialization] = result.asset_materializations_for_node("raw__cftc_tff_ust")
    assert f"{len(stored):,} rows of contract_code values the catalog does not know were left out (e.g. 990000, 990001, 990002)" \
        in materialization.metadata["notes"].value

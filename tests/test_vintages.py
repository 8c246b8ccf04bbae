"""Revised series are scored on the version that was public each day (ALFRED vintages), not today's.

The rules (pointintime.py): a version is public from its `realtime_start`; values ALFRED dates to its
first vintage although they are older follow the lag rule; an as-of join takes the newest observation
public by D in its latest version public by D; a ratio or a change pairs versions that were public
together. Then, against a fake FRED serving two versions of a GDP quarter, the score for day D equals
the score computed from what FRED served on D, and differs from the one today's values would give.
"""

from datetime import date

import pandas as pd
import pytest
from fake_providers import FRED_KEY, FakeProviders

from mac_assets.catalog import SERIES_BY_ID, get_series
from mac_assets.derived.frames import prior, same_date
from mac_assets.pipeline import compute_all, fetch_all
from mac_assets.pointintime import known_on, with_availability
from mac_assets.sources.base import validate_fetch
from mac_assets.sources.demo import DemoSource
from mac_assets.sources.fred import FredClient

T = pd.Timestamp
GDP = get_series("GDP")


def versions(rows, since="1991-12-04") -> pd.DataFrame:
    """(date, value, realtime_start) rows of one versioned series, as the FRED client stores them."""
    frame = pd.DataFrame(rows, columns=["date", "value", "realtime_start"])
    return frame.assign(date=pd.to_datetime(frame["date"]), realtime_start=pd.to_datetime(frame["realtime_start"]),
                        vintages_since=T(since))


def test_a_version_is_public_from_its_release_day_and_pre_alfred_values_follow_the_lag_rule():
    frame = versions([("1985-01-01", 4000.0, "1991-12-04"),   # older than ALFRED: public 122 days after its date
                      ("1991-09-01", 6000.0, "1991-12-04"),   # first published on ALFRED's first day
                      ("2024-01-01", 27956.0, "2024-04-25"), ("2024-01-01", 28255.0, "2024-05-30")])
    got = with_availability(frame, GDP)["available_date"].tolist()
    assert got == [T("1985-05-03"), T("1991-12-04"), T("2024-04-25"), T("2024-05-30")]
    # The demo and CSV sources keep no versions: the lag rule, as before.
    plain = frame.assign(realtime_start=pd.NaT)
    assert with_availability(plain, GDP)["available_date"].tolist() == list(plain["date"] + pd.Timedelta(days=122))


def test_as_of_a_day_the_newest_quarter_in_its_latest_version_is_the_reading():
    frame = with_availability(versions([
        ("2023-10-01", 100.0, "2024-01-25"),
        ("2024-01-01", 110.0, "2024-04-25"), ("2024-01-01", 111.0, "2024-05-30"),
        ("2023-10-01", 101.0, "2024-09-26"),  # an annual revision of an older quarter
    ]), GDP)
    days = pd.DatetimeIndex(["2024-04-24", "2024-04-25", "2024-05-29", "2024-05-30", "2024-09-30"])
    known = known_on(days, frame, stale_after_days=400)
    assert known["value"].tolist() == [100.0, 110.0, 110.0, 111.0, 111.0]
    assert known["obs_date"].tolist()[-1] == T("2024-01-01")  # the revision of 2023Q4 does not replace 2024Q1


def test_a_change_compares_versions_public_together_across_a_rebasing():
    # An index rebased on 2024-07-26 (every value ×1.1) as June 2024 is first published: against the old
    # base the change would read 13.3%.
    pce = SERIES_BY_ID["PCEPILFE"]
    rows = [("2023-06-01", 100.0, "2023-07-28"), ("2023-06-01", 110.0, "2024-07-26"), ("2024-06-01", 113.3, "2024-07-26")]
    frame = with_availability(versions(rows, since="2000-01-01"), pce)
    m = prior(frame, days=366, tolerance_days=5)
    m = m[m["date"] == T("2024-06-01")]
    assert ((m["value"] / m["prior"] - 1) * 100).round(6).tolist() == [3.0]
    pair = same_date(frame, frame.assign(value=frame["value"] * 2))
    assert (pair["right"] == 2 * pair["left"]).all() and len(pair) == 3  # one row per version, never crossed


AS_OF, START = "2025-06-30", date(2024, 1, 1)
FIRST_PRINT_ON, REVISED_ON = T("2025-05-15"), T("2025-06-05")  # 2025Q1 first printed on 2025-05-03


def _fred_rows(fake: FakeProviders) -> dict[str, pd.DataFrame]:
    client = FredClient(base_url=fake.base_urls()["fred"], api_key=FRED_KEY, rate_limit_per_s=1000,
                        backoff_s=0.01, max_retries=1)
    end = date(2025, 7, 1)
    return {sid: validate_fetch("live", get_series(sid), client.fetch(get_series(sid), START, end).frame, START, end)
            for sid in ("GDP", "WALCL")}


def _cut_by_lag(raw: dict[str, pd.DataFrame], day: pd.Timestamp) -> dict[str, pd.DataFrame]:
    return {sid: f[f["date"] + pd.Timedelta(days=SERIES_BY_ID[sid].lag_days) <= day] for sid, f in raw.items()}


def _scores(raw, end) -> pd.DataFrame:
    out = compute_all(raw, T(START), end, extension=False).indicator_scores
    return out[out["indicator"] == "fed_bs_gdp"].set_index("date")["value"]


def test_a_gdp_dependent_score_for_day_d_uses_the_version_public_on_d(httpserver):
    fake = FakeProviders(httpserver, seed=3, as_of=AS_OF)
    q1 = fake.versions["GDP"].set_index("date").loc[T("2025-01-01"), "value"]
    fake.revise("GDP", "2025-01-01", q1 * 1.05, published="2025-05-29")
    demo = fetch_all(DemoSource(seed=3, as_of=AS_OF), START, date(2025, 7, 1))
    fred = _fred_rows(fake)
    scores = _scores(demo | fred, T(AS_OF))

    walcl = fake.versions["WALCL"].set_index("date")["value"]
    on_first_print = walcl[T("2025-05-14")] / 1000 / q1 * 100
    on_revision = walcl[T("2025-06-04")] / 1000 / (q1 * 1.05) * 100
    assert scores[FIRST_PRINT_ON] == pytest.approx(on_first_print)
    assert scores[REVISED_ON] == pytest.approx(on_revision)

    # Reproducible from what was public on D: FRED as it answered that day gives the same score for D.
    for day in (FIRST_PRINT_ON, REVISED_ON):
        fake.as_of = day
        then = _cut_by_lag(demo, day) | _fred_rows(fake)
        assert _scores(then, day)[day] == pytest.approx(scores[day], rel=1e-12)

    # Today's values under the lag rule (what the client stored before versions) would have scored the
    # revised GDP on the first-print day, three weeks before it existed.
    fake.as_of = T(AS_OF)
    today_only = {sid: f.drop_duplicates("date", keep="last").assign(realtime_start=pd.NaT)
                  for sid, f in fred.items()}
    assert _scores(demo | today_only, T(AS_OF))[FIRST_PRINT_ON] == pytest.approx(
        walcl[T("2025-05-14")] / 1000 / (q1 * 1.05) * 100)

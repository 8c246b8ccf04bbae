"""No look-ahead, proven: a computation from only what was public on day D equals the full history's up to D.

Every input is cut to the rows public by D (observation date + publication lag ≤ D); then every score,
percentile and reading dated on or before D, and every derived value public by D, must be identical to
the full run's. On the demo source always, and on the real history when ../shared/validation/raw exists.
"""

from pathlib import Path

import pandas as pd
import pytest

from mac_assets.catalog import REFERENCE_START, SERIES_BY_ID
from mac_assets.pipeline import compute_all, fetch_all
from mac_assets.sources.csv_folder import CsvFolderSource
from mac_assets.sources.demo import DemoSource

VALIDATION = Path(__file__).resolve().parents[2] / "shared" / "validation" / "raw"
START, END = pd.Timestamp("2007-01-01"), pd.Timestamp("2021-06-30")
# Every scored table pipeline.compute_all returns, the 12-month risk and the quiet statuses included.
SCORED = ("indicator_scores", "pillar_scores", "mac1_composite", "mac2_indicator_scores", "mac2_pillar_scores",
          "mac2_readings", "mac3_pillar_scores", "mac3_readings", "mac_composite", "extension_scores",
          "systemic_stress", "mac_extended")

pytestmark = pytest.mark.graph  # the whole computation, several times over fourteen years


def public_by(raw: dict[str, pd.DataFrame], day: pd.Timestamp) -> dict[str, pd.DataFrame]:
    return {sid: f[f["date"] + pd.Timedelta(days=SERIES_BY_ID[sid].lag_days) <= day] for sid, f in raw.items()}


def assert_same_up_to(day: pd.Timestamp, full, cut) -> None:
    for name in SCORED:
        a, b = getattr(full, name), getattr(cut, name)
        a = a[a["date"] <= day].reset_index(drop=True)
        b = b[b["date"] <= day].reset_index(drop=True)
        pd.testing.assert_frame_equal(b, a, check_exact=True, obj=f"{name} up to {day.date()}")
    for metric, frame in full.metrics.items():
        a = frame[frame["available_date"] <= day].reset_index(drop=True)
        b = cut.metrics[metric][lambda f: f["available_date"] <= day].reset_index(drop=True)
        # A working column for an input that starts later (a leverage measure of the compression index)
        # exists only in the full run, and holds nothing up to `day`.
        extra = [c for c in a.columns if c not in b.columns]
        assert a[extra].isna().all().all(), f"derived.{metric}: {extra} hold values before they could be known"
        pd.testing.assert_frame_equal(b, a.drop(columns=extra), check_exact=True, obj=f"derived.{metric} public by {day.date()}")


def check(raw: dict[str, pd.DataFrame], days: list[str]) -> None:
    full = compute_all(raw, START, END)
    assert set(SCORED) | {"raw", "metrics"} == {f for f in full.__dataclass_fields__}  # no table escapes the proof
    for d in map(pd.Timestamp, days):
        assert_same_up_to(d, full, compute_all(public_by(raw, d), START, d))


def test_demo_scores_up_to_a_day_use_only_what_was_public_that_day():
    raw = fetch_all(DemoSource(seed=7, as_of=str(END.date())), REFERENCE_START, (END + pd.Timedelta(days=1)).date())
    check(raw, ["2008-10-10", "2020-03-16"])


@pytest.mark.real_data
@pytest.mark.skipif(not VALIDATION.is_dir(), reason="../shared/validation/raw is not present")
def test_real_scores_up_to_a_day_use_only_what_was_public_that_day():
    raw = fetch_all(CsvFolderSource(directory=str(VALIDATION)), REFERENCE_START, (END + pd.Timedelta(days=1)).date())
    check(raw, ["2018-02-09"])


def test_a_days_scores_do_not_depend_on_where_the_history_starts():
    """The backfill range is the user's choice; the history it publishes must not be (catalog.REFERENCE_START)."""
    raw = fetch_all(DemoSource(seed=7, as_of=str(END.date())), REFERENCE_START, (END + pd.Timedelta(days=1)).date())
    late, early = compute_all(raw, pd.Timestamp("2012-01-01"), END), compute_all(raw, START, END)
    for name in ("mac2_indicator_scores", "mac2_pillar_scores", "mac2_readings", "mac3_pillar_scores", "mac3_readings",
                 "mac_composite"):
        a = getattr(early, name)
        pd.testing.assert_frame_equal(getattr(late, name), a[a["date"] >= "2012-01-01"].reset_index(drop=True),
                                      check_exact=True, obj=name)

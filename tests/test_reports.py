"""Reports: validation against official stress indexes, charts, the HTML page and the quarterly review."""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from graph_helpers import settings_for

from mac_assets.catalog import PILLARS
from mac_assets.publish import reports


def frames(days=200, seed=0):
    rng = np.random.default_rng(seed)
    dates = pd.bdate_range("2020-01-01", periods=days)
    stress = np.abs(np.sin(np.arange(days) / 15)) + rng.normal(0, 0.05, days)
    mac = np.clip(0.9 - 0.5 * stress, 0, 1)
    composite = pd.DataFrame({"date": dates, "mac": mac, "status": "thin", "coverage": 1.0})
    pillars = pd.concat([pd.DataFrame({"date": dates, "pillar": p, "score": mac + 0.01 * i, "contribution": mac / 7,
                                       "status": "thin"}) for i, p in enumerate(PILLARS)])
    fridays = dates[dates.dayofweek == 4]
    bench = pd.DataFrame({"date": fridays, "value": stress[dates.dayofweek == 4]})
    return composite, pillars, {"STLFSI4": bench}


def test_spearman_is_the_rank_correlation():
    a = pd.Series([1, 2, 3, 4, 5.0])
    assert reports.spearman(a, a ** 3) == pytest.approx(1.0)
    assert reports.spearman(a, -np.exp(a)) == pytest.approx(-1.0)
    assert np.isnan(reports.spearman(a, pd.Series([1.0] * 5)))  # undefined for a constant series


def test_a_mac_that_falls_with_stress_correlates_negatively_with_the_benchmark():
    composite, pillars, benchmarks = frames()
    table = reports.correlation_table(composite, pillars, benchmarks)
    assert table["mac"].iloc[0] < -0.9 and table["weeks"].iloc[0] == 40
    decile = reports.top_decile_table(composite, pillars, benchmarks).iloc[0]
    assert decile["mac_median_top_decile"] < decile["mac_median_other_weeks"]


def test_lowest_readings_are_one_per_episode():
    composite, pillars, _ = frames()
    lows = reports.lowest_readings(composite, pillars, count=5)
    gaps = lows["date"].sort_values().diff().dt.days.dropna()
    assert len(lows) == 5 and (gaps >= reports.LOWEST_SPACING_DAYS).all()
    assert lows["mac"].iloc[0] == composite["mac"].min()
    assert set(lows["weakest_pillar"]) == {PILLARS[0]}  # the pillar built lowest in `frames`


def test_anchor_percentiles_place_each_knot_in_the_indicators_history():
    values = pd.DataFrame({"indicator": "vix", "value": np.arange(1, 101, dtype=float)})
    row = reports.anchor_percentiles(values).set_index("indicator").loc["vix"]
    assert row["median"] == pytest.approx(50.5)
    assert "40→0 at p40" in row["knots (value→score at history percentile)"]  # breach anchor 40 = 40th pct


@pytest.mark.graph
def test_the_graph_writes_every_report_and_names_the_files_in_the_metadata(demo_graph):
    result = demo_graph.result
    folder = Path(settings_for(demo_graph.path).reports_dir)
    for name in ("validation.md", "quarterly_review.md", "site/index.html", "site/data.js", "site/history.csv"):
        assert (folder / name).stat().st_size > 1000, name
    validation = (folder / "validation.md").read_text()
    assert all(b in validation for b in ("STLFSI4", "NFCI", "naive index", "s_vix alone", "12-month risk"))
    assert validation.count("Demo data") == 1  # said once, at the top: these are not market numbers
    # Each report is about the whole history: one materialization per run, not one per year of a backfill.
    events = [x.event_specific_data.materialization for x in result.get_asset_materialization_events()
              if x.asset_key.path[0] == "publish"]
    assert sorted(e.asset_key.path[-1] for e in events) == sorted(
        ["bi_snapshot", "raw_backup", "validation_report", "mac_report", "quarterly_review"])
    assert all(e.partition is None for e in events)
    # The files stay files: the instance keeps where the page is, what it weighs and the headline, not the page.
    report = next(e.metadata for e in events if e.asset_key.path[-1] == "mac_report")
    assert report["page"].value.endswith("site/index.html") and report["bytes"].value > 1_000_000
    assert report["headline"].value.endswith("on 2020-12-31") and len(str(dict(report))) < 2000
    review = (folder / "quarterly_review.md").read_text()
    assert "Seed threshold anchors against history" in review and "basis_trade" in review

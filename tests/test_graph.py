"""The whole asset graph on the demo source, in process: what `make run` does, over two years."""

import duckdb
import pandas as pd
import pytest
from dagster import AssetKey, Definitions
from graph_helpers import AS_OF, digest, run, settings_for, tables

from mac_assets.catalog import PILLARS, REFERENCE_START, SERIES, SERIES_BY_ID
from mac_assets.definitions import FULL_GRAPH_JOB, build_definitions
from mac_assets.derived.registry import METRICS, metric_input_series
from mac_assets.infra.settings import load_settings
from mac_assets.pipeline import compute_all, fetch_all
from mac_assets.run import summary
from mac_assets.sources.base import ProviderError
from mac_assets.sources.demo import DemoSource
from mac_assets.thresholds import CORE_THRESHOLDS, HEADLINE_METHODOLOGY, MAC2_INDICATORS, METHODOLOGY_VERSION

pytestmark = pytest.mark.graph


@pytest.fixture
def built(demo_graph):
    return demo_graph.path, demo_graph.result


def test_definitions_load_with_every_series_metric_and_score():
    defs = build_definitions(settings_for("unused.duckdb"))
    Definitions.validate_loadable(defs)
    keys = {"/".join(k.path) for k in defs.resolve_job_def(FULL_GRAPH_JOB).asset_layer.selected_asset_keys}
    assert {f"raw/{s.asset_name}" for s in SERIES} <= keys
    assert {f"derived/{m.name}" for m in METRICS} <= keys
    assert {"scores/indicator_scores", "scores/pillar_scores", "scores/mac_composite"} <= keys


def test_the_whole_graph_writes_raw_derived_and_scores_schemas(built):
    path, _ = built
    t = tables(path)
    assert {n.split(".")[0] for n in t} == {"raw", "derived", "scores", "extension"}
    assert len([n for n in t if n.startswith("raw.")]) == len(SERIES)
    assert len([n for n in t if n.startswith("derived.")]) == len(METRICS)
    assert set(t["raw.vix"]["source"]) == {"demo"}


def test_one_score_row_per_business_day_and_indicator(built):
    path, _ = built
    t = tables(path)
    days = pd.bdate_range("2019-01-01", "2020-12-31")
    assert len(t["scores.mac_composite"]) == len(t["scores.mac1_composite"]) == len(days)
    assert len(t["scores.pillar_scores"]) == len(days) * len(PILLARS)
    assert len(t["scores.indicator_scores"]) == len(days) * len(CORE_THRESHOLDS)
    assert len(t["scores.mac2_indicator_scores"]) == len(days) * len(MAC2_INDICATORS)
    assert set(t["scores.mac1_composite"]["methodology_version"]) == {METHODOLOGY_VERSION}
    assert set(t["scores.mac_composite"]["methodology_version"]) == {f"{HEADLINE_METHODOLOGY} stress"}


def test_composite_equals_the_sum_of_pillar_contributions(built):
    path, result = built
    con = duckdb.connect(str(path), read_only=True)
    seed_gap = con.execute("""
        select max(abs(c.mac - p.total)) from scores.mac1_composite c
        join (select date, sum(contribution) total from scores.pillar_scores group by date) p using (date)
    """).fetchone()[0]
    headline_gap, headline_days = con.execute("""
        select max(abs(c.mac - p.total)), count(c.mac) from scores.mac_composite c
        join (select date, sum(contribution) total from scores.mac2_pillar_scores where reading = 'stress'
              group by date) p using (date)
    """).fetchone()
    con.close()
    assert seed_gap < 1e-12 and headline_gap < 1e-12 and headline_days > 200
    evaluations = result.get_asset_check_evaluations()
    # 2019-2020 is years behind today, so freshness rightly fails; every other check passes.
    assert all(e.passed for e in evaluations if e.check_name != "freshness_check")
    assert not any(e.passed for e in evaluations if e.check_name == "freshness_check")
    names = [e.check_name for e in evaluations]
    assert names.count("mac_composite_is_consistent") == 1
    assert names.count("fetch_succeeded") == len(SERIES)


def test_demo_composite_moves_across_status_bands(built):
    comp = tables(built[0])["scores.mac1_composite"]
    scored = comp[comp["date"] >= "2019-07-01"]  # after the first half-year of warm-up
    assert scored["status"].nunique() >= 3
    assert scored["mac"].max() - scored["mac"].min() > 0.25
    assert scored["coverage"].min() > 0.8


def test_scores_only_use_values_already_published(built):
    ind = tables(built[0])["scores.indicator_scores"].dropna(subset=["obs_date"])
    lag = ind["indicator"].map({t.indicator: SERIES_BY_ID[t.metric].lag_days if t.metric in SERIES_BY_ID else 0
                                for t in CORE_THRESHOLDS})
    assert ((ind["date"] - ind["obs_date"]).dt.days >= lag).all()
    pce = ind[(ind["indicator"] == "core_pce") & (ind["date"] == "2020-06-01")]
    # April's core PCE (published about 62 days after 2020-04-01) is not yet known on 2020-06-01.
    assert pce["obs_date"].iloc[0] == pd.Timestamp("2020-03-01")


def test_rerunning_the_same_range_is_idempotent(demo_copy):
    path = demo_copy
    before = digest(tables(path))
    assert run(path, "2019", "2020").success
    assert digest(tables(path)) == before


def test_single_run_backfill_equals_one_run_per_partition(built, tmp_path):
    path, _ = built
    one_by_one = tmp_path / "per_partition.duckdb"
    assert run(one_by_one, "2019", "2019").success
    assert run(one_by_one, "2020", "2020").success
    assert digest(tables(one_by_one)) == digest(tables(path))


class BrokenSource(DemoSource):
    """The demo source, except that fetching VIX hits a bug (not a provider problem)."""

    def fetch(self, series, start, end):
        if series.id == "VIX":
            raise RuntimeError("bug while fetching VIX")
        return super().fetch(series, start, end)


class OutageSource(DemoSource):
    """The demo source, except that VIX's provider is down."""

    def fetch(self, series, start, end):
        if series.id == "VIX":
            raise ProviderError("cboe/VIX: GET /VIX_History.csv failed after 5 attempts, last: HTTP 503")
        return super().fetch(series, start, end)


def test_a_bug_fails_the_run_and_leaves_the_stored_rows_untouched(demo_copy):
    path = demo_copy
    before = tables(path)
    result = run(path, "2020", "2020", source=BrokenSource(seed=7, as_of=AS_OF))
    assert not result.success
    after = tables(path)
    assert after["raw.vix"].equals(before["raw.vix"])
    assert after["scores.mac_composite"].equals(before["scores.mac_composite"])


def test_a_provider_outage_keeps_history_flags_the_series_and_lets_scores_run(demo_copy):
    path = demo_copy
    before = tables(path)
    result = run(path, "2020", "2020", source=OutageSource(seed=7, as_of=AS_OF))
    assert result.success
    failed = [e for e in result.get_asset_check_evaluations() if not e.passed and e.check_name != "freshness_check"]
    assert [(e.asset_key.path, e.check_name) for e in failed] == [(["raw", "vix"], "fetch_succeeded")]
    assert "HTTP 503" in failed[0].metadata["error"].value
    assert tables(path)["raw.vix"].equals(before["raw.vix"])


def test_a_series_never_fetched_lowers_coverage_instead_of_inventing_values(tmp_path):
    path = tmp_path / "outage.duckdb"
    assert run(path, "2020", "2020", source=OutageSource(seed=7, as_of=AS_OF)).success
    t = tables(path)
    assert t["raw.vix"].empty
    vix = t["scores.indicator_scores"].query("indicator == 'vix'")
    assert vix["value"].isna().all() and (vix["status"] == "no_data").all()
    volatility = t["scores.pillar_scores"].query("pillar == 'volatility'")
    pillar = [t for t in CORE_THRESHOLDS if t.pillar == "volatility"]
    without_vix = [t for t in pillar if "VIX" not in {s.id for s in metric_input_series(t.metric)}]
    assert 0 < len(without_vix) < len(pillar) and (volatility["coverage"] == len(without_vix) / len(pillar)).all()
    composite = t["scores.mac1_composite"]
    # Days with less than half the weight measured (VIX gone, slow series not yet published) are withheld and
    # flagged, never invented; the rest of the year is published.
    assert (composite["mac"].notna() | (composite["status"] == "insufficient_data")).all()
    assert composite["mac"].notna().mean() > 0.9


def test_run_summary_reports_latest_composite_and_every_pillar(built):
    text = summary(load_settings({"MAC_DUCKDB_PATH": str(built[0])}))
    assert "MAC on 2020-12-31" in text and f"— {HEADLINE_METHODOLOGY} stress" in text
    for pillar in {i.pillar for i in MAC2_INDICATORS if i.reading == "stress"}:
        assert f"\n{pillar} " in text
    assert "build-up (slow vulnerabilities)" in text and f"seed, {METHODOLOGY_VERSION}" in text


def test_the_compression_index_shows_its_workings_once_on_the_last_partition(built):
    _, result = built
    materialized = [e.event_specific_data.materialization for e in result.get_asset_materialization_events()
                    if e.asset_key.path[-1] == "compression_index"]
    observed = [e.event_specific_data.asset_observation for e in result.all_events
                if e.is_asset_observation and e.asset_key.path[-1] == "compression_index"]
    # A two-year run: each year's materialization says what it wrote; the newest workings are stored once.
    assert [m.partition for m in materialized] == ["2019", "2020"] and all(set(m.metadata) == {
        "rows in partition", "dagster/row_count"} for m in materialized)
    assert [o.partition for o in observed] == ["2020"]
    assert {"latest_value", "latest_compression_raw", "latest_shock", "latest_deleveraging",
            "latest_basis_trade_bn_13w_change_pct", "latest_hf_leverage_ratio_13w_change_pct"} <= set(observed[0].metadata)
    spec = build_definitions(settings_for("unused.duckdb")).resolve_asset_graph().get(
        AssetKey(["derived", "compression_index"]))
    assert "VIX" in spec.metadata["inputs"] and "FPF-BORROW_REPO_SUM" in spec.metadata["inputs"]


def test_the_graph_and_the_in_memory_pipeline_compute_the_same_scores(built):
    """pipeline.compute_all is the bench's and the look-ahead tests' wiring: it must be the graph's."""
    start, end = pd.Timestamp("2019-01-01"), pd.Timestamp("2021-01-01")
    source = DemoSource(seed=7, as_of=AS_OF)
    # The graph stores raw history from the reference start (catalog.REFERENCE_START): so does the pipeline.
    computed = compute_all(fetch_all(source, REFERENCE_START, end.date()), start, end - pd.Timedelta(days=1))
    t = tables(built[0])
    for name in ("mac1_composite", "pillar_scores", "indicator_scores", "mac2_indicator_scores", "mac2_pillar_scores",
                 "mac2_readings", "mac3_pillar_scores", "mac3_readings", "mac_composite", "mac_extended"):
        frame = getattr(computed, name)
        name = f"{'extension' if name == 'mac_extended' else 'scores'}.{name}"
        stored = t[name]
        mine = frame[stored.columns].astype(stored.dtypes.to_dict())
        mine = mine.sort_values(list(stored.columns)).reset_index(drop=True)
        pd.testing.assert_frame_equal(mine, stored, check_dtype=False, check_exact=False, rtol=1e-12, obj=name)


def test_the_ui_tells_the_datas_story(built):
    """Each year's materialization counts that year's rows; the headline says its latest reading and source; the
    BI snapshot carries the published tables' column schemas."""
    path, result = built
    materializations = [e.event_specific_data.materialization for e in result.get_asset_materialization_events()]
    stored = tables(path)["scores.mac_composite"]
    headline = {m.partition: m.metadata for m in materializations if m.asset_key.path == ["scores", "mac_composite"]}
    for year, metadata in headline.items():
        assert metadata["rows in partition"].value == (stored["date"].dt.year == int(year)).sum()
        assert metadata["source"].value == "demo"
    latest = next(e.event_specific_data.asset_observation.metadata for e in result.all_events
                  if e.is_asset_observation and e.asset_key.path == ["scores", "mac_composite"])
    last = stored.dropna(subset=["mac"]).iloc[-1]
    assert latest["latest_mac"].value == pytest.approx(last["mac"]) and latest["latest_status"].value == last["status"]
    assert 0 < latest["latest_coverage"].value <= 1
    bi = next(m.metadata for m in materializations if m.asset_key.path == ["publish", "bi_snapshot"])
    columns = {c.name: c for c in bi["dagster/column_schema"].schema.columns}
    assert {"date", "mac", "status", "coverage"} <= set(columns) and columns["mac"].description
    assert "bi.indicator_detail columns" in bi

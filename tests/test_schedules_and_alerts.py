"""Schedules request the right years at the right time; alerts fire on fresh band crossings only."""

import json
import logging
from datetime import date, datetime
from zoneinfo import ZoneInfo

import pandas as pd
import pytest
from dagster import DagsterInstance, build_schedule_context
from graph_helpers import settings_for

from mac_assets.automation import RANGE_END_TAG, RANGE_START_TAG, TIMEZONE
from mac_assets.definitions import build_definitions
from mac_assets.infra.alerts import WEBHOOK_ENV, emit
from mac_assets.scores.changes import recent, status_changes

DEFS = build_definitions(settings_for("unused.duckdb", history_start=date(2007, 1, 1)))


def tick(name: str, when: datetime):
    schedule = DEFS.resolve_schedule_def(name)
    with DagsterInstance.ephemeral() as instance:
        context = build_schedule_context(instance=instance, scheduled_execution_time=when,
                                         repository_def=DEFS.get_repository_def())
        return list(schedule.evaluate_tick(context).run_requests)


@pytest.mark.parametrize("name,cron", [("daily_refresh", "30 6 * * *"), ("weekly_cot_refresh", "0 9 * * 6"),
                                       ("quarterly_refresh", "0 8 16 * *")])
def test_schedules_run_in_new_york_time_after_publication(name, cron):
    schedule = DEFS.resolve_schedule_def(name)
    assert schedule.cron_schedule == cron and schedule.execution_timezone == TIMEZONE


def test_a_tick_materializes_last_year_and_this_year_as_one_run():
    requests = tick("daily_refresh", datetime(2026, 1, 3, 6, 30, tzinfo=ZoneInfo(TIMEZONE)))
    assert len(requests) == 1
    assert requests[0].tags[RANGE_START_TAG] == "2025" and requests[0].tags[RANGE_END_TAG] == "2026"
    assert requests[0].run_key == "daily_refresh_job:2026-01-03T06:30"


def selected(job_name):
    return {"/".join(k.path) for k in DEFS.resolve_job_def(job_name).asset_layer.selected_asset_keys}


def test_each_refresh_fetches_its_own_series_and_recomputes_everything_downstream():
    daily, weekly, slow = selected("daily_refresh_job"), selected("weekly_cot_refresh_job"), selected("quarterly_refresh_job")
    assert "raw/vix" in daily and "raw/cftc_tff_ust" not in daily and "raw/gdp" not in daily
    assert {"raw/cftc_tff_ust", "raw/walcl", "derived/basis_trade_bn", "scores/mac_composite"} <= weekly
    assert "raw/vix" not in weekly
    assert {"raw/gdp", "raw/drtscilm", "raw/fpf_borrow_repo_sum", "derived/margin_debt_ratio_pct"} <= slow
    for job in (daily, weekly, slow):
        assert {"scores/indicator_scores", "scores/mac_composite", "scores/status_changes"} <= job


def test_the_quarterly_review_runs_on_the_first_day_of_each_quarter_and_only_there():
    schedule = DEFS.resolve_schedule_def("quarterly_review")
    assert schedule.cron_schedule == "0 9 1 1,4,7,10 *"
    requests = tick("quarterly_review", datetime(2026, 4, 1, 9, 0, tzinfo=ZoneInfo(TIMEZONE)))
    # The review is about the whole history: an unpartitioned asset, one run per quarter.
    assert [r.partition_key for r in requests] == [None]
    assert selected("quarterly_review_job") == {"publish/quarterly_review"}
    assert "publish/quarterly_review" not in selected("daily_refresh_job")
    assert "publish/mac_report" in selected("daily_refresh_job")


def test_freshness_and_failed_run_sensors_are_running_by_default():
    sensors = {s.name: s for s in DEFS.sensors}
    assert set(sensors) == {"freshness_checks_sensor", "failed_run_alert", "stale_run_sweeper"}
    assert all(s.default_status.value == "RUNNING" for s in sensors.values())


def test_status_changes_lists_band_crossings_with_direction():
    days = pd.to_datetime(["2020-03-02", "2020-03-03", "2020-03-04", "2020-03-05"])
    composite = pd.DataFrame({"date": days, "mac": [0.82, 0.70, 0.70, 0.85],
                              "status": ["ample", "comfortable", "comfortable", "ample"]})
    pillars = pd.DataFrame({"date": days, "pillar": "volatility", "score": [0.5, 0.1, None, 0.1],
                            "status": ["thin", "breach", "no_data", "breach"]})
    changes = status_changes(composite, pillars)
    assert changes[["scope", "previous_status", "status", "direction"]].values.tolist() == [
        ["composite", "ample", "comfortable", "worse"],
        ["volatility", "thin", "breach", "worse"],
        ["composite", "comfortable", "ample", "better"],
    ]
    assert len(recent(changes, pd.Timestamp("2020-03-06"))) == 1  # only the last 3 days alert


def test_an_alert_is_a_json_log_line_and_a_webhook_post(httpserver, monkeypatch, caplog):
    httpserver.expect_request("/hook", method="POST").respond_with_data("ok")
    monkeypatch.setenv(WEBHOOK_ENV, httpserver.url_for("/hook"))
    with caplog.at_level(logging.WARNING, logger="mac_assets.alerts"):
        emit("status_band_crossed", {"scope": "composite", "from": "thin", "to": "stretched"})
    assert json.loads(caplog.records[0].message) == {"alert": "status_band_crossed", "scope": "composite",
                                                     "from": "thin", "to": "stretched"}
    assert httpserver.log[0][0].get_json()["to"] == "stretched"


def test_a_failing_webhook_is_logged_and_does_not_raise(httpserver, monkeypatch, caplog):
    httpserver.expect_request("/hook").respond_with_data("no", status=500)
    monkeypatch.setenv(WEBHOOK_ENV, httpserver.url_for("/hook"))
    with caplog.at_level(logging.WARNING, logger="mac_assets.alerts"):
        emit("run_failed", {"run_id": "r1"})
    assert any("alert webhook failed" in r.message for r in caplog.records)

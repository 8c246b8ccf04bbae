"""Alerts: a status band crossed by the composite or a pillar, and runs stopped by a failed check.

Every crossing is kept in `scores.status_changes` (for BI and audit). Only crossings dated within the
last `ALERT_RECENT_DAYS` days raise an alert, so re-materializing twenty years of history does not
send a storm of old news. An alert is a structured JSON log line, metadata on the asset's
materialization, and, when MAC_ALERT_WEBHOOK_URL is set, a JSON POST to that URL.
"""

from __future__ import annotations

import json
import logging
import os

import numpy as np
import pandas as pd
from dagster import DefaultSensorStatus, RunFailureSensorContext, run_failure_sensor

from mac_assets.sources.base import SourceError
from mac_assets.sources.http import HttpClient
from mac_assets.thresholds import STATUS_BANDS

ALERT_RECENT_DAYS = 3
WEBHOOK_ENV = "MAC_ALERT_WEBHOOK_URL"
BANDS = [label for _, label in STATUS_BANDS]
logger = logging.getLogger("mac_assets.alerts")


def status_changes(composite: pd.DataFrame, pillars: pd.DataFrame) -> pd.DataFrame:
    """Days on which the composite or a pillar moved from one status band to another."""
    series = pd.concat([
        composite[["date", "status", "mac"]].rename(columns={"mac": "value"}).assign(scope="composite"),
        pillars[["date", "pillar", "status", "score"]].rename(columns={"pillar": "scope", "score": "value"}),
    ]).sort_values(["scope", "date"])
    series = series[series["status"].isin(BANDS)]  # a day without data is not a crossing
    series["previous_status"] = series.groupby("scope")["status"].shift()
    changed = series[series["previous_status"].notna() & (series["status"] != series["previous_status"])].copy()
    rank = {b: i for i, b in enumerate(BANDS)}
    changed["direction"] = np.where(changed["status"].map(rank) > changed["previous_status"].map(rank),
                                    "worse", "better")
    columns = ["date", "scope", "previous_status", "status", "direction", "value"]
    return changed[columns].sort_values(["date", "scope"]).reset_index(drop=True)


def recent(changes: pd.DataFrame, today: pd.Timestamp) -> pd.DataFrame:
    return changes[changes["date"] > today - pd.Timedelta(days=ALERT_RECENT_DAYS)]


def emit(kind: str, payload: dict, log=logger) -> dict:
    """Log one alert as a JSON line and POST it to the webhook when one is configured."""
    record = {"alert": kind, **payload}
    log.warning(json.dumps(record, default=str))
    url = os.environ.get(WEBHOOK_ENV)
    if url:
        try:  # one bounded attempt: an alert must never hold up a run
            HttpClient(source="webhook", timeout_s=10, max_retries=0, max_bytes=1024 * 1024).request(
                "POST", url, kind, json=record)
        except SourceError as exc:
            log.error(f"alert webhook failed ({exc}); the alert is in the log above")
    return record


@run_failure_sensor(name="failed_run_alert", default_status=DefaultSensorStatus.RUNNING,
                    description="Alerts when a run fails, e.g. because a blocking quality check stopped bad data.")
def failed_run_alert(context: RunFailureSensorContext):
    emit("run_failed", {"run_id": context.dagster_run.run_id, "job": context.dagster_run.job_name,
                        "reason": context.failure_event.message}, log=context.log)

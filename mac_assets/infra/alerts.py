"""Sending an alert, without Dagster: a structured JSON log line and, when configured, a webhook POST.

What is alerted: status-band crossings of the last few days (`scores/changes.py` finds them; the
`scores.status_changes` asset sends them) and failed runs (`automation.py`'s sensor). The webhook
(MAC_ALERT_WEBHOOK_URL) gets one bounded attempt through the project's HTTP layer: an alert must never
hold up a run, and a failed POST is logged next to the alert it could not deliver.
"""

from __future__ import annotations

import json
import logging
import os

from mac_assets.sources.base import SourceError
from mac_assets.sources.http import HttpClient

WEBHOOK_ENV = "MAC_ALERT_WEBHOOK_URL"
logger = logging.getLogger("mac_assets.alerts")


def emit(kind: str, payload: dict, log=logger) -> dict:
    """Log one alert as a JSON line and POST it to the webhook when one is configured."""
    record = {"alert": kind, **payload}
    log.warning(json.dumps(record, default=str))
    url = os.environ.get(WEBHOOK_ENV)
    if url:
        try:  # one bounded attempt: an alert must never hold up a run
            HttpClient(provider="webhook", timeout_s=10, max_retries=0, max_bytes=1024 * 1024).request(
                "POST", url, kind, json=record)
        except SourceError as exc:
            log.error(f"alert webhook failed ({exc}); the alert is in the log above")
    return record

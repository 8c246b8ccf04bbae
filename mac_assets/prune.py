"""`python -m mac_assets.prune` (`make prune`): delete old runs from the Dagster instance now.

The same retention the daily `instance_maintenance` schedule applies (infra/retention.py), with the
horizons from MAC_RETENTION_DAYS / MAC_RETENTION_FAILED_DAYS, on the instance in DAGSTER_HOME. Safe
while the webserver and daemon run. Exit status 0 when the prune finished, 2 for bad settings.
"""

from __future__ import annotations

import os
import sys

from dagster import DagsterInstance

from mac_assets.infra.retention import prune
from mac_assets.infra.settings import load_settings


def main() -> int:
    try:
        settings = load_settings()
    except ValueError as exc:
        print(f"prune: {exc}", file=sys.stderr)
        return 2
    if not os.environ.get("DAGSTER_HOME"):
        print("prune: DAGSTER_HOME is not set: there is no instance to prune (make prune sets it)", file=sys.stderr)
        return 2
    with DagsterInstance.get() as instance:
        result = prune(instance, settings.retention_days, settings.retention_failed_days)
    print(f"prune: {result.line()} (horizons {settings.retention_days} / {settings.retention_failed_days} days)")
    return 0


if __name__ == "__main__":
    sys.exit(main())

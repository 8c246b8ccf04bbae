"""Checks beside the raw assets' own: freshness of every raw series, and the sanity of what was scored.

Freshness per tier: the newest observation of each raw series is no older than its catalog limit,
built with Dagster's own `build_last_update_freshness_checks`. Raw writes record the newest stored
observation date as `dagster/last_updated_timestamp` (see `storage.py`), so "last update" here is the
data's date, not the run's: a run that fetches nothing new does not make a stale series look fresh.
Staleness is a WARN: scores drop stale inputs on their own and report lower coverage.
Discontinued series (IOER) have no freshness check; their end is in the catalog.

Score sanity is checked in SQL on what was written. Blocking at ERROR: a score outside [0, 1] or
contributions that do not add up to the composite are bugs, and nothing downstream should consume
them. The minimum-pillars rule is a WARN: on days with too few pillars the composite is withheld
(status `insufficient_data`), and the check says how often that happened in the last 30 days.
"""

from __future__ import annotations

import warnings
from collections import defaultdict
from datetime import timedelta

from dagster import (
    AssetCheckResult,
    AssetChecksDefinition,
    AssetCheckSeverity,
    AssetKey,
    DefaultSensorStatus,
    asset_check,
    build_last_update_freshness_checks,
    build_sensor_for_freshness_checks,
)

from mac_assets import keys
from mac_assets.catalog import SERIES
from mac_assets.infra.io_manager import Warehouse
from mac_assets.keys import Table
from mac_assets.policy import key
from mac_assets.scores.headline import HEADLINE_READING
from mac_assets.thresholds import INSUFFICIENT_STATUS as INSUFFICIENT

CONTRIBUTION_TOLERANCE = 1e-9
RECENT_DAYS = 30

FRESHNESS_SENSOR = "freshness_checks_sensor"
# Dagster calls these builders "superseded" by FreshnessPolicy, which measures time since the last run and
# so cannot see data lag; only the builders measure how old the *data* is. Chosen on purpose.
SUPERSEDED = ".*build_(last_update_freshness_checks|sensor_for_freshness_checks).* superseded"


def build_freshness_checks():
    """One Dagster freshness check per live raw series, with the series' staleness limit."""
    by_limit: dict[int, list[AssetKey]] = defaultdict(list)
    for series in SERIES:
        if series.end_date is None:
            by_limit[series.stale_after_days].append(key(keys.raw(series)))
    checks = []
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=SUPERSEDED)
        for days, asset_keys in sorted(by_limit.items()):
            checks += build_last_update_freshness_checks(
                assets=asset_keys, lower_bound_delta=timedelta(days=days), severity=AssetCheckSeverity.WARN
            )
    return checks


def build_freshness_sensor(checks):
    """Evaluates the freshness checks every 10 minutes without anyone clicking (running by default)."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=SUPERSEDED)
        return build_sensor_for_freshness_checks(
            freshness_checks=checks, minimum_interval_seconds=600, name=FRESHNESS_SENSOR,
            default_status=DefaultSensorStatus.RUNNING,
        )


def _range_check(table: Table, name: str) -> AssetChecksDefinition:
    @asset_check(asset=key(table), name=name, blocking=True,
                 description="Every score lies in [0, 1] or is missing; every coverage in [0, 1].")
    def _check(warehouse: Warehouse) -> AssetCheckResult:
        row = warehouse.query(f"""
            select count(*) as rows_checked,
                   count(*) filter (where score < 0 or score > 1 or isnan(score)) as scores_out_of_range
                   {", count(*) filter (where coverage < 0 or coverage > 1) as coverage_out_of_range"
                    if table == keys.PILLAR_SCORES else ""}
            from {table}
        """).iloc[0].to_dict()
        problems = {k: int(v) for k, v in row.items() if k != "rows_checked"}
        return AssetCheckResult(passed=not any(problems.values()), severity=AssetCheckSeverity.ERROR,
                                metadata={**problems, "rows_checked": int(row["rows_checked"])})

    return _check


indicator_scores_in_range = _range_check(keys.INDICATOR_SCORES, "scores_in_range")
pillar_scores_in_range = _range_check(keys.PILLAR_SCORES, "scores_in_range")


@asset_check(asset=key(keys.MAC_COMPOSITE), blocking=True,
             description="MAC and coverage lie in [0, 1] and the headline reading's pillar contributions sum to it.")
def mac_composite_is_consistent(warehouse: Warehouse) -> AssetCheckResult:
    row = warehouse.query(f"""
        with pillars as (
            select date, sum(contribution) as total from {keys.MAC2_PILLAR_SCORES}
            where reading = ? group by date)
        select count(*) as rows_checked,
               count(*) filter (where mac < 0 or mac > 1) as mac_out_of_range,
               count(*) filter (where coverage < 0 or coverage > 1) as coverage_out_of_range,
               count(*) filter (where mac is not null and abs(coalesce(p.total, 0) - mac) > {CONTRIBUTION_TOLERANCE})
                   as contribution_mismatches,
               coalesce(max(abs(coalesce(p.total, 0) - mac)), 0) as max_contribution_gap
        from {keys.MAC_COMPOSITE} c left join pillars p using (date)
    """, [HEADLINE_READING]).iloc[0]
    problems = {k: int(row[k]) for k in ("mac_out_of_range", "coverage_out_of_range", "contribution_mismatches")}
    return AssetCheckResult(
        passed=not any(problems.values()), severity=AssetCheckSeverity.ERROR,
        metadata={**problems, "rows_checked": int(row["rows_checked"]),
                  "max_contribution_gap": float(row["max_contribution_gap"])},
    )


@asset_check(asset=key(keys.MAC_COMPOSITE),
             description=f"In the last {RECENT_DAYS} days the headline was published every day (at least half of its "
                         "weight measured).")
def mac_composite_is_published(warehouse: Warehouse) -> AssetCheckResult:
    row = warehouse.query(f"""
        with recent as (
            select * from {keys.MAC_COMPOSITE}
            where date > (select max(date) from {keys.MAC_COMPOSITE}) - interval {RECENT_DAYS} day
        )
        select count(*) filter (where status = $1) as recent_days_withheld,
               (select count(*) from {keys.MAC_COMPOSITE} where status = $1) as all_days_withheld,
               coalesce(min(pillars_available), 0) as fewest_pillars_recently
        from recent
    """, [INSUFFICIENT]).iloc[0]
    return AssetCheckResult(
        passed=int(row["recent_days_withheld"]) == 0, severity=AssetCheckSeverity.WARN,
        metadata={k: int(v) for k, v in row.items()},
    )


SCORE_CHECKS = [indicator_scores_in_range, pillar_scores_in_range, mac_composite_is_consistent,
                mac_composite_is_published]

"""Score sanity, checked in SQL on what was written.

Blocking at ERROR: a score outside [0, 1] or contributions that do not add up to the composite are
bugs, and nothing downstream should consume them. The minimum-pillars rule is a WARN: on days with
too few pillars the composite is withheld (status `insufficient_data`), and the check says how often
that happened in the last 30 days.
"""

from __future__ import annotations

from dagster import AssetCheckResult, AssetCheckSeverity, AssetChecksDefinition, asset_check

from mac_assets.catalog import PILLARS
from mac_assets.storage import MacDatabase
from mac_assets.thresholds import INSUFFICIENT_STATUS as INSUFFICIENT

CONTRIBUTION_TOLERANCE = 1e-9
RECENT_DAYS = 30


def _range_check(table: str, name: str) -> AssetChecksDefinition:
    @asset_check(asset=["scores", table], name=name, blocking=True,
                 description="Every score lies in [0, 1] or is missing; every coverage in [0, 1].")
    def _check(mac_db: MacDatabase) -> AssetCheckResult:
        row = mac_db.query(f"""
            select count(*) as rows_checked,
                   count(*) filter (where score < 0 or score > 1 or isnan(score)) as scores_out_of_range
                   {", count(*) filter (where coverage < 0 or coverage > 1) as coverage_out_of_range"
                    if table == "pillar_scores" else ""}
            from scores.{table}
        """).iloc[0].to_dict()
        problems = {k: int(v) for k, v in row.items() if k != "rows_checked"}
        return AssetCheckResult(passed=not any(problems.values()), severity=AssetCheckSeverity.ERROR,
                                metadata={**problems, "rows_checked": int(row["rows_checked"])})

    return _check


indicator_scores_in_range = _range_check("indicator_scores", "scores_in_range")
pillar_scores_in_range = _range_check("pillar_scores", "scores_in_range")


@asset_check(asset=["scores", "mac_composite"], blocking=True,
             description="MAC and coverage lie in [0, 1] and pillar contributions sum to the composite.")
def mac_composite_is_consistent(mac_db: MacDatabase) -> AssetCheckResult:
    total = " + ".join(f"coalesce({p}_contribution, 0)" for p in PILLARS)
    row = mac_db.query(f"""
        select count(*) as rows_checked,
               count(*) filter (where mac < 0 or mac > 1) as mac_out_of_range,
               count(*) filter (where coverage < 0 or coverage > 1) as coverage_out_of_range,
               count(*) filter (where mac is not null and abs(({total}) - mac) > {CONTRIBUTION_TOLERANCE})
                   as contribution_mismatches,
               coalesce(max(abs(({total}) - mac)), 0) as max_contribution_gap
        from scores.mac_composite
    """).iloc[0]
    problems = {k: int(row[k]) for k in ("mac_out_of_range", "coverage_out_of_range", "contribution_mismatches")}
    return AssetCheckResult(
        passed=not any(problems.values()), severity=AssetCheckSeverity.ERROR,
        metadata={**problems, "rows_checked": int(row["rows_checked"]),
                  "max_contribution_gap": float(row["max_contribution_gap"])},
    )


@asset_check(asset=["scores", "mac_composite"],
             description=f"In the last {RECENT_DAYS} days every composite had its minimum number of pillars.")
def mac_composite_has_enough_pillars(mac_db: MacDatabase) -> AssetCheckResult:
    row = mac_db.query(f"""
        with recent as (
            select * from scores.mac_composite
            where date > (select max(date) from scores.mac_composite) - interval {RECENT_DAYS} day
        )
        select count(*) filter (where status = '{INSUFFICIENT}') as recent_days_withheld,
               (select count(*) from scores.mac_composite where status = '{INSUFFICIENT}') as all_days_withheld,
               coalesce(min(pillars_available), 0) as fewest_pillars_recently
        from recent
    """).iloc[0]
    return AssetCheckResult(
        passed=int(row["recent_days_withheld"]) == 0, severity=AssetCheckSeverity.WARN,
        metadata={k: int(v) for k, v in row.items()},
    )


SCORE_CHECKS = [indicator_scores_in_range, pillar_scores_in_range, mac_composite_is_consistent,
                mac_composite_has_enough_pillars]

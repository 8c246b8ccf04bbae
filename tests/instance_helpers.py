"""A tiny partitioned asset and its check, for tests of the Dagster instance itself (event log, retention)."""

from dagster import (
    AssetCheckResult,
    AssetExecutionContext,
    BackfillPolicy,
    StaticPartitionsDefinition,
    asset,
    asset_check,
)

YEARS = StaticPartitionsDefinition(["2024", "2025", "2026"])


@asset(partitions_def=YEARS, backfill_policy=BackfillPolicy.single_run())
def yearly(context: AssetExecutionContext) -> None:
    context.log.info(f"years {context.partition_keys}")


@asset_check(asset=yearly)
def yearly_is_fine() -> AssetCheckResult:
    return AssetCheckResult(passed=True)

"""Tests of the Dagster instance itself (event log, retention, PostgreSQL): the shipped instance, a tiny
partitioned asset and its check, and free local ports for the servers tests start."""

import shutil
import socket
from pathlib import Path

from dagster import (
    AssetCheckResult,
    AssetExecutionContext,
    BackfillPolicy,
    StaticPartitionsDefinition,
    asset,
    asset_check,
    materialize,
)

from mac_assets.automation import range_tags

REPO = Path(__file__).resolve().parent.parent
YEARS = StaticPartitionsDefinition(["2024", "2025", "2026"])


@asset(partitions_def=YEARS, backfill_policy=BackfillPolicy.single_run())
def yearly(context: AssetExecutionContext) -> None:
    context.log.info(f"years {context.partition_keys}")


@asset_check(asset=yearly)
def yearly_is_fine() -> AssetCheckResult:
    return AssetCheckResult(passed=True)


def run_yearly(instance, first: str = "2024", last: str = "2026"):
    """One run of `yearly` and its check over first..last."""
    return materialize([yearly, yearly_is_fine], instance=instance, tags=range_tags(first, last))


def use_instance_config(home: Path, monkeypatch, config: Path = REPO / "dagster.yaml") -> Path:
    """Make `home` the DAGSTER_HOME, with `config` (the repository's dagster.yaml unless told) as users get it."""
    home.mkdir(parents=True, exist_ok=True)
    shutil.copy(config, home / "dagster.yaml")
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    monkeypatch.setenv("DAGSTER_EVENT_BATCH_SIZE", "200")  # as the Makefile and deploy/ set it for every service
    return home


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]

"""Tests of the Dagster instance itself (event log, retention, PostgreSQL): the shipped instance, a tiny
partitioned asset and its check, and the servers tests start (scripts/servers.py), skipping where they cannot."""

import shutil
import warnings
from collections.abc import Iterator
from contextlib import AbstractContextManager, ExitStack, contextmanager
from pathlib import Path

import pytest
from dagster import (
    AssetCheckResult,
    AssetExecutionContext,
    BackfillPolicy,
    BetaWarning,
    StaticPartitionsDefinition,
    asset,
    asset_check,
    materialize,
)

from mac_assets.automation import range_tags

REPO = Path(__file__).resolve().parent.parent
YEARS = StaticPartitionsDefinition(["2024", "2025", "2026"])


with warnings.catch_warnings():
    # The single-run backfill the product's assets have (policy.py), whose parameter Dagster marks beta.
    warnings.filterwarnings("ignore", message=".*backfill_policy.*", category=BetaWarning)

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


@contextmanager
def started(server: AbstractContextManager) -> Iterator:
    """Enter a server of scripts/servers.py; the test skips, saying why, where this machine cannot start it."""
    from servers import Unavailable  # here: child processes import this module with only tests/ on their path

    with ExitStack() as stack:
        try:
            value = stack.enter_context(server)
        except Unavailable as exc:
            pytest.skip(str(exc))
        yield value

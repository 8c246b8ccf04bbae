"""Retention: delete old finished runs and everything they wrote to the Dagster instance.

Why: every run adds its run record, its event log (one row per event, in the index and, on SQLite, in
a file of its own), its asset-check executions and its compute logs, and Dagster OSS never removes
any of it; a daily pipeline's instance would grow without bound. Dagster's own `retention:` setting
in dagster.yaml covers schedule and sensor ticks only, so runs are pruned here.

What is deleted: runs that ended (success, failure, cancellation) longer ago than the horizon,
failed and canceled runs only after their own, longer horizon (they are what an operator looks at
when something goes wrong). What is never deleted:
- a run that has not ended (queued, starting, started, canceling): it may be writing right now;
- a run that holds the latest materialization or observation of any asset partition, or the latest
  execution of any asset check: deleting it would make the UI forget that a partition was
  materialized, and with it what the asset's page shows as current.

Safe while the webserver and daemon run: each run is deleted with Dagster's own `delete_run`, one
short transaction at a time on the storages' own connections, so a reader sees either the whole run
or none of it; a run that ends during the prune is only considered by the next one. Works on any
Dagster storage; SQLite's per-run files are removed by the project's event-log storage.
"""

from __future__ import annotations

import os
import re
import time
from dataclasses import dataclass

from dagster import (
    AssetCheckKey,
    AssetKey,
    AssetRecordsFilter,
    DagsterEventType,
    DagsterInstance,
    DagsterRunStatus,
    RunsFilter,
)
from dagster._core.storage.local_compute_log_manager import LocalComputeLogManager
from sqlalchemy import text

DAY_SECONDS = 86_400
SUCCEEDED = (DagsterRunStatus.SUCCESS,)
FAILED = (DagsterRunStatus.FAILURE, DagsterRunStatus.CANCELED)
# Run records and event ids are read in pages of this many, so no query grows with the history.
PAGE = 500
# Dagster's index table of asset-check executions: `delete_run` leaves its rows behind.
CHECK_EXECUTIONS = "asset_check_executions"
RUN_ID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")  # a compute-log folder of a run


@dataclass(frozen=True)
class PruneResult:
    deleted: tuple[str, ...]
    kept_as_latest: int
    kept_young: int

    def line(self) -> str:
        return (f"deleted {len(self.deleted)} run(s); kept {self.kept_as_latest} old run(s) that hold an asset's "
                f"latest materialization or check, and {self.kept_young} younger than the horizon")


def latest_holders(instance: DagsterInstance) -> set[str]:
    """Run ids holding the newest materialization/observation of some asset partition, or the newest check."""
    storage = instance.event_log_storage
    holders: set[str] = set()
    for key in instance.get_asset_keys():
        for event_type, fetch in ((DagsterEventType.ASSET_MATERIALIZATION, instance.fetch_materializations),
                                  (DagsterEventType.ASSET_OBSERVATION, instance.fetch_observations)):
            holders.update(record.run_id for record in fetch(key, limit=1).records)  # newest, partitioned or not
            ids = list(storage.get_latest_storage_id_by_partition(key, event_type).values())
            for start in range(0, len(ids), PAGE):
                page = ids[start:start + PAGE]
                records = fetch(AssetRecordsFilter(asset_key=key, storage_ids=page), limit=len(page)).records
                holders.update(record.run_id for record in records)
    checks = storage.get_latest_asset_check_execution_by_key(executed_checks(instance))
    holders.update(record.run_id for record in checks.values())
    return holders


def executed_checks(instance: DagsterInstance) -> list[AssetCheckKey]:
    """Every asset check the instance holds executions of (older code may have had other checks)."""
    with instance.event_log_storage.index_connection() as conn:
        rows = conn.execute(text(f"select distinct asset_key, check_name from {CHECK_EXECUTIONS}")).fetchall()
    return [AssetCheckKey(AssetKey.from_db_string(asset_key), name) for asset_key, name in rows]


def expired_runs(instance: DagsterInstance, statuses, days: float, now: float) -> tuple[list[str], int]:
    """Ended runs with these statuses that ended more than `days` ago, and how many younger ones there are."""
    horizon = now - days * DAY_SECONDS
    expired, young, cursor = [], 0, None
    while records := instance.get_run_records(RunsFilter(statuses=list(statuses)), limit=PAGE, cursor=cursor):
        cursor = records[-1].dagster_run.run_id
        for record in records:
            ended = record.end_time or record.update_timestamp.timestamp()
            if ended <= horizon:
                expired.append(record.dagster_run.run_id)
            else:
                young += 1
    return expired, young


def prune(instance: DagsterInstance, keep_days: float, keep_failed_days: float, now: float | None = None) -> PruneResult:
    """Delete ended runs older than `keep_days` (failed/canceled: `keep_failed_days`), except latest holders.

    Candidates are listed before anything is deleted, so paging never skips a run.
    """
    now = time.time() if now is None else now
    succeeded, young = expired_runs(instance, SUCCEEDED, keep_days, now)
    failed, young_failed = expired_runs(instance, FAILED, keep_failed_days, now)
    holders = latest_holders(instance)
    deleted = [run_id for run_id in succeeded + failed if run_id not in holders]
    for run_id in deleted:
        delete_run(instance, run_id)
    remove_orphans(instance)
    return PruneResult(tuple(deleted), len(succeeded) + len(failed) - len(deleted), young + young_failed)


def delete_run(instance: DagsterInstance, run_id: str) -> None:
    """The run's asset-check rows and compute logs, then the run and its events (Dagster's delete_run keeps
    the first two, and deletes the record before the events so that readers stop listing the run first).

    A prune killed before the record goes leaves a run the next prune deletes again; killed after it,
    what is left belongs to no run, and the next prune's `remove_orphans` removes it."""
    with instance.event_log_storage.index_connection() as conn:
        conn.execute(text(f"delete from {CHECK_EXECUTIONS} where run_id = :run_id"), {"run_id": run_id})
    manager = instance.compute_log_manager
    if hasattr(manager, "delete_logs"):
        manager.delete_logs(prefix=[run_id])
    instance.delete_run(run_id)


def remove_orphans(instance: DagsterInstance) -> None:
    """What belongs to no run any more: the events and SQLite file of a run whose file another process still had
    open, or whose prune was killed after its record went; check rows and compute logs of runs a prune of an
    earlier release left when it was killed.

    What is on disk and in the index is listed before the run ids: a run's record exists before anything
    it writes, so a run that starts meanwhile is among the ids and nothing of it is taken for an orphan."""
    storage = instance.event_log_storage
    files = storage.run_file_ids() if hasattr(storage, "run_file_ids") else set()
    with storage.index_connection() as conn:
        checked = {row[0] for row in conn.execute(text(f"select distinct run_id from {CHECK_EXECUTIONS}"))}
    manager = instance.compute_log_manager
    local = isinstance(manager, LocalComputeLogManager) and os.path.isdir(manager._base_dir)
    logs = {name for name in os.listdir(manager._base_dir) if RUN_ID.match(name)} if local else set()
    runs = set(instance.get_run_ids())
    for run_id in files - runs:
        storage.delete_events(run_id)  # the project's storage also removes the file, once no one has it open
    with storage.index_connection() as conn:
        for run_id in checked - runs:
            conn.execute(text(f"delete from {CHECK_EXECUTIONS} where run_id = :run_id"), {"run_id": run_id})
    for run_id in logs - runs:
        manager.delete_logs(prefix=[run_id])

"""Retention (mac_assets/infra/retention.py): old runs go with everything they wrote; an asset's current state stays.

Runs here are real Dagster runs of a three-partition asset and its check on the shipped instance
(dagster.yaml); "later" is simulated by handing `prune` a clock that is weeks ahead.
"""

import os
import sqlite3
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from dagster import (
    AssetKey,
    DagsterInstance,
    DagsterRun,
    DagsterRunStatus,
    asset,
    materialize,
)
from instance_helpers import run_yearly, use_instance_config, yearly_is_fine

from mac_assets.definitions import build_definitions
from mac_assets.infra.retention import DAY_SECONDS, prune
from mac_assets.infra.settings import load_settings

pytestmark = pytest.mark.graph

REPO = Path(__file__).resolve().parent.parent
KEEP, KEEP_FAILED = 30, 90


@asset
def fragile() -> None:
    raise RuntimeError("the provider refused (injected)")


@pytest.fixture
def instance(tmp_path, monkeypatch):
    use_instance_config(tmp_path, monkeypatch)
    with DagsterInstance.get() as instance:
        yield instance


def run_years(instance, first="2024", last="2026") -> str:
    result = run_yearly(instance, first, last)
    assert result.success
    return result.run_id


def run_failing(instance) -> str:
    result = materialize([fragile], instance=instance, raise_on_error=False)
    assert not result.success
    return result.run_id


def later(days: float) -> float:
    return time.time() + days * DAY_SECONDS


def run_file(instance, run_id: str) -> Path:
    return Path(instance.event_log_storage.path_for_shard(run_id))


def check_rows(instance, run_id: str) -> int:
    index = Path(instance.event_log_storage.path_for_shard("index"))
    with sqlite3.connect(index) as con:
        return con.execute("select count(*) from asset_check_executions where run_id = ?", (run_id,)).fetchone()[0]


def test_a_superseded_run_goes_with_its_events_its_file_and_its_check_rows(instance):
    old, new = run_years(instance), run_years(instance)
    assert run_file(instance, old).exists() and check_rows(instance, old) == 1

    result = prune(instance, KEEP, KEEP_FAILED, now=later(KEEP + 10))

    assert result.deleted == (old,)
    assert instance.get_run_by_id(old) is None and instance.get_run_by_id(new) is not None
    assert not run_file(instance, old).exists() and check_rows(instance, old) == 0
    # What the UI shows as current is untouched: every partition materialized, by the newer run.
    assert instance.get_materialized_partitions(AssetKey("yearly")) == {"2024", "2025", "2026"}
    assert instance.get_latest_materialization_event(AssetKey("yearly")).run_id == new
    (check_key,) = yearly_is_fine.check_keys
    assert instance.event_log_storage.get_latest_asset_check_execution_by_key([check_key])[check_key].run_id == new
    assert result.kept_as_latest == 1 and result.kept_young == 0


KILL_AFTER_A_RUN_RECORD = textwrap.dedent("""
    import os, signal, sys
    from dagster import DagsterInstance
    from dagster._core.storage.runs.sqlite.sqlite_run_storage import SqliteRunStorage
    from mac_assets.infra.retention import prune

    real = SqliteRunStorage.delete_run

    def delete_run(self, run_id):  # SIGKILL right after a run's record is deleted
        real(self, run_id)
        os.kill(os.getpid(), signal.SIGKILL)

    SqliteRunStorage.delete_run = delete_run
    with DagsterInstance.get() as instance:
        prune(instance, 30, 90, now=float(sys.argv[1]))
""")


@pytest.mark.process
def test_a_prune_killed_midway_leaves_nothing_that_the_next_prune_does_not_remove(instance):
    old, new = run_years(instance), run_years(instance)
    logs = Path(instance.compute_log_manager._base_dir)
    assert check_rows(instance, old) == 1 and (logs / old).is_dir()
    killed = subprocess.run([sys.executable, "-c", KILL_AFTER_A_RUN_RECORD, str(later(KEEP + 10))], cwd=REPO,
                            env=os.environ.copy(), capture_output=True, text=True, timeout=120)
    assert killed.returncode == -9, killed.stderr[-2000:]
    assert instance.get_run_by_id(old) is None  # killed after its record went: everything else went before it

    prune(instance, KEEP, KEEP_FAILED, now=later(KEEP + 10))
    assert check_rows(instance, old) == 0 and not (logs / old).exists() and not run_file(instance, old).exists()
    assert instance.get_run_by_id(new) is not None and check_rows(instance, new) == 1 and (logs / new).is_dir()


def test_a_run_that_still_holds_a_partitions_latest_materialization_stays(instance):
    full = run_years(instance)
    run_years(instance, "2026", "2026")  # newer only for 2026: the full run still holds 2024 and 2025

    result = prune(instance, KEEP, KEEP_FAILED, now=later(KEEP + 10))

    assert result.deleted == () and result.kept_as_latest == 2
    assert instance.get_run_by_id(full) is not None and run_file(instance, full).exists()


def test_young_runs_stay_failed_runs_stay_longer_and_unfinished_runs_always(instance):
    superseded, _ = run_years(instance), run_years(instance)
    failed = run_failing(instance)
    started = DagsterRun(job_name="__ASSET_JOB", run_id="a-run-still-writing", status=DagsterRunStatus.STARTED)
    instance.add_run(started)

    assert prune(instance, KEEP, KEEP_FAILED).deleted == ()  # today: everything is young
    assert prune(instance, KEEP, KEEP_FAILED, now=later(KEEP + 1)).deleted == (superseded,)
    assert instance.get_run_by_id(failed) is not None  # failed runs are kept for KEEP_FAILED days
    assert prune(instance, KEEP, KEEP_FAILED, now=later(KEEP_FAILED + 1)).deleted == (failed,)
    assert prune(instance, KEEP, KEEP_FAILED, now=later(10 * KEEP_FAILED)).deleted == ()
    assert instance.get_run_by_id(started.run_id).status == DagsterRunStatus.STARTED


READER = textwrap.dedent("""
    import sys, time
    from pathlib import Path
    from dagster import AssetKey, DagsterInstance
    stop, reads = Path(sys.argv[1]), 0
    with DagsterInstance.get() as instance:
        while not stop.exists():
            for run in instance.get_runs(limit=25):  # the runs list, then each run's page
                instance.get_records_for_run(run.run_id, limit=50)
            assert instance.get_materialized_partitions(AssetKey("yearly")) == {"2024", "2025", "2026"}
            reads += 1
            if reads == 1:
                print("reading", flush=True)
    print(reads)
""")


def test_pruning_while_another_process_reads_the_instance_as_the_ui_does(instance, tmp_path):
    superseded = [run_years(instance) for _ in range(12)][:-1]
    stop = tmp_path / "stop"
    reader = subprocess.Popen([sys.executable, "-c", READER, str(stop)], env=os.environ.copy(),
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert reader.stdout.readline() == "reading\n"  # the reader is inside its loop, however long it took to start
        result = prune(instance, KEEP, KEEP_FAILED, now=later(KEEP + 10))
        time.sleep(1)
    finally:
        stop.touch()
        out, err = reader.communicate(timeout=60)
    assert reader.returncode == 0, err[-3000:]
    assert int(out) > 1
    assert sorted(result.deleted) == sorted(superseded)
    (kept,) = instance.get_run_ids()
    # Files the reader still had open were left; the next prune, with the reader gone, removes them.
    prune(instance, KEEP, KEEP_FAILED, now=later(KEEP + 11))
    assert instance.event_log_storage.run_file_ids() == {kept}


def test_the_maintenance_job_prunes_with_the_configured_horizons_on_a_daily_schedule(instance):
    defs = build_definitions(load_settings({"MAC_RETENTION_DAYS": "7", "MAC_RETENTION_FAILED_DAYS": "21"}))
    schedule = defs.resolve_schedule_def("instance_maintenance")
    assert schedule.cron_schedule == "30 5 * * *" and schedule.default_status.value == "RUNNING"
    run_years(instance)
    result = defs.resolve_job_def("instance_maintenance_job").execute_in_process(instance=instance)
    assert result.success and result.output_for_node("prune_old_runs") == 0  # nothing is 7 days old yet
    # The maintenance run itself is an ordinary run: the next prune may delete it like any other.
    assert instance.get_run_by_id(result.run_id).status == DagsterRunStatus.SUCCESS


def test_make_prune_reports_what_it_did_and_refuses_bad_horizons(instance):
    run_years(instance)
    env = os.environ.copy()
    done = subprocess.run([sys.executable, "-m", "mac_assets.prune"], cwd=REPO, env=env, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("prune: deleted 0 run(s)") and "horizons 30 / 90 days" in done.stdout
    bad = subprocess.run([sys.executable, "-m", "mac_assets.prune"], cwd=REPO, capture_output=True, text=True,
                         env=env | {"MAC_RETENTION_DAYS": "60", "MAC_RETENTION_FAILED_DAYS": "14"}, timeout=120)
    assert bad.returncode == 2 and "MAC_RETENTION_FAILED_DAYS=14 must be at least MAC_RETENTION_DAYS=60" in bad.stderr


def test_dagster_prunes_schedule_and_sensor_ticks_by_the_shipped_settings(instance):
    retention = instance.get_settings("retention")
    assert retention["sensor"]["purge_after_days"]["skipped"] <= 7  # the stale-run sweeper skips every 30 s
    assert all(days > 0 for kind in ("schedule", "sensor") for days in retention[kind]["purge_after_days"].values())

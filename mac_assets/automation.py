"""When things run: refresh jobs and their schedules, and the failed-run alert.

Jobs and schedules: daily, weekly (COT) and slow (quarterly and Tier 3) refreshes, and the daily
instance maintenance that deletes old runs (infra/retention.py says what it keeps).

Every scheduled run materializes the current *and the previous* year: a value published in January
for late December, or a Z.1 quarter published in March, belongs to last year's partition. Scores of
past days do not change when that late data lands, because a day only uses values public by then;
the re-run only fills the rows. Times are New York time, after the sources publish: H.15 and Cboe
closes are out by the evening, FRED posts overnight, COT on Friday at 15:30, Z.1/SLOOS/Form PF in
different months of each quarter (hence a monthly check for them).
"""

from __future__ import annotations

from dagster import (
    AssetSelection,
    DefaultScheduleStatus,
    DefaultSensorStatus,
    RunFailureSensorContext,
    RunRequest,
    ScheduleEvaluationContext,
    TimeWindowPartitionsDefinition,
    define_asset_job,
    job,
    op,
    run_failure_sensor,
    schedule,
)

from mac_assets import keys
from mac_assets.catalog import SERIES
from mac_assets.infra import lake, warehouse
from mac_assets.infra.alerts import emit
from mac_assets.infra.retention import prune
from mac_assets.infra.settings import Settings
from mac_assets.policy import key

TIMEZONE = "America/New_York"
RANGE_START_TAG = "dagster/asset_partition_range_start"
RANGE_END_TAG = "dagster/asset_partition_range_end"

# name → (frequencies of the raw series it fetches, cron in TIMEZONE, why then)
REFRESHES: dict[str, tuple[tuple[str, ...], str, str]] = {
    "daily_refresh": (("daily", "business", "monthly"), "30 6 * * *",
                      "06:30 New York: the previous day's H.15, ICE, Cboe and crypto closes are published"),
    "weekly_cot_refresh": (("weekly",), "0 9 * * 6",
                           "Saturday 09:00 New York: COT positions for Tuesday come out Friday 15:30"),
    "quarterly_refresh": (("quarterly",), "0 8 16 * *",
                          "16th of each month 08:00 New York: Z.1, SLOOS and Form PF land in different months"),
}


def range_tags(first: str, last: str) -> dict[str, str]:
    return {RANGE_START_TAG: first, RANGE_END_TAG: last}


QUARTERLY_REVIEW = key(keys.QUARTERLY_REVIEW)


def refresh_selection(frequencies: tuple[str, ...]) -> AssetSelection:
    raw = [key(keys.raw(s)) for s in SERIES if s.frequency in frequencies]
    return AssetSelection.assets(*raw).downstream() - AssetSelection.assets(QUARTERLY_REVIEW)


def build_refresh_jobs_and_schedules(partitions: TimeWindowPartitionsDefinition):
    jobs, schedules = [], []
    for name, (frequencies, cron, why) in REFRESHES.items():
        job = define_asset_job(f"{name}_job", selection=refresh_selection(frequencies),
                               description=f"Raw {'/'.join(frequencies)} series and everything downstream.")

        @schedule(name=name, cron_schedule=cron, execution_timezone=TIMEZONE, job=job,
                  default_status=DefaultScheduleStatus.RUNNING, description=why)
        def _refresh(context: ScheduleEvaluationContext, _job_name=job.name):
            years = partitions.get_partition_keys(current_time=context.scheduled_execution_time)
            first, last = years[max(0, len(years) - 2)], years[-1]
            tick = context.scheduled_execution_time.strftime("%Y-%m-%dT%H:%M")
            return RunRequest(run_key=f"{_job_name}:{tick}", tags=range_tags(first, last))

        jobs.append(job)
        schedules.append(_refresh)

    review_job = define_asset_job("quarterly_review_job", selection=AssetSelection.assets(QUARTERLY_REVIEW),
                                  description="The seed spec's quarterly review of sources, thresholds and pillars.")

    @schedule(name="quarterly_review", cron_schedule="0 9 1 1,4,7,10 *", execution_timezone=TIMEZONE,
              job=review_job, default_status=DefaultScheduleStatus.RUNNING,
              description="09:00 New York on the first day of each quarter: the review of the quarter just ended")
    def _review(context: ScheduleEvaluationContext):
        return RunRequest(run_key=f"quarterly_review:{context.scheduled_execution_time:%Y-%m-%d}")

    return [*jobs, review_job], [*schedules, _review]


MAINTENANCE_CRON = "30 5 * * *"  # 05:30 New York: before the daily refresh, when nothing else runs


def build_maintenance(settings: Settings):
    """The maintenance job and its daily schedule: prune old runs; on a DuckLake also compact and expire snapshots."""
    keep_days, keep_failed_days = settings.retention_days, settings.retention_failed_days

    @op(name="prune_old_runs", description=f"Deletes runs that ended over {keep_days} days ago (failed or canceled: "
                                           f"{keep_failed_days}), except those holding an asset's latest state.")
    def prune_old_runs(context):
        result = prune(context.instance, keep_days, keep_failed_days)
        context.log.info(result.line())
        return len(result.deleted)

    @op(name="maintain_lake", required_resource_keys={"warehouse"},
        description=f"DuckLake: merges small adjacent Parquet files, expires snapshots older than "
                    f"{settings.lake_snapshot_days} days and deletes the files only they used.")
    def maintain_lake(context, _pruned: int):
        done = warehouse.maintain_lake(context.resources.warehouse.path, settings.lake_snapshot_days)
        context.log.info(", ".join(f"{k.replace('_', ' ')} {v}" for k, v in done.items()))
        context.add_output_metadata(done)

    on_lake = lake.is_lake(settings.duckdb_path)

    @job(name="instance_maintenance_job",
         description="Retention: deletes old runs, their event logs and check rows"
                     + ("; compacts the DuckLake and expires its old snapshots." if on_lake else "."))
    def maintenance_job():
        pruned = prune_old_runs()
        if on_lake:
            maintain_lake(pruned)

    @schedule(name="instance_maintenance", cron_schedule=MAINTENANCE_CRON, execution_timezone=TIMEZONE,
              job=maintenance_job, default_status=DefaultScheduleStatus.RUNNING,
              description="05:30 New York daily: retention of runs (and lake compaction), before the daily refresh")
    def _maintenance(context: ScheduleEvaluationContext):
        return RunRequest(run_key=f"instance_maintenance:{context.scheduled_execution_time:%Y-%m-%d}")

    return maintenance_job, _maintenance


@run_failure_sensor(name="failed_run_alert", default_status=DefaultSensorStatus.RUNNING,
                    description="Alerts when a run fails, e.g. because a blocking quality check stopped bad data.")
def failed_run_alert(context: RunFailureSensorContext):
    emit("run_failed", {"run_id": context.dagster_run.run_id, "job": context.dagster_run.job_name,
                        "reason": context.failure_event.message}, log=context.log)

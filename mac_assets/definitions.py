"""The code location: assets, checks, jobs and resources, assembled from the catalog — nothing else.

Importing this module has no side effects: `build_definitions(settings)` builds everything for given
settings (run.py, tests and the bench call it), and `defs` is the lazy entry point Dagster's tools load
(`workspace.yaml`, `dagster dev`, `dg`), reading the MAC_* environment only when it is called.
"""

from __future__ import annotations

from functools import cache

from dagster import AssetSelection, Definitions, JobDefinition, define_asset_job, definitions

from mac_assets.automation import build_maintenance, build_refresh_jobs_and_schedules, failed_run_alert
from mac_assets.checks.assets import SCORE_CHECKS, build_freshness_checks, build_freshness_sensor
from mac_assets.derived.assets import build_derived_assets
from mac_assets.infra.io_manager import DuckDBFrameIOManager, Warehouse
from mac_assets.infra.partitions import yearly_partitions
from mac_assets.infra.runs import stale_run_sweeper
from mac_assets.infra.settings import Settings, load_settings
from mac_assets.policy import EXECUTOR, IO_MANAGER_KEY
from mac_assets.publish.assets import BiPublisher, RawBackups, ReportsFolder, build_publish_assets, build_report_assets
from mac_assets.raw.assets import build_raw_assets
from mac_assets.scores.assets import build_extension_assets, build_percentile_assets, build_score_assets
from mac_assets.sources.resources import RunFetching, build_source

FULL_GRAPH_JOB = "mac_full_graph"


def build_definitions(settings: Settings, source=None) -> Definitions:
    """All definitions for `settings`; `source` overrides the MAC_SOURCE resource (tests pin the demo)."""
    partitions = yearly_partitions(settings.history_start)
    assets = [*build_raw_assets(partitions, settings.accept_revisions), *build_derived_assets(partitions, settings.extension),
              *build_score_assets(partitions), *build_percentile_assets(partitions),
              *build_publish_assets(settings.extension), *build_report_assets()]
    if settings.extension:
        assets += build_extension_assets(partitions)
    freshness = build_freshness_checks()
    refresh_jobs, schedules = build_refresh_jobs_and_schedules(partitions)
    maintenance_job, maintenance_schedule = build_maintenance(settings)
    warehouse = Warehouse(path=settings.duckdb_path)
    return Definitions(
        assets=assets,
        asset_checks=[*freshness, *SCORE_CHECKS],
        jobs=[define_asset_job(FULL_GRAPH_JOB, selection=AssetSelection.all(),
                               description="Raw → derived → scores for the selected years, in one run."),
              *refresh_jobs, maintenance_job],
        schedules=[*schedules, maintenance_schedule],
        sensors=[build_freshness_sensor(freshness), failed_run_alert, stale_run_sweeper],
        resources={
            IO_MANAGER_KEY: DuckDBFrameIOManager(path=settings.duckdb_path, backup_root=str(settings.backup_root)),
            "warehouse": warehouse,
            "bi": BiPublisher(bi_path=settings.bi_path, source=settings.source),
            "raw_backups": RawBackups(root=str(settings.backup_root), keep=settings.backup_keep),
            "report_files": ReportsFolder(path=settings.reports_dir),
            "source": source if source is not None else build_source(settings),
            "fetching": RunFetching(budget_s=settings.fetch_budget_s),
        },
        executor=EXECUTOR,
    )


@cache
def environment_definitions() -> Definitions:
    """The definitions for the environment's settings, built once per process."""
    return build_definitions(load_settings())


@definitions
def defs() -> Definitions:
    """The code location for the environment's settings (MAC_SOURCE, MAC_DUCKDB_PATH, …)."""
    return environment_definitions()


def full_graph_job() -> JobDefinition:
    """The whole-graph job as a reconstructable target: `make run` executes it with Dagster's `execute_job`."""
    return environment_definitions().resolve_job_def(FULL_GRAPH_JOB)

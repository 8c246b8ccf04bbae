"""The code location: assets, checks, jobs and resources, assembled from the catalog — nothing else.

Importing this module has no side effects: `build_definitions(settings)` builds everything for given
settings (run.py, tests and the bench call it), and `defs` is the lazy entry point Dagster's tools load
(`workspace.yaml`, `dagster dev`, `dg`), reading the MAC_* environment only when it is called.
"""

from __future__ import annotations

from dagster import AssetSelection, Definitions, define_asset_job, definitions, in_process_executor

from mac_assets.alerts import failed_run_alert
from mac_assets.checks.freshness import build_freshness_checks, build_freshness_sensor
from mac_assets.checks.score_checks import SCORE_CHECKS
from mac_assets.derived.assets import build_derived_assets
from mac_assets.partitions import yearly_partitions
from mac_assets.publish.assets import BiPublisher, RawBackups, build_publish_assets
from mac_assets.publish.report_assets import ReportsFolder, build_report_assets
from mac_assets.raw.assets import build_raw_assets
from mac_assets.runs import stale_run_sweeper
from mac_assets.schedules import build_refresh_jobs_and_schedules
from mac_assets.scores.assets import build_score_assets
from mac_assets.scores.extension_assets import build_extension_assets
from mac_assets.settings import Settings, load_settings
from mac_assets.sources import build_source
from mac_assets.storage import DuckDBFrameIOManager, MacDatabase

FULL_GRAPH_JOB = "mac_full_graph"


def build_definitions(settings: Settings, source=None) -> Definitions:
    """All definitions for `settings`; `source` overrides the MAC_SOURCE resource (tests pin the demo)."""
    partitions = yearly_partitions(settings.history_start)
    assets = [*build_raw_assets(partitions), *build_derived_assets(partitions, settings.extension),
              *build_score_assets(partitions, settings.min_pillars),
              *build_publish_assets(partitions, settings.extension), *build_report_assets(partitions)]
    if settings.extension:
        assets += build_extension_assets(partitions)
    freshness = build_freshness_checks()
    refresh_jobs, schedules = build_refresh_jobs_and_schedules(partitions)
    return Definitions(
        assets=assets,
        asset_checks=[*freshness, *SCORE_CHECKS],
        jobs=[define_asset_job(FULL_GRAPH_JOB, selection=AssetSelection.all(),
                               description="Raw → derived → scores for the selected years, in one run."),
              *refresh_jobs],
        schedules=schedules,
        sensors=[build_freshness_sensor(freshness), failed_run_alert, stale_run_sweeper],
        resources={
            "duckdb_io": DuckDBFrameIOManager(database=settings.duckdb_path),
            "mac_db": MacDatabase(path=settings.duckdb_path),
            "bi": BiPublisher(working_db=settings.duckdb_path, bi_path=settings.bi_path),
            "raw_backups": RawBackups(working_db=settings.duckdb_path, root=str(settings.backup_root),
                                      keep=settings.backup_keep),
            "report_files": ReportsFolder(path=settings.reports_dir),
            "source": source if source is not None else build_source(settings),
        },
        # One process per run: DuckDB has one writer, and a fresh process per step costs ~8 s here.
        executor=in_process_executor,
    )


@definitions
def defs() -> Definitions:
    """The code location for the environment's settings (MAC_SOURCE, MAC_DUCKDB_PATH, …)."""
    return build_definitions(load_settings())

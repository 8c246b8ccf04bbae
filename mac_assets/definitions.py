"""The code location: assets, checks, jobs and resources, assembled from the catalog — nothing else."""

from __future__ import annotations

from dagster import AssetSelection, Definitions, define_asset_job, in_process_executor

from mac_assets.checks.score_checks import mac_composite_is_consistent
from mac_assets.derived.assets import build_derived_assets
from mac_assets.partitions import yearly_partitions
from mac_assets.raw.assets import build_raw_assets
from mac_assets.scores.assets import build_score_assets
from mac_assets.settings import Settings, load_settings
from mac_assets.sources import build_source
from mac_assets.storage import DuckDBFrameIOManager

FULL_GRAPH_JOB = "mac_full_graph"


def build_definitions(settings: Settings, source=None) -> Definitions:
    """All definitions for `settings`; `source` overrides the MAC_SOURCE resource (tests pin the demo)."""
    partitions = yearly_partitions(settings.history_start)
    assets = [*build_raw_assets(partitions), *build_derived_assets(partitions), *build_score_assets(partitions)]
    return Definitions(
        assets=assets,
        asset_checks=[mac_composite_is_consistent],
        jobs=[define_asset_job(FULL_GRAPH_JOB, selection=AssetSelection.all(),
                               description="Raw → derived → scores for the selected years, in one run.")],
        resources={
            "duckdb_io": DuckDBFrameIOManager(database=settings.duckdb_path),
            "source": source if source is not None else build_source(settings),
        },
        # One process per run: DuckDB has one writer, and a fresh process per step costs ~8 s here.
        executor=in_process_executor,
    )


defs = build_definitions(load_settings())

"""Raw assets, one per catalog series, all built by one factory.

Each raw asset asks the configured source (the `source` resource) for its whole run window once,
validates what came back and stores it in `raw.<series>` with the source's label and fetch time.
"""

import pandas as pd
from dagster import AssetExecutionContext, AssetsDefinition, MetadataValue, Output, TimeWindowPartitionsDefinition, asset

from mac_assets.catalog import SERIES, Series
from mac_assets.partitions import layer_asset_args


def series_metadata(series: Series) -> dict:
    """Catalog facts shown on the asset's page in the Dagster UI."""
    return {
        "series_id": series.id,
        "source": series.source,
        "tier": series.tier,
        "pillars": ", ".join(series.pillars),
        "frequency": series.frequency,
        "units": series.units,
        "publication_lag_days": series.lag_days,
        "stale_after_days": series.stale_after_days,
        "reference": MetadataValue.url(series.reference),
    }


def build_raw_asset(series: Series, partitions: TimeWindowPartitionsDefinition) -> AssetsDefinition:
    @asset(
        name=series.asset_name,
        **layer_asset_args("raw", partitions),
        required_resource_keys={"source"},
        kinds={"duckdb", series.source},
        tags={"tier": str(series.tier), "source": series.source},
        metadata=series_metadata(series),
        description=f"{series.title} ({series.units}). Raw observations by date.",
    )
    def _raw(context: AssetExecutionContext) -> Output[pd.DataFrame]:
        source = context.resources.source
        window = context.partition_time_window
        frame = source.fetch(series, window.start.date(), window.end.date())
        frame = frame.assign(source=source.label, fetched_at=pd.Timestamp.now(tz="UTC").tz_localize(None))
        latest = frame["date"].max()
        return Output(frame, metadata={
            "data_source": source.label,
            "rows": len(frame),
            "first_date": str(frame["date"].min().date()) if len(frame) else "none",
            "latest_date": str(latest.date()) if len(frame) else "none",
            "requests": 1,
        })

    return _raw


def build_raw_assets(partitions: TimeWindowPartitionsDefinition) -> list[AssetsDefinition]:
    return [build_raw_asset(s, partitions) for s in SERIES]

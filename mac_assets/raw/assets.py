"""Raw assets, one per catalog series, all built by one factory.

Each raw asset asks the configured source (the `source` resource) for its whole run window once,
validates what came back and appends it to `raw.<series>` with the source's label and fetch time.
Writes are upserts on (date, keys): history is never deleted, so a provider that shortens its window
or a fetch that fails leaves every stored row in place. A failed fetch does not fail the run: the
asset's `fetch_succeeded` check fails (WARN) with the reason, and scores lose that series' coverage
once its data grows stale.
"""

import pandas as pd
from dagster import (
    AssetCheckResult,
    AssetCheckSeverity,
    AssetCheckSpec,
    AssetExecutionContext,
    AssetsDefinition,
    Failure,
    MetadataValue,
    Output,
    TimeWindowPartitionsDefinition,
    asset,
)

from mac_assets.catalog import SERIES, Series
from mac_assets.checks.quality import quality_check_specs, quality_results
from mac_assets.partitions import layer_asset_args
from mac_assets.sources.base import SourceError, empty_frame, validate_fetch
from mac_assets.settings import DEFAULT_DUCKDB_NAME, default_path
from mac_assets.storage import UPSERT_KEYS, MacDatabase

FETCH_CHECK = "fetch_succeeded"


def series_metadata(series: Series) -> dict:
    """Catalog facts shown on the asset's page in the Dagster UI."""
    return {
        "series_id": series.id,
        "provider": series.source,
        "tier": series.tier,
        "pillars": ", ".join(series.pillars),
        "frequency": series.frequency,
        "units": series.units,
        "publication_lag_days": series.lag_days,
        "stale_after_days": series.stale_after_days,
        "reference": MetadataValue.url(series.reference),
        UPSERT_KEYS: ["date", *series.keys],
    }


def refuse_other_sources(db: MacDatabase, series: Series, label: str) -> None:
    """Fail before fetching when the table holds rows another source wrote: they would be scored as this one's."""
    table = f"raw.{series.asset_name}"
    if not db.has_table(table):
        return
    others = sorted(set(db.query(f"select distinct source from {table}")["source"].dropna()) - {label})
    if others:
        raise Failure(
            f"{table} in {db.path} holds rows loaded from {', '.join(repr(o) for o in others)}, and this run's source "
            f"is {label!r}. One working file holds one source's data, or scores would mix them: use this source's "
            f"own file (the default, {default_path(label, DEFAULT_DUCKDB_NAME)}) or set MAC_DUCKDB_PATH to another file.")


def build_raw_asset(series: Series, partitions: TimeWindowPartitionsDefinition) -> AssetsDefinition:
    key = ["raw", series.asset_name]

    @asset(
        name=series.asset_name,
        **layer_asset_args("raw", partitions),
        required_resource_keys={"source", "mac_db"},
        kinds={"duckdb", series.source},
        tags={"tier": str(series.tier), "provider": series.source},
        metadata=series_metadata(series),
        check_specs=[AssetCheckSpec(FETCH_CHECK, asset=key,
                                    description="The source delivered the series for this run's window."),
                     *quality_check_specs(series)],
        description=f"{series.title} ({series.units}). Raw observations by date, append-only.",
    )
    def _raw(context: AssetExecutionContext):
        source = context.resources.source
        refuse_other_sources(context.resources.mac_db, series, source.label)
        window = context.partition_time_window
        start, end = window.start.date(), window.end.date()
        error, requests = "", 0
        try:
            fetched = source.fetch(series, start, end)
            frame, requests = validate_fetch(source.label, series, fetched.frame, start, end), fetched.requests
        except SourceError as exc:
            error, frame = str(exc), empty_frame(series)
            context.log.error(f"{exc} — stored rows are kept; scores lose this series once it is stale")
        frame = frame.assign(source=source.label, fetched_at=pd.Timestamp.now(tz="UTC").tz_localize(None))
        metadata = {"data_source": source.label, "rows_fetched": len(frame), "requests": requests}
        if len(frame):
            metadata |= {"first_date": str(frame["date"].min().date()), "latest_date": str(frame["date"].max().date())}
        yield Output(frame, metadata=metadata)
        yield AssetCheckResult(
            check_name=FETCH_CHECK, passed=not error, severity=AssetCheckSeverity.WARN,
            metadata={"source": source.label, "error": error or "none", "rows": len(frame)},
        )
        # The output is stored by now: judge the whole table, old rows and new.
        yield from quality_results(series, context.resources.mac_db.query(f"select * from raw.{series.asset_name}"))

    return _raw


def build_raw_assets(partitions: TimeWindowPartitionsDefinition) -> list[AssetsDefinition]:
    return [build_raw_asset(s, partitions) for s in SERIES]

"""Raw assets, one per catalog series, all built by one factory.

Each raw asset asks the configured source (the `source` resource) for its whole run window once,
validates what came back and appends it to `raw.<series>` with the source's label and fetch time.
Writes are upserts on (date, keys): history is never deleted, so a provider that shortens its window
or a fetch that fails leaves every stored row in place. A failed fetch does not fail the run: the
asset's `fetch_succeeded` check fails (WARN) with the reason, and scores lose that series' coverage
once its data grows stale.

Each asset also runs its data-quality checks in its own step, right after its write, on the whole
stored table: `is_valid` (blocking at ERROR: duplicate observations, dates in the future or values
outside the plausible range would corrupt every score downstream, so nothing downstream materializes
from such data) and `has_no_gaps` (WARN: a missing stretch corrupts nothing, but someone should look).
In-step checks instead of separate check steps save two steps per series, most of a daily run's
fixed cost.
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
from mac_assets.infra.io_manager import UPSERT_KEYS, Warehouse
from mac_assets.infra.partitions import data_bounds
from mac_assets.infra.settings import DEFAULT_DUCKDB_NAME, default_path
from mac_assets.pointintime import utc_today
from mac_assets.policy import layer_asset_args
from mac_assets.raw.quality import longest_gap, rescaled_by, validity_problems
from mac_assets.sources.base import (
    PROVIDER_COLUMN,
    MalformedPayload,
    SourceError,
    empty_frame,
    fetch_continued,
    validate_fetch,
)

FETCH_CHECK = "fetch_succeeded"
IS_VALID = "is_valid"
HAS_NO_GAPS = "has_no_gaps"


def series_metadata(series: Series) -> dict:
    """Catalog facts shown on the asset's page in the Dagster UI."""
    return {
        "series_id": series.id,
        "provider": series.provider,
        "tier": series.tier,
        "pillars": ", ".join(series.pillars),
        "frequency": series.frequency,
        "units": series.units,
        "publication_lag_days": series.lag_days,
        "stale_after_days": series.stale_after_days,
        "reference": MetadataValue.url(series.reference),
        UPSERT_KEYS: list(series.row_key),
    }


def check_specs(series: Series) -> list[AssetCheckSpec]:
    key = ["raw", series.asset_name]
    lo, hi = series.valid
    return [
        AssetCheckSpec(FETCH_CHECK, asset=key, description="The source delivered the series for this run's window."),
        AssetCheckSpec(IS_VALID, asset=key, blocking=True,
                       description=f"No duplicate dates, no future dates, values within [{lo:g}, {hi:g}] {series.units}."),
        AssetCheckSpec(HAS_NO_GAPS, asset=key,
                       description=f"No gap longer than {series.max_gap_days} days between observations."),
    ]


def quality_results(series: Series, stored: pd.DataFrame) -> list[AssetCheckResult]:
    """`is_valid` and `has_no_gaps` on the series' whole stored table."""
    lo, hi = series.valid
    problems = validity_problems(series, stored, utc_today())
    gap, ends = longest_gap(series, stored)
    return [
        AssetCheckResult(
            check_name=IS_VALID, passed=not any(problems.values()), severity=AssetCheckSeverity.ERROR,
            metadata={**problems, "rows": len(stored), "valid_range": f"[{lo:g}, {hi:g}] {series.units}"},
        ),
        AssetCheckResult(
            check_name=HAS_NO_GAPS, passed=gap <= series.max_gap_days, severity=AssetCheckSeverity.WARN,
            metadata={"longest_gap_days": gap, "allowed_gap_days": series.max_gap_days,
                      "gap_ends_on": str(ends.date()) if ends is not None else "none"},
        ),
    ]


def refuse_other_sources(db: Warehouse, series: Series, label: str) -> None:
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


def refuse_a_rescale(db: Warehouse, series: Series, frame: pd.DataFrame, provider: str) -> None:
    """A fetch that rescaled stored history would mix two scales in one table: refuse it, keep the rows.

    Versioned rows are exempt: a rebased version is stored beside the old one, not over it."""
    table = f"raw.{series.asset_name}"
    if series.columns != ("value",) or frame.empty or not db.has_table(table):
        return
    if series.vintages and frame["realtime_start"].notna().any():
        return
    stored = db.query(f"select date, value from {table} where date >= ? and date <= ?",
                      [frame["date"].min().date(), frame["date"].max().date()])
    factor = rescaled_by(series, stored, frame)
    if factor is not None:
        raise MalformedPayload(
            f"{provider}/{series.id}: every stored value in the window changed by the same factor ×{factor:.6g} "
            "(a split, or prices adjusted after the fact): refused, so the table does not mix two scales. If "
            "the new scale is right, move the table aside and re-materialize the full history.")


def build_raw_asset(series: Series, partitions: TimeWindowPartitionsDefinition) -> AssetsDefinition:
    @asset(
        name=series.asset_name,
        **layer_asset_args("raw", partitions),
        required_resource_keys={"source", "warehouse"},
        kinds={"duckdb", series.provider},
        tags={"tier": str(series.tier), "provider": series.provider},
        metadata=series_metadata(series),
        check_specs=check_specs(series),
        description=f"{series.title} ({series.units}). Raw observations by date, append-only.",
    )
    def _raw(context: AssetExecutionContext):
        source, db = context.resources.source, context.resources.warehouse
        refuse_other_sources(db, series, source.label)
        first, last = data_bounds(context)
        start, end = first.date(), last.date()
        error, requests, provider, notes = "", 0, series.provider, ()
        try:
            fetched = fetch_continued(source, series, start, end)
            frame, requests = validate_fetch(source.label, series, fetched.frame, start, end), fetched.requests
            provider, notes = fetched.provider or source.label, fetched.notes
            refuse_a_rescale(db, series, frame, provider)
        except SourceError as exc:
            error, frame = str(exc), empty_frame(series)
            context.log.error(f"{exc} — stored rows are kept; scores lose this series once it is stale")
        for text in notes:
            context.log.warning(f"{source.label}/{series.id}: {text}")
        # Every row says which source wrote it and which provider delivered it (a fallback is recorded).
        rows_provider = frame[PROVIDER_COLUMN].fillna(provider) if PROVIDER_COLUMN in frame.columns else provider
        frame = frame.assign(source=source.label, provider=rows_provider,
                             fetched_at=pd.Timestamp.now(tz="UTC").tz_localize(None))
        metadata = {"provider": provider, "requests": requests}  # the IO manager adds dagster/row_count
        if notes:
            metadata["notes"] = "; ".join(notes)
        if len(frame):
            metadata |= {"first_date": str(frame["date"].min().date()), "latest_date": str(frame["date"].max().date())}
        yield Output(frame, metadata=metadata)
        yield AssetCheckResult(
            check_name=FETCH_CHECK, passed=not error, severity=AssetCheckSeverity.WARN,
            metadata={"source": source.label, "error": error or "none", "rows": len(frame)},
        )
        # The output is stored by now: judge the whole table, old rows and new.
        yield from quality_results(series, db.query(f"select * from raw.{series.asset_name}"))

    return _raw


def build_raw_assets(partitions: TimeWindowPartitionsDefinition) -> list[AssetsDefinition]:
    return [build_raw_asset(s, partitions) for s in SERIES]

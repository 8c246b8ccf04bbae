"""Raw assets, one per catalog series, all built by one factory.

Each raw asset asks the configured source (the `source` resource) for its whole run window once (on a
live source through the `fetching` resource, which fetches the run's series from all providers at once
under the run's fetch budget and hands each asset its own), validates what came back and appends it to
`raw.<series>` with the source's label and fetch time.
Writes are upserts on (date, keys): history is never deleted, so a provider that shortens its window
or a fetch that fails leaves every stored row in place. A failed fetch does not fail the run: the
asset's `fetch_succeeded` check fails (WARN) with the reason, and scores lose that series' coverage
once its data grows stale.

Before anything is written, the answer is judged by the same rules as the blocking check, together with
the stored rows it does not replace: a bad answer is refused (a failed fetch) and nothing is written.
Stored rows that fail those rules (written by an older release, or a rule made stricter) are moved to
`quarantine.<table>` first, so one bad row never fails every later run; a fetch that rewrites settled
history beyond the revision bound is refused unless MAC_ACCEPT_REVISIONS names the series, and every
value a write replaces is kept in `revisions.<table>` (raw/quality.py states the rules).

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
)

from mac_assets.catalog import SERIES, Series
from mac_assets.infra.io_manager import UPSERT_KEYS, VALUE_COLUMNS, Warehouse
from mac_assets.infra.partitions import data_bounds
from mac_assets.infra.settings import ACCEPT_REVISIONS_VARIABLE, DEFAULT_DUCKDB_NAME, default_path
from mac_assets.infra.warehouse import QUARANTINE, REVISIONS
from mac_assets.keys import raw
from mac_assets.pointintime import utc_today
from mac_assets.policy import key, mac_asset
from mac_assets.raw.quality import (
    answer_problems,
    changed_values,
    describe_problems,
    longest_gap,
    revision_refusal,
    row_problems,
    unknown_keys,
    validity_problems,
)
from mac_assets.sources.base import (
    PROVIDER_COLUMN,
    MalformedPayload,
    SourceError,
    empty_frame,
    validate_fetch,
)

FETCH_CHECK = "fetch_succeeded"
# Sources whose history is generated, not published: a new MAC_DEMO_SEED rewrites all of it by design, so
# the revision bound does not apply (the replaced values are still kept in revisions.<table>).
SYNTHETIC_SOURCES = ("demo",)
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
        VALUE_COLUMNS: list(series.columns),
    }


def check_specs(series: Series) -> list[AssetCheckSpec]:
    asset_key = key(raw(series))
    lo, hi = series.valid
    return [
        AssetCheckSpec(FETCH_CHECK, asset=asset_key, description="The source delivered the series for this run's window."),
        AssetCheckSpec(IS_VALID, asset=asset_key, blocking=True,
                       description=f"No duplicate dates, no future dates, values within [{lo:g}, {hi:g}] {series.units}."),
        AssetCheckSpec(HAS_NO_GAPS, asset=asset_key,
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
    table = str(raw(series))
    if not db.has_table(table):
        return
    others = sorted(set(db.query(f"select distinct source from {table}")["source"].dropna()) - {label})
    if others:
        raise Failure(
            f"{table} in {db.path} holds rows loaded from {', '.join(repr(o) for o in others)}, and this run's source "
            f"is {label!r}. One working file holds one source's data, or scores would mix them: use this source's "
            f"own file (the default, {default_path(label, DEFAULT_DUCKDB_NAME)}) or set MAC_DUCKDB_PATH to another file.")


def stored_rows(db: Warehouse, series: Series) -> pd.DataFrame:
    """The series' whole stored table with each row's `row_id` (empty with the series' columns when new)."""
    table = str(raw(series))
    if not db.has_table(table):
        return empty_frame(series).assign(row_id=pd.Series(dtype="int64"))
    return db.query(f"select rowid as row_id, * from {table}")


def quarantine_stored(db: Warehouse, series: Series, stored: pd.DataFrame, log) -> tuple[pd.DataFrame, int]:
    """Move stored rows that fail the blocking check to quarantine.<table>; the stored rows left, and how many moved.

    They were written before the answer that carried them could be checked (an older release) or a rule
    became stricter: excluded from scores from now on, kept for audit, and the check passes again."""
    reasons = row_problems(series, stored, utc_today())
    if not (reasons != "").any():
        return stored, 0
    bad = stored.assign(reason=reasons)[reasons != ""]
    moved = db.quarantine(str(raw(series)), bad[["row_id", "reason"]])
    log.warning(f"{raw(series)}: {moved} stored rows failed the blocking check and were moved to "
                f"{QUARANTINE}.{series.asset_name} ({describe_problems(series, bad, bad['reason'])}); scores no "
                "longer read them")
    return stored[reasons == ""], moved


def refuse_a_bad_answer(series: Series, stored: pd.DataFrame, frame: pd.DataFrame, provider: str) -> None:
    """Refuse an answer that, written over the stored rows, would fail the blocking check: nothing is written."""
    problems = answer_problems(series, stored, frame, utc_today())
    if problems:
        raise MalformedPayload(f"{provider}/{series.id}: answer refused before storing, stored rows kept: {problems}")


def refuse_a_revision(series: Series, stored: pd.DataFrame, frame: pd.DataFrame, provider: str,
                      accepted: bool) -> int:
    """Refuse a fetch that rewrites settled history beyond the bound (raw/quality.py) unless accepted for this
    run; returns how many stored observations the write will revise (their old values are kept)."""
    why = revision_refusal(series, stored, frame)
    if why and not accepted:
        raise MalformedPayload(
            f"{provider}/{series.id}: refused, stored rows kept: {why}. If the provider's new history is right, "
            f"run once with {ACCEPT_REVISIONS_VARIABLE}={series.id}: the replaced values are kept in "
            f"{REVISIONS}.{series.asset_name}")
    return len(changed_values(series, stored, frame))


def series_in_run(context: AssetExecutionContext) -> list[Series]:
    """The catalog series whose raw assets this run materializes: what a live run fetches at once."""
    selected = context.job_def.asset_layer.selected_asset_keys
    return [s for s in SERIES if key(raw(s)) in selected]


def build_raw_asset(series: Series, partitions: TimeWindowPartitionsDefinition,
                    accept_revisions: frozenset[str] = frozenset()) -> AssetsDefinition:
    @mac_asset(
        raw(series), partitions,
        required_resource_keys={"source", "warehouse", "fetching"},
        kinds={"duckdb", series.provider},
        tags={"tier": str(series.tier), "provider": series.provider},
        metadata=series_metadata(series),
        check_specs=check_specs(series),
        description=f"{series.title} ({series.units}). Raw observations by date, append-only.",
    )
    def _raw(context: AssetExecutionContext):
        source, db = context.resources.source, context.resources.warehouse
        refuse_other_sources(db, series, source.label)
        stored, quarantined = quarantine_stored(db, series, stored_rows(db, series), context.log)
        first, last = data_bounds(context)
        start, end = first.date(), last.date()
        error, requests, provider, notes, revised = "", 0, series.provider, (), 0
        try:
            fetched = context.resources.fetching.fetch(source, series, start, end, series_in_run(context))
            frame, requests = validate_fetch(source.label, series, fetched.frame, start, end), fetched.requests
            provider, notes = fetched.provider or source.label, fetched.notes
            unknown = unknown_keys(series, frame)
            if unknown.any():
                notes = (*notes, f"{int(unknown.sum()):,} rows of {series.keys[0]} values the catalog does not know "
                                 f"were left out (e.g. {', '.join(sorted(set(frame.loc[unknown, series.keys[0]]))[:3])})")
                frame = frame[~unknown].reset_index(drop=True)
            refuse_a_bad_answer(series, stored, frame, provider)
            revised = refuse_a_revision(series, stored, frame, provider,
                                        series.id in accept_revisions or source.label in SYNTHETIC_SOURCES)
        except SourceError as exc:
            error, frame = str(exc), empty_frame(series)
            context.log.error(f"{exc} — stored rows are kept; scores lose this series once it is stale")
        for text in notes:
            context.log.warning(f"{source.label}/{series.id}: {text}")
        if revised:
            context.log.warning(f"{raw(series)}: {revised} stored observations revised by {provider}; "
                                f"the replaced values are kept in {REVISIONS}.{series.asset_name}")
        # Every row says which source wrote it and which provider delivered it (a fallback is recorded).
        rows_provider = frame[PROVIDER_COLUMN].fillna(provider) if PROVIDER_COLUMN in frame.columns else provider
        frame = frame.assign(source=source.label, provider=rows_provider,
                             fetched_at=pd.Timestamp.now(tz="UTC").tz_localize(None))
        metadata = {"provider": provider, "requests": requests}  # the IO manager adds dagster/row_count
        if notes:
            metadata["notes"] = "; ".join(notes)
        if revised or quarantined:
            metadata |= {"revised_rows": revised, "quarantined_rows": quarantined}
        if len(frame):
            metadata |= {"first_date": str(frame["date"].min().date()), "latest_date": str(frame["date"].max().date())}
        yield Output(frame, metadata=metadata)
        yield AssetCheckResult(
            check_name=FETCH_CHECK, passed=not error, severity=AssetCheckSeverity.WARN,
            metadata={"source": source.label, "error": error or "none", "rows": len(frame)},
        )
        # The output is stored by now: judge the whole table, old rows and new.
        yield from quality_results(series, db.query(f"select * from {raw(series)}"))

    return _raw


def build_raw_assets(partitions: TimeWindowPartitionsDefinition,
                     accept_revisions: frozenset[str] = frozenset()) -> list[AssetsDefinition]:
    """One raw asset per catalog series; `accept_revisions` (MAC_ACCEPT_REVISIONS) may rewrite settled history."""
    return [build_raw_asset(s, partitions, accept_revisions) for s in SERIES]

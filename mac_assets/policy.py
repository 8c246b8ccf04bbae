"""Policy applied to every asset, in one place: key, group, owners, code version, partitions, pool, IO manager.

Every asset is declared through `mac_asset(table, partitions, ...)`, which adds what the house decides for
all of them; the factories pass only what is theirs (inputs, description, kinds, metadata). A change of
policy (another pool, another owner, a retry policy) is made here once, and `violations` checks every
asset of the built definitions against it (tests/test_policy.py), so an asset declared some other way
is caught.

`code_version`: Dagster marks an asset's stored history as changed when its code version differs from
the one it was materialized with. Raw tables change when what a raw table stores changes
(`catalog.RAW_VERSION`); everything computed from them changes with any methodology's version, so a
methodology bump shows the whole computed history as changed in the UI.

Warnings Dagster raises about choices made on purpose are filtered where each arises, with its reason.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable

from dagster import (
    AssetExecutionContext,
    AssetKey,
    AssetObservation,
    AssetOut,
    AssetsDefinition,
    BackfillPolicy,
    BetaWarning,
    Definitions,
    TimeWindowPartitionsDefinition,
    asset,
    in_process_executor,
    multi_asset,
)

from mac_assets.catalog import RAW_VERSION
from mac_assets.keys import RAW, Table
from mac_assets.thresholds import EXTENSION_VERSION, MAC2_VERSION, MAC3_VERSION, METHODOLOGY_VERSION

# Every methodology whose numbers the computed layers store: add a new version here (one line).
METHODOLOGIES = (METHODOLOGY_VERSION, MAC2_VERSION, MAC3_VERSION, EXTENSION_VERSION)

# Every asset that writes DuckDB claims a slot in this pool; dagster.yaml gives it one slot.
POOL = "mac_duckdb"
IO_MANAGER_KEY = "duckdb_io"
OWNERS = ("team:mac-assets",)
# One process per run: DuckDB has one writer, and a fresh process per step costs more than the step.
EXECUTOR = in_process_executor


def key(table: Table) -> AssetKey:
    """The asset key of a table (`keys.py` names every one)."""
    return AssetKey(table.path)


def code_version(table: Table) -> str:
    return RAW_VERSION if table.schema == RAW else "+".join(METHODOLOGIES)


def mac_asset(table: Table, partitions: TimeWindowPartitionsDefinition | None, **spec) -> Callable:
    """`@asset` for `table` with the house policy; `partitions` None for an asset about the whole history.

    A backfill is one run (a full rebuild is one short run, not one per year); the unpartitioned assets say so
    too, or Dagster's CLI refuses a partition range that selects them with the partitioned ones.
    """
    def decorate(fn) -> AssetsDefinition:
        with warnings.catch_warnings():
            # `backfill_policy` is marked beta in Dagster 1.13; single-run backfills are chosen on purpose.
            warnings.filterwarnings("ignore", message=".*backfill_policy.*", category=BetaWarning)
            return asset(
                key=key(table), group_name=table.schema, owners=list(OWNERS), code_version=code_version(table),
                partitions_def=partitions, backfill_policy=BackfillPolicy.single_run(),
                pool=POOL, io_manager_key=IO_MANAGER_KEY, **spec,
            )(fn)

    return decorate


def mac_multi_asset(tables: dict[str, Table], partitions: TimeWindowPartitionsDefinition | None, *, name: str,
                    descriptions: dict[str, str], metadata: dict[str, dict], kinds: set[str], **spec) -> Callable:
    """`@multi_asset` writing every table of `tables` (output name → table) in one step, with the house policy."""
    schemas = {t.schema for t in tables.values()}
    if len(schemas) != 1:
        raise ValueError(f"{name}: a multi-asset writes one layer, not {sorted(schemas)}")

    def decorate(fn) -> AssetsDefinition:
        outs = {output: AssetOut(key=key(table), owners=list(OWNERS), code_version=code_version(table),
                                 io_manager_key=IO_MANAGER_KEY, description=descriptions[output],
                                 metadata=metadata.get(output), kinds=kinds)
                for output, table in tables.items()}
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=".*backfill_policy.*", category=BetaWarning)
            return multi_asset(name=name, outs=outs, group_name=schemas.pop(), partitions_def=partitions,
                               backfill_policy=BackfillPolicy.single_run(), pool=POOL, **spec)(fn)

    return decorate


def violations(defs: Definitions) -> list[str]:
    """Every way an asset of `defs` departs from the policy above, one line each (none: the policy holds)."""
    problems = []
    graph = defs.resolve_asset_graph()
    for assets_def in graph.assets_defs:
        for spec in assets_def.specs:
            table = Table(*spec.key.path)
            name = spec.key.to_user_string()
            expected = {"group": table.schema, "owners": list(OWNERS), "code_version": code_version(table),
                        "pool": POOL, "io_manager_key": IO_MANAGER_KEY}
            actual = {"group": spec.group_name, "owners": list(spec.owners), "code_version": spec.code_version,
                      "pool": assets_def.op.pool,
                      "io_manager_key": assets_def.get_io_manager_key_for_asset_key(spec.key)}
            problems += [f"{name}: {k} is {actual[k]!r}, policy says {v!r}" for k, v in expected.items() if actual[k] != v]
            if assets_def.backfill_policy != BackfillPolicy.single_run():
                problems.append(f"{name}: not backfilled as a single run")
    return problems


def with_latest(context: AssetExecutionContext, metadata: dict, latest: dict, asset_key: AssetKey | None = None) -> dict:
    """Materialization metadata that is worth its bytes in the instance.

    Dagster copies an output's metadata onto the materialization of *every* partition a run covers, so
    a full backfill would store the newest values, previews and tables once per year of history.
    `metadata` (rows, date range: what describes the run's window) goes on every materialization;
    `latest` (the newest values, previews) describes the state after the run: on a one-partition run
    (the daily update) it joins the materialization, on a backfill it is recorded once, as an
    observation of the last partition. A multi-asset names which of its assets `asset_key`.
    """
    keys = context.partition_keys if context.has_partition_key_range else []
    if len(keys) <= 1 or not latest:
        return metadata | latest
    context.log_event(AssetObservation(asset_key=asset_key or context.asset_key, partition=keys[-1], metadata=latest))
    return metadata

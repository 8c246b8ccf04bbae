"""The Dagster side of the warehouse: the IO manager every asset is stored through, and the resource for SQL.

Why not `dagster-duckdb`'s `DuckDBPandasIOManager`: it deletes a partition's rows and then inserts with
`select *` in autocommit mode, so a failed insert leaves the partition empty and a reordered column
list silently shifts values between columns; its DuckDB resource opens a connection per call, while a
run here holds the file open. This IO manager writes through `infra.warehouse` (one transaction,
insert BY NAME), and a read can reach back before its partition (`LOOKBACK_DAYS` in the input's
metadata) so rolling windows and as-of joins are computed inside one run instead of through offset
partition mappings. Raw assets declare `UPSERT_KEYS` in their metadata: their writes only add or
replace rows and never delete history.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
from dagster import (
    AssetIn,
    AssetKey,
    ConfigurableIOManager,
    ConfigurableResource,
    InputContext,
    MetadataValue,
    OutputContext,
)
from pydantic import Field

from mac_assets.infra import warehouse
from mac_assets.infra.backup import check_intact
from mac_assets.infra.partitions import REACHING_BACK_LAYERS, stored_window
from mac_assets.infra.runs import record_worker
from mac_assets.keys import Table

# Asset metadata key: columns identifying a row; when present, writes are append-only upserts.
UPSERT_KEYS = "upsert_keys"
# Asset metadata key of upserted tables: the value columns; a stored row whose values a write changes is
# kept in revisions.<table> (warehouse.write_frame).
VALUE_COLUMNS = "value_columns"
# Input metadata key: calendar days to read before the partition's window.
LOOKBACK_DAYS = "lookback_days"
LAST_UPDATED = "dagster/last_updated_timestamp"


def input_with_lookback(table: Table, days: int) -> AssetIn:
    """An input that also loads the `days` before the partition's window."""
    return AssetIn(key=AssetKey(table.path), metadata={LOOKBACK_DAYS: days})


def table_name(asset_key_path: list[str]) -> str:
    if len(asset_key_path) != 2:
        raise warehouse.StorageError(f"asset key {asset_key_path} must be [schema, table]")
    return f"{asset_key_path[0]}.{asset_key_path[1]}"


def rows_by_partition(context: OutputContext, obj: pd.DataFrame) -> dict[str | None, int]:
    """Rows of the output dated in each partition the run covers (None: an unpartitioned asset).

    A run over many partitions stores one output, and Dagster would copy one count onto every partition's
    materialization: twenty years of history would each show the whole history's rows.
    """
    if not context.has_asset_partitions:
        return {None: len(obj)}
    keys = context.asset_partition_keys
    if len(keys) == 1:
        return {keys[0]: len(obj)}
    windows = context.asset_partitions_def
    starts = np.array([pd.Timestamp(windows.time_window_for_partition_key(k).start).tz_localize(None) for k in keys],
                      dtype="datetime64[ns]")
    index = np.searchsorted(starts, obj["date"].to_numpy(dtype="datetime64[ns]"), side="right") - 1
    counts = np.bincount(index[index >= 0], minlength=len(keys))
    return {k: int(n) for k, n in zip(keys, counts)}


class Warehouse(ConfigurableResource):
    """The pipeline's warehouse (MAC_DUCKDB_PATH): SQL for checks, reports and publishing."""

    path: str = Field(description="The DuckDB file, or a DuckLake as `ducklake:<catalog>` (MAC_DUCKDB_PATH).")

    def query(self, sql: str, params: list | None = None) -> pd.DataFrame:
        return warehouse.query(self.path, sql, params)

    def has_table(self, table: str) -> bool:
        return warehouse.has_table(self.path, table)

    def quarantine(self, table: str, rows: pd.DataFrame) -> int:
        return warehouse.quarantine_rows(self.path, table, rows)


class DuckDBFrameIOManager(ConfigurableIOManager):
    """Stores each asset's DataFrame in DuckDB table `<prefix>.<name>`, one transaction per write.

    It holds the warehouse's path, not a nested `Warehouse` resource: Dagster initialises a nested resource
    through a deprecated call of its own, and no resource here needs another one.
    """

    path: str = Field(description="The DuckDB file, or a DuckLake as `ducklake:<catalog>` (MAC_DUCKDB_PATH).")
    backup_root: str = Field(default="", description="Folder of its raw backups (MAC_BACKUP_DIR): a run refuses to "
                             "start an empty file while they hold its history.")

    def setup_for_execution(self, context) -> None:
        # Every run initialises this resource first, in the process that executes it: the one place
        # to record that process, so a run whose worker is killed can be told from a live one.
        if context.instance is not None and context.run is not None:
            record_worker(context.instance, context.run.run_id)
        warehouse.hold_open(self.path, before_open=lambda: check_intact(
            self.path, Path(self.backup_root) if self.backup_root else None))

    def teardown_after_execution(self, context) -> None:
        warehouse.release(self.path)

    def handle_output(self, context: OutputContext, obj: pd.DataFrame) -> None:
        table = table_name(context.asset_key.path)
        window = None
        if context.has_asset_partitions:
            tw = context.asset_partitions_time_window
            window = _stored(context, tw.start, tw.end)
        definition = context.definition_metadata or {}
        upsert_keys, value_columns = definition.get(UPSERT_KEYS), definition.get(VALUE_COLUMNS)
        newest = warehouse.write_frame(self.path, table, obj, window,
                                       list(upsert_keys) if upsert_keys else None,
                                       list(value_columns) if value_columns else None)
        metadata = {}
        if upsert_keys:
            # Dagster's freshness checks read this key: for raw tables "last updated" means the newest
            # observation stored, so the check measures data lag, not how recently a run happened. An
            # empty table gets one second past the Unix epoch: without the key (or with 0, which Dagster
            # reads as unset) the check would fall back to the run's time and call an empty table fresh.
            stamp = datetime(newest.year, newest.month, newest.day, tzinfo=UTC).timestamp() if newest else 1.0
            metadata |= {LAST_UPDATED: MetadataValue.timestamp(stamp),
                         "newest_observation": newest.isoformat() if newest else "none"}
        context.add_output_metadata(metadata)
        for key, rows in rows_by_partition(context, obj).items():
            # Dagster's own row count (the catalog's column) and the same number named for what it counts.
            counts = {"dagster/row_count": rows, "rows in partition": rows}
            if key is None:
                context.add_output_metadata(counts)
            else:
                context.step_context.add_asset_metadata(counts, asset_key=context.asset_key, partition_key=key)

    def load_input(self, context: InputContext) -> pd.DataFrame:
        table = table_name(context.asset_key.path)
        if not context.has_asset_partitions:
            return warehouse.read_frame(self.path, table)
        tw = context.asset_partitions_time_window
        lookback = int((context.definition_metadata or {}).get(LOOKBACK_DAYS, 0))
        start, end = _stored(context, tw.start, tw.end)
        return warehouse.read_frame(self.path, table, since=start - timedelta(days=lookback), until=end)


def _stored(context: OutputContext | InputContext, start: datetime, end: datetime) -> tuple[datetime, datetime]:
    """The window a table's rows for [start, end) cover: raw and derived tables' first partition reaches back."""
    if context.asset_key.path[0] not in REACHING_BACK_LAYERS:
        return start, end
    return stored_window(context.asset_partitions_def, start, end)

"""Running the whole graph in tests: settings, one run over some years, and table snapshots."""

import hashlib
from datetime import date
from pathlib import Path

import pandas as pd
from dagster import AssetKey, DagsterInstance

from mac_assets.definitions import FULL_GRAPH_JOB, build_definitions
from mac_assets.infra.settings import Settings
from mac_assets.infra.warehouse import connect
from mac_assets.run import materialize_years
from mac_assets.sources.demo import DemoSource

AS_OF = "2021-06-30"


def settings_for(path, **kw) -> Settings:
    return Settings(**{"duckdb_path": str(path), "bi_path": str(Path(path).with_name("mac_bi.duckdb")),
                       "reports_dir": str(Path(path).with_name("reports")), "source": "demo",
                       "history_start": date(2019, 1, 1), "demo_seed": 7} | kw)


def run(path, first, last, source=None, settings=None):
    defs = build_definitions(settings or settings_for(path), source or DemoSource(seed=7, as_of=AS_OF))
    return materialize_years(defs, first, last, DagsterInstance.ephemeral(), log_level="ERROR")


def run_assets(path, keys: list[str], year: str, source, settings=None):
    """A run of only the named assets (`raw/vix`) and their checks for one year: the smallest graph run."""
    defs = build_definitions(settings or settings_for(path), source)
    job = defs.resolve_job_def(FULL_GRAPH_JOB)
    return job.execute_in_process(instance=DagsterInstance.ephemeral(), partition_key=year, raise_on_error=False,
                                  asset_selection=[AssetKey(k.split("/")) for k in keys])


def tables(path) -> dict[str, pd.DataFrame]:
    """Every table of a DuckDB file or lake, sorted, without the fetch timestamp (the one column that must differ
    per run) and without a lake's copy of the BI snapshot (a file keeps it in the snapshot file)."""
    out = {}
    with connect(str(path), read_only=True) as con:
        names = con.execute("select table_schema || '.' || table_name from information_schema.tables "
                            "where table_catalog = current_database() and table_schema != 'bi'").fetchall()
        for (name,) in names:
            df = con.execute(f"select * from {name}").fetchdf().drop(columns=["fetched_at"], errors="ignore")
            out[name] = df.sort_values(list(df.columns)).reset_index(drop=True)
    return out


def digest(frames: dict[str, pd.DataFrame]) -> dict[str, str]:
    return {k: hashlib.sha256(pd.util.hash_pandas_object(v, index=False).values.tobytes()).hexdigest()
            for k, v in frames.items()}

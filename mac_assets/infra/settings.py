"""Environment settings read once when the code location loads.

Every variable a user can set lives here, so README's table and the code cannot drift apart:
`tests/test_docs.py` checks that README documents each name in `ENV_VARS`.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path

from mac_assets.catalog import SERIES
from mac_assets.infra import lake
from mac_assets.sources.csv_folder import DEFAULT_MAX_BYTES as DEFAULT_CSV_MAX_BYTES
from mac_assets.sources.csv_folder import MAX_BYTES_VARIABLE as CSV_MAX_BYTES_VARIABLE
from mac_assets.sources.demo import DEFAULT_SEED as DEFAULT_DEMO_SEED
from mac_assets.sources.providers import LIVE_PROVIDERS

DEFAULT_LAKE_SNAPSHOT_DAYS = 7
ACCEPT_REVISIONS_VARIABLE = "MAC_ACCEPT_REVISIONS"
FETCH_BUDGET_VARIABLE = "MAC_FETCH_BUDGET_S"
DEFAULT_FETCH_BUDGET_S = 120.0

ENV_VARS: dict[str, str] = {
    "MAC_DUCKDB_PATH": ("DuckDB file the pipeline writes (default `data/<source>/mac.duckdb`: one file per source), or a "
                        "DuckLake for a team, `ducklake:postgres:dbname=… host=… user=…` (password in PGPASSWORD; README "
                        "\"Deploying for a team\")."),
    lake.DATA_PATH_VARIABLE: ("Where a DuckLake warehouse keeps its Parquet files: a folder or `s3://bucket/prefix` (S3 "
                              "credentials in AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY, AWS_ENDPOINT_URL for MinIO and "
                              "the like); needed when the lake is created, recorded in its catalog."),
    lake.TIMEOUT_VARIABLE: (f"Seconds one request to a DuckLake's S3 may wait for an answer (default "
                            f"{lake.DEFAULT_TIMEOUT_S}); after the first that gets none, the run's later steps on the "
                            "lake fail at once instead of each waiting in turn."),
    "MAC_LAKE_SNAPSHOT_DAYS": ("Days the daily maintenance job keeps a DuckLake's old snapshots (time travel) and the "
                               f"files only they use (default {DEFAULT_LAKE_SNAPSHOT_DAYS})."),
    "MAC_BI_PATH": ("Read-only snapshot BI tools open (default `data/<source>/mac_bi.duckdb`), replaced atomically "
                    "after each run; never the working file, never a file the pipeline did not publish."),
    "MAC_SOURCE": "Where raw series come from: `demo` (default), `live` (provider APIs) or `csv` (a folder).",
    "MAC_CSV_DIR": "Folder of `<SERIES>.csv` files: the whole source when MAC_SOURCE=csv, a fallback for live.",
    CSV_MAX_BYTES_VARIABLE: (f"Largest CSV file read, in bytes (default {DEFAULT_CSV_MAX_BYTES:,}, 64 MB): a larger one is "
                             "refused before it is read, naming the file and this setting."),
    "FRED_API_KEY": "FRED API key, required by MAC_SOURCE=live; read at run time through Dagster's EnvVar.",
    "GLASSNODE_API_KEY": "Optional Glassnode key for exchange reserves; without it live reads the CSV folder.",
    "MAC_<PROVIDER>_BASE_URL": (
        "Override a provider's root URL (mirror, proxy, test server): "
        + ", ".join(p.base_url_variable for p in LIVE_PROVIDERS) + "."
    ),
    FETCH_BUDGET_VARIABLE: (f"Seconds a live run may spend fetching, all providers at once (default "
                            f"{DEFAULT_FETCH_BUDGET_S:g}); a series not fetched by then is missing coverage for that run."),
    "MAC_HISTORY_START": (
        "First day of history, YYYY-MM-DD (default `2007-01-01`). Partitions are calendar years, so the "
        "graph starts on 1 January of that year; the first year warms up rolling windows and lagged series."
    ),
    "MAC_DEMO_SEED": f"Seed of the demo generator (default `{DEFAULT_DEMO_SEED}`).",
    "MAC_REPORTS_DIR": "Folder for report files: the analysts' page (site/), validation and quarterly review (default `reports`).",
    "MAC_EXTENSION": (
        "`on` (default) or `off`: the extension (yen carry, cross-asset correlation, systemic term, compression, "
        "extended MAC; docs/extension.md). Off removes its derived and `extension` assets; the seven-pillar MAC is "
        "the same either way."
    ),
    "MAC_BACKUP_DIR": ("Folder of the raw-schema backups made after every run (default `backups/<file stem>` beside the "
                       "working file; for a DuckLake `data/<source>/backups/lake`)."),
    "MAC_BACKUP_KEEP": "How many backups to keep, newest first (default 7).",
    "MAC_RETENTION_DAYS": ("Days a finished run and its event log are kept before the daily maintenance job (or "
                           "`make prune`) deletes it (default 30); runs holding an asset's latest materialization stay."),
    "MAC_RETENTION_FAILED_DAYS": "Days a failed or canceled run is kept (default 90; at least MAC_RETENTION_DAYS).",
    "MAC_ACCEPT_REVISIONS": ("Comma-separated series ids whose provider may rewrite settled stored history beyond the "
                             "revision bound in this run (docs/operations.md); the replaced values are kept in "
                             "`revisions.<table>`. Unset (the default), such a fetch is refused and named."),
    "MAC_ALERT_WEBHOOK_URL": "Optional URL that receives each alert as a JSON POST (band crossings, failed runs).",
    "DAGSTER_HOME": "Dagster instance directory; the Makefile sets `.dagster_home` and links `dagster.yaml` there.",
}

# One working file (and one snapshot) per source, so rows of one source are never scored as another's.
DEFAULT_DATA_DIR = "data/{source}"
DEFAULT_DUCKDB_NAME = "mac.duckdb"
DEFAULT_BI_NAME = "mac_bi.duckdb"
DEFAULT_HISTORY_START = "2007-01-01"
EARLIEST_HISTORY_START = date(1900, 1, 1)
DEFAULT_BACKUP_KEEP = 7
DEFAULT_RETENTION_DAYS = 30
DEFAULT_RETENTION_FAILED_DAYS = 90
DEFAULT_SOURCE = "demo"
SOURCES = ("demo", "live", "csv")


@dataclass(frozen=True)
class Settings:
    duckdb_path: str
    source: str
    history_start: date
    demo_seed: int
    csv_dir: str = ""
    csv_max_bytes: int = DEFAULT_CSV_MAX_BYTES
    base_urls: dict[str, str] = field(default_factory=dict)
    keys_set: frozenset[str] = frozenset()  # providers whose API key variable is set
    bi_path: str = ""
    reports_dir: str = "reports"
    extension: bool = True
    backup_dir: str = ""
    backup_keep: int = DEFAULT_BACKUP_KEEP
    retention_days: int = DEFAULT_RETENTION_DAYS
    retention_failed_days: int = DEFAULT_RETENTION_FAILED_DAYS
    lake_snapshot_days: int = DEFAULT_LAKE_SNAPSHOT_DAYS
    accept_revisions: frozenset[str] = frozenset()
    fetch_budget_s: float = DEFAULT_FETCH_BUDGET_S

    @property
    def backup_root(self) -> Path:
        """Backups live beside the working file (a lake's under the source's data folder) unless MAC_BACKUP_DIR says otherwise."""
        if self.backup_dir:
            return Path(self.backup_dir)
        if lake.is_lake(self.duckdb_path):
            return Path(default_path(self.source, "backups")) / lake.ALIAS
        working = Path(self.duckdb_path)
        return working.parent / "backups" / working.stem


def default_path(source: str, name: str) -> str:
    """Where a source's working file or snapshot lives unless MAC_DUCKDB_PATH / MAC_BI_PATH say otherwise."""
    return str(Path(DEFAULT_DATA_DIR.format(source=source)) / name)


def load_settings(environ: dict[str, str] | None = None) -> Settings:
    """Read and validate the MAC_* variables; a bad value fails loudly with the variable's name."""
    env = os.environ if environ is None else environ
    raw_start = env.get("MAC_HISTORY_START", DEFAULT_HISTORY_START)
    try:
        history_start = date.fromisoformat(raw_start)
    except ValueError as exc:
        raise ValueError(f"MAC_HISTORY_START={raw_start!r} is not a date in YYYY-MM-DD form") from exc
    today = datetime.now(UTC).date()
    if not EARLIEST_HISTORY_START <= history_start <= today:
        raise ValueError(f"MAC_HISTORY_START={raw_start!r} must lie between {EARLIEST_HISTORY_START} and today ({today})")
    source = env.get("MAC_SOURCE", DEFAULT_SOURCE).strip().lower()
    duckdb_path = env.get("MAC_DUCKDB_PATH") or default_path(source, DEFAULT_DUCKDB_NAME)
    if lake.is_lake(duckdb_path):
        lake.check_spec(duckdb_path, env)
    bi_path = env.get("MAC_BI_PATH") or default_path(source, DEFAULT_BI_NAME)
    check_bi_path(bi_path, duckdb_path)
    if "MAC_MIN_PILLARS" in env:
        raise ValueError("MAC_MIN_PILLARS is retired: every reading is published when at least half of its weight is "
                         "measured, one rule for all (README); unset MAC_MIN_PILLARS")
    retention_days = _positive(env, "MAC_RETENTION_DAYS", DEFAULT_RETENTION_DAYS)
    retention_failed_days = _positive(env, "MAC_RETENTION_FAILED_DAYS", max(DEFAULT_RETENTION_FAILED_DAYS, retention_days))
    if retention_failed_days < retention_days:
        raise ValueError(f"MAC_RETENTION_FAILED_DAYS={retention_failed_days} must be at least "
                         f"MAC_RETENTION_DAYS={retention_days}: failed runs are kept longer, not shorter")
    return Settings(
        duckdb_path=duckdb_path,
        source=source,
        history_start=history_start,
        demo_seed=_int(env, "MAC_DEMO_SEED", DEFAULT_DEMO_SEED),
        csv_dir=env.get("MAC_CSV_DIR", ""),
        csv_max_bytes=_positive(env, CSV_MAX_BYTES_VARIABLE, DEFAULT_CSV_MAX_BYTES),
        base_urls={p.name: env[p.base_url_variable] for p in LIVE_PROVIDERS if env.get(p.base_url_variable)},
        keys_set=frozenset(p.name for p in LIVE_PROVIDERS if p.key_variable and env.get(p.key_variable)),
        bi_path=bi_path,
        reports_dir=env.get("MAC_REPORTS_DIR", "reports"),
        extension=_switch(env, "MAC_EXTENSION", True),
        backup_dir=env.get("MAC_BACKUP_DIR", ""),
        backup_keep=_positive(env, "MAC_BACKUP_KEEP", DEFAULT_BACKUP_KEEP),
        retention_days=retention_days,
        retention_failed_days=retention_failed_days,
        lake_snapshot_days=_positive(env, "MAC_LAKE_SNAPSHOT_DAYS", DEFAULT_LAKE_SNAPSHOT_DAYS),
        accept_revisions=_series_ids(env, ACCEPT_REVISIONS_VARIABLE),
        fetch_budget_s=_seconds(env, FETCH_BUDGET_VARIABLE, DEFAULT_FETCH_BUDGET_S),
    )


def check_bi_path(bi_path: str, duckdb_path: str) -> None:
    """Refuse a snapshot path that would replace the working file, a folder, or clash with the bi schema."""
    target = Path(bi_path)
    if target.stem.lower() == "bi":
        raise ValueError(f"MAC_BI_PATH={bi_path!r}: DuckDB names a database after its file, and 'bi' would clash "
                         "with the bi schema inside it; choose another name, e.g. mac_bi.duckdb")
    if target.resolve() == Path(duckdb_path).resolve():
        raise ValueError(f"MAC_BI_PATH={bi_path!r} is the working file MAC_DUCKDB_PATH: publishing would replace "
                         "every stored table with the snapshot; choose another file, e.g. mac_bi.duckdb beside it")
    if target.is_dir():
        raise ValueError(f"MAC_BI_PATH={bi_path!r} is a folder; name the snapshot file, e.g. {target / DEFAULT_BI_NAME}")


def _series_ids(env, name: str) -> frozenset[str]:
    """A comma-separated list of catalog series ids; an unknown id is refused with the variable's name."""
    ids = frozenset(i.strip() for i in env.get(name, "").split(",") if i.strip())
    unknown = sorted(ids - {s.id for s in SERIES})
    if unknown:
        raise ValueError(f"{name}: {', '.join(unknown)} {'is not a' if len(unknown) == 1 else 'are not'} catalog "
                         "series id (docs/catalog.md)")
    return ids


def _switch(env, name: str, default: bool) -> bool:
    raw = env.get(name, "on" if default else "off").strip().lower()
    if raw not in ("on", "off"):
        raise ValueError(f"{name}={raw!r} must be 'on' or 'off'")
    return raw == "on"


def _positive(env, name: str, default: int) -> int:
    value = _int(env, name, default)
    if value < 1:
        raise ValueError(f"{name}={value} must be at least 1")
    return value


def _seconds(env, name: str, default: float) -> float:
    raw = env.get(name, str(default))
    try:
        value = float(raw)
    except ValueError:
        raise ValueError(f"{name}={raw!r} is not a number of seconds") from None
    if not value >= 1 or value == float("inf"):
        raise ValueError(f"{name}={raw!r} must be a number of seconds, at least 1")
    return value


def _int(env, name: str, default: int) -> int:
    raw = env.get(name, str(default))
    try:
        return int(raw)
    except ValueError as exc:
        raise ValueError(f"{name}={raw!r} is not an integer") from exc

"""The warehouse on DuckLake, without Dagster: a catalog in PostgreSQL, data as Parquet in a folder or on S3.

`MAC_DUCKDB_PATH=ducklake:<catalog>` switches the warehouse from one DuckDB file to a DuckLake, and
nothing else changes: every read and write still goes through `infra/warehouse.py`, which opens an
in-memory DuckDB here, attaches the lake as `lake` and makes it the current database, so the same SQL
addresses the same `<schema>.<table>` names. A lake has many writers: each transaction commits against
the catalog and a conflicting one is retried by the warehouse (`is_conflict`).

The warehouse is addressed by that one string everywhere (resources, `make run`, BI); what a connection
needs beyond it travels in the environment, like libpq's own variables: the catalog's password in
PGPASSWORD (never in MAC_DUCKDB_PATH, which is printed), the data folder in MAC_LAKE_DATA_PATH (needed
when the lake is created; DuckLake records it in the catalog), S3 credentials in AWS_ACCESS_KEY_ID /
AWS_SECRET_ACCESS_KEY (AWS_REGION, AWS_ENDPOINT_URL for an S3-compatible endpoint).

Object storage is bounded like the providers are: each request to S3 may wait MAC_LAKE_TIMEOUT_S
(DuckDB's `http_timeout`, with one retry instead of DuckDB's three), so a frozen endpoint fails the first
statement that touches it after a few such waits, and the warehouse then counts the lake as down for the
rest of the run (`infra/warehouse.py`, `stopped_answering`) instead of letting every step wait in turn.

Extensions come from the PyPI packages of the `lake` extra and are installed offline into a folder of
this environment (`EXTENSION_DIR`); DuckDB never downloads one.
"""

from __future__ import annotations

import os
import sys
from datetime import UTC, datetime, timedelta
from importlib import import_module
from pathlib import Path
from urllib.parse import urlsplit

import duckdb

from mac_assets.infra.sql import literal

PREFIX = "ducklake:"
ALIAS = "lake"
DATA_PATH_VARIABLE = "MAC_LAKE_DATA_PATH"
TIMEOUT_VARIABLE = "MAC_LAKE_TIMEOUT_S"
DEFAULT_TIMEOUT_S = 10
# DuckDB's default is three retries of every request to S3: a frozen endpoint then costs four timeouts a request.
HTTP_RETRIES = 1
# DuckDB's name for each extension, and the PyPI package (`lake` extra) that carries its file.
EXTENSIONS = {"ducklake": "duckdb_extension_ducklake", "postgres_scanner": "duckdb_extension_postgres",
              "httpfs": "duckdb_extension_httpfs"}
# Installed once per environment, beside the packages they come from; never in the user's home.
EXTENSION_DIR = Path(sys.prefix) / "duckdb_extensions"
INSTALL_HINT = "pip install 'mac-assets[lake]'"


def is_lake(path: str) -> bool:
    return str(path).startswith(PREFIX)


def catalog(path: str) -> str:
    return str(path)[len(PREFIX):]


def check_spec(path: str, environ=None) -> None:
    """Refuse a lake address that would print a password, or a data path DuckLake cannot use."""
    env = os.environ if environ is None else environ
    if "password" in path.lower():
        raise ValueError("MAC_DUCKDB_PATH holds a password, and it is printed in logs and run summaries: "
                         "put the catalog's password in PGPASSWORD instead")
    if not catalog(path):
        raise ValueError("MAC_DUCKDB_PATH=ducklake: names no catalog, e.g. ducklake:postgres:dbname=mac host=db")
    data = env.get(DATA_PATH_VARIABLE, "")
    if data and not data.startswith("s3://") and Path(data).exists() and not Path(data).is_dir():
        raise ValueError(f"{DATA_PATH_VARIABLE}={data!r} is a file; name a folder or an s3:// prefix")
    timeout_s(env)


def timeout_s(environ=None) -> int:
    """Seconds one request to the lake's object storage may wait (MAC_LAKE_TIMEOUT_S), a whole number of at least 1."""
    env = os.environ if environ is None else environ
    raw = env.get(TIMEOUT_VARIABLE, str(DEFAULT_TIMEOUT_S))
    if not raw.strip().isdigit() or int(raw) < 1:
        raise ValueError(f"{TIMEOUT_VARIABLE}={raw!r} must be a whole number of seconds, at least 1")
    return int(raw)


def _package_file(name: str) -> Path:
    try:
        package = import_module(EXTENSIONS[name])
    except ImportError:
        raise RuntimeError(f"the DuckDB extension {name} is not installed: {INSTALL_HINT}") from None
    files = list((Path(package.__file__).parent / "extensions" / f"v{duckdb.__version__}").glob("*.duckdb_extension"))
    if not files:
        raise RuntimeError(f"{EXTENSIONS[name]} carries no extension for DuckDB {duckdb.__version__}: "
                           f"install the package version equal to DuckDB's ({INSTALL_HINT})")
    return files[0]


def install_extensions() -> list[str]:
    """Install every lake extension from its package into EXTENSION_DIR (offline, idempotent); names them."""
    con = duckdb.connect(config=_config())
    try:
        for name in EXTENSIONS:
            _install(con, name)
    finally:
        con.close()
    return list(EXTENSIONS)


def _install(con: duckdb.DuckDBPyConnection, name: str) -> None:
    EXTENSION_DIR.mkdir(parents=True, exist_ok=True)
    con.install_extension(str(_package_file(name)))


def _config(memory_limit: str | None = None) -> dict:
    config = {"extension_directory": str(EXTENSION_DIR), "autoinstall_known_extensions": False}
    return config | ({"memory_limit": memory_limit} if memory_limit else {})


def _load(con: duckdb.DuckDBPyConnection, names: list[str]) -> None:
    for name in names:
        try:
            con.execute(f"load {name}")
        except duckdb.IOException:  # not yet installed in this environment: from its package, no download
            _install(con, name)
            con.execute(f"load {name}")


def _s3_secret(con: duckdb.DuckDBPyConnection, env) -> None:
    """An S3 secret from the standard AWS variables; an endpoint URL makes it path-style (MinIO, moto)."""
    options = {"KEY_ID": env.get("AWS_ACCESS_KEY_ID", ""), "SECRET": env.get("AWS_SECRET_ACCESS_KEY", ""),
               "REGION": env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION") or "us-east-1"}
    endpoint = env.get("AWS_ENDPOINT_URL_S3") or env.get("AWS_ENDPOINT_URL")
    if endpoint:
        url = urlsplit(endpoint)
        options |= {"ENDPOINT": url.netloc, "URL_STYLE": "path", "USE_SSL": str(url.scheme == "https").lower()}
    body = ", ".join(f"{k} {v}" if k == "USE_SSL" else f"{k} {literal(v)}" for k, v in options.items())
    con.execute(f"create or replace temporary secret mac_lake_s3 (TYPE s3, {body})")


def open_lake(path: str, read_only: bool, memory_limit: str, environ=None) -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB with the lake attached as `lake` and current; the catalog is created on first use."""
    env = os.environ if environ is None else environ
    data = env.get(DATA_PATH_VARIABLE, "")
    spec = catalog(path)
    con = duckdb.connect(config=_config(memory_limit))
    try:
        _load(con, ["ducklake"] + (["postgres_scanner"] if spec.startswith("postgres:") else [])
              + (["httpfs"] if data.startswith("s3://") else []))
        if data.startswith("s3://"):
            _s3_secret(con, env)
            # Whole numbers checked by `timeout_s`: nothing of the setting's text reaches the SQL.
            con.execute(f"set global http_timeout = {timeout_s(env)}")  # global: the run's cursors share it
            con.execute(f"set global http_retries = {HTTP_RETRIES}")
        elif data:
            Path(data).mkdir(parents=True, exist_ok=True)
        options = [f"data_path {literal(data)}"] if data and not read_only else []
        options += ["read_only"] if read_only else []
        con.execute(f"attach {literal(path)} as {ALIAS}" + (f" ({', '.join(options)})" if options else ""))
        con.execute(f"use {ALIAS}")
        return con
    except BaseException:
        con.close()
        raise


def use(con: duckdb.DuckDBPyConnection) -> duckdb.DuckDBPyConnection:
    """A cursor on a connection that holds the lake, with the lake current (USE is per cursor)."""
    cursor = con.cursor()
    cursor.execute(f"use {ALIAS}")
    return cursor


def is_conflict(exc: BaseException) -> bool:
    """A commit refused because another writer changed the same table first: retrying the whole write succeeds."""
    return isinstance(exc, duckdb.TransactionException) and "conflict" in str(exc).lower()


def maintain(con: duckdb.DuckDBPyConnection, keep_days: int) -> dict[str, int]:
    """Merge small adjacent files, expire snapshots older than `keep_days`, delete the files they freed."""
    before = datetime.now(UTC) - timedelta(days=keep_days)
    merged = con.execute("select count(*) from ducklake_merge_adjacent_files(?)", [ALIAS]).fetchone()[0]
    expired = con.execute("select count(*) from ducklake_expire_snapshots(?, older_than => ?)",
                          [ALIAS, before]).fetchone()[0]
    deleted = con.execute("select count(*) from ducklake_cleanup_old_files(?, older_than => ?)",
                          [ALIAS, before]).fetchone()[0]
    snapshots = con.execute(f"select count(*) from {ALIAS}.snapshots()").fetchone()[0]
    return {"files_merged": int(merged), "snapshots_expired": int(expired), "files_deleted": int(deleted),
            "snapshots_kept": int(snapshots)}


if __name__ == "__main__":
    print(f"DuckDB {duckdb.__version__} extensions installed into {EXTENSION_DIR}: {', '.join(install_extensions())}")

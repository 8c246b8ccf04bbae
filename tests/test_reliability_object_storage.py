"""Reliability: a lake whose S3 endpoint stops answering fails the run in seconds, not step after step (#24, 1c, 7d).

A real DuckLake (catalog in PostgreSQL, Parquet on moto's S3, scripts/servers.py) whose endpoint is frozen
with SIGSTOP: it still accepts connections and never answers, as a hung appliance does. Each request may
wait MAC_LAKE_TIMEOUT_S (1 s here); after the first that gets no answer, every later statement of the run
fails at once.
"""

from __future__ import annotations

import os
import signal
import time
import uuid
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path

import pandas as pd
import pytest
from graph_helpers import run, settings_for
from instance_helpers import started
from servers import create_database, lake_catalog, postgres_server, s3_server

from mac_assets.infra import lake, warehouse
from mac_assets.infra.warehouse import StorageError

pytestmark = pytest.mark.process

TABLE = "raw.sample"


@pytest.fixture(scope="module")
def postgres():
    with started(postgres_server()) as server:
        yield server


@pytest.fixture
def s3_lake(postgres, monkeypatch):
    """A new lake on a new S3 endpoint; yields its address and a context that freezes the endpoint."""
    with started(s3_server()) as s3:
        monkeypatch.setenv("PGPASSWORD", postgres["DAGSTER_PG_PASSWORD"])
        for name, value in s3.items():
            if name != "bucket":
                monkeypatch.setenv(name, value)
        monkeypatch.setenv(lake.DATA_PATH_VARIABLE, f"s3://{s3['bucket']}/lake/")
        monkeypatch.setenv(lake.TIMEOUT_VARIABLE, "1")
        yield lake_catalog(create_database(postgres, f"lake_{uuid.uuid4().hex[:12]}")), frozen(s3["AWS_ENDPOINT_URL"])


def frozen(endpoint: str):
    """SIGSTOP the moto server behind `endpoint` for the length of the context: connections open, no answers."""
    port = endpoint.rsplit(":", 1)[1].encode()
    commands = {int(p.parent.name): p.read_bytes().split(b"\0") for p in Path("/proc").glob("[0-9]*/cmdline")}
    [pid] = [pid for pid, args in commands.items() if any(a.endswith(b"moto_server") for a in args) and port in args]

    @contextmanager
    def freeze():
        os.kill(pid, signal.SIGSTOP)
        try:
            yield
        finally:
            os.kill(pid, signal.SIGCONT)
    return freeze


def year(value: int) -> tuple[pd.DataFrame, tuple[datetime, datetime]]:
    dates = pd.date_range(f"{value}-01-01", f"{value}-12-31", freq="B")
    return pd.DataFrame({"date": dates, "value": float(value)}), (datetime(value, 1, 1), datetime(value + 1, 1, 1))


def test_a_frozen_endpoint_fails_the_first_statement_within_its_timeout_and_every_later_one_at_once(s3_lake):
    catalog, freeze = s3_lake
    warehouse.hold_open(catalog)  # as a run does
    try:
        warehouse.write_frame(catalog, TABLE, *year(2020))
        with freeze():
            started_at = time.monotonic()
            with pytest.raises(StorageError, match=r"object storage did not answer \(IO Error: Timeout was reached"):
                warehouse.write_frame(catalog, TABLE, *year(2021))
            first = time.monotonic() - started_at
            with pytest.raises(StorageError, match="not tried, its object storage stopped answering earlier in this run"):
                warehouse.read_frame(catalog, TABLE)
            assert time.monotonic() - started_at - first < 1  # the second statement waits for nothing
        assert first < 20, first  # a few requests of 1 s and one retry each, not DuckDB's 30 s and three
    finally:
        warehouse.release(catalog)
    warehouse.hold_open(catalog)  # the next run asks the endpoint afresh, and nothing was lost
    try:
        assert set(warehouse.read_frame(catalog, TABLE)["value"]) == {2020.0}
    finally:
        warehouse.release(catalog)


@pytest.mark.graph
def test_a_lake_run_whose_s3_endpoint_freezes_fails_within_seconds_naming_it(s3_lake, tmp_path):
    catalog, freeze = s3_lake
    with freeze():
        started_at = time.monotonic()
        result = run(catalog, "2021", "2021", settings=settings_for(catalog, bi_path=str(tmp_path / "mac_bi.duckdb"),
                                                                    reports_dir=str(tmp_path / "reports")))
        elapsed = time.monotonic() - started_at
    assert not result.success
    errors = [e.event_specific_data.error for e in result.all_events if e.is_step_failure]
    texts = [(error.cause or error).message for error in errors]
    assert sum("did not answer (IO Error: Timeout was reached" in t for t in texts) == 1  # one step waited
    assert all("did not answer" in t or "stopped answering earlier in this run" in t for t in texts), texts
    assert elapsed < 60, elapsed  # every step touching S3 waited two minutes in turn here

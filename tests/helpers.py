"""Small builders for hand-made test frames, and the tools tests use around the warehouse."""

import os
import subprocess
import sys
from contextlib import contextmanager
from pathlib import Path

import pandas as pd
import pytest

from mac_assets.infra import warehouse

VENV = Path(__file__).resolve().parent.parent / ".venv"


def series_frame(dates, values, lag_days=0):
    d = pd.to_datetime(pd.Series(dates))
    return pd.DataFrame({"date": d, "value": [float(v) for v in values],
                         "available_date": d + pd.Timedelta(days=lag_days)})


def cftc_rows(date, positions, lag_days=3):
    """positions: {contract_code: (lev_long, lev_short)}."""
    d = pd.Timestamp(date)
    return pd.DataFrame([
        {"date": d, "contract_code": code, "lev_money_long": float(lo), "lev_money_short": float(sh),
         "available_date": d + pd.Timedelta(days=lag_days)}
        for code, (lo, sh) in positions.items()
    ])


def with_other_duckdb(folder: str):
    """Skip unless `make test` installed another DuckDB release into .venv/<folder> (duckdb1: 1.1, duckdb2: 2.0)."""
    return pytest.mark.skipif(not (VENV / folder).is_dir(),
                              reason=f"no other DuckDB in .venv/{folder}: `make test` installs it")


def run_with_other_duckdb(folder: str, code: str, *args: str) -> list[str]:
    """The words `python -c code args` prints when `import duckdb` finds the release in .venv/<folder>."""
    return subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, timeout=120,
                          env=os.environ | {"PYTHONPATH": str(VENV / folder)}, check=True).stdout.split()


def before_each_commit(monkeypatch, action) -> None:
    """Make every warehouse connection run `action(connection)` just before it commits (a rival writer, a full disk)."""
    real = warehouse.connect

    class Intercepted:
        def __init__(self, con):
            self.con = con

        def execute(self, sql, *args):
            if sql == "commit":
                action(self.con)
            return self.con.execute(sql, *args)

        def __getattr__(self, name):
            return getattr(self.con, name)

    @contextmanager
    def connect(path, read_only=False):
        with real(path, read_only) as con:
            yield Intercepted(con)

    monkeypatch.setattr(warehouse, "connect", connect)

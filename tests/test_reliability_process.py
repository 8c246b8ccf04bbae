"""Reliability across processes: a SIGKILL in the middle of a write, and a secrets sweep of everything a run leaves.

Both run `python -m mac_assets.run` as a user would, in a child process with its own files.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pandas as pd

from fake_providers import FakeProviders
from graph_helpers import digest, tables

REPO = Path(__file__).resolve().parent.parent

# Runs the pipeline, but SIGKILLs its own process right after the composite's new rows are inserted and
# before that transaction commits: the worst moment, with the old rows already deleted.
KILLER = textwrap.dedent("""
    import contextlib, os, signal, sys
    import mac_assets.storage as storage

    real_connect = storage.connect

    class KillBeforeCommit:
        def __init__(self, con):
            self.con = con
        def execute(self, sql, *args):
            result = self.con.execute(sql, *args)
            if sql.startswith("insert into scores.mac_composite"):
                os.kill(os.getpid(), signal.SIGKILL)
            return result
        def __getattr__(self, name):
            return getattr(self.con, name)

    @contextlib.contextmanager
    def connect(path, read_only=False):
        with real_connect(path, read_only) as con:
            yield con if read_only else KillBeforeCommit(con)

    storage.connect = connect
    from mac_assets.run import main
    sys.exit(main())
""")


def _env(tmp: Path, **extra) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MAC_") and k not in ("DAGSTER_HOME", "FRED_API_KEY")}
    return env | {"MAC_DUCKDB_PATH": str(tmp / "mac.duckdb"), "MAC_BI_PATH": str(tmp / "mac_bi.duckdb"),
                  "MAC_REPORTS_DIR": str(tmp / "reports"), "MAC_HISTORY_START": "2026-01-01"} | extra


def _run(args: list[str], env: dict) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, *args], cwd=REPO, env=env, capture_output=True, text=True, timeout=300)


def test_a_materialization_killed_mid_write_leaves_the_previous_state_and_the_rerun_completes(tmp_path):
    first = _run(["-m", "mac_assets.run"], _env(tmp_path, MAC_DEMO_SEED="1"))
    assert first.returncode == 0, first.stderr[-2000:]
    before = tables(tmp_path / "mac.duckdb")

    killed = _run(["-c", KILLER], _env(tmp_path, MAC_DEMO_SEED="2"))
    assert killed.returncode == -signal.SIGKILL

    after_kill = tables(tmp_path / "mac.duckdb")  # the file opens
    assert digest({"c": after_kill["scores.mac_composite"]}) == digest({"c": before["scores.mac_composite"]})
    # Raw tables were committed before the kill: each holds exactly the new seed's rows, never a mixture.
    assert not after_kill["raw.vix"].equals(before["raw.vix"])
    assert len(after_kill["raw.vix"]) == len(before["raw.vix"])

    rerun = _run(["-m", "mac_assets.run"], _env(tmp_path, MAC_DEMO_SEED="2"))
    assert rerun.returncode == 0, rerun.stderr[-2000:]
    final = tables(tmp_path / "mac.duckdb")
    assert not final["scores.mac_composite"].equals(before["scores.mac_composite"])

    clean_dir = tmp_path / "clean"
    clean_dir.mkdir()
    clean = _run(["-m", "mac_assets.run"], _env(clean_dir, MAC_DEMO_SEED="2"))
    assert clean.returncode == 0
    assert digest(final) == digest(tables(clean_dir / "mac.duckdb"))  # as if the crash never happened


SENTINEL = "SENTINEL-fred-key-7f3a9c"


def test_a_live_run_leaves_no_trace_of_the_fred_key_anywhere(httpserver, tmp_path):
    fake = FakeProviders(httpserver, seed=5, as_of=str(pd.Timestamp.now(tz="UTC").date()))
    # One FRED answer is an error page that echoes the request, key included, as some servers do.
    httpserver.expect_oneshot_request("/fred/series/observations").respond_with_handler(
        lambda request: __import__("werkzeug").Response(f"bad request: {request.query_string.decode()}", status=400))
    home = tmp_path / "dagster_home"
    home.mkdir()
    (home / "dagster.yaml").write_text((REPO / "dagster.yaml").read_text())
    urls = {f"MAC_{p.upper()}_BASE_URL": url for p, url in fake.base_urls().items()}
    env = _env(tmp_path, MAC_SOURCE="live", FRED_API_KEY=SENTINEL, DAGSTER_HOME=str(home), **urls)
    done = _run(["-m", "mac_assets.run"], env)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "answered HTTP 400: bad request" in done.stdout + done.stderr  # the error page was seen and logged

    assert SENTINEL not in done.stdout and SENTINEL not in done.stderr
    leaks = [str(p) for p in tmp_path.rglob("*") if p.is_file() and SENTINEL.encode() in p.read_bytes()]
    assert leaks == []
    stored = list(home.rglob("*.db")) + [tmp_path / "mac.duckdb", tmp_path / "mac_bi.duckdb"]
    assert all(p.exists() for p in stored[-2:]) and any(p.suffix == ".db" for p in stored)

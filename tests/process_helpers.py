"""Running `python -m mac_assets.run` as a user would: in a child process, with its own files and instance."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent

# Runs the pipeline, but SIGKILLs its own process right after the composite's new rows are inserted and
# before that transaction commits: the worst moment, with the old rows already deleted and the step's
# pool slot held. `MAC_TEST_LAUNCH=plain` starts the run without `make run`'s launch tags, as the daemon does.
KILLER = textwrap.dedent("""
    import contextlib, os, signal, sys
    import mac_assets.infra.warehouse as storage

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
    if os.environ.get("MAC_TEST_LAUNCH") == "plain":
        from dagster import DagsterInstance
        from mac_assets.definitions import FULL_GRAPH_JOB, build_definitions
        from mac_assets.automation import range_tags
        from mac_assets.infra.settings import load_settings
        job = build_definitions(load_settings()).resolve_job_def(FULL_GRAPH_JOB)
        keys = job.partitions_def.get_partition_keys()
        job.execute_in_process(instance=DagsterInstance.get(), tags=range_tags(keys[0], keys[-1]))
    else:
        from mac_assets.run import main
        sys.exit(main())
""")


def child_env(tmp: Path, **extra) -> dict:
    """The user's environment minus every MAC_* setting, with this test's files, history from 2025 (the
    shortest that gives mac-2.0's percentiles their 250 business days before the current year)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("MAC_") and k not in ("DAGSTER_HOME", "FRED_API_KEY")}
    return env | {"MAC_DUCKDB_PATH": str(tmp / "mac.duckdb"), "MAC_BI_PATH": str(tmp / "mac_bi.duckdb"),
                  "MAC_REPORTS_DIR": str(tmp / "reports"), "MAC_HISTORY_START": "2025-01-01"} | extra


def dagster_home(tmp: Path) -> Path:
    """A DAGSTER_HOME with the repository's dagster.yaml: the persistent instance `make run` uses."""
    home = tmp / "dagster_home"
    home.mkdir(exist_ok=True)
    shutil.copy(REPO / "dagster.yaml", home / "dagster.yaml")
    return home


def run_child(args: list[str], env: dict, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, *args], cwd=REPO, env=env, capture_output=True, text=True, timeout=timeout)


@contextmanager
def child_beside(args: list[str], env: dict) -> Iterator[subprocess.Popen]:
    """`run_child` without waiting: an independent run that goes on beside the test's own (`finish_child`);
    killed when the block ends before it does."""
    child = subprocess.Popen([sys.executable, *args], cwd=REPO, env=env, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True)
    try:
        yield child
    finally:
        if child.poll() is None:
            child.kill()
        child.communicate()


def finish_child(child: subprocess.Popen, timeout: float = 300) -> subprocess.CompletedProcess:
    out, err = child.communicate(timeout=timeout)
    return subprocess.CompletedProcess(child.args, child.returncode, out, err)

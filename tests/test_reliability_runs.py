"""Reliability of runs: a killed run never blocks the next, and the exit status tells the truth.

Every case starts `python -m mac_assets.run` (or a run of the job) in a child process, as a user, a
schedule or the daemon would.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import duckdb
import pytest
from dagster import DagsterInstance, DagsterRunStatus, SkipReason, build_sensor_context
from process_helpers import KILLER, child_env, dagster_home, run_child

from mac_assets import definitions
from mac_assets.infra.runs import WORKER_PID_TAG, stale_run_sweeper, sweep_stale_runs
from mac_assets.policy import POOL
from mac_assets.run import main


@pytest.fixture(autouse=True)
def _own_dagster_home(monkeypatch):
    """dagster.yaml reads DAGSTER_HOME; each test sets it to its own home before opening an instance."""
    monkeypatch.delenv("DAGSTER_HOME", raising=False)
    yield


def _instance(home) -> DagsterInstance:
    os.environ["DAGSTER_HOME"] = str(home)  # restored by the monkeypatch fixture above
    return DagsterInstance.from_config(str(home))


def _held_slots(instance: DagsterInstance) -> set[str]:
    return {slot.run_id for slot in instance.event_log_storage.get_concurrency_info(POOL).claimed_slots}


def _killed_run(tmp_path, **extra):
    """A run killed with SIGKILL while its step holds the pool slot; returns (home, env, the dead run)."""
    home = dagster_home(tmp_path)
    env = child_env(tmp_path, DAGSTER_HOME=str(home), **extra)
    killed = run_child(["-c", KILLER], env)
    assert killed.returncode == -signal.SIGKILL, killed.stderr[-2000:]
    instance = _instance(home)
    [dead] = instance.get_runs()
    assert dead.status == DagsterRunStatus.STARTED and _held_slots(instance) == {dead.run_id}
    return home, env, dead


@pytest.mark.process
def test_after_make_run_is_killed_the_next_make_run_recovers_and_succeeds(tmp_path):
    home, env, dead = _killed_run(tmp_path)
    started = time.monotonic()
    again = run_child(["-m", "mac_assets.run"], env, timeout=180)
    assert again.returncode == 0, again.stderr[-2000:]
    assert "Recovered from a killed run" in again.stdout and dead.run_id in again.stdout
    assert time.monotonic() - started < 90
    instance = _instance(home)
    assert instance.get_run_by_id(dead.run_id).status == DagsterRunStatus.FAILURE
    assert _held_slots(instance) == set()


@pytest.mark.process
def test_a_killed_daemon_style_run_is_failed_and_freed_by_the_sweeper_sensor(tmp_path):
    home, _, dead = _killed_run(tmp_path, MAC_TEST_LAUNCH="plain")
    assert dead.tags[WORKER_PID_TAG]  # recorded by the run's own worker, not by whoever launched it
    instance = _instance(home)
    outcome = stale_run_sweeper(build_sensor_context(instance=instance))
    assert isinstance(outcome, SkipReason) and "marked 1 run" in outcome.skip_message
    assert instance.get_run_by_id(dead.run_id).status == DagsterRunStatus.FAILURE
    assert _held_slots(instance) == set()


@pytest.mark.process
def test_a_run_marked_canceled_by_hand_gets_its_slot_back(tmp_path):
    home, _, dead = _killed_run(tmp_path)
    instance = _instance(home)
    instance.report_run_canceled(instance.get_run_by_id(dead.run_id), "marked canceled in the UI")
    assert _held_slots(instance) == {dead.run_id}  # Dagster alone would keep it forever
    sweep = sweep_stale_runs(instance)
    assert sweep.freed == (dead.run_id,) and _held_slots(instance) == set()


def _one_line_refusal(done: subprocess.CompletedProcess, status: int, text: str) -> None:
    assert done.returncode == status, (done.stdout[-1500:], done.stderr[-1500:])
    last = done.stderr.strip().splitlines()[-1]
    assert last.startswith("mac: ") and text in last, done.stderr[-1500:]
    assert "Traceback" not in done.stderr


@pytest.mark.process
def test_a_bad_setting_exits_2_with_one_line_and_starts_no_run(tmp_path):
    """In a child process, as a user runs it: the exit status and the only line on standard error."""
    home = dagster_home(tmp_path)
    done = run_child(["-m", "mac_assets.run"], child_env(tmp_path, DAGSTER_HOME=str(home), MAC_HISTORY_START="2030-01-01"))
    _one_line_refusal(done, 2, "MAC_HISTORY_START='2030-01-01' must lie between 1900-01-01 and today")
    assert done.stderr.count("\n") == 1
    assert _instance(home).get_runs() == []


@pytest.mark.parametrize("variables, args, text", [
    ({"MAC_MIN_PILLARS": "4"}, [], "MAC_MIN_PILLARS is retired"),
    ({"MAC_HISTORY_START": "2007-01-01"}, ["--from", "2030"], "--from 2030: years run from 2007"),
    ({"MAC_HISTORY_START": "2007-01-01"}, ["--from", "2020", "--to", "2010"], "--from 2020 is after --to 2010"),
    ({"MAC_HISTORY_START": "2007-01-01"}, ["--from", "1990"], "--from 1990: years run from 2007"),
])
def test_bad_settings_and_years_exit_2_with_one_line_and_start_no_run(tmp_path, monkeypatch, capsys, variables, args,
                                                                       text):
    """The same refusals through `run.main`, in this process (the child-process path is the test above)."""
    home = dagster_home(tmp_path)
    for name in [k for k in os.environ if k.startswith("MAC_")]:
        monkeypatch.delenv(name)
    for name, value in child_env(tmp_path, DAGSTER_HOME=str(home), **variables).items():
        monkeypatch.setenv(name, value)
    definitions.environment_definitions.cache_clear()  # built for this test's settings, and forgotten after it
    try:
        status = main(args)
    finally:
        definitions.environment_definitions.cache_clear()
    err = capsys.readouterr().err
    assert status == 2 and err.count("\n") == 1 and err.startswith("mac: ") and text in err
    assert _instance(home).get_runs() == []


def test_live_without_a_fred_key_exits_2_with_one_line_naming_where_to_get_one_and_the_csv_way_out(
        tmp_path, monkeypatch, capsys):
    for name, value in child_env(tmp_path, MAC_SOURCE="live").items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("FRED_API_KEY", raising=False)
    assert main([]) == 2
    err = capsys.readouterr().err
    assert err == ("mac: MAC_SOURCE=live needs FRED_API_KEY (a free key: https://fred.stlouisfed.org/docs/api/api_key.html); "
                   "without one, read the series from files: MAC_SOURCE=csv with MAC_CSV_DIR, a folder of <SERIES>.csv "
                   "files\n")


@pytest.mark.process
def test_a_run_whose_providers_all_refuse_connections_exits_1_saying_no_headline(tmp_path):
    closed = "http://127.0.0.1:9"  # the discard port: nothing listens, every connection is refused
    urls = {f"MAC_{p}_BASE_URL": closed for p in ("FRED", "CBOE", "CFTC", "YAHOO", "BINANCE", "OFR", "GLASSNODE")}
    env = child_env(tmp_path, MAC_SOURCE="live", FRED_API_KEY="test-key", **urls)
    done = run_child(["-m", "mac_assets.run"], env, timeout=180)
    _one_line_refusal(done, 1, "no headline MAC was produced")
    assert "could not be fetched" in done.stderr  # each source's failure is listed above the reason


@pytest.mark.process
def test_a_run_while_another_process_holds_the_working_file_fails_at_once_naming_it(tmp_path):
    working = tmp_path / "mac.duckdb"
    duckdb.connect(str(working)).close()
    holder = subprocess.Popen([sys.executable, "-c", f"import duckdb, time; c = duckdb.connect({str(working)!r}); "
                               "print('open', flush=True); time.sleep(120)"], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "open"
        started = time.monotonic()
        done = run_child(["-m", "mac_assets.run"], child_env(tmp_path), timeout=120)
        _one_line_refusal(done, 1, f"is held open by process {holder.pid}")
        assert "MAC_BI_PATH" in done.stderr and time.monotonic() - started < 20
    finally:
        holder.kill()
        holder.wait()

"""The team stack as deployed, started as services and used as a team would: `make stack`'s stack (scripts/stack.py).

One stack for the module, started the way `make stack` starts it, from deploy/compose.yaml and the team instance
file: PostgreSQL, PgBouncer, the code server (`dagster api grpc` under its supervisor), the webserver and the
daemon, with the lake's catalog in PostgreSQL. To stay short it runs the demo source over a short history
(2025 on), keeps the lake's data on the `lake` volume (compose's default; `make stack` uses moto's S3, and
tests/test_lake.py runs a lake on S3), and monitors runs every two seconds (the test's copy of the instance
file differs in `run_monitoring` only). The backfill is requested as soon as the stack is up, so that the
daemon's first look picks it up; the tests run in file order on the same instance and lake.
"""

import os
import shutil
import signal
import time
from collections.abc import Callable
from contextlib import contextmanager
from pathlib import Path
from unittest.mock import patch

import duckdb
import pytest
import yaml
from dagster import DagsterInstance
from dagster._core.scheduler.instigation import InstigatorType, ScheduleInstigatorData
from graph_helpers import digest, tables
from servers import Unavailable, recorded, scratch_dir
from ui_helpers import browse, graphql, needs_chromium

from mac_assets.infra import lake
from mac_assets.infra.runs import WORKER_PID_TAG
from scripts import stack

pytestmark = pytest.mark.process

REPO = Path(__file__).resolve().parent.parent
COMPOSE = yaml.safe_load(stack.COMPOSE.read_text())
HISTORY_START = "2025-01-01"  # two yearly partitions, and mac-2.0's 250 business days of history before the last
MONITORING = {"poll_interval_seconds": 2, "free_slots_after_run_end_seconds": 1}
FINISHED = {"SUCCESS", "FAILURE", "CANCELED"}
IN_PROGRESS = {"QUEUED", "NOT_STARTED", "STARTING", "STARTED", "CANCELING"}
RUN_FIELDS = "runId status startTime endTime tags { key value }"


@pytest.fixture(scope="module")
def team():
    """The stack, up for the whole module; stopped at the end with `make stack-down`'s function, then removed."""
    tmp = scratch_dir("mac-stack-")  # PostgreSQL's user must reach it (pytest's own folders are private)
    config = yaml.safe_load(stack.TEAM_INSTANCE.read_text())
    config["run_monitoring"] |= MONITORING
    instance_file = tmp / "dagster.postgres.yaml"
    instance_file.write_text(yaml.safe_dump(config))
    environ = {k: v for k, v in os.environ.items() if not k.startswith(("MAC_", "DAGSTER_", "AWS_", "FRED_"))}
    started = time.monotonic()
    settings = {"MAC_HISTORY_START": HISTORY_START, "MAC_LAKE_DATA_PATH": "/lake/data/"}
    try:
        record = stack.up(tmp / "stack", instance_file, environ | settings)  # stops what it started if it fails
    except BaseException as exc:
        shutil.rmtree(tmp, ignore_errors=True)
        if isinstance(exc, Unavailable):
            pytest.skip(str(exc))
        raise
    record |= {"folder": tmp / "stack", "instance_file": instance_file, "up_seconds": time.monotonic() - started}
    try:
        record["backfill"] = request_backfill(record)
        graphql(record["url"], "mutation { setNuxSeen }")  # dismiss the first-visit popup before the browser test
        yield record
    finally:
        stack.down(tmp / "stack")
        shutil.rmtree(tmp, ignore_errors=True)


def service_env(team: dict, name: str = "user_code") -> dict[str, str]:
    return team["services"][name]["env"]


@contextmanager
def instance(team: dict):
    """The stack's Dagster instance, opened from this process with the services' settings."""
    env = service_env(team, "daemon")
    with patch.dict(os.environ, {k: v for k, v in env.items() if k.startswith("DAGSTER_PG_")}):
        opened = DagsterInstance.from_config(env["DAGSTER_HOME"])
    try:
        yield opened
    finally:
        opened.dispose()


@contextmanager
def lake_access(team: dict):
    """This process with the code server's access to the lake (catalog password, S3)."""
    env = service_env(team)
    with patch.dict(os.environ, {k: v for k, v in env.items() if k.startswith(("PG", "AWS_", "MAC_LAKE_"))}):
        yield env["MAC_DUCKDB_PATH"]


def lake_digest(team: dict) -> dict:
    with lake_access(team) as catalog:
        return digest(tables(catalog))


def wait_for(what: Callable, timeout: float, describe: str, interval: float = 0.5):
    """Poll `what()` until it returns something truthy; fail naming `describe` after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = what()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"{describe}: not within {timeout:.0f} s")
        time.sleep(interval)


def run(team: dict, run_id: str) -> dict:
    data = graphql(team["url"], f"query($id: ID!) {{ runOrError(runId: $id) {{ ... on Run {{ {RUN_FIELDS} }} }} }}",
                   {"id": run_id})
    found = data["runOrError"]
    return found | {"tags": {t["key"]: t["value"] for t in found["tags"]}}


def runs_tagged(team: dict, key: str, value: str) -> list[dict]:
    data = graphql(team["url"], f"""query($tags: [ExecutionTag!]) {{ runsOrError(filter: {{tags: $tags}}) {{
        ... on Runs {{ results {{ {RUN_FIELDS} }} }} }} }}""", {"tags": [{"key": key, "value": value}]})
    return [r | {"tags": {t["key"]: t["value"] for t in r["tags"]}} for r in data["runsOrError"]["results"]]


def finished(team: dict, run_id: str, timeout: float = 150) -> dict:
    return wait_for(lambda: (r := run(team, run_id))["status"] in FINISHED and r, timeout, f"run {run_id} to finish")


def launch(team: dict, job: str = "mac_full_graph", years: tuple[str, str] | None = None) -> str:
    """Launch a run of `job` as the UI's Launchpad does (over `years` for the partitioned graph); its run id."""
    tags = [{"key": f"dagster/asset_partition_range_{end}", "value": year}
            for end, year in zip(("start", "end"), years)] if years else []
    data = graphql(team["url"], """mutation($p: ExecutionParams!) { launchRun(executionParams: $p) {
        __typename ... on LaunchRunSuccess { run { runId } } ... on PythonError { message } } }""",
                   {"p": {"selector": {"repositoryLocationName": "mac", "repositoryName": "__repository__",
                                       "jobName": job}, "executionMetadata": {"tags": tags}}})
    assert data["launchRun"]["__typename"] == "LaunchRunSuccess", data["launchRun"]
    return data["launchRun"]["run"]["runId"]


def working(team: dict, run_id: str) -> int:
    """Once the run's worker writes to the lake: the worker's pid (the IO manager records it on the run)."""
    found = wait_for(lambda: (r := run(team, run_id))["tags"].get(WORKER_PID_TAG) and r, 90, f"run {run_id}'s worker")
    assert found["status"] == "STARTED", found["status"]
    return int(found["tags"][WORKER_PID_TAG])


def request_backfill(team: dict) -> str:
    """A backfill of the whole graph over 2025..2026, requested as the UI's Materialize dialog does; its id."""
    nodes = graphql(team["url"], "{ assetNodes { assetKey { path } isPartitioned } }")["assetNodes"]
    data = graphql(team["url"], """mutation($p: LaunchBackfillParams!) { launchPartitionBackfill(backfillParams: $p) {
        __typename ... on LaunchBackfillSuccess { backfillId } ... on PythonError { message } } }""",
                   {"p": {"partitionNames": ["2025", "2026"],
                          "assetSelection": [n["assetKey"] for n in nodes if n["isPartitioned"]]}})
    assert data["launchPartitionBackfill"]["__typename"] == "LaunchBackfillSuccess", data["launchPartitionBackfill"]
    return data["launchPartitionBackfill"]["backfillId"]


def parent(pid: int) -> int:
    return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])


def test_the_services_run_the_commands_environment_and_volumes_of_the_compose_file(team):
    folder, logs = team["folder"], team["folder"] / "logs"
    assert team["up_seconds"] < 120
    home = folder / "home"
    assert (home / "dagster.yaml").resolve() == team["instance_file"]
    pg, pgbouncer = team["addresses"]["postgres:5432"], team["addresses"]["pgbouncer:6432"]
    for name in stack.DAGSTER_SERVICES:
        spec = COMPOSE["services"][name]
        pid = wait_for(lambda name=name: recorded(logs / f"{name}.child.pid"), 30, f"{name} under its supervisor")
        assert parent(pid) == recorded(logs / f"{name}.pid")
        command = Path(f"/proc/{pid}/cmdline").read_text().split("\0")[:-1]
        env = dict(e.split("=", 1) for e in Path(f"/proc/{pid}/environ").read_text().split("\0") if e)

        # The compose command, with the addresses and files of this machine in place of the container's.
        expected = spec["command"]
        assert Path(command[-len(expected)]).name == expected[0] and len(command) - len(expected) in (0, 1)
        mapped = {"-h": "127.0.0.1", "-p": str(team["addresses"].get(f"{name}:{expected[-1]}")),
                  "-w": str(folder / "workspace.yaml")}
        for flag in expected[1:-1]:
            if flag in mapped:
                assert command[command.index(flag) + 1] == mapped[flag], (name, flag)
        assert [a for a in command[-len(expected) + 1:] if a not in mapped.values()] == \
               [a for i, a in enumerate(expected[1:]) if expected[i] not in mapped]

        # The compose environment: the same variables, literal values kept, container paths and hosts translated.
        compose_env = {k: str(v) for k, v in spec["environment"].items()}
        extra = {"MAC_HISTORY_START"} if name == "user_code" else set()  # the caller's settings reach the code server
        assert set(env) - set(stack.BASE_VARIABLES) == set(compose_env) - stack.LIVE_ONLY | extra, name
        volumes = {target: folder / "volumes" / volume for volume, target in (v.split(":") for v in spec["volumes"])}
        for key, value in compose_env.items():
            if key not in env:
                continue
            if value.startswith("/"):
                root = max((p for p in [*volumes, "/opt/dagster/home"] if value.startswith(p)), key=len)
                local = home if root == "/opt/dagster/home" else volumes[root]
                assert env[key] == str(local) + value[len(root):], (name, key)
            elif "${" not in value and key not in ("DAGSTER_PG_HOST", "DAGSTER_PG_PORT", "MAC_DUCKDB_PATH"):
                assert env[key] == value, (name, key)
        assert (env["DAGSTER_PG_HOST"], env["DAGSTER_PG_PORT"]) == ("127.0.0.1", str(pgbouncer))  # through PgBouncer
        for volume, local in volumes.items():
            assert local.is_dir(), (name, volume)
        # Compute logs: the volume compose mounts at $DAGSTER_HOME/storage in every Dagster service.
        assert (Path(env["DAGSTER_HOME"]) / "storage").resolve() == folder / "volumes" / "compute_logs"
    code = service_env(team)
    assert code["MAC_DUCKDB_PATH"] == COMPOSE["services"]["user_code"]["environment"]["MAC_DUCKDB_PATH"].replace(
        "host=postgres port=5432", f"host=127.0.0.1 port={pg}")
    assert code["PGPASSWORD"] == code["DAGSTER_PG_PASSWORD"] and code["MAC_SOURCE"] == "demo"
    assert code["MAC_LAKE_DATA_PATH"] == str(folder / "volumes" / "lake" / "data") + "/"  # compose's default volume
    workspace = yaml.safe_load((folder / "workspace.yaml").read_text())["load_from"][0]["grpc_server"]
    assert (workspace["host"], workspace["port"]) == ("127.0.0.1", team["addresses"]["user_code:4000"])
    # PgBouncer's user file holds the SCRAM secret, never the password.
    users = (folder / "pgbouncer" / "userlist.txt").read_text()
    assert "SCRAM-SHA-256$4096:" in users and code["DAGSTER_PG_PASSWORD"] not in users


@needs_chromium
def test_the_asset_graph_page_renders_in_headless_chromium(team, tmp_path):
    page = browse(f"{team['url']}/assets/scores/mac_composite?view=lineage", tmp_path)
    for name in ("mac_composite", "mac2_readings", "bi_snapshot"):
        assert name in page, f"{name} missing from the rendered asset graph"


def test_a_backfill_launched_through_the_webserver_runs_to_success_via_the_daemon(team):
    # The daemon's backfill loop turned it into one run (single-run policy), which waits in the queue.
    (created,) = wait_for(lambda: runs_tagged(team, "dagster/backfill", team["backfill"]), 60, "the backfill's run", 1)
    done = finished(team, created["runId"])
    assert done["status"] == "SUCCESS"
    assert (done["tags"]["dagster/asset_partition_range_start"], done["tags"]["dagster/asset_partition_range_end"]) \
        == ("2025", "2026")
    events = graphql(team["url"], """query($id: ID!) { logsForRun(runId: $id) { ... on EventConnection {
        events { __typename } } } }""", {"id": created["runId"]})["logsForRun"]["events"]
    kinds = [e["__typename"] for e in events]
    assert kinds.index("RunEnqueuedEvent") < kinds.index("RunStartingEvent") < kinds.index("RunStartEvent")
    # The run's output, written by the worker beside the code server, is what the webserver shows on the run page.
    (err_file,) = (team["folder"] / "volumes" / "compute_logs" / created["runId"] / "compute_logs").glob("*.err")
    shown = graphql(team["url"], "query($key: [String!]!) { capturedLogs(logKey: $key) { stderr } }",
                    {"key": [created["runId"], "compute_logs", err_file.stem]})["capturedLogs"]["stderr"]
    assert "mac_composite" in shown
    with lake_access(team) as catalog:
        built = tables(catalog)
    assert sorted(built["scores.mac_composite"]["date"].dt.year.unique()) == [2025, 2026]
    team["sequential"] = digest(built)


def test_a_schedule_tick_launches_a_run(team):
    """instance_maintenance (05:30 New York): a daemon that was down at tick time launches the tick it missed.

    The daemon is killed while its supervisor is paused, the schedule's state is set back to a day before
    (as after a day down), and the supervisor, resumed, starts the daemon again.
    """
    logs = team["folder"] / "logs"
    supervisor, daemon = recorded(logs / "daemon.pid"), recorded(logs / "daemon.child.pid")
    os.kill(supervisor, signal.SIGSTOP)
    try:
        os.kill(daemon, signal.SIGKILL)
        wait_for(lambda: recorded(logs / "daemon.child.pid") is None, 10, "the daemon to die")
        with instance(team) as opened:
            (state,) = [s for s in opened.all_instigator_state(instigator_type=InstigatorType.SCHEDULE)
                        if s.name == "instance_maintenance"]
            day_before = time.time() - 26 * 3600
            opened.update_instigator_state(state.with_data(ScheduleInstigatorData(
                state.instigator_data.cron_schedule, start_timestamp=day_before, last_iteration_timestamp=day_before)))
    finally:
        os.kill(supervisor, signal.SIGCONT)
    (ticked,) = wait_for(lambda: runs_tagged(team, "dagster/schedule_name", "instance_maintenance"), 90,
                         "the missed tick's run", 1)
    assert finished(team, ticked["runId"])["status"] == "SUCCESS"
    assert recorded(logs / "daemon.child.pid") not in (None, daemon)  # restarted by its supervisor


def test_killing_a_runs_worker_fails_the_run_and_frees_its_pool_slot(team):
    run_id = launch(team, years=("2026", "2026"))
    worker = working(team, run_id)
    assert parent(worker) == recorded(team["folder"] / "logs" / "user_code.child.pid")  # launched by the code server
    killed = time.monotonic()
    os.kill(worker, signal.SIGKILL)
    assert finished(team, run_id, timeout=30)["status"] == "FAILURE"
    assert time.monotonic() - killed < 30
    with instance(team) as opened:
        assert run_id not in opened.event_log_storage.get_concurrency_run_ids()
        assert opened.get_run_by_id(run_id).is_finished  # the queue no longer counts it against the pool


def test_killing_the_code_server_mid_run_fails_the_run_within_two_minutes_and_the_next_run_succeeds(team):
    logs = team["folder"] / "logs"
    run_id = launch(team, years=("2026", "2026"))
    worker = working(team, run_id)
    code_server = recorded(logs / "user_code.child.pid")
    assert parent(worker) == code_server
    killed = time.monotonic()
    os.killpg(code_server, signal.SIGKILL)  # the code server and the run's worker die together, as in a crash
    failed = finished(team, run_id, timeout=150)
    took = time.monotonic() - killed
    assert failed["status"] == "FAILURE" and took < 120, (failed["status"], took)
    print(f"code server killed: run failed after {took:.0f} s")
    assert recorded(logs / "user_code.child.pid") not in (None, code_server)  # restarted by its supervisor
    assert finished(team, launch(team, job="instance_maintenance_job"))["status"] == "SUCCESS"


def test_two_runs_on_different_years_at_once_both_succeed_and_equal_the_sequential_build(team):
    if "sequential" not in team:
        pytest.skip("needs the backfill test's build (run the module)")
    run_ids = [launch(team, years=(year, year)) for year in ("2025", "2026")]
    first, second = sorted((finished(team, r) for r in run_ids), key=lambda r: r["startTime"])
    assert first["status"] == second["status"] == "SUCCESS"
    assert second["startTime"] < first["endTime"]  # they overlapped: neither waited for the other
    assert lake_digest(team) == team["sequential"]


def test_a_bi_reader_attached_read_only_to_the_lake_reads_the_bi_tables(team):
    env = service_env(team)
    con = duckdb.connect(config={"extension_directory": str(lake.EXTENSION_DIR)})
    try:
        # What docs/bi.md tells a BI tool to run: the extensions and a read-only attach (password in PGPASSWORD).
        for name in ("ducklake", "postgres"):
            con.execute(f"load {name}")
        with patch.dict(os.environ, {"PGPASSWORD": env["PGPASSWORD"]}):
            con.execute(f"attach '{env['MAC_DUCKDB_PATH']}' as mac (read_only)")
        in_lake = con.execute("select count(*), max(date) from mac.bi.mac_history").fetchone()
        with pytest.raises(duckdb.Error, match="read-only"):
            con.execute("delete from mac.bi.mac_history")
    finally:
        con.close()
    snapshot = duckdb.connect(env["MAC_BI_PATH"], read_only=True)
    try:
        assert snapshot.execute("select count(*), max(date) from bi.mac_history").fetchone() == in_lake
    finally:
        snapshot.close()
    assert in_lake[0] > 200



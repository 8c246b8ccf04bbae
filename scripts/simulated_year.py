"""A year of daily operation for `make bench`, generated through Dagster's own storage API.

365 real incremental runs would take over an hour, so the bench makes a few real runs and replays
them: each replayed run is a new run record plus every event of a real run (materializations,
planned events, check evaluations, logs), stored through the instance's event-log storage with a
new run id and timestamps moved to its simulated day. Dagster's storage does the same work it does
for a real run of that shape (index rows, asset and check tables, a run file on SQLite), so the
instance grows as a year of runs would make it grow. What it does not reproduce: wall time of the
runs themselves, and data-dependent differences between days (metadata of a replayed run is that
of its template).

The calendar is the shipped one (automation.py): a daily refresh every day, the COT refresh on
Saturdays, the slow refresh on the 16th, and (with retention) the maintenance run each day before
the refresh. Refresh runs replay a real incremental run of the whole graph, which makes the weekly
and monthly ones somewhat larger than their jobs' real runs.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from dagster import DagsterInstance, EventLogEntry
from dagster._core.utils import make_new_run_id

from mac_assets import keys
from mac_assets.infra.retention import DAY_SECONDS, prune


@dataclass(frozen=True)
class Template:
    run: object
    events: tuple[EventLogEntry, ...]
    started: float


def capture(instance: DagsterInstance, run_id: str) -> Template:
    """A finished run and all its events, to be replayed."""
    events = tuple(instance.all_logs(run_id))
    return Template(instance.get_run_by_id(run_id), events, events[0].timestamp)


def replay(instance: DagsterInstance, template: Template, at: float) -> str:
    """Store `template` again as a new run that started at `at`: the same records a real run writes."""
    run_id, shift = make_new_run_id(), at - template.started
    instance.add_run(template.run._replace(run_id=run_id))
    events = [event._replace(run_id=run_id, timestamp=event.timestamp + shift) for event in template.events]
    instance.event_log_storage.store_event_batch(events)
    for event in events:  # run start/success set the run record's status and times, as the instance does
        if event.is_dagster_event and event.dagster_event.is_job_event:
            instance.run_storage.handle_run_event(run_id, event.dagster_event,
                                                  datetime.fromtimestamp(event.timestamp, UTC))
    return run_id


def size_mb(home: Path) -> float:
    return sum(f.stat().st_size for f in home.rglob("*") if f.is_file()) / 1e6


def simulate_year(home: Path, refresh: Template, maintenance: Template | None, keep_days: int,
                  keep_failed_days: int, days: int = 365, checkpoints=(30, 90, 180, 365)) -> dict:
    """Replay `days` of the shipped calendar into the instance at `home`; prune daily when `maintenance` is given.

    Returns the instance size (MB) at each checkpoint day, runs stored and the last prune's result.
    """
    os.environ["DAGSTER_HOME"] = str(home)
    sizes, runs, last = {}, 0, None
    start = datetime.now(UTC).timestamp()
    with DagsterInstance.get() as instance:
        for day in range(1, days + 1):
            morning = start + day * DAY_SECONDS
            when = datetime.fromtimestamp(morning, UTC)
            if maintenance is not None:
                last = prune(instance, keep_days, keep_failed_days, now=morning)
                replay(instance, maintenance, morning)
                runs += 1
            refreshes = 1 + (when.weekday() == 5) + (when.day == 16)
            for n in range(refreshes):
                replay(instance, refresh, morning + 3600 * (1 + n))
            runs += refreshes
            if day in checkpoints:
                sizes[day] = size_mb(home)
        stored = len(instance.get_run_ids())
    return {"sizes": sizes, "runs": runs, "stored": stored, "last_prune": last}


# The UI's reads that grow with history: the composite's asset page (its latest materializations,
# partition status and check results) and the runs list, as the webserver's GraphQL API answers them.
ASSET_PAGE = "{ assetOrError(assetKey: {path: " + json.dumps(list(keys.MAC_COMPOSITE.path)) + """}) { ... on Asset {
    assetMaterializations(limit: 25) { runId timestamp partition }
    definition { partitionStats { numMaterialized numPartitions numFailed }
                 assetChecksOrError { ... on AssetChecks { checks { name executionForLatestMaterialization {
                     runId status } } } } } } } }"""
RUNS_LIST = """{ runsOrError(limit: 25) { ... on Runs { results { runId status startTime endTime
    jobName tags { key value } } } } }"""


def ui_latency(env: dict, repeats: int = 15) -> dict[str, float]:
    """Median ms of the asset page and the runs list queries against a `dagster-webserver` on `env`'s instance."""

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    root = Path(__file__).resolve().parent.parent
    webserver = Path(sys.executable).with_name("dagster-webserver")
    proc = subprocess.Popen([str(webserver), "-w", "workspace.yaml", "-h", "127.0.0.1", "-p", str(port)], cwd=root,
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    base = f"http://127.0.0.1:{port}"

    def query(text: str) -> float:
        request = urllib.request.Request(f"{base}/graphql", data=json.dumps({"query": text}).encode(),
                                         headers={"Content-Type": "application/json"})
        started = time.perf_counter()
        body = json.load(urllib.request.urlopen(request, timeout=120))
        if "errors" in body:
            raise RuntimeError(f"GraphQL error: {body['errors']}")
        return (time.perf_counter() - started) * 1000

    try:
        deadline = time.monotonic() + 180
        while True:
            try:
                query(RUNS_LIST)
                break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("dagster-webserver did not answer") from None
                time.sleep(0.5)
        query(ASSET_PAGE)  # warm the code location's snapshot
        return {name: statistics.median(query(text) for _ in range(repeats))
                for name, text in (("asset page", ASSET_PAGE), ("runs list", RUNS_LIST))}
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=60)


def main(argv: list[str]) -> None:
    """`simulated_year.py HOME KEEP_DAYS KEEP_FAILED_DAYS with|without`: replay a year into HOME, print JSON.

    HOME's newest run is the refresh template (the bench made it with a real incremental run); with
    retention, a real maintenance run is made first as the template of the daily maintenance runs.
    """
    from mac_assets.definitions import build_definitions
    from mac_assets.infra.settings import load_settings

    home, keep, keep_failed, mode = Path(argv[0]), int(argv[1]), int(argv[2]), argv[3]
    os.environ["DAGSTER_HOME"] = str(home)
    with DagsterInstance.get() as instance:
        refresh = capture(instance, instance.get_run_ids(limit=1)[0])
        maintenance = None
        if mode == "with":
            job = build_definitions(load_settings()).resolve_job_def("instance_maintenance_job")
            quiet = {"loggers": {"console": {"config": {"log_level": "WARNING"}}}}
            maintenance = capture(instance, job.execute_in_process(instance=instance, run_config=quiet).run_id)
    result = simulate_year(home, refresh, maintenance, keep, keep_failed)
    last = result.pop("last_prune")
    print(json.dumps(result | {"refresh_events": len(refresh.events),
                               "last_prune": last.line() if last else None}))


if __name__ == "__main__":
    main(sys.argv[1:])

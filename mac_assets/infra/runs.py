"""Run hygiene: a run that was killed must never block the next one.

Dagster marks a run finished only when its worker says so. A worker killed by SIGKILL or the kernel's
out-of-memory killer says nothing: the run stays STARTED and keeps its slot in the `mac_duckdb` pool,
so every later run waits for that slot forever. Dagster's run monitoring cannot see this for the
default run launcher (it has no worker health check) nor for `make run`'s in-process runs, and its
`free_slots_after_run_end_seconds` only frees slots of runs already marked finished.

So every run records its worker: host, process id and the process's start time (which tells a reused
pid from the original). `sweep_stale_runs` marks runs whose worker is gone as failed and frees their
slots, and frees the slots of any finished run that still holds one (a run marked CANCELED by hand).
`make run` sweeps before it starts, and the `stale_run_sweeper` sensor sweeps every `SWEEP_SECONDS` while
the daemon runs, so both kinds of run recover by themselves. The sensor runs in the code server: when the
code server died together with a run's worker, the run is failed by the first sweep after the code server is
back (its supervisor restarts it), so within two minutes of the crash.
"""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass

from dagster import DagsterInstance, DefaultSensorStatus, SensorEvaluationContext, SkipReason, sensor
from dagster._core.storage.dagster_run import FINISHED_STATUSES, DagsterRunStatus, RunsFilter

WORKER_HOST_TAG = "mac/worker_host"
WORKER_PID_TAG = "mac/worker_pid"
WORKER_STARTED_TAG = "mac/worker_started"
IN_PROGRESS = [DagsterRunStatus.STARTING, DagsterRunStatus.STARTED, DagsterRunStatus.CANCELING]


def process_start(pid: int) -> str:
    """The process's start time in clock ticks since boot (/proc), or '' where that cannot be read.

    With the pid it names one process for good: a pid the kernel hands out again comes with another start time.
    """
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            stat = f.read().decode(errors="replace")
    except OSError:
        return ""
    # The command name (field 2) may hold spaces and parentheses; the fields after the last ')' are fixed.
    return stat.rsplit(")", 1)[1].split()[19]


def worker_tags(pid: int | None = None) -> dict[str, str]:
    """Tags that identify the process executing a run."""
    pid = os.getpid() if pid is None else pid
    return {WORKER_HOST_TAG: socket.gethostname(), WORKER_PID_TAG: str(pid), WORKER_STARTED_TAG: process_start(pid)}


def record_worker(instance: DagsterInstance, run_id: str) -> None:
    """Tag `run_id` with this process, unless it already carries the tags (set at launch by `make run`)."""
    run = instance.get_run_by_id(run_id)
    if run is not None and run.tags.get(WORKER_PID_TAG) != str(os.getpid()):
        instance.add_run_tags(run_id, worker_tags())


def worker_alive(tags: dict[str, str]) -> bool | None:
    """True or False for a worker on this host; None when the run has no worker tags or ran elsewhere."""
    if WORKER_PID_TAG not in tags or tags.get(WORKER_HOST_TAG) != socket.gethostname():
        return None
    pid = int(tags[WORKER_PID_TAG])
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # another user's process: it exists
    started = tags.get(WORKER_STARTED_TAG, "")
    return not started or process_start(pid) in ("", started)


@dataclass(frozen=True)
class Sweep:
    failed: tuple[str, ...]  # runs marked failed because their worker is gone
    freed: tuple[str, ...]  # runs whose pool slots were freed

    def __str__(self) -> str:
        if not self.failed and not self.freed:
            return "no stale runs"
        return (f"marked {len(self.failed)} run(s) with a dead worker as failed ({', '.join(self.failed) or '-'}); "
                f"freed the pool slots of {len(self.freed)} run(s)")


def sweep_stale_runs(instance: DagsterInstance) -> Sweep:
    """Fail runs whose worker died on this host and free every finished run's leftover pool slots."""
    failed = []
    for record in instance.get_run_records(RunsFilter(statuses=IN_PROGRESS)):
        run = record.dagster_run
        if worker_alive(dict(run.tags)) is False:
            instance.report_run_failed(run, f"The run's worker (pid {run.tags[WORKER_PID_TAG]} on "
                                            f"{run.tags[WORKER_HOST_TAG]}) is gone: killed or crashed. Its pool "
                                            "slots are freed; materialize again to finish its work.")
            failed.append(run.run_id)
    storage = instance.event_log_storage
    freed = []
    holders = storage.get_concurrency_run_ids() if storage.supports_global_concurrency_limits else set()
    for run_id in holders:
        run = instance.get_run_by_id(run_id)
        if run is None or run.status in FINISHED_STATUSES:
            storage.free_concurrency_slots_for_run(run_id)
            freed.append(run_id)
    return Sweep(tuple(failed), tuple(freed))


def blocking_runs(instance: DagsterInstance, own_run_id: str | None = None) -> list[str]:
    """Runs still in progress after a sweep, described for a person: the next run would wait for them."""
    out = []
    for record in instance.get_run_records(RunsFilter(statuses=IN_PROGRESS)):
        run = record.dagster_run
        if run.run_id == own_run_id:
            continue
        where = (f"pid {run.tags[WORKER_PID_TAG]} on {run.tags.get(WORKER_HOST_TAG)}" if WORKER_PID_TAG in run.tags
                 else "worker unknown")
        out.append(f"{run.run_id} ({run.job_name}, {run.status.value}, {where})")
    return out


SWEEPER = "stale_run_sweeper"
# Often enough that a run whose code server crashed with it is failed within two minutes (the code server's
# restart and the daemon's next look at the code location come first); each sweep is two small queries.
SWEEP_SECONDS = 30


@sensor(name=SWEEPER, minimum_interval_seconds=SWEEP_SECONDS, default_status=DefaultSensorStatus.RUNNING,
        description=f"Every {SWEEP_SECONDS} s: marks runs whose worker process died (SIGKILL, out of memory) as failed and "
                    "frees their pool slots, so the queue never waits for a dead run.")
def stale_run_sweeper(context: SensorEvaluationContext):
    return SkipReason(str(sweep_stale_runs(context.instance)))

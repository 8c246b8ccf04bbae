"""`make bench`: measure the platform and print a table. Measurements, not pass/fail tests.

Each pipeline measurement runs `python -m mac_assets.run` in a child process with its own Dagster
instance (SQLite, as `make run` uses) and its own DuckDB files, so wall time and peak RSS are those a
user gets. Everything runs on the demo source; the live request count uses a local fake provider
server (the one the tests use), never the network.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import duckdb
import pandas as pd

ROOT = Path(__file__).resolve().parent.parent


def run_pipeline(env: dict, *args: str) -> tuple[float, float]:
    """Wall seconds and peak RSS (MB) of one `python -m mac_assets.run` child process."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    started = time.perf_counter()
    subprocess.run([sys.executable, "-m", "mac_assets.run", *args], cwd=ROOT, env=env, check=True,
                   stdout=subprocess.DEVNULL)
    wall = time.perf_counter() - started
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return wall, max(peak, before) / 1024


def workspace(tmp: Path, name: str) -> dict:
    home = tmp / name / "dagster_home"
    home.mkdir(parents=True)
    (home / "dagster.yaml").write_text((ROOT / "dagster.yaml").read_text())
    return os.environ | {"DAGSTER_HOME": str(home), "MAC_SOURCE": "demo",
                         "MAC_DUCKDB_PATH": str(tmp / name / "mac.duckdb"),
                         "MAC_BI_PATH": str(tmp / name / "mac_bi.duckdb"), "MAC_REPORTS_DIR": str(tmp / name / "reports")}


def rows_written(path: str) -> int:
    from mac_assets.infra.sql import identifier

    with duckdb.connect(path, read_only=True) as con:
        tables = con.execute("select schema_name, table_name from duckdb_tables()").fetchall()
        return sum(con.execute(f"select count(*) from {identifier(schema)}.{identifier(name)}").fetchone()[0]
                   for schema, name in tables)


def pure_compute_seconds() -> tuple[float, float]:
    """Seconds for the run's computations from in-memory frames, no Dagster, no DuckDB: (scoring, reports).

    Scoring is raw → derived → scores → extension; reports are what the publish assets compute from the
    scores (the validation tables), so the two together are most of the work a run does.
    """
    from mac_assets.catalog import BENCHMARKS, REFERENCE_START
    from mac_assets.infra.settings import load_settings
    from mac_assets.pipeline import compute_all, fetch_all
    from mac_assets.publish import reports, validation
    from mac_assets.scores.headline import headline_pillars
    from mac_assets.sources.demo import DemoSource, generate

    settings = load_settings({})
    start, end = pd.Timestamp(settings.history_start.year, 1, 1), pd.Timestamp.now().normalize()
    source = DemoSource(seed=settings.demo_seed)
    generate(settings.demo_seed)  # generation is cached per process in a real run too
    started = time.perf_counter()
    raw = fetch_all(source, REFERENCE_START, (end + pd.Timedelta(days=1)).date())
    c = compute_all(raw, start, end)
    scoring = time.perf_counter() - started
    benchmarks = {s.id: c.raw[s.id] for s in BENCHMARKS}
    reports.validation_tables(c.mac_composite, headline_pillars(c.mac2_pillar_scores), benchmarks)
    validation.tables(c.mac1_composite, c.mac2_readings, c.mac2_indicator_scores, c.mac3_readings, c.mac_extended,
                      c.raw["STLFSI4"], c.raw["NFCI"], c.raw["SPY"])
    return scoring, time.perf_counter() - started - scoring


def cpu_reference_seconds() -> float:
    """A fixed pure-Python loop: this shared machine's speed drifts, so every table says how fast it was."""
    started = time.perf_counter()
    total = 0
    for i in range(10_000_000):
        total += i
    return time.perf_counter() - started


def startup_seconds() -> float:
    """A fresh Python importing and building the code location (dagster, pandas, the definitions): every run pays it."""
    started = time.perf_counter()
    subprocess.run([sys.executable, "-c", "import mac_assets.definitions as d; d.defs()"], cwd=ROOT, check=True)
    return time.perf_counter() - started


def live_requests(tmp: Path) -> dict[str, int]:
    """Requests per provider for a full-history backfill on the live clients against a local fake server."""
    from pytest_httpserver import HTTPServer

    from mac_assets.infra.settings import DEFAULT_DEMO_SEED
    from mac_assets.sources.providers import PROVIDERS
    from tests.fake_providers import FakeProviders  # the fake provider server the tests use

    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # no access log line per request
    server = HTTPServer(host="127.0.0.1", port=0)
    server.start()
    try:
        fake = FakeProviders(server, seed=DEFAULT_DEMO_SEED, as_of=str(pd.Timestamp.now().date()))
        env = workspace(tmp, "live") | {"MAC_SOURCE": "live", "FRED_API_KEY": "bench-key",
                                         **{PROVIDERS[p].base_url_variable: url for p, url in fake.base_urls().items()}}
        subprocess.run([sys.executable, "-m", "mac_assets.run"], cwd=ROOT, env=env, check=False,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        return fake.requests_by_provider()
    finally:
        server.stop()


def bi_latency(bi_path: str, repeats: int = 200) -> tuple[float, float]:
    """Median and p95 milliseconds of typical BI queries on the published file (fresh read-only connection each)."""
    queries = ["select * from bi.mac_latest",
               "select date, mac, status from bi.mac_history where date >= current_date - interval 365 day",
               "select * from bi.series_freshness where freshness <> 'fresh'"]
    times = []
    for i in range(repeats):
        started = time.perf_counter()
        con = duckdb.connect(bi_path, read_only=True)
        con.execute(queries[i % len(queries)]).fetchall()
        con.close()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times), statistics.quantiles(times, n=20)[-1]


def simulated_year(tmp: Path, last: str) -> list[tuple[str, str]]:
    """A year of the shipped schedules replayed through Dagster's storage API, with and without retention.

    scripts/simulated_year.py says how; the two years are replayed side by side in two processes.
    """
    from mac_assets.infra.settings import DEFAULT_RETENTION_DAYS as KEEP
    from mac_assets.infra.settings import DEFAULT_RETENTION_FAILED_DAYS as KEEP_FAILED
    from scripts.simulated_year import size_mb, ui_latency

    env = workspace(tmp, "year")
    run_pipeline(env)
    full = size_mb(Path(env["DAGSTER_HOME"]))
    run_pipeline(env, "--from", last, "--to", last)  # the template of every replayed refresh
    per_run = size_mb(Path(env["DAGSTER_HOME"])) - full
    homes = {mode: tmp / "year" / f"home_{mode}" for mode in ("with", "without")}
    for home in homes.values():
        shutil.copytree(env["DAGSTER_HOME"], home)
    started = time.perf_counter()
    children = {mode: subprocess.Popen([sys.executable, str(ROOT / "scripts" / "simulated_year.py"), str(home), str(KEEP),
                                        str(KEEP_FAILED), mode], cwd=ROOT, env=env | {"DAGSTER_HOME": str(home)},
                                       stdout=subprocess.PIPE, text=True) for mode, home in homes.items()}
    years = {mode: json.loads(child.communicate()[0]) for mode, child in children.items()}
    replay = time.perf_counter() - started
    if any(child.returncode for child in children.values()):
        raise RuntimeError("a simulated year failed")
    rows = [("instance after one full backfill", f"{full:.1f} MB"),
            ("instance bytes added by one incremental run", f"{per_run:.2f} MB ({years['with']['refresh_events']} events)")]
    for mode, year in years.items():
        sizes = ", ".join(f"day {day}: {mb:.0f} MB" for day, mb in year["sizes"].items())
        rows.append((f"simulated year {mode} retention ({year['runs']} runs, {year['stored']} kept)", sizes))
    with_r, without = years["with"]["sizes"]["365"], years["without"]["sizes"]["365"]
    rows.append(("… growth per day from day 90 to day 365, with / without retention",
                 f"{(with_r - years['with']['sizes']['90']) / 275:.2f} / {(without - years['without']['sizes']['90']) / 275:.2f} MB"
                 f" (replayed in {replay:.0f} s; last prune: {years['with']['last_prune']})"))

    # The instance the years were copied from is the fresh one: one full backfill and one incremental run.
    envs = {"fresh": env} | {f"after a year {mode} retention": env | {"DAGSTER_HOME": str(home)}
                                   for mode, home in homes.items()}
    timings = {name: sorted(run_pipeline(e, "--from", last, "--to", last)[0] for _ in range(3))[1] for name, e in envs.items()}
    rows.append(("incremental update, median of 3: " + " / ".join(envs), " / ".join(f"{t:.1f} s" for t in timings.values())))
    latency = {name: ui_latency(e) for name, e in envs.items()}
    for page in ("asset page", "runs list"):
        fresh = latency["fresh"][page]
        rows.append((f"UI GraphQL {page} (median ms): " + " / ".join(envs),
                     " / ".join(f"{v[page]:.0f}" for v in latency.values())
                     + "  (" + ", ".join(f"{v[page] / fresh:.2f}×" for v in list(latency.values())[1:]) + " fresh)"))
    return rows


def concurrently(envs: list[dict], *args_per_run: tuple[str, ...]) -> float:
    """Wall seconds for `python -m mac_assets.run` children started together, one per (env, args)."""
    started = time.perf_counter()
    children = [subprocess.Popen([sys.executable, "-m", "mac_assets.run", *args], cwd=ROOT, env=env,
                                 stdout=subprocess.DEVNULL) for env, args in zip(envs, args_per_run)]
    if any(child.wait() for child in children):
        raise RuntimeError("a concurrent run failed")
    return time.perf_counter() - started


def stock_postgres_instance() -> str:
    """The team instance file as it was before #25: dagster-postgres's own storage (a new connection per statement
    group) and the pool's slots claimed step by step; the bench's baseline for the pooled storage."""
    import yaml

    config = yaml.safe_load((ROOT / "deploy" / "dagster.postgres.yaml").read_text())
    config["storage"] = {"postgres": config["storage"]["custom"]["config"]}
    del config["concurrency"]["pools"]["granularity"]
    return yaml.safe_dump(config)


def team_deployment(tmp: Path, keys: list[str]) -> list[tuple[str, str]]:
    """The team set-ups beside the local default, measured in the same run: instance on PostgreSQL (as shipped, and
    with dagster-postgres's own storage as before #25), warehouse on a DuckLake (catalog in PostgreSQL; data in a
    folder or on S3), and two runs at once on the lake. For each PostgreSQL instance: the connections opened to
    its database and the transactions in it per run, and per event the run stored."""
    from mac_assets.infra.lake import DATA_PATH_VARIABLE
    from scripts.servers import (
        Unavailable,
        activity,
        connect,
        create_database,
        lake_catalog,
        postgres_server,
        s3_server,
    )

    def events(server: dict) -> int:
        con = connect(server)
        try:
            with con.cursor() as cur:
                cur.execute("select count(*) from event_logs")
                return cur.fetchone()[0]
        finally:
            con.close()

    def measured(env: dict, *args: str) -> tuple[float, tuple[int, int, int] | None]:
        """Wall seconds of a run, and on PostgreSQL its (connections, transactions, events)."""
        if "DAGSTER_PG_DB" not in env:
            return run_pipeline(env, *args)[0], None
        server = {k: v for k, v in env.items() if k.startswith("DAGSTER_PG_")}
        before, stored = activity(server), events(server) if args else 0
        wall = run_pipeline(env, *args)[0]
        after = activity(server)
        return wall, (after[0] - before[0], after[1] - before[1], events(server) - stored)

    try:
        with postgres_server() as pg, s3_server() as s3:
            def team(name: str, warehouse: str, data: str = "", instance: str | None = None) -> dict:
                env = workspace(tmp, name) | pg | {"PGPASSWORD": pg["DAGSTER_PG_PASSWORD"],
                                                   "MAC_BACKUP_DIR": str(tmp / name / "backups")}
                (Path(env["DAGSTER_HOME"]) / "dagster.yaml").write_text(
                    instance or (ROOT / "deploy" / "dagster.postgres.yaml").read_text())
                env |= create_database(pg, f"instance_{name}")
                if warehouse == "lake":
                    env |= {"MAC_DUCKDB_PATH": lake_catalog(create_database(pg, f"lake_{name}")), DATA_PATH_VARIABLE: data}
                    env |= {k: v for k, v in s3.items() if k != "bucket"} if data.startswith("s3://") else {}
                return env

            setups = {"local (SQLite instance, DuckDB file)": workspace(tmp, "team_local"),
                      "PostgreSQL instance, DuckDB file": team("pg_file", "file"),
                      "PostgreSQL instance before #25 (dagster-postgres's storage), DuckDB file":
                          team("pg_stock", "file", instance=stock_postgres_instance()),
                      "PostgreSQL instance, DuckLake in a folder": team("pg_lake", "lake", str(tmp / "pg_lake" / "data")),
                      "PostgreSQL instance, DuckLake on S3 (moto)": team("pg_s3", "lake", f"s3://{s3['bucket']}/lake/")}
            full = {name: measured(env) for name, env in setups.items()}
            latest = ("--from", keys[-1], "--to", keys[-1])
            incremental = {name: measured(env, *latest) for name, env in setups.items()}
            lake = setups["PostgreSQL instance, DuckLake in a folder"]
            years = [("--from", k, "--to", k) for k in keys[-3:-1]]
            one_after_another = sum(run_pipeline(lake, *span)[0] for span in years)
            at_once = concurrently([lake, lake], *years)
    except Unavailable as exc:
        return [("team deployment", f"not measured: {exc}")]
    local = next(iter(full))
    rows = []
    for name in setups:
        (wall, counts), (wall_incremental, counts_incremental) = full[name], incremental[name]
        rows.append((f"full backfill / incremental: {name}", f"{wall:.1f} s / {wall_incremental:.1f} s"
                     + ("" if name == local else f" ({wall / full[local][0]:.2f}× / "
                                                   f"{wall_incremental / incremental[local][0]:.2f}× local)")))
        if counts:
            rows.append(("… its PostgreSQL instance per run, full / incremental", " / ".join(
                f"{c:,} connections, {x:,} transactions ({c / e:.2f} and {x / e:.1f} per event, {e:,} events)"
                for c, x, e in (counts, counts_incremental))))
    rows.append((f"two runs ({years[0][1]}, {years[1][1]}) on the DuckLake: one after another / at once",
                 f"{one_after_another:.1f} s / {at_once:.1f} s ({one_after_another / at_once:.2f}× throughput)"))
    return rows


def main(argv: list[str] | None = None) -> None:
    """The local measurements (`make bench`, within ten minutes on 2 cores), or with `--team` the team set-ups and a
    simulated year of daily operation (`make bench-team`), which take longer and need PostgreSQL."""
    from mac_assets.definitions import FULL_GRAPH_JOB, build_definitions
    from mac_assets.infra.settings import load_settings
    from mac_assets.publish.bi import releasing_snapshots

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--team", action="store_true", help="the team set-ups and the simulated year instead")
    team = parser.parse_args(argv).team
    keys = build_definitions(load_settings({})).resolve_job_def(FULL_GRAPH_JOB).partitions_def.get_partition_keys()
    lines: list[tuple[str, str]] = []
    reference_before = cpu_reference_seconds()
    with tempfile.TemporaryDirectory() as name, releasing_snapshots(Path(name)):
        tmp = Path(name)
        lines += team_rows(tmp, keys) if team else local_rows(tmp, keys)

    lines.append(("CPU reference (10M-step Python loop), before / after", f"{reference_before:.2f} s / "
                  f"{cpu_reference_seconds():.2f} s (lower is a faster machine at the time)"))
    width = max(len(k) for k, _ in lines)
    print(f"\n{'measurement':<{width}}  result\n{'-' * width}  {'-' * 40}")
    for key, value in lines:
        print(f"{key:<{width}}  {value}")
    print(f"\nmachine: {os.cpu_count()} cores, Python {sys.version.split()[0]}, duckdb {duckdb.__version__}")


def team_rows(tmp: Path, keys: list[str]) -> list[tuple[str, str]]:
    print("team deployment: PostgreSQL instance, DuckLake warehouse ...", flush=True)
    lines = team_deployment(tmp, keys)
    print("simulating a year of daily operation ...", flush=True)
    return lines + simulated_year(tmp, keys[-1])


def local_rows(tmp: Path, keys: list[str]) -> list[tuple[str, str]]:
    """Backfills, incremental updates, per-partition runs, pure compute, start-up, live requests, BI reads."""
    lines: list[tuple[str, str]] = []
    env = workspace(tmp, "full")
    full, rss = run_pipeline(env)
    print(f"full backfill: {full:.1f} s", flush=True)
    db = env["MAC_DUCKDB_PATH"]
    lines += [("full backfill (one run, SQLite instance)", f"{full:.1f} s for {len(keys)} yearly partitions "
               f"{keys[0]}..{keys[-1]}"), ("peak RSS of that run", f"{rss:.0f} MB"),
              ("rows written", f"{rows_written(db):,}"), ("DuckDB file", f"{os.path.getsize(db) / 1e6:.1f} MB")]
    # This machine's speed wanders by ±20 % from minute to minute: the median of three runs.
    incremental = sorted(run_pipeline(env, "--from", keys[-1], "--to", keys[-1])[0] for _ in range(3))
    lines.append(("incremental update (latest partition, all assets)",
                  f"{incremental[1]:.1f} s median of 3 ({', '.join(f'{t:.1f}' for t in incremental)})"))

    long_env = workspace(tmp, "from_1900") | {"MAC_HISTORY_START": "1900-01-01"}
    long_wall, long_rss = run_pipeline(long_env)
    lines.append((f"full backfill from MAC_HISTORY_START=1900-01-01 ({int(keys[-1]) - 1899} partitions)",
                  f"{long_wall:.1f} s, peak RSS {long_rss:.0f} MB"))

    sample = keys[-4:-1]
    per_run = [run_pipeline(workspace(tmp, f"one_{k}"), "--from", k, "--to", k)[0] for k in sample]
    extrapolated = statistics.mean(per_run) * len(keys)
    lines += [("one run per partition (mean of " + ", ".join(sample) + ")", f"{statistics.mean(per_run):.1f} s per run"),
              ("… extrapolated to the full history", f"{extrapolated:.0f} s = {extrapolated / full:.1f}× the single run")]

    (scoring, reporting), startup = pure_compute_seconds(), startup_seconds()
    compute = scoring + reporting
    lines += [("pure compute, in memory, no Dagster/DuckDB", f"{compute:.1f} s = scoring {scoring:.1f} s "
               f"+ reports {reporting:.1f} s"),
              ("process start-up (import the code location)", f"{startup:.1f} s"),
              ("full backfill ÷ (compute + start-up)", f"{full / (compute + startup):.1f}×"),
              ("orchestration overhead = full backfill − compute − start-up",
               f"{full - compute - startup:.1f} s = {(full - compute - startup) / (compute + startup):.1f}× (compute + start-up)")]

    requests = live_requests(tmp)
    lines.append(("live requests for a full backfill (fake server)",
                  f"{sum(requests.values())} in all: " + ", ".join(f"{k} {v}" for k, v in sorted(requests.items()))))

    median, p95 = bi_latency(env["MAC_BI_PATH"])
    lines.append(("BI read latency (open + query, 200 reads)", f"median {median:.1f} ms, p95 {p95:.1f} ms"))
    return lines


if __name__ == "__main__":
    main()

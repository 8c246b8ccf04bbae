"""`python -m mac_assets.run`: materialize the whole graph in one run and print the latest reading.

This is what `make run` does. It uses the Dagster instance in DAGSTER_HOME when set (so the run shows
up in `make ui`), otherwise an ephemeral one. `--from YEAR --to YEAR` limits the run to some years.

The exit status tells the truth: 0 only when a headline composite was produced; otherwise 1 (a run
that failed or produced no headline) or 2 (bad settings or arguments), each with a one-line reason on
standard error. Before it starts, the run frees what killed runs left behind (see `runs.py`) and
checks that nothing else holds the working file, so it neither waits forever nor fails after a
half-minute of retries.
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import time
from pathlib import Path

import pandas as pd
from dagster import DagsterInstance, execute_job, reconstructable

from mac_assets import keys
from mac_assets.automation import range_tags
from mac_assets.definitions import FULL_GRAPH_JOB, environment_definitions, full_graph_job
from mac_assets.infra.backup import check_intact
from mac_assets.infra.lake import is_lake
from mac_assets.infra.runs import blocking_runs, sweep_stale_runs, worker_tags
from mac_assets.infra.settings import Settings, load_settings
from mac_assets.infra.warehouse import StorageError, acquire, check_openable, connect, unlock
from mac_assets.publish.site import RISK_VERDICT
from mac_assets.raw.assets import FETCH_CHECK
from mac_assets.scores.compute import headline_days, no_headline_reason
from mac_assets.scores.headline import headline_pillars
from mac_assets.sources.base import shown
from mac_assets.sources.csv_folder import CsvFolderSource
from mac_assets.sources.providers import missing_key
from mac_assets.thresholds import METHODOLOGY_VERSION


class Refused(Exception):
    """A reason not to start, or a run without a headline: one line for the person at the terminal."""

    def __init__(self, message: str, status: int = 1):
        super().__init__(message)
        self.status = status


def run_options(first: str, last: str, log_level: str) -> dict:
    return {"tags": range_tags(first, last) | worker_tags(), "raise_on_error": False,
            "run_config": {"loggers": {"console": {"config": {"log_level": log_level}}}}}


def materialize_years(defs, first: str, last: str, instance: DagsterInstance, log_level: str = "WARNING"):
    """One run of `defs`' whole-graph job over the partition range first..last (inclusive), every asset and check.

    For callers that need the step outputs afterwards (tests inspect them): `execute_in_process` keeps
    every output in memory until the run ends, which is why `make run` uses `materialize_environment`.
    """
    return defs.resolve_job_def(FULL_GRAPH_JOB).execute_in_process(instance=instance, **run_options(first, last, log_level))


def materialize_environment(first: str, last: str, instance: DagsterInstance, log_level: str = "WARNING"):
    """The same run for the environment's settings, through `execute_job`: outputs are not held in memory.

    Only the events are kept (the step outputs live in DuckDB), so peak memory is that of the
    largest step, not the sum of every asset's frame over the whole history.
    """
    with execute_job(reconstructable(full_graph_job), instance=instance, **run_options(first, last, log_level)) as result:
        return result


def year_range(keys: list[str], first: str | None, last: str | None) -> tuple[str, str]:
    """Validate --from/--to against the partitions (calendar years from MAC_HISTORY_START to this year)."""
    first, last = first or keys[0], last or keys[-1]
    for name, year in (("--from", first), ("--to", last)):
        if year not in keys:
            raise Refused(f"{name} {year}: years run from {keys[0]} (MAC_HISTORY_START) to {keys[-1]} (this year)", 2)
    if keys.index(first) > keys.index(last):
        raise Refused(f"--from {first} is after --to {last}", 2)
    return first, last


def summary(settings: Settings) -> str:
    """What `make run` prints: one headline and the 12-month risk first, its pillars, the other readings under their
    own heading, the history's range, and where to look next (the page, the BI file, the validation)."""
    database = settings.duckdb_path
    with connect(database, read_only=True) as con:
        comp = con.execute(f"select * from {keys.MAC_COMPOSITE} order by date").fetchdf()
        solid = headline_days(comp)
        if solid.empty:
            return f"No headline composite: {no_headline_reason(comp)}."
        comp = comp.dropna(subset=["mac"])
        last = solid.iloc[-1]
        day = [last["date"].date()]
        pillars = headline_pillars(con.execute(f"select * from {keys.MAC2_PILLAR_SCORES} where date = ?", day).fetchdf())
        extended = con.execute(f"select mac_extended, status from {keys.MAC_EXTENDED} where date = ?", day).fetchdf() \
            if con.execute("select count(*) from duckdb_tables() where database_name = current_database() and "
                           "schema_name = 'extension' and table_name = 'mac_extended'").fetchone()[0] else pd.DataFrame()
        source = con.execute(f"select any_value(source) from {keys.raw('VIX')}").fetchone()[0] or settings.source
    lines = [DEMO_BANNER, ""] if source == "demo" else []
    lines += [
        f"MAC on {last['date'].date()}: {last['mac']:.3f} ({last['status']}) — {last['methodology_version']}, "
        f"coverage {last['coverage']:.0%}, {int(last['pillars_available'])} of {len(pillars)} pillars measured",
        f"12-month drawdown risk (SPY −15 % within a year): {_share(last['risk_12m'])}, base rate "
        f"{_share(last['risk_base_rate'])} — {RISK_VERDICT}",
        "",
        f"{'pillar':<16}{'score':>7}  {'status':<12}{'coverage':>9}{'weight':>8}{'contribution':>14}",
    ]
    for p in pillars.sort_values("pillar").itertuples():
        lines.append(f"{p.pillar:<16}{p.score:7.3f}  {p.status:<12}{p.coverage:>9.0%}{p.weight:>8.3f}{p.contribution:>14.3f}")
    lines += ["", "Other readings (not the headline):",
              f"  systemic, mac-3.0 (the same pillars aggregated like portfolio risk): {_reading(last, 'systemic')}",
              f"  build-up (slow vulnerabilities): {_reading(last, 'buildup')}",
              f"  seed, {METHODOLOGY_VERSION} (seven pillars, fixed anchors): {_share(last['seed_mac'], '.3f')}"]
    if len(extended) and pd.notna(extended["mac_extended"].iloc[0]):
        lines.append(f"  extended MAC (docs/extension.md): {extended['mac_extended'].iloc[0]:.3f} "
                     f"({extended['status'].iloc[0]})")
    newest = comp.iloc[-1]
    if newest["date"] > last["date"]:
        lines += ["", f"Later days have less data: {newest['date'].date()} scores {newest['mac']:.3f} on "
                      f"{newest['coverage']:.0%} coverage; some inputs end before it."]
    worst = comp.loc[comp["mac"].idxmin()]
    lines += [
        "",
        f"History: {len(comp)} business days {comp['date'].iloc[0].date()} → {newest['date'].date()}; "
        f"lowest MAC {worst['mac']:.3f} on {worst['date'].date()}",
        "",
        "Open next:",
        f"  the analysts' page   {Path(settings.reports_dir) / 'site' / 'index.html'}",
        f"  the BI snapshot      {settings.bi_path} (read-only; tables in docs/bi.md)",
        f"  the validation       {Path(settings.reports_dir) / 'validation.md'}",
        f"  the Dagster UI       make ui (warehouse {database})",
    ]
    return "\n".join(lines)


DEMO_BANNER = ("DEMO DATA: these numbers come from the seeded demo generator, not from markets "
               "(MAC_SOURCE=live or csv for a real reading).")


def _share(value, spec: str = ".0%") -> str:
    return "n/a" if pd.isna(value) else format(value, spec)


def _reading(row: pd.Series, name: str) -> str:
    return "n/a" if pd.isna(row[f"{name}_mac"]) else f"{row[f'{name}_mac']:.3f} ({row[f'{name}_status']})"


def has_headline(database: str) -> tuple[bool, str]:
    with connect(database, read_only=True) as con:
        comp = con.execute(f"select date, mac, status, coverage from {keys.MAC_COMPOSITE}").fetchdf()
    return (not headline_days(comp).empty), no_headline_reason(comp)


def preflight(instance: DagsterInstance, settings: Settings) -> str:
    """Free what killed runs left, then refuse to start while another run or process holds the file (not a lake),
    or on a working file that a restore left half-swapped or that is missing while its history is in backups."""
    database = settings.duckdb_path
    swept = sweep_stale_runs(instance)
    others = [] if is_lake(database) else blocking_runs(instance)  # a lake takes concurrent writers
    if others:
        raise Refused(f"another run is in progress and holds the working file: {others[0]}; wait for it, or "
                      "terminate it in the UI (Runs) if it is stuck")
    try:
        check_intact(database, settings.backup_root)
        check_openable(database)
    except StorageError as exc:
        raise Refused(str(exc)) from None
    return str(swept)


def failures(result) -> list[str]:
    """One line per failed step and per source that could not deliver, without tracebacks."""
    lines = []
    for event in result.all_events:
        if event.is_step_failure:
            error = event.event_specific_data.error
            cause = error.cause or error
            text = cause.message.strip().splitlines()[0]
            lines.append(f"{event.step_key}: {text.split(': ', 1)[-1] if text.startswith(('dagster', 'mac_assets')) else text}")
    for check in result.get_asset_check_evaluations():
        if check.check_name == FETCH_CHECK and not check.passed:
            lines.append(f"{'/'.join(check.asset_key.path)}: could not be fetched: {check.metadata['error'].value}")
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--from", dest="first", help="first year (default: the year of MAC_HISTORY_START)")
    parser.add_argument("--to", dest="last", help="last year (default: this year)")
    args = parser.parse_args(argv)
    try:
        try:
            settings = load_settings()
        except ValueError as exc:
            raise Refused(str(exc), 2) from None
        if settings.source == "live" and missing_key(settings.keys_set):
            raise Refused(missing_key(settings.keys_set), 2)
        try:
            # Held for the whole command: a second `make run` or a `make restore` is refused at once, naming this one.
            acquire(settings.duckdb_path, "make run")
        except StorageError as exc:
            raise Refused(str(exc)) from None
        try:
            job = environment_definitions().resolve_job_def(FULL_GRAPH_JOB)
            first, last = year_range(job.partitions_def.get_partition_keys(), args.first, args.last)
            return run_and_report(settings, job, first, last)
        finally:
            unlock(settings.duckdb_path)
    except Refused as refusal:
        print(f"mac: {refusal}", file=sys.stderr)
        return refusal.status


def run_and_report(settings: Settings, job, first: str, last: str) -> int:
    """`make run` once the working file's lock is held: preflight, the run, and the summary (or a Refused)."""
    persistent = bool(os.environ.get("DAGSTER_HOME"))
    instance = DagsterInstance.get() if persistent else DagsterInstance.ephemeral()
    swept = preflight(instance, settings)
    if swept != "no stale runs":
        print(f"Recovered from a killed run: {swept}.", flush=True)
    if settings.csv_dir:
        ignored = CsvFolderSource(directory=settings.csv_dir).unknown_files()
        if ignored:
            print(f"CSV folder {shown(settings.csv_dir)}: ignored, no catalog series reads them: {', '.join(ignored)}",
                  flush=True)
    print(f"Materializing {len(job.asset_layer.selected_asset_keys)} assets for {first}..{last} "
          f"from the {settings.source} source into {settings.duckdb_path} …", flush=True)
    started = time.perf_counter()
    result = materialize_environment(first, last, instance, log_level="CRITICAL")
    elapsed = time.perf_counter() - started
    problems = failures(result)
    for line in problems:
        print(f"  {line}", file=sys.stderr)
    if not result.success:
        raise Refused(f"run {result.run_id} failed after {elapsed:.1f} s: {problems[0] if problems else 'see the UI'}")
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"Run {result.run_id} succeeded in {elapsed:.1f} s (peak RSS {peak_mb:.0f} MB).\n")
    produced, reason = has_headline(settings.duckdb_path)
    if not produced:
        raise Refused(f"no headline MAC was produced: {reason}")
    print(summary(settings))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

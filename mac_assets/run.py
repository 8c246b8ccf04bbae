"""`python -m mac_assets.run`: materialize the whole graph in one run and print the latest reading.

This is what `make run` does. It uses the Dagster instance in DAGSTER_HOME when set (so the run shows
up in `make ui`), otherwise an ephemeral one. `--from YEAR --to YEAR` limits the run to some years.
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import time

import pandas as pd
from dagster import DagsterInstance

from mac_assets.catalog import PILLARS
from mac_assets.definitions import FULL_GRAPH_JOB, build_definitions
from mac_assets.schedules import range_tags
from mac_assets.settings import load_settings
from mac_assets.storage import connect
from mac_assets.thresholds import HEADLINE_MIN_COVERAGE



def materialize_years(defs, first: str, last: str, instance: DagsterInstance, log_level: str = "WARNING"):
    """One run over the partition range first..last (inclusive), every asset and check."""
    job = defs.resolve_job_def(FULL_GRAPH_JOB)
    return job.execute_in_process(
        instance=instance, tags=range_tags(first, last), raise_on_error=False,
        run_config={"loggers": {"console": {"config": {"log_level": log_level}}}},
    )


def summary(database: str) -> str:
    """A human-readable report of the latest composite, its pillars, and the history's range."""
    with connect(database, read_only=True) as con:
        comp = con.execute("select * from scores.mac_composite where mac is not null order by date").fetchdf()
        if comp.empty:
            return "No composite score was produced."
        # Headline the latest day backed by at least half the methodology's weight: when some inputs end
        # earlier than others (a CSV drop, a provider outage), the last few days rest on little data.
        solid = comp[comp["coverage"] >= HEADLINE_MIN_COVERAGE]
        headline = solid if len(solid) else comp
        last_day = headline["date"].iloc[-1]
        pillars = con.execute(
            "select pillar, score, status, coverage, weight, contribution from scores.pillar_scores "
            "where date = ? order by pillar", [last_day.date()],
        ).fetchdf()
        counts = con.execute(
            "select table_schema, count(*) as tables from information_schema.tables "
            "where table_schema in ('raw', 'derived', 'scores', 'extension') group by 1 order by 1"
        ).fetchall()
        extended = con.execute(
            "select mac_extended, status, mac_linear, correlation_contribution, compression_contribution "
            "from extension.mac_extended where date = ?", [last_day.date()]).fetchdf() \
            if any(schema == "extension" for schema, _ in counts) else pd.DataFrame()
    last = headline.iloc[-1]
    lines = [
        f"MAC on {last_day.date()}: {last['mac']:.3f} ({last['status']}), coverage {last['coverage']:.0%}, "
        f"{int(last['pillars_available'])}/{len(PILLARS)} pillars, methodology {last['methodology_version']}",
        "",
        f"{'pillar':<16}{'score':>7}  {'status':<12}{'coverage':>9}{'weight':>8}{'contribution':>14}",
    ]
    for p in pillars.itertuples():
        score = "   n/a" if pd.isna(p.score) else f"{p.score:7.3f}"
        contrib = "n/a" if pd.isna(p.contribution) else f"{p.contribution:.3f}"
        lines.append(f"{p.pillar:<16}{score:>7}  {p.status:<12}{p.coverage:>9.0%}{p.weight:>8.3f}{contrib:>14}")
    if len(extended) and pd.notna(extended["mac_extended"].iloc[0]):
        x = extended.iloc[0]
        lines += ["", f"Extended MAC (docs/extension.md): {x['mac_extended']:.3f} ({x['status']}) = nine components "
                      f"{x['mac_linear']:.3f}, correlation {x['correlation_contribution']:+.3f}, "
                      f"compression {x['compression_contribution']:+.3f}"]
    newest = comp.iloc[-1]
    if newest["date"] > last_day:
        lines += ["", f"Later days have less data: {newest['date'].date()} scores {newest['mac']:.3f} on "
                      f"{newest['coverage']:.0%} coverage ({int(newest['pillars_available'])} pillars); "
                      f"some inputs end before it."]
    worst = comp.loc[comp["mac"].idxmin()]
    bands = comp["status"].value_counts()
    lines += [
        "",
        f"History: {len(comp)} business days {comp['date'].iloc[0].date()} → {newest['date'].date()}; "
        f"lowest MAC {worst['mac']:.3f} on {worst['date'].date()}",
        "Days per status: " + ", ".join(f"{k} {v}" for k, v in bands.items()),
        "Tables: " + ", ".join(f"{schema} {n}" for schema, n in counts),
        f"DuckDB file: {database}",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    settings = load_settings()
    defs = build_definitions(settings)
    job = defs.resolve_job_def(FULL_GRAPH_JOB)
    keys = job.partitions_def.get_partition_keys()
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--from", dest="first", default=keys[0], help=f"first year (default {keys[0]})")
    parser.add_argument("--to", dest="last", default=keys[-1], help=f"last year (default {keys[-1]})")
    args = parser.parse_args(argv)

    instance = DagsterInstance.get() if os.environ.get("DAGSTER_HOME") else DagsterInstance.ephemeral()
    print(f"Materializing {len(job.asset_layer.selected_asset_keys)} assets for {args.first}..{args.last} "
          f"from source '{settings.source}' into {settings.duckdb_path} …", flush=True)
    started = time.perf_counter()
    result = materialize_years(defs, args.first, args.last, instance)
    elapsed = time.perf_counter() - started
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    if not result.success:
        for event in result.all_events:
            if event.is_failure:
                print(event.message, file=sys.stderr)
        print(f"Run {result.run_id} failed after {elapsed:.1f} s.", file=sys.stderr)
        return 1
    print(f"Run {result.run_id} succeeded in {elapsed:.1f} s (peak RSS {peak_mb:.0f} MB).\n")
    print(summary(settings.duckdb_path))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""The graph's shape as reviewable text: every asset spec, check, job, schedule and sensor of the code location.

`docs/definitions.json` holds it for the default settings. It is generated with the other docs
(`python -m mac_assets.docs`), and tests/test_docs.py fails while it differs from the definitions the code
builds, so a change to the graph's shape (an asset added, a dependency, a group, an owner, a code version, a
pool, a schedule) shows in review as a diff of that file, one line per asset, check, job or schedule.
"""

from __future__ import annotations

import json

from dagster import Definitions


def _key(key) -> str:
    return key.to_user_string()


def describe(defs: Definitions) -> dict:
    """Everything about `defs` that a reviewer should see change, as plain JSON data."""
    graph = defs.resolve_asset_graph()
    assets, checks = {}, {}
    for assets_def in graph.assets_defs:  # asset checks defined on their own are among them, with no asset spec
        for spec in assets_def.specs:
            partitions = spec.partitions_def
            assets[_key(spec.key)] = {
                "group": spec.group_name, "owners": list(spec.owners), "code_version": spec.code_version,
                "kinds": sorted(spec.kinds), "tags": {k: v for k, v in sorted(spec.tags.items())
                                                      if not k.startswith("dagster/kind/")},
                "partitions": partitions.cron_schedule if partitions is not None else None,
                "backfill": str(assets_def.backfill_policy.policy_type.value) if assets_def.backfill_policy else None,
                "pool": assets_def.op.pool, "io_manager": assets_def.get_io_manager_key_for_asset_key(spec.key),
                "deps": sorted(_key(d.asset_key) for d in spec.deps),
            }
        for check in assets_def.check_specs:
            checks[f"{_key(check.asset_key)}:{check.name}"] = {"blocking": check.blocking}
    jobs = {}
    for job in defs.resolve_all_job_defs():
        if job.name.startswith("__"):  # Dagster's implicit job of all assets
            continue
        selected = job.asset_layer.selected_asset_keys if job.asset_layer else set()
        jobs[job.name] = {"assets": sorted(_key(k) for k in selected),
                          "ops": [] if selected else sorted(n.name for n in job.nodes)}
    schedules = {s.name: {"cron": s.cron_schedule, "timezone": s.execution_timezone, "job": s.job_name,
                          "default_status": s.default_status.value} for s in defs.schedules or ()}
    sensors = {s.name: {"default_status": s.default_status.value, "minimum_interval_seconds": s.minimum_interval_seconds}
               for s in defs.sensors or ()}
    return {"assets": dict(sorted(assets.items())), "checks": dict(sorted(checks.items())),
            "jobs": dict(sorted(jobs.items())), "schedules": dict(sorted(schedules.items())),
            "sensors": dict(sorted(sensors.items()))}


def render(defs: Definitions | None = None) -> str:
    """JSON with one line per asset, check, job, schedule and sensor, so each change is one line of a diff."""
    sections = []
    for name, entries in describe(defs or default_definitions()).items():
        lines = ",\n".join(f"  {json.dumps(k)}: {json.dumps(v)}" for k, v in entries.items())
        sections.append(f" {json.dumps(name)}: {{\n{lines}\n }}")
    return "{\n" + ",\n".join(sections) + "\n}\n"


def default_definitions() -> Definitions:
    """The code location for the default settings (no MAC_* variable read): what the snapshot shows."""
    from mac_assets.definitions import build_definitions
    from mac_assets.infra.settings import load_settings

    return build_definitions(load_settings({}))

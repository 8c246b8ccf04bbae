"""Can the live source reach its providers from here, with the keys set here? (`make doctor`)

One small request per provider (its first series over the last weeks), all providers at once and all
within the run's fetch budget (MAC_FETCH_BUDGET_S), so a provider that hangs or trickles costs the doctor
no more than it costs a run. Then, for every catalog series,
who will deliver it on a live run (its provider, the catalog's fallback, the CSV folder, or nobody),
and the coverage that gives the headline reading. Keys are read from the environment as a run reads
them (FRED_API_KEY, GLASSNODE_API_KEY) and are never printed: the clients register them, and every
message born from a request is redacted whole before anything cuts it (`sources/redact.py`). Exit
status 0 when every provider with a public API answered, 1 otherwise (the last line says which did not).
"""

from __future__ import annotations

import os
import sys
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from mac_assets.catalog import SERIES, Series
from mac_assets.derived.registry import metric_input_series
from mac_assets.infra.settings import FETCH_BUDGET_VARIABLE, load_settings
from mac_assets.sources.base import GeoBlocked, MalformedPayload, ProviderError, SourceError, validate_fetch
from mac_assets.sources.client import HttpSource
from mac_assets.sources.csv_folder import CsvFolderSource
from mac_assets.sources.http import Deadline
from mac_assets.sources.providers import PROVIDERS, Provider
from mac_assets.sources.resources import SourceResource
from mac_assets.thresholds import MAC2_INDICATORS

REACHABLE = "reachable"
# Days of history a probe asks for: enough to hold one observation at the series' frequency.
PROBE_DAYS = {"daily": 14, "business": 14, "weekly": 35, "monthly": 100, "quarterly": 400}


@dataclass(frozen=True)
class Probe:
    provider: str
    status: str  # reachable, key missing, refused (HTTP n), geo-blocked, unreachable, unreadable, no public API
    detail: str
    requests: int = 0

    @property
    def ok(self) -> bool:
        return self.status == REACHABLE


def probe_series(provider: str) -> Series:
    """The provider's first current series, preferring one without versions (a single request)."""
    own = [s for s in SERIES if s.provider == provider and s.end_date is None]
    return sorted(own, key=lambda s: s.vintages)[0]


def probe(provider: Provider, client: HttpSource | None, key: str, today: date, deadline: Deadline) -> Probe:
    """One request to the provider, ended by `deadline` at the latest, classified."""
    if client is None:
        return Probe(provider.name, "no public API", "its series are read from MAC_CSV_DIR")
    if provider.key_variable and not key:
        help_text = f" ({provider.key_help})" if provider.key_help else ""
        return Probe(provider.name, "key missing", f"set {provider.key_variable}{help_text}")
    series = probe_series(provider.name)
    once = client.model_copy(update={"max_retries": 0})
    once.bound_by(deadline)
    start = today - timedelta(days=PROBE_DAYS[series.frequency])
    try:
        end = today + timedelta(days=1)
        frame = validate_fetch(provider.name, series, once.fetch(series, start, end).frame, start, end)
    except GeoBlocked as exc:
        return Probe(provider.name, "geo-blocked", str(exc), once.http.requests_made)
    except ProviderError as exc:
        status = f"refused (HTTP {exc.status})" if exc.status else "unreachable"
        return Probe(provider.name, status, str(exc), once.http.requests_made)
    except MalformedPayload as exc:
        return Probe(provider.name, "unreadable", str(exc), once.http.requests_made)
    except SourceError as exc:
        return Probe(provider.name, "key missing" if "key" in str(exc).lower() else "unavailable", str(exc),
                     once.http.requests_made)
    newest = f", newest {frame['date'].max().date()}" if len(frame) else f" in the last {PROBE_DAYS[series.frequency]} days"
    return Probe(provider.name, REACHABLE, f"{series.id}: {len(frame)} rows{newest}", once.http.requests_made)


def delivered_by(series: Series, probes: dict[str, Probe], folder: CsvFolderSource | None) -> str:
    """Who a live run will get the series from: its provider, the catalog fallback, the CSV folder, or ''."""
    if probes[series.provider].ok:
        return series.provider
    if series.fallback and probes.get(series.fallback[0], Probe("", "", "")).ok:
        return ":".join(series.fallback) + " (fallback)"
    if folder is not None and folder.has(series):
        return "csv (MAC_CSV_DIR)"
    return ""


def coverage(delivered: dict[str, str]) -> tuple[int, int, int, int]:
    """Headline (stress) indicators whose every input is delivered and their total; pillars the headline
    reads that keep at least one of them, and the pillars it reads."""
    stress = [i for i in MAC2_INDICATORS if i.reading == "stress"]
    served = [i for i in stress if all(delivered[s.id] for s in metric_input_series(i.metric))]
    return len(served), len(stress), len({i.pillar for i in served}), len({i.pillar for i in stress})


def report(environ: dict[str, str] | None = None, today: date | None = None) -> tuple[list[str], int]:
    """The doctor's lines and exit status."""
    env = os.environ if environ is None else environ
    settings = load_settings(env)
    today = today or datetime.now(UTC).date()
    keys = {p.name: env.get(p.key_variable, "") for p in PROVIDERS.values() if p.key_variable}
    live = SourceResource(kind="live", csv_dir=settings.csv_dir, base_urls=settings.base_urls,
                          **{f"{name}_api_key": key for name, key in keys.items()}).built_source
    folder = CsvFolderSource(directory=settings.csv_dir) if settings.csv_dir else None
    deadline = Deadline(settings.fetch_budget_s, FETCH_BUDGET_VARIABLE)
    with ThreadPoolExecutor(max_workers=len(PROVIDERS), thread_name_prefix="doctor") as pool:
        asked = {name: pool.submit(probe, p, live.clients.get(name), keys.get(name, ""), today, deadline)
                 for name, p in PROVIDERS.items()}
    probes = {name: answer.result() for name, answer in asked.items()}

    lines = [f"mac doctor: the live source from here, one request per provider ({today})"]
    if settings.source != "live":
        lines.append(f"(MAC_SOURCE={settings.source}: checking the live source anyway)")
    lines += ["", f"{'provider':<10} {'status':<22} detail"]
    lines += [f"{p.provider:<10} {p.status:<22} {p.detail}" for p in probes.values()]
    delivered = {s.id: delivered_by(s, probes, folder) for s in SERIES}
    lines += ["", f"{'series':<34} {'provider':<10} delivered by"]
    lines += [f"{s.id:<34} {s.provider:<10} {delivered[s.id] or 'nobody: unavailable'}" for s in SERIES]
    served, total, pillars, read = coverage(delivered)
    lines += ["", f"coverage: {sum(1 for v in delivered.values() if v)}/{len(SERIES)} series; headline indicators "
                  f"with every input {served}/{total} ({served / total:.0%}); headline pillars with data {pillars}/{read}",
              f"requests made: {sum(p.requests for p in probes.values())}"]
    down = [f"{p.provider} {p.status}" for p in probes.values() if not p.ok and p.status != "no public API"]
    lines.append(f"mac doctor: not every provider answered: {', '.join(down)}" if down
                 else "mac doctor: every provider answered")
    if down:
        lines.append("the way out: put the series as <SERIES>.csv files in a folder and set MAC_CSV_DIR (with "
                     "MAC_SOURCE=live they stand in for a provider that refuses; MAC_SOURCE=csv reads only the folder; "
                     "README, Rebuilding the validation yourself)")
    return lines, 1 if down else 0


def main() -> int:
    try:
        lines, status = report()
    except ValueError as exc:  # a bad MAC_* setting
        print(f"mac doctor: {exc}", file=sys.stderr)
        return 2
    print("\n".join(lines))
    return status


if __name__ == "__main__":
    sys.exit(main())

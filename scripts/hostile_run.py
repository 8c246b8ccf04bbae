"""Measure a live run against hostile providers: wall time, exit status, peak RSS, and any trace of the keys.

`python -m scripts.hostile_run [scenario …]` runs `python -m mac_assets.run --from <this year>` in a child
process, as `make run` would, with every provider's base URL on a local hostile server
(tests/hostile_server.py) and sentinel API keys, its own Dagster instance and files, and the default fetch
budget (unless MAC_FETCH_BUDGET_S is set here). It prints one line per scenario. Measurements, not a test:
nothing here passes or fails.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from mac_assets.sources.providers import LIVE_PROVIDERS
from tests.hostile_server import HostileServer  # the hostile server the tests use

ROOT = Path(__file__).resolve().parent.parent

FRED_KEY, GLASSNODE_KEY = "fred-sentinel-5b1e9c07d2a8f4163e0b7d95ac", "gn-sentinel-8e2f61b04c9d37a5"
SCENARIOS = {
    "trickle 1 B/s": "/trickle/1",
    "trickle 2 B/s": "/trickle/2",
    "a byte every 5 s": "/trickle/0.2",
    "hung": "/hang",
    "429 + Retry-After 86400": "/throttled",
    "endless pages": "/pages",
}


class Stamped(list):
    """The server's list of requests, with the moment each arrived."""

    def __init__(self):
        super().__init__()
        self.times: list[float] = []

    def append(self, item) -> None:
        self.times.append(time.monotonic())
        super().append(item)


def measure(server: HostileServer, name: str, path: str) -> str:
    with tempfile.TemporaryDirectory(prefix="mac-hostile-") as tmp:
        root = Path(tmp)
        home = root / "dagster_home"
        home.mkdir()
        (home / "dagster.yaml").write_text((ROOT / "dagster.yaml").read_text())
        env = {k: v for k, v in os.environ.items() if not k.startswith("MAC_") or k == "MAC_FETCH_BUDGET_S"}
        env |= {"MAC_SOURCE": "live", "FRED_API_KEY": FRED_KEY, "GLASSNODE_API_KEY": GLASSNODE_KEY,
                "DAGSTER_HOME": str(home), "MAC_DUCKDB_PATH": str(root / "mac.duckdb"),
                "MAC_BI_PATH": str(root / "mac_bi.duckdb"), "MAC_REPORTS_DIR": str(root / "reports"),
                **{p.base_url_variable: server.url(path) for p in LIVE_PROVIDERS}}
        year = str(datetime.now(UTC).year)
        output = root / "output.txt"
        server.seen = Stamped()
        started = time.monotonic()
        with output.open("wb") as sink:
            child = subprocess.Popen([sys.executable, "-m", "mac_assets.run", "--from", year, "--to", year], cwd=ROOT,
                                     env=env, stdout=sink, stderr=subprocess.STDOUT)
            _, status, usage = os.wait4(child.pid, 0)  # this child's own peak RSS, not the largest child's so far
        wall = time.monotonic() - started
        last_request = max(server.seen.times, default=started) - started
        leaks = sum(p.read_bytes().count(key.encode()) for p in root.rglob("*") if p.is_file()
                    for key in (FRED_KEY, GLASSNODE_KEY))
        last = (output.read_text(errors="replace").strip().splitlines() or [""])[-1]
        return (f"{name:<24} {wall:6.1f} s  exit {os.waitstatus_to_exitcode(status)}  peak RSS {usage.ru_maxrss / 1024:5.0f} MB"
                f"  key seen {leaks}x  requests {len(server.seen):4d}, the last at {last_request:5.1f} s  | {last[:100]}")


def main(names: list[str]) -> None:
    for name in names or list(SCENARIOS):
        server = HostileServer()
        try:
            print(measure(server, name, SCENARIOS[name]), flush=True)
        finally:
            server.close()


if __name__ == "__main__":
    main(sys.argv[1:])

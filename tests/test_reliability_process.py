"""Reliability across processes: a SIGKILL in the middle of a write, and a secrets sweep of everything a run leaves.

Both run `python -m mac_assets.run` as a user would, in a child process with its own files.
"""

from __future__ import annotations

import re
import signal

import pandas as pd
import pytest
from fake_providers import FakeProviders
from graph_helpers import digest, tables
from process_helpers import KILLER, child_beside, child_env, dagster_home, finish_child, run_child
from werkzeug import Response

pytestmark = pytest.mark.process


def test_a_materialization_killed_mid_write_leaves_the_previous_state_and_the_rerun_completes(tmp_path):
    clean_dir = tmp_path / "clean"
    clean_dir.mkdir()
    # The run the crash is compared with is independent of the others: it goes on beside them.
    with child_beside(["-m", "mac_assets.run"], child_env(clean_dir, MAC_DEMO_SEED="2")) as clean:
        first = run_child(["-m", "mac_assets.run"], child_env(tmp_path, MAC_DEMO_SEED="1"))
        assert first.returncode == 0, first.stderr[-2000:]
        before = tables(tmp_path / "mac.duckdb")

        killed = run_child(["-c", KILLER], child_env(tmp_path, MAC_DEMO_SEED="2"))
        assert killed.returncode == -signal.SIGKILL

        after_kill = tables(tmp_path / "mac.duckdb")  # the file opens
        assert digest({"c": after_kill["scores.mac_composite"]}) == digest({"c": before["scores.mac_composite"]})
        # Raw tables were committed before the kill: each holds exactly the new seed's rows, never a mixture.
        assert not after_kill["raw.vix"].equals(before["raw.vix"])
        assert len(after_kill["raw.vix"]) == len(before["raw.vix"])

        rerun = run_child(["-m", "mac_assets.run"], child_env(tmp_path, MAC_DEMO_SEED="2"))
        assert rerun.returncode == 0, rerun.stderr[-2000:]
        final = tables(tmp_path / "mac.duckdb")
        assert not final["scores.mac_composite"].equals(before["scores.mac_composite"])

        assert finish_child(clean).returncode == 0
        # As if the crash never happened; the new seed's rewrite of history is kept apart, as every revision is.
        assert len(final["revisions.vix"]) == len(before["raw.vix"])
        rewritten = {t: f for t, f in final.items() if not t.startswith("revisions.")}
        assert digest(rewritten) == digest(tables(clean_dir / "mac.duckdb"))


SENTINEL = "SENTINEL-fred-key-7f3a9c"
GLASSNODE_SENTINEL = "SENTINEL-glassnode-key-2d81e4"


def _echo_page(status: int):
    """A proxy's or captive portal's page quoting the request: its URL with the query, and its headers."""
    def answer(request):
        headers = "".join(f"<li>{k}: {v}</li>" for k, v in request.headers.items())
        return Response(f"<html><body>blocked: {request.full_path}<ul>{headers}</ul></body></html>", status=status,
                        content_type="text/html")
    return answer


def test_a_live_run_leaves_no_trace_of_any_key_anywhere(httpserver, tmp_path):
    fake = FakeProviders(httpserver, seed=5, as_of=str(pd.Timestamp.now(tz="UTC").date()), fred_key=SENTINEL)
    # Faults that carry the keys back: error pages and 200 pages that echo the URL (FRED's key) and the
    # headers (Glassnode's), one after another, then the provider answers normally.
    for status in (400, 200, 503):
        httpserver.expect_oneshot_request("/fred/series/observations").respond_with_handler(_echo_page(status))
    httpserver.expect_oneshot_request(re.compile("^/glassnode/")).respond_with_handler(_echo_page(200))
    home = dagster_home(tmp_path)
    urls = {f"MAC_{p.upper()}_BASE_URL": url for p, url in fake.base_urls().items()}
    env = child_env(tmp_path, MAC_SOURCE="live", FRED_API_KEY=SENTINEL, GLASSNODE_API_KEY=GLASSNODE_SENTINEL,
                    DAGSTER_HOME=str(home), **urls)
    done = run_child(["-m", "mac_assets.run"], env)
    assert done.returncode == 0, done.stderr[-3000:]
    output = done.stdout + done.stderr
    # Each page was seen and quoted, redacted.
    assert "answered HTTP 400: <html><body>blocked: /fred/series/observations?" in output
    assert "response is not JSON: <html><body>blocked: /fred/series/observations?" in output
    assert "glassnode/BTC_EXCHANGE_RESERVE: response is not JSON: <html>" in output

    for key in (SENTINEL, GLASSNODE_SENTINEL):
        assert key not in output
        # The event log (DAGSTER_HOME), the working file, the snapshot, reports and backups.
        leaks = [str(p) for p in tmp_path.rglob("*") if p.is_file() and key.encode() in p.read_bytes()]
        assert leaks == []
    swept = {p.relative_to(tmp_path).parts[0] for p in tmp_path.rglob("*") if p.is_file()}
    assert {"dagster_home", "mac.duckdb", "mac_bi.duckdb", "reports", "backups"} <= swept, swept

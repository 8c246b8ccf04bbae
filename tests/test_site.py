"""The analysts' page: self-contained (no network), every link resolves, a demo banner on demo data only, and in
headless Chromium it loads without a console error and draws the history's points."""

import re
import shutil
import subprocess
from pathlib import Path

import pandas as pd
import pytest
from graph_helpers import settings_for

from mac_assets.publish import reports, site
from mac_assets.scores.headline import headline_indicators, headline_pillars

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
         "--disable-sync", "--no-first-run", "--allow-file-access-from-files"]


def small_inputs(source: str) -> site.SiteInputs:
    days = pd.bdate_range("2020-02-03", periods=40)
    rows = []
    for d, day in enumerate(days):
        for p, stress in (("volatility", 0.2 + d / 60), ("valuation", 0.3)):
            rows.append({"date": day, "reading": "stress", "indicator": f"s_{p}", "pillar": p, "metric": "VIX",
                         "value": 20.0 + d, "percentile": stress, "stress": stress, "score": 1 - stress,
                         "obs_date": day, "available_date": day, "methodology_version": "mac-2.1"})
    from mac_assets.scores.headline import headline_composite
    from mac_assets.scores.mac2 import score_mac2_pillars, score_mac2_readings
    from mac_assets.scores.mac3 import compute_mac3

    indicators = pd.DataFrame(rows)
    pillars = score_mac2_pillars(indicators)
    readings = score_mac2_readings(pillars)
    history = headline_composite(pd.DataFrame({"date": days, "mac": 0.8}), readings, pillars,
                                 compute_mac3(pillars, readings)[1])
    freshness = pd.DataFrame({"series_id": ["VIX"], "title": ["VIX"], "newest_observation": [days[-1]],
                              "freshness": ["fresh"], "loaded_from": [source]})
    return site.SiteInputs(history, headline_pillars(pillars), headline_indicators(indicators, pillars), freshness,
                           source, "<p>validated</p>", "<p>rules</p>", "2020-03-31 12:00 UTC")


def written(tmp_path: Path, source: str) -> Path:
    folder = tmp_path / source
    for name, content in {**site.render(small_inputs(source)), site.PLOTLY_JS: site.plotly_js()}.items():
        reports.write(folder / name, content)
    return folder


@pytest.mark.parametrize("source", ["demo", "csv"])
def test_every_page_links_only_to_files_of_the_site_and_says_demo_only_on_demo(tmp_path, source):
    folder = written(tmp_path, source)
    for page in ("index.html", "methodology.html", "validation.html"):
        text = (folder / page).read_text()
        for target in re.findall(r'(?:href|src)="([^"#]+)"', text):
            assert not target.startswith(("http:", "https:", "//")), f"{page} reaches the network: {target}"
            assert (folder / target).is_file(), f"{page} links to {target}, which was not written"
        assert ('id="demo-banner"' in text) == (source == "demo")
    assert (folder / site.PLOTLY_JS).stat().st_size > 1_000_000  # the library itself, not a CDN link
    history = pd.read_csv(folder / "history.csv")
    latest = pd.read_csv(folder / "latest_decomposition.csv")
    assert len(history) == 40 and {"mac", "status", "risk_12m"} <= set(history.columns)
    pillars = latest[latest["level"] == "pillar"]
    assert pillars["contribution"].sum() == pytest.approx(history["mac"].iloc[-1])


@pytest.mark.ui
@pytest.mark.skipif(CHROMIUM is None, reason="headless Chromium not installed: run `make test` as root (it installs "
                                             "Debian's chromium) or install it yourself")
def test_the_demo_graphs_page_loads_in_a_browser_without_errors_and_draws_its_history(demo_graph, tmp_path):
    folder = Path(settings_for(demo_graph.path).reports_dir) / reports.SITE
    url = (folder / "index.html").as_uri()
    done = subprocess.run([CHROMIUM, *FLAGS, f"--user-data-dir={tmp_path / 'profile'}", "--virtual-time-budget=20000",
                           "--enable-logging=stderr", "--v=0", "--dump-dom", url],
                          capture_output=True, text=True, timeout=120, check=True)
    console = [line for line in done.stderr.splitlines() if "CONSOLE" in line]
    assert not [line for line in console if re.search(r"error|uncaught", line, re.I)], console
    points = re.search(r'id="history"[^>]*data-points="(\d+)"', done.stdout)
    assert points and int(points.group(1)) > 400, "the history chart drew no points"
    assert 'id="demo-banner"' in done.stdout and "Market Absorption Capacity" in done.stdout
    assert "<table" in done.stdout.split('id="decomposition"')[1]  # the chosen day's decomposition was built

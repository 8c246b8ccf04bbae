"""A new series is two rows: a catalog row and its threshold rows, and nothing else, runs through the demo graph.

The rows are added to a copy of the package (as a developer would add them), and the copy runs the demo graph
in a child process; no hand-written demo model, test or other file is touched. Every catalog series must reach
a methodology unless it is a benchmark, which is how a series is declared unscored.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from mac_assets.catalog import BENCHMARKS, SERIES
from mac_assets.derived.registry import metric_input_series
from mac_assets.thresholds import MAC2_INDICATORS, THRESHOLDS

REPO = Path(__file__).resolve().parent.parent
TESTS = Path(__file__).resolve().parent

# Each table of methodology rows, by the methodology it belongs to: a series reaches a methodology when one of
# its rows scores the series or a derived metric computed from it.
METHODOLOGY_ROWS = {"mac-1.x and extension": THRESHOLDS, "mac-2.x and mac-3.0": MAC2_INDICATORS}

# OVXCLS, the example: Cboe's crude-oil volatility index on FRED, as a volatility indicator.
ROWS = {
    "catalog.py": ("SERIES: tuple[Series, ...] = (\n", """\
    Series(id="OVXCLS", title="Cboe crude oil ETF volatility index", provider="fred", tier=1, pillars=("volatility",),
           frequency="business", units="index points", lag_days=1, first_date=_d("2007-05-10"),
           reference=FRED + "OVXCLS", valid=(5, 400)),
"""),
    "thresholds.py": ("THRESHOLDS: tuple[Threshold, ...] = (\n", """\
    Threshold(indicator="ovx", pillar="volatility", metric="OVXCLS", units="index points", shape="anchors",
              direction="lower_is_better", reference="Oil volatility: judgment anchors for this test.",
              anchors=(30, 45, 70), how_set="a priori"),
"""),
    "thresholds.py ": ("MAC2_INDICATORS: tuple[Mac2Indicator, ...] = (\n", """\
    Mac2Indicator(indicator="s_ovx", reading="stress", pillar="volatility", metric="OVXCLS", stress_when="high",
                  reason="Implied oil volatility."),
"""),
}

RUN = """
import json, sys
import mac_assets
from graph_helpers import run, settings_for, tables
path = sys.argv[1]
result = run(path, "2019", "2020", settings=settings_for(path, extension=False))
t = tables(path)
ind, mac2 = t["scores.indicator_scores"], t["scores.mac2_indicator_scores"]
print(json.dumps({"package": mac_assets.__file__, "success": result.success, "raw_rows": len(t["raw.ovxcls"]),
                  "scored": int(ind.loc[ind["indicator"] == "ovx", "score"].notna().sum()),
                  "mac2_scored": int(mac2.loc[mac2["indicator"] == "s_ovx", "stress"].notna().sum())}))
"""


def test_every_series_reaches_a_methodology_or_is_a_benchmark():
    reached = {s.id for rows in METHODOLOGY_ROWS.values() for row in rows for s in metric_input_series(row.metric)}
    unscored = [s.id for s in SERIES if s.id not in reached and s not in BENCHMARKS]
    assert unscored == [], "catalog series no methodology scores: give them threshold rows, or make them benchmarks"


@pytest.mark.graph
@pytest.mark.process
def test_a_series_added_as_two_rows_runs_through_the_demo_graph(tmp_path):
    copy = tmp_path / "mac_assets"
    shutil.copytree(REPO / "mac_assets", copy, ignore=shutil.ignore_patterns("__pycache__"))
    for name, (anchor, row) in ROWS.items():
        module = copy / name.strip()
        text = module.read_text()
        assert text.count(anchor) == 1, f"{name.strip()}: where the rows go has changed"
        module.write_text(text.replace(anchor, anchor + row))
    # Run from the copy's folder: `python -c` puts the working directory first on the path.
    done = subprocess.run([sys.executable, "-c", RUN, str(tmp_path / "mac.duckdb")], cwd=tmp_path, timeout=600,
                          capture_output=True, text=True,
                          env=os.environ | {"PYTHONPATH": f"{tmp_path}{os.pathsep}{TESTS}"})
    assert done.returncode == 0, done.stderr[-3000:]
    out = json.loads(done.stdout.strip().splitlines()[-1])
    assert out["package"].startswith(str(copy)) and out["success"]
    assert out["raw_rows"] > 400  # two years of business days
    assert out["scored"] > 400 and out["mac2_scored"] > 100  # mac-2.0 scores once it has a year of history

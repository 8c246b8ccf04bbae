"""A new series is two rows: a catalog row and its threshold rows, and nothing else, runs through the graph.

The rows are added to a copy of the package (as a developer would add them), and the copy runs the demo graph
in a child process, then the graph on a CSV folder that holds the series as a file; no hand-written demo
model, test or other file is touched. Every catalog series must reach
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
from pathlib import Path
import mac_assets
from graph_helpers import AS_OF, run, settings_for, tables
from mac_assets.sources.csv_folder import CsvFolderSource
from mac_assets.sources.demo import generate

def counts(path):
    t = tables(path)
    ind, mac2 = t["scores.indicator_scores"], t["scores.mac2_indicator_scores"]
    return {"raw_rows": len(t["raw.ovxcls"]), "sources": sorted(set(t["raw.ovxcls"]["source"])),
            "scored": int(ind.loc[ind["indicator"] == "ovx", "score"].notna().sum()),
            "mac2_scored": int(mac2.loc[mac2["indicator"] == "s_ovx", "stress"].notna().sum())}

folder = Path(sys.argv[1])
(folder / "demo").mkdir()
demo = folder / "demo" / "mac.duckdb"
result = run(demo, "2019", "2020", settings=settings_for(demo, extension=False))
out = {"package": mac_assets.__file__, "demo": counts(demo) | {"success": result.success}}
# The same series dropped as a file in the CSV folder's format, beside every other series.
drop = folder / "drop"
drop.mkdir()
for sid, frame in generate(7).items():
    frame = frame[frame["date"] <= AS_OF].rename(columns={"contract_code": "cftc_contract_code"})
    frame.assign(date=frame["date"].dt.strftime("%Y-%m-%d")).to_csv(drop / f"{sid}.csv", index=False)
(folder / "csv").mkdir()  # its own BI snapshot: a snapshot is never another source's
csv = folder / "csv" / "mac.duckdb"
result = run(csv, "2019", "2020", source=CsvFolderSource(directory=str(drop)),
             settings=settings_for(csv, source="csv", csv_dir=str(drop), extension=False))
out["csv"] = counts(csv) | {"success": result.success}
print(json.dumps(out))
"""


def test_every_series_reaches_a_methodology_or_is_a_benchmark():
    reached = {s.id for rows in METHODOLOGY_ROWS.values() for row in rows for s in metric_input_series(row.metric)}
    unscored = [s.id for s in SERIES if s.id not in reached and s not in BENCHMARKS]
    assert unscored == [], "catalog series no methodology scores: give them threshold rows, or make them benchmarks"


@pytest.mark.graph
@pytest.mark.process
def test_a_series_added_as_two_rows_runs_through_the_demo_and_csv_graphs(tmp_path):
    copy = tmp_path / "mac_assets"
    shutil.copytree(REPO / "mac_assets", copy, ignore=shutil.ignore_patterns("__pycache__"))
    for name, (anchor, row) in ROWS.items():
        module = copy / name.strip()
        text = module.read_text()
        assert text.count(anchor) == 1, f"{name.strip()}: where the rows go has changed"
        module.write_text(text.replace(anchor, anchor + row))
    # Run from the copy's folder: `python -c` puts the working directory first on the path.
    done = subprocess.run([sys.executable, "-c", RUN, str(tmp_path)], cwd=tmp_path, timeout=600,
                          capture_output=True, text=True,
                          env=os.environ | {"PYTHONPATH": f"{tmp_path}{os.pathsep}{TESTS}"})
    assert done.returncode == 0, done.stderr[-3000:]
    out = json.loads(done.stdout.strip().splitlines()[-1])
    assert out["package"].startswith(str(copy))
    for source in ("demo", "csv"):
        got = out[source]
        assert got["success"] and got["sources"] == [source], source
        assert got["raw_rows"] > 400, source  # two years of business days
        assert got["scored"] > 400 and got["mac2_scored"] > 100, source  # mac-2.x scores after a year of history

"""Fit mac-2.0's one tuned choice, the stress-weight exponent, on training years (2007-2014) only.

`python -m scripts.fit_mac2 [CSV folder]` (default ../shared/validation/raw) scores every exponent of
`thresholds.MAC2_EXPONENT_GRID` on the real history and prints the *training* rows of the validation
table for each, then the exponent the pre-registered rule picks (`validation.select_exponent`: most
training episodes detected, then the most negative weekly-change correlation with STLFSI4). It never
computes a test-period number: `metrics(..., periods=("train",))`. The chosen value is written into
`thresholds.MAC2_STRESS_WEIGHT_EXPONENT` by hand, with the date of the fit.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pandas as pd

from mac_assets.infra.settings import DEFAULT_HISTORY_START
from mac_assets.pipeline import compute_all, fetch_all
from mac_assets.publish.validation import Inputs, metrics, select_exponent
from mac_assets.sources.csv_folder import CsvFolderSource
from mac_assets.thresholds import MAC2_EXPONENT_GRID

READING = "mac-2.0 stress"
COLUMNS = ["series", "period", "weeks", "level_corr_stlfsi4", "change_corr_stlfsi4", "episodes_detected",
           "episodes", "false_alarm_clusters", "lift", "drawdown_corr", "missed"]


def main(folder: str) -> None:
    source = CsvFolderSource(directory=folder)
    start = pd.Timestamp(DEFAULT_HISTORY_START)
    end = pd.Timestamp.now().normalize()
    raw = fetch_all(source, start.date(), (end + pd.Timedelta(days=1)).date())
    tables = {}
    for q in MAC2_EXPONENT_GRID:
        computed = compute_all(raw, start, end, mac2_exponent=q, extension=False)
        stress = computed.mac2_readings[["date", "stress_mac"]].rename(columns={"stress_mac": "value"})
        inputs = Inputs({READING: stress}, computed.raw["STLFSI4"], computed.raw["NFCI"], computed.raw["SPY"])
        tables[q] = metrics(inputs, periods=("train",))
        row = tables[q].query("series == @READING")[COLUMNS]
        print(f"exponent {q:g}:\n{row.to_string(index=False)}\n", flush=True)
    print(f"chosen exponent (training years only): {select_exponent(tables, READING):g}")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else str(Path(__file__).resolve().parents[2] / "shared" / "validation" / "raw"))

"""Protocol v2's tables on a source's whole history: every reading and baseline, train and test, the headline
rule's verdicts, the 12-month risk's scores and the headline's noise (docs/preregistration-v2.md).

`python -m scripts.validate_v2 [CSV folder | demo]` prints what the `validation_report` asset writes to
validation.md, from the in-memory pipeline instead of a run (the run's report reads the warehouse).
"""

from __future__ import annotations

import sys
from pathlib import Path

import pandas as pd

from mac_assets.catalog import REFERENCE_START
from mac_assets.pipeline import compute_all, fetch_all
from mac_assets.publish import validation as v
from mac_assets.sources.csv_folder import CsvFolderSource
from mac_assets.sources.demo import DemoSource

HISTORY_START = pd.Timestamp("1997-01-01")


def main(where: str) -> None:
    source = DemoSource() if where == "demo" else CsvFolderSource(directory=where)
    end = pd.Timestamp.now().normalize()
    raw = fetch_all(source, REFERENCE_START, (end + pd.Timedelta(days=1)).date())
    c = compute_all(raw, HISTORY_START, end)
    tables = v.tables(c.mac1_composite, c.mac2_readings, c.mac2_indicator_scores, c.mac3_readings, c.mac_extended,
                      c.raw["STLFSI4"], c.raw["NFCI"], c.raw["SPY"])
    with pd.option_context("display.width", 250, "display.max_columns", 40, "display.max_colwidth", 60):
        for name, table in tables.items():
            print(f"== {name}\n{table if isinstance(table, str) else table.to_string(index=False)}\n")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else str(Path(__file__).resolve().parents[2] / "shared" / "validation" / "raw"))

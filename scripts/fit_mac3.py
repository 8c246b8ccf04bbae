"""Fit mac-3.0's choices on training years (1997-2014) only, by the rules of docs/preregistration-v2.md.

`python -m scripts.fit_mac3 [CSV folder]` (default ../shared/validation/raw) computes the real history from
the reference start, then, using training weeks and days only:

1. the stress reading's aggregation: each candidate of `thresholds.STRESS_AGGREGATIONS` against each other on
   the five headline metrics of the training weeks (`validation.select_candidate`);
2. each reading's status bands (`thresholds.READING_BANDS`): cut points at quantiles of its stress over training
   days from 1998 (`validation.band_cuts`) and its quiet days (`validation.select_quiet_days`). mac-2.1's stress
   reading was added to this step after the v2 test table, when it stayed the headline by the pre-registered
   rule: the same rule applied to it, on training days only;
4. the 12-month risk curve: build-up alone or build-up and stress, by leave-one-block-out log loss, refitted
   on every training week whose window ends before 2015 (`validation.fit_risk`).

It never computes a test-period number (`metrics(..., periods=("train",))`, and every selection filters
training weeks). It prints the training tables and the lines to paste into thresholds.py.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pandas as pd

from mac_assets.catalog import REFERENCE_START
from mac_assets.pipeline import compute_all, fetch_all
from mac_assets.publish import validation as v
from mac_assets.scores.mac3 import reading_table
from mac_assets.scores.scoring import banded
from mac_assets.sources.csv_folder import CsvFolderSource
from mac_assets.thresholds import MAC2_VERSION, MAC3_VERSION, MISSING_STATUS, STRESS_AGGREGATIONS, RarityBands

HISTORY_START = pd.Timestamp("1997-01-01")
BAND_DAYS_FROM = pd.Timestamp("1998-01-01")
TIE_BREAK = "ciss_paper"
COLUMNS = ["series", "weeks", "level_corr_stlfsi4", "change_corr_stlfsi4", "episodes_detected", "episodes",
           "false_alarm_clusters", "lift", "detected_by_kind"]


def main(folder: str) -> None:
    source = CsvFolderSource(directory=folder)
    end = pd.Timestamp.now().normalize()
    raw = fetch_all(source, REFERENCE_START, (end + pd.Timedelta(days=1)).date())
    computed = compute_all(raw, HISTORY_START, end, extension=False)
    benchmarks = (computed.raw["STLFSI4"], computed.raw["NFCI"], computed.raw["SPY"])

    daily = {name: reading_table(computed.mac2_pillar_scores, "stress", name)[0]["mac"] for name in STRESS_AGGREGATIONS}
    candidates = {name: mac.rename("value").rename_axis("date").reset_index() for name, mac in daily.items()}
    train = v.metrics(v.Inputs(candidates, *benchmarks), periods=("train",))
    print("Training weeks, each candidate aggregation of the stress reading:")
    print(train[COLUMNS].to_string(index=False), "\n")
    chosen, pairs = v.select_candidate(train, list(STRESS_AGGREGATIONS), TIE_BREAK)
    print(pairs.to_string(index=False), f"\nchosen aggregation: {chosen}\n")

    stress = daily[chosen]
    buildup = computed.mac2_readings.set_index("date")["buildup_mac"]
    readings = {f"{MAC3_VERSION} stress": stress, "buildup": buildup,
                f"{MAC2_VERSION} stress": computed.mac2_readings.set_index("date")["stress_mac"]}
    fitted = {}
    for name, mac in readings.items():
        mac = mac[mac.index >= BAND_DAYS_FROM]
        cuts = v.band_cuts(1 - mac)
        daily_bands, _ = banded(mac, RarityBands(cuts, 1), MISSING_STATUS)
        quiet, quiet_table = v.select_quiet_days(pd.Series(daily_bands, index=mac.index))
        fitted[name] = RarityBands(cuts, quiet)
        print(f"{name}: band cut points (stress quantiles of training days from {BAND_DAYS_FROM.date()}) {cuts}")
        print(quiet_table.to_string(index=False), f"\nquiet days: {quiet}\n")

    features = pd.DataFrame({"buildup_mac": buildup, "stress_mac": stress})
    frame = v.risk_frame(features, computed.raw["SPY"], v.Inputs({}, *benchmarks).grid())
    name, coefficients, base_rate, cv = v.fit_risk(frame, {"F1 build-up": ["buildup_mac"],
                                                           "F2 build-up and stress": ["buildup_mac", "stress_mac"]})
    print(cv.to_string(index=False), f"\nchosen risk curve: {name}, training base rate {base_rate:.4f}\n")

    print("# --- paste into thresholds.py ---")
    print(f'MAC3_STRESS_AGGREGATION = "{chosen}"')
    for name, bands in fitted.items():
        print(f'    "{name}": {bands},')
    print(f"MAC3_RISK_COEFFICIENTS: tuple[float, float, float] = {tuple(round(c, 4) for c in coefficients)}")
    print(f"MAC3_RISK_BASE_RATE = {base_rate:.4f}")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else str(Path(__file__).resolve().parents[2] / "shared" / "validation" / "raw"))

"""Score sanity: the composite table must be internally consistent before anyone reads it.

Blocking at ERROR severity: a composite that is out of range or whose contributions do not add up
is a bug, and nothing downstream should consume it.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from dagster import AssetCheckResult, AssetCheckSeverity, asset_check

from mac_assets.catalog import PILLARS

CONTRIBUTION_TOLERANCE = 1e-9


@asset_check(asset=["scores", "mac_composite"], blocking=True,
             description="MAC and coverage lie in [0, 1] and pillar contributions sum to the composite.")
def mac_composite_is_consistent(mac_composite: pd.DataFrame) -> AssetCheckResult:
    return composite_consistency(mac_composite)


def composite_consistency(composite: pd.DataFrame) -> AssetCheckResult:
    scored = composite.dropna(subset=["mac"])
    contributions = scored[[f"{p}_contribution" for p in PILLARS]].sum(axis=1, min_count=1)
    gap = (contributions - scored["mac"]).abs()
    out_of_range = scored[(scored["mac"] < 0) | (scored["mac"] > 1)]
    bad_coverage = composite[(composite["coverage"] < 0) | (composite["coverage"] > 1)]
    problems = {
        "mac_out_of_range": len(out_of_range),
        "coverage_out_of_range": len(bad_coverage),
        "contribution_mismatches": int((gap > CONTRIBUTION_TOLERANCE).sum()),
    }
    return AssetCheckResult(
        passed=not any(problems.values()),
        severity=AssetCheckSeverity.ERROR,
        metadata={**problems, "rows_checked": len(composite),
                  "max_contribution_gap": float(np.nan_to_num(gap.max())) if len(gap) else 0.0},
    )

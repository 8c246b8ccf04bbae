"""The extension's scores (docs/extension.md): components, the systemic term and the extended composite.

Pure pandas, like `scores.compute`. The seven-pillar MAC is an input here and is never changed; the
extended composite is built next to it so both can be reported and compared.

- Components: yen carry, cross-asset correlation and compression are scored from the thresholds table
  like pillars (mean of their indicators' scores).
- Linear part: the seven pillars plus yen carry and cross-asset, weights renormalised over those with
  data, exactly as the core composite does with seven.
- Systemic term (after the ECB's CISS): with v_i = w_i·(1 − score_i) the weighted stress of component i
  and ρ_ij the correlation of two components' stress over the last 60 business days, the cross term
  Σ_{i≠j} v_i·v_j·ρ_ij is the stress that exists only because components are stressed *together*.
  Its share of the linear stress, A = cross / Σv, takes that share of the remaining capacity away
  (or gives it back when stresses offset). A lies in (−Σv, Σv), so the result stays within [0, 1].
- Compression haircut: compression scored 1 takes nothing; scored 0 takes COMPRESSION_MAX_HAIRCUT of
  what is left.

The extended composite is the exact sum of its contributions: nine linear ones, the correlation
contribution and the compression contribution (both ≤ 0 unless stresses offset).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from mac_assets.derived.metrics import rolling_corr
from mac_assets.scores.compute import aggregate_indicators
from mac_assets.scores.scoring import status_band
from mac_assets.thresholds import (
    COMPRESSION_MAX_HAIRCUT,
    EXTENSION_VERSION,
    INSUFFICIENT_STATUS,
    LINEAR_WEIGHTS,
    METHODOLOGY_VERSION,
    MISSING_STATUS,
    STATUS_BANDS,
    SYSTEMIC_CORRELATION_WINDOW,
)

LINEAR_COMPONENTS: tuple[str, ...] = tuple(LINEAR_WEIGHTS)
VERSION = f"{METHODOLOGY_VERSION}+{EXTENSION_VERSION}"


def component_scores(indicators: pd.DataFrame) -> pd.DataFrame:
    """One row per (day, component): mean indicator score and coverage (share of indicators with data)."""
    g = aggregate_indicators(indicators).rename(columns={"pillar": "component"})
    return g[["date", "component", "score", "coverage"]]


def _wide(pillar_scores: pd.DataFrame, components: pd.DataFrame, column: str) -> pd.DataFrame:
    """Date × (seven pillars, yen carry, cross-asset) table of one column; absent ones are NaN."""
    both = pd.concat([pillar_scores[["date", "pillar", column]].rename(columns={"pillar": "component"}),
                      components[["date", "component", column]]])
    wide = both.pivot_table(index="date", columns="component", values=column, aggfunc="first", dropna=False)
    return wide.reindex(columns=list(LINEAR_COMPONENTS)).sort_index()


def _row_sum(frame: pd.DataFrame, min_count: int = 0) -> pd.Series:
    """Sum across columns in a fixed order (numpy, contiguous): pandas' row sums can add in an order that
    depends on how the frame was built, so a one-year and a full-history run would differ in last digits."""
    values = np.ascontiguousarray(frame.to_numpy(dtype=float))
    total = np.nansum(values, axis=1)
    if min_count:
        total = np.where(np.sum(~np.isnan(values), axis=1) >= min_count, total, np.nan)
    return pd.Series(total, index=frame.index)


def _weights(scores: pd.DataFrame) -> pd.DataFrame:
    """Each component's weight per day, renormalised over the components with a score that day."""
    weights = scores.notna().mul(pd.Series(LINEAR_WEIGHTS)[scores.columns], axis=1).astype(float)
    total = _row_sum(weights)
    return weights.div(total.where(total > 0), axis=0)


def systemic_term(pillar_scores: pd.DataFrame, extension_indicators: pd.DataFrame) -> pd.DataFrame:
    """Per day: linear stress, the CISS-style quadratic form and its parts, and the correlation share."""
    scores = _wide(pillar_scores, component_scores(extension_indicators), "score")
    present = scores.notna()
    weights = _weights(scores)
    stress = 1 - scores
    v = (weights * stress).fillna(0.0).to_numpy()
    levels = stress.to_numpy()
    k = len(scores.columns)
    cross = np.zeros(len(scores))
    pair_mass = np.zeros(len(scores))
    for i in range(k):
        for j in range(i + 1, k):
            rho = np.nan_to_num(rolling_corr(levels[:, i], levels[:, j], SYSTEMIC_CORRELATION_WINDOW))
            cross += 2 * v[:, i] * v[:, j] * rho
            pair_mass += 2 * v[:, i] * v[:, j]
    linear = v.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        share = np.where(linear > 0, cross / linear, 0.0)
        avg_corr = np.where(pair_mass > 0, cross / pair_mass, np.nan)
    out = pd.DataFrame({
        "date": scores.index,
        "stress_linear": linear,
        "ciss": (v**2).sum(axis=1) + cross,
        "ciss_correlation_part": cross,
        "avg_stress_correlation": avg_corr,
        "correlation_share": share,
        "components": present.sum(axis=1).to_numpy(),
    })
    for i, c in enumerate(scores.columns):
        out[f"{c}_ciss_part"] = v[:, i] ** 2
    no_data = out["components"] == 0
    out.loc[no_data, ["stress_linear", "ciss", "ciss_correlation_part", "correlation_share"]] = np.nan
    out["methodology_version"] = VERSION
    return out.reset_index(drop=True)


def extended_composite(composite: pd.DataFrame, pillar_scores: pd.DataFrame,
                       extension_indicators: pd.DataFrame, systemic: pd.DataFrame) -> pd.DataFrame:
    """Per day: the core MAC and the extended MAC side by side, with every contribution."""
    components = component_scores(extension_indicators)
    scores = _wide(pillar_scores, components, "score")
    coverage = _wide(pillar_scores, components, "coverage")
    base = pd.Series(LINEAR_WEIGHTS)[scores.columns]
    contributions = _weights(scores) * scores
    compression = (components[components["component"] == "compression"]
                   .set_index("date")["score"].reindex(scores.index))
    term = systemic.set_index("date").reindex(scores.index)
    core = composite.set_index("date").reindex(scores.index)

    linear = _row_sum(contributions, min_count=1)
    share = term["correlation_share"].fillna(0.0)
    correlation_points = linear * share
    after_correlation = linear - correlation_points
    haircut = (COMPRESSION_MAX_HAIRCUT * (1 - compression)).fillna(0.0)
    compression_points = after_correlation * haircut
    extended = after_correlation - compression_points
    withheld = core["mac"].isna()
    extended = extended.mask(withheld)

    out = pd.DataFrame({
        "mac": core["mac"],
        "mac_extended": extended,
        "status": np.where(core["status"].eq(INSUFFICIENT_STATUS), INSUFFICIENT_STATUS,
                           status_band(extended, STATUS_BANDS, MISSING_STATUS)),
        "mac_linear": linear.mask(withheld),
        "coverage": _row_sum(coverage.fillna(0.0) * base) / base.sum(),
        "correlation_share": term["correlation_share"],
        "compression_score": compression,
        "compression_haircut": haircut.where(compression.notna()),
    }, index=scores.index)
    for c in LINEAR_COMPONENTS:
        out[f"{c}_contribution"] = contributions[c].mask(withheld)
    out["correlation_contribution"] = (-correlation_points).mask(withheld)
    out["compression_contribution"] = (-compression_points).mask(withheld)
    for c in ("yen_carry", "cross_asset"):
        out[f"{c}_score"] = scores[c]
    out["methodology_version"] = VERSION
    return out.rename_axis("date").reset_index()


EXTENDED_CONTRIBUTIONS: tuple[str, ...] = (
    *(f"{c}_contribution" for c in LINEAR_COMPONENTS), "correlation_contribution", "compression_contribution")

"""Data quality of raw rows, without Dagster: what would corrupt scores, revisions, and the longest gap.

One judgement of a row serves three purposes (`raw/assets.py`): a provider's answer with a row that
fails it is refused before anything is written, so stored rows stay as they were; rows stored earlier
that fail it (by an older release, or a rule made stricter) are moved to quarantine by the next run
instead of failing every run's blocking `is_valid` check until someone deletes them by hand; and
`is_valid` counts what is left.

Revisions: a provider may restate its history. Recent values are finalised all the time, so stored
observations within `REVISION_FREE_DAYS` of the newest one may change freely; older ones are settled
history, and a fetch that changes more than `REVISION_MAX_SHARE` of the settled observations it covers
(or `REVISION_MAX_ROWS`, whichever is more) is a rewrite of history (a rebased index, a broken mirror,
prices re-adjusted after the fact) and is refused with the series and dates named. Every change that
is written, within the bound or accepted beyond it, keeps the replaced values in `revisions.<table>`.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from mac_assets.catalog import VINTAGE_KEY, Series

# A row's problems, in the order they are reported; each would corrupt the scores that read the row.
PROBLEMS = {
    "duplicate_rows": "the same observation twice",
    "future_dates": "dated after today",
    "out_of_range_rows": "a value outside the series' plausible range",
    "versions_ending_before_start": "a version whose real-time period ends before it starts",
    "versions_public_before_observed": "a version public before the day it observes (look-ahead)",
    "overlapping_versions": "a version that starts before the previous version of the observation ended",
}


def _version_masks(frame: pd.DataFrame, keys: list[str]) -> dict[str, np.ndarray]:
    """Problems of a versioned series' real-time periods (`realtime_end` missing: still current)."""
    start = pd.to_datetime(frame["realtime_start"])
    end = pd.to_datetime(frame["realtime_end"]) if "realtime_end" in frame else pd.Series(pd.NaT, index=frame.index)
    versioned = start.notna()
    order = frame.assign(_start=start, _end=end).sort_values(["date", *keys, "_start"], kind="stable")
    group = order[["date", *keys]]
    same = (group == group.shift()).all(axis=1) & order["_start"].notna()
    previous_end = order["_end"].shift()
    overlap = same & (previous_end.isna() | (previous_end >= order["_start"]))
    return {
        "versions_ending_before_start": (versioned & end.notna() & (end < start)).to_numpy(),
        "versions_public_before_observed": (versioned & (start < pd.to_datetime(frame["date"]))).to_numpy(),
        "overlapping_versions": overlap.reindex(frame.index).to_numpy(),
    }


def row_problems(series: Series, frame: pd.DataFrame, today: pd.Timestamp) -> pd.Series:
    """For every row, the first of `PROBLEMS` it has, or '' (same index as `frame`).

    Of two rows with the same key, the one fetched last is kept and the other is the duplicate; of two
    overlapping versions, the one that starts later is the problem.
    """
    lo, hi = series.valid
    values = frame[list(series.columns)]
    fetched = frame["fetched_at"] if "fetched_at" in frame else pd.Series(0, index=frame.index)
    newest_last = frame.assign(_fetched=fetched).sort_values("_fetched", kind="stable")
    masks = {
        "duplicate_rows": newest_last.duplicated(list(series.row_key), keep="last").reindex(frame.index).to_numpy(),
        "future_dates": (pd.to_datetime(frame["date"]) > today).to_numpy(),
        "out_of_range_rows": ((values < lo) | (values > hi)).any(axis=1).to_numpy(),
    }
    if series.vintages and "realtime_start" in frame:
        masks |= _version_masks(frame, list(series.keys))
    reasons = np.select(list(masks.values()), [PROBLEMS[name] for name in masks], default="")
    return pd.Series(reasons, index=frame.index, dtype=object)


def validity_problems(series: Series, frame: pd.DataFrame, today: pd.Timestamp) -> dict[str, int]:
    """How many rows have each problem (a row is counted under its first one)."""
    reasons = row_problems(series, frame, today)
    return {name: int((reasons == text).sum()) for name, text in PROBLEMS.items()
            if series.vintages or not name.startswith(("versions", "overlapping"))}


def describe_problems(series: Series, frame: pd.DataFrame, reasons: pd.Series) -> str:
    """'3 rows: a value outside …, first on 2024-05-01; …' for the rows that have a problem."""
    bad = frame.assign(_reason=reasons)[reasons != ""]
    parts = []
    for text, rows in bad.groupby("_reason", sort=False):
        first = pd.Timestamp(rows["date"].min()).date()
        parts.append(f"{len(rows)} row{'s' if len(rows) > 1 else ''} {text}, first dated {first}")
    return "; ".join(parts)


def _stacked(kept: pd.DataFrame, fetched: pd.DataFrame) -> pd.DataFrame:
    """The kept rows above the fetched ones, each column keeping the dtype of the rows that hold values.

    A column with no value in one part (an ALFRED version column on a non-vintage answer, an empty answer) must
    not decide the merged column's dtype (pandas is deprecating the exclusion that did this); a date column with
    no value anywhere stays a date column, as the checks compare dates."""
    columns = kept.columns.union(fetched.columns, sort=False)
    parts = [part.dropna(axis=1, how="all") for part in (kept, fetched) if len(part)]
    if not parts:
        return fetched.reset_index(drop=True)
    merged = pd.concat(parts, ignore_index=True).reindex(columns=columns)
    dated = {c: part[c].dtype for part in (kept, fetched) for c in part.columns
             if pd.api.types.is_datetime64_any_dtype(part[c]) and merged[c].isna().all()}
    return merged.astype(dated)


def answer_problems(series: Series, stored: pd.DataFrame, fetched: pd.DataFrame, today: pd.Timestamp) -> str:
    """What would fail the blocking check once `fetched` is upserted over `stored` ('' when nothing).

    The stored rows the answer does not replace take part: an answer's version may overlap a stored one."""
    key = list(series.row_key)
    replaced = _typed(stored, key)[key].merge(_typed(fetched, key)[key].assign(_replaced=True), on=key, how="left")
    kept = stored[replaced["_replaced"].isna().to_numpy()]
    kept = kept.drop(columns=["row_id"], errors="ignore")
    merged = _stacked(kept, fetched)
    reasons = row_problems(series, merged, today)
    return describe_problems(series, merged, reasons) if (reasons != "").any() else ""


def unknown_keys(series: Series, frame: pd.DataFrame) -> pd.Series:
    """Rows of a keyed dataset whose key is none the catalog knows (a contract no metric reads)."""
    if not series.key_values or frame.empty:
        return pd.Series(False, index=frame.index)
    return ~frame[series.keys[0]].isin(series.key_values)


def longest_gap(series: Series, frame: pd.DataFrame) -> tuple[int, pd.Timestamp | None]:
    """The longest stretch in days between consecutive observation dates, and where it ends."""
    dates = frame["date"].drop_duplicates().sort_values()
    if len(dates) < 2:
        return 0, None
    gaps = dates.diff().dt.days
    return int(gaps.max()), dates.loc[gaps.idxmax()]


RESCALE_MIN_OVERLAP = 5
REVISION_FREE_DAYS = 92  # about a quarter: the window in which providers finalise preliminary values
REVISION_MAX_SHARE = 0.01
REVISION_MAX_ROWS = 5


def _typed(frame: pd.DataFrame, key: list[str]) -> pd.DataFrame:
    """`frame` with its date-typed key columns in nanoseconds, so rows read from DuckDB match fetched ones."""
    dated = {c: pd.to_datetime(frame[c]).astype("datetime64[ns]") for c in key if c in ("date", *VINTAGE_KEY)}
    return frame.assign(**dated)


def _on_key(series: Series, stored: pd.DataFrame, fetched: pd.DataFrame) -> pd.DataFrame:
    """Stored rows joined to the fetched rows of the same key: value columns `<c>_stored` and `<c>`."""
    key, columns = list(series.row_key), list(series.columns)
    return _typed(stored, key)[key + columns].merge(_typed(fetched, key)[key + columns], on=key,
                                                     suffixes=("_stored", ""))


def changed_values(series: Series, stored: pd.DataFrame, fetched: pd.DataFrame) -> pd.DataFrame:
    """Stored observations the fetch gives another value: their keys, old values (`<c>_stored`) and new."""
    if stored.empty or fetched.empty:
        return pd.DataFrame(columns=["date"])
    both = _on_key(series, stored, fetched)
    differs = np.zeros(len(both), dtype=bool)
    for c in series.columns:
        old, new = both[f"{c}_stored"], both[c]
        differs |= ~((old == new) | (old.isna() & new.isna())).to_numpy()
    return both[differs]


def rescaled_by(series: Series, stored: pd.DataFrame, fetched: pd.DataFrame) -> float | None:
    """The factor by which a fetch rescaled the stored history, if it did: every overlapping value changed
    by the same ratio (a split, or prices re-adjusted after the fact). Upserting such a window would
    leave older rows in the old scale and make returns jump at the seam. Revisions, which change values
    by different amounts, are not rescales."""
    if series.columns != ("value",) or stored.empty or fetched.empty:
        return None
    both = _on_key(series, stored, fetched)
    both = both[(both["value_stored"] != 0) & both["value"].notna() & both["value_stored"].notna()]
    if len(both) < RESCALE_MIN_OVERLAP:
        return None
    ratio = (both["value"] / both["value_stored"]).to_numpy()
    if abs(ratio.mean() - 1) > 1e-6 and (ratio.max() - ratio.min()) < 1e-9 * abs(ratio.mean()):
        return float(ratio.mean())
    return None


def revision_refusal(series: Series, stored: pd.DataFrame, fetched: pd.DataFrame) -> str | None:
    """Why writing `fetched` over `stored` would rewrite history beyond the bound, or None when it may."""
    factor = rescaled_by(series, stored, fetched)
    if factor is not None:
        return (f"every stored value in the window changed by the same factor ×{factor:.6g} (a split, or prices "
                "adjusted after the fact), so the table would mix two scales")
    changed = changed_values(series, stored, fetched)
    if changed.empty:
        return None
    settled_before = pd.to_datetime(stored["date"]).max() - pd.Timedelta(days=REVISION_FREE_DAYS)
    covered = _on_key(series, stored, fetched)
    settled = int((covered["date"] < settled_before).sum())
    rewritten = changed[changed["date"] < settled_before]
    allowed = max(REVISION_MAX_ROWS, int(REVISION_MAX_SHARE * settled))
    if len(rewritten) <= allowed:
        return None
    return (f"it changes {len(rewritten):,} of the {settled:,} stored observations dated before "
            f"{settled_before.date()} that it covers ({rewritten['date'].min().date()} … "
            f"{rewritten['date'].max().date()}), more than the {allowed:,} a revision may change")

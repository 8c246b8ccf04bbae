"""A folder of `<SERIES>.csv` files as a source: air-gapped installs, vendor data drops, validation.

Format: one comma-separated file per series, named after its catalog id (`VIX.csv`; the case of the name
does not matter when only one file matches). The first column is the date (YYYY-MM-DD), then value columns. For a one-value series the
value is the column named `value`, the series id, `close` or `adj_close` (in that order, any case), or
else the only other column. Multi-column datasets (the CFTC file) use the catalog's column names;
`cftc_contract_code` is accepted for `contract_code`. A series without a file is unavailable: its
coverage drops and the run goes on.

Rules for what is in a file (a refusal names file, line and problem, and the stored rows are kept):
- refused: a link to a file outside the folder; an empty file; a file delimited by ';' or tabs, or
  starting with a comment instead of its header; a date not in YYYY-MM-DD form; a date after today (UTC); the same date (and
  contract) twice; a value that is not a finite number (text, NaN, inf); in the rows of the requested
  window, a value outside the catalog's plausible range for the series (a units or parsing error; rows
  outside the window are never stored, so old junk in a long file does not block today's run);
- cleaned: rows in any order are sorted by date; an empty value cell means "no observation" and the
  row is dropped (as FRED's '.'); a file with a header and no rows is a series with no observations.
"""

from __future__ import annotations

import csv
import difflib
from datetime import date
from pathlib import Path

import pandas as pd
from pydantic import BaseModel, Field

from mac_assets.catalog import SERIES, Series
from mac_assets.pointintime import utc_today
from mac_assets.sources.base import Fetched, MalformedPayload, SeriesUnavailable, shown

VALUE_COLUMN_PREFERENCE = ("value", "{id}", "close", "adj_close")
# A file is checked against this size before a byte of it is parsed: the folder also takes vendor drops,
# and a file read whole costs several times its size in memory (docs/operations.md has the figures).
MAX_BYTES_VARIABLE = "MAC_CSV_MAX_BYTES"
DEFAULT_MAX_BYTES = 64 * 2**20
HEADER_BYTES = 64 * 2**10  # what is read to judge the header line
COLUMN_ALIASES = {"cftc_contract_code": "contract_code", "cftc_contract_market_code": "contract_code"}


class CsvFolderSource(BaseModel):
    """Reads `<directory>/<series id>.csv` (MAC_SOURCE=csv, MAC_CSV_DIR)."""

    directory: str = Field(description="Folder holding one CSV file per series id.")
    max_bytes: int = Field(default=DEFAULT_MAX_BYTES, description=f"Largest file read ({MAX_BYTES_VARIABLE}).")

    @property
    def label(self) -> str:
        return "csv"

    def path_for(self, series: Series) -> Path:
        """`<id>.csv`, or the one file whose name matches it ignoring case."""
        exact = Path(self.directory) / f"{series.id}.csv"
        if exact.is_file():
            return exact
        folded = [p for p in self._files() if p.stem.lower() == series.id.lower()]
        return folded[0] if len(folded) == 1 else exact

    def _files(self) -> list[Path]:
        folder = Path(self.directory)
        return sorted(p for p in folder.iterdir() if p.suffix.lower() == ".csv") if folder.is_dir() else []

    def has(self, series: Series) -> bool:
        return self.path_for(series).is_file()

    def fetch(self, series: Series, start: date, end: date) -> Fetched:
        path = self.path_for(series)
        if not path.is_file():
            hint = _near_misses(series.id, [p.name for p in self._files()])
            raise SeriesUnavailable(f"csv/{series.id}: no file {series.id}.csv in {shown(self.directory)}{hint}")
        if not path.resolve().is_relative_to(Path(self.directory).resolve()):
            raise MalformedPayload(f"csv/{series.id}: {shown(path.name)} links to {shown(str(path.resolve()))}, "
                                   "outside the folder; refused")
        return Fetched(read_series_csv(series, path, start, end, self.max_bytes), provider="csv")

    def unknown_files(self) -> list[str]:
        """Files in the folder that no catalog series reads, each with the ids it may have been meant for."""
        known = {s.id.lower() for s in SERIES} | {s.continued_by.lower() for s in SERIES if s.continued_by}
        return [f"{shown(p.name)}{_near_misses(p.stem, [f'{s.id}.csv' for s in SERIES])}" for p in self._files()
                if p.stem.lower() not in known]


def _near_misses(name: str, candidates: list[str]) -> str:
    """' (did you mean X.csv?)' for candidates close to `name`, or ''."""
    stems = {Path(c).stem.lower(): c for c in candidates}
    close = difflib.get_close_matches(name.lower(), stems, n=3, cutoff=0.6)
    close += [s for s in stems if s not in close and (s.startswith(name.lower()) or name.lower().startswith(s))]
    return f" (did you mean {' or '.join(shown(stems[c]) for c in close[:3])}?)" if close else ""


def read_series_csv(series: Series, path: Path, start: date | None = None, end: date | None = None,
                    max_bytes: int = DEFAULT_MAX_BYTES) -> pd.DataFrame:
    size = path.stat().st_size
    if size > max_bytes:
        raise MalformedPayload(f"csv/{series.id}: {shown(path.name)} is {size / 2**20:,.1f} MB, more than "
                               f"{MAX_BYTES_VARIABLE} ({max_bytes / 2**20:,.1f} MB): refused before reading. If the "
                               f"file is right, raise {MAX_BYTES_VARIABLE}")
    with path.open("rb") as f:
        head = f.read(HEADER_BYTES)
    if not head.strip():
        raise MalformedPayload(f"csv/{series.id}: {shown(path.name)} is empty (not even a header)")
    header = head.lstrip().split(b"\n", 1)[0].decode(errors="replace").strip()
    if header.startswith("#"):
        raise MalformedPayload(f"csv/{series.id}: {shown(path.name)} line 1 is a comment ({header[:40]!r}); the file "
                               "must start with its header row, e.g. date,value")
    for delimiter, name in ((";", "semicolons"), ("\t", "tabs")):
        if delimiter in header and "," not in header:
            raise MalformedPayload(f"csv/{series.id}: {shown(path.name)} is delimited by {name}; "
                                   "the folder format is comma-separated")
    names = next(csv.reader([header]))
    if len(names) < 2:
        raise MalformedPayload(f"csv/{series.id}: {shown(path.name)} needs a date column and at least one value column")
    renamed = {c: COLUMN_ALIASES.get(c.strip().lower(), c.strip()) for c in names}
    date_column = renamed[names[0]]
    sources = ({c: c for c in series.columns} if series.columns != ("value",)
               else {"value": _value_column(series, [renamed[c] for c in names[1:]], path)})
    wanted = {date_column, *series.keys, *sources.values()}
    try:
        # Only the columns read, each as text: values are parsed and checked below, line by line.
        raw = pd.read_csv(path, usecols=[c for c in names if renamed[c] in wanted], dtype=str, keep_default_na=False)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError, ValueError) as exc:
        raise MalformedPayload(f"csv/{series.id}: {shown(path.name)} is not a readable CSV: {exc}") from exc
    raw = raw.rename(columns=renamed)
    out = pd.DataFrame({"date": pd.to_datetime(raw[date_column].str.strip(), format="%Y-%m-%d", errors="coerce")})
    _refuse(series, path, raw[date_column], out["date"].isna(), "is not a date in YYYY-MM-DD form")
    _refuse(series, path, raw[date_column], out["date"] > utc_today(), "is in the future")
    for key in series.keys:
        if key not in raw.columns:
            raise MalformedPayload(f"csv/{series.id}: {shown(path.name)} has no {key} column")
        out[key] = raw[key].str.strip()
    for column, source_column in sources.items():
        if source_column not in raw.columns:
            raise MalformedPayload(f"csv/{series.id}: {shown(path.name)} has no {source_column} column")
        text = raw[source_column].str.strip()
        values = pd.to_numeric(text.where(text != "", None), errors="coerce")
        _refuse(series, path, text, (values.isna() | values.abs().eq(float("inf"))) & (text != ""),
                f"in column {source_column} is not a finite number")
        lo, hi = series.valid
        first = pd.Timestamp(start) if start else pd.Timestamp.min
        stop = pd.Timestamp(end) if end else pd.Timestamp.max
        stored = out["date"].between(first, stop, inclusive="left")
        _refuse(series, path, text, stored & ((values < lo) | (values > hi)),
                f"in column {source_column} is outside the plausible range [{lo:g}, {hi:g}] {series.units}")
        out[column] = values
    duplicated = out.duplicated(["date", *series.keys], keep=False)
    if duplicated.any():
        lines = [int(i) + 2 for i in out.index[duplicated][:2]]
        raise MalformedPayload(f"csv/{series.id}: {shown(path.name)} lines {lines[0]} and {lines[1]}: "
                               f"{raw[date_column].iloc[lines[0] - 2]!r} appears twice")
    out = out.dropna(subset=list(series.columns), how="all")
    return out.sort_values(["date", *series.keys], kind="stable").reset_index(drop=True)


def _value_column(series: Series, columns: list[str], path: Path) -> str:
    by_lower = {c.lower(): c for c in columns}
    for wanted in VALUE_COLUMN_PREFERENCE:
        name = wanted.format(id=series.id).lower()
        if name in by_lower:
            return by_lower[name]
    if len(columns) == 1:
        return columns[0]
    raise MalformedPayload(f"csv/{series.id}: {shown(path.name)} has several columns and none is value/close/{series.id}")


def _refuse(series: Series, path: Path, text: pd.Series, bad: pd.Series, problem: str) -> None:
    if bad.any():
        position = int(bad.to_numpy().argmax())
        raise MalformedPayload(
            f"csv/{series.id}: {shown(path.name)} line {position + 2}: {text.iloc[position]!r} {problem}"
        )

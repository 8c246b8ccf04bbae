"""A folder of `<SERIES>.csv` files as a source: air-gapped installs, vendor data drops, validation.

Format: the first column is the date (YYYY-MM-DD), then value columns. For a one-value series the
value is the column named `value`, the series id, `close` or `adj_close` (in that order, any case), or
else the only other column. Multi-column datasets (the CFTC file) use the catalog's column names;
`cftc_contract_code` is accepted for `contract_code`. A series without a file is unavailable: its
coverage drops and the run goes on. Bad rows are refused with the file, line and problem named.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pandas as pd
from dagster import ConfigurableResource
from pydantic import Field

from mac_assets.catalog import Series
from mac_assets.sources.base import Fetched, MalformedPayload, SeriesUnavailable

VALUE_COLUMN_PREFERENCE = ("value", "{id}", "close", "adj_close")
COLUMN_ALIASES = {"cftc_contract_code": "contract_code", "cftc_contract_market_code": "contract_code"}


class CsvFolderSource(ConfigurableResource):
    """Reads `<directory>/<series id>.csv` (MAC_SOURCE=csv, MAC_CSV_DIR)."""

    directory: str = Field(description="Folder holding one CSV file per series id.")

    @property
    def label(self) -> str:
        return "csv"

    def path_for(self, series: Series) -> Path:
        return Path(self.directory) / f"{series.id}.csv"

    def has(self, series: Series) -> bool:
        return self.path_for(series).is_file()

    def fetch(self, series: Series, start: date, end: date) -> Fetched:
        path = self.path_for(series)
        if not path.is_file():
            raise SeriesUnavailable(f"csv/{series.id}: no file {path.name} in {self.directory}")
        return Fetched(read_series_csv(series, path))


def read_series_csv(series: Series, path: Path) -> pd.DataFrame:
    try:
        raw = pd.read_csv(path, dtype=str, keep_default_na=False)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise MalformedPayload(f"csv/{series.id}: {path.name} is not a readable CSV: {exc}") from exc
    if raw.shape[1] < 2:
        raise MalformedPayload(f"csv/{series.id}: {path.name} needs a date column and at least one value column")
    raw = raw.rename(columns={c: COLUMN_ALIASES.get(c.strip().lower(), c.strip()) for c in raw.columns})
    date_column = raw.columns[0]
    out = pd.DataFrame({"date": pd.to_datetime(raw[date_column].str.strip(), format="%Y-%m-%d", errors="coerce")})
    _refuse(series, path, raw[date_column], out["date"].isna(), "is not a date in YYYY-MM-DD form")
    for key in series.keys:
        if key not in raw.columns:
            raise MalformedPayload(f"csv/{series.id}: {path.name} has no {key} column")
        out[key] = raw[key].str.strip()
    sources = {c: c for c in series.columns} if series.columns != ("value",) else {"value": _value_column(series, raw, path)}
    for column, source_column in sources.items():
        if source_column not in raw.columns:
            raise MalformedPayload(f"csv/{series.id}: {path.name} has no {source_column} column")
        text = raw[source_column].str.strip()
        values = pd.to_numeric(text.where(text != "", None), errors="coerce")
        _refuse(series, path, text, values.isna() & (text != ""), "is not a number")
        out[column] = values
    return out.dropna(subset=list(series.columns), how="all")


def _value_column(series: Series, raw: pd.DataFrame, path: Path) -> str:
    by_lower = {c.lower(): c for c in raw.columns[1:]}
    for wanted in VALUE_COLUMN_PREFERENCE:
        name = wanted.format(id=series.id).lower()
        if name in by_lower:
            return by_lower[name]
    if len(raw.columns) == 2:
        return raw.columns[1]
    raise MalformedPayload(f"csv/{series.id}: {path.name} has several columns and none is value/close/{series.id}")


def _refuse(series: Series, path: Path, text: pd.Series, bad: pd.Series, problem: str) -> None:
    if bad.any():
        position = int(bad.to_numpy().argmax())
        raise MalformedPayload(
            f"csv/{series.id}: {path.name} line {position + 2}: {text.iloc[position]!r} {problem}"
        )

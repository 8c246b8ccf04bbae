"""CFTC Traders in Financial Futures (futures only) from the public reporting API (Socrata).

Rows are selected by contract market code, never by name (names changed in 2022), and read page by
page: Socrata returns 1,000 rows unless `$limit` says otherwise. Numbers arrive as strings, and the
leveraged-funds fields lack the `_all` suffix the dealer fields carry, so each column is looked up
under every spelling seen in the wild.
"""

from __future__ import annotations

from datetime import date
from typing import ClassVar

import pandas as pd
from pydantic import Field

from mac_assets.catalog import TREASURY_FUTURES_FACE_USD, Series
from mac_assets.sources.base import MalformedPayload
from mac_assets.sources.client import HttpSource

DATE_FIELD = "report_date_as_yyyy_mm_dd"
CODE_FIELD = "cftc_contract_market_code"
# Our column → the Socrata field names it may arrive under.
FIELDS: dict[str, tuple[str, ...]] = {
    "open_interest": ("open_interest_all", "open_interest"),
    "lev_money_long": ("lev_money_positions_long", "lev_money_positions_long_all"),
    "lev_money_short": ("lev_money_positions_short", "lev_money_positions_short_all"),
    "asset_mgr_long": ("asset_mgr_positions_long", "asset_mgr_positions_long_all"),
    "asset_mgr_short": ("asset_mgr_positions_short", "asset_mgr_positions_short_all"),
    "dealer_long": ("dealer_positions_long_all", "dealer_positions_long"),
    "dealer_short": ("dealer_positions_short_all", "dealer_positions_short"),
}
REQUIRED = ("open_interest", "lev_money_long", "lev_money_short")


class CftcClient(HttpSource):
    """TFF futures-only dataset `gpe5-46if`, the six Treasury contracts of the catalog."""

    provider: ClassVar[str] = "cftc"
    base_url: str = "https://publicreporting.cftc.gov"
    dataset: str = "gpe5-46if"
    page_size: int = Field(default=5000, description="Rows per request ($limit).")

    def read(self, series: Series, start: date, end: date) -> pd.DataFrame:
        codes = ", ".join(f"'{c}'" for c in TREASURY_FUTURES_FACE_USD)
        where = (f"{CODE_FIELD} in ({codes}) AND {DATE_FIELD} >= '{start.isoformat()}T00:00:00.000' "
                 f"AND {DATE_FIELD} < '{end.isoformat()}T00:00:00.000'")
        rows, offset, previous = [], 0, None
        while True:
            page = self.json(self.url(f"resource/{self.dataset}.json"), series.id, {
                "$where": where, "$order": f"{DATE_FIELD}, {CODE_FIELD}", "$limit": self.page_size, "$offset": offset,
            })
            if not isinstance(page, list):
                raise MalformedPayload(f"cftc/{series.id}: expected a JSON array of rows, got {type(page).__name__}")
            previous = self.new_page(series, f"resource/{self.dataset}", offset, page, previous)
            rows.extend(page)
            if len(page) < self.page_size:
                break
            offset += self.page_size
        return parse_rows(series, rows, self.note)


def parse_rows(series: Series, rows: list[dict], note=lambda text: None) -> pd.DataFrame:
    """Socrata leaves null fields out of a row: a row without a required value is left out (and noted), a
    row without an optional one keeps a missing value; a field missing from *every* row is schema drift."""
    if not rows:
        return pd.DataFrame(columns=["date", "contract_code", *FIELDS])
    raw = pd.DataFrame(rows)
    out = pd.DataFrame({
        "date": pd.to_datetime(raw.get(DATE_FIELD), errors="coerce"),
        "contract_code": raw.get(CODE_FIELD, pd.Series(dtype=str)).astype(str).str.strip(),
    })
    for column, names in FIELDS.items():
        present = [n for n in names if n in raw.columns]
        if not present:
            if column in REQUIRED:
                raise MalformedPayload(f"cftc/{series.id}: no field for {column} (tried {', '.join(names)})")
            out[column] = float("nan")
            continue
        # Spellings can differ from row to row (and page to page): take whichever each row has.
        values = raw[present[0]]
        for other in present[1:]:
            values = values.fillna(raw[other])
        out[column] = pd.to_numeric(values, errors="coerce")
    if out["date"].isna().any():
        raise MalformedPayload(f"cftc/{series.id}: rows without a readable {DATE_FIELD}")
    incomplete = out[list(REQUIRED)].isna().any(axis=1)
    if incomplete.any():
        first = out[incomplete].iloc[0]
        note(f"{int(incomplete.sum())} report rows without a numeric {'/'.join(REQUIRED)} were left out "
             f"(first: {first['date']:%Y-%m-%d}/{first['contract_code']})")
    return out[~incomplete].reset_index(drop=True)

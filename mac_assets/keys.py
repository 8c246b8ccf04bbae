"""Every table the graph writes, named once: a table's (schema, name) is its Dagster asset key and its DuckDB table.

The schema is the asset's layer (and its group in the UI). Raw and derived tables are named after their
catalog series and registry metric (`raw(series)`, `derived(name)`); every other table is a constant here,
so the Dagster wiring (asset keys, inputs, deps, checks) and the SQL that reads the warehouse (BI, the run
summary, the reports) name the same table through the same object. Dagster-free: the wiring turns a `Table`
into an `AssetKey` (`policy.key`).
"""

from __future__ import annotations

from dataclasses import dataclass

from mac_assets.catalog import Series, asset_name

RAW, DERIVED, SCORES, EXTENSION, PUBLISH = "raw", "derived", "scores", "extension", "publish"
LAYERS = (RAW, DERIVED, SCORES, EXTENSION, PUBLISH)


@dataclass(frozen=True)
class Table:
    """`schema.name`: one asset of the graph and, except for publish's files, one table of the warehouse."""

    schema: str
    name: str

    def __str__(self) -> str:
        return f"{self.schema}.{self.name}"

    @property
    def path(self) -> tuple[str, str]:
        """The asset key's path."""
        return (self.schema, self.name)


def raw(series: Series | str) -> Table:
    """The raw table of a catalog series (or of a series id)."""
    return Table(RAW, series.asset_name if isinstance(series, Series) else asset_name(series))


def derived(metric: str) -> Table:
    return Table(DERIVED, metric)


INDICATOR_SCORES = Table(SCORES, "indicator_scores")
PILLAR_SCORES = Table(SCORES, "pillar_scores")
MAC1_COMPOSITE = Table(SCORES, "mac1_composite")
MAC_COMPOSITE = Table(SCORES, "mac_composite")  # the headline
STATUS_CHANGES = Table(SCORES, "status_changes")
MAC2_INDICATOR_SCORES = Table(SCORES, "mac2_indicator_scores")
MAC2_PILLAR_SCORES = Table(SCORES, "mac2_pillar_scores")
MAC2_READINGS = Table(SCORES, "mac2_readings")
MAC3_PILLAR_SCORES = Table(SCORES, "mac3_pillar_scores")
MAC3_READINGS = Table(SCORES, "mac3_readings")

EXTENSION_SCORES = Table(EXTENSION, "extension_scores")
SYSTEMIC_STRESS = Table(EXTENSION, "systemic_stress")
MAC_EXTENDED = Table(EXTENSION, "mac_extended")

# Publish assets write files, not warehouse tables: one asset each, about the whole history.
BI_SNAPSHOT = Table(PUBLISH, "bi_snapshot")
RAW_BACKUP = Table(PUBLISH, "raw_backup")
VALIDATION_REPORT = Table(PUBLISH, "validation_report")
MAC_REPORT = Table(PUBLISH, "mac_report")
QUARTERLY_REVIEW = Table(PUBLISH, "quarterly_review")

"""Every derived metric the graph builds: the seed spec's metrics, then the extension's."""

from mac_assets.catalog import SERIES_BY_ID, Series
from mac_assets.derived.extension import EXTENSION_METRICS
from mac_assets.derived.metrics import CORE_METRICS, DerivedMetric

METRICS: tuple[DerivedMetric, ...] = CORE_METRICS + EXTENSION_METRICS
METRICS_BY_NAME: dict[str, DerivedMetric] = {m.name: m for m in METRICS}
EXTENSION_METRIC_NAMES = frozenset(m.name for m in EXTENSION_METRICS)


def metric_input_series(metric: str) -> tuple[Series, ...]:
    """The raw series a scored metric rests on: a derived metric's inputs, or the series itself."""
    return METRICS_BY_NAME[metric].input_series if metric in METRICS_BY_NAME else (SERIES_BY_ID[metric],)

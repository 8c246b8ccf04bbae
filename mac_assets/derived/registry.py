"""Every derived metric the graph builds: the seed spec's metrics, then the extension's."""

from mac_assets.derived.extension import EXTENSION_METRICS
from mac_assets.derived.metrics import CORE_METRICS, DerivedMetric

METRICS: tuple[DerivedMetric, ...] = CORE_METRICS + EXTENSION_METRICS
METRICS_BY_NAME: dict[str, DerivedMetric] = {m.name: m for m in METRICS}
EXTENSION_METRIC_NAMES = frozenset(m.name for m in EXTENSION_METRICS)

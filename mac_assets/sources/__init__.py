"""Source resources. `MAC_SOURCE` picks one; every raw asset talks to it as the `source` resource."""

from __future__ import annotations

from mac_assets.settings import Settings
from mac_assets.sources.demo import DemoSource

SOURCES = ("demo",)


def build_source(settings: Settings):
    """The resource for `settings.source`; an unknown name fails at load time, naming the choices."""
    if settings.source == "demo":
        return DemoSource(seed=settings.demo_seed)
    raise ValueError(f"MAC_SOURCE={settings.source!r} is not available; choose one of: {', '.join(SOURCES)}")

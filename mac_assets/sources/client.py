"""Base class of the live clients: configuration (base URL, timeouts, retries) plus one HTTP session.

Plain pydantic models, not Dagster resources: the clients are the Dagster-free core; the one Dagster
resource (`sources/resources.py`) builds them from configuration and secrets at run time.
"""

from __future__ import annotations

from datetime import date
from typing import ClassVar

from pydantic import BaseModel, Field, PrivateAttr

from mac_assets.catalog import Series
from mac_assets.sources.base import Fetched, MalformedPayload
from mac_assets.sources.http import HttpClient


class HttpSource(BaseModel):
    """Settings every live client shares. Subclasses set `provider` and implement `read(series, start, end) -> DataFrame`."""

    base_url: str = Field(description="Provider root URL; point it at a mirror, a proxy or a test server.")
    timeout_s: float = Field(default=60.0, description="Total deadline of one attempt (connect, wait, whole body), in seconds.")
    stall_s: float = Field(default=15.0, description="An attempt that receives nothing for this many seconds fails.")
    max_bytes: int = Field(default=64 * 1024 * 1024, description="Largest response accepted, on the wire and decoded.")
    max_retries: int = Field(default=4, description="Retries after the first attempt on 429, 5xx and timeouts.")
    backoff_s: float = Field(default=1.0, description="First retry pause; doubles each retry unless Retry-After says otherwise.")
    circuit_failures: int = Field(default=3, description="Consecutive failed attempts after which the provider is "
                                                         "skipped for the rest of the run (0 = never).")

    _http: HttpClient | None = PrivateAttr(default=None)
    _notes: list[str] = PrivateAttr(default_factory=list)

    provider: ClassVar[str] = "http"
    extra_retryable: ClassVar[tuple[int, ...]] = ()
    # A browser to impersonate (curl_cffi's names, e.g. "chrome") for providers that refuse plain clients.
    impersonate: ClassVar[str | None] = None

    def requests_per_second(self) -> float:
        """Client-side rate limit shared by all series of this provider (0 = none)."""
        return 0.0

    @property
    def label(self) -> str:
        return self.provider

    @property
    def http(self) -> HttpClient:
        if self._http is None:
            self._http = HttpClient(
                provider=self.provider, timeout_s=self.timeout_s, stall_s=self.stall_s, max_bytes=self.max_bytes,
                max_retries=self.max_retries, backoff_s=self.backoff_s, rate_per_s=self.requests_per_second(),
                extra_retryable=self.extra_retryable, circuit_failures=self.circuit_failures,
                impersonate=self.impersonate,
            )
        return self._http

    def url(self, path: str) -> str:
        return self.base_url.rstrip("/") + "/" + path.lstrip("/")

    def note(self, text: str) -> None:
        """Record something the read left out (a row without a value …): it reaches the asset's metadata."""
        self._notes.append(text)

    def json(self, url: str, series: str, params: dict | None = None, headers: dict | None = None):
        """GET and decode JSON; a body that is not JSON is a MalformedPayload naming the series."""
        response = self.http.get(url, series, params, headers)
        try:
            return response.json()
        except ValueError as exc:
            raise MalformedPayload(f"{self.provider}/{series}: response is not JSON: {_head(response.text)}") from exc

    def fetch(self, series: Series, start: date, end: date) -> Fetched:
        """The client's `read`, with the HTTP requests it took (retries and pages included) counted."""
        before = self.http.requests_made
        self._notes = []
        frame = self.read(series, start, end)
        return Fetched(frame, self.http.requests_made - before, self.provider, tuple(self._notes))


def _head(text: str, limit: int = 120) -> str:
    return " ".join(text.split())[:limit] or "(empty body)"

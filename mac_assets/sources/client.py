"""Base class of the live clients: configuration (base URL, timeouts, retries) plus one HTTP session.

Plain pydantic models, not Dagster resources: the clients are the Dagster-free core; the one Dagster
resource (`sources/resources.py`) builds them from configuration and secrets at run time.
"""

from __future__ import annotations

import threading
from datetime import date
from typing import ClassVar

from pydantic import BaseModel, Field, PrivateAttr

from mac_assets.catalog import Series
from mac_assets.sources.base import Fetched, MalformedPayload
from mac_assets.sources.http import Deadline, HttpClient
from mac_assets.sources.redact import register_credentials, snippet

# What a client's parsing raises on an answer in no shape it knows (random bytes, a drifted format).
UNREADABLE = (ValueError, KeyError, IndexError, TypeError, AttributeError, RecursionError)


class HttpSource(BaseModel):
    """Settings every live client shares. Subclasses set `provider` and implement `read(series, start, end) -> DataFrame`."""

    base_url: str = Field(description="Provider root URL; point it at a mirror, a proxy or a test server.")
    # Defaults are the HTTP layer's own (one definition each).
    timeout_s: float = Field(default=HttpClient.timeout_s,
                             description="Total deadline of one attempt (connect, wait, whole body), in seconds.")
    stall_s: float = Field(default=HttpClient.stall_s, description="Window of the stall rule: an attempt slower than "
                                                                   "min_rate_bps for this many seconds in a row fails.")
    min_rate_bps: int = Field(default=HttpClient.min_rate_bps,
                              description="Slowest transfer (bytes per second) the stall rule accepts.")
    max_bytes: int = Field(default=HttpClient.max_bytes, description="Most bytes one series may receive in a run: "
                                                                     "every page, retry and redirect, on the wire and decoded.")
    max_requests: int = Field(default=HttpClient.max_requests,
                              description="Most requests one series may take in a run (pages, retries, redirects).")
    max_retries: int = Field(default=HttpClient.max_retries,
                             description="Retries after the first attempt on 429, 5xx and timeouts.")
    backoff_s: float = Field(default=HttpClient.backoff_s,
                             description="First retry pause; doubles each retry unless Retry-After says otherwise.")
    circuit_failures: int = Field(default=HttpClient.circuit_failures, description="Consecutive failed attempts after "
                                  "which the provider is skipped for the rest of the run (0 = never).")

    _http: HttpClient | None = PrivateAttr(default=None)
    # Notes of the fetch running in each thread: a run's fetch uses one client from two threads when another
    # provider's series falls back to it (sources/fetching.py).
    _local: threading.local = PrivateAttr(default_factory=threading.local)

    provider: ClassVar[str] = "http"
    extra_retryable: ClassVar[tuple[int, ...]] = ()
    # A browser to impersonate (curl_cffi's names, e.g. "chrome") for providers that refuse plain clients.
    impersonate: ClassVar[str | None] = None

    def model_post_init(self, context) -> None:
        register_credentials(dict(self))  # api_key and the like: redacted from every message from now on

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
                provider=self.provider, timeout_s=self.timeout_s, stall_s=self.stall_s, min_rate_bps=self.min_rate_bps,
                max_bytes=self.max_bytes, max_requests=self.max_requests, max_retries=self.max_retries,
                backoff_s=self.backoff_s, rate_per_s=self.requests_per_second(),
                extra_retryable=self.extra_retryable, circuit_failures=self.circuit_failures,
                impersonate=self.impersonate,
            )
        return self._http

    def bound_by(self, deadline: Deadline) -> None:
        """Cut every later attempt, pause and retry of this client to the run's fetch budget."""
        self.http.deadline = deadline

    def url(self, path: str) -> str:
        return self.base_url.rstrip("/") + "/" + path.lstrip("/")

    def note(self, text: str) -> None:
        """Record something the read left out (a row without a value …): it reaches the asset's metadata."""
        self._local.notes.append(text)

    def json(self, url: str, series: str, params: dict | None = None, headers: dict | None = None):
        """GET and decode JSON; a body that is not JSON is a MalformedPayload naming the series."""
        response = self.http.get(url, series, params, headers)
        try:
            return response.json()
        except (ValueError, RecursionError) as exc:
            raise MalformedPayload(f"{self.provider}/{series}: response is not JSON: {snippet(response.text, 120)}") from exc

    def new_page(self, series: Series, what: str, offset: int, page: list, previous: list | None) -> list:
        """`page`, unless it repeats the page before it: a server that ignores the offset would page forever."""
        if page and page == previous:
            raise MalformedPayload(f"{self.provider}/{series.id}: {what} at offset {offset:,} repeats the previous page "
                                   "(the server ignores the offset); refused")
        return page

    def fetch(self, series: Series, start: date, end: date) -> Fetched:
        """The client's `read`, with the HTTP requests it took (retries and pages included) counted.

        An answer the parsing cannot make sense of is that series' MalformedPayload, whatever the parser
        raised: random bytes from a provider cost one series, never the run."""
        before = self.http.requests_for(series.id)
        self._local.notes = []
        try:
            frame = self.read(series, start, end)
        except UNREADABLE as exc:
            raise MalformedPayload(f"{self.provider}/{series.id}: unreadable answer ({type(exc).__name__}: "
                                   f"{snippet(str(exc), 160)})") from exc
        return Fetched(frame, self.http.requests_for(series.id) - before, self.provider, tuple(self._local.notes))

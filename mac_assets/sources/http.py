"""HTTP for every live client: retries with backoff, Retry-After, a shared rate limit, counted requests.

Why not urllib3's `Retry`: on exhaustion it raises an error whose text holds the full URL, query
string included, and FRED's API key travels in the query string. Here error messages name the source,
the series, the path and the status, never the query. Every attempt is counted, so assets can report
how many requests they really made.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from typing import Any

import requests

from mac_assets.sources.base import GeoBlocked, ProviderError

RETRYABLE_STATUS = frozenset({408, 425, 429, 500, 502, 503, 504})
MAX_RETRY_AFTER_SECONDS = 60.0
USER_AGENT = "mac-assets/0.1 (market absorption capacity research)"


class RateLimiter:
    """At most `rate` requests per second, shared by every caller in the process (a token bucket of 1)."""

    _shared: dict[str, "RateLimiter"] = {}
    _shared_lock = threading.Lock()

    def __init__(self, rate: float):
        self.interval = 1.0 / rate if rate > 0 else 0.0
        self._next = 0.0
        self._lock = threading.Lock()

    @classmethod
    def shared(cls, name: str, rate: float) -> "RateLimiter":
        """One limiter per name (e.g. per provider) and rate for the whole process."""
        key = f"{name}@{rate}"
        with cls._shared_lock:
            if key not in cls._shared:
                cls._shared[key] = cls(rate)
            return cls._shared[key]

    def wait(self) -> None:
        with self._lock:
            now = time.monotonic()
            start = max(now, self._next)
            self._next = start + self.interval
        if start > now:
            time.sleep(start - now)


def _retry_after_seconds(response: requests.Response) -> float | None:
    value = response.headers.get("Retry-After")
    if not value:
        return None
    try:
        seconds = float(value)
    except ValueError:
        try:
            seconds = parsedate_to_datetime(value).timestamp() - time.time()
        except (TypeError, ValueError):
            return None
    return min(max(seconds, 0.0), MAX_RETRY_AFTER_SECONDS)


@dataclass
class HttpClient:
    """A requests session for one provider, with its retry policy and request counter."""

    source: str
    timeout_s: float = 30.0
    max_retries: int = 4
    backoff_s: float = 1.0
    rate_per_s: float = 0.0
    extra_retryable: tuple[int, ...] = ()
    requests_made: int = 0
    session: requests.Session = field(default_factory=requests.Session)

    def __post_init__(self) -> None:
        self.session.headers["User-Agent"] = USER_AGENT
        self.limiter = RateLimiter.shared(self.source, self.rate_per_s) if self.rate_per_s > 0 else None

    def get(self, url: str, series: str, params: dict[str, Any] | None = None) -> requests.Response:
        """GET with retries; returns a 2xx response or raises a typed SourceError."""
        path = requests.utils.urlparse(url).path
        where = f"{self.source}/{series}: GET {path}"
        last_problem = "no attempt made"
        for attempt in range(self.max_retries + 1):
            if self.limiter:
                self.limiter.wait()
            self.requests_made += 1
            try:
                response = self.session.get(url, params=params, timeout=self.timeout_s)
            except requests.RequestException as exc:
                # The exception text may contain the full URL; keep only its class.
                last_problem = f"{type(exc).__name__} (network error or timeout)"
                pause = self.backoff_s * 2**attempt
            else:
                if response.status_code < 300:
                    return response
                if response.status_code == 451:
                    raise GeoBlocked(f"{where} answered HTTP 451: unavailable from this location")
                last_problem = f"HTTP {response.status_code}"
                if response.status_code not in RETRYABLE_STATUS | set(self.extra_retryable):
                    raise ProviderError(f"{where} answered {last_problem}: {_snippet(response, _secrets(params))}")
                retry_after = _retry_after_seconds(response)
                pause = retry_after if retry_after is not None else self.backoff_s * 2**attempt
            if attempt < self.max_retries:
                time.sleep(pause)
        raise ProviderError(f"{where} failed after {self.max_retries + 1} attempts, last: {last_problem}")


def _secrets(params: dict[str, Any] | None) -> list[str]:
    """Query values that are credentials (api_key, token …): a provider may echo them in an error page."""
    return [str(v) for k, v in (params or {}).items()
            if v and any(word in k.lower() for word in ("key", "token", "secret"))]


def _snippet(response: requests.Response, secrets: list[str], limit: int = 200) -> str:
    """The start of an error body, whitespace folded, with any credential replaced by ***."""
    text = " ".join(response.text.split())
    for secret in secrets:
        text = text.replace(secret, "***")
    return text[:limit] if text else "(empty body)"

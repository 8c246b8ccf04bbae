"""HTTP for every live client: bounded requests, retries with backoff, a shared rate limit, a circuit breaker.

Built on curl_cffi (libcurl) rather than `requests`, because libcurl bounds what `requests` cannot:
- a **total deadline** per attempt (`timeout_s`): `requests`' timeout bounds each socket read, so a
  server that trickles a byte a second holds a run forever; libcurl's covers the whole transfer;
- a **stall limit** (`stall_s`): an attempt that receives nothing for that long ends early;
- a **size cap** (`max_bytes`, libcurl's MAXFILESIZE, which applies on the wire and to the decoded
  body, plus our own count as the body arrives), so an endless body or a gzip bomb costs at most the
  cap, not the machine;
- **same-host redirects only**: redirects are followed here, never by the library, and one that
  points at another scheme, host or port is refused, so a key in the query string (FRED's) never
  travels to a host we were not configured for;
- browser **impersonation** (TLS fingerprint and headers) for providers that refuse plain clients
  (Yahoo), from the same library.

Around each request: 429, 408 and 5xx and network errors are retried with exponential backoff,
Retry-After wins when the server sends it; after `circuit_failures` consecutive failed attempts the
provider's circuit opens and its remaining requests in the run fail at once, so one dead provider
costs seconds instead of every series' retries. Error messages name the source, the series, the path
and the status, never the host or query; every attempt is counted.
"""

from __future__ import annotations

import json as jsonlib
import threading
import time
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import urljoin, urlsplit

from curl_cffi import CurlOpt
from curl_cffi import requests as curl
from curl_cffi.requests.exceptions import RequestException as CurlRequestError
from curl_cffi.requests.exceptions import Timeout as CurlTimeout

from mac_assets.sources.base import GeoBlocked, ProviderError

RETRYABLE_STATUS = frozenset({408, 425, 429, 500, 502, 503, 504})
MAX_RETRY_AFTER_SECONDS = 60.0
MAX_REDIRECTS = 5
USER_AGENT = "mac-assets/0.1 (market absorption capacity research)"


class RateLimiter:
    """At most `rate` requests per second, shared by every caller in the process (a token bucket of 1)."""

    _shared: dict[str, RateLimiter] = {}
    _shared_lock = threading.Lock()

    def __init__(self, rate: float):
        self.interval = 1.0 / rate if rate > 0 else 0.0
        self._next = 0.0
        self._lock = threading.Lock()

    @classmethod
    def shared(cls, name: str, rate: float) -> RateLimiter:
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


class CircuitBreaker:
    """Counts a provider's consecutive failed attempts; at the limit it opens for `cooldown_s`.

    While open, requests fail at once; after the cooldown one attempt is let through (half open): a
    success closes the circuit, a failure opens it again. A run uses one breaker per provider client.
    """

    def __init__(self, failures: int, cooldown_s: float):
        self.limit = failures
        self.cooldown_s = cooldown_s
        self.consecutive = 0
        self.opened_at: float | None = None

    @property
    def is_open(self) -> bool:
        if self.opened_at is None:
            return False
        if time.monotonic() - self.opened_at >= self.cooldown_s:
            self.opened_at = None  # half open: the next attempt decides
            self.consecutive = self.limit - 1
            return False
        return True

    def record(self, ok: bool) -> None:
        if ok:
            self.consecutive, self.opened_at = 0, None
            return
        self.consecutive += 1
        if self.limit > 0 and self.consecutive >= self.limit:
            self.opened_at = time.monotonic()


class BodyTooLarge(Exception):
    """Raised inside the transfer when the decoded body passes the cap; it aborts the transfer."""


@dataclass(frozen=True)
class HttpResponse:
    """A finished, size-capped response: status, headers and the whole (decoded) body."""

    status_code: int
    headers: dict[str, str]
    content: bytes

    @property
    def text(self) -> str:
        return self.content.decode("utf-8", errors="replace")

    def json(self) -> Any:
        return jsonlib.loads(self.content)


@dataclass
class HttpClient:
    """One provider's HTTP: its session, bounds, retry policy, circuit breaker and request counter."""

    provider: str
    timeout_s: float = 60.0
    stall_s: float = 15.0
    connect_timeout_s: float = 10.0
    max_bytes: int = 64 * 1024 * 1024
    max_retries: int = 4
    backoff_s: float = 1.0
    rate_per_s: float = 0.0
    extra_retryable: tuple[int, ...] = ()
    circuit_failures: int = 3
    circuit_cooldown_s: float = 300.0
    impersonate: str | None = None
    requests_made: int = 0
    breaker: CircuitBreaker = field(init=False)

    def __post_init__(self) -> None:
        self.limiter = RateLimiter.shared(self.provider, self.rate_per_s) if self.rate_per_s > 0 else None
        self.breaker = CircuitBreaker(self.circuit_failures, self.circuit_cooldown_s)
        stall = max(1, round(min(self.stall_s, self.timeout_s)))
        options = {CurlOpt.MAXFILESIZE_LARGE: self.max_bytes, CurlOpt.CONNECTTIMEOUT_MS: int(self.connect_timeout_s * 1000),
                   CurlOpt.LOW_SPEED_LIMIT: 1, CurlOpt.LOW_SPEED_TIME: stall}
        self.session = curl.Session(curl_options=options, impersonate=self.impersonate,
                                    headers=None if self.impersonate else {"User-Agent": USER_AGENT})

    def get(self, url: str, series: str, params: dict[str, Any] | None = None,
            headers: dict[str, str] | None = None) -> HttpResponse:
        """GET with retries; returns a 2xx response or raises a typed SourceError."""
        return self.request("GET", url, series, params=params, headers=headers)

    def request(self, method: str, url: str, series: str, params: dict[str, Any] | None = None,
                json: Any = None, headers: dict[str, str] | None = None) -> HttpResponse:
        where = f"{self.provider}/{series}: {method} {urlsplit(url).path}"
        last_problem, last_status, made = "no attempt made", None, 0
        for attempt in range(self.max_retries + 1):
            if self.breaker.is_open:
                if attempt:  # this call's own failures opened it: report them
                    break
                raise ProviderError(f"{where} not attempted: the last {self.breaker.limit} requests to {self.provider} "
                                    f"failed, so its circuit is open for {self.breaker.cooldown_s:g} s")
            if self.limiter:
                self.limiter.wait()
            self.requests_made += 1
            made += 1
            try:
                response = self._follow(method, url, params, json, headers, where)
            except CurlRequestError as exc:
                # The exception text names the host and URL; keep only what kind of failure it was.
                kind = "timeout" if isinstance(exc, CurlTimeout) else type(exc).__name__
                last_problem = f"{kind} (network error or timeout)"
                pause = self.backoff_s * 2**attempt
                self.breaker.record(ok=False)
            else:
                if response.status_code < 300:
                    self.breaker.record(ok=True)
                    return response
                body = _snippet(response, _secrets(params) + _secrets(headers))
                if response.status_code == 451:
                    raise GeoBlocked(f"{where} answered HTTP 451: unavailable from this location ({body[:160]})")
                if response.status_code not in RETRYABLE_STATUS | set(self.extra_retryable):
                    raise ProviderError(f"{where} answered HTTP {response.status_code}: {body}",
                                        status=response.status_code)
                last_problem, last_status = f"HTTP {response.status_code} ({body[:120]})", response.status_code
                self.breaker.record(ok=response.status_code < 500)
                retry_after = _retry_after_seconds(response)
                pause = retry_after if retry_after is not None else self.backoff_s * 2**attempt
            if attempt < self.max_retries and not self.breaker.is_open:
                time.sleep(pause)
        opened = f"; {self.provider}'s circuit is now open" if self.breaker.is_open else ""
        raise ProviderError(f"{where} failed after {made} attempts, last: {last_problem}{opened}", status=last_status)

    def _follow(self, method: str, url: str, params, json, headers, where: str) -> HttpResponse:
        """One attempt, following redirects only while they stay on the same scheme, host and port (so
        neither a key in the query nor one in a header ever reaches another host)."""
        origin = _origin(url)
        for _ in range(MAX_REDIRECTS + 1):
            response = self._once(method, url, params, json, headers, where)
            location = response.headers.get("location")
            if response.status_code not in (301, 302, 303, 307, 308) or not location:
                return response
            target = urljoin(url, location)
            if _origin(target) != origin:
                scheme, host, port = _origin(target)
                raise ProviderError(f"{where} redirected to another host ({scheme}://{host}:{port}); refused, so no "
                                    f"credential or request leaves the configured host. If the provider moved, set its "
                                    f"MAC_{self.provider.upper()}_BASE_URL")
            url, params = target, None  # the Location carries its own query
            if response.status_code == 303:
                method, json = "GET", None
        raise ProviderError(f"{where} redirected more than {MAX_REDIRECTS} times")

    def _once(self, method: str, url: str, params, json, headers, where: str) -> HttpResponse:
        received, parts = [0], []

        def collect(chunk: bytes) -> int:
            received[0] += len(chunk)
            if received[0] > self.max_bytes:
                raise BodyTooLarge()
            parts.append(chunk)
            return len(chunk)

        try:
            response = self.session.request(method, url, params=params, json=json, headers=headers,
                                            timeout=self.timeout_s, allow_redirects=False, content_callback=collect)
        except (BodyTooLarge, CurlRequestError) as exc:
            # libcurl enforces the cap on the wire and on the decoded body, in its own words; our counter
            # catches what it lets through.
            if received[0] > self.max_bytes or "file size" in str(exc).lower():
                raise ProviderError(f"{where}: the response passed {self.max_bytes:,} bytes; refused") from None
            raise
        headers = {k.lower(): v for k, v in response.headers.items()}
        return HttpResponse(response.status_code, headers, b"".join(parts))


def _origin(url: str) -> tuple[str, str, int]:
    parts = urlsplit(url)
    return parts.scheme, (parts.hostname or "").lower(), parts.port or (443 if parts.scheme == "https" else 80)


def _retry_after_seconds(response: HttpResponse) -> float | None:
    value = response.headers.get("retry-after")
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


def _secrets(params: dict[str, Any] | None) -> list[str]:
    """Query or header values that are credentials (api_key, X-Api-Key, token …): a provider may echo them."""
    return [str(v) for k, v in (params or {}).items()
            if v and any(word in k.lower() for word in ("key", "token", "secret"))]


def _snippet(response: HttpResponse, secrets: list[str], limit: int = 200) -> str:
    """The start of an error body, whitespace folded, with any credential replaced by ***."""
    text = " ".join(response.text.split())
    for secret in secrets:
        text = text.replace(secret, "***")
    return text[:limit] if text else "(empty body)"

"""HTTP for every live client: bounded requests, retries with backoff, a shared rate limit, a circuit breaker.

Built on curl_cffi (libcurl) rather than `requests`, because libcurl bounds what `requests` cannot:
- a **total deadline** per attempt (`timeout_s`, cut to what is left of the run's fetch budget, a
  `Deadline`): `requests`' timeout bounds each socket read, so a server that trickles a byte a second
  holds a run forever; libcurl's covers the whole transfer;
- a **stall rule** (`min_rate_bps` over `stall_s`): an attempt whose transfer rate stays below the
  minimum for the whole window ends, so a trickle just fast enough to show life cannot sit on a run;
- a **size cap** (`max_bytes`, libcurl's MAXFILESIZE on the wire and decoded, plus our own count as the
  body arrives) that bounds *every* response for one series in a run, pages and retries included, so an
  endless body, a gzip bomb or a server that pages forever costs at most the cap, not the machine;
- a **request cap** per series and run (`max_requests`: pages, retries and redirects);
- **same-host redirects only**: redirects are followed here, never by the library, and one that
  points at another scheme, host or port is refused, so a key in the query string (FRED's) never
  travels to a host we were not configured for;
- browser **impersonation** (TLS fingerprint and headers) for providers that refuse plain clients
  (Yahoo), from the same library.

Around each request: 429, 408 and 5xx and network errors are retried with exponential backoff,
Retry-After wins when the server sends it, and one that points past the run's fetch budget means "not
this run". Every failed attempt, a 429 or a 503 as much as a timeout, counts towards the provider's
circuit breaker; after `circuit_failures` consecutive ones the circuit opens for the rest of the run
and the provider's remaining requests fail at once. Error messages name the source, the series, the
path and the status, never the host or query, and quote bodies only through `redact.snippet`.
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
from mac_assets.sources.redact import register_credentials, snippet

RETRYABLE_STATUS = frozenset({408, 425, 429, 500, 502, 503, 504})
MAX_RETRY_AFTER_SECONDS = 60.0
MAX_REDIRECTS = 5
USER_AGENT = "mac-assets/0.1 (market absorption capacity research)"
# An attempt needs at least this long to be worth starting: below it the budget is spent.
MIN_ATTEMPT_SECONDS = 0.5


class Deadline:
    """The end of a run's fetch budget: every attempt, pause and wait of the run is cut to what is left."""

    def __init__(self, seconds: float, setting: str):
        self.seconds = seconds
        self.setting = setting
        self.ends = time.monotonic() + seconds

    def remaining(self) -> float:
        return max(0.0, self.ends - time.monotonic())

    def __str__(self) -> str:
        return f"this run's fetch budget of {self.seconds:g} s ({self.setting})"


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
    """Counts a provider's consecutive failed attempts; at the limit it opens for the rest of the run.

    A run builds its clients afresh, so the breaker lives as long as the run. There is no half-open
    retry within a run: a provider that failed `limit` times in a row is asked again by the next run,
    not after a cool-down that would stretch this one. Shared by the threads that use one client (a
    provider's own series and another's fallback), so it takes a lock.
    """

    def __init__(self, failures: int):
        self.limit = failures
        self.consecutive = 0
        self.reason = ""
        self._lock = threading.Lock()

    @property
    def is_open(self) -> bool:
        return bool(self.reason)

    def record(self, ok: bool) -> None:
        with self._lock:
            if ok:
                self.consecutive = 0
                return
            self.consecutive += 1
            if self.limit > 0 and self.consecutive >= self.limit and not self.reason:
                self.reason = f"its last {self.limit} requests failed"

    def open(self, reason: str) -> None:
        with self._lock:
            self.reason = self.reason or reason


class BodyTooLarge(Exception):
    """Raised inside the transfer when the decoded body passes the cap; it aborts the transfer."""


class NotHttp(Exception):
    """The answer could not be read as HTTP at all (random bytes for a status line or headers)."""


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
    """One provider's HTTP: its session, bounds, retry policy, circuit breaker and request counters.

    Its defaults are the live clients' (`client.HttpSource` reads them from here). `max_bytes` bounds what a
    series' parsed answers hold in memory too, several times the bytes: pages of small JSON objects cost
    about ten bytes of Python objects per byte received.

    `deadline` (the run's fetch budget) is set by whoever runs the fetches; without one, attempts are
    bounded by `timeout_s` alone (`make doctor`, tests of one client).
    """

    provider: str
    timeout_s: float = 60.0
    stall_s: float = 15.0
    min_rate_bps: int = 1024
    connect_timeout_s: float = 10.0
    max_bytes: int = 32 * 1024 * 1024
    max_requests: int = 100
    max_retries: int = 4
    backoff_s: float = 1.0
    rate_per_s: float = 0.0
    extra_retryable: tuple[int, ...] = ()
    circuit_failures: int = 3
    impersonate: str | None = None
    deadline: Deadline | None = None
    requests_made: int = 0
    breaker: CircuitBreaker = field(init=False)

    def __post_init__(self) -> None:
        self.limiter = RateLimiter.shared(self.provider, self.rate_per_s) if self.rate_per_s > 0 else None
        self.breaker = CircuitBreaker(self.circuit_failures)
        self._spent: dict[str, list[int]] = {}  # series -> [requests, bytes] in this run
        stall = max(1, round(min(self.stall_s, self.timeout_s)))
        options = {CurlOpt.MAXFILESIZE_LARGE: self.max_bytes, CurlOpt.CONNECTTIMEOUT_MS: int(self.connect_timeout_s * 1000),
                   CurlOpt.LOW_SPEED_LIMIT: max(1, self.min_rate_bps), CurlOpt.LOW_SPEED_TIME: stall}
        self.session = curl.Session(curl_options=options, impersonate=self.impersonate,
                                    headers=None if self.impersonate else {"User-Agent": USER_AGENT})

    def get(self, url: str, series: str, params: dict[str, Any] | None = None,
            headers: dict[str, str] | None = None) -> HttpResponse:
        """GET with retries; returns a 2xx response or raises a typed SourceError."""
        return self.request("GET", url, series, params=params, headers=headers)

    def request(self, method: str, url: str, series: str, params: dict[str, Any] | None = None,
                json: Any = None, headers: dict[str, str] | None = None) -> HttpResponse:
        register_credentials(params)
        register_credentials(headers)
        where = f"{self.provider}/{series}: {method} {urlsplit(url).path}"
        last_problem, last_status, made = "no attempt made", None, 0
        for attempt in range(self.max_retries + 1):
            if self.breaker.is_open:
                if attempt:  # this call's own failures opened it: report them
                    break
                raise ProviderError(f"{where} not attempted: {self.provider}'s circuit is open for the rest of this "
                                    f"run ({self.breaker.reason})")
            if self.deadline is not None and self.deadline.remaining() < MIN_ATTEMPT_SECONDS:
                if attempt:
                    last_problem += f"; {self.deadline} is spent"
                    break
                raise ProviderError(f"{where} not attempted: {self.deadline} is spent")
            if self.limiter:
                self.limiter.wait()
            self.requests_made += 1
            made += 1
            try:
                response = self._follow(method, url, series, params, json, headers, where)
            except (CurlRequestError, NotHttp) as exc:
                # A library error names the host and URL; keep only what kind of failure it was.
                kind = "timeout" if isinstance(exc, CurlTimeout) else type(exc).__name__
                if isinstance(exc, NotHttp):
                    last_problem = "an answer that is not HTTP (unreadable status line or headers)"
                elif kind == "timeout" and self.deadline is not None and self.deadline.remaining() < MIN_ATTEMPT_SECONDS:
                    last_problem = f"no complete answer before the end of {self.deadline}"  # the budget ended it
                else:
                    last_problem = (f"{kind} (network error or timeout: no complete answer in time, or one slower "
                                    f"than {self.min_rate_bps} B/s for {self.stall_s:g} s)")
                pause = self.backoff_s * 2**attempt
                self.breaker.record(ok=False)
            else:
                if response.status_code < 300:
                    self.breaker.record(ok=True)
                    return response
                body = snippet(response.text, 200)
                if response.status_code == 451:
                    raise GeoBlocked(f"{where} answered HTTP 451: unavailable from this location ({body[:160]})")
                if response.status_code not in RETRYABLE_STATUS | set(self.extra_retryable):
                    raise ProviderError(f"{where} answered HTTP {response.status_code}: {body}",
                                        status=response.status_code)
                last_problem, last_status = f"HTTP {response.status_code} ({body[:120]})", response.status_code
                self.breaker.record(ok=False)  # a throttled or unavailable provider is a failing one
                retry_after = _retry_after_seconds(response)
                if retry_after is not None and self.deadline is not None and retry_after > self.deadline.remaining():
                    self.breaker.open(f"it asked for a pause of {retry_after:.0f} s, past the end of {self.deadline}")
                    raise ProviderError(f"{where} answered HTTP {response.status_code} with Retry-After {retry_after:.0f} s, "
                                        f"more than the {self.deadline.remaining():.0f} s left of {self.deadline}: not "
                                        f"this run; {self.provider}'s circuit is open for the rest of it",
                                        status=response.status_code)
                pause = min(retry_after, MAX_RETRY_AFTER_SECONDS) if retry_after is not None else self.backoff_s * 2**attempt
            if attempt < self.max_retries and not self.breaker.is_open:
                if self.deadline is not None and pause > self.deadline.remaining() - MIN_ATTEMPT_SECONDS:
                    last_problem += f"; {self.deadline} ends before the next retry"
                    break
                time.sleep(pause)
        opened = f"; {self.provider}'s circuit is now open for the rest of this run" if self.breaker.is_open else ""
        raise ProviderError(f"{where} failed after {made} attempts, last: {last_problem}{opened}", status=last_status)

    def requests_for(self, series: str) -> int:
        """Requests made for `series` in this run (pages, retries and redirects)."""
        return self._spent.get(series, [0, 0])[0]

    def _time_left(self) -> float:
        """Seconds the next attempt may take: `timeout_s`, cut to what is left of the run's budget."""
        return self.timeout_s if self.deadline is None else min(self.timeout_s, self.deadline.remaining())

    def _follow(self, method: str, url: str, series: str, params, json, headers, where: str) -> HttpResponse:
        """One attempt, following redirects only while they stay on the same scheme, host and port (so
        neither a key in the query nor one in a header ever reaches another host)."""
        origin = _origin(url)
        ends = time.monotonic() + self._time_left()
        for _ in range(MAX_REDIRECTS + 1):
            response = self._once(method, url, series, params, json, headers, where, ends - time.monotonic())
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

    def _once(self, method: str, url: str, series: str, params, json, headers, where: str,
              timeout: float) -> HttpResponse:
        spent = self._spent.setdefault(series, [0, 0])
        if spent[0] >= self.max_requests:
            raise ProviderError(f"{where}: refused, the series has taken {spent[0]} requests in this run, the most "
                                "allowed (max_requests): the provider keeps paging or failing")
        spent[0] += 1
        allowance = self.max_bytes - spent[1]
        received, parts = [0], []

        def collect(chunk: bytes) -> int:
            received[0] += len(chunk)
            if received[0] > allowance:
                raise BodyTooLarge()
            parts.append(chunk)
            return len(chunk)

        try:
            response = self.session.request(method, url, params=params, json=json, headers=headers,
                                            timeout=max(timeout, 0.001), allow_redirects=False,
                                            content_callback=collect)
        except (BodyTooLarge, CurlRequestError) as exc:
            # libcurl enforces the cap on the wire and on the decoded body, in its own words; our counter
            # catches what it lets through, and what earlier pages of the series already took.
            if received[0] > allowance or "file size" in str(exc).lower():
                raise ProviderError(f"{where}: the answers for {series} passed {self.max_bytes:,} bytes; refused "
                                    "(max_bytes bounds every page and retry of a series in a run)") from None
            raise
        except ValueError:
            # curl_cffi parsing random bytes as a status line or headers: a bad answer, not a bug here.
            raise NotHttp() from None
        finally:
            spent[1] += received[0]
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
    return None if seconds != seconds else max(seconds, 0.0)  # NaN is no pause at all

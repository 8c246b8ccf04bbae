"""A live run's fetching: every series of the run at once, one thread per provider, under one deadline.

Raw assets run one after another (one process, one DuckDB writer), so a fetch inside each of them would
ask the providers strictly in turn, and one provider that trickles would hold up every series after it.
Instead the first raw asset of a live run starts a `RunFetch`: one thread per provider asks for that
provider's series of the run in catalog order, so each provider keeps its own rate limit and circuit
breaker and is never asked twice at once, and every client is bound to one `Deadline`, the run's fetch
budget. Each raw asset then takes its own series' result, waiting at most until the deadline: a series
not fetched by then is a ProviderError for that series, missing coverage like any failed fetch, and
the run goes on with what it has.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from datetime import date

from mac_assets.catalog import Series
from mac_assets.sources.base import Fetched, ProviderError, SourceError, fetch_continued
from mac_assets.sources.http import Deadline
from mac_assets.sources.live import LiveSource

# A fetch whose last bytes arrive at the deadline still needs a moment to be parsed and checked.
PARSE_GRACE_SECONDS = 2.0


class RunFetch:
    """The run's series over one window, fetched concurrently per provider from the moment it is made."""

    def __init__(self, source: LiveSource, series: Sequence[Series], start: date, end: date, deadline: Deadline):
        self.source, self.start, self.end, self.deadline = source, start, end, deadline
        source.bound_by(deadline)
        self._stop = threading.Event()
        self._results: dict[str, Future] = {}
        groups: dict[str, list[tuple[Series, Future]]] = {}
        for s in series:
            self._results[s.id] = Future()
            groups.setdefault(s.provider, []).append((s, self._results[s.id]))
        for provider, group in groups.items():
            threading.Thread(target=self._fetch_in_turn, args=(group,), name=f"fetch-{provider}", daemon=True).start()

    def _fetch_in_turn(self, group: list[tuple[Series, Future]]) -> None:
        for series, result in group:
            if self._stop.is_set():
                result.set_exception(ProviderError(f"{series.provider}/{series.id}: not fetched: the run ended first"))
                continue
            try:
                result.set_result(fetch_continued(self.source, series, self.start, self.end))
            except SourceError as exc:  # handed to the raw asset, which reports it as it reports its own
                result.set_exception(_without_frames(exc))
            except BaseException as exc:  # a bug: its traceback goes to the raw asset that fails with it
                result.set_exception(exc)

    def fetch(self, series: Series, start: date, end: date) -> Fetched:
        """The series' result, waiting at most until the deadline. A series or window the run did not plan
        for is fetched here, in the caller's thread, under the same deadline."""
        result = self._results.pop(series.id, None) if (start, end) == (self.start, self.end) else None
        if result is None:
            return fetch_continued(self.source, series, start, end)
        try:
            return result.result(timeout=self.deadline.remaining() + PARSE_GRACE_SECONDS)
        except FutureTimeout:
            raise ProviderError(f"{series.provider}/{series.id}: not fetched within {self.deadline}") from None

    def close(self) -> None:
        """Ask the threads to start nothing more (what they are doing ends by the deadline)."""
        self._stop.set()


def _without_frames(error: SourceError) -> SourceError:
    """The error, and the errors behind it, without their tracebacks: a traceback keeps every local of the
    fetch alive (a series' pages up to its byte cap) for as long as the error waits for its raw asset, and the
    message already says what happened."""
    seen: BaseException | None = error
    while seen is not None:
        seen.__traceback__ = None
        seen = seen.__cause__ or seen.__context__
    return error

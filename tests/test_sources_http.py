"""The HTTP layer every live client shares: retries, Retry-After, geo-blocks, timeouts, rate limits."""

import time

import pytest
from werkzeug import Response

from mac_assets.sources.base import GeoBlocked, ProviderError
from mac_assets.sources.http import HttpClient, RateLimiter


def client(**kw):
    return HttpClient(provider="test", **({"backoff_s": 0.01, "max_retries": 3, "timeout_s": 2} | kw))


def test_429_with_retry_after_is_retried_after_the_servers_pause(httpserver):
    httpserver.expect_ordered_request("/x").respond_with_data("slow down", status=429, headers={"Retry-After": "0.3"})
    httpserver.expect_ordered_request("/x").respond_with_data("ok")
    c = client(backoff_s=30)  # were Retry-After ignored, the backoff would take 30 s
    started = time.monotonic()
    assert c.get(httpserver.url_for("/x"), "S").text == "ok"
    assert 0.3 <= time.monotonic() - started < 5
    assert c.requests_made == 2


def test_429_without_retry_after_backs_off_exponentially(httpserver):
    for _ in range(2):
        httpserver.expect_ordered_request("/x").respond_with_data("", status=429)
    httpserver.expect_ordered_request("/x").respond_with_data("ok")
    c = client(backoff_s=0.1)
    started = time.monotonic()
    c.get(httpserver.url_for("/x"), "S")
    assert time.monotonic() - started >= 0.1 + 0.2
    assert c.requests_made == 3


def test_5xx_exhaustion_raises_a_provider_error_naming_source_series_and_status(httpserver):
    httpserver.expect_request("/x").respond_with_data("down", status=503)
    c = client(circuit_failures=0)  # the retries alone; the breaker has its own tests
    with pytest.raises(ProviderError, match=r"test/SOFR: GET /x failed after 4 attempts, last: HTTP 503"):
        c.get(httpserver.url_for("/x"), "SOFR")
    assert c.requests_made == 4 == len(httpserver.log)


@pytest.mark.parametrize("status, body, error, message", [
    (400, '{"error_message": "Bad Request. The series does not exist."}', ProviderError, "HTTP 400: .*series does not exist"),
    (451, "restricted location", GeoBlocked, "HTTP 451"),  # a typed geo-block
])
def test_client_errors_and_geo_blocks_are_not_retried(httpserver, status, body, error, message):
    httpserver.expect_request("/x").respond_with_data(body, status=status)
    c = client()
    with pytest.raises(error, match=message):
        c.get(httpserver.url_for("/x"), "S")
    assert c.requests_made == 1


def test_timeouts_are_retried_then_reported_without_the_url(httpserver):
    def slow(_request):
        time.sleep(0.5)
        return Response("late")
    httpserver.expect_request("/x").respond_with_handler(slow)
    c = client(timeout_s=0.1, max_retries=1)
    with pytest.raises(ProviderError, match="network error or timeout") as err:
        c.get(httpserver.url_for("/x"), "S", params={"api_key": "SECRET-123"})
    assert c.requests_made == 2
    assert "SECRET-123" not in str(err.value)


def test_errors_never_contain_the_query_string(httpserver):
    httpserver.expect_request("/fred/series/observations").respond_with_data("no", status=500)
    with pytest.raises(ProviderError) as err:
        client(max_retries=0).get(httpserver.url_for("/fred/series/observations"), "SOFR", params={"api_key": "SECRET-123"})
    assert "SECRET-123" not in str(err.value) and "api_key" not in str(err.value)


def test_rate_limiter_spaces_requests_to_the_configured_rate():
    limiter = RateLimiter(rate=10)
    started = time.monotonic()
    for _ in range(6):
        limiter.wait()
    assert time.monotonic() - started >= 0.5


def test_clients_of_one_provider_share_one_limiter():
    a = HttpClient(provider="fred", rate_per_s=2)
    b = HttpClient(provider="fred", rate_per_s=2)
    assert a.limiter is b.limiter

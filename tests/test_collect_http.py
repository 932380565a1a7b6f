"""The polite fetcher, through httpx.MockTransport (no sleeping: sleep and RNG are injected)."""

from __future__ import annotations

import random
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest

from service.collect.base import FetchError, ParseError
from service.collect.http import (
    USER_AGENT,
    Fetcher,
    FetchPolicy,
    HostLimiter,
    backoff_delay,
    retry_after_seconds,
)

URL = "https://feeds.example.org/news.rss"


class Server:
    """A scripted MockTransport: answers from a list, records requests."""

    def __init__(self, *answers: httpx.Response | Exception) -> None:
        self.answers = list(answers)
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        answer = self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]
        if isinstance(answer, Exception):
            raise answer
        return answer


def fetcher(server: Server, sleeps: list[float], **policy: float) -> Fetcher:
    client = httpx.Client(transport=httpx.MockTransport(server))
    return Fetcher(client, policy=FetchPolicy(**policy), limiter=HostLimiter(2), sleep=sleeps.append,
                   rng=random.Random(7))


def test_200_sends_user_agent_and_returns_body_and_validators() -> None:
    server = Server(httpx.Response(200, content=b"<rss/>", headers={"ETag": '"v1"', "Last-Modified":
                                                                    "Thu, 26 Nov 2026 09:00:00 GMT"}))
    response = fetcher(server, []).get(URL)
    assert response.content == b"<rss/>"
    assert (response.etag, response.last_modified) == ('"v1"', "Thu, 26 Nov 2026 09:00:00 GMT")
    assert server.requests[0].headers["User-Agent"] == USER_AGENT
    assert USER_AGENT.startswith("crisiswatch/") and "(+https://github.com/crisiswatch/crisiswatch)" in USER_AGENT


def test_conditional_get_sends_validators_and_reports_304() -> None:
    server = Server(httpx.Response(304))
    response = fetcher(server, []).get(URL, etag='"v1"', last_modified="Thu, 26 Nov 2026 09:00:00 GMT")
    assert response.not_modified and response.content == b""
    assert server.requests[0].headers["If-None-Match"] == '"v1"'
    assert server.requests[0].headers["If-Modified-Since"] == "Thu, 26 Nov 2026 09:00:00 GMT"


def test_429_with_retry_after_waits_what_the_server_asked_then_succeeds() -> None:
    server = Server(httpx.Response(429, headers={"Retry-After": "7"}), httpx.Response(200, content=b"ok"))
    sleeps: list[float] = []
    assert fetcher(server, sleeps).get(URL).content == b"ok"
    assert sleeps == [7.0]
    assert len(server.requests) == 2


def test_503_with_http_date_retry_after_is_measured_against_the_date_header() -> None:
    server = Server(httpx.Response(503, headers={"Retry-After": "Thu, 26 Nov 2026 09:00:12 GMT",
                                                 "Date": "Thu, 26 Nov 2026 09:00:00 GMT"}),
                    httpx.Response(200, content=b"ok"))
    sleeps: list[float] = []
    fetcher(server, sleeps).get(URL)
    assert sleeps == [12.0]


def test_retry_after_longer_than_max_wait_fails_at_once_with_retry_after() -> None:
    server = Server(httpx.Response(429, headers={"Retry-After": "3600"}))
    sleeps: list[float] = []
    with pytest.raises(FetchError) as caught:
        fetcher(server, sleeps, max_wait=60).get(URL)
    assert caught.value.retryable and caught.value.retry_after == 3600.0
    assert "HTTP 429" in str(caught.value) and sleeps == [] and len(server.requests) == 1


def test_an_absurd_retry_after_is_capped_at_a_day_and_the_source_health_is_recorded() -> None:
    # 400 digits: float() makes it infinite, which once overflowed the health record's datetime.
    from datetime import UTC, datetime, timedelta

    from service.collect.health import SourceHealth

    server = Server(httpx.Response(429, headers={"Retry-After": "9" * 400}))
    with pytest.raises(FetchError) as caught:
        fetcher(server, [], max_wait=60).get(URL)
    assert caught.value.retry_after == 86_400.0
    now = datetime(2026, 1, 1, tzinfo=UTC)
    health = SourceHealth(source="s").failed(now, str(caught.value), caught.value.retry_after)
    assert health.retry_after == now + timedelta(days=1) and health.consecutive_failures == 1


def test_500_then_success_backs_off_exponentially_with_jitter() -> None:
    server = Server(httpx.Response(500), httpx.Response(502), httpx.Response(200, content=b"ok"))
    sleeps: list[float] = []
    assert fetcher(server, sleeps, attempts=3, backoff=2.0).get(URL).content == b"ok"
    assert len(sleeps) == 2
    assert 1.0 <= sleeps[0] <= 2.0 and 2.0 <= sleeps[1] <= 4.0


def test_persistent_500_gives_up_after_the_attempts() -> None:
    server = Server(httpx.Response(500))
    with pytest.raises(FetchError) as caught:
        fetcher(server, [], attempts=3).get(URL)
    assert caught.value.retryable and len(server.requests) == 3


def test_404_is_not_retried() -> None:
    server = Server(httpx.Response(404))
    sleeps: list[float] = []
    with pytest.raises(FetchError) as caught:
        fetcher(server, sleeps).get(URL)
    assert not caught.value.retryable and sleeps == [] and len(server.requests) == 1
    assert str(caught.value) == "https://feeds.example.org/news.rss: HTTP 404 Not Found"


def test_timeout_is_retryable_and_translated() -> None:
    server = Server(httpx.ReadTimeout("slow"))
    sleeps: list[float] = []
    with pytest.raises(FetchError) as caught:
        fetcher(server, sleeps, attempts=2, timeout=3).get(URL)
    assert caught.value.retryable and len(sleeps) == 1
    assert str(caught.value) == "https://feeds.example.org/news.rss: timed out after 3s (ReadTimeout)"
    assert isinstance(caught.value.__cause__, httpx.ReadTimeout)


def test_connection_error_then_success() -> None:
    server = Server(httpx.ConnectError("refused"), httpx.Response(200, content=b"ok"))
    assert fetcher(server, []).get(URL).content == b"ok"


def test_error_messages_never_show_the_query_string() -> None:
    server = Server(httpx.Response(403))
    with pytest.raises(FetchError) as caught:
        fetcher(server, []).get("https://api.example.org/search?key=SECRET123", params={"token": "S2"})
    assert "SECRET123" not in str(caught.value) and "S2" not in str(caught.value)


def test_declared_size_over_the_limit_is_refused() -> None:
    server = Server(httpx.Response(200, content=b"x" * 2048))
    with pytest.raises(FetchError, match="exceeds the 1024-byte limit") as caught:
        fetcher(server, [], max_bytes=1024).get(URL)
    assert not caught.value.retryable


def test_streamed_body_over_the_limit_is_refused() -> None:
    def chunks():
        for _ in range(10):
            yield b"y" * 512

    server = Server(httpx.Response(200, content=chunks()))
    with pytest.raises(FetchError, match="exceeds the 1024-byte limit"):
        fetcher(server, [], max_bytes=1024).get(URL)


def test_per_host_limit_blocks_a_third_concurrent_request() -> None:
    limiter = HostLimiter(1)
    client = httpx.Client(transport=httpx.MockTransport(lambda request: httpx.Response(200)))
    limited = Fetcher(client, policy=FetchPolicy(timeout=0.05, attempts=1), limiter=limiter)
    with limiter.slot("feeds.example.org", wait=1):
        with pytest.raises(FetchError, match="1 requests already in flight"):
            limited.get(URL)
        assert limited.get("https://other.example.org/x").status == 200  # other hosts unaffected
    assert limited.get(URL).status == 200


def test_per_host_limit_under_threads() -> None:
    in_flight = 0
    peak = 0
    lock = threading.Lock()
    release = threading.Event()

    def handler(request: httpx.Request) -> httpx.Response:
        nonlocal in_flight, peak
        with lock:
            in_flight += 1
            peak = max(peak, in_flight)
        release.wait(0.05)
        with lock:
            in_flight -= 1
        return httpx.Response(200)

    limited = Fetcher(httpx.Client(transport=httpx.MockTransport(handler)), limiter=HostLimiter(2))
    threads = [threading.Thread(target=limited.get, args=(URL,)) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(5)
    assert peak == 2


def test_json_body_errors_are_parse_errors() -> None:
    server = Server(httpx.Response(200, content=b"{not json"))
    with pytest.raises(ParseError, match="not valid JSON"):
        fetcher(server, []).get(URL).json()


def test_invalid_url_is_a_fetch_error() -> None:
    with pytest.raises(FetchError) as caught:
        fetcher(Server(httpx.Response(200)), []).get("ftp://example.org/x")
    assert not caught.value.retryable


def test_backoff_and_retry_after_helpers() -> None:
    rng = random.Random(1)
    delays = [backoff_delay(n, base=1.0, cap=8.0, rng=rng) for n in range(1, 7)]
    assert all(lo <= d <= hi for d, (lo, hi) in zip(delays, [(0.5, 1), (1, 2), (2, 4), (4, 8), (4, 8), (4, 8)],
                                                           strict=True))
    assert retry_after_seconds(None) is None
    assert retry_after_seconds("soon") is None
    assert retry_after_seconds("Thu, 26 Nov 2026 09:00:00 GMT") is None  # no Date header to compare to


def test_the_url_query_string_is_kept_and_params_are_merged() -> None:
    server = Server(httpx.Response(200))
    fetch = fetcher(server, [])
    fetch.get("https://news.google.com/rss/search?q=peugeot&hl=fr")
    fetch.get("https://news.google.com/rss/search?q=peugeot", params={"hl": "en"})
    assert [str(r.url) for r in server.requests] == ["https://news.google.com/rss/search?q=peugeot&hl=fr",
                                                     "https://news.google.com/rss/search?q=peugeot&hl=en"]


class _SlowHandler(BaseHTTPRequestHandler):
    """A real HTTP server: /slow never answers in time, /feed answers with an ETag and honours it."""

    def do_GET(self) -> None:
        if self.path.startswith("/slow"):
            time.sleep(1.0)
        if self.headers.get("If-None-Match") == '"v1"':
            self.send_response(304)
            self.end_headers()
            return
        body = b"<rss version='2.0'><channel></channel></rss>"
        self.send_response(200)
        self.send_header("ETag", '"v1"')
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:  # silence the test output
        pass


class _QuietServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address) -> None:  # the client hung up on /slow: expected
        pass


@pytest.fixture
def local_server():
    server = _QuietServer(("127.0.0.1", 0), _SlowHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_real_server_timeout_200_and_304(local_server: str) -> None:
    sleeps: list[float] = []
    with httpx.Client() as client:
        real = Fetcher(client, policy=FetchPolicy(timeout=0.2, attempts=2), limiter=HostLimiter(), sleep=sleeps.append,
                       rng=random.Random(1))
        with pytest.raises(FetchError, match=r"timed out after 0\.2s") as caught:
            real.get(f"{local_server}/slow")
        assert caught.value.retryable and len(sleeps) == 1
        first = real.get(f"{local_server}/feed")
        assert first.status == 200 and first.etag == '"v1"'
        assert real.get(f"{local_server}/feed", etag=first.etag).not_modified


def test_connection_refused_is_retryable() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with httpx.Client() as client, pytest.raises(FetchError) as caught:
        Fetcher(client, policy=FetchPolicy(timeout=1, attempts=1)).get(f"http://127.0.0.1:{port}/feed")
    assert caught.value.retryable and "ConnectError" in str(caught.value)

"""A polite HTTP fetcher over an injected :class:`httpx.Client`.

Polite means: a User-Agent naming crisiswatch, a timeout on every read and a deadline on every
response, at most ``per_host`` requests in flight to one host across every collector sharing a
:class:`HostLimiter`, retries with exponential backoff and jitter for retryable failures only,
``Retry-After`` honoured on 429/503, conditional GET (``If-None-Match`` / ``If-Modified-Since``) and
a response size limit, counted after decompression.

Every httpx error is translated here, once, into :class:`~service.collect.base.FetchError`;
messages name the URL without its query string (queries may carry API keys).
"""

from __future__ import annotations

import random
import threading
import time
import zlib
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from typing import Any

import httpx

from service import __version__
from service.collect.base import FetchError, load_json

USER_AGENT = f"crisiswatch/{__version__} (+https://github.com/crisiswatch/crisiswatch)"
RETRYABLE_STATUS = frozenset({408, 425, 429, 500, 502, 503, 504})


@dataclass(frozen=True, kw_only=True, slots=True)
class FetchPolicy:
    """How hard and how long one request may try."""

    timeout: float = 20.0
    """Seconds for connecting, and for each read, write and pool wait."""
    attempts: int = 3
    """Tries per request, the first included; only retryable failures are tried again."""
    backoff: float = 1.0
    """Base delay in seconds: retry n waits about ``backoff * 2**(n-1)`` (half of it jittered)."""
    backoff_cap: float = 30.0
    max_wait: float = 60.0
    """Longest ``Retry-After`` honoured in line; a longer one fails the run with ``retry_after``
    set, so the runner skips the source until then instead of holding a worker thread."""
    max_bytes: int = 5 * 1024 * 1024
    """Largest body accepted, counted after decompression (a small gzip body can inflate a thousandfold)."""
    deadline: float | None = None
    """Seconds for one whole response, body included (``None``: four times ``timeout``): a server
    trickling its body, each read within ``timeout``, must not hold a worker and a host slot for long."""


@dataclass(frozen=True, kw_only=True, slots=True)
class Response:
    """A successful (2xx) or not-modified (304) answer."""

    url: str
    status: int
    content: bytes
    headers: Mapping[str, str] = field(default_factory=dict)

    @property
    def not_modified(self) -> bool:
        return self.status == 304

    @property
    def etag(self) -> str | None:
        return self.headers.get("etag")

    @property
    def last_modified(self) -> str | None:
        return self.headers.get("last-modified")

    def json(self) -> Any:
        """The body as JSON; :class:`ParseError` when it is not."""
        return load_json(self.content, what=f"{self.url}: response")


class HostLimiter:
    """At most ``per_host`` concurrent requests per host name (thread-safe, shared by fetchers)."""

    def __init__(self, per_host: int = 2) -> None:
        if per_host < 1:
            raise ValueError("per_host must be at least 1")
        self.per_host = per_host
        self._lock = threading.Lock()
        self._slots: dict[str, threading.BoundedSemaphore] = {}

    @contextmanager
    def slot(self, host: str, *, wait: float) -> Iterator[None]:
        with self._lock:
            semaphore = self._slots.setdefault(host, threading.BoundedSemaphore(self.per_host))
        if not semaphore.acquire(timeout=wait):
            raise FetchError(f"{host}: {self.per_host} requests already in flight, gave up after {wait:g}s",
                             retryable=True)
        try:
            yield
        finally:
            semaphore.release()


DEFAULT_LIMITER = HostLimiter()


def backoff_delay(attempt: int, *, base: float, cap: float, rng: random.Random) -> float:
    """Seconds to wait after failed try ``attempt`` (1-based): exponential, capped, half jittered.

    >>> backoff_delay(3, base=1.0, cap=30.0, rng=random.Random(0)) <= 4.0
    True
    """
    ceiling = min(cap, base * 2 ** max(0, attempt - 1))
    return ceiling / 2 + rng.uniform(0, ceiling / 2)


MAX_RETRY_AFTER = 86_400.0
"""The longest ``Retry-After`` honoured (seconds): a source asking for more is asked again a day later."""


def retry_after_seconds(value: str | None, date_header: str | None = None) -> float | None:
    """Seconds from a ``Retry-After`` header: delta seconds, or an HTTP date measured against the
    response's own ``Date`` header (never our wall clock). ``None`` when absent or unreadable.

    >>> retry_after_seconds("120")
    120.0
    >>> retry_after_seconds("Wed, 21 Oct 2015 07:28:30 GMT", "Wed, 21 Oct 2015 07:28:00 GMT")
    30.0
    >>> retry_after_seconds("9" * 400)  # at most a day: a year-long wait is a server's mistake
    86400.0
    """
    if not value:
        return None
    value = value.strip()
    if value.isascii() and value.isdigit():
        return min(float(value), MAX_RETRY_AFTER)  # float() of 400 digits is inf, never an error
    if not date_header:
        return None
    try:
        delta = parsedate_to_datetime(value) - parsedate_to_datetime(date_header)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    return min(max(0.0, delta.total_seconds()), MAX_RETRY_AFTER)


def display_url(url: httpx.URL | str) -> str:
    """The URL without query string or credentials, for messages and logs."""
    try:
        parsed = httpx.URL(str(url))
    except (httpx.InvalidURL, TypeError):
        return "<invalid url>"
    return f"{parsed.scheme}://{parsed.host}{parsed.path}"


class Fetcher:
    """GET with the politeness rules above. ``sleep``, ``monotonic`` (the response deadline's clock)
    and ``rng`` are injected for tests."""

    def __init__(
        self,
        client: httpx.Client,
        *,
        policy: FetchPolicy | None = None,
        limiter: HostLimiter | None = None,
        sleep: Callable[[float], None] = time.sleep,
        monotonic: Callable[[], float] = time.monotonic,
        rng: random.Random | None = None,
    ) -> None:
        self.client = client
        self.policy = policy or FetchPolicy()
        self.limiter = limiter or DEFAULT_LIMITER
        self._sleep = sleep
        self._monotonic = monotonic
        self._rng = rng or random.Random()

    def get(
        self,
        url: str,
        *,
        params: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
        etag: str | None = None,
        last_modified: str | None = None,
    ) -> Response:
        """GET ``url``; returns a 2xx or 304 :class:`Response`, raises :class:`FetchError`."""
        request_headers = dict(headers or {})
        if etag:
            request_headers["If-None-Match"] = etag
        if last_modified:
            request_headers["If-Modified-Since"] = last_modified
        return self._with_retries("GET", url, params, request_headers, None)

    def post_form(self, url: str, *, form: Mapping[str, str], headers: Mapping[str, str] | None = None) -> Response:
        """POST ``form`` URL-encoded to ``url`` (OAuth token endpoints), with the same politeness,
        retries and error translation as :meth:`get`. Header values never appear in errors."""
        return self._with_retries("POST", url, None, dict(headers or {}), form)

    def _with_retries(self, method: str, url: str, params: Mapping[str, Any] | None, headers: dict[str, str],
                      form: Mapping[str, str] | None) -> Response:
        request_headers = {"User-Agent": USER_AGENT, "Accept-Encoding": "gzip, deflate", **headers}
        policy = self.policy
        for attempt in range(1, policy.attempts + 1):
            try:
                return self._once(method, url, params, request_headers, form)
            except FetchError as error:
                if not error.retryable or attempt == policy.attempts:
                    raise
                delay = error.retry_after
                if delay is None:
                    delay = backoff_delay(attempt, base=policy.backoff, cap=policy.backoff_cap, rng=self._rng)
                if delay > policy.max_wait:
                    raise
                self._sleep(delay)
        raise AssertionError("unreachable")  # pragma: no cover

    def _once(self, method: str, url: str, params: Mapping[str, Any] | None, headers: dict[str, str],
              form: Mapping[str, str] | None = None) -> Response:
        shown = display_url(url)
        timeout = self.policy.timeout
        try:
            parsed = httpx.URL(url)
        except httpx.InvalidURL as exc:
            raise FetchError(f"{shown} is not a valid URL ({exc})", retryable=False) from exc
        if parsed.scheme not in ("http", "https") or not parsed.host:
            raise FetchError(f"{shown}: only http:// and https:// URLs are fetched", retryable=False)
        host = parsed.host
        if params:  # merged, not replacing a query string already in the configured URL
            parsed = parsed.copy_merge_params({key: str(value) for key, value in params.items()})
        with self.limiter.slot(host, wait=timeout):
            started = self._monotonic()
            try:
                with self.client.stream(method, parsed, headers=headers, data=form, timeout=timeout,
                                        follow_redirects=method == "GET") as answer:
                    return self._read(shown, answer, started)
            except httpx.TimeoutException as exc:
                raise FetchError(f"{shown}: timed out after {timeout:g}s ({type(exc).__name__})",
                                 retryable=True) from exc
            except (httpx.InvalidURL, httpx.UnsupportedProtocol, httpx.TooManyRedirects) as exc:
                raise FetchError(f"{shown}: {exc}", retryable=False) from exc
            except httpx.DecodingError as exc:
                raise FetchError(f"{shown}: undecodable response body ({exc})", retryable=False) from exc
            except (httpx.HTTPError, httpx.StreamError) as exc:
                raise FetchError(f"{shown}: {type(exc).__name__}: {exc or 'connection failed'}",
                                 retryable=True) from exc

    def _read(self, shown: str, answer: httpx.Response, started: float) -> Response:
        headers = {key.lower(): value for key, value in answer.headers.items()}
        status = answer.status_code
        if status == 304:
            return Response(url=shown, status=status, content=b"", headers=headers)
        if status >= 300:
            retryable = status in RETRYABLE_STATUS
            wait = retry_after_seconds(headers.get("retry-after"), headers.get("date")) if retryable else None
            hint = f", retry after {wait:g}s" if wait is not None else ""
            raise FetchError(f"{shown}: HTTP {status} {answer.reason_phrase}{hint}", retryable=retryable,
                             retry_after=wait, status=status)
        limit = self.policy.max_bytes
        declared = headers.get("content-length", "")
        if declared.isascii() and declared.isdigit() and int(declared) > limit:
            raise FetchError(f"{shown}: response of {int(declared)} bytes exceeds the {limit}-byte limit",
                             retryable=False)
        deadline = self.policy.deadline or 4 * self.policy.timeout
        chunks: list[bytes] = []
        size = 0
        for chunk in _decoded(answer, limit):
            size += len(chunk)
            if size > limit:
                raise FetchError(f"{shown}: response exceeds the {limit}-byte limit", retryable=False)
            if self._monotonic() - started > deadline:
                raise FetchError(f"{shown}: the response took longer than {deadline:g}s", retryable=True)
            chunks.append(chunk)
        return Response(url=shown, status=status, content=b"".join(chunks), headers=headers)


_WBITS = {"gzip": zlib.MAX_WBITS | 16, "x-gzip": zlib.MAX_WBITS | 16, "deflate": zlib.MAX_WBITS}


def _decoded(answer: httpx.Response, limit: int) -> Iterator[bytes]:
    """The body's decoded chunks, a gzip or deflate body inflated at most ``limit + 1`` bytes at a time
    (httpx inflates each network read whole: 64 KB of gzip can become 64 MB before any check). Other
    encodings (rare: we only accept gzip and deflate), and bodies already in memory (test transports),
    are left to httpx."""
    wbits = _WBITS.get(answer.headers.get("content-encoding", "").strip().lower())
    if wbits is None or answer.is_stream_consumed:
        yield from answer.iter_bytes()
        return
    inflater = zlib.decompressobj(wbits)
    started = False
    for raw in answer.iter_raw():
        data = raw
        while data and not inflater.eof:
            try:
                out = inflater.decompress(data, limit + 1)
            except zlib.error as exc:
                if wbits != zlib.MAX_WBITS or started:
                    raise httpx.DecodingError(str(exc)) from exc
                inflater, wbits = zlib.decompressobj(-zlib.MAX_WBITS), -zlib.MAX_WBITS  # deflate without header
                continue
            started = True
            yield out
            data = inflater.unconsumed_tail
    yield inflater.flush()

"""Shared machinery of the collectors of JSON HTTP APIs.

A subclass says which requests to make for a tick (:meth:`JsonApiCollector.requests`) and how to
turn one response body into mentions (:meth:`JsonApiCollector.parse`, a pure module-level parser);
this class fetches, parses and keeps only new mentions with :mod:`service.collect.cursor`.

When a tick makes several requests (one per model and year, say) and only some fail, the mentions of
the others are kept and the failures logged; the run fails only when every request failed.

Conditional GET: the ``ETag`` / ``Last-Modified`` of each request's first page are kept in the
cursor (``validators``, keyed by a digest of the URL and parameters) and sent back on the next run;
a ``304`` answer means nothing new for that request.

Pagination: a subclass that can follow pages implements :meth:`JsonApiCollector.next_page`; pages
are followed up to the source's ``max_pages`` option, and never past a page that brought nothing new
(APIs are asked for newest first, so an all-seen page means the rest was collected before). A
request whose later page failed (retryable) is listed under ``resume`` in the cursor: the next run
fetches it again without a conditional GET and past pages already seen, so the failed page's
mentions are not skipped behind an unchanged first page. With the request, ``resume`` keeps the
``newest`` it was built from: a request that asks for what is newer than ``newest`` (Hacker News,
YouTube) is made again as it was, since the mentions kept from its first pages moved ``newest`` past
the failed page's. Collectors that keep their own gaps (:class:`~service.collect.chains.ChainedCollector`)
turn this off.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from service.collect.base import CollectError, CollectResult, ParseError, load_json
from service.collect.cursor import select_new
from service.collect.http import Fetcher, Response
from service.domain import Mention

if TYPE_CHECKING:
    from service.config import SourceConfig

log = logging.getLogger(__name__)

Validators = tuple[str | None, str | None]
"""The ``ETag`` and ``Last-Modified`` of a first page, sent back as a conditional GET."""


@dataclass(frozen=True, kw_only=True, slots=True)
class ApiRequest:
    url: str
    params: Mapping[str, Any] = field(default_factory=dict)
    headers: Mapping[str, str] = field(default_factory=dict)


class JsonApiCollector:
    """Base class: fetch every request of the tick, parse, keep what is new."""

    resumes_failed_pages = True
    """Walk a request again at the next run when one of its later pages failed (see the module doc)."""

    def __init__(self, source: SourceConfig, fetcher: Fetcher) -> None:
        self.name = source.name
        self.source = source
        self.fetcher = fetcher
        self.headers: Mapping[str, str] = source.options.get("headers") or {}

    def requests(self, state: Mapping[str, Any], now: datetime) -> list[ApiRequest]:
        raise NotImplementedError

    def parse(self, data: bytes) -> list[Mention]:
        raise NotImplementedError

    def next_page(self, request: ApiRequest, payload: Any) -> ApiRequest | None:
        """The request for the page after ``payload`` (the decoded answer to ``request``), if any."""
        return None

    def next_request(self, request: ApiRequest, response: Response, payload: Any) -> ApiRequest | None:
        """Like :meth:`next_page`, for APIs that say where the next page is in a header."""
        return self.next_page(request, payload)

    def fetch(self, request: ApiRequest, now: datetime, validators: Validators = (None, None)) -> Response:
        """One page (subclasses add credentials here); ``validators`` (ETag, Last-Modified) make it a
        conditional GET."""
        return self.fetcher.get(request.url, params=request.params, headers={**self.headers, **request.headers},
                                etag=validators[0], last_modified=validators[1])

    def extra_cursor(self, responses: list[Response], state: Mapping[str, Any]) -> dict[str, Any]:
        """Type-specific cursor keys to keep besides ``recent`` and ``newest`` (none by default)."""
        return {}

    def collect(self, cursor: dict[str, Any] | None, now: datetime) -> CollectResult:
        state = cursor or {}
        resume = _resume(state) if self.resumes_failed_pages else {}  # requests() may set up state (chains)
        tick = _Tick(seen=set(state.get("recent") or ()), known=_validators(state), resume=resume)
        requests = [(request, state.get("newest")) for request in self.requests(state, now)]
        made = {request_key(request) for request, _ in requests}
        for base in dict.fromkeys(base for key, base in resume.items() if key not in made):
            requests += [(request, base) for request in self.requests({**state, "newest": base}, now)
                         if request_key(request) in resume and request_key(request) not in made]
        for first, base in requests:
            self._walk(first, base, tick, now)
        if tick.errors and not tick.answered:
            raise tick.errors[0]
        for error in tick.errors:
            log.warning('source "%s": one of %d requests failed: %s', self.name, len(requests), error)
        fresh, next_cursor = select_new(tick.mentions, state, now=now)
        next_cursor.update(self.extra_cursor(tick.responses, state))
        if tick.validators:
            next_cursor["validators"] = tick.validators
        if tick.unfinished:
            next_cursor["resume"] = tick.unfinished
        return CollectResult(mentions=tuple(fresh), cursor=next_cursor)

    def _walk(self, first: ApiRequest, base: Any, tick: _Tick, now: datetime) -> None:
        """Fetch ``first`` (built from the cursor's ``newest`` ``base``) and the pages it leads to, into ``tick``."""
        key = request_key(first)
        known = tick.known.get(key)
        resuming = key in tick.resume
        request: ApiRequest | None = first
        for page in range(self.source.options.get("max_pages", 1)):
            if request is None:
                break
            try:
                conditional = page == 0 and not resuming
                response = self.fetch(request, now, (known or (None, None)) if conditional else (None, None))
                if page == 0 and response.not_modified:
                    tick.validators[key] = list(known or (None, None))
                    tick.answered += 1
                    break
                found = self.parse(response.content)
            except CollectError as error:
                tick.errors.append(error)
                if self.resumes_failed_pages and error.retryable and (page > 0 or resuming):
                    tick.unfinished[key] = base  # made again next run as it was, unconditionally
                if page == 0 and known is not None:
                    tick.validators[key] = list(known)
                break
            if page == 0 and (response.etag or response.last_modified):
                tick.validators[key] = [response.etag, response.last_modified]
            tick.answered += 1
            tick.responses.append(response)
            tick.mentions.extend(found)
            if not found or (not resuming and all(mention.id in tick.seen for mention in found)):
                break
            request = self._following(request, response, page)

    def _following(self, request: ApiRequest, response: Response, page: int) -> ApiRequest | None:
        if page + 1 >= self.source.options.get("max_pages", 1):
            return None
        try:
            return self.next_request(request, response, load_json(response.content))
        except ParseError:  # pragma: no cover - parse() already decoded this body
            return None


@dataclass(kw_only=True, slots=True)
class _Tick:
    """What one run gathered over its requests."""

    seen: set[str]
    known: dict[str, Validators]
    resume: dict[str, Any]
    mentions: list[Mention] = field(default_factory=list)
    responses: list[Response] = field(default_factory=list)
    errors: list[CollectError] = field(default_factory=list)
    validators: dict[str, list[str | None]] = field(default_factory=dict)
    unfinished: dict[str, Any] = field(default_factory=dict)
    answered: int = 0


def _resume(state: Mapping[str, Any]) -> dict[str, Any]:
    """The cursor's unfinished requests: key -> the ``newest`` each was built from."""
    resume = state.get("resume")
    if not isinstance(resume, Mapping):
        return {}
    return {key: base if isinstance(base, str) else None for key, base in resume.items() if isinstance(key, str)}


def request_key(request: ApiRequest) -> str:
    """A short stable key of a request (URL and parameters), for the cursor. A digest, so that API
    keys in parameters never reach the store."""
    text = json.dumps([request.url, sorted((str(k), str(v)) for k, v in request.params.items())])
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:20]


def _validators(state: Mapping[str, Any]) -> dict[str, Validators]:
    stored = state.get("validators")
    if not isinstance(stored, dict):
        return {}
    return {key: (value[0] if isinstance(value[0], str) else None, value[1] if isinstance(value[1], str) else None)
            for key, value in stored.items() if isinstance(key, str) and isinstance(value, list) and len(value) == 2}

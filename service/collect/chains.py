"""Which page chains of a paged API run stopped before the statuses already seen.

A chain is a run's first request and the pages it leads to. It is *finished* when it reached an
empty page, a page of mentions already seen, its last page, or an error that retrying will not
cure; else it is *unfinished*, at the request that failed (retryable) or after the response of the
last page ``max_pages`` allowed. Collectors whose cursor moves a lower bound forward (Mastodon
``since_id``, X ``since_id``) keep unfinished chains as gaps, so the next run fetches what a newer
bound would otherwise skip. The collector calls :meth:`fetching` / :meth:`fetched` around each
fetch, :meth:`parsed` with each page's mentions and :meth:`following` with each next request.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from service.collect.base import CollectError, ParseError
from service.collect.http import Response
from service.collect.jsonapi import ApiRequest, JsonApiCollector
from service.domain import Mention


class PageChains:
    """What became of each page chain of a run (a first request, then the pages it links to):
    finished (an empty page, statuses already seen, the last page, or an error that retrying will
    not cure), or unfinished at a request that failed (retryable) or after the response of the
    last page ``max_pages`` allowed."""

    def __init__(self, seen: frozenset[str]) -> None:
        self.seen = seen
        self._state: list[tuple[ApiRequest, Response | None] | None] = []

    def fetching(self, request: ApiRequest) -> None:
        current = self._state[-1] if self._state else None
        if current is None or current[0] is not request or current[1] is not None:
            self._state.append((request, None))  # a first request: a new chain

    def fetched(self, request: ApiRequest, response: Response) -> None:
        self._state[-1] = None if response.not_modified else (request, response)

    def finished(self) -> None:
        if self._state:
            self._state[-1] = None

    def parsed(self, found: list[Mention]) -> list[Mention]:
        if not found or all(mention.id in self.seen for mention in found):
            self.finished()
        return found

    def following(self, request: ApiRequest | None) -> ApiRequest | None:
        if self._state:
            self._state[-1] = None if request is None else (request, None)
        return request

    def unfinished(self) -> list[tuple[ApiRequest, Response | None]]:
        return [state for state in self._state if state is not None]


class ChainedCollector(JsonApiCollector):
    """A JSON API collector whose fetches and parses keep its :class:`PageChains` informed (Mastodon, X):
    a request that fails for good, or a page that does not parse, ends its chain; one that may work
    on a retry leaves the chain unfinished, to be resumed by the next run."""

    _chains: PageChains
    resumes_failed_pages = False  # the chains keep their own gaps

    def fetch(self, request: ApiRequest, now: datetime, validators: tuple[str | None, str | None] = (None, None)
              ) -> Response:
        self._chains.fetching(request)
        try:
            response = super().fetch(request, now, validators)
        except CollectError as error:
            if not error.retryable:
                self._chains.finished()
            raise
        self._chains.fetched(request, response)
        return response

    def parsed(self, parse: Callable[[], list[Mention]]) -> list[Mention]:
        """``parse()``'s mentions, told to the chains; a page that does not parse ends its chain."""
        try:
            found = parse()
        except ParseError:
            self._chains.finished()  # the same page would fail again
            raise
        return self._chains.parsed(found)

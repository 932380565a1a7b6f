"""Mastodon: public hashtag timelines (``/api/v1/timelines/tag/<tag>``) and status search
(``/api/v2/search?type=statuses``, which most instances only answer with an access ``token``).

One mention per status: id ``mastodon:<uri>`` (the ActivityPub URI is the same on every instance),
text the content warning + content as plain text, ``lang`` the status language, ``reach`` the
author's followers, ``engagement`` boosts + favourites + replies. A boost is marked as a duplicate
of the boosted status.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from datetime import datetime
from operator import attrgetter
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

import httpx
import msgspec

from service.collect.base import (
    ParseError,
    as_list,
    as_mapping,
    join_text,
    lang_code,
    load_json,
    parse_time,
)
from service.collect.chains import ChainedCollector, PageChains
from service.collect.cleaner import Cleaner, Memo
from service.collect.http import Response, display_url
from service.collect.jsonapi import ApiRequest
from service.collect.make import Origin
from service.collect.typed import TYPED_FAILED, count_of, loose, total_of
from service.domain import Mention

if TYPE_CHECKING:
    from service.config import SourceConfig


class Shown(msgspec.Struct, gc=False):
    """The fields of a status that its mention shows (the boosted status's, for a boost)."""

    uri: str | None = None
    url: str | None = None
    spoiler_text: str | None = None
    content: str | None = None
    language: str | None = None
    reblogs_count: int | None = None
    favourites_count: int | None = None
    replies_count: int | None = None


class Account(msgspec.Struct, gc=False):
    acct: str | None = None
    followers_count: int | None = None


class Status(Shown, gc=False):
    """The fields of a status that a mention is made of."""

    created_at: str | None = None
    reblog: Shown | None = None
    """``None`` unless the status is a boost of a (non-empty) status."""
    account: Account = msgspec.field(default_factory=Account)


class _Search(msgspec.Struct, gc=False):
    statuses: list[Status]


_TYPED = msgspec.json.Decoder(list[Status] | _Search)
_EMPTY_SHOWN = Shown()
_REBLOG = attrgetter("reblog")


def _statuses(data: bytes) -> list[Status]:
    """The statuses of a timeline or search payload: typed, else from plain JSON values."""
    try:
        decoded = _TYPED.decode(data)
    except TYPED_FAILED:
        pass
    else:
        statuses = decoded.statuses if isinstance(decoded, _Search) else decoded
        # A boost of an object without any field read here: an empty one ({}) is no boost, another
        # one is; only the plain values tell them apart (real boosts always carry a uri).
        if _EMPTY_SHOWN not in map(_REBLOG, statuses):
            return statuses
    payload = load_json(data, what="Mastodon response")
    found = as_mapping(payload).get("statuses") if isinstance(payload, Mapping) else payload
    return [_loose_status(status) for status in as_list(found, what="Mastodon statuses")]


def _loose_status(value: Any) -> Status:
    status = loose(Status, value)
    boosted = as_mapping(value).get("reblog")
    status.reblog = loose(Shown, boosted) if isinstance(boosted, dict) and boosted else None
    return status


def parse_mastodon(data: bytes, *, source: SourceConfig) -> list[Mention]:
    """Mentions of a list of statuses, or of the ``statuses`` of a v2 search result."""
    origin = Origin.of(source)
    # No ascii_printable scan of the payload: a status's HTML escapes every quote of its attributes,
    # so that scan stops at dozens of backslashes per status, and costs more than testing the few
    # fields read here one by one (what a Cleaner without ``data`` does).
    clean = Cleaner()
    langs = Memo(lang_code)  # a timeline is in a few languages
    mentions = []
    for status in _statuses(data):
        found = _mention(status, origin, clean, langs)
        if found is not None:
            mentions.append(found)
    return mentions


def _mention(status: Status, origin: Origin, clean: Cleaner, langs: Memo) -> Mention | None:
    uri = clean.line(status.uri) or clean.line(status.url)
    published = parse_time(status.created_at)
    if not uri or published is None:
        return None
    boosted = status.reblog
    shown = boosted or status
    warning = shown.spoiler_text  # (most often none: "", and then the text is the content alone)
    content = clean.text(shown.content)
    text = content if warning == "" or warning is None else join_text(clean.line(warning), content)
    if not text:
        return None
    account = status.account
    original = clean.line(boosted.uri) if boosted is not None else ""
    language = shown.language
    return Mention(
        id=f"mastodon:{uri}", published_at=published, text=text, source=origin.source, kind=origin.kind,
        brand=origin.brand,
        lang=origin.lang or (langs[language] if type(language) is str else lang_code(language)),
        author=clean.line(account.acct) or None, url=clean.line(shown.url) or uri,
        reach=count_of(account.followers_count),
        engagement=total_of(shown.reblogs_count, shown.favourites_count, shown.replies_count),
        duplicate_of=f"mastodon:{original}" if original else None)


class MastodonCollector(ChainedCollector):
    """The newest statuses of each of ``hashtags`` and of the ``query`` search on ``instance``.

    Paging (up to ``max_pages`` per request and run): a hashtag timeline follows the ``Link``
    header's ``rel="next"`` URL (older statuses, ``max_id``), on the same instance only, else the
    ``max_id`` of the page's last status; a search pages with ``max_id`` (the v2 search answer has
    no ``Link`` header). The newest status id seen per timeline or search is kept in the cursor
    (``since``) and sent again after a restart: ``since_id`` for timelines, ``min_id`` for the
    search, so that the instance only answers with newer statuses. A page chain that stopped
    before statuses already seen (a page failed; or ``max_pages`` was reached while a ``since``
    was known) is kept in the cursor (``gaps``: its ``max_id`` and lower bound) and resumed by the
    next runs, so that a newer ``since`` never skips the statuses between.
    """

    _paths: frozenset[str] | set[str] = frozenset()
    """The timelines and search of the current run (cursor entries of others are dropped)."""

    MAX_GAPS = 4
    """Most unfinished page chains kept per timeline or search (the newest ones)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._chains = PageChains(frozenset())

    def requests(self, state: Mapping[str, Any], now: datetime) -> list[ApiRequest]:
        options = self.source.options
        base = options["instance"].rstrip("/")
        headers = {"Authorization": f"Bearer {options['token']}"} if options.get("token") else {}
        limit = options.get("limit", 40)
        since = _since(state)
        requests = []
        for tag in options.get("hashtags") or ():
            url = f"{base}/api/v1/timelines/tag/{quote(tag.lstrip('#'), safe='')}"
            params: dict[str, Any] = {"limit": limit}
            if _path(url) in since:
                params["since_id"] = since[_path(url)]
            requests.append(ApiRequest(url=url, params=params, headers=headers))
        if options.get("query"):
            url = f"{base}/api/v2/search"
            params = {"q": options["query"], "type": "statuses", "limit": limit, "resolve": "false"}
            if _path(url) in since:
                params["min_id"] = since[_path(url)]
            requests.append(ApiRequest(url=url, headers=headers, params=params))
        self._paths = {_path(request.url) for request in requests}
        gaps = _gaps(state)
        requests.extend(ApiRequest(url=request.url, headers=headers, params={
            **{key: value for key, value in request.params.items() if key not in _GAP_PARAMS}, **gap})
            for request in list(requests) for gap in gaps.get(_path(request.url), ()))
        self._chains = PageChains(frozenset(state.get("recent") or ()))
        return requests

    def next_request(self, request: ApiRequest, response: Response, payload: Any) -> ApiRequest | None:
        return self._chains.following(self._after(request, response, payload))

    def _after(self, request: ApiRequest, response: Response, payload: Any) -> ApiRequest | None:
        following = next_link(response.headers.get("link"), request.url)
        if following is not None:
            url, params = following
            return replace(request, url=url, params={**request.params, **params})
        return self.next_page(request, payload)

    def next_page(self, request: ApiRequest, payload: Any) -> ApiRequest | None:
        """Older statuses (``max_id`` below the page's oldest status)."""
        statuses = as_mapping(payload).get("statuses") if isinstance(payload, dict) else payload
        if not isinstance(statuses, list) or not statuses:
            return None
        oldest = min((status_id for status in statuses if (status_id := _status_id(status)) is not None),
                     key=_order, default=None)
        return replace(request, params={**request.params, "max_id": oldest}) if oldest else None

    def parse(self, data: bytes) -> list[Mention]:
        return self.parsed(lambda: parse_mastodon(data, source=self.source))

    def extra_cursor(self, responses: list[Response], state: Mapping[str, Any]) -> dict[str, Any]:
        """``since``: the newest status id per timeline or search; ``gaps``: where a page chain
        stopped (an error, or ``max_pages``) before it reached statuses already seen, so that the
        next run fetches the older statuses it missed (a newer ``since`` alone would skip them)."""
        gaps: dict[str, list[dict[str, str]]] = {}
        for request, response in self._chains.unfinished():
            if response is not None:  # stopped at max_pages: resume at the page after this one,
                if not ("since_id" in request.params or "min_id" in request.params):
                    continue  # down to the last status seen (none yet: the backlog is not fetched)
                try:
                    following = self._after(request, response, load_json(response.content))
                except ParseError:  # pragma: no cover - parse() already decoded this body
                    continue
                if following is None:
                    continue
                request = following
            gap = {key: str(request.params[key]) for key in _GAP_PARAMS if key in request.params}
            path = _path(request.url)
            if "max_id" in gap and path in self._paths and gap not in gaps.setdefault(path, []):
                gaps[path].append(gap)
        cursor = self._since_cursor(responses, state)
        kept = {path: sorted(found, key=lambda gap: _order(gap["max_id"]))[-self.MAX_GAPS:]
                for path, found in gaps.items() if found}
        if kept:
            cursor["gaps"] = kept
        return cursor

    def _since_cursor(self, responses: list[Response], state: Mapping[str, Any]) -> dict[str, Any]:
        since = {key: value for key, value in _since(state).items() if key in self._paths}  # hashtags dropped
        for response in responses:
            try:
                payload = load_json(response.content)
            except ParseError:  # pragma: no cover - parse() already decoded this body
                continue
            statuses = payload.get("statuses") if isinstance(payload, dict) else payload
            ids = [status_id for status in statuses or () if (status_id := _status_id(status)) is not None] \
                if isinstance(statuses, list) else []
            key = _path(response.url)
            newest = max([*ids, since[key]] if key in since else ids, key=_order, default=None)
            if newest is not None:
                since[key] = newest
        return {"since": since} if since else {}


def next_link(header: str | None, current: str) -> tuple[str, dict[str, str]] | None:
    """The URL (without query) and query parameters of the ``rel="next"`` link of a ``Link``
    header, when it points to the same scheme and host as ``current`` (a token is never sent
    elsewhere).

    >>> next_link('<https://m.s/api/v1/timelines/tag/x?max_id=7>; rel="next", <https://m.s/a?min_id=9>; rel="prev"',
    ...           "https://m.s/api/v1/timelines/tag/x")
    ('https://m.s/api/v1/timelines/tag/x', {'max_id': '7'})
    """
    if not header:
        return None
    for part in header.split(","):
        target, _, attributes = part.partition(";")
        target = target.strip()
        if not (target.startswith("<") and target.endswith(">")):
            continue
        rels = [value.strip().strip('"').lower() for key, _, value in
                (attribute.strip().partition("=") for attribute in attributes.split(";")) if key.strip() == "rel"]
        if "next" not in " ".join(rels).split():
            continue
        try:
            link, here = httpx.URL(target[1:-1]), httpx.URL(current)
        except (httpx.InvalidURL, TypeError):
            return None
        if (link.scheme, link.host, link.port) != (here.scheme, here.host, here.port):
            return None
        return str(link.copy_with(query=None)), dict(link.params)
    return None


_GAP_PARAMS = ("max_id", "since_id", "min_id")
"""The parameters of a page request that say which statuses it asks for."""


def _gaps(state: Mapping[str, Any]) -> dict[str, list[dict[str, str]]]:
    gaps = state.get("gaps")
    if not isinstance(gaps, dict):
        return {}
    return {path: [gap for gap in found if isinstance(gap, dict) and isinstance(gap.get("max_id"), str)
                   and all(key in _GAP_PARAMS and isinstance(value, str) for key, value in gap.items())]
            for path, found in gaps.items() if isinstance(path, str) and isinstance(found, list)}


def _since(state: Mapping[str, Any]) -> dict[str, str]:
    since = state.get("since")
    return {key: value for key, value in since.items() if isinstance(key, str) and isinstance(value, str)} \
        if isinstance(since, dict) else {}


def _path(url: str) -> str:
    return display_url(url)


def _status_id(status: Any) -> str | None:
    status_id = status.get("id") if isinstance(status, dict) else None
    return status_id if isinstance(status_id, str) and status_id.isascii() and status_id.isdigit() else None


def _order(status_id: str) -> tuple[int, str]:
    """Mastodon ids are decimal strings of growing numbers: longer is newer, then by digits."""
    return len(status_id), status_id

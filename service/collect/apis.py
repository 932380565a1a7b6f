"""Keyed platform APIs: YouTube Data API v3 search (API ``key``) and X API v2 recent search (bearer
``token``).

YouTube: one mention per video (id ``youtube:<videoId>``), text title + description; after the
first run only videos published after the cursor's newest time (less an hour) are asked for.

X: one mention per post (id ``x:<id>``), ``reach`` the author's followers, ``engagement`` likes +
reposts + replies + quotes; a repost is marked as a duplicate of the original. After the first run
``since_id`` asks only for newer posts.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import msgspec

from service.collect.base import (
    MAX_FIELD_CHARS,
    ParseError,
    as_list,
    as_mapping,
    join_text,
    lang_code,
    load_json,
    parse_time,
    text_of,
)
from service.collect.chains import ChainedCollector, PageChains
from service.collect.cleaner import Cleaner, Memo
from service.collect.http import Response
from service.collect.jsonapi import ApiRequest, JsonApiCollector
from service.collect.make import Origin
from service.collect.typed import ItemDecoder, PageDecoder, count_of, loose, total_of
from service.domain import Mention

if TYPE_CHECKING:
    from service.config import SourceConfig

YOUTUBE = "https://www.googleapis.com/youtube/v3/search"
X_RECENT = "https://api.x.com/2/tweets/search/recent"
OVERLAP = timedelta(hours=1)


class _Nothing(msgspec.Struct, gc=False):
    """An object whose content is not read (only its presence counts)."""


class _VideoId(msgspec.Struct, gc=False):
    videoId: str | None = None


class Snippet(msgspec.Struct, gc=False):
    publishedAt: str | None = None
    title: str | None = None
    description: str | None = None
    channelTitle: str | None = None


class Video(msgspec.Struct, gc=False):
    """The fields of a ``search.list`` item that a mention is made of."""

    id: _VideoId = msgspec.field(default_factory=_VideoId)
    snippet: Snippet = msgspec.field(default_factory=Snippet)


def _youtube_lenient(payload: Any) -> list[Any]:
    return as_list(as_mapping(payload).get("items"), what="YouTube response 'items'")


_VIDEOS = ItemDecoder(Video, "items", lenient=_youtube_lenient, what="YouTube response")


def parse_youtube(data: bytes, *, source: SourceConfig) -> list[Mention]:
    """Mentions of the videos of a ``search.list`` response."""
    origin = Origin.of(source)
    name, kind, brand, lang = origin.source, origin.kind, origin.brand, origin.lang
    clean = Cleaner(data)
    mentions = []
    for item in _VIDEOS(data):
        video = clean.line(item.id.videoId)  # channels and playlists have none: left out first
        if not video:
            continue
        snippet = item.snippet
        published = parse_time(snippet.publishedAt)
        if published is None:
            continue
        title = clean.line(snippet.title)
        text = join_text(title, clean.text(snippet.description))
        if not text:
            continue
        channel = clean.line(snippet.channelTitle)
        mentions.append(Mention(
            id=f"youtube:{video}", published_at=published, text=text, source=name, kind=kind, brand=brand, lang=lang,
            author=channel or None,
            url=f"https://www.youtube.com/watch?v={video}", title=title or None))
    return mentions


class YouTubeCollector(JsonApiCollector):
    def requests(self, state: Mapping[str, Any], now: datetime) -> list[ApiRequest]:
        options = self.source.options
        params: dict[str, Any] = {"part": "snippet", "q": options["query"], "type": "video", "order": "date",
                                  "maxResults": options.get("limit", 50), "key": options["key"]}
        if self.source.lang:
            params["relevanceLanguage"] = self.source.lang
        if options.get("region"):
            params["regionCode"] = options["region"]
        newest = parse_time(state.get("newest"))
        if newest is not None:
            params["publishedAfter"] = (newest - OVERLAP).astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        return [ApiRequest(url=options.get("url", YOUTUBE), params=params)]

    def next_page(self, request: ApiRequest, payload: Any) -> ApiRequest | None:
        token = text_of(as_mapping(payload).get("nextPageToken"))
        return replace(request, params={**request.params, "pageToken": token}) if token else None

    def parse(self, data: bytes) -> list[Mention]:
        return parse_youtube(data, source=self.source)


class _Reference(msgspec.Struct, gc=False):
    type: str | None = None
    id: str | None = None


class _PostMetrics(msgspec.Struct, gc=False):
    like_count: int | None = None
    retweet_count: int | None = None
    reply_count: int | None = None
    quote_count: int | None = None


class XPost(msgspec.Struct, gc=False):
    """The fields of a v2 post that a mention is made of."""

    id: str | None = None
    created_at: str | None = None
    text: str | None = None
    author_id: str | None = None
    lang: str | None = None
    public_metrics: _PostMetrics = msgspec.field(default_factory=_PostMetrics)
    referenced_tweets: list[_Reference] = msgspec.field(default_factory=list)


class _UserMetrics(msgspec.Struct, gc=False):
    followers_count: int | None = None


class XUser(msgspec.Struct, gc=False):
    id: str | None = None
    username: str | None = None
    public_metrics: _UserMetrics = msgspec.field(default_factory=_UserMetrics)


class _Includes(msgspec.Struct, gc=False):
    users: list[XUser] = msgspec.field(default_factory=list)


class XPage(msgspec.Struct, gc=False):
    """A v2 search response: the posts and the users they name (``data`` absent: no results)."""

    data: list[XPost] | msgspec.UnsetType = msgspec.UNSET
    includes: _Includes = msgspec.field(default_factory=_Includes)
    meta: msgspec.Raw | msgspec.UnsetType = msgspec.UNSET
    """Only its presence is read."""


def _x_lenient(payload: Any) -> XPage:
    payload = as_mapping(payload)
    if "data" not in payload:
        return XPage(meta=msgspec.Raw(b"{}") if "meta" in payload else msgspec.UNSET)
    users = as_list(as_mapping(payload.get("includes")).get("users", []), what="X 'includes.users'")
    posts = as_list(payload.get("data"), what="X response 'data'")
    return XPage(data=[loose(XPost, post) for post in posts],
                 includes=_Includes(users=[loose(XUser, user) for user in users]))


_X_PAGES = PageDecoder(XPage, lenient=_x_lenient, what="X response")


def parse_x(data: bytes, *, source: SourceConfig) -> list[Mention]:
    """Mentions of the posts of a v2 search response (``data`` may be absent: no results)."""
    page = _X_PAGES(data)
    if page.data is msgspec.UNSET:
        if page.meta is not msgspec.UNSET:
            return []
        raise ParseError("X response has neither 'data' nor 'meta'")
    users = {text_of(user.id): user for user in page.includes.users}
    origin = Origin.of(source)
    name, kind, brand, lang = origin.source, origin.kind, origin.brand, origin.lang
    clean = Cleaner(data)
    langs = Memo(lang_code)  # a page is in a few languages
    mentions = []
    for post in page.data:
        post_id = post.id
        if type(post_id) is not str or not (post_id.isdigit() and post_id.isascii()) or len(post_id) > MAX_FIELD_CHARS:
            post_id = clean.line(post_id)  # (the usual id, ASCII digits, is plain and its own strip())
        published = parse_time(post.created_at)
        text = clean.text(post.text)
        if not post_id or published is None or not text:
            continue
        author = post.author_id
        user = users.get(author if type(author) is str else text_of(author))
        username = clean.line(user.username) if user is not None else ""
        metrics = post.public_metrics
        original = _reposted(post.referenced_tweets, clean) if post.referenced_tweets else ""
        code = post.lang
        mentions.append(Mention(
            id=f"x:{post_id}", published_at=published, text=text, source=name, kind=kind, brand=brand,
            lang=lang or (langs[code] if type(code) is str else lang_code(code)), author=username or None,
            url=f"https://x.com/{username or 'i'}/status/{post_id}",
            reach=count_of(user.public_metrics.followers_count) if user is not None else None,
            engagement=total_of(metrics.like_count, metrics.retweet_count, metrics.reply_count, metrics.quote_count),
            duplicate_of=f"x:{original}" if original else None))
    return mentions


def _reposted(references: list[_Reference], clean: Cleaner) -> str:
    """The id of the post that a repost repeats (``referenced_tweets`` of type ``retweeted``)."""
    for reference in references:
        if reference.type == "retweeted":
            return clean.line(reference.id)
    return ""


class XCollector(ChainedCollector):
    """Recent search for ``query``; ``since_id`` (the newest post id seen) after the first run. A page
    chain that stopped before posts already seen (a page failed; or ``max_pages`` was reached while
    a ``since_id`` was known) is kept in the cursor (``gaps``: its ``next_token`` and ``since_id``)
    and resumed by the next runs, so that a newer ``since_id`` never skips the posts between."""

    MAX_GAPS = 4
    """Most unfinished page chains kept (the newest ones)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._chains = PageChains(frozenset())

    def requests(self, state: Mapping[str, Any], now: datetime) -> list[ApiRequest]:
        options = self.source.options
        params: dict[str, Any] = {
            "query": options["query"], "max_results": options.get("limit", 100),
            "tweet.fields": "created_at,lang,public_metrics,author_id,referenced_tweets",
            "expansions": "author_id", "user.fields": "username,public_metrics",
        }
        headers = {"Authorization": f"Bearer {options['token']}"}
        url = options.get("url", X_RECENT)
        requests = [ApiRequest(url=url, params={**params, "since_id": state["since_id"]} if isinstance(
            state.get("since_id"), str) else params, headers=headers)]
        requests.extend(ApiRequest(url=url, params={**params, **gap}, headers=headers) for gap in _x_gaps(state))
        self._chains = PageChains(frozenset(state.get("recent") or ()))
        return requests

    def next_page(self, request: ApiRequest, payload: Any) -> ApiRequest | None:
        return self._chains.following(_x_after(request, payload))

    def parse(self, data: bytes) -> list[Mention]:
        return self.parsed(lambda: parse_x(data, source=self.source))

    def extra_cursor(self, responses: list[Response], state: Mapping[str, Any]) -> dict[str, Any]:
        known = [state["since_id"]] if isinstance(state.get("since_id"), str) else []
        newest = [found for response in responses if (found := _digits(text_of(as_mapping(as_mapping(
            _safe_json(response)).get("meta")).get("newest_id"))))]
        cursor: dict[str, Any] = {}
        if newest or known:
            cursor["since_id"] = max([*newest, *known], key=lambda post: (len(post), post))
        gaps: list[dict[str, str]] = []
        for request, response in self._chains.unfinished():
            if response is not None:  # stopped at max_pages: resume at the next page, down to since_id
                following = _x_after(request, _safe_json(response)) if "since_id" in request.params else None
                if following is None:
                    continue
                request = following
            gap = {key: str(request.params[key]) for key in ("next_token", "since_id") if key in request.params}
            if "next_token" in gap and gap not in gaps:
                gaps.append(gap)
        if gaps:
            cursor["gaps"] = gaps[: self.MAX_GAPS]  # the newest first
        return cursor


def _x_after(request: ApiRequest, payload: Any) -> ApiRequest | None:
    token = text_of(as_mapping(as_mapping(payload).get("meta")).get("next_token"))
    return replace(request, params={**request.params, "next_token": token}) if token else None


def _digits(value: str | None) -> str | None:
    return value if value is not None and value.isascii() and value.isdigit() else None


def _x_gaps(state: Mapping[str, Any]) -> list[dict[str, str]]:
    gaps = state.get("gaps")
    return [gap for gap in gaps if isinstance(gap, dict) and isinstance(gap.get("next_token"), str)
            and all(key in ("next_token", "since_id") and isinstance(value, str) for key, value in gap.items())] \
        if isinstance(gaps, list) else []


def _safe_json(response: Response) -> Any:
    try:
        return load_json(response.content)
    except ParseError:  # pragma: no cover - parse() already decoded this body
        return None

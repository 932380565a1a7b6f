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
    ParseError,
    as_list,
    as_mapping,
    join_text,
    lang_code,
    line_field,
    load_json,
    number_of,
    parse_time,
    text_field,
    text_of,
    total,
)
from service.collect.chains import ChainedCollector, PageChains
from service.collect.http import Response
from service.collect.jsonapi import ApiRequest, JsonApiCollector
from service.collect.make import Origin, mention
from service.collect.typed import ItemDecoder
from service.domain import Mention

if TYPE_CHECKING:
    from service.config import SourceConfig

YOUTUBE = "https://www.googleapis.com/youtube/v3/search"
X_RECENT = "https://api.x.com/2/tweets/search/recent"
OVERLAP = timedelta(hours=1)


class _VideoId(msgspec.Struct):
    videoId: str | None = None


class Snippet(msgspec.Struct):
    publishedAt: str | None = None
    title: str | None = None
    description: str | None = None
    channelTitle: str | None = None


class Video(msgspec.Struct):
    """The fields of a ``search.list`` item that a mention is made of."""

    id: _VideoId = msgspec.field(default_factory=_VideoId)
    snippet: Snippet = msgspec.field(default_factory=Snippet)


def _youtube_lenient(payload: Any) -> list[Any]:
    return as_list(as_mapping(payload).get("items"), what="YouTube response 'items'")


_VIDEOS = ItemDecoder(Video, "items", lenient=_youtube_lenient, what="YouTube response")


def parse_youtube(data: bytes, *, source: SourceConfig) -> list[Mention]:
    """Mentions of the videos of a ``search.list`` response."""
    origin = Origin.of(source)
    mentions = []
    for item in _VIDEOS(data):
        video = line_field(item.id.videoId)
        snippet = item.snippet
        published = parse_time(snippet.publishedAt)
        title = line_field(snippet.title)
        text = join_text(title, text_field(snippet.description))
        if video is None or published is None or not text:
            continue
        mentions.append(mention(
            f"youtube:{video}", published, text, origin.source, origin.kind, origin.brand, origin.lang,
            line_field(snippet.channelTitle), f"https://www.youtube.com/watch?v={video}", title,
            None, None, None))
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


def parse_x(data: bytes, *, source: SourceConfig) -> list[Mention]:
    """Mentions of the posts of a v2 search response (``data`` may be absent: no results)."""
    payload = as_mapping(load_json(data, what="X response"))
    if "data" not in payload:
        if "meta" in payload:
            return []
        raise ParseError("X response has neither 'data' nor 'meta'")
    users = {text_of(user.get("id")): user for user in map(as_mapping, as_list(
        as_mapping(payload.get("includes")).get("users", []), what="X 'includes.users'"))}
    origin = Origin.of(source)
    mentions = []
    for post in as_list(payload.get("data"), what="X response 'data'"):
        if type(post) is not dict:
            continue
        post_id = line_field(post.get("id"))
        published = parse_time(post.get("created_at"))
        text = text_field(post.get("text"))
        if post_id is None or published is None or not text:
            continue
        user = as_mapping(users.get(text_of(post.get("author_id"))))
        username = line_field(user.get("username"))
        metrics = as_mapping(post.get("public_metrics"))
        original = _reposted(post.get("referenced_tweets"))
        mentions.append(mention(
            f"x:{post_id}", published, text, origin.source, origin.kind, origin.brand,
            origin.lang or lang_code(post.get("lang")), username, f"https://x.com/{username or 'i'}/status/{post_id}",
            None, number_of(as_mapping(user.get("public_metrics")).get("followers_count")),
            total(metrics.get("like_count"), metrics.get("retweet_count"), metrics.get("reply_count"),
                  metrics.get("quote_count")),
            f"x:{original}" if original else None))
    return mentions


def _reposted(references: Any) -> str | None:
    """The id of the post that a repost repeats (``referenced_tweets`` of type ``retweeted``)."""
    if not references or type(references) is not list:
        return None
    for reference in references:
        if type(reference) is dict and reference.get("type") == "retweeted":
            return line_field(reference.get("id"))
    return None


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

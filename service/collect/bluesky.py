"""Bluesky: ``app.bsky.feed.searchPosts`` (``sort=latest``) on an AppView, anonymous or with a
``token`` (an access JWT) when the AppView requires one.

One mention per post: id ``bluesky:<at-uri>``, text the record's text, ``lang`` its first declared
language, ``url`` the bsky.app page, ``engagement`` likes + reposts + replies + quotes.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from datetime import datetime
from typing import TYPE_CHECKING, Any

import msgspec

from service.collect.base import (
    as_list,
    as_mapping,
    lang_code,
    parse_time,
    text_of,
    total,
)
from service.collect.cleaner import Cleaner
from service.collect.jsonapi import ApiRequest, JsonApiCollector
from service.collect.make import Origin
from service.collect.typed import ItemDecoder
from service.domain import Mention

if TYPE_CHECKING:
    from service.config import SourceConfig

APPVIEW = "https://public.api.bsky.app"


class Record(msgspec.Struct, gc=False):
    createdAt: str | None = None
    text: str | None = None
    langs: list[str] | None = None


class Author(msgspec.Struct, gc=False):
    handle: str | None = None


class Post(msgspec.Struct, gc=False):
    """The fields of a ``postView`` that a mention is made of."""

    uri: str | None = None
    indexedAt: str | None = None
    record: Record = msgspec.field(default_factory=Record)
    author: Author = msgspec.field(default_factory=Author)
    likeCount: int | None = None
    repostCount: int | None = None
    replyCount: int | None = None
    quoteCount: int | None = None


def _lenient(payload: Any) -> list[Any]:
    return as_list(as_mapping(payload).get("posts"), what="Bluesky response 'posts'")


_POSTS = ItemDecoder(Post, "posts", lenient=_lenient, what="Bluesky response")


def parse_bluesky(data: bytes, *, source: SourceConfig) -> list[Mention]:
    """Mentions of the ``posts`` of a ``searchPosts`` response."""
    origin = Origin.of(source)
    clean = Cleaner(data)
    mentions = []
    for post in _POSTS(data):
        found = _mention(post, origin, clean)
        if found is not None:
            mentions.append(found)
    return mentions


def _mention(post: Post, origin: Origin, clean: Cleaner) -> Mention | None:
    uri, handle = clean.line(post.uri), clean.line(post.author.handle)
    record = post.record
    published = parse_time(record.createdAt) or parse_time(post.indexedAt)
    text = clean.text(record.text)
    if not uri or published is None or not text:
        return None
    langs = record.langs
    return Mention(
        id=f"bluesky:{uri}", published_at=published, text=text, source=origin.source, kind=origin.kind,
        brand=origin.brand, lang=origin.lang or (lang_code(langs[0]) if isinstance(langs, list) and langs else None),
        author=handle or None,
        url=f"https://bsky.app/profile/{handle}/post/{uri.rsplit('/', 1)[-1]}" if handle else None,
        engagement=total(post.likeCount, post.repostCount, post.replyCount, post.quoteCount))


class BlueskyCollector(JsonApiCollector):
    """The latest posts matching ``query`` (optionally in ``lang``)."""

    def requests(self, state: Mapping[str, Any], now: datetime) -> list[ApiRequest]:
        options = self.source.options
        headers = {"Authorization": f"Bearer {options['token']}"} if options.get("token") else {}
        params: dict[str, Any] = {"q": options["query"], "sort": "latest", "limit": options.get("limit", 100)}
        if self.source.lang:
            params["lang"] = self.source.lang
        base = options.get("url", APPVIEW).rstrip("/")
        return [ApiRequest(url=f"{base}/xrpc/app.bsky.feed.searchPosts", params=params, headers=headers)]

    def next_page(self, request: ApiRequest, payload: Any) -> ApiRequest | None:
        cursor = text_of(as_mapping(payload).get("cursor"))
        return replace(request, params={**request.params, "cursor": cursor}) if cursor else None

    def parse(self, data: bytes) -> list[Mention]:
        return parse_bluesky(data, source=self.source)

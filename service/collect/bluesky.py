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

from service.collect.base import (
    as_list,
    as_mapping,
    clean_field,
    clean_text,
    first_brand,
    lang_code,
    load_json,
    number_of,
    parse_time,
    text_of,
)
from service.collect.jsonapi import ApiRequest, JsonApiCollector
from service.domain import Mention

if TYPE_CHECKING:
    from service.config import SourceConfig

APPVIEW = "https://public.api.bsky.app"


def parse_bluesky(data: bytes, *, source: SourceConfig) -> list[Mention]:
    """Mentions of the ``posts`` of a ``searchPosts`` response."""
    payload = as_mapping(load_json(data, what="Bluesky response"))
    mentions = []
    for post in as_list(payload.get("posts"), what="Bluesky response 'posts'"):
        mention = _mention(as_mapping(post), source)
        if mention is not None:
            mentions.append(mention)
    return mentions


def _mention(post: Mapping[str, Any], source: SourceConfig) -> Mention | None:
    uri = clean_field(text_of(post.get("uri")))
    record = as_mapping(post.get("record"))
    published = parse_time(record.get("createdAt")) or parse_time(post.get("indexedAt"))
    text = clean_text(text_of(record.get("text")))
    if uri is None or published is None or not text:
        return None
    author = as_mapping(post.get("author"))
    handle = clean_field(text_of(author.get("handle")))
    langs = record.get("langs")
    counts = [number_of(post.get(key)) for key in ("likeCount", "repostCount", "replyCount", "quoteCount")]
    rkey = uri.rsplit("/", 1)[-1]
    return Mention(
        id=f"bluesky:{uri}", published_at=published, text=text, source=source.name, kind=source.kind,
        brand=first_brand(source.brands),
        lang=source.lang or (lang_code(langs[0]) if isinstance(langs, list) and langs else None),
        author=handle, url=f"https://bsky.app/profile/{handle}/post/{rkey}" if handle else None,
        engagement=sum(n for n in counts if n),
    )


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

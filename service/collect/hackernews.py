"""Hacker News through Algolia's ``search_by_date`` (stories and comments, newest first).

One mention per hit: id ``hn:<objectID>``, text the story title + text or the comment text
(prefixed by the story title it answers), ``engagement`` points + comments. Incremental: after the
first run only hits newer than the cursor's ``newest`` time (less an hour of overlap) are asked for.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

import msgspec

from service.collect.base import (
    as_list,
    as_mapping,
    join_text,
    parse_time,
    total,
)
from service.collect.cleaner import Cleaner
from service.collect.jsonapi import ApiRequest, JsonApiCollector
from service.collect.make import Origin
from service.collect.typed import ItemDecoder
from service.domain import Mention

if TYPE_CHECKING:
    from service.config import SourceConfig

ALGOLIA = "https://hn.algolia.com/api/v1/search_by_date"
OVERLAP = timedelta(hours=1)


class Hit(msgspec.Struct, gc=False):
    """The fields of an Algolia hit that a mention is made of."""

    objectID: str | None = None
    created_at: str | None = None
    created_at_i: int | None = None
    title: str | None = None
    comment_text: str | None = None
    story_title: str | None = None
    story_text: str | None = None
    author: str | None = None
    points: int | None = None
    num_comments: int | None = None


def _lenient(payload: Any) -> list[Any]:
    return as_list(as_mapping(payload).get("hits"), what="Hacker News response 'hits'")


_HITS = ItemDecoder(Hit, "hits", lenient=_lenient, what="Hacker News response")


def parse_hackernews(data: bytes, *, source: SourceConfig) -> list[Mention]:
    """Mentions of the ``hits`` of an Algolia HN search response."""
    origin = Origin.of(source)
    clean = Cleaner(data, simple_html=True)  # Algolia's HTML: <p>, <i>, <a href>, <pre><code>
    mentions = []
    for hit in _HITS(data):
        found = _mention(hit, origin, clean)
        if found is not None:
            mentions.append(found)
    return mentions


def _mention(hit: Hit, origin: Origin, clean: Cleaner) -> Mention | None:
    object_id = clean.line(hit.objectID)
    published = parse_time(hit.created_at) or parse_time(hit.created_at_i)
    if not object_id or published is None:
        return None
    title, story_title, author = clean.line(hit.title), clean.line(hit.story_title), clean.line(hit.author)
    comment = clean.text(hit.comment_text)
    text = join_text(story_title, comment) if comment else join_text(title, clean.text(hit.story_text))
    if not text:
        return None
    return Mention(
        id=f"hn:{object_id}", published_at=published, text=text, source=origin.source, kind=origin.kind,
        brand=origin.brand, lang=origin.lang, author=author or None,
        url=f"https://news.ycombinator.com/item?id={object_id}", title=title or None,
        engagement=total(hit.points, hit.num_comments))


class HackerNewsCollector(JsonApiCollector):
    """Stories and comments matching ``query`` (``tags`` default ``(story,comment)``)."""

    def requests(self, state: Mapping[str, Any], now: datetime) -> list[ApiRequest]:
        options = self.source.options
        params: dict[str, Any] = {"query": options["query"], "tags": options.get("tags", "(story,comment)"),
                                  "hitsPerPage": options.get("limit", 100)}
        newest = parse_time(state.get("newest"))
        if newest is not None:
            params["numericFilters"] = f"created_at_i>{int((newest - OVERLAP).timestamp())}"
        return [ApiRequest(url=options.get("url", ALGOLIA), params=params)]

    def next_page(self, request: ApiRequest, payload: Any) -> ApiRequest | None:
        payload = as_mapping(payload)
        page, pages = payload.get("page"), payload.get("nbPages")
        if not isinstance(page, int) or not isinstance(pages, int) or page + 1 >= pages:
            return None
        return replace(request, params={**request.params, "page": page + 1})

    def parse(self, data: bytes) -> list[Mention]:
        return parse_hackernews(data, source=self.source)

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

from service.collect.base import (
    as_list,
    as_mapping,
    clean_field,
    clean_text,
    first_brand,
    join_text,
    load_json,
    number_of,
    parse_time,
    text_of,
)
from service.collect.jsonapi import ApiRequest, JsonApiCollector
from service.domain import Mention

if TYPE_CHECKING:
    from service.config import SourceConfig

ALGOLIA = "https://hn.algolia.com/api/v1/search_by_date"
OVERLAP = timedelta(hours=1)


def parse_hackernews(data: bytes, *, source: SourceConfig) -> list[Mention]:
    """Mentions of the ``hits`` of an Algolia HN search response."""
    payload = as_mapping(load_json(data, what="Hacker News response"))
    mentions = []
    for hit in as_list(payload.get("hits"), what="Hacker News response 'hits'"):
        mention = _mention(as_mapping(hit), source)
        if mention is not None:
            mentions.append(mention)
    return mentions


def _mention(hit: Mapping[str, Any], source: SourceConfig) -> Mention | None:
    object_id = clean_field(text_of(hit.get("objectID")))
    published = parse_time(hit.get("created_at")) or parse_time(hit.get("created_at_i"))
    if object_id is None or published is None:
        return None
    title = clean_field(text_of(hit.get("title")))
    comment = clean_text(text_of(hit.get("comment_text")))
    if comment:
        text = join_text(clean_field(text_of(hit.get("story_title"))), comment)
    else:
        text = join_text(title, clean_text(text_of(hit.get("story_text"))))
    if not text:
        return None
    counts = [number_of(hit.get("points")), number_of(hit.get("num_comments"))]
    return Mention(
        id=f"hn:{object_id}", published_at=published, text=text, source=source.name, kind=source.kind,
        brand=first_brand(source.brands), lang=source.lang, author=clean_field(text_of(hit.get("author"))),
        url=f"https://news.ycombinator.com/item?id={object_id}", title=title,
        engagement=sum(n for n in counts if n),
    )


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

"""Reddit: search of new posts (``/search.json``, or ``/r/<sub>/search.json`` restricted to
subreddits), public JSON API; with an OAuth ``token`` the same search goes to ``oauth.reddit.com``.

One mention per post (``t3``) or comment (``t1``) in the Listing: id ``reddit:<fullname>``, text
title + self text (comments: body), ``engagement`` score + comments, ``reach`` the subreddit's
subscribers. A crosspost is marked as a duplicate of its parent post (it counts as reach, not volume).
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

PUBLIC = "https://www.reddit.com"
OAUTH = "https://oauth.reddit.com"


def parse_reddit(data: bytes, *, source: SourceConfig) -> list[Mention]:
    """Mentions of the posts and comments of a Reddit ``Listing``."""
    listing = as_mapping(load_json(data, what="Reddit response"))
    children = as_list(as_mapping(listing.get("data")).get("children"), what="Reddit listing 'data.children'")
    mentions = []
    for child in children:
        child = as_mapping(child)
        post = as_mapping(child.get("data"))
        fullname = text_of(post.get("name")) or (f"{child.get('kind')}_{post.get('id')}" if post.get("id") else None)
        published = parse_time(post.get("created_utc"))
        if not fullname or published is None:
            continue
        mention = _mention(post, fullname, published, source)
        if mention is not None:
            mentions.append(mention)
    return mentions


def _mention(post: Mapping[str, Any], fullname: str, published: datetime, source: SourceConfig) -> Mention | None:
    title = clean_field(text_of(post.get("title")) or text_of(post.get("link_title")))
    body = clean_text(text_of(post.get("selftext")) or text_of(post.get("body")))
    text = join_text(title, body) if fullname.startswith("t3_") else (body or title or "")
    if not text:
        return None
    permalink = text_of(post.get("permalink"))
    engagement = sum(n for n in (number_of(post.get("score")), number_of(post.get("num_comments"))) if n)
    parents = post.get("crosspost_parent_list")
    parent = text_of(post.get("crosspost_parent")) if isinstance(parents, list) and parents else None
    author = text_of(post.get("author"))
    return Mention(
        id=f"reddit:{clean_field(fullname)}", published_at=published, text=text, source=source.name, kind=source.kind,
        brand=first_brand(source.brands), lang=source.lang, author=clean_field(author) if author else None,
        url=f"{PUBLIC}{clean_field(permalink)}" if permalink and permalink.startswith("/") else None,
        title=title if fullname.startswith("t3_") else None, reach=number_of(post.get("subreddit_subscribers")),
        engagement=engagement, duplicate_of=f"reddit:{clean_field(parent)}" if parent else None,
    )


class RedditCollector(JsonApiCollector):
    """Searches ``query`` (newest first), in ``subreddits`` when given."""

    def requests(self, state: Mapping[str, Any], now: datetime) -> list[ApiRequest]:
        options = self.source.options
        token = options.get("token")
        base = options.get("url") or (OAUTH if token else PUBLIC)
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        params = {"q": options["query"], "sort": "new", "limit": options.get("limit", 100), "raw_json": 1}
        subreddits = options.get("subreddits") or []
        if not subreddits:
            return [ApiRequest(url=f"{base}/search.json", params=params, headers=headers)]
        return [ApiRequest(url=f"{base}/r/{'+'.join(subreddits)}/search.json", params={**params, "restrict_sr": 1},
                           headers=headers)]

    def next_page(self, request: ApiRequest, payload: Any) -> ApiRequest | None:
        after = text_of(as_mapping(as_mapping(payload).get("data")).get("after"))
        return replace(request, params={**request.params, "after": after}) if after else None

    def parse(self, data: bytes) -> list[Mention]:
        return parse_reddit(data, source=self.source)

"""Reddit: search of new posts (``/search.json``, or ``/r/<sub>/search.json`` restricted to
subreddits), public JSON API; with an OAuth ``token`` the same search goes to ``oauth.reddit.com``.

One mention per post (``t3``) or comment (``t1``) in the Listing: id ``reddit:<fullname>``, text
title + self text (comments: body), ``engagement`` score + comments, ``reach`` the subreddit's
subscribers. A crosspost is marked as a duplicate of its parent post (it counts as reach, not volume).
Without credentials the public API answers; with an app's ``client_id`` and ``client_secret``
an OAuth token is obtained (:mod:`.oauth`) and ``oauth.reddit.com`` is searched.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from datetime import datetime
from typing import TYPE_CHECKING, Any

import msgspec

from service.collect.base import (
    FetchError,
    as_list,
    as_mapping,
    clean_field,
    join_text,
    number_of,
    parse_time,
    text_of,
    total,
)
from service.collect.cleaner import Cleaner
from service.collect.http import Fetcher, Response
from service.collect.jsonapi import ApiRequest, JsonApiCollector, Validators
from service.collect.make import Origin
from service.collect.oauth import ClientCredentials
from service.collect.typed import ItemDecoder
from service.domain import Mention

if TYPE_CHECKING:
    from service.config import SourceConfig

PUBLIC = "https://www.reddit.com"
OAUTH = "https://oauth.reddit.com"
TOKEN_URL = "https://www.reddit.com/api/v1/access_token"


class _Nothing(msgspec.Struct, gc=False):
    """An object whose content is not read (only its presence counts)."""


class Post(msgspec.Struct, gc=False):
    """The fields of a Listing child's ``data`` (post or comment) that a mention is made of."""

    name: str | None = None
    id: str | None = None
    created_utc: int | float | str | None = None  # numbers, but some answers quote them
    title: str | None = None
    link_title: str | None = None
    selftext: str | None = None
    body: str | None = None
    permalink: str | None = None
    crosspost_parent_list: list[_Nothing] | None = None
    crosspost_parent: str | None = None
    author: str | None = None
    subreddit_subscribers: int | None = None
    score: int | None = None
    num_comments: int | None = None


class Child(msgspec.Struct, gc=False):
    kind: str | None = None
    data: Post = msgspec.field(default_factory=Post)


def _lenient(listing: Any) -> list[Any]:
    return as_list(as_mapping(as_mapping(listing).get("data")).get("children"),
                   what="Reddit listing 'data.children'")


_CHILDREN = ItemDecoder(Child, "data.children", lenient=_lenient, what="Reddit response")


def parse_reddit(data: bytes, *, source: SourceConfig) -> list[Mention]:
    """Mentions of the posts and comments of a Reddit ``Listing``."""
    origin = Origin.of(source)
    clean = Cleaner(data)
    mentions = []
    for child in _CHILDREN(data):
        post = child.data
        name = text_of(post.name)
        fullname = name or (f"{child.kind}_{post.id}" if post.id else None)
        published = parse_time(post.created_utc)
        if not fullname or published is None:
            continue
        found = _mention(post, fullname, (clean.line(post.name) or None) if name else clean_field(fullname),
                         published, origin, clean)
        if found is not None:
            mentions.append(found)
    return mentions


def _mention(post: Post, fullname: str, key: str | None, published: datetime, origin: Origin,
             clean: Cleaner) -> Mention | None:
    """The mention of a post or comment; ``key`` is its cleaned ``fullname``."""
    is_post = fullname.startswith("t3_")
    title = clean.line(post.title) or clean.line(post.link_title)
    body = clean.text(post.selftext) or clean.text(post.body)
    text = join_text(title, body) if is_post else (body or title)
    if not text:
        return None
    permalink = text_of(post.permalink)
    parents = post.crosspost_parent_list
    parent = text_of(post.crosspost_parent) if isinstance(parents, list) and parents else None
    return Mention(
        id=f"reddit:{key}", published_at=published, text=text, source=origin.source,
        kind=origin.kind, brand=origin.brand, lang=origin.lang, author=clean.line(post.author) or None,
        url=f"{PUBLIC}{clean.line(permalink) or None}" if permalink and permalink.startswith("/") else None,
        title=(title or None) if is_post else None, reach=number_of(post.subreddit_subscribers),
        engagement=total(post.score, post.num_comments),
        duplicate_of=f"reddit:{clean.line(parent) or None}" if parent else None)


class RedditCollector(JsonApiCollector):
    """Searches ``query`` (newest first), in ``subreddits`` when given.

    Without credentials the public JSON API (``www.reddit.com``) is used. With ``client_id`` and
    ``client_secret`` (an app's credentials, usually ``${REDDIT_CLIENT_ID}`` and
    ``${REDDIT_CLIENT_SECRET}`` from the environment) an application-only OAuth token is fetched
    from :data:`TOKEN_URL`, cached until it expires, fetched again on a 401, and the search goes to
    ``oauth.reddit.com``; a fixed ``token`` is sent as is.
    """

    def __init__(self, source: SourceConfig, fetcher: Fetcher) -> None:
        super().__init__(source, fetcher)
        options = source.options
        self.oauth = ClientCredentials(fetcher, token_url=TOKEN_URL,
                                       client_id=options["client_id"], client_secret=options["client_secret"],
                                       what=f'source "{source.name}"') if options.get("client_id") else None

    def requests(self, state: Mapping[str, Any], now: datetime) -> list[ApiRequest]:
        options = self.source.options
        token = options.get("token")
        base = options.get("url") or (OAUTH if token or self.oauth else PUBLIC)
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        params = {"q": options["query"], "sort": "new", "limit": options.get("limit", 100), "raw_json": 1}
        subreddits = options.get("subreddits") or []
        if not subreddits:
            return [ApiRequest(url=f"{base}/search.json", params=params, headers=headers)]
        return [ApiRequest(url=f"{base}/r/{'+'.join(subreddits)}/search.json", params={**params, "restrict_sr": 1},
                           headers=headers)]

    def fetch(self, request: ApiRequest, now: datetime, validators: Validators = (None, None)) -> Response:
        if self.oauth is None:
            return super().fetch(request, now, validators)
        headers = {**self.headers, **request.headers}
        etag, last_modified = validators
        try:
            return self.fetcher.get(request.url, params=request.params, etag=etag, last_modified=last_modified,
                                    headers={**headers, "Authorization": f"Bearer {self.oauth.token(now)}"})
        except FetchError as error:
            if error.status != 401:
                raise
        self.oauth.invalidate()  # revoked or expired early: one new token, one more try
        return self.fetcher.get(request.url, params=request.params, etag=etag, last_modified=last_modified,
                                headers={**headers, "Authorization": f"Bearer {self.oauth.token(now)}"})

    def next_page(self, request: ApiRequest, payload: Any) -> ApiRequest | None:
        after = text_of(as_mapping(as_mapping(payload).get("data")).get("after"))
        return replace(request, params={**request.params, "after": after}) if after else None

    def parse(self, data: bytes) -> list[Mention]:
        return parse_reddit(data, source=self.source)

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
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from service.collect.base import (
    as_list,
    as_mapping,
    clean_field,
    clean_text,
    first_brand,
    join_text,
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


def parse_mastodon(data: bytes, *, source: SourceConfig) -> list[Mention]:
    """Mentions of a list of statuses, or of the ``statuses`` of a v2 search result."""
    payload = load_json(data, what="Mastodon response")
    statuses = as_mapping(payload).get("statuses") if isinstance(payload, Mapping) else payload
    mentions = []
    for status in as_list(statuses, what="Mastodon statuses"):
        mention = _mention(as_mapping(status), source)
        if mention is not None:
            mentions.append(mention)
    return mentions


def _mention(status: Mapping[str, Any], source: SourceConfig) -> Mention | None:
    uri = clean_field(text_of(status.get("uri")) or text_of(status.get("url")))
    published = parse_time(status.get("created_at"))
    if uri is None or published is None:
        return None
    boosted = as_mapping(status.get("reblog"))
    shown = boosted or status
    text = join_text(clean_field(text_of(shown.get("spoiler_text"))), clean_text(text_of(shown.get("content"))))
    if not text:
        return None
    account = as_mapping(status.get("account"))
    counts = [number_of(shown.get(key)) for key in ("reblogs_count", "favourites_count", "replies_count")]
    original = clean_field(text_of(boosted.get("uri"))) if boosted else None
    return Mention(
        id=f"mastodon:{uri}", published_at=published, text=text, source=source.name, kind=source.kind,
        brand=first_brand(source.brands), lang=source.lang or lang_code(shown.get("language")),
        author=clean_field(text_of(account.get("acct"))), url=clean_field(text_of(shown.get("url"))) or uri,
        reach=number_of(account.get("followers_count")), engagement=sum(n for n in counts if n),
        duplicate_of=f"mastodon:{original}" if original else None,
    )


class MastodonCollector(JsonApiCollector):
    """The newest statuses of each of ``hashtags`` and of the ``query`` search on ``instance``."""

    def requests(self, state: Mapping[str, Any], now: datetime) -> list[ApiRequest]:
        options = self.source.options
        base = options["instance"].rstrip("/")
        headers = {"Authorization": f"Bearer {options['token']}"} if options.get("token") else {}
        limit = options.get("limit", 40)
        requests = [ApiRequest(url=f"{base}/api/v1/timelines/tag/{quote(tag.lstrip('#'), safe='')}",
                               params={"limit": limit}, headers=headers) for tag in options.get("hashtags") or ()]
        if options.get("query"):
            requests.append(ApiRequest(url=f"{base}/api/v2/search", headers=headers, params={
                "q": options["query"], "type": "statuses", "limit": limit, "resolve": "false"}))
        return requests

    def next_page(self, request: ApiRequest, payload: Any) -> ApiRequest | None:
        """Older statuses of a timeline (``max_id``); a search result has no next page here."""
        if not isinstance(payload, list) or not payload:
            return None
        oldest = text_of(as_mapping(payload[-1]).get("id"))
        return replace(request, params={**request.params, "max_id": oldest}) if oldest else None

    def parse(self, data: bytes) -> list[Mention]:
        return parse_mastodon(data, source=self.source)

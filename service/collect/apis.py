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

from service.collect.base import (
    ParseError,
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
from service.collect.http import Response
from service.collect.jsonapi import ApiRequest, JsonApiCollector
from service.domain import Mention

if TYPE_CHECKING:
    from service.config import SourceConfig

YOUTUBE = "https://www.googleapis.com/youtube/v3/search"
X_RECENT = "https://api.x.com/2/tweets/search/recent"
OVERLAP = timedelta(hours=1)


def parse_youtube(data: bytes, *, source: SourceConfig) -> list[Mention]:
    """Mentions of the videos of a ``search.list`` response."""
    payload = as_mapping(load_json(data, what="YouTube response"))
    mentions = []
    for item in as_list(payload.get("items"), what="YouTube response 'items'"):
        item = as_mapping(item)
        video = clean_field(text_of(as_mapping(item.get("id")).get("videoId")))
        snippet = as_mapping(item.get("snippet"))
        published = parse_time(snippet.get("publishedAt"))
        title = clean_field(text_of(snippet.get("title")))
        text = join_text(title, clean_text(text_of(snippet.get("description"))))
        if video is None or published is None or not text:
            continue
        mentions.append(Mention(
            id=f"youtube:{video}", published_at=published, text=text, source=source.name, kind=source.kind,
            brand=first_brand(source.brands), lang=source.lang,
            author=clean_field(text_of(snippet.get("channelTitle"))),
            url=f"https://www.youtube.com/watch?v={video}", title=title,
        ))
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
    mentions = []
    for post in as_list(payload.get("data"), what="X response 'data'"):
        post = as_mapping(post)
        post_id = clean_field(text_of(post.get("id")))
        published = parse_time(post.get("created_at"))
        text = clean_text(text_of(post.get("text")))
        if post_id is None or published is None or not text:
            continue
        user = as_mapping(users.get(text_of(post.get("author_id"))))
        username = clean_field(text_of(user.get("username")))
        metrics = as_mapping(post.get("public_metrics"))
        counts = [number_of(metrics.get(key)) for key in ("like_count", "retweet_count", "reply_count", "quote_count")]
        reposted = [text_of(as_mapping(ref).get("id")) for ref in post.get("referenced_tweets") or []
                    if isinstance(ref, Mapping) and ref.get("type") == "retweeted"]
        mentions.append(Mention(
            id=f"x:{post_id}", published_at=published, text=text, source=source.name, kind=source.kind,
            brand=first_brand(source.brands), lang=source.lang or lang_code(post.get("lang")), author=username,
            url=f"https://x.com/{username or 'i'}/status/{post_id}",
            reach=number_of(as_mapping(user.get("public_metrics")).get("followers_count")),
            engagement=sum(n for n in counts if n),
            duplicate_of=f"x:{clean_field(reposted[0])}" if reposted and reposted[0] else None,
        ))
    return mentions


class XCollector(JsonApiCollector):
    def requests(self, state: Mapping[str, Any], now: datetime) -> list[ApiRequest]:
        options = self.source.options
        params: dict[str, Any] = {
            "query": options["query"], "max_results": options.get("limit", 100),
            "tweet.fields": "created_at,lang,public_metrics,author_id,referenced_tweets",
            "expansions": "author_id", "user.fields": "username,public_metrics",
        }
        if isinstance(state.get("since_id"), str):
            params["since_id"] = state["since_id"]
        return [ApiRequest(url=options.get("url", X_RECENT), params=params,
                           headers={"Authorization": f"Bearer {options['token']}"})]

    def next_page(self, request: ApiRequest, payload: Any) -> ApiRequest | None:
        token = text_of(as_mapping(as_mapping(payload).get("meta")).get("next_token"))
        return replace(request, params={**request.params, "next_token": token}) if token else None

    def parse(self, data: bytes) -> list[Mention]:
        return parse_x(data, source=self.source)

    def extra_cursor(self, responses: list[Response], state: Mapping[str, Any]) -> dict[str, Any]:
        for response in responses:
            newest = text_of(as_mapping(as_mapping(_safe_json(response)).get("meta")).get("newest_id"))
            if newest:
                return {"since_id": newest}
        return {"since_id": state["since_id"]} if isinstance(state.get("since_id"), str) else {}


def _safe_json(response: Response) -> Any:
    try:
        return load_json(response.content)
    except ParseError:  # pragma: no cover - parse() already decoded this body
        return None

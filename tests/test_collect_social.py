"""Reddit, Mastodon, Bluesky and Hacker News parsers on format samples, and their requests."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from service.collect.base import ParseError
from service.collect.bluesky import parse_bluesky
from service.collect.hackernews import parse_hackernews
from service.collect.mastodon import parse_mastodon
from service.collect.reddit import parse_reddit
from service.collect.registry import build_collector, check_options
from service.config import SourceConfig
from service.domain import SourceKind

FEEDS = Path(__file__).parent / "fixtures" / "feeds"
NOW = datetime(2026, 11, 26, 10, 0, tzinfo=UTC)


def fixture(name: str) -> bytes:
    return (FEEDS / name).read_bytes()


def source(type_: str, **options: object) -> SourceConfig:
    return SourceConfig(name=f"{type_}-peugeot", type=type_, kind=SourceKind.SOCIAL, interval=timedelta(minutes=5),
                        timeout=timedelta(seconds=5), options=options)


def test_reddit_posts_comments_and_crossposts() -> None:
    post, crosspost, comment = parse_reddit(fixture("reddit_search_new.json"), source=source("reddit"))
    assert post.id == "reddit:t3_1h0a9zq" and post.published_at == datetime(2026, 11, 26, 7, 0, tzinfo=UTC)
    assert post.text == ("Recall letter for my 3008 — 2 month wait at the dealer\nGot the letter today. Brake "
                         "booster software update on my 3008 & the dealer can't see me before January. Anyone else?")
    assert post.url == "https://www.reddit.com/r/peugeot/comments/1h0a9zq/recall_letter_for_my_3008_2_month_wait_at_the/"
    assert (post.author, post.reach, post.engagement, post.duplicate_of) == ("lyon_driver", 48211.0, 58.0, None)
    assert crosspost.duplicate_of == "reddit:t3_1h0a9zq" and crosspost.reach == 5120334.0
    assert comment.id == "reddit:t1_lx0c4e2" and comment.title is None
    assert comment.text == "Ma 208 a eu le même rappel, **30 minutes** chez le garagiste."
    assert comment.published_at == datetime(2026, 11, 26, 8, 0, tzinfo=UTC)  # created_utc as a digit string


def test_mastodon_statuses_boosts_and_content_warnings() -> None:
    original, boost, warned = parse_mastodon(fixture("mastodon_tag_timeline.json"), source=source("mastodon"))
    assert original.id == "mastodon:https://piaille.fr/users/camille/statuses/113541187532012345"
    assert original.text == ("Rappel #Peugeot sur les 3008 hybrides : freinage. Mon garage n'a pas de créneau "
                             "avant janvier 😤")
    assert (original.lang, original.author, original.reach, original.engagement) == ("fr", "camille", 312.0, 16.0)
    assert boost.duplicate_of == original.id and boost.text == original.text and boost.reach == 15400.0
    assert boost.url == "https://piaille.fr/@camille/113541187532012345"
    assert warned.text == "voiture, colère\nThird time at the dealer for the same warning light.\nNever again #peugeot"


def test_mastodon_v2_search_shape() -> None:
    data = b'{"accounts": [], "hashtags": [], "statuses": [{"uri": "u1", "created_at": "2026-11-26T08:00:00Z", ' \
           b'"content": "<p>hello</p>", "account": {}}]}'
    [mention] = parse_mastodon(data, source=source("mastodon"))
    assert mention.text == "hello" and mention.url == "u1"


def test_bluesky_posts() -> None:
    julie, blog = parse_bluesky(fixture("bluesky_search_posts.json"), source=source("bluesky"))
    assert julie.id == "bluesky:at://did:plc:4xk6yx2w5z3q2j7n7r5s6t7u/app.bsky.feed.post/3lbx7kq2h6s2c"
    assert julie.published_at == datetime(2026, 11, 26, 9, 2, 31, 118000, tzinfo=UTC)
    assert julie.url == "https://bsky.app/profile/julie.bsky.social/post/3lbx7kq2h6s2c"
    assert (julie.lang, julie.engagement) == ("fr", 29.0)
    assert blog.lang is None and blog.author == "autoblog.example.com"


def test_hackernews_stories_and_comments() -> None:
    comment, story = parse_hackernews(fixture("hackernews_search_by_date.json"), source=source("hackernews"))
    assert comment.id == "hn:42251377" and comment.url == "https://news.ycombinator.com/item?id=42251377"
    assert comment.text.startswith("Peugeot recalls 3008 hybrids over brake software\nThe brake ECU firmware")
    assert "I'd expect" in comment.text and "<p>" not in comment.text
    assert story.title == "Peugeot recalls 3008 hybrids over brake software" and story.engagement == 88.0
    assert story.published_at == datetime(2026, 11, 26, 8, 58, 40, tzinfo=UTC)


@pytest.mark.parametrize("parser", [parse_reddit, parse_mastodon, parse_bluesky, parse_hackernews])
@pytest.mark.parametrize("data", [b"", b"null", b"42", b'{"data": {"children": 3}}', b'{"posts": "x"}',
                                  b'{"hits": {}}', b"\xff\xfe"])
def test_wrong_shapes_are_parse_errors(parser, data: bytes) -> None:
    with pytest.raises(ParseError):
        parser(data, source=source("x"))


def test_items_with_wrong_field_types_are_skipped() -> None:
    data = b'{"hits": [{"objectID": 1, "created_at": 5, "title": ["x"]}, {"objectID": {}, "created_at": "x"}, 3]}'
    assert parse_hackernews(data, source=source("hackernews")) == []


class Api:
    def __init__(self, body: bytes) -> None:
        self.body = body
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        return httpx.Response(200, content=self.body)


def collect(config: SourceConfig, body: bytes, cursor: dict | None = None):
    api = Api(body)
    result = build_collector(config, httpx.Client(transport=httpx.MockTransport(api))).collect(cursor, NOW)
    return api.requests, result


def test_reddit_requests_public_or_oauth() -> None:
    requests, result = collect(source("reddit", query="peugeot"), fixture("reddit_search_new.json"))
    assert str(requests[0].url).startswith("https://www.reddit.com/search.json?q=peugeot&sort=new")
    assert len(result.mentions) == 3
    requests, _ = collect(source("reddit", query="peugeot", subreddits=["peugeot", "cars"], token="T0K"),
                          fixture("reddit_search_new.json"))
    assert requests[0].url.path == "/r/peugeot+cars/search.json" and requests[0].url.host == "oauth.reddit.com"
    assert requests[0].headers["Authorization"] == "Bearer T0K"


def test_mastodon_requests_each_hashtag_and_the_search() -> None:
    config = source("mastodon", instance="https://piaille.fr/", hashtags=["#peugeot", "3008"], query="peugeot rappel")
    requests, result = collect(config, fixture("mastodon_tag_timeline.json"))
    assert [r.url.path for r in requests] == ["/api/v1/timelines/tag/peugeot", "/api/v1/timelines/tag/3008",
                                              "/api/v2/search"]
    assert len(result.mentions) == 3  # the same statuses in every answer are one mention each


def test_bluesky_and_hackernews_requests() -> None:
    requests, _ = collect(source("bluesky", query="peugeot"), fixture("bluesky_search_posts.json"))
    assert requests[0].url.path == "/xrpc/app.bsky.feed.searchPosts"
    assert requests[0].url.params["sort"] == "latest"
    requests, result = collect(source("hackernews", query="peugeot"), fixture("hackernews_search_by_date.json"))
    assert "numericFilters" not in requests[0].url.params
    requests, _ = collect(source("hackernews", query="peugeot"), fixture("hackernews_search_by_date.json"),
                          cursor=result.cursor)
    assert requests[0].url.params["numericFilters"] == "created_at_i>1795681211"


def test_social_options() -> None:
    assert check_options("mastodon", {"instance": "https://piaille.fr"}) == [
        ("hashtags", 'source type "mastodon" needs one of the options hashtags, query')]
    assert check_options("reddit", {"query": "peugeot", "subreddits": "peugeot"}) == [
        ("subreddits", 'option "subreddits" must be a list of strings, not a string')]
    assert check_options("bluesky", {"query": "peugeot", "token": "${BSKY}"}) == []


def _reddit_page(names: list[str], after: str | None) -> bytes:
    children = [{"kind": "t3", "data": {"name": name, "title": f"Peugeot post {name}", "created_utc": 1795676400 + i,
                                        "permalink": f"/r/x/{name}/"}} for i, name in enumerate(names)]
    return json.dumps({"kind": "Listing", "data": {"after": after, "children": children}}).encode()


def test_pagination_follows_after_until_max_pages_or_a_page_already_seen() -> None:
    pages = {None: _reddit_page(["t3_a", "t3_b"], "t3_b"), "t3_b": _reddit_page(["t3_c", "t3_d"], "t3_d"),
             "t3_d": _reddit_page(["t3_e"], None)}
    asked: list[str | None] = []

    def api(request: httpx.Request) -> httpx.Response:
        after = request.url.params.get("after")
        asked.append(after)
        return httpx.Response(200, content=pages[after])

    collector = build_collector(source("reddit", query="peugeot", max_pages=2),
                                httpx.Client(transport=httpx.MockTransport(api)))
    first = collector.collect(None, NOW)
    assert asked == [None, "t3_b"] and len(first.mentions) == 4  # max_pages=2
    asked.clear()
    second = collector.collect(first.cursor, NOW)
    assert asked == [None] and second.mentions == ()  # the first page was all seen: stop there


def test_hackernews_pages_by_number() -> None:
    def api(request: httpx.Request) -> httpx.Response:
        page = int(request.url.params.get("page", "0"))
        hit = {"objectID": str(100 + page), "created_at": "2026-11-26T08:00:00Z", "title": f"Peugeot {page}"}
        return httpx.Response(200, json={"hits": [hit], "page": page, "nbPages": 2})

    collector = build_collector(source("hackernews", query="peugeot", max_pages=5),
                                httpx.Client(transport=httpx.MockTransport(api)))
    assert [m.id for m in collector.collect(None, NOW).mentions] == ["hn:100", "hn:101"]

"""YouTube, X and openFDA parsers on format samples, their requests and incremental parameters."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from service.collect.apis import parse_x, parse_youtube
from service.collect.base import FetchError, ParseError
from service.collect.registry import build_collector, check_options
from service.collect.regulators import parse_openfda
from service.config import SourceConfig
from service.domain import SourceKind

FEEDS = Path(__file__).parent / "fixtures" / "feeds"
NOW = datetime(2026, 11, 26, 10, 0, tzinfo=UTC)


def fixture(name: str) -> bytes:
    return (FEEDS / name).read_bytes()


def source(type_: str, lang: str | None = None, **options: object) -> SourceConfig:
    return SourceConfig(name=f"{type_}-src", type=type_, kind=SourceKind.VIDEO, interval=timedelta(minutes=5),
                        timeout=timedelta(seconds=5), lang=lang, brands=("peugeot",), options=options)


class Api:
    def __init__(self, body: bytes, status: int = 200) -> None:
        self.body, self.status = body, status
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        return httpx.Response(self.status, content=self.body)


def run(config: SourceConfig, api: Api, cursor: dict | None = None):
    return build_collector(config, httpx.Client(transport=httpx.MockTransport(api))).collect(cursor, NOW)


def test_youtube_videos_only() -> None:
    [video] = parse_youtube(fixture("youtube_search_list.json"), source=source("youtube"))
    assert video.id == "youtube:Qm7pZ3kT9bA" and video.url == "https://www.youtube.com/watch?v=Qm7pZ3kT9bA"
    assert video.text.startswith("RAPPEL Peugeot 3008 : ce qu'il faut savoir (freinage)\nLe rappel concerne")
    assert "&amp;" not in video.text and video.author == "Auto Plus TV" and video.brand == "peugeot"


def test_youtube_requests_use_the_key_language_and_published_after() -> None:
    api = Api(fixture("youtube_search_list.json"))
    first = run(source("youtube", lang="fr", query="peugeot", key="AIza-secret", region="FR"), api)
    params = api.requests[0].url.params
    assert (params["q"], params["key"], params["relevanceLanguage"], params["regionCode"], params["order"]) == \
        ("peugeot", "AIza-secret", "fr", "FR", "date")
    assert "publishedAfter" not in params
    run(source("youtube", query="peugeot", key="k"), api, first.cursor)
    assert api.requests[1].url.params["publishedAfter"] == "2026-11-26T07:30:01Z"


def test_youtube_key_never_appears_in_errors() -> None:
    api = Api(b'{"error": {"code": 403, "message": "quotaExceeded"}}', status=403)
    with pytest.raises(FetchError) as caught:
        run(source("youtube", query="peugeot", key="AIza-secret"), api)
    assert "AIza-secret" not in str(caught.value) and "HTTP 403" in str(caught.value)


def test_x_posts_with_authors_and_reposts() -> None:
    original, repost = parse_x(fixture("x_recent_search.json"), source=source("x"))
    assert original.id == "x:1861338762551009280"
    assert original.url == "https://x.com/claire_auto/status/1861338762551009280"
    assert (original.reach, original.engagement, original.lang) == (18250.0, 295.0, "fr")
    assert original.text.endswith("c'est inacceptable & dangereux.")
    assert repost.duplicate_of == original.id and repost.reach == 120.0
    assert parse_x(b'{"meta": {"result_count": 0}}', source=source("x")) == []
    with pytest.raises(ParseError):
        parse_x(b'{"errors": [{"message": "Invalid Request"}]}', source=source("x"))


def test_x_requests_carry_the_bearer_and_since_id() -> None:
    api = Api(fixture("x_recent_search.json"))
    first = run(source("x", query="peugeot -is:retweet lang:fr", token="BEARER"), api)
    assert api.requests[0].headers["Authorization"] == "Bearer BEARER"
    assert "since_id" not in api.requests[0].url.params
    assert first.cursor is not None and first.cursor["since_id"] == "1861339466250326016"
    second = run(source("x", query="peugeot", token="BEARER"), Api(b'{"meta": {"result_count": 0}}'), first.cursor)
    assert second.cursor is not None and second.cursor["since_id"] == "1861339466250326016"
    api2 = Api(b'{"meta": {"result_count": 0}}')
    run(source("x", query="peugeot", token="BEARER"), api2, first.cursor)
    assert api2.requests[0].url.params["since_id"] == "1861339466250326016"


def test_openfda_enforcement_reports() -> None:
    almonds, listeria = parse_openfda(fixture("openfda_food_enforcement.json"), source=source("openfda"))
    assert almonds.id == "openfda:F-0123-2027" and almonds.kind is SourceKind.REGULATOR
    assert almonds.published_at == datetime(2026, 11, 19, tzinfo=UTC)
    assert almonds.text == ("FDA recall F-0123-2027 · Class II · Acme Cereal Company\nAcme Honey Crunch cereal, 12 oz "
                            "box, UPC 0 38000 12345 6\nReason: Undeclared almonds.")
    assert listeria.published_at == datetime(2026, 11, 1, tzinfo=UTC)  # report_date not YYYYMMDD: initiation date


def test_openfda_no_match_404_is_an_empty_run() -> None:
    api = Api(b'{"error": {"code": "NOT_FOUND", "message": "No matches found!"}}', status=404)
    result = run(source("openfda", search='recalling_firm:"peugeot"'), api)
    assert result.mentions == () and result.cursor is None
    assert api.requests[0].url.path == "/food/enforcement.json"
    assert api.requests[0].url.params["sort"] == "report_date:desc"


def test_api_options() -> None:
    assert check_options("youtube", {"query": "peugeot"}) == [
        ("key", 'missing option "key" required by source type "youtube"')]
    assert check_options("x", {"query": "peugeot", "token": "t", "limit": 5}) == [
        ("limit", 'option "limit" must be between 10 and 100, not 5')]
    assert check_options("openfda", {"search": "x", "category": "cars"}) == [
        ("category", "option \"category\" must be one of food, drug, device, not 'cars'")]


class XSearch:
    """X recent search as the API pages it: newest first, ``since_id``, two posts a page and a
    ``next_token`` (the offset of the next page); ``failing`` tokens answer 503."""

    def __init__(self, count: int) -> None:
        template = json.loads(fixture("x_recent_search.json"))["data"][0]
        self.posts = [{**template, "id": str(1861338762551009280 + n)} for n in reversed(range(count))]
        self.failing: set[str] = set()

    def __call__(self, request: httpx.Request) -> httpx.Response:
        params = request.url.params
        token = params.get("next_token")
        if token in self.failing:
            return httpx.Response(503)
        newer = [post for post in self.posts if int(post["id"]) > int(params.get("since_id", 0))]
        start = int(token[1:]) if token else 0
        page = newer[start:start + 2]
        meta: dict[str, object] = {"result_count": len(page)}
        if page:
            meta.update(newest_id=page[0]["id"], oldest_id=page[-1]["id"])
        if start + 2 < len(newer):
            meta["next_token"] = f"t{start + 2}"
        return httpx.Response(200, json={"data": page, "meta": meta} if page else {"meta": meta})


def test_x_a_failed_older_page_is_fetched_by_the_next_run() -> None:
    search = XSearch(6)
    config = source("x", query="peugeot", token="BEARER", max_pages=5, attempts=1)
    search.failing = {"t2"}  # page 2 fails
    first = build_collector(config, httpx.Client(transport=httpx.MockTransport(search))).collect(None, NOW)
    assert len(first.mentions) == 2 and first.cursor["gaps"] == [{"next_token": "t2"}]
    search.failing.clear()
    second = build_collector(config, httpx.Client(transport=httpx.MockTransport(search))).collect(
        json.loads(json.dumps(first.cursor)), NOW)
    ids = [mention.id for mention in (*first.mentions, *second.mentions)]
    assert sorted(ids) == sorted(f"x:{post['id']}" for post in search.posts)  # none lost, none twice
    assert "gaps" not in second.cursor and second.cursor["since_id"] == search.posts[0]["id"]

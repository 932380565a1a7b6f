"""Resuming a later page that failed, for collectors whose requests ask for what is newer than the
cursor's ``newest`` (Hacker News, YouTube)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx

from service.collect.apis import YouTubeCollector
from service.collect.hackernews import HackerNewsCollector
from service.collect.http import Fetcher, FetchPolicy, HostLimiter
from service.config import SourceConfig
from service.domain import SourceKind

START = datetime(2026, 11, 26, 10, 0, tzinfo=UTC)


def _hit(number: int, age: timedelta) -> dict[str, object]:
    created = START - age
    return {"objectID": str(number), "created_at": created.strftime("%Y-%m-%dT%H:%M:%S.000Z"),
            "created_at_i": int(created.timestamp()), "title": f"Peugeot story {number}", "author": "a"}


def test_a_failed_later_page_of_a_search_filtered_by_newest_is_fetched_at_the_next_run() -> None:
    """Hacker News (and YouTube) ask for what is newer than the cursor's ``newest``: page 1's mentions move
    ``newest`` on, so the next run's request differed from the one whose page 2 failed, its ``resume``
    entry matched nothing, and page 2's older mentions were never collected."""
    pages = [[_hit(1, timedelta(minutes=10)), _hit(2, timedelta(minutes=20))],
             [_hit(3, timedelta(hours=3)), _hit(4, timedelta(hours=4))]]
    down = {"page 2": True}

    def algolia(request: httpx.Request) -> httpx.Response:
        page = int(request.url.params.get("page", "0"))
        if page == 1 and down["page 2"]:
            return httpx.Response(503)
        floor = request.url.params.get("numericFilters", "created_at_i>0").split(">")[1]
        hits = [hit for hit in pages[page] if int(hit["created_at_i"]) > int(floor)]  # type: ignore[call-overload]
        return httpx.Response(200, json={"hits": hits, "page": page, "nbPages": len(pages)})

    source = SourceConfig(name="hn", type="hackernews", kind=SourceKind.SOCIAL, interval=timedelta(minutes=5),
                          timeout=timedelta(seconds=5), options={"query": "peugeot", "max_pages": 3})
    client = httpx.Client(transport=httpx.MockTransport(algolia))
    collector = HackerNewsCollector(source, Fetcher(client, policy=FetchPolicy(attempts=1), limiter=HostLimiter()))
    first = collector.collect(None, START)
    assert [m.id for m in first.mentions] == ["hn:1", "hn:2"]  # page 2 failed: kept for the next run
    down["page 2"] = False
    second = collector.collect(first.cursor, START + timedelta(minutes=5))
    assert [m.id for m in second.mentions] == ["hn:3", "hn:4"]
    third = collector.collect(second.cursor, START + timedelta(minutes=10))
    assert third.mentions == () and "resume" not in (third.cursor or {})


def test_a_failed_later_youtube_page_is_fetched_at_the_next_run() -> None:
    """The same for YouTube, whose search asks for what was published after the cursor's ``newest``."""
    def video(number: int, age: timedelta) -> dict[str, object]:
        published = (START - age).strftime("%Y-%m-%dT%H:%M:%SZ")
        return {"id": {"kind": "youtube#video", "videoId": f"v{number}"},
                "snippet": {"publishedAt": published, "title": f"Peugeot {number}", "description": "rappel"}}

    pages = {"": ([video(1, timedelta(minutes=10)), video(2, timedelta(minutes=20))], "p2"),
             "p2": ([video(3, timedelta(hours=3)), video(4, timedelta(hours=4))], None)}
    down = {"page 2": True}

    def search(request: httpx.Request) -> httpx.Response:
        token = request.url.params.get("pageToken", "")
        if token == "p2" and down["page 2"]:
            return httpx.Response(503)
        after = request.url.params.get("publishedAfter", "1970-01-01T00:00:00Z")
        items, following = pages[token]
        body: dict[str, object] = {"items": [item for item in items
                                             if item["snippet"]["publishedAt"] > after]}  # type: ignore[index]
        if following:
            body["nextPageToken"] = following
        return httpx.Response(200, json=body)

    source = SourceConfig(name="yt", type="youtube", kind=SourceKind.VIDEO, interval=timedelta(minutes=5),
                          timeout=timedelta(seconds=5), options={"query": "peugeot", "key": "k", "max_pages": 3})
    client = httpx.Client(transport=httpx.MockTransport(search))
    collector = YouTubeCollector(source, Fetcher(client, policy=FetchPolicy(attempts=1), limiter=HostLimiter()))
    first = collector.collect(None, START)
    assert [m.id for m in first.mentions] == ["youtube:v1", "youtube:v2"]
    down["page 2"] = False
    second = collector.collect(first.cursor, START + timedelta(minutes=5))
    assert [m.id for m in second.mentions] == ["youtube:v3", "youtube:v4"]

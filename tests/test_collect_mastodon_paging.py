"""Mastodon paging: the hashtag timeline's Link header (same instance only), v2 search paged with
max_id, the newest status id kept in the cursor and sent again after a restart (since_id / min_id);
429 and 500 through httpx.MockTransport."""

from __future__ import annotations

import json
import random
import threading
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx

from service.collect.mastodon import next_link, parse_mastodon
from service.collect.registry import build_collector
from service.config import SourceConfig
from service.domain import SourceKind

FEEDS = Path(__file__).parent / "fixtures" / "feeds"
TIMELINE = json.loads((FEEDS / "mastodon_tag_timeline.json").read_bytes())
SEARCH = (FEEDS / "mastodon_v2_search.json").read_bytes()
NOW = datetime(2026, 11, 26, 10, 0, tzinfo=UTC)
INSTANCE = "https://piaille.fr"


def source(**options: object) -> SourceConfig:
    return SourceConfig(name="mastodon-peugeot", type="mastodon", kind=SourceKind.SOCIAL,
                        interval=timedelta(minutes=5), timeout=timedelta(seconds=5),
                        options={"instance": INSTANCE, "token": "m-token", **options})


class Instance:
    """A Mastodon instance: a handler per path, every request recorded."""

    def __init__(self, handler) -> None:
        self.handler = handler
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        return self.handler(request)


def collector(instance: Instance, sleeps: list[float] | None = None, **options: object):
    client = httpx.Client(transport=httpx.MockTransport(instance))
    return build_collector(source(**options), client, sleep=(sleeps if sleeps is not None else []).append,
                           rng=random.Random(5))


def timeline_pages(request: httpx.Request, link_host: str = INSTANCE) -> httpx.Response:
    """Page 1: the two newest statuses and a Link to older ones; page 2 (max_id): the oldest."""
    if "max_id" not in request.url.params:
        link = (f'<{link_host}/api/v1/timelines/tag/peugeot?limit=40&max_id=113541187532012345>; rel="next", '
                f'<{link_host}/api/v1/timelines/tag/peugeot?limit=40&min_id=113541201187654321>; rel="prev"')
        return httpx.Response(200, json=TIMELINE[:2], headers={"Link": link})
    return httpx.Response(200, json=TIMELINE[2:])


def test_timeline_follows_the_link_header_and_keeps_the_newest_id() -> None:
    instance = Instance(timeline_pages)
    result = collector(instance, hashtags=["peugeot"], max_pages=3).collect(None, NOW)
    first, second = instance.requests[:2]
    assert "since_id" not in first.url.params
    assert second.url.path == "/api/v1/timelines/tag/peugeot"
    assert dict(second.url.params) == {"limit": "40", "max_id": "113541187532012345"}
    assert second.headers["Authorization"] == "Bearer m-token"
    assert len(result.mentions) == 3
    assert result.cursor["since"] == {"https://piaille.fr/api/v1/timelines/tag/peugeot": "113541201187654321"}


def test_a_link_to_another_host_is_not_followed() -> None:
    instance = Instance(lambda request: timeline_pages(request, link_host="https://evil.example"))
    collector(instance, hashtags=["peugeot"], max_pages=2).collect(None, NOW)
    assert [r.url.host for r in instance.requests] == ["piaille.fr", "piaille.fr"]  # the token stays home
    assert instance.requests[1].url.params["max_id"] == "113541187532012345"  # the page's oldest, by id


def test_the_newest_ids_survive_a_restart_as_since_id_and_min_id() -> None:
    def api(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/api/v2/search":
            return httpx.Response(200, content=SEARCH)
        return httpx.Response(200, json=TIMELINE)

    first = collector(Instance(api), hashtags=["peugeot"], query="peugeot rappel").collect(None, NOW)
    stored = json.loads(json.dumps(first.cursor))
    assert stored["since"] == {"https://piaille.fr/api/v1/timelines/tag/peugeot": "113541201187654321",
                               "https://piaille.fr/api/v2/search": "113541250000000002"}
    restarted = Instance(lambda request: httpx.Response(200, json=[]) if "tag" in request.url.path
                         else httpx.Response(200, json={"accounts": [], "statuses": [], "hashtags": []}))
    second = collector(restarted, hashtags=["peugeot"], query="peugeot rappel").collect(stored, NOW)
    timeline, search = restarted.requests
    assert timeline.url.params["since_id"] == "113541201187654321"
    assert search.url.params["min_id"] == "113541250000000002" and search.url.params["q"] == "peugeot rappel"
    assert second.mentions == () and second.cursor["since"] == stored["since"]  # nothing newer: ids kept


def test_search_pages_with_max_id_keeping_the_query_and_min_id() -> None:
    pages = {None: SEARCH, "113541240000000001": json.dumps({"accounts": [], "hashtags": [], "statuses": [
        {**json.loads(SEARCH)["statuses"][1], "id": "113541230000000000",
         "uri": "https://piaille.fr/users/marc/statuses/113541230000000000"}]}).encode()}
    empty = b'{"accounts": [], "hashtags": [], "statuses": []}'
    instance = Instance(lambda request: httpx.Response(200, content=pages.get(request.url.params.get("max_id"),
                                                                              empty)))
    state = {"since": {"https://piaille.fr/api/v2/search": "113541000000000000"}}
    result = collector(instance, query="peugeot rappel", max_pages=3).collect(state, NOW)
    assert [r.url.params.get("max_id") for r in instance.requests] == [None, "113541240000000001",
                                                                        "113541230000000000"]
    assert all(r.url.params["min_id"] == "113541000000000000" for r in instance.requests)
    assert len(result.mentions) == 3
    assert result.cursor["since"]["https://piaille.fr/api/v2/search"] == "113541250000000002"


def test_429_and_500_are_retried_politely() -> None:
    answers = [httpx.Response(429, headers={"Retry-After": "3"}), httpx.Response(503),
               httpx.Response(200, json=TIMELINE)]
    sleeps: list[float] = []
    instance = Instance(lambda request: answers.pop(0))
    result = collector(instance, sleeps, hashtags=["peugeot"]).collect(None, NOW)
    assert len(instance.requests) == 3 and sleeps[0] == 3.0 and len(result.mentions) == 3


def test_search_statuses_parse_from_the_format_sample() -> None:
    lea, marc = parse_mastodon(SEARCH, source=source())
    assert lea.id == "mastodon:https://mastodon.social/users/lea/statuses/113541250000000002"
    assert marc.text == "Le rappel Peugeot sur les freins des 3008, quelqu'un a eu un rendez-vous ?"
    assert (marc.author, marc.reach, marc.engagement, marc.lang) == ("marc@piaille.fr", 45.0, 3.0, "fr")


def test_next_link_parsing() -> None:
    here = "https://piaille.fr/api/v1/timelines/tag/x"
    assert next_link(None, here) is None
    assert next_link('<https://piaille.fr/api/v1/timelines/tag/x?min_id=5>; rel="prev"', here) is None
    assert next_link("<https://piaille.fr/a?max_id=4>; rel=next", here) == ("https://piaille.fr/a", {"max_id": "4"})
    assert next_link('<http://piaille.fr/a?max_id=4>; rel="next"', here) is None  # scheme changed
    assert next_link('garbage, <::>; rel="next"', here) is None


def test_a_hashtag_removed_from_the_config_leaves_the_cursor() -> None:
    state = {"since": {"https://piaille.fr/api/v1/timelines/tag/old": "1", "https://piaille.fr/api/v2/search": "2"}}
    instance = Instance(lambda request: httpx.Response(200, json={"accounts": [], "statuses": [], "hashtags": []}))
    result = collector(instance, query="peugeot").collect(state, NOW)
    assert result.cursor["since"] == {"https://piaille.fr/api/v2/search": "2"}


class _InstanceHandler(BaseHTTPRequestHandler):
    """A local Mastodon instance: the tag timeline in two pages joined by a Link header."""

    def do_GET(self) -> None:
        url = httpx.URL(f"http://{self.headers['Host']}{self.path}")
        if url.path != "/api/v1/timelines/tag/peugeot" or self.headers.get("Authorization") != "Bearer m-token":
            self.send_response(404)
            self.end_headers()
            return
        older = url.params.get("page") == "2"  # only the Link header's URL says so: proves it was followed
        body = json.dumps(TIMELINE[2:] if older else TIMELINE[:2]).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        if not older:
            self.send_header("Link", f'<http://{self.headers["Host"]}/api/v1/timelines/tag/peugeot?limit=40&'
                                     f'max_id=113541187532012345&page=2>; rel="next"')
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


def test_link_paging_against_a_local_instance_over_real_http() -> None:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _InstanceHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        config = SourceConfig(name="local", type="mastodon", kind=SourceKind.SOCIAL, interval=timedelta(minutes=5),
                              timeout=timedelta(seconds=5), options={
                                  "instance": f"http://127.0.0.1:{server.server_address[1]}", "token": "m-token",
                                  "hashtags": ["peugeot"], "max_pages": 3})
        with httpx.Client() as client:
            result = build_collector(config, client).collect(None, NOW)
    finally:
        server.shutdown()
        server.server_close()
    assert len(result.mentions) == 3
    assert list(result.cursor["since"].values()) == ["113541201187654321"]


class Timeline:
    """A hashtag timeline as an instance serves it: newest first, ``since_id`` / ``max_id`` bounds,
    ``limit`` statuses a page and a ``Link`` to the older page; ``failing`` max_ids answer 500."""

    def __init__(self, count: int) -> None:
        self.statuses = [{**TIMELINE[0], "id": str(113541300000000000 - n),
                          "uri": f"https://piaille.fr/users/camille/statuses/{113541300000000000 - n}"}
                         for n in range(count)]
        self.failing: set[str] = set()

    def add_newer(self) -> None:
        newest = int(self.statuses[0]["id"]) + 1
        self.statuses.insert(0, {**TIMELINE[0], "id": str(newest),
                                 "uri": f"https://piaille.fr/users/camille/statuses/{newest}"})

    def __call__(self, request: httpx.Request) -> httpx.Response:
        params = request.url.params
        if params.get("max_id") in self.failing:
            return httpx.Response(500)
        page = [status for status in self.statuses
                if int(status["id"]) > int(params.get("since_id", 0))
                and int(status["id"]) < int(params.get("max_id", 10**30))][: int(params["limit"])]
        headers = {"Link": f'<{INSTANCE}/api/v1/timelines/tag/peugeot?limit={params["limit"]}&max_id='
                           f'{page[-1]["id"]}>; rel="next"'} if page else {}
        return httpx.Response(200, json=page, headers=headers)


def _runs(timeline: Timeline, runs: int, **options: object) -> tuple[list[str], dict]:
    ids: list[str] = []
    cursor: dict | None = None
    for _ in range(runs):
        result = collector(Instance(timeline), hashtags=["peugeot"], limit=2, attempts=1, **options).collect(
            cursor, NOW)
        ids.extend(mention.id for mention in result.mentions)
        cursor = json.loads(json.dumps(result.cursor))
    return ids, cursor or {}


def test_a_failed_older_page_is_fetched_by_the_next_run() -> None:
    timeline = Timeline(5)
    timeline.failing = {timeline.statuses[1]["id"]}  # page 2 answers 500
    first, cursor = _runs(timeline, 1, max_pages=5)
    assert len(first) == 2 and cursor["gaps"]  # the rest is owed
    timeline.failing.clear()
    again = collector(Instance(timeline), hashtags=["peugeot"], limit=2, attempts=1, max_pages=5).collect(cursor, NOW)
    ids = first + [mention.id for mention in again.mentions]
    assert sorted(ids) == sorted(f"mastodon:{status['uri']}" for status in timeline.statuses)  # none lost, none twice
    assert "gaps" not in again.cursor


def test_statuses_beyond_max_pages_are_fetched_by_later_runs_while_newer_ones_arrive() -> None:
    timeline = Timeline(2)
    ids, cursor = _runs(timeline, 1, max_pages=1)
    for _ in range(5):
        timeline.add_newer()  # five arrive, one page of two is fetched
    for _ in range(5):
        more, cursor = _runs_from(timeline, cursor)
        ids.extend(more)
        timeline.add_newer()
    more, cursor = _runs_from(timeline, cursor)
    ids.extend(more)
    assert sorted(ids) == sorted(f"mastodon:{status['uri']}" for status in timeline.statuses)
    more, cursor = _runs_from(timeline, cursor)  # quiet: the last owed page is found empty
    assert more == [] and "gaps" not in cursor


def test_without_a_since_the_backlog_beyond_max_pages_is_not_fetched() -> None:
    timeline = Timeline(7)
    ids, cursor = _runs(timeline, 1, max_pages=1)
    assert len(ids) == 2 and "gaps" not in cursor and cursor["since"]


def _runs_from(timeline: Timeline, cursor: dict) -> tuple[list[str], dict]:
    result = collector(Instance(timeline), hashtags=["peugeot"], limit=2, attempts=1, max_pages=1).collect(cursor, NOW)
    return [mention.id for mention in result.mentions], json.loads(json.dumps(result.cursor))

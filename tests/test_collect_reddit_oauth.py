"""Reddit with OAuth client credentials: the token is fetched from www.reddit.com, cached until it
expires, fetched again on a 401; searches go to oauth.reddit.com; neither secret nor token is ever
logged or shown in an error. Through httpx.MockTransport, with format samples of both answers."""

from __future__ import annotations

import base64
import json
import logging
import random
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from service.collect.base import CollectError, FetchError
from service.collect.registry import build_collector, check_options
from service.config import ConfigErrors, SourceConfig, parse_config
from service.domain import SourceKind

FEEDS = Path(__file__).parent / "fixtures" / "feeds"
LISTING = (FEEDS / "reddit_search_new.json").read_bytes()
TOKEN_ANSWER = json.loads((FEEDS / "reddit_access_token.json").read_bytes())
TOKEN = TOKEN_ANSWER["access_token"]
SECRET = "s3cr3t-Value-42"
NOW = datetime(2026, 11, 26, 10, 0, tzinfo=UTC)


def source(**options: object) -> SourceConfig:
    return SourceConfig(name="reddit-peugeot", type="reddit", kind=SourceKind.FORUM, interval=timedelta(minutes=5),
                        timeout=timedelta(seconds=5),
                        options={"query": "peugeot", "client_id": "app-id", "client_secret": SECRET, **options})


class Reddit:
    """www.reddit.com's token endpoint and oauth.reddit.com's search, scripted."""

    def __init__(self, *, search: list[httpx.Response] | None = None,
                 tokens: list[httpx.Response] | None = None) -> None:
        self.search = search or [httpx.Response(200, content=LISTING)]
        self.tokens = tokens or [httpx.Response(200, json=TOKEN_ANSWER)]
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        answers = self.tokens if request.url.path == "/api/v1/access_token" else self.search
        return answers.pop(0) if len(answers) > 1 else answers[0]

    def token_requests(self) -> list[httpx.Request]:
        return [r for r in self.requests if r.url.path == "/api/v1/access_token"]

    def searches(self) -> list[httpx.Request]:
        return [r for r in self.requests if r.url.path != "/api/v1/access_token"]


def collector(reddit: Reddit, sleeps: list[float] | None = None, **options: object):
    client = httpx.Client(transport=httpx.MockTransport(reddit))
    return build_collector(source(**options), client, sleep=(sleeps if sleeps is not None else []).append,
                           rng=random.Random(2))


def test_token_is_fetched_with_client_credentials_then_used_on_oauth_reddit_com() -> None:
    reddit = Reddit()
    result = collector(reddit).collect(None, NOW)
    [token_request] = reddit.token_requests()
    assert token_request.method == "POST" and str(token_request.url) == "https://www.reddit.com/api/v1/access_token"
    assert token_request.headers["Authorization"] == "Basic " + base64.b64encode(
        f"app-id:{SECRET}".encode()).decode()
    assert token_request.content == b"grant_type=client_credentials"
    assert token_request.headers["User-Agent"].startswith("crisiswatch/")
    [search] = reddit.searches()
    assert search.url.host == "oauth.reddit.com" and search.url.path == "/search.json"
    assert search.headers["Authorization"] == f"Bearer {TOKEN}"
    assert len(result.mentions) == 3


def test_the_token_is_cached_until_it_expires() -> None:
    reddit = Reddit()
    reddit_collector = collector(reddit)
    cursor = reddit_collector.collect(None, NOW).cursor
    reddit_collector.collect(cursor, NOW + timedelta(hours=23))
    assert len(reddit.token_requests()) == 1 and len(reddit.searches()) == 2
    reddit_collector.collect(cursor, NOW + timedelta(hours=23, minutes=59, seconds=30))  # within the margin
    assert len(reddit.token_requests()) == 2


def test_a_401_fetches_a_new_token_and_tries_once_more() -> None:
    second = {**TOKEN_ANSWER, "access_token": "second-token"}
    reddit = Reddit(search=[httpx.Response(401), httpx.Response(200, content=LISTING)],
                    tokens=[httpx.Response(200, json=TOKEN_ANSWER), httpx.Response(200, json=second)])
    result = collector(reddit).collect(None, NOW)
    assert [r.headers["Authorization"] for r in reddit.searches()] == [f"Bearer {TOKEN}", "Bearer second-token"]
    assert len(result.mentions) == 3
    refused = Reddit(search=[httpx.Response(401)])
    with pytest.raises(FetchError) as caught:
        collector(refused).collect(None, NOW)
    assert caught.value.status == 401 and len(refused.token_requests()) == 2 and len(refused.searches()) == 2


def test_429_with_retry_after_and_500_then_success_on_the_search() -> None:
    sleeps: list[float] = []
    reddit = Reddit(search=[httpx.Response(429, headers={"Retry-After": "4"}), httpx.Response(500),
                            httpx.Response(200, content=LISTING)])
    result = collector(reddit, sleeps).collect(None, NOW)
    assert sleeps[0] == 4.0 and len(reddit.searches()) == 3 and len(result.mentions) == 3
    assert len(reddit.token_requests()) == 1


def test_refused_credentials_fail_clearly_and_never_show_the_secret(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    reddit = Reddit(tokens=[httpx.Response(401, json={"message": "Unauthorized", "error": 401})])
    with pytest.raises(FetchError) as caught:
        collector(reddit).collect(None, NOW)
    message = str(caught.value)
    assert message == ('source "reddit-peugeot": access token not obtained (https://www.reddit.com/api/v1/'
                       "access_token: HTTP 401 Unauthorized); check client_id and client_secret")
    assert not caught.value.retryable and reddit.searches() == []
    no_token = Reddit(tokens=[httpx.Response(200, json={"error": "invalid_grant"})])
    with pytest.raises(CollectError, match="no access_token \\(error 'invalid_grant'\\)"):
        collector(no_token).collect(None, NOW)
    everything = caplog.text + message + repr(collector(Reddit()).oauth)
    basic = base64.b64encode(f"app-id:{SECRET}".encode()).decode()
    assert SECRET not in everything and basic not in everything and TOKEN not in everything


def test_nothing_secret_is_logged_on_a_successful_run(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    reddit_collector = collector(Reddit(search=[httpx.Response(401), httpx.Response(200, content=LISTING)]))
    reddit_collector.collect(None, NOW)
    assert caplog.records  # httpx logs each request at DEBUG: the test would see a secret there
    assert SECRET not in caplog.text and TOKEN not in caplog.text


def test_credentials_go_together_and_exclude_a_fixed_token() -> None:
    assert check_options("reddit", {"query": "p", "client_id": "a", "client_secret": "b"}) == []
    assert check_options("reddit", {"query": "p", "client_id": "a"}) == [
        ("client_id", 'option "client_id" needs the option client_secret too')]
    assert check_options("reddit", {"query": "p", "token": "t", "client_id": "a", "client_secret": "b"}) == [
        ("client_id", 'options "token" and "client_id" exclude each other: give one of them')]
    text = """
brands:
  peugeot: {query: peugeot}
sources:
  reddit:
    type: reddit
    kind: forum
    query: peugeot
    client_secret: ${REDDIT_TEST_SECRET}
"""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("REDDIT_TEST_SECRET", SECRET)
        with pytest.raises(ConfigErrors) as caught:
            parse_config(text, "alerts.yaml")
    lines = str(caught.value).splitlines()
    assert ('alerts.yaml:9: sources.reddit.client_secret: option "client_secret" needs the option client_id too'
            in lines)
    assert SECRET not in str(caught.value)


@pytest.mark.parametrize("expires_in", [1e308, "soon", -5, None, 10**400, "9" * 400],
                         ids=lambda value: str(value)[:12])
def test_odd_lifetimes_are_bounded(expires_in: object) -> None:
    reddit = Reddit(tokens=[httpx.Response(200, json={**TOKEN_ANSWER, "expires_in": expires_in})])
    reddit_collector = collector(reddit)
    cursor = reddit_collector.collect(None, NOW).cursor
    reddit_collector.collect(cursor, NOW + timedelta(days=8))  # never valid for more than a week
    assert len(reddit.token_requests()) == 2

"""Source type options as the config loader sees them, and building collectors."""

from __future__ import annotations

from datetime import timedelta

import httpx
import pytest

from service.collect.registry import build_collector, check_options, known_types
from service.collect.rss import RssCollector
from service.config import SourceConfig
from service.domain import SourceKind


def test_valid_rss_options_have_no_problem() -> None:
    assert check_options("rss", {"url": "https://news.google.com/rss/search?q=peugeot"}) == []
    assert check_options("atom", {"url": "https://www.youtube.com/feeds/videos.xml?channel_id=UC1",
                                  "headers": {"Accept-Language": "fr"}, "max_bytes": 100000}) == []


def test_unknown_type_lists_the_known_types() -> None:
    [(key, message)] = check_options("telegraph", {})
    assert key == "type"
    assert message == f'unknown source type "telegraph" (known types: {", ".join(known_types())})'
    assert {"rss", "atom"} <= set(known_types())


def test_every_problem_is_reported_with_its_key() -> None:
    problems = check_options("rss", {"urll": "x", "max_bytes": "big", "headers": {"A": 1}, "attempts": 0})
    assert problems == [
        ("url", 'missing option "url" required by source type "rss"'),
        ("urll", 'unknown option "urll" for source type "rss" (known options: attempts, headers, max_bytes, url)'),
        ("max_bytes", 'option "max_bytes" must be an integer, not a string'),
        ("headers", 'option "headers" must be a mapping of strings to strings, not a mapping'),
        ("attempts", 'option "attempts" must be greater than 0, not 0'),
    ]


@pytest.mark.parametrize(("url", "message"), [
    ("ftp://example.org/feed", "option \"url\" must be an http:// or https:// URL, not 'ftp://example.org/feed'"),
    (True, 'option "url" must be a string, not a boolean'),
])
def test_url_checks(url: object, message: str) -> None:
    assert check_options("rss", {"url": url}) == [("url", message)]


def test_build_collector_uses_the_source_timeout_and_options() -> None:
    source = SourceConfig(name="n", type="rss", kind=SourceKind.NEWS, interval=timedelta(minutes=5),
                          timeout=timedelta(seconds=7), options={"url": "https://n.example.org/rss", "max_bytes": 10})
    collector = build_collector(source, httpx.Client())
    assert isinstance(collector, RssCollector) and collector.name == "n"
    assert collector.fetcher.policy.timeout == 7.0 and collector.fetcher.policy.max_bytes == 10
    with pytest.raises(ValueError, match='unknown source type "nope"'):
        build_collector(SourceConfig(name="x", type="nope", kind=SourceKind.NEWS, interval=timedelta(minutes=5),
                                     timeout=timedelta(seconds=7)), httpx.Client())


def test_url_problems_never_echo_a_query_string() -> None:
    [(key, message)] = check_options("rss", {"url": "feed.example.org/rss?key=SECRET"})
    assert key == "url" and "SECRET" not in message
    assert message == "option \"url\" must be an http:// or https:// URL, not 'feed.example.org/rss'"

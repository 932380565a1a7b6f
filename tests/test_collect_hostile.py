"""Every parser, fed arbitrary JSON or bytes, raises nothing but ParseError, and what it returns is
well formed (aware UTC times, no control characters)."""

from __future__ import annotations

import json
from datetime import UTC, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from service.collect.apis import parse_x, parse_youtube
from service.collect.base import ParseError
from service.collect.bluesky import parse_bluesky
from service.collect.complaints import parse_nhtsa_complaints
from service.collect.hackernews import parse_hackernews
from service.collect.jsonmap import parse_mapped
from service.collect.mastodon import parse_mastodon
from service.collect.reddit import parse_reddit
from service.collect.regulators import parse_nhtsa_recalls, parse_openfda, parse_rappelconso
from service.collect.rss import parse_feed
from service.config import SourceConfig
from service.domain import SourceKind

SOURCE = SourceConfig(name="s", type="x", kind=SourceKind.SOCIAL, interval=timedelta(minutes=5),
                      timeout=timedelta(seconds=5))
ZENDESK = SourceConfig(name="support", type="json", kind=SourceKind.SUPPORT, interval=timedelta(minutes=5),
                       timeout=timedelta(seconds=5), options={
                           "url": "https://acme.zendesk.com/api/v2/search.json", "items": "results",
                           "fields": {"id": "id", "text": ["subject", "description"], "time": "created_at",
                                      "url": "url", "title": "subject", "author": "via.source.from.name",
                                      "reach": "tags.0", "lang": "locale"}})


def parse_zendesk(data: bytes, *, source: SourceConfig) -> list:
    """The ``json`` type's mapped parser, with a Zendesk-like mapping."""
    return parse_mapped(data, source=ZENDESK)


PARSERS = [parse_nhtsa_recalls, parse_nhtsa_complaints, parse_rappelconso, parse_openfda, parse_reddit,
           parse_mastodon, parse_bluesky, parse_hackernews, parse_youtube, parse_x, parse_zendesk]

_KEYS = st.sampled_from([
    "results", "Results", "NHTSACampaignNumber", "ReportReceivedDate", "Summary", "numero_fiche", "date_publication",
    "libelle", "data", "children", "kind", "name", "created_utc", "title", "selftext", "body", "permalink",
    "statuses", "uri", "created_at", "content", "reblog", "account", "posts", "record", "createdAt", "text", "langs",
    "author", "hits", "objectID", "comment_text", "score", "followers_count", "crosspost_parent_list",
    "crosspost_parent", "spoiler_text", "language", "recall_number", "report_date", "items", "id", "videoId",
    "snippet", "publishedAt", "includes", "users", "meta", "public_metrics", "referenced_tweets",
    "odiNumber", "dateComplaintFiled", "components", "summary", "products", "productMake", "type", "crash",
    "numberOfInjuries", "subject", "description", "via", "tags", "locale",
])
_HOSTILE = st.sampled_from([
    "<script>alert(1)</script>", "<!channel> <@U123> <https://x|y>", "\x00\x01\u202e", "2026-02-30T00:00:00Z",
    "9999-12-31T23:59:59Z", "0000-00-00", "31/02/2010", "1e400", "-5", "NaN", "x" * 5000, "",
    "2026-11-26T08:00:00Z", "21/01/2010", "1795676400", "20261119", "20261399", "11/24/2026", "02/30/2026",
    "Vehicle", "&amp;lt;b&amp;gt; &#0; &#x110000; &unknown; &amp", "a\u2028b\u00ad\u2066c",
])
_HUGE = st.sampled_from([10**400, -(10**400), 2**64, -(2**63) - 1, 2**64 - 1, "9" * 400])
"""Integers a float cannot hold (orjson refuses them, ``float()`` overflows) and their digit string."""
_SCALARS = st.one_of(st.none(), st.booleans(), st.integers(min_value=-(2**70), max_value=2**70),
                     st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=30), _HOSTILE, _HUGE)
_JSON = st.recursive(_SCALARS, lambda children: st.one_of(
    st.lists(children, max_size=4), st.dictionaries(_KEYS, children, max_size=6)), max_leaves=30)


def _check(parser, data: bytes) -> None:
    try:
        mentions = parser(data, source=SOURCE)
    except ParseError:
        return
    for mention in mentions:
        assert mention.published_at.tzinfo is UTC
        assert isinstance(mention.text, str) and mention.text
        assert "\x00" not in mention.text and "<script" not in mention.text
        assert len(mention.text) <= 20_000


@pytest.mark.parametrize("parser", PARSERS, ids=lambda p: p.__name__)
@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(payload=_JSON)
def test_property_json_parsers_raise_only_parse_error(parser, payload) -> None:
    _check(parser, json.dumps(payload).encode())


@pytest.mark.parametrize("parser", PARSERS, ids=lambda p: p.__name__)
@settings(max_examples=60, deadline=None)
@given(data=st.binary(max_size=200))
def test_property_arbitrary_bytes_raise_only_parse_error(parser, data: bytes) -> None:
    _check(parser, data)


@settings(max_examples=80, deadline=None)
@given(data=st.one_of(st.binary(max_size=300), st.builds(
    lambda title, body: f"<rss version='2.0'><channel><item><title>{title}</title><description>{body}"
                        f"</description><pubDate>Thu, 26 Nov 2026 08:00:00 GMT</pubDate></item></channel></rss>"
                        .encode("utf-8", "surrogatepass"), st.text(max_size=40), _HOSTILE)))
def test_property_feed_parser_raises_only_parse_error(data: bytes) -> None:
    _check(parse_feed, data)


@pytest.mark.parametrize("parser", PARSERS, ids=lambda p: p.__name__)
def test_deeply_nested_json_is_a_parse_error(parser) -> None:
    with pytest.raises(ParseError):
        parser(b"[" * 100_000 + b"]" * 100_000, source=SOURCE)


FIXTURES = {
    parse_nhtsa_recalls: "nhtsa_recalls_toyota_camry_2010.json", parse_rappelconso: "rappelconso_v2_records.json",
    parse_reddit: "reddit_search_new.json", parse_mastodon: "mastodon_tag_timeline.json",
    parse_bluesky: "bluesky_search_posts.json", parse_hackernews: "hackernews_search_by_date.json",
    parse_openfda: "openfda_food_enforcement.json", parse_youtube: "youtube_search_list.json",
    parse_x: "x_recent_search.json", parse_nhtsa_complaints: "nhtsa_complaints_honda_crv_2019.json",
    parse_zendesk: "zendesk_search_page1.json",
}


def _replace_leaves(value, replacement):
    if isinstance(value, dict):
        return {key: _replace_leaves(item, replacement) for key, item in value.items()}
    if isinstance(value, list):
        return [_replace_leaves(item, replacement) for item in value]
    return replacement(value)


@pytest.mark.parametrize("parser", PARSERS, ids=lambda p: p.__name__)
@settings(max_examples=40, deadline=None)
@given(hostile=st.one_of(_SCALARS, st.lists(_SCALARS, max_size=2), st.dictionaries(_KEYS, _SCALARS, max_size=2)),
       keep=st.integers(min_value=0, max_value=3))
def test_property_real_payloads_with_hostile_fields(parser, hostile, keep: int) -> None:
    from pathlib import Path

    original = json.loads((Path(__file__).parent / "fixtures" / "feeds" / FIXTURES[parser]).read_text("utf-8"))
    counter = iter(range(10**6))
    mutated = _replace_leaves(original, lambda leaf: leaf if next(counter) % 4 < keep else hostile)
    _check(parser, json.dumps(mutated).encode())


@pytest.mark.parametrize("parser", PARSERS, ids=lambda p: p.__name__)
def test_script_and_slack_sequences_in_real_payloads_stay_text(parser) -> None:
    from pathlib import Path

    original = json.loads((Path(__file__).parent / "fixtures" / "feeds" / FIXTURES[parser]).read_text("utf-8"))
    hostile = _replace_leaves(original, lambda leaf: leaf + " <script>x()</script>&lt;!channel&gt;\x00"
                              if isinstance(leaf, str) and not leaf[:1].isdigit() else leaf)
    mentions = parser(json.dumps(hostile).encode(), source=SOURCE)
    assert mentions, "the mutated payload should still parse"
    for mention in mentions:
        assert "x()" not in mention.text and "\x00" not in mention.text
        assert "<!channel>" in mention.text


@pytest.mark.parametrize("parser", PARSERS, ids=lambda p: p.__name__)
def test_deeply_nested_objects_are_a_parse_error(parser) -> None:
    with pytest.raises(ParseError):
        parser(b'{"a":' * 5000, source=SOURCE)


@pytest.mark.parametrize("encoding", ["utf-16", "utf-32", "utf-16-be"])
@pytest.mark.parametrize("parser", PARSERS, ids=lambda p: p.__name__)
def test_control_characters_are_cleaned_whatever_the_json_encoding(parser, encoding: str) -> None:
    """JSON in UTF-16 or UTF-32 (which ``json.loads`` reads) is cleaned like UTF-8: no escape, bell or
    line break sneaks into a field through the fast printable test."""
    from pathlib import Path

    original = json.loads((Path(__file__).parent / "fixtures" / "feeds" / FIXTURES[parser]).read_text("utf-8"))
    hostile = _replace_leaves(original, lambda leaf: f"{leaf}\x1b[31m\x07\r\nX" if isinstance(leaf, str) else leaf)
    try:
        mentions = parser(json.dumps(hostile, ensure_ascii=False).encode(encoding), source=SOURCE)
    except ParseError:
        return
    for mention in mentions:
        for name in ("text", "title", "author", "source", "url"):
            value = getattr(mention, name) or ""
            allowed = "\n" if name == "text" else ""
            assert not any(ord(ch) < 32 and ch not in allowed for ch in value), (name, value)


def _no_surrogate(mention) -> None:
    for name in ("id", "text", "title", "author", "source", "url", "lang", "duplicate_of"):
        value = getattr(mention, name) or ""
        assert not any("\ud800" <= ch <= "\udfff" for ch in value), (name, value)


@pytest.mark.parametrize("form", ["escape", "utf-8 bytes"])
@pytest.mark.parametrize("parser", PARSERS, ids=lambda p: p.__name__)
def test_unpaired_surrogates_never_reach_a_mention(parser, form: str) -> None:
    """A lone UTF-16 surrogate (a ``\\ud800`` escape, or its three bytes in a payload that is not valid
    UTF-8) is not Unicode: no store can write it. Every parser gives ParseError or mentions without one."""
    from pathlib import Path

    original = json.loads((Path(__file__).parent / "fixtures" / "feeds" / FIXTURES[parser]).read_text("utf-8"))
    hostile = _replace_leaves(original, lambda leaf: f"{leaf}\ud800x" if isinstance(leaf, str) else leaf)
    if form == "escape":
        data = json.dumps(hostile).encode()  # ASCII, surrogates written as \ud800 escapes
    else:
        data = json.dumps(hostile, ensure_ascii=False).encode("utf-8", "surrogatepass")
    try:
        mentions = parser(data, source=SOURCE)
    except ParseError:
        return
    for mention in mentions:
        _no_surrogate(mention)

"""RSS/Atom/RDF parsing on recorded-format fixtures, hostile inputs, and the RSS collector's cursor."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from service.collect.base import ParseError, clean_text
from service.collect.http import Fetcher, FetchPolicy, HostLimiter
from service.collect.rss import RssCollector, parse_entries, parse_feed
from service.config import SourceConfig
from service.domain import SourceKind

FEEDS = Path(__file__).parent / "fixtures" / "feeds"
NOW = datetime(2026, 11, 26, 10, 0, tzinfo=UTC)
URL = "https://news.example.org/rss"


def source(**changes: object) -> SourceConfig:
    values: dict[str, object] = {"name": "news-fr", "type": "rss", "kind": SourceKind.NEWS,
                                 "interval": timedelta(minutes=5), "timeout": timedelta(seconds=5),
                                 "options": {"url": URL}}
    values.update(changes)
    return SourceConfig(**values)  # type: ignore[arg-type]


def rss(*items: str, extra: str = "") -> bytes:
    return (f'<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel><title>t</title>{extra}'
            + "".join(items) + "</channel></rss>").encode()


def item(guid: str, title: str, date: str | None = "Thu, 26 Nov 2026 08:00:00 GMT", body: str = "") -> str:
    pub = f"<pubDate>{date}</pubDate>" if date is not None else ""
    return (f"<item><guid>{guid}</guid><title>{title}</title><link>https://n.example.org/{guid}</link>"
            f"{pub}<description>{body}</description></item>")


# -- parsers on format samples ---------------------------------------------------------------------

def test_google_news_rss_2_0() -> None:
    mentions = parse_feed((FEEDS / "google_news_fr.rss").read_bytes(), source=source(brands=("peugeot",)))
    assert [m.published_at for m in mentions] == [datetime(2026, 11, 26, 8, 12, tzinfo=UTC),
                                                  datetime(2026, 11, 25, 17, 40, tzinfo=UTC),
                                                  datetime(2026, 11, 25, 6, 5, tzinfo=UTC)]
    first = mentions[0]
    # the summary only restates "title + publisher": the text is the title once
    assert first.text == "Peugeot rappelle 12 000 véhicules pour un défaut de freinage - Le Parisien"
    assert first.author == "Le Parisien" and first.lang == "fr" and first.brand == "peugeot"
    assert first.kind is SourceKind.NEWS and first.source == "news-fr"
    assert first.url is not None and first.url.startswith("https://news.google.com/rss/articles/CBMigg")
    assert first.id.startswith("feed:") and len({m.id for m in mentions}) == 3


def test_youtube_channel_atom_keeps_description_and_views() -> None:
    mentions = parse_feed((FEEDS / "youtube_channel.atom").read_bytes(), source=source(kind=SourceKind.VIDEO))
    assert len(mentions) == 2
    recall = mentions[0]
    assert recall.text == ("Toyota accelerator pedal recall: what owners need to know\nSticky pedals, floor mats "
                           "and a sales halt: we explain which models are affected and what the dealer will do.")
    assert recall.published_at == datetime(2026, 11, 26, 7, 30, 12, tzinfo=UTC)
    assert recall.url == "https://www.youtube.com/watch?v=Xq3vB7kLm2Q"
    assert recall.reach == 48211.0 and recall.author == "Auto Review Channel" and recall.kind is SourceKind.VIDEO


def test_rdf_rss_1_0_strips_html_and_decodes_latin1() -> None:
    mentions = parse_feed((FEEDS / "slashdot.rdf").read_bytes(), source=source())
    assert [m.author for m in mentions] == ["timothy", "kdawson"]
    assert mentions[0].text == (
        'Toyota Recalls 2.3 Million Vehicles Over Sticking Gas Pedals\nAn anonymous reader writes "Toyota said '
        "Thursday it will recall about 2.3 million vehicles in the U.S. to fix sticking accelerator pedals, its "
        'second big recall in three months."')
    assert mentions[0].published_at == datetime(2010, 1, 21, 19, 2, tzinfo=UTC)
    assert mentions[0].lang == "en"


def test_source_lang_hint_wins_over_the_feed_language() -> None:
    mentions = parse_feed((FEEDS / "google_news_fr.rss").read_bytes(), source=source(lang="en"))
    assert {m.lang for m in mentions} == {"en"}


def test_id_comes_from_guid_then_link_and_is_stable() -> None:
    with_guid = parse_entries(rss(item("abc", "One")))[0]
    same_guid_other_title = parse_entries(rss(item("abc", "Changed title")))[0]
    assert with_guid.id == same_guid_other_title.id
    no_guid = rss('<item><title>x</title><link>https://n.example.org/a</link></item>')
    other_title_same_link = rss('<item><title>y</title><link>https://n.example.org/a</link></item>')
    assert parse_entries(no_guid)[0].id == parse_entries(other_title_same_link)[0].id


def test_dates_with_offsets_are_normalised_to_utc_and_fallback_to_updated() -> None:
    atom = (b'<feed xmlns="http://www.w3.org/2005/Atom"><title>t</title>'
            b'<entry><id>urn:1</id><title>a</title><published>2026-11-26T10:30:00+02:00</published></entry>'
            b'<entry><id>urn:2</id><title>b</title><updated>2026-11-26T01:00:00-05:00</updated></entry></feed>')
    entries = parse_entries(atom)
    assert [e.published_at for e in entries] == [datetime(2026, 11, 26, 8, 30, tzinfo=UTC),
                                                 datetime(2026, 11, 26, 6, 0, tzinfo=UTC)]


def test_entries_without_a_usable_date_are_left_out_by_parse_feed() -> None:
    data = rss(item("a", "dated"), item("b", "no date", date=None), item("c", "impossible", date="Fri, 31 Feb 2026"),
               item("d", "placeholder", date="Thu, 01 Jan 1970 00:00:00 GMT"))
    assert [e.published_at is None for e in parse_entries(data)] == [False, True, True, True]
    assert [m.title for m in parse_feed(data, source=source())] == ["dated"]


# -- hostile inputs --------------------------------------------------------------------------------

def test_script_tags_and_slack_control_sequences_stay_inert_text() -> None:
    body = ("&lt;script&gt;alert(1)&lt;/script&gt;&lt;b&gt;Recall&lt;/b&gt; &amp;lt;!channel&amp;gt; "
            "&amp;lt;@U123&amp;gt; <![CDATA[ignored]]>")
    [mention] = parse_feed(rss(item("x", "Hostile &lt;!here&gt;", body=body)), source=source())
    assert "alert(1)" not in mention.text and "<script" not in mention.text
    assert mention.title == "Hostile"  # a tag-like "<!here>" after entity decoding by the XML parser is markup
    assert "<!channel>" in mention.text and "<@U123>" in mention.text  # literal text: escaping is the notifier's job


def test_nul_bytes_and_control_characters_are_removed() -> None:
    data = rss(item("n", "Nul\x00 in title", body="bell\x07 and bidi\u202e override"))
    entries = parse_entries(data)
    assert all("\x00" not in e.text and "\x07" not in e.text and "\u202e" not in e.text for e in entries)


def test_huge_fields_are_cut() -> None:
    [mention] = parse_feed(rss(item("h", "T" * 5000, body="word " * 20000)), source=source())
    assert mention.title is not None and len(mention.title) <= 1000
    assert len(mention.text) <= 20_000 and mention.text.endswith("…")


@pytest.mark.parametrize("data", [
    b"", b"\x00\x00\x00", b"<html><body>Not a feed</body></html>", b'{"items": []}', b"<rss",
    b"\xff\xfe\x00<\x00r\x00s\x00s", b"<?xml version='1.0'?><!DOCTYPE x [<!ENTITY a 'aaaa'>]><x>&a;</x>",
])
def test_non_feeds_raise_parse_error(data: bytes) -> None:
    with pytest.raises(ParseError):
        parse_entries(data)


def test_broken_xml_with_entries_yields_what_was_recovered() -> None:
    broken = rss(item("ok", "Good entry"), "<item><title>unclosed <b>tag</title><guid>z</guid>")[:-10]
    entries = parse_entries(broken)
    assert [e.title for e in entries][:1] == ["Good entry"]


def test_billion_laughs_is_not_expanded() -> None:
    bomb = (b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
            b'<!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">'
            b'<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>'
            b'<rss version="2.0"><channel><item><title>&lol3;</title><guid>b</guid>'
            b"<pubDate>Thu, 26 Nov 2026 08:00:00 GMT</pubDate></item></channel></rss>")
    try:
        entries = parse_entries(bomb)
    except ParseError:
        return
    assert all(len(e.text) < 1000 for e in entries)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=400))
def test_property_arbitrary_bytes_raise_only_parse_error(data: bytes) -> None:
    try:
        entries = parse_entries(data)
    except ParseError:
        return
    assert all(isinstance(e.text, str) for e in entries)


_TEXT = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=80)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(title=_TEXT, body=_TEXT, date=st.one_of(_TEXT, st.sampled_from(
    ["Thu, 26 Nov 2026 08:00:00 GMT", "2026-13-45T99:99:99Z", "Mon, 31 Feb 2026 25:61:00 +9999", "0", ""])))
def test_property_feeds_with_hostile_fields_raise_only_parse_error(title: str, body: str, date: str) -> None:
    data = ('<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel><item>'
            f"<title>{title}</title><description>{body}</description><pubDate>{date}</pubDate>"
            "<guid>g</guid></item></channel></rss>").encode("utf-8", "surrogatepass")
    try:
        mentions = parse_feed(data, source=source())
    except ParseError:
        return
    for mention in mentions:
        assert mention.published_at.tzinfo is UTC
        assert "\x00" not in mention.text


def test_clean_text_helper() -> None:
    assert clean_text("<p>A&nbsp;B</p><style>p{}</style><!-- c --><p>C &amp; D</p>") == "A B\nC & D"
    assert clean_text("tabs\t\tand   spaces\r\n\r\n\nlines") == "tabs and spaces\nlines"
    assert clean_text(None) == ""


# -- the collector and its cursor --------------------------------------------------------------------

class FeedServer:
    """Serves a feed body with an ETag and answers 304 to a matching If-None-Match."""

    def __init__(self, body: bytes) -> None:
        self.body = body
        self.version = 1
        self.requests: list[httpx.Request] = []

    def update(self, body: bytes) -> None:
        self.body, self.version = body, self.version + 1

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        etag = f'"v{self.version}"'
        if request.headers.get("If-None-Match") == etag:
            return httpx.Response(304, headers={"ETag": etag})
        return httpx.Response(200, content=self.body, headers={"ETag": etag,
                                                               "Content-Type": "application/rss+xml"})


def collector(server: FeedServer, **changes: object) -> RssCollector:
    client = httpx.Client(transport=httpx.MockTransport(server))
    return RssCollector(source(**changes), Fetcher(client, policy=FetchPolicy(attempts=1), limiter=HostLimiter()))


def test_collector_returns_only_new_entries_and_uses_conditional_get() -> None:
    server = FeedServer(rss(item("a", "first"), item("b", "second")))
    feed = collector(server)
    first = feed.collect(None, NOW)
    assert [m.title for m in first.mentions] == ["first", "second"]
    assert first.cursor is not None and first.cursor["etag"] == '"v1"'
    assert first.cursor["newest"] == "2026-11-26T08:00:00+00:00"

    unchanged = feed.collect(first.cursor, NOW + timedelta(minutes=5))
    assert unchanged.mentions == () and unchanged.cursor is None
    assert server.requests[-1].headers["If-None-Match"] == '"v1"'

    server.update(rss(item("c", "third", date="Thu, 26 Nov 2026 09:00:00 GMT"), item("a", "first"),
                      item("b", "second")))
    third = feed.collect(first.cursor, NOW + timedelta(minutes=10))
    assert [m.title for m in third.mentions] == ["third"]
    assert third.cursor is not None and third.cursor["newest"] == "2026-11-26T09:00:00+00:00"


def test_collector_dedups_without_validators_too() -> None:
    body = rss(item("a", "first"))
    client = httpx.Client(transport=httpx.MockTransport(lambda request: httpx.Response(200, content=body)))
    feed = RssCollector(source(), Fetcher(client, limiter=HostLimiter()))
    cursor = feed.collect(None, NOW).cursor
    assert cursor is not None and "etag" not in cursor
    assert feed.collect(cursor, NOW).mentions == ()


def test_undated_entries_are_remembered_on_the_first_poll_then_stamped_when_first_seen() -> None:
    server = FeedServer(rss(item("old", "undated old", date=None)))
    feed = collector(server)
    first = feed.collect(None, NOW)
    assert first.mentions == ()  # unknown age: not emitted on the first poll
    later = NOW + timedelta(minutes=5)
    server.update(rss(item("new", "undated new", date=None), item("old", "undated old", date=None)))
    second = feed.collect(first.cursor, later)
    assert [(m.title, m.published_at) for m in second.mentions] == [("undated new", later)]


def test_future_dates_are_clamped_to_now_and_very_old_unseen_entries_skipped() -> None:
    server = FeedServer(rss(item("f", "future", date="Sat, 26 Dec 2026 08:00:00 GMT")))
    feed = collector(server)
    first = feed.collect(None, NOW)
    assert [m.published_at for m in first.mentions] == [NOW]
    server.update(rss(item("o", "ancient", date="Mon, 02 Nov 2026 08:00:00 GMT")))
    assert feed.collect(first.cursor, NOW).mentions == ()

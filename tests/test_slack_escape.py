"""Hostile texts made inert for Slack mrkdwn and plain text; limits and clean ellipsis."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from service.notify.escape import (
    ELLIPSIS,
    SOFT_HYPHEN,
    ZWSP,
    clean,
    escape_mrkdwn,
    escape_plain,
    link_host,
    link_url,
    slack_len,
    truncate,
)

# An entity is fine; a bare "<" or ">" or an "&" that does not start one of ours is not.
UNESCAPED = re.compile(r"[<>]|&(?!amp;|lt;|gt;)")


def visible(text: str) -> str:
    """What a reader sees once Slack decodes entities and the invisible characters vanish."""
    text = text.replace(ZWSP, "").replace(SOFT_HYPHEN, "")
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


@pytest.mark.parametrize(
    ("hostile", "expected"),
    [
        ("<!channel> recall now", "&lt;!channel&gt; recall now"),
        ("<!here|here> look", "&lt;!here|here&gt; look"),
        ("ping <@U123> and <#C1>", "ping &lt;@U123&gt; and &lt;#C1&gt;"),
        ("<https://evil.example|click> me", "&lt;https://evil.example|click&gt; me"),
        ("AT&T &amp; friends", "AT&amp;T &amp;amp; friends"),
        ("<!subteam^S123|@comms>", "&lt;!subteam^S123|@comms&gt;"),
    ],
)
def test_control_sequences_cannot_form(hostile: str, expected: str) -> None:
    assert escape_mrkdwn(hostile) == expected
    assert escape_plain(hostile) == expected
    assert visible(escape_mrkdwn(hostile)) == hostile


@pytest.mark.parametrize(
    ("hostile", "expected"),
    [
        ("*bold* claim", f"{ZWSP}*{ZWSP}bold{ZWSP}*{ZWSP} claim"),
        ("_italic_", f"{ZWSP}_{ZWSP}italic{ZWSP}_{ZWSP}"),
        ("~struck~", f"{ZWSP}~{ZWSP}struck{ZWSP}~{ZWSP}"),
        ("`code`", f"{ZWSP}`{ZWSP}code{ZWSP}`{ZWSP}"),
        ("```rm -rf```", f"{ZWSP}`{ZWSP}" * 3 + "rm -rf" + f"{ZWSP}`{ZWSP}" * 3),
    ],
)
def test_formatting_markers_are_broken_by_zero_width_spaces(hostile: str, expected: str) -> None:
    escaped = escape_mrkdwn(hostile)
    assert escaped == expected
    assert visible(escaped) == hostile
    assert escape_plain(hostile) == hostile  # plain_text does not format: left alone


def test_markers_inside_words_are_left_alone() -> None:
    assert escape_mrkdwn("snake_case_name 2*3=6 e~x") == "snake_case_name 2*3=6 e~x"


def test_quote_at_line_start_is_neutralised() -> None:
    assert escape_mrkdwn("> quoted claim") == f"{SOFT_HYPHEN}&gt; quoted claim"
    assert escape_mrkdwn("＞ fullwidth") == f"{SOFT_HYPHEN}＞ fullwidth"
    assert escape_mrkdwn("a > b") == "a &gt; b"
    # newlines collapse, so a quote can never start a later line
    assert escape_mrkdwn("first\n> second") == "first &gt; second"


def test_broadcast_words_get_a_zero_width_space() -> None:
    assert escape_mrkdwn("@channel @HERE @everyone @channelz") == (
        f"@{ZWSP}channel @{ZWSP}HERE @{ZWSP}everyone @channelz"
    )


def test_controls_and_whitespace() -> None:
    text = "a\x00b\x07c\r\n\t d\u202eevil\u2066 e\ufeff\u200bf  \u00a0 g\ud800"
    assert clean(text) == "abc devil ef g"
    assert escape_mrkdwn(text) == "abc devil ef g"


def test_emoji_and_accents_survive() -> None:
    text = "Rappel massif 😡🚗 : « freins défaillants » — Prius, déjà 2 accidents 👨‍👩‍👧"
    assert escape_mrkdwn(text) == text
    decomposed = "de\u0301ja\u0300"
    assert escape_mrkdwn(decomposed) == "déjà"  # NFC: one code point each


def test_truncation_never_cuts_an_entity() -> None:
    text = "&" * 100
    for limit in range(1, 30):
        out = escape_mrkdwn(text, limit)
        assert slack_len(out) <= limit
        assert out.endswith(ELLIPSIS)
        assert re.fullmatch(r"(&amp;)*…", out), out
    assert escape_mrkdwn("ab&cd", 4) == "ab…"
    assert escape_mrkdwn("ab&cd", 8) == "ab&amp;…"


def test_truncation_prefers_a_word_boundary() -> None:
    text = "Toyota recalls accelerator pedals on millions of vehicles"
    assert escape_plain(text, 32) == "Toyota recalls accelerator…"
    assert escape_plain(text, 200) == text


def test_truncation_keeps_emoji_sequences_whole() -> None:
    family = "👨‍👩‍👧‍👦"  # 7 code points, 11 UTF-16 units
    assert escape_plain(family * 3, 12) == family + ELLIPSIS
    assert escape_plain(family * 3, 11) == ELLIPSIS
    flags = "🇫🇷🇯🇵🇺🇸"
    assert escape_plain(flags, 7) == "🇫🇷" + ELLIPSIS
    assert escape_plain("e\u0301" * 10, 4) == "ééé…"


def test_ten_kilobyte_text() -> None:
    text = ("Recall <!channel> *urgent* & brakes_fail " * 300)[:10_000]
    out = escape_mrkdwn(text, 3000)
    assert slack_len(out) <= 3000
    assert out.endswith(ELLIPSIS)
    assert not UNESCAPED.search(out)
    assert visible(out[:-1]).strip() in text


def test_truncate_already_escaped_text_keeps_our_constructs_whole() -> None:
    ours = "see <https://example.com/x|example.com> &amp; more"
    assert truncate(ours, 12) == "see…"
    assert truncate(ours, 42) == "see <https://example.com/x|example.com>…"
    marked = escape_mrkdwn("aa *b* cc")
    assert truncate(marked, 5) in ("aa…", f"aa {ZWSP}*{ZWSP}…")


def test_limit_must_be_positive() -> None:
    with pytest.raises(ValueError, match="limit must be at least 1"):
        escape_plain("long text", 0)


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://www.reuters.com/business/autos?id=1&x=2", "https://www.reuters.com/business/autos?id=1&amp;x=2"),
        ("HTTP://Example.COM/a b", "http://example.com/a%20b"),
        ("https://example.com/x|<!channel>", "https://example.com/x%7C%3C!channel%3E"),
        ("https://example.com/\"quoted\"\n", "https://example.com/%22quoted%22"),
        ("https://bücher.de/ü", "https://xn--bcher-kva.de/%C3%BC"),
        ("https://example.com:8443/p", "https://example.com:8443/p"),
        ("javascript:alert(1)", None),
        ("ftp://example.com/file", None),
        ("https://user:pass@example.com/", None),
        ("https://exa|mple.com/", None),
        ("https://example.com:80>/x", None),
        ("https:///nohost", None),
        ("https://example.com/" + "a" * 3000, None),
        ("", None),
        (None, None),
    ],
)
def test_link_url(url: str | None, expected: str | None) -> None:
    assert link_url(url) == expected


def test_link_host() -> None:
    assert link_host("https://www.lemonde.fr/economie/") == "lemonde.fr"
    assert link_host("https://exa<mple.com") is None
    assert link_host(None) is None


hostile_piece = st.one_of(
    st.sampled_from(list("<>&*_~`|@!#^ \n\t\x00:;/")),
    st.sampled_from(["<!channel>", "&amp;", "&lt;", "@here", "\u200d", "\u0301", "🇫", "👍🏽", "é", "> "]),
    st.characters(),
)
hostile_text = st.lists(hostile_piece, max_size=200).map("".join)


@settings(max_examples=300, deadline=None, database=None)
@given(text=hostile_text, limit=st.integers(min_value=1, max_value=300))
def test_property_mrkdwn_is_inert_and_within_limit(text: str, limit: int) -> None:
    out = escape_mrkdwn(text, limit)
    assert slack_len(out) <= limit
    assert not UNESCAPED.search(out)
    assert not any(char in out for char in "\x00\r\n\t")
    full = escape_mrkdwn(text)
    assert out == full or out.endswith(ELLIPSIS)


@settings(max_examples=200, deadline=None, database=None)
@given(text=hostile_text, limit=st.integers(min_value=1, max_value=300))
def test_property_plain_is_inert_and_within_limit(text: str, limit: int) -> None:
    out = escape_plain(text, limit)
    assert slack_len(out) <= limit
    assert not UNESCAPED.search(out)
    if not out.endswith(ELLIPSIS):
        assert visible(out) == clean(text)

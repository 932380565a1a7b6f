"""The parse-speed shortcuts give exactly what the general code gives: the Mention Struct, the
plain-text and common-entity fast paths, the ISO 8601 time fast path, and orjson
with its standard-library fallback. Plus the collect modules' doctests."""

from __future__ import annotations

import doctest
import html
import importlib
import json
import re
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import msgspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from service.collect import base, hackernews
from service.collect.base import ParseError, clean_field, clean_text, line_field, load_json, parse_time, text_field
from service.collect.cleaner import Cleaner
from service.config import SourceConfig
from service.domain import Mention, SourceKind

FEEDS = Path(__file__).parent / "fixtures" / "feeds"
_TOKENS = [*"ab <>&;#x27lgtampquonbs/p\n\t\u00a0\u200b\u2028\x00é", "&amp;", "&lt;", "&gt;", "&quot;", "&#39;",
           "&nbsp;", "<p>", "</p>", "<br>", "<script>", "</script>", "<!--", "-->", "&eacute;", "  "]
_TEXT = st.lists(st.sampled_from(_TOKENS), max_size=25).map("".join)

# The cleaning as it was written before the fast paths (the reference they must agree with).
_HIDDEN = re.compile(r"<(script|style|noscript|template)\b[^>]*>.*?(?:</\1\s*>|\Z)", re.I | re.S)
_COMMENT = re.compile(r"<!--.*?(?:-->|\Z)", re.S)
_BREAK = re.compile(r"<\s*(?:br|/p|/div|/li|/h[1-6]|p|li|tr)\b[^>]*>", re.I)
_TAG = re.compile(r"</?[A-Za-z][^<>]*>|<![A-Za-z\[][^<>]*>|<\?[^<>]*>")
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2060-\u2064\ufeff\ufffe\uffff]")
_SPACES = re.compile(r"[ \t\r\f\v\u00a0]+")
_NEWLINES = re.compile(r"\s*\n\s*")


def reference_clean(text: str) -> str:
    text = _TAG.sub("", _BREAK.sub("\n", _HIDDEN.sub(" ", _COMMENT.sub(" ", text))))
    text = _SPACES.sub(" ", _CONTROL.sub("", html.unescape(text)))
    return _NEWLINES.sub("\n", text).strip()


FIELDS = ("id", "published_at", "text", "source", "kind", "brand", "lang", "author", "url", "title", "reach",
          "engagement", "duplicate_of")


def test_mention_is_a_frozen_keyword_only_struct_equal_by_field() -> None:
    values = ("x:1", datetime(2026, 11, 26, tzinfo=UTC), "text", "src", SourceKind.SOCIAL, "peugeot", "fr", "me",
              "https://x.com/me/status/1", "title", 10.0, 3.0, "x:0")
    mention = Mention(**dict(zip(FIELDS, values, strict=True)))
    same = Mention(**dict(zip(FIELDS, values, strict=True)))
    assert msgspec.structs.fields(Mention) and tuple(f.name for f in msgspec.structs.fields(Mention)) == FIELDS
    assert mention == same and hash(mention) == hash(same) and len({mention, same}) == 1
    assert repr(mention).startswith("Mention(id='x:1', published_at=datetime.datetime(2026, 11, 26")
    assert msgspec.structs.astuple(mention) == values
    with pytest.raises(AttributeError):
        mention.text = "changed"  # type: ignore[misc]
    with pytest.raises(TypeError):
        Mention(*values[:3])  # type: ignore[misc]  # keyword-only
    changed = msgspec.structs.replace(mention, text="other")
    assert changed.text == "other" and mention.text == "text" and changed != mention
    minimal = Mention(id="m", published_at=datetime(2026, 11, 26, tzinfo=UTC), text="t")
    assert msgspec.structs.astuple(minimal)[3:] == (None,) * 10
    assert minimal.to_record() == {"id": "m", "published_at": "2026-11-26T00:00:00+00:00", "text": "t"}
    assert mention.to_record()["kind"] == "social" and type(mention.to_record()["kind"]) is str


@settings(max_examples=400, deadline=None)
@given(text=_TEXT)
def test_text_fast_paths_match_the_general_cleaning(text: str) -> None:
    assert text_field(text) == clean_text(text) == reference_clean(text)
    assert line_field(text) == clean_field(text) == (reference_clean(text).replace("\n", " ") or None)
    assert base._unescape(text) == html.unescape(text)


_ALGOLIA = ["a", "b", "é", ".", " ", "  ", "\n", "\t", "\u00a0", "\u2028", "\x00", "<p>", "</p>", "<i>", "</i>", "<b>",
            "</b>", "<em>", "</em>", "<pre>", "</pre>", "<code>", "</code>", "<br>", "<br/>", "<br />", "<li>", "</li>",
            '<a href="https://x.y/?a=1&amp;b=2" rel="nofollow">', "</a>", "<a>", "<a ", "<a\n>", "<P>", "< p>", "<p >",
            "<pre ", "<", ">", "<!--", "-->", "<script>", "</script>", "<\u017fcript>", "<l\u0131>", "<tr>", "<!x>",
            "&#x27;", "&#x2F;", "&#39;", "&amp;", "&lt;", "&gt;", "&quot;", "&nbsp;", "&", ";", "&amp;lt;", "&lt",
            "&ampx;", "&eacute;", "&#x2f;", "&amp;#x27;",
            "a long run of plain words " * 10]  # (the str.find steps take texts from 256 on)


@settings(max_examples=800, deadline=None)
@given(text=st.lists(st.sampled_from(_ALGOLIA), max_size=30).map("".join))
def test_simple_tag_and_entity_passes_match_the_general_cleaning(text: str) -> None:
    """Algolia's HTML (and anything near it) cleaned by str.find passes gives what the regular
    expressions give; so does the printable hint, whenever it is true."""
    expected = reference_clean(text)
    assert base._clean_markup(text) == expected
    assert base._clean_markup(text + " " * base._LONG) == expected  # long: through the str.find steps
    assert base._clean_markup(text, simple=True) == expected  # Algolia's shortcuts first, at any length
    if text.isprintable():
        assert base._clean_markup(text, printable=True) == expected
        assert base._clean_markup(text, printable=True, simple=True) == expected
    stripped = base._simple_tags(text)
    walked = base._walk_tags(text)
    regex_stripped = _TAG.sub("", _BREAK.sub("\n", _HIDDEN.sub(" ", _COMMENT.sub(" ", text))))
    assert stripped is None or stripped == walked == regex_stripped
    assert walked is None or walked == regex_stripped
    for decoded in (base._common_entities(text), base._apostrophes_first(text)):
        assert decoded is None or decoded == html.unescape(text)


def test_algolia_comments_take_the_simple_passes() -> None:
    hits = json.loads((FEEDS / "full" / "hackernews_search_by_date.json").read_bytes())["hits"]
    texts = [hit.get("comment_text") or hit.get("story_text") for hit in hits if "<" in str(hit)]
    texts = [text for text in texts if text]
    assert len(texts) == 3
    for text in texts:
        stripped = base._simple_tags(text)
        assert stripped is not None and base._common_entities(stripped) is not None, text
        assert base._walk_tags(text) == stripped and base._apostrophes_first(stripped) is not None, text
    assert base._simple_tags('x<a href="y">z</a><pre><code>a\n  b</code></pre><p>w') == "xza\n  b\nw"
    assert base._simple_tags("<p class=x>") is None and base._simple_tags("<a <p>>") is None
    assert base._common_entities("I&#x27;d &amp; &lt;b&gt;") == "I'd & <b>" and base._common_entities("&copy;") is None
    assert base._common_entities("&amp;lt; &#x27;&#x2F;&#x27; &amp;amp;") == "&lt; '/' &amp;"  # each decoded once
    assert base._apostrophes_first("it&#x27;s &amp;#x27; &lt;") == "it's &#x27; <"
    assert base._apostrophes_first("it&#x27;s &eacute;") is None  # then html.unescape, from the text as it was
    assert base._walk_tags("a<p>b <i>c</i>") == "a\nb c" and base._walk_tags("<span>") is None
    comment = "I&#x27;d say so.<p>Source: <i>me</i>."
    assert base._clean_markup(comment, printable=True, simple=True) == base._clean_markup(comment) == (
        "I'd say so.\nSource: me.")


_MASTODON = ["<p>", "</p>", "<br />", "<br>", "<span>", "</span>", '<span class="invisible">',
             '<a href="https://m.s/tags/x" class="mention hashtag" rel="tag">', "</a>", "<a", "<s", "<sc", "<!--",
             "-->", "<script>", "</script>", "<!x>", "<?x>", "<", ">", "#", "@", "&#39;", "&#39", "&amp;#39;", "&quot;",
             "&amp;",
             "&amp;amp;", "&amp;lt;", "&lt;b&gt;", "&", ";", "amp;", "&nbsp;", "&eacute;", "a", "é", "😤", "x" * 300,
             " ", "  ", "\n", "\t", "\u00a0", "\u2028", "\x00", "\x7f"]


@settings(max_examples=1500, deadline=None)
@given(text=st.lists(st.sampled_from(_MASTODON), max_size=30).map("".join))
def test_mastodon_html_and_escaped_texts_match_the_general_cleaning(text: str) -> None:
    """Mastodon's HTML (its ``&#39;`` decoded first, posts of one paragraph) and texts escaped but
    for tags (X's ``&amp;``, RappelConso's ``&lt;b&gt;``: the Cleaner's ``&amp;`` shortcut, the
    early end of the entity scans) give what the regular expressions give."""
    expected = reference_clean(text)
    assert base._clean_markup(text) == expected
    if text.isprintable():
        assert base._clean_markup(text, printable=True) == expected
    for data in (None, b'["\\n"]', b'["x"]'):  # (an ASCII printable payload only vouches for printable strings)
        if data == b'["x"]' and text.isascii() and not text.isprintable():
            continue
        clean = Cleaner(data)
        assert clean.text(text) == text_field(text) == expected
        line = base.cut(expected, base.MAX_FIELD_CHARS).replace("\n", " ")
        assert clean.line(text) == (line_field(text) or "") == line
    for decoded in (base._common_entities(text), base._apostrophes_first(text, "&#39;")):
        assert decoded is None or decoded == html.unescape(text)


def test_escaped_texts_take_the_shortcuts() -> None:
    assert Cleaner(b"{}").text(" Ben &amp; Jerry&amp;amp;s ") == "Ben & Jerry&amp;s"
    assert Cleaner().line("a &amp; b &lt;c&gt;") == "a & b <c>"
    assert base._common_entities("Trottinette &lt;b&gt;X9&lt;/b&gt;") == "Trottinette <b>X9</b>"
    assert base._apostrophes_first("n&#39;a &amp;#39; &lt;", "&#39;") == "n'a &#39; <"
    status = '<p>Rappel <a href="x" class="mention">#<span>P</span></a> n&#39;a</p>'
    assert base._clean_markup(status) == "Rappel #P n'a"


def reference_join(title: str, body: str) -> str:
    """join_text as written before its first-letter shortcut."""
    if not body or not title:
        return title or body
    squashed_title, prefix = base._squash(title), body[: 2 * len(title) + 40]
    squashed_body = base._squash(prefix)
    if len(prefix) == len(body) and (squashed_body == squashed_title or squashed_title.startswith(squashed_body)):
        return title
    if squashed_body.startswith(squashed_title):
        return body
    return base._cut(f"{title}\n{body}", base.MAX_TEXT_CHARS)


_WORDS = st.lists(st.sampled_from(["Recall", "recall", "RECALL", " ", "-", "|", "ß", "ss", "İ", "i", "Le Monde",
                                   "_", "1", "é", "É", "\u00a0", "x"]), max_size=8).map("".join)


@settings(max_examples=400, deadline=None)
@given(title=_WORDS, body=_WORDS)
def test_join_text_shortcut_matches_the_full_comparison(title: str, body: str) -> None:
    assert base.join_text(title, body) == reference_join(title, body)


def test_text_field_of_other_json_values() -> None:
    assert (text_field(12), text_field(None), text_field(True), text_field(["a"])) == ("12", "", "", "")
    assert (line_field(1.5), line_field(None), line_field({})) == ("1.5", None, None)
    assert text_field("x" * 30_000)[-1] == "…" and len(text_field("x" * 30_000)) == 20_000


@settings(max_examples=300, deadline=None)
@given(instant=st.datetimes(min_value=datetime(1985, 1, 1), max_value=datetime(2100, 1, 1), timezones=st.sampled_from(
    [UTC, timezone(timedelta(hours=2)), timezone(-timedelta(hours=5))])),
       style=st.sampled_from(["iso", "z", "ms"]))
def test_time_fast_path_matches_the_general_parse(instant: datetime, style: str) -> None:
    text = instant.isoformat()
    if style == "z" and instant.utcoffset() == timedelta(0):
        text = instant.replace(tzinfo=None).isoformat() + "Z"
    elif style == "ms":
        text = instant.isoformat(timespec="milliseconds")
    expected = base._from_string(text)
    expected = base.usable_time(expected) if expected is not None else None
    assert parse_time(text) == expected
    assert parse_time(text) is None or parse_time(text).tzinfo is UTC


def test_time_strings_the_fast_path_must_not_take() -> None:
    assert parse_time("20261119") is None  # digits are epoch seconds (1970: unusable), not a basic ISO date
    assert parse_time("2026-11-26T08:00:00") == datetime(2026, 11, 26, 8, tzinfo=UTC)  # naive: read as UTC
    assert parse_time("2026-11-26T08:00:00", naive_tz=None) is None
    assert parse_time(" 2026-11-26T08:00:00Z ") == datetime(2026, 11, 26, 8, tzinfo=UTC)
    assert parse_time("1989-12-31T23:59:59Z") is None


def test_orjson_and_the_standard_library_agree_and_fall_back() -> None:
    assert base._orjson is not None
    assert load_json(b'{"a": [1, 2.5, "\\u00e9", null]}') == {"a": [1, 2.5, "é", None]}
    assert load_json(b'{"n": NaN}')["n"] != load_json(b'{"n": NaN}')["n"]  # orjson refuses NaN; json takes it
    assert load_json(json.dumps({"big": 2**70}).encode()) == {"big": 2**70}
    with pytest.raises(ParseError, match="payload is not valid JSON"):
        load_json(b"{")
    with pytest.raises(ParseError):
        load_json(b"[" * 100_000)


@pytest.mark.parametrize("module", ["base", "cleaner", "http", "complaints", "mastodon", "jsonmap", "health",
                                    "syndication"])
def test_doctests(module: str) -> None:
    result = doctest.testmod(importlib.import_module(f"service.collect.{module}"))
    assert result.failed == 0 and result.attempted > 0


def test_lone_surrogates_are_removed_from_text_on_every_path() -> None:
    assert clean_text("recall \ud800 now") == "recall now"
    assert clean_text("<b>recall</b> \udfff now") == "recall now"
    raw = b'{"hits":[{"objectID":"1","created_at":"2026-11-26T08:00:00Z","title":"recall \\ud800 now"}]}'
    source = SourceConfig(name="s", type="hackernews", kind=SourceKind.SOCIAL, interval=timedelta(minutes=5),
                          timeout=timedelta(seconds=5))
    (found,) = hackernews.parse_hackernews(raw, source=source)
    assert found.text == "recall now"
    found.text.encode("utf-8")  # storable

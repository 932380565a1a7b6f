"""The per-payload cleaning shortcuts (cleaner.Cleaner, ascii_printable) give byte for byte what the
general cleaning gives (line_field / text_field), on hostile strings embedded in real JSON
payloads, decoded by every decoder the parsers use; and the number, language and newline
shortcuts agree with the code they stand for."""

from __future__ import annotations

import contextlib
import html
import json
import re

import msgspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from service.collect import base
from service.collect.base import (
    lang_code,
    line_field,
    load_json,
    number_of,
    text_field,
    total,
)
from service.collect.cleaner import Cleaner, ascii_printable

_TOKENS = [*"ab é<>&;#x27lgtampquonbs/p\n\t\r\x00\x01\x1f\x7f\x85\u00a0\u00ad\u200b\u2028\u202e\ufeff😤",
           "&amp;", "&lt;", "&gt;", "&quot;", "&#39;", "&#x27;", "&nbsp;", "&eacute;", "&#0;", "&#x110000;", "&amp",
           "<p>", "</p>", "<br>", "<script>", "</script>", "<!--", "-->", "<!channel>", "<@U123>", "  ", " ", "\ud800",
           "Recall", "RAPPEL"]
_HOSTILE = st.one_of(
    st.lists(st.sampled_from(_TOKENS), max_size=30).map("".join),
    st.text(max_size=40),
    st.sampled_from(["x" * 1500, " " + "y" * 999 + " ", "z" * 25_000, ("word " * 5000).strip(), " padded ", ""]),
)
_OTHER = st.sampled_from(["plain text", "tab\there", "line\nbreak", "del\x7fchar", "ctl\x01", "café", "&amp;", ""])
_NON_STRINGS = st.one_of(st.none(), st.booleans(), st.integers(min_value=-(2**70), max_value=2**70),
                         st.floats(allow_nan=False), st.lists(st.integers(), max_size=2),
                         st.dictionaries(st.sampled_from(["a", "b"]), st.integers(), max_size=2))


class _Item(msgspec.Struct):
    value: str | None = None
    other: str | None = None


_TYPED = msgspec.json.Decoder(list[_Item])


def _payloads(value: str, other: str) -> list[bytes]:
    """The same item, JSON-encoded the ways APIs do (escaped or raw UTF-8, compact or not)."""
    item = [{"value": value, "other": other}]
    encoded = [json.dumps(item).encode(), json.dumps(item, separators=(",", ":")).encode()]
    with contextlib.suppress(UnicodeEncodeError):  # a lone surrogate has no UTF-8 form, only its escape
        encoded.append(json.dumps(item, ensure_ascii=False).encode("utf-8"))
    return encoded


def _decoded(data: bytes) -> list[str]:
    """What each decoder the parsers use makes of the item's value."""
    found = [load_json(data)[0]["value"]]
    with contextlib.suppress(msgspec.DecodeError, msgspec.ValidationError):  # msgspec refuses lone surrogates:
        found.append(_TYPED.decode(data)[0].value)  # the parsers then use load_json's value
    return found


@settings(max_examples=600, deadline=None)
@given(value=_HOSTILE, other=_OTHER)
def test_cleaner_gives_exactly_the_general_cleaning(value: str, other: str) -> None:
    for data in _payloads(value, other):
        for decoded in _decoded(data):
            assert decoded == value
            for clean in (Cleaner(data), Cleaner(data, memo=True), Cleaner(), Cleaner(data, simple_html=True),
                          Cleaner(data, memo=True, simple_html=True)):
                for _ in range(2):  # the second time from the memo, when there is one
                    assert clean.line(decoded) == (line_field(decoded) or "")
                    assert clean.text(decoded) == text_field(decoded)


@settings(max_examples=300, deadline=None)
@given(value=_NON_STRINGS)
def test_cleaner_takes_any_json_value(value: object) -> None:
    data = json.dumps({"value": value}).encode()
    clean = Cleaner(data, memo=True)
    assert clean.line(value) == (line_field(value) or "")
    assert clean.text(value) == text_field(value)


@settings(max_examples=600, deadline=None)
@given(values=st.lists(_HOSTILE, max_size=4), ascii_only=st.booleans())
def test_ascii_printable_payloads_decode_only_printable_ascii_strings(values: list[str], ascii_only: bool) -> None:
    try:
        data = json.dumps({"items": values}, ensure_ascii=ascii_only).encode("utf-8")
    except UnicodeEncodeError:
        return
    if not ascii_printable(data):
        return
    for value in load_json(data)["items"]:
        if value.isascii():
            assert value.isprintable(), value


def test_ascii_printable_sees_every_way_to_a_control_character() -> None:
    for escape in ("\\n", "\\t", "\\r", "\\b", "\\f", "\\u0000", "\\u001F", "\\u001f", "\\u007f", "\\u007F"):
        assert not ascii_printable(f'{{"a": "x{escape}y"}}'.encode()), escape
    assert not ascii_printable(b'{"a": "x\x7fy"}')
    assert ascii_printable(b'{"a": "x\\u00e9 \\"quoted\\" \\\\ \\/ \\u2028"}')  # no ASCII control among them
    assert ascii_printable(b'{\n\t"a": "x"\r\n}')  # whitespace between tokens is not inside a string


@settings(max_examples=300, deadline=None)
@given(values=st.lists(st.one_of(_NON_STRINGS, st.sampled_from(["12", "", "1e3", "٣", " 7"]),
                                 st.integers(min_value=2**62, max_value=2**64)), max_size=5))
def test_number_shortcuts_agree_with_the_general_conversion(values: list[object]) -> None:
    def reference_number(value: object) -> float | None:
        if isinstance(value, bool) or not isinstance(value, int | float | str):
            return None
        if isinstance(value, str):
            return base._as_float(value) if value.isascii() and value.isdigit() else None
        number = base._as_float(value)
        return number if number is not None and number >= 0 else None

    expected = 0.0
    for value in values:
        number = reference_number(value)
        assert number_of(value) == number or (number != number and number_of(value) != number_of(value))
        if number:
            expected += number
    assert total(*values) == expected


@pytest.mark.parametrize("tag", ["fr", "en", "FR", "fr-FR", " de ", "pt_BR", "zz", "f1", "é", "", "fra", 12, None])
def test_lang_code_shortcut(tag: object) -> None:
    reference = None
    if isinstance(tag, str):
        code = tag.strip().split("-")[0].split("_")[0].lower()
        reference = code if len(code) == 2 and code.isalpha() and code.isascii() else None
    assert lang_code(tag) == reference


_NEWLINES = re.compile(r"\s*\n\s*")


@settings(max_examples=500, deadline=None)
@given(text=st.lists(st.sampled_from(["a", "b", " ", "\n", "\t", "\u00a0", "\u2028", "\u3000", "x y"]),
                     max_size=20).map("".join))
def test_newline_collapse_matches_the_regex_it_replaced(text: str) -> None:
    collapsed = "\n".join(filter(None, map(str.strip, text.split("\n"))))
    assert collapsed == _NEWLINES.sub("\n", text).strip()


def test_hidden_tag_first_test_admits_every_letter_the_case_insensitive_search_does() -> None:
    letters = {letter: {chr(code) for code in range(0x110000) if re.match(f"(?i){letter}", chr(code))}
               for letter in "snotce"}  # the first two letters of script, style, noscript, template
    for first, second in ("sc", "st", "no", "te"):
        assert all(base._HIDDEN_START.match(f"<{a}{b}") for a in letters[first] for b in letters[second])
    assert base._HIDDEN_START.search('<p>a <span class="h">#x</span></p>') is None
    assert base._clean_markup("a <\u017fcript>x()") == "a"  # a hidden element left open runs to the end


@settings(max_examples=400, deadline=None)
@given(value=st.one_of(st.integers(min_value=-(2**70), max_value=2**70), st.floats(allow_nan=True),
                       st.floats(min_value=6e8, max_value=4e12), st.integers(min_value=6 * 10**8, max_value=10**13)))
def test_epoch_time_shortcut_matches_the_general_path(value: float) -> None:
    seconds = base._as_float(value)
    parsed = base._from_epoch(seconds) if seconds is not None else None
    expected = base.usable_time(parsed) if parsed is not None else None
    assert base.parse_time(value) == expected
    assert expected is None or base.parse_time(value).tzinfo is base.UTC


@settings(max_examples=400, deadline=None)
@given(lines=st.lists(st.one_of(st.none(), _HOSTILE, st.sampled_from(["Recall", " padded ", "a b", "x" * 1200])),
                     min_size=1, max_size=4),
       texts=st.lists(st.one_of(st.none(), _HOSTILE, st.sampled_from(["Recall of 2 cars.", " é ", "z" * 30_000])),
                      max_size=4))
def test_one_test_per_item_implies_each_field_is_only_stripped(lines: list[str | None],
                                                               texts: list[str | None]) -> None:
    try:
        data = json.dumps({"lines": lines, "texts": texts}, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        data = json.dumps({"lines": lines, "texts": texts}).encode()
    clean = Cleaner(data, typed=True)
    if clean.plain("|".join(map(str, lines)), "|".join(map(str, texts)) if texts else ""):
        assert all((value.strip() if value else "") == (line_field(value) or "") for value in lines)
        assert all((value.strip() if value else "") == text_field(value) for value in texts)
    assert not Cleaner(data).plain("a", "b")  # not a typed decode: the fields are tested one by one


@settings(max_examples=500, deadline=None)
@given(before=st.text(max_size=8), name=st.sampled_from(["lt;", "gt;", "quot;", "#39;", "#x27;", "nbsp;", "amp;",
                                                          "lt", "amp", "eacute;", "#0;", "#x110000;", "", ";", "a;"]),
       after=st.text(alphabet="ab;# &lt", max_size=8))
def test_entity_decoding_equals_the_standard_library(before: str, name: str, after: str) -> None:
    text = f"{before}&{name}{after}"
    assert base._unescape(text) == html.unescape(text)


@settings(max_examples=300, deadline=None)
@given(number=st.one_of(st.integers(min_value=0, max_value=10**70), st.integers(min_value=6 * 10**8, max_value=10**13)),
       pad=st.sampled_from(["", " ", "\t", "0"]))
def test_epoch_digit_strings_take_the_epoch_path(number: int, pad: str) -> None:
    text = f"{pad}{number}{pad.strip()}"
    reference = None  # _from_string's digit branch, then usable_time, as before the shortcut
    if len(text.strip()) <= 64:
        seconds = base._as_float(text.strip())
        parsed = base._from_epoch(seconds) if seconds is not None else None
        reference = base.usable_time(parsed) if parsed is not None else None
    assert base.parse_time(text) == reference

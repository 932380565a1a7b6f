"""Cleaning the many fields of one JSON payload at parse speed, with the rules of
:func:`~service.collect.base.clean_text` (their only definition) and never another result.

A parser makes one :class:`Cleaner` per payload and cleans every field read from it through
:meth:`Cleaner.line` / :meth:`Cleaner.text` (what :func:`~service.collect.base.line_field` and
:func:`~service.collect.base.text_field` give), or tests several fields of a typed item at once
with :meth:`Cleaner.plain`. ``tests/test_collect_cleaner.py`` holds the shortcuts to the general
cleaning on hostile strings.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from service.collect.base import (  # the cleaning itself, kept in one place
    _DOUBLE_SPACE,
    _INT_HIGH,
    _INT_LOW,
    MAX_FIELD_CHARS,
    MAX_TEXT_CHARS,
    _clean_markup,
    cut,
    line_field,
    text_field,
)


def _no_double_space(text: str) -> bool:
    """``"  " not in text``; on long texts through the regex engine, whose literal search is faster
    than ``str``'s on a pattern of two frequent characters (slower to start, so not on short ones)."""
    return "  " not in text if len(text) < 256 else _DOUBLE_SPACE(text) is None



_CONTROL_ESCAPE = re.compile(rb"\\(?:[bfnrt]|u00[01][0-9A-Fa-f]|u007[Ff])")
"""A JSON escape that decodes to an ASCII control character (``\\n``, ``\\u0000`` ... ``\\u007f``)."""


def ascii_printable(data: bytes) -> bool:
    r"""Whether every string of the JSON document ``data`` that decodes to ASCII only is printable.

    JSON decoders refuse raw control bytes inside strings, so an ASCII character of a decoded
    string is printable unless it is a raw DEL byte or came from an escape of a control character;
    when ``data`` has neither, ``value.isascii()`` (constant time) stands for ``value.isprintable()``
    (a scan of every character) for every ASCII string decoded from it. A false answer only means
    that the strings are checked one by one.

    Only for UTF-8: a UTF-16 or UTF-32 document (which ``json.loads`` also reads) holds NUL bytes,
    and hides its escapes and controls from these byte tests, so a NUL byte anywhere is a false answer.

    >>> ascii_printable(rb'{"a": "x y", "b": "caf\u00e9"}'), ascii_printable(rb'{"a": "x\ny"}')
    (True, False)
    >>> ascii_printable('{"a": "x\\u001b[31m"}'.encode("utf-16"))
    False
    """
    return (b"\x7f" not in data and b"\x00" not in data
            and (b"\\" not in data or _CONTROL_ESCAPE.search(data) is None))


class Memo(dict[Any, Any]):
    """``compute(key)`` once per distinct key of one payload (``memo[key]``): dates and names repeat
    from item to item. A hit is a plain dictionary read; a miss computes and remembers.

    >>> days = Memo(len)
    >>> days["2010-01-21"], days["2010-01-21"], len(days)
    (10, 10, 1)
    """

    __slots__ = ("_compute",)

    def __init__(self, compute: Callable[[Any], Any]) -> None:
        super().__init__()
        self._compute = compute

    def __missing__(self, key: Any) -> Any:
        value = self[key] = self._compute(key)
        return value


class Cleaner:
    """:func:`line_field` and :func:`text_field` of the many values of one JSON payload, at parse speed.

    The cleaning rules stay those of :func:`clean_text` (their only definition): a string that is
    printable and free of ``<``, ``&`` and double spaces is only stripped (and cut to the limit),
    anything else goes through the full cleaning. What this adds is speed, never another result
    (``tests/test_collect_cleaner.py`` checks that on hostile strings):

    - the printable test of an ASCII string is constant time when :func:`ascii_printable` holds
      for the payload ``data`` (instead of a scan of every character);
    - :meth:`plain` tests several fields of a typed item at once;
    - with ``memo``, line fields that need the full cleaning (a manufacturer name with ``&`` on
      every record) are cleaned once per payload (at most :attr:`MEMO` distinct values). Text
      fields are never remembered: their values rarely repeat;
    - with ``simple_html``, text fields that hold HTML try the shortcuts for simple HTML first
      (Algolia's comments: see ``simple`` in :func:`~service.collect.base._clean_markup`).

    Only for values decoded from ``data``: a string put together from cleaned fields may hold a
    newline, which the ASCII shortcut would not see (clean those with :func:`clean_field`).
    """

    __slots__ = ("_memo", "ascii_ok", "simple_html", "typed")
    MEMO = 1024

    def __init__(self, data: bytes | None = None, *, memo: bool = False, typed: bool = False,
                 simple_html: bool = False) -> None:
        self.ascii_ok = data is not None and ascii_printable(data)
        self._memo: dict[str, str] | None = {} if memo else None
        self.typed = typed
        self.simple_html = simple_html

    def plain(self, lines: str, texts: str = "") -> bool:
        """Whether each of some string fields of one typed item is plain, tested at once.

        ``lines`` and ``texts`` are the item's line and text fields joined with ``|`` (``f"{a}|{b}"``),
        each field a ``str`` or ``None`` (a typed decode, ``typed=True``, guarantees that; no other
        value may be joined). When true, each field's cleaning is only its ``strip()`` (``""`` for
        ``None``): the joined strings pass the test of :meth:`line` / :meth:`text` (so each field
        does: the test is about characters, and ``|`` makes no double space), and their lengths
        keep each field within its limit. One test per item instead of one call per field.
        """
        return self.typed and "<" not in lines and "&" not in lines and "  " not in lines \
            and len(lines) <= MAX_FIELD_CHARS and ((self.ascii_ok and lines.isascii()) or lines.isprintable()) and (
                not texts or ("<" not in texts and "&" not in texts and _no_double_space(texts)
                              and len(texts) <= MAX_TEXT_CHARS
                              and ((self.ascii_ok and texts.isascii()) or texts.isprintable())))

    def plain_texts(self, texts: str) -> bool:
        """``plain("", texts)``: whether each of some text fields of one typed item is plain (the
        same test, without the line fields)."""
        return self.typed and "<" not in texts and "&" not in texts \
            and ("  " not in texts if len(texts) < 256 else _DOUBLE_SPACE(texts) is None) \
            and len(texts) <= MAX_TEXT_CHARS and ((self.ascii_ok and texts.isascii()) or texts.isprintable())

    def line(self, value: Any) -> str:
        """``line_field(value) or ""``. A value that is plain but for ``&amp;`` is decoded here
        (see :meth:`text`)."""
        if type(value) is str and "<" not in value and "  " not in value:
            if "&" not in value:
                if (self.ascii_ok and value.isascii()) or value.isprintable():  # plain
                    value = value.strip()
                    return value if len(value) <= MAX_FIELD_CHARS else cut(value, MAX_FIELD_CHARS)
            elif "&amp;" in value and value.count("&") == value.count("&amp;") \
                    and ((self.ascii_ok and value.isascii()) or value.isprintable()):  # (see text())
                value = value.replace("&amp;", "&").strip()
                return value if len(value) <= MAX_FIELD_CHARS else cut(value, MAX_FIELD_CHARS)
        return self._line(value)

    def text(self, value: Any) -> str:
        """``text_field(value)``."""
        if type(value) is str and "<" not in value \
                and ("  " not in value if len(value) < 256 else _DOUBLE_SPACE(value) is None):  # (_no_double_space)
            if "&" not in value:
                if (self.ascii_ok and value.isascii()) or value.isprintable():  # plain
                    value = value.strip()
                    return value if len(value) <= MAX_TEXT_CHARS else cut(value, MAX_TEXT_CHARS)
            elif "&amp;" in value and value.count("&") == value.count("&amp;") \
                    and ((self.ascii_ok and value.isascii()) or value.isprintable()):
                # Plain but for ``&amp;`` (how X writes every "&", as many titles do): the general
                # cleaning would only decode each ``&amp;`` once (the ``&`` it gives starts no other
                # entity, and adds no space, newline or unprintable character), then strip.
                value = value.replace("&amp;", "&").strip()
                return value if len(value) <= MAX_TEXT_CHARS else cut(value, MAX_TEXT_CHARS)
        if type(value) is str:  # not plain (the test above is text_field's, or implies it)
            value = _clean_markup(value, printable=self.ascii_ok and value.isascii(), simple=self.simple_html)
            return value if len(value) <= MAX_TEXT_CHARS else cut(value, MAX_TEXT_CHARS)
        return "" if value is None else text_field(value)

    def _line(self, value: Any) -> str:
        if type(value) is int and _INT_LOW <= value < _INT_HIGH:  # ids: digits, already clean
            return str(value)
        if value is None:
            return ""
        if type(value) is not str:
            return line_field(value) or ""
        memo = self._memo
        if memo is None:  # not plain (see text())
            value = _clean_markup(value, printable=self.ascii_ok and value.isascii())
            return (value if len(value) <= MAX_FIELD_CHARS else cut(value, MAX_FIELD_CHARS)).replace("\n", " ")
        found = memo.get(value)
        if found is None:
            found = cut(_clean_markup(value, printable=self.ascii_ok and value.isascii()), MAX_FIELD_CHARS).replace(
                "\n", " ")
            if len(memo) < self.MEMO:
                memo[value] = found
        return found

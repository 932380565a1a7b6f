"""The collector contract, its error tree and the text/time helpers every parser shares.

Error tree (third-party errors are translated once, at the edge that called the library)::

    CollectError            a source could not be collected; ``retryable`` says if trying again may help
    ├── FetchError          the HTTP exchange failed (network, timeout, status, size limit)
    └── ParseError          the payload is not what the source type promises (never retryable)

A collector never raises anything else from :meth:`Collector.collect`.
"""

from __future__ import annotations

import html
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from types import MappingProxyType
from typing import Any, Protocol

from service.domain import Mention

try:
    import orjson as _orjson
except ImportError:  # pragma: no cover - orjson is a dependency; the standard library still works
    _orjson = None  # type: ignore[assignment]

MAX_TEXT_CHARS = 20_000
"""Longest text kept for one mention; longer bodies are cut (the start carries the signal)."""

MAX_FIELD_CHARS = 1_000
"""Longest title, author or URL kept."""

_INFINITY = float("inf")
EARLIEST = datetime(1990, 1, 1, tzinfo=UTC)
"""Times before this are treated as unusable (zeroed dates, epoch-0 placeholders)."""


class CollectError(Exception):
    """A source could not be collected.

    ``retryable``: network errors, timeouts, 429 and 5xx answers are (later may work); a malformed
    payload, a 404 or a revoked credential are not. ``retry_after``: seconds the server asked us to
    wait before the next request, when it said so.
    """

    def __init__(self, message: str, *, retryable: bool, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.retryable = retryable
        self.retry_after = retry_after


class FetchError(CollectError):
    """The HTTP exchange with the source failed; ``status`` is the HTTP status when one came back."""

    def __init__(self, message: str, *, retryable: bool, retry_after: float | None = None,
                 status: int | None = None) -> None:
        super().__init__(message, retryable=retryable, retry_after=retry_after)
        self.status = status


class ParseError(CollectError):
    """The payload could not be parsed as the source type's format. Never retryable."""

    def __init__(self, message: str) -> None:
        super().__init__(message, retryable=False)


@dataclass(frozen=True, kw_only=True, slots=True)
class CollectResult:
    """What one collection produced: the new mentions and the cursor to store for the next run.

    ``cursor`` is JSON-compatible; ``None`` means "keep the stored cursor unchanged".
    """

    mentions: tuple[Mention, ...]
    cursor: dict[str, Any] | None


class Collector(Protocol):
    """Collects new mentions from one configured source."""

    name: str
    """The source's name in alerts.yaml."""

    def collect(self, cursor: dict[str, Any] | None, now: datetime) -> CollectResult:
        """Fetch and parse what is new since ``cursor`` (``None`` on the very first run).

        ``now`` is the tick's instant (aware UTC): the only notion of current time a collector
        has. Returns only mentions not returned by an earlier call that received the cursor of
        that call's result. Raises :class:`CollectError` (and nothing else) on failure; the stored
        cursor is then left as it was.
        """
        ...


# -- text --------------------------------------------------------------------------------------

_HIDDEN = re.compile(r"<(script|style|noscript|template)\b[^>]*>.*?(?:</\1\s*>|\Z)", re.I | re.S)
_COMMENT = re.compile(r"<!--.*?(?:-->|\Z)", re.S)
_BREAK = re.compile(r"<\s*(?:br|/p|/div|/li|/h[1-6]|p|li|tr)\b[^>]*>", re.I)
_TAG = re.compile(r"</?[A-Za-z][^<>]*>|<![A-Za-z\[][^<>]*>|<\?[^<>]*>")
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2060-\u2064\ud800-\udfff"
                      r"\ufeff\ufffe\uffff]")
"""Control and invisible characters, and lone surrogates (from a JSON ``\\ud800`` escape; not encodable)."""
_SPACES = re.compile(r"[ \t\r\f\v\u00a0]+")
_HIDDEN_HINT = re.compile(r"<(?:script|style|noscript|template)", re.I)
_HIDDEN_START = re.compile("<(?:[sS\u017f][cCtT]|[nN][oO]|[tT][eE])")
"""The first two letters :data:`_HIDDEN_HINT` needs after ``<``, in every case re.I accepts
(``\u017f``, long s, is an ``s`` to it): a cheap first test (``<span>`` is no hidden element), the
case-insensitive search being slower."""
_SPECIAL_START = re.compile("<(?:!--|[sS\u017f][cCtT]|[nN][oO]|[tT][eE])")
"""Where a comment or (:data:`_HIDDEN_START`) a hidden element may start: one scan that spares
most HTML both tests (a search for ``<!--`` alone costs about as much)."""
_NOT_WORD = re.compile(r"[\W_]+")
_DOUBLE_SPACE = re.compile("  ").search
"""``"  " in text`` on long texts: the regex engine's literal search is faster than ``str``'s on a
pattern of two frequent characters (slower to start, so not on short texts)."""


def clean_text(value: object, *, limit: int = MAX_TEXT_CHARS) -> str:
    """Plain text from an HTML or text fragment: tags and scripts removed, entities decoded,
    control and invisible characters removed, whitespace collapsed, cut to ``limit`` characters.

    Entities are decoded *after* tags are removed, so ``&lt;!channel&gt;`` in a feed stays the
    literal text ``<!channel>`` (escaping for Slack is the notifier's job, not the collector's).

    >>> clean_text("<p>Recall of <b>2.3&nbsp;M</b> cars</p><script>alert(1)</script>&amp; more")
    'Recall of 2.3 M cars\\n& more'
    """
    if value is None:
        return ""
    text = value if isinstance(value, str) else str(value)
    # Plain text (the common case for API fields): printable characters only (so no control,
    # invisible or non-ASCII space character, no newline), no markup, no run of spaces.
    if text.isprintable() and "<" not in text and "&" not in text and "  " not in text:
        text = text.strip()
        return text if len(text) <= limit else _cut(text, limit)
    return _cut(_clean_markup(text), limit)


def _clean_markup(text: str, *, printable: bool = False, simple: bool = False) -> str:
    """:func:`clean_text` of a text that needs more than a strip. ``printable``: the caller knows
    that ``text.isprintable()`` holds (an ASCII string of a payload that
    :func:`~service.collect.cleaner.ascii_printable` vouches for), which spares that scan unless an
    entity outside the common ones is decoded. ``simple``: the text is most likely HTML of the
    simple kind (Algolia's: ``<p>`` between paragraphs, no space around it), so the shortcuts for it
    are tried first (:func:`_walk_tags` at any length, :func:`_bare_newlines`); other HTML would
    waste them. Either hint changes the speed only, never the result."""
    if "<" in text:
        text = _strip_tags(text, simple=simple)
    if "&" in text:
        decoded = _apostrophes_first(text, "&#x27;" if simple else "&#39;")
        if decoded is None:
            text = html.unescape(text)
            printable = False  # it may decode to any character
        else:
            text = decoded
    # Removing tags keeps a printable text printable (bar the newlines of the breaks); the common
    # entities add one character that is not: the no-break space.
    if printable:
        printable = "\u00a0" not in text
    else:
        printable = text.isprintable() if "\n" not in text else text.replace("\n", " ").isprintable()
    if not printable:
        text = _CONTROL.sub("", text)
        text = _SPACES.sub(" ", text)
    elif ("  " in text if len(text) < 256 else _DOUBLE_SPACE(text) is not None):
        text = _SPACES.sub(" ", text)
    if "\n" in text:  # what re.sub(r"\s*\n\s*", "\n", text).strip() gives, without the regex's backtracking
        if simple and printable and _bare_newlines(text):
            return text.strip()
        if text[0] == "\n":  # opened with a break (a Mastodon post's <p>): often a single paragraph,
            stripped = text.strip()
            if "\n" not in stripped:  # whose newlines all sit at its ends: stripping is the whole collapse
                return stripped
        return "\n".join(filter(None, map(str.strip, text.split("\n"))))
    return text.strip()


def _strip_tags(text: str, *, simple: bool) -> str:
    """``text`` without its comments, hidden elements and tags, breaks turned into newlines."""
    stripped = _walk_tags(text) if simple else _simple_tags(text) if len(text) >= _LONG else None
    if stripped is not None:
        return stripped
    if _SPECIAL_START.search(text) is not None:  # (most HTML has neither)
        if "<!--" in text:
            text = _COMMENT.sub(" ", text)
        if _HIDDEN_START.search(text) is not None and _HIDDEN_HINT.search(text) is not None:
            text = _HIDDEN.sub(" ", text)
    return _TAG.sub("", _BREAK.sub("\n", text))


def _bare_newlines(text: str) -> bool:
    """Whether no newline of ``text`` has a space or a newline next to it, nor ends it. Then, when
    spaces and newlines are its only whitespace (a printable text but for its newlines), collapsing
    its newlines (strip each line, drop the empty ones) only strips the whole text: a step per
    newline (a comment's few ``<p>``) instead of a split into lines."""
    at = text.find("\n")
    while at >= 0:
        if text[at - 1:at] == " " or text[at + 1:at + 2] in _NOT_AFTER_NEWLINE:
            return False
        at = text.find("\n", at + 1)
    return True


_NOT_AFTER_NEWLINE = frozenset((" ", "\n", ""))

_SIMPLE_TAGS = {"p": "\n", "/p": "\n", "br": "\n", "br/": "\n", "br /": "\n", "li": "\n", "/li": "\n",
                "i": "", "/i": "", "b": "", "/b": "", "em": "", "/em": "", "a": "", "/a": "", "pre": "", "/pre": "",
                "code": "", "/code": ""}
"""Tags (between ``<`` and ``>``) of the usual HTML fragments (Algolia's comments: ``<p>``, ``<i>``,
``<a href>``, ``<pre><code>``), and what the general stripping turns each into: a newline for a
:data:`_BREAK`, nothing for any other :data:`_TAG`. None is a hidden element or a comment."""
_OTHER_TAG = re.compile("<[^pibace/]").search
"""A ``<`` that none of :data:`_SIMPLE_TAGS` starts like (Mastodon's ``<span>``, a feed's ``<font>``):
one scan that spares such HTML the steps of :func:`_walk_tags` before it gives up."""


def _simple_tags(text: str) -> str | None:
    """:func:`_walk_tags` of ``text``, after one scan that gives up at once on other HTML."""
    return None if _OTHER_TAG(text) is not None else _walk_tags(text)


def _walk_tags(text: str) -> str | None:
    """``text`` with its tags stripped as the general regular expressions would, when every ``<``
    opens one of :data:`_SIMPLE_TAGS` or an ``<a `` tag, each closed by the next ``>``; else ``None``.

    Each such tag is what :data:`_BREAK` or :data:`_TAG` alone matches there (their matches end at
    the first ``>``, and no ``<`` sits inside), no comment or hidden element can start, and removing
    them cannot join what is left into another tag (no ``<`` is left): a few ``str.find`` steps per
    tag instead of two regular expression passes, which pays on long texts with few tags. Other
    HTML gives up at its first other tag, after the steps before it.
    """
    pieces = []
    start = 0
    at = text.find("<")
    while at >= 0:
        close = text.find(">", at)
        if close < 0:
            return None
        tag = text[at + 1:close]
        replacement = _SIMPLE_TAGS.get(tag)
        if replacement is None:
            if tag[:2] != "a " or "<" in tag:
                return None
            replacement = ""
        pieces.append(text[start:at])
        pieces.append(replacement)
        start = close + 1
        at = text.find("<", start)
    pieces.append(text[start:])
    return "".join(pieces)


def _apostrophes_first(text: str, apostrophe: str = "&#x27;") -> str | None:
    """:func:`_common_entities` of a text whose usual entity is the ``apostrophe`` one: ``&#x27;``
    (Algolia writes every apostrophe so, several per comment) or ``&#39;`` (Mastodon's, as
    Rails escapes it); those are decoded by one ``str.replace`` first.

    The same result: each ``&#x27;`` (or ``&#39;``) is an entity of its own wherever it stands (no
    entity spans an ``&``), and the apostrophes it leaves sit outside the other entities (no
    entity name holds one)."""
    decoded = text.replace(apostrophe, "'")
    return decoded if "&" not in decoded else _common_entities(decoded)


def _unescape(text: str) -> str:
    """``html.unescape``, without its per-entity callback when every ``&`` starts one of the
    common entities (each decoded once, so ``&amp;lt;`` decodes to ``&lt;``)."""
    decoded = _common_entities(text)
    return html.unescape(text) if decoded is None else decoded


def _common_entities(text: str) -> str | None:
    """``html.unescape(text)`` when every ``&`` of ``text`` starts one of the common entities (with
    its ``;``), else ``None``."""
    head, _, rest = text.partition("&")
    if "&" not in rest:  # the usual field: one entity, found without scanning for the others
        end = rest.find(";", 2, 5)  # the names are 2 to 4 characters long
        character = _ENTITIES.get(rest[: end + 1]) if end > 0 else None
        return None if character is None else f"{head}{character}{rest[end + 1:]}"
    if len(text) < _LONG:  # a scan per entity name costs less than a step per entity
        decoded = text
        for entity, character in _COMMON_ENTITIES:
            if entity in decoded:
                decoded = decoded.replace(entity, character)
                if "&" not in decoded:  # all decoded (an "&amp;" would leave its "&" until the end)
                    return decoded
        if decoded.count("&") != decoded.count("&amp;"):
            return None
        return decoded.replace("&amp;", "&")  # last: each entity is decoded once
    pieces = []  # a long text (a comment): one str.find per entity instead
    start = 0
    at = text.find("&")
    while at >= 0:
        end = text.find(";", at + 3, at + 6)
        character = _ENTITIES.get(text[at + 1:end + 1]) if end > 0 else None
        if character is None:
            return None
        pieces.append(text[start:at])
        pieces.append(character)
        start = end + 1
        at = text.find("&", start)
    pieces.append(text[start:])
    return "".join(pieces)


_LONG = 256
"""From this length on, tags are stripped and entities decoded by ``str.find`` steps per tag and per
entity (:func:`_simple_tags`, :func:`_common_entities`) rather than by scans of the whole text per
pattern or entity name, whose cost grows with the text; below, the scans cost less (tags: unless
the text is ``simple``, see :func:`_clean_markup`)."""
_COMMON_ENTITIES = (("&lt;", "<"), ("&gt;", ">"), ("&quot;", '"'), ("&#39;", "'"), ("&#x27;", "'"),
                    ("&nbsp;", "\u00a0"), ("&#x2F;", "/"))
_ENTITIES = {entity[1:]: character for entity, character in (*_COMMON_ENTITIES, ("&amp;", "&"))}
"""The common entities without their ``&`` (``"lt;"``), and what they stand for (``&#x2F;``: Algolia
writes each ``/`` of a link so)."""


def clean_field(value: object, *, limit: int = MAX_FIELD_CHARS) -> str | None:
    """A short single-line field (title, author, URL): cleaned, ``None`` when empty."""
    if value is None:
        return None
    text = value if isinstance(value, str) else str(value)
    if text.isprintable() and "<" not in text and "&" not in text and "  " not in text:
        text = text.strip()
        return (text if len(text) <= limit else _cut(text, limit)) or None
    text = _cut(_clean_markup(text), limit).replace("\n", " ")
    return text or None


def text_field(value: Any) -> str:
    """:func:`clean_text` of a JSON value: strings cleaned, numbers formatted, ``""`` otherwise."""
    if type(value) is str:
        if value.isprintable() and "<" not in value and "&" not in value and "  " not in value:
            value = value.strip()
            return value if len(value) <= MAX_TEXT_CHARS else _cut(value, MAX_TEXT_CHARS)
        return _cut(_clean_markup(value), MAX_TEXT_CHARS)
    return clean_text(text_of(value))


def line_field(value: Any) -> str | None:
    """:func:`clean_field` of a JSON value: strings cleaned, numbers formatted, ``None`` otherwise."""
    if type(value) is str:
        if value.isprintable() and "<" not in value and "&" not in value and "  " not in value:
            value = value.strip()
            return (value if len(value) <= MAX_FIELD_CHARS else _cut(value, MAX_FIELD_CHARS)) or None
        return _cut(_clean_markup(value), MAX_FIELD_CHARS).replace("\n", " ") or None
    return clean_field(text_of(value))


def join_text(title: str | None, body: str | None) -> str:
    """Title and body as one text, without repeating a body that only restates the title
    (news search feeds often make the summary "title + publisher").

    >>> join_text("Recall - Le Monde", "Recall\u00a0 Le Monde")
    'Recall - Le Monde'
    """
    title = title or ""
    body = body or ""
    if not body or not title:
        return title or body
    first, other = title[0].casefold()[0], body[0].casefold()[0]
    if first != other and first.isalnum() and other.isalnum():  # they differ from the first letter on
        joined = f"{title}\n{body}"
        return joined if len(joined) <= MAX_TEXT_CHARS else _cut(joined, MAX_TEXT_CHARS)
    squashed_title = _squash(title)
    prefix = body[: 2 * len(title) + 40]  # enough to tell whether the body merely restates the title
    squashed_body = _squash(prefix)
    if len(prefix) == len(body) and (squashed_body == squashed_title or squashed_title.startswith(squashed_body)):
        return title
    if squashed_body.startswith(squashed_title):
        return body
    return _cut(f"{title}\n{body}", MAX_TEXT_CHARS)


def cut(text: str, limit: int) -> str:
    """``text`` when at most ``limit`` characters long, else its start and an ellipsis, ``limit`` in all."""
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


_cut = cut


def assemble(*parts: str | None, separator: str = "\n", limit: int = MAX_TEXT_CHARS) -> str:
    """Join already cleaned parts (empty ones left out) and cut to ``limit``. Never run
    :func:`clean_text` twice: a decoded ``&lt;b&gt;`` would then be stripped as a tag."""
    return _cut(separator.join(part for part in parts if part), limit)


def _squash(text: str) -> str:
    return _NOT_WORD.sub("", text.casefold())


# -- time --------------------------------------------------------------------------------------


def usable_time(instant: datetime | None, *, latest: datetime | None = None) -> datetime | None:
    """``instant`` in UTC, or ``None`` when it is naive, before 1990 or after ``latest``."""
    if instant is None or instant.tzinfo is None or instant.utcoffset() is None:
        return None
    try:
        instant = instant.astimezone(UTC)
    except (OverflowError, ValueError):
        return None
    if instant < EARLIEST or (latest is not None and instant > latest):
        return None
    return instant


def utc_day(year: int, month: int, day: int) -> datetime | None:
    """Midnight UTC of a calendar day, ``None`` when impossible or before 1990.

    >>> utc_day(2010, 1, 21).isoformat(), utc_day(2010, 2, 30), utc_day(1989, 12, 31)
    ('2010-01-21T00:00:00+00:00', None, None)
    """
    try:
        instant = datetime(year, month, day, tzinfo=UTC)
    except ValueError:
        return None
    return instant if instant >= EARLIEST else None


def parse_time(value: Any, *, naive_tz: Any = UTC) -> datetime | None:
    """A UTC datetime from what APIs put in time fields, ``None`` when unusable (never a guess).

    Accepts ISO 8601 (``Z`` or offset), RFC 2822 (``Tue, 26 Jan 2010 15:00:00 GMT``), Unix epoch
    seconds or milliseconds (numbers or digit strings), and aware datetimes. A time without an
    offset is read in ``naive_tz`` (UTC unless the source documents another zone); pass
    ``naive_tz=None`` to refuse such times.

    >>> parse_time("2010-01-21T15:04:05Z").isoformat()
    '2010-01-21T15:04:05+00:00'
    >>> parse_time("Thu, 21 Jan 2010 16:04:05 +0100").isoformat()
    '2010-01-21T15:04:05+00:00'
    >>> parse_time(1264086245).isoformat()
    '2010-01-21T15:04:05+00:00'
    >>> parse_time("2010-02-30") is None
    True
    """
    kind = type(value)
    if kind is str and 19 <= len(value) <= 64 and value[4] == "-":  # ISO 8601, most APIs (index 4 exists: 19 or more)
        try:
            parsed: datetime | None = _fromisoformat(value)
        except ValueError:
            parsed = _from_string(value.strip())
        else:
            if parsed.tzinfo is UTC and parsed >= EARLIEST:  # type: ignore[union-attr]
                return parsed
        return _aware(parsed, naive_tz)
    if kind is float or kind is int:  # epoch seconds or milliseconds (bool is neither)
        return _epoch_time(value)
    if isinstance(value, datetime):
        return _aware(value, naive_tz)
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return _epoch_time(value)
    if isinstance(value, str):
        text = value.strip()
        if text.isdigit() and text.isascii() and len(text) <= 64:  # epoch digits: aware UTC already
            return _epoch_time(text)
        return _aware(_from_string(text), naive_tz)
    return None


def _aware(parsed: datetime | None, naive_tz: Any) -> datetime | None:
    """``parsed`` in UTC (read in ``naive_tz`` when naive), ``None`` when unusable."""
    if parsed is None:
        return None
    if parsed.tzinfo is None or parsed.utcoffset() is None:
        if naive_tz is None:
            return None
        parsed = parsed.replace(tzinfo=naive_tz)
    return usable_time(parsed)


_fromisoformat = datetime.fromisoformat
_fromtimestamp = datetime.fromtimestamp
_EPOCH_MAX = 32_503_680_000.0
"""Seconds of 3000-01-01: epoch times below are converted by ``datetime.fromtimestamp``."""


def _epoch_time(value: float | str) -> datetime | None:
    """:func:`parse_time` of a number: aware UTC already, so only the lower bound is left to check."""
    seconds = _as_float(value)
    parsed = _from_epoch(seconds) if seconds is not None else None
    return parsed if parsed is not None and parsed >= EARLIEST else None


def _from_epoch(seconds: float) -> datetime | None:
    if not 0 < seconds < _INFINITY:  # NaN, infinite or placeholder
        return None
    if seconds > 1e11:  # milliseconds
        seconds /= 1000.0
    if seconds < _EPOCH_MAX:  # what fromtimestamp takes on every platform
        return _fromtimestamp(seconds, UTC)
    try:
        return datetime(1970, 1, 1, tzinfo=UTC) + timedelta(seconds=seconds)
    except OverflowError:
        return None


def _from_string(text: str) -> datetime | None:
    if not text or len(text) > 64:
        return None
    if text.isascii() and text.isdigit():
        seconds = _as_float(text)
        return _from_epoch(seconds) if seconds is not None else None
    iso = text[:-1] + "+00:00" if text[-1:] in "Zz" else text
    try:
        return _fromisoformat(iso)
    except ValueError:
        pass
    try:
        return parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None


def lang_code(value: object) -> str | None:
    """ISO 639-1 code from a language tag (``fr-FR`` -> ``fr``); ``None`` when not one."""
    if not isinstance(value, str):
        return None
    if len(value) == 2 and value.isascii() and value.isalpha() and value.islower():  # "fr": most APIs
        return value
    code = value.strip().split("-")[0].split("_")[0].lower()
    return code if len(code) == 2 and code.isalpha() and code.isascii() else None


def first_brand(brands: tuple[str, ...]) -> str | None:
    """The brand a source's mentions are about: the only one configured, else ``None`` (brand
    queries decide)."""
    return brands[0] if len(brands) == 1 else None


def load_json(data: bytes, *, what: str = "payload") -> Any:
    """Decoded JSON, or :class:`ParseError` naming ``what`` (never another exception).

    orjson decodes when installed (two to three times faster); what it refuses (NaN literals,
    integers beyond 64 bits, invalid UTF-8) is tried again with the standard library, which
    accepts the first two and gives the error message otherwise.
    """
    if _orjson is not None:
        try:
            return _orjson.loads(data)
        except (ValueError, TypeError):
            pass
    try:
        return json.loads(data)
    except (ValueError, TypeError, RecursionError) as exc:
        raise ParseError(f"{what} is not valid JSON ({type(exc).__name__}: {str(exc)[:200]})") from exc


def text_of(value: Any) -> str | None:
    """A JSON scalar as text (strings as is, numbers formatted), ``None`` for anything else.

    Integers beyond 64 bits are ``None`` too, as are integral floats of that size: orjson turns
    such an integer into a float silently (so distinct ids would collapse and a typed decode would
    give another text), and no source's id or label is that large.

    >>> text_of(2**64) is None, text_of(float(2**64)) is None, text_of(2**64 - 1)
    (True, True, '18446744073709551615')
    """
    if isinstance(value, str):
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value) if _INT_LOW <= value < _INT_HIGH else None
    if isinstance(value, float):
        return None if abs(value) >= _INT_FLOAT and value.is_integer() else str(value)
    return None


_INT_LOW, _INT_HIGH = -(2**63), 2**64
"""The integers orjson decodes as integers (beyond them it gives a float)."""
_INT_FLOAT = 2.0**63


def number_of(value: Any) -> float | None:
    """A non-negative finite JSON number (or digit string), ``None`` for anything else."""
    kind = type(value)
    if kind is float:
        return value if 0 <= value < _INFINITY else None
    if kind is int and 0 <= value < _INT_FLOAT:  # a count: converts exactly as float() does
        return float(value)
    if kind is int or (isinstance(value, int | float) and not isinstance(value, bool)):
        number = _as_float(value)
        return number if number is not None and number >= 0 else None
    if isinstance(value, str) and value.isascii() and value.isdigit():
        return _as_float(value)
    return None


def _as_float(value: Any) -> float | None:
    """``float(value)``, ``None`` when that is not finite (a 400-digit integer overflows)."""
    try:
        number = float(value)
    except OverflowError:
        return None
    return number if -_INFINITY < number < _INFINITY else None


def total(*values: Any) -> float:
    """The sum of the usable numbers among ``values`` (interaction counts; 0.0 when none)."""
    result = 0.0
    for value in values:
        if type(value) is int and 0 <= value < _INT_FLOAT:  # the common case: a count
            result += value  # as ``+= float(value)``: the int is converted to the same float
            continue
        if value is None:  # an absent count (a comment's points): what number_of gives, without its tests
            continue
        number = number_of(value)
        if number:
            result += number
    return result


def as_list(value: Any, *, what: str) -> list[Any]:
    """``value`` when it is a JSON array, else :class:`ParseError` naming ``what``."""
    if not isinstance(value, list):
        raise ParseError(f"{what} is not a list (found {type(value).__name__})")
    return value


_EMPTY: Mapping[str, Any] = MappingProxyType({})


def as_mapping(value: Any) -> Mapping[str, Any]:
    """``value`` when it is a JSON object, else an empty mapping (for tolerant JSON walking)."""
    return value if isinstance(value, dict) else _EMPTY

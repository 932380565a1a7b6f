"""Make untrusted text inert in Slack messages. Pure functions, no I/O.

Slack parses ``&``, ``<`` and ``>`` in every text object (``<!channel>``, ``<@U123>``, ``<#C1>``,
``<url|label>``), so they always become ``&amp;``, ``&lt;``, ``&gt;``. In ``mrkdwn`` it also formats
``*bold*``, ``_italic_``, ``~strike~``, `` `code` `` and ``> quotes`` at line start, and has no escape
character for them. A marker that could open or close a span (next to a space, punctuation or the
text's edge) is wrapped in zero-width spaces: whether Slack treats U+200B as a space or as a word
character, one of the two breaks the "boundary outside, text inside" rule a span needs. A leading
``>`` gets an invisible soft hyphen in front (the trick jsx-slack uses). ``@channel``, ``@here`` and
``@everyone`` get a zero-width space after the ``@`` in case a receiver enables ``link_names``.

Control and formatting characters are removed (NUL, C0/C1 controls, bidi overrides, stray zero-width
spaces, lone surrogates), all whitespace runs become one space, and the text is NFC-normalised.

Limits are counted in UTF-16 code units (:func:`slack_len`), which is never less than the count in
code points, so a result within the limit fits whichever way Slack counts. Truncation happens on
whole escape sequences (``&amp;`` is never cut), never splits a character from the combining marks,
zero-width joiners or variation selectors that follow it, prefers a word boundary near the cut and
ends with ``…``.

>>> escape_mrkdwn("<!channel> *recall* of 2.3 M cars & more")
'&lt;!channel&gt; \\u200b*\\u200brecall\\u200b*\\u200b of 2.3 M cars &amp; more'
>>> escape_plain("Toyota & <Lexus>  \\n recall", limit=16)
'Toyota &amp;…'
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Iterator
from urllib.parse import quote, urlsplit, urlunsplit

ELLIPSIS = "…"
ZWSP = "\u200b"
SOFT_HYPHEN = "\u00ad"

_ENTITIES = {"&": "&amp;", "<": "&lt;", ">": "&gt;"}
_MARKERS = frozenset("*_~`")
_QUOTES = frozenset(">\uff1e")  # ">" and the fullwidth "＞" both quote at line start
_BROADCAST = re.compile(r"@(?=(?:channel|here|everyone)\b)", re.IGNORECASE)
_KEEP_FORMAT = frozenset("\u200d")  # zero-width joiner: part of emoji sequences
_GLUE_AFTER = frozenset("\u200d\ufe0e\ufe0f\u20e3")
_WORD_BACKOFF = 15
_MAX_URL = 2000
_SAFE_TOKEN = re.compile(r"\u00ad?&(?:amp|lt|gt);|\u200b[*_~`]\u200b|<[^<>]*>|.", re.DOTALL)
_HOST = re.compile(r"^[a-z0-9](?:[a-z0-9.-]*[a-z0-9])?$")


def slack_len(text: str) -> int:
    """Length in UTF-16 code units (what JavaScript's ``length`` reports)."""
    return len(text) + sum(1 for char in text if ord(char) > 0xFFFF)


def clean(text: str) -> str:
    """NFC-normalise, drop control/format characters, collapse whitespace runs to one space.

    >>> clean("a\\x00b\\t\\n  c\\u202e d\\u200b")
    'ab c d'
    """
    text = unicodedata.normalize("NFC", text)
    kept = []
    for char in text:
        if char.isspace():
            kept.append(" ")
            continue
        category = unicodedata.category(char)
        if category in ("Cc", "Cs") or (category == "Cf" and char not in _KEEP_FORMAT):
            continue
        kept.append(char)
    return " ".join("".join(kept).split())


def escape_plain(text: str, limit: int | None = None) -> str:
    """``text`` safe for a ``plain_text`` object (and any text Slack parses for ``<...>``)."""
    cleaned = clean(text)
    return _fit((_ENTITIES.get(char, char) for char in cleaned), cleaned, limit)


def escape_mrkdwn(text: str, limit: int | None = None) -> str:
    """``text`` safe inside a ``mrkdwn`` object: no mention, link, formatting or quote can form."""
    cleaned = clean(text)
    return _fit(_mrkdwn_tokens(cleaned), cleaned, limit)


def truncate(text: str, limit: int) -> str:
    """Shorten already-safe ``text`` (our own mrkdwn, e.g. joined lines) to ``limit`` with ``…``.

    Entity sequences (``&amp;``, ``&lt;``, ``&gt;``), zero-width-space-wrapped markers and the
    ``<...>`` constructs we wrote ourselves are kept whole or dropped whole.
    """
    if slack_len(text) <= limit:
        return text
    tokens = _SAFE_TOKEN.findall(text)
    return _fit(tokens, "".join((token.lstrip(ZWSP + SOFT_HYPHEN) or token)[0] for token in tokens), limit)


def _mrkdwn_tokens(cleaned: str) -> Iterator[str]:
    """One escaped token per character of ``cleaned``."""
    broadcast = {match.start() for match in _BROADCAST.finditer(cleaned)}
    for index, char in enumerate(cleaned):
        if char in _ENTITIES:
            token = _ENTITIES[char]
        elif char in _MARKERS and (char == "`" or _at_boundary(cleaned, index)):
            token = f"{ZWSP}{char}{ZWSP}"
        elif index in broadcast:
            token = f"@{ZWSP}"
        else:
            token = char
        yield SOFT_HYPHEN + token if index == 0 and char in _QUOTES else token


def link_url(url: str | None) -> str | None:
    """``url`` made safe for Slack's ``<url|label>`` syntax, or ``None`` when it is not a usable
    http(s) URL (other schemes, no valid host, credentials in it, bad port, too long, not encodable).

    The host is rebuilt from its validated ASCII form; characters that could end the link (``|``,
    ``<``, ``>``), spaces, quotes, non-ASCII and controls in the rest are percent-encoded; ``&``
    becomes ``&amp;`` as Slack expects inside links.

    >>> link_url("https://Example.com/a b?q=1&r=<2>|x")
    'https://example.com/a%20b?q=1&amp;r=%3C2%3E%7Cx'
    >>> link_url("javascript:alert(1)") is None
    True
    """
    if not url or len(url) > _MAX_URL:
        return None
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError:
        return None
    host = _ascii_host(parts.hostname)
    if parts.scheme.lower() not in ("http", "https") or host is None or parts.username or parts.password:
        return None
    netloc = host if port is None else f"{host}:{port}"
    safe = "/?:@&=+$,;%#!~*'()[]-._"
    try:
        path, query, fragment = (quote(part, safe=safe) for part in (parts.path, parts.query, parts.fragment))
    except UnicodeEncodeError:  # an unpaired surrogate (half an emoji) has no UTF-8 form to percent-encode
        return None
    return urlunsplit((parts.scheme.lower(), netloc, path, query, fragment)).replace("&", "&amp;")


def link_host(url: str | None) -> str | None:
    """The host name of an http(s) ``url`` for use as a link label (``www.`` dropped), or ``None``.

    >>> link_host("https://www.Reuters.com/business/autos")
    'reuters.com'
    """
    if not url:
        return None
    try:
        host = _ascii_host(urlsplit(url.strip()).hostname)
    except ValueError:
        return None
    return None if host is None else host.removeprefix("www.")


def _ascii_host(hostname: str | None) -> str | None:
    """``hostname`` lower-cased in its ASCII (IDNA) form when it is a plain DNS name, else ``None``."""
    host = (hostname or "").lower()
    if not host.isascii():
        try:
            host = host.encode("idna").decode("ascii")
        except UnicodeError:
            return None
    return host if _HOST.match(host) else None


def _at_boundary(text: str, index: int) -> bool:
    """Whether the marker at ``index`` touches a non-word character or the edge on either side."""
    before = text[index - 1] if index > 0 else " "
    after = text[index + 1] if index + 1 < len(text) else " "
    return not (_is_word(before) and _is_word(after))


def _is_word(char: str) -> bool:
    return char.isalnum()


def _fit(tokens: Iterable[str], source: str, limit: int | None) -> str:
    """Join ``tokens`` (one per character of ``source``), cut to ``limit`` UTF-16 units with ``…``.

    Tokens are consumed only until the limit is passed, so long texts cost little.
    """
    if limit is None:
        return "".join(tokens)
    if limit < 1:
        raise ValueError(f"limit must be at least 1, got {limit}")
    budget = limit - slack_len(ELLIPSIS)
    kept: list[str] = []
    used, cut = 0, -1
    for token in tokens:
        used += slack_len(token)
        if used > budget and cut < 0:
            cut = len(kept)  # the tokens before this one fit with room for the ellipsis
        if used > limit:
            break
        kept.append(token)
    else:
        return "".join(kept)
    while cut > 0 and _glued(source, cut):
        cut -= 1
    if 0 < cut < len(source) and source[cut - 1].isalnum() and source[cut].isalnum():
        space = source.rfind(" ", max(0, cut - _WORD_BACKOFF), cut)
        cut = space if space > 0 else cut
    return "".join(kept[:cut]).rstrip(" " + ZWSP + SOFT_HYPHEN) + ELLIPSIS


def _glued(source: str, cut: int) -> bool:
    """Whether cutting ``source`` before index ``cut`` would split a user-perceived character."""
    if cut >= len(source):
        return False
    nxt, prev = source[cut], source[cut - 1]
    if prev == "\u200d" or nxt in _GLUE_AFTER or unicodedata.combining(nxt):
        return True
    if 0x1F3FB <= ord(nxt) <= 0x1F3FF:  # skin-tone modifier
        return True
    return _regional(nxt) and _regional(prev) and _regional_run(source, cut) % 2 == 1


def _regional(char: str) -> bool:
    return 0x1F1E6 <= ord(char) <= 0x1F1FF


def _regional_run(source: str, cut: int) -> int:
    """Number of regional-indicator symbols right before ``cut`` (flags are pairs of them)."""
    count = 0
    while cut - count - 1 >= 0 and _regional(source[cut - count - 1]):
        count += 1
    return count

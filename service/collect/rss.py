"""RSS 2.0, RSS 1.0 (RDF) and Atom feeds, parsed with feedparser.

Mapping of one feed entry to a mention:

- ``id``: ``"feed:"`` + SHA-1 of the entry's ``guid``/``id``, else its link, else its title and
  summary (the same article in two feeds with one guid or link is one mention);
- ``text``: title and summary (or content) as plain text; ``title``, ``url``, ``author`` cleaned
  (``author`` falls back to the ``<source>`` publisher, as in news search feeds);
- ``reach``: a video's view count when the feed gives one (``<media:statistics views=...>``);
- ``published_at``: the entry's ``published`` time, else its ``updated`` time, in UTC;
- ``lang``: the source's ``lang`` hint, else the feed's or entry's declared language.

**Entries without a usable date** (none given, unparseable, before 1990) get no guessed date from
:func:`parse_feed`, which leaves them out. :class:`RssCollector` stamps them with the time it first
saw them (the tick's ``now``): an entry that appears between two polls was published within one
interval. On the first poll of a source (no cursor) undated entries are only remembered, not
emitted, since their age is unknown. Which entries are new is decided by
:func:`service.collect.cursor.select_new` (future dates clamped to ``now``, old entries skipped).
"""

from __future__ import annotations

import calendar
import hashlib
import io
import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import feedparser

from service.collect.base import (
    CollectResult,
    ParseError,
    as_mapping,
    clean_field,
    clean_text,
    first_brand,
    join_text,
    lang_code,
    parse_time,
    usable_time,
)
from service.collect.cursor import select_new
from service.collect.http import Fetcher
from service.domain import Mention

if TYPE_CHECKING:
    from service.config import SourceConfig

log = logging.getLogger(__name__)


@dataclass(frozen=True, kw_only=True, slots=True)
class FeedEntry:
    """One feed entry as parsed; ``published_at`` is ``None`` when the feed gave no usable date."""

    id: str
    published_at: datetime | None
    text: str
    title: str | None = None
    url: str | None = None
    author: str | None = None
    lang: str | None = None
    reach: float | None = None


def parse_entries(data: bytes) -> list[FeedEntry]:
    """Every entry of an RSS/Atom/RDF document. Raises :class:`ParseError` when ``data`` is not a
    feed at all; a feed with recoverable XML errors yields what the tolerant parser recovered."""
    if not isinstance(data, bytes | bytearray):
        raise ParseError(f"feed payload must be bytes, not {type(data).__name__}")
    try:
        parsed = feedparser.parse(io.BytesIO(bytes(data)), sanitize_html=False, resolve_relative_uris=False)
        entries = list(parsed.get("entries") or ())
        version = parsed.get("version") or ""
        if not version and not entries:
            reason = parsed.get("bozo_exception")
            detail = f" ({reason})" if reason else ""
            raise ParseError(f"not an RSS, Atom or RDF feed{detail}")
        feed_lang = lang_code(as_mapping(parsed.get("feed")).get("language"))
        return [entry for raw in entries if (entry := _entry(as_mapping(raw), feed_lang)) is not None]
    except ParseError:
        raise
    except Exception as exc:  # feedparser's loose parsers can raise almost anything on hostile input
        raise ParseError(f"feed could not be parsed ({type(exc).__name__}: {exc})") from exc


def _entry(raw: Mapping[str, Any], feed_lang: str | None) -> FeedEntry | None:
    title = clean_field(raw.get("title"))
    body = ""
    for content in raw.get("content") or ():
        if isinstance(content, Mapping) and content.get("value"):
            body = clean_text(content["value"])
            break
    summary = clean_text(raw.get("summary"))
    if len(summary) > len(body):
        body = summary
    text = join_text(title, body)
    url = clean_field(raw.get("link"))
    if not text and not url:
        return None
    key = _key(raw.get("id")) or url or text
    return FeedEntry(
        id="feed:" + hashlib.sha1(key.encode("utf-8", "replace")).hexdigest(),
        published_at=_entry_time(raw),
        text=text or url or "",
        title=title,
        url=url,
        author=clean_field(raw.get("author")) or clean_field(as_mapping(raw.get("source")).get("title")),
        lang=lang_code(raw.get("language")) or feed_lang,
        reach=_views(raw.get("media_statistics")),
    )


def _views(statistics: Any) -> float | None:
    """YouTube channel feeds carry ``<media:statistics views="..."/>``: the video's audience."""
    views = as_mapping(statistics).get("views")
    return float(views) if isinstance(views, str) and views.isascii() and views.isdigit() else None


def _key(value: Any) -> str | None:
    return value.strip() or None if isinstance(value, str) else None


def _entry_time(raw: Mapping[str, Any]) -> datetime | None:
    for name in ("published", "updated", "created"):
        struct = raw.get(f"{name}_parsed")
        if isinstance(struct, time.struct_time):
            try:
                instant = datetime.fromtimestamp(calendar.timegm(struct), UTC)
            except (OverflowError, ValueError, OSError):
                instant = None
            if (instant := usable_time(instant)) is not None:
                return instant
        if (instant := parse_time(raw.get(name), naive_tz=None)) is not None:
            return instant
    return None


def to_mention(entry: FeedEntry, *, source: SourceConfig, published_at: datetime) -> Mention:
    return Mention(
        id=entry.id,
        published_at=published_at,
        text=entry.text,
        source=source.name,
        kind=source.kind,
        brand=first_brand(source.brands),
        lang=source.lang or entry.lang,
        author=entry.author,
        url=entry.url,
        title=entry.title,
        reach=entry.reach,
    )


def parse_feed(data: bytes, *, source: SourceConfig) -> list[Mention]:
    """Mentions of every dated entry of the feed in ``data`` (pure; undated entries left out)."""
    return [to_mention(entry, source=source, published_at=entry.published_at)
            for entry in parse_entries(data) if entry.published_at is not None]


class RssCollector:
    """Polls one feed URL with conditional GET and returns only entries it has not returned.

    Cursor: ``etag``, ``last_modified`` (conditional GET) and the ``recent`` ids and ``newest`` time
    of :mod:`service.collect.cursor`.
    """

    def __init__(self, source: SourceConfig, fetcher: Fetcher) -> None:
        self.name = source.name
        self.source = source
        self.fetcher = fetcher
        self.url: str = source.options["url"]
        self.headers: Mapping[str, str] = source.options.get("headers") or {}

    def collect(self, cursor: dict[str, Any] | None, now: datetime) -> CollectResult:
        state = cursor or {}
        response = self.fetcher.get(self.url, headers=self.headers, etag=state.get("etag"),
                                    last_modified=state.get("last_modified"))
        if response.not_modified:
            return CollectResult(mentions=(), cursor=None)
        entries = parse_entries(response.content)
        first_run = not state.get("recent")
        dated: list[Mention] = []
        undated: list[str] = []
        for entry in entries:
            if entry.published_at is not None:
                dated.append(to_mention(entry, source=self.source, published_at=entry.published_at))
            elif first_run:
                undated.append(entry.id)
            else:
                dated.append(to_mention(entry, source=self.source, published_at=now))
        if undated:
            log.debug("%s: %d entries without a usable date remembered, not emitted (first poll)",
                      self.name, len(undated))
        mentions, next_cursor = select_new(dated, state, now=now, also_seen=undated)
        if response.etag:
            next_cursor["etag"] = response.etag
        if response.last_modified:
            next_cursor["last_modified"] = response.last_modified
        return CollectResult(mentions=tuple(mentions), cursor=next_cursor)

"""Reading mention records (JSON Lines, DESIGN.md "Mention record"); ``.gz`` files are decompressed.

A malformed line is reported with its line number and skipped; it never stops a replay.
"""

from __future__ import annotations

import gzip
import io
import json
import math
import re
import sys
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

from service.domain import Mention, SourceKind

MAX_TEXT = 100_000
_STRING_FIELDS = ("source", "brand", "lang", "author", "url", "title")
_KNOWN = {"id", "published_at", "text", "kind", "reach", "engagement", *_STRING_FIELDS}


class RecordError(ValueError):
    """One record does not follow the mention contract; the message says which field and why."""


@dataclass
class ReadReport:
    """What reading one input produced besides mentions: counts and the skipped lines."""

    name: str
    read: int = 0
    skipped: int = 0
    errors: list[str] = field(default_factory=list)
    max_errors_kept: int = 50

    def skip(self, line: int, reason: str) -> None:
        self.skipped += 1
        if len(self.errors) < self.max_errors_kept:
            self.errors.append(f"{self.name}:{line}: {reason}")


EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)
LATEST = datetime(3000, 1, 1, tzinfo=UTC)
"""A mention's time must fall in ``[EARLIEST, LATEST)`` (UTC). Python's datetimes end at years 1 and 9999:
a valid ISO 8601 time near either end does not convert to UTC (``9999-12-31T23:59:59-23:59``), and one
that does would overflow the pipeline's bucket arithmetic later (every tick failing), so both are
refused here, as one bad record."""


def parse_time(value: Any, field_name: str = "published_at") -> datetime:
    """An ISO 8601 time *with* an offset (``Z`` accepted), converted to UTC, within
    [:data:`EARLIEST`, :data:`LATEST`); anything else raises :class:`RecordError` naming ``field_name``."""
    if not isinstance(value, str):
        raise RecordError(f"{field_name}: expected an ISO 8601 string, got {type(value).__name__}")
    text = value.strip()
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        raise RecordError(f"{field_name}: not an ISO 8601 time: {value[:40]!r}") from None
    if parsed.tzinfo is None or parsed.utcoffset() is None:
        raise RecordError(f"{field_name}: {value[:40]!r} has no UTC offset (add Z or +01:00)")
    try:
        instant = parsed.astimezone(UTC)
    except OverflowError:  # the offset takes it past year 9999 or before year 1
        instant = None
    if instant is None or not EARLIEST <= instant < LATEST:
        raise RecordError(f"{field_name}: {value[:40]!r} is out of range (expected from "
                          f"{EARLIEST:%Y-%m-%d} to before {LATEST:%Y-%m-%d} UTC)")
    return instant


_LANG = re.compile(r"[a-z]{2,3}(?:[-_][a-z0-9]{2,8})*")
"""An ISO 639 language code, optionally with a region or script (``fr``, ``en-US``, ``pt_BR``)."""
MAX_BRAND = 100
"""A brand is a name (alerts.yaml's brands, Redis key tags, Slack headlines): one short line."""
MAX_SOURCE = 200
"""A source is a name too, counted in every bucket it appears in (and a metrics label): longer is cut."""


_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f]")
_SURROGATE = re.compile("[\ud800-\udfff]")
"""An unpaired UTF-16 surrogate: what a JSON ``\\ud800`` escape decodes to. Not Unicode: no store
(SQLite, Redis, a log line in UTF-8) can write it."""
_UNWANTED = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff]")


def _clean(text: str) -> str:
    """Drop NUL and other C0 control characters except tab and newline, replace unpaired surrogates
    (typically half an emoji cut by a JavaScript ``substring``) by U+FFFD; cap the length."""
    if len(text) > MAX_TEXT:
        text = text[:MAX_TEXT]
    if _UNWANTED.search(text) is not None:
        text = _SURROGATE.sub("\ufffd", _CONTROL.sub("", text))
    return text


def _number(record: Mapping[str, Any], name: str) -> float | None:
    value = record.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
        raise RecordError(f"{name}: expected a number >= 0, got {_shown(value)}")
    try:
        number = float(value)  # an integer past ~1.8e308 does not convert
    except OverflowError:
        number = math.inf
    if not math.isfinite(number):
        raise RecordError(f"{name}: expected a finite number >= 0, got {_shown(value)}")
    return number


def _shown(value: Any) -> str:
    """``value`` as an error message shows it: at most 40 characters."""
    if isinstance(value, int) and not isinstance(value, bool) and value.bit_length() > 128:
        try:
            return f"an integer of {len(str(abs(value)))} digits"
        except ValueError:  # past sys.get_int_max_str_digits() (JSON never gives one: json refuses it)
            return f"an integer of more than {sys.get_int_max_str_digits()} digits"
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def mention_from_record(record: Any) -> Mention:
    """Validate one decoded JSON value against the mention contract."""
    if not isinstance(record, dict):
        raise RecordError(f"expected a JSON object, got {type(record).__name__}")
    mention_id = record.get("id")
    if isinstance(mention_id, int) and not isinstance(mention_id, bool):
        mention_id = str(mention_id)
    if not isinstance(mention_id, str) or not mention_id.strip():
        raise RecordError("id: required non-empty string")
    if (found := _SURROGATE.search(mention_id)) is not None:  # an id is not repaired: it would merge two ids
        raise RecordError(f"id: holds an unpaired UTF-16 surrogate (\\u{ord(found.group()):04x}): not valid Unicode")
    text = record.get("text")
    if not isinstance(text, str):
        raise RecordError("text: required string")
    if "published_at" not in record:
        raise RecordError("published_at: required")
    published_at = parse_time(record["published_at"])
    strings: dict[str, str | None] = {}
    for name in _STRING_FIELDS:
        value = record.get(name)
        if value is not None and not isinstance(value, str):
            raise RecordError(f"{name}: expected a string, got {type(value).__name__}")
        strings[name] = _clean(value).strip() or None if value is not None else None
    kind_value = record.get("kind")
    try:
        kind = SourceKind(kind_value) if kind_value is not None else None
    except ValueError:
        allowed = ", ".join(k.value for k in SourceKind)
        raise RecordError(f"kind: {_shown(kind_value)} is not one of {allowed}") from None
    lang = strings["lang"].lower() if strings["lang"] else None
    if lang is not None and not _LANG.fullmatch(lang):
        raise RecordError(f"lang: expected a language code such as fr or en-US, got {_shown(record.get('lang'))}")
    brand = record.get("brand")
    if isinstance(brand, str) and (len(brand) > MAX_BRAND or not brand.isprintable()):
        raise RecordError(f"brand: expected a name of at most {MAX_BRAND} printable characters on one line")
    source = strings["source"][:MAX_SOURCE].rstrip() if strings["source"] else None
    return Mention(id=mention_id.strip()[:512], published_at=published_at, text=_clean(text), kind=kind,
                   source=source, brand=strings["brand"].lower() if strings["brand"] else None,
                   lang=lang, author=strings["author"], url=strings["url"], title=strings["title"],
                   reach=_number(record, "reach"), engagement=_number(record, "engagement"))


def json_reason(exc: ValueError | RecursionError) -> str:
    """Why ``json.loads`` refused a text, in words a sender can act on."""
    if isinstance(exc, json.JSONDecodeError):
        return f"{exc.msg} at column {exc.colno}"
    if isinstance(exc, RecursionError):
        return "arrays or objects nested too deeply"
    # json raises a plain ValueError only for an integer longer than Python converts
    return f"an integer with more than {sys.get_int_max_str_digits()} digits"


def read_lines(stream: IO[str], report: ReadReport) -> Iterator[Mention]:
    """Yield the valid mentions of a JSON Lines text stream, recording skipped lines in ``report``."""
    for number, line in enumerate(stream, start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except (ValueError, RecursionError) as exc:
            report.skip(number, f"invalid JSON: {json_reason(exc)}")
            continue
        try:
            mention = mention_from_record(record)
        except RecordError as exc:
            report.skip(number, str(exc))
            continue
        report.read += 1
        yield mention


def read_mentions(path: str | Path, report: ReadReport | None = None) -> Iterator[Mention]:
    """Yield the mentions of a ``.jsonl`` / ``.jsonl.gz`` file (``-`` is standard input)."""
    name = str(path)
    report = report if report is not None else ReadReport(name)
    if name == "-":
        yield from read_lines(sys.stdin, report)
        return
    raw: IO[bytes] = gzip.open(name, "rb") if name.endswith(".gz") else open(name, "rb")  # noqa: SIM115
    with raw, io.TextIOWrapper(raw, encoding="utf-8", errors="replace") as text:
        try:
            yield from read_lines(text, report)
        except (OSError, EOFError, gzip.BadGzipFile) as exc:
            report.skip(0, f"file truncated or corrupt: {exc}")

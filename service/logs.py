"""Logging set-up: one JSON object per line in production (not a terminal), readable on a terminal.

Secrets never reach the output: :func:`register_secret` adds a value (ingest token, Slack token or
webhook URL, signing secret, store password) that every formatted line has replaced by ``<secret>``,
and well-known token shapes (Slack ``xox?-`` tokens, Slack webhook paths, ``Bearer`` values,
passwords in URLs) are masked even when nobody registered them.
"""

from __future__ import annotations

import json
import logging
import os
import re
import sys
import threading
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any, ClassVar, TextIO

MASK = "<secret>"
MIN_SECRET_LENGTH = 4
"""Shorter values are not registered: masking every "abc" in the logs would hide more than it protects."""

_PATTERNS = (
    re.compile(r"xox[abposre]-[A-Za-z0-9-]+"),  # Slack bot, user, refresh... tokens
    re.compile(r"xapp-[A-Za-z0-9-]+"),  # Slack app-level tokens
    re.compile(r"(?<=hooks\.slack\.com/services/)[A-Za-z0-9/_-]+"),
    re.compile(r"(?<=hooks\.slack\.com/triggers/)[A-Za-z0-9/_-]+"),
    re.compile(r"(?<=hooks\.slack\.com/workflows/)[A-Za-z0-9/_-]+"),
    # a webhook path quoted without its host (http.client's InvalidURL message): /services/T…/B…/<secret>
    re.compile(r"(?<=/services/)T[A-Z0-9]{6,}/B[A-Z0-9]{6,}/[A-Za-z0-9]+"),
    re.compile(r"(?i)(?<=bearer )[A-Za-z0-9._~+/=-]+"),
    # user:password@ in a URL, up to the last "@" before the host (a password may hold "@")
    re.compile(r"(?<=://)[^/\s:@]*:[^\s/]*(?=@[^@/\s]+(?:[/?#\s\"']|$))"),
)
_QUERY_SECRET = re.compile(r"(?i)([?&](?:[\w.-]*[_-])?(?:password|passwd|pwd|token|api_?key|key|secret|signature|sig)=)"
                           r"[^&#\s\"']+")
"""Credentials in a query string (``redis://host/0?password=...``, ``?api_key=...``, ``&client_secret=...``,
``&x-api-key=...``): the value is masked."""
_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f]")
"""Control characters (newline and tab kept): a logged value from outside (a brand name pushed to the
ingest API) cannot forge a log line or send escape codes to a terminal."""
_SECRETS: set[str] = set()
_SECRETS_LOCK = threading.Lock()
_STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {"message", "asctime", "color_message"}


def register_secret(value: str | None) -> None:
    """Mask ``value`` in every log line from now on (``None`` and very short values are ignored;
    surrounding whitespace is not part of a secret)."""
    value = value.strip() if value else value
    if value and len(value) >= MIN_SECRET_LENGTH:
        with _SECRETS_LOCK:
            _SECRETS.add(value)


def register_secrets(values: Iterable[str | None]) -> None:
    for value in values:
        register_secret(value)


def redact(text: str) -> str:
    """``text`` with registered secrets and known token shapes replaced by ``<secret>``."""
    with _SECRETS_LOCK:
        secrets = sorted(_SECRETS, key=len, reverse=True)
    for secret in secrets:
        if secret in text:
            text = text.replace(secret, MASK)
    for pattern in _PATTERNS:
        text = pattern.sub(MASK, text)
    return _QUERY_SECRET.sub(r"\g<1>" + MASK, text)


def safe_url(url: str) -> str:
    """A store URL without its credentials (userinfo, or a password in the query), for messages."""
    if "@" in url and "://" in url:
        scheme, rest = url.split("://", 1)
        url = f"{scheme}://***@{rest.rsplit('@', 1)[1]}"
    return redact(url)


def _time(record: logging.LogRecord) -> str:
    # The record's own creation time (set by logging), not a clock read of ours.
    return datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class JsonFormatter(logging.Formatter):
    """``{"time", "level", "logger", "message", ...extra fields, "exception"}`` on one line."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {"time": _time(record), "level": record.levelname.lower(), "logger": record.name,
                                 "message": redact(record.getMessage())}
        for key, value in vars(record).items():
            if key not in _STANDARD and not key.startswith("_"):
                kept = value if isinstance(value, int | float | bool | type(None)) else redact(str(value))
                entry[key] = kept
        if record.exc_info:
            entry["exception"] = redact(self.formatException(record.exc_info))
        # Masked before encoding (a secret holding '"' or '\\' is escaped by the encoder), and after.
        return redact(json.dumps(entry, ensure_ascii=False, default=str))


class TextFormatter(logging.Formatter):
    """``HH:MM:SS level logger: message`` with the level coloured (unless ``NO_COLOR``)."""

    COLOURS: ClassVar[dict[str, str]] = {"WARNING": "\033[33m", "ERROR": "\033[31m", "CRITICAL": "\033[1;31m",
                                         "DEBUG": "\033[2m"}

    def __init__(self, colour: bool) -> None:
        super().__init__("%(asctime)s %(levelname)-7s %(name)s: %(message)s", datefmt="%H:%M:%S")
        self.colour = colour

    def format(self, record: logging.LogRecord) -> str:
        text = _CONTROL.sub("\ufffd", redact(super().format(record)))
        if self.colour and record.levelname in self.COLOURS:
            text = f"{self.COLOURS[record.levelname]}{text}\033[0m"
        return redact(text)


def setup_logging(*, verbose: bool = False, stream: TextIO | None = None, json_lines: bool | None = None) -> None:
    """Replace the root handlers with one that writes to ``stream`` (standard error by default).

    ``json_lines``: ``None`` chooses JSON unless ``stream`` is a terminal; ``CRISISWATCH_LOG_FORMAT``
    (``json`` or ``text``) overrides the choice.
    """
    stream = stream if stream is not None else sys.stderr
    wanted = os.environ.get("CRISISWATCH_LOG_FORMAT", "").lower()
    if wanted in ("json", "text"):
        json_lines = wanted == "json"
    elif json_lines is None:
        json_lines = not _isatty(stream)
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter() if json_lines else
                         TextFormatter(colour=_isatty(stream) and "NO_COLOR" not in os.environ))
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(logging.DEBUG if verbose else logging.INFO)
    for noisy in ("httpx", "httpcore", "apscheduler", "slack_sdk", "uvicorn.access"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


def _isatty(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False

"""``POST /v1/mentions``: mentions pushed by other systems (DESIGN.md "Mention record").

The body is a JSON array of records or NDJSON (one record per line, lines end at ``\\n``; a ``\\r`` before it
is dropped), UTF-8 with or without a byte order mark, optionally gzip-encoded (every member of a
concatenated gzip stream is read; a truncated stream is refused). A bearer token is required
(``CRISISWATCH_INGEST_TOKEN`` or ``ingest.token`` in alerts.yaml, surrounding whitespace ignored), compared
in constant time; without a configured token every ingest is refused (503), never accepted openly.
Each invalid record is reported with its line (NDJSON) or position (array, 1-based, also under
``line``) and the reason; the valid ones are ingested: ``202`` with accepted / rejected counts. A body
that is neither is refused whole (``400``), as is a Content-Encoding other than gzip or identity, a
multipart form or a charset other than UTF-8 (``415``). When the store is unreachable nothing is ingested:
``503`` with ``Retry-After``. In scaled-out mode (the HTTP of ``--role scheduler|worker``) the valid mentions
are queued on the stream: ``202`` with ``queued``. Decompression and parsing run in a worker thread, off the
event loop.

Hostile records are refused one by one, never the body: an object naming a key twice (``{"id": "a", ...,
"id": "b"}``, which a proxy or validator in front may read differently), and, as everywhere mentions are read
(:func:`service.mentions.mention_from_record`), an ``id`` holding an unpaired UTF-16 surrogate (a
``\\ud800`` escape: not Unicode, no store can write it); elsewhere such a surrogate, typically half an emoji
cut by a JavaScript ``substring``, becomes U+FFFD and the record is kept.
"""

from __future__ import annotations

import hmac
import json
import os
import zlib
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse

from service.domain import Mention
from service.mentions import RecordError, json_reason, mention_from_record
from service.scale.http import Queued
from service.store.base import StoreError

if TYPE_CHECKING:
    from service.api.runtime import Runtime
    from service.config import Config
    from service.scale.http import RoleRuntime

MAX_BODY = 8 * 1024 * 1024
"""Largest accepted body, compressed or not (bytes)."""
MAX_ERRORS_SHOWN = 100
GZIP_CHUNK = 1024
"""Compressed bytes handed to the inflater at a time. zlib copies the input left over at the end of each
gzip member; small pieces keep a body of many tiny members linear in time."""
_GZIP_CODINGS = ("gzip", "x-gzip")
_JSON_SPACE = " \t\r\n"
_UTF8_NAMES = ("utf-8", "utf8", "us-ascii", "ascii")
_MULTILINE = ("one JSON value is written over several lines (pretty-printed?): send one record per line "
              "(NDJSON, e.g. jq -c) or a JSON array of records")


class BodyTooLarge(Exception):
    pass


class BodyError(ValueError):
    """A body that cannot be read: ``status`` is the answer (400 corrupt or truncated gzip, 415 unknown
    Content-Encoding)."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


@dataclass
class Parsed:
    mentions: list[Mention] = field(default_factory=list)
    errors: list[dict[str, Any]] = field(default_factory=list)
    rejected: int = 0

    def reject(self, line: int, reason: str) -> None:
        self.rejected += 1
        if len(self.errors) < MAX_ERRORS_SHOWN:
            self.errors.append({"line": line, "reason": reason})


class _Repeated(dict[str, Any]):
    """A decoded JSON object that named some keys more than once (``repeated``; the last value won)."""

    repeated: tuple[str, ...] = ()


def _object(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """``object_pairs_hook``: the object as a dict, flagged when a key came twice (json keeps the last)."""
    record = dict(pairs)
    if len(record) == len(pairs):
        return record
    seen: set[str] = set()
    repeated: dict[str, None] = {}  # in order of appearance
    for key, _ in pairs:
        if key in seen:
            repeated[key] = None
        seen.add(key)
    flagged = _Repeated(record)
    flagged.repeated = tuple(repeated)
    return flagged


_DECODER = json.JSONDecoder(object_pairs_hook=_object)


def _refused(record: Any) -> str | None:
    """Why a record is refused before the mention checks (a key named twice), or ``None``."""
    if isinstance(record, _Repeated):
        return f"duplicate key {json.dumps(record.repeated[0])[:60]} (a record names each field once)"
    return None


def _load_array(text: str) -> list[Any]:
    try:
        records: list[Any] = _DECODER.decode(text)
    except json.JSONDecodeError as exc:
        raise ValueError(f"invalid JSON array: {exc.msg} at line {exc.lineno} column {exc.colno}") from None
    except (ValueError, RecursionError) as exc:
        raise ValueError(f"invalid JSON array: {json_reason(exc)}") from None
    return records


def _spans_lines(text: str) -> bool:
    """Whether ``text`` (no leading whitespace) starts with one JSON value written over several lines."""
    try:
        _, end = json.JSONDecoder().raw_decode(text)
    except (ValueError, RecursionError):
        return False
    return text.find("\n", 0, end) >= 0


def _load_lines(text: str, parsed: Parsed) -> list[tuple[int, Any]]:
    """The values of an NDJSON body by line number; an invalid line is rejected on its own. Lines end at
    ``\\n`` only: U+2028, U+2029 and U+0085 may stand unescaped in JSON strings (``str.splitlines`` would
    cut there)."""
    numbered: list[tuple[int, Any]] = []
    first = True
    for number, raw in enumerate(text.split("\n"), start=1):
        line = raw.removesuffix("\r")
        if not line.strip(_JSON_SPACE):
            continue
        try:
            numbered.append((number, _DECODER.decode(line)))
        except (ValueError, RecursionError) as exc:
            if first and _spans_lines(text.lstrip(_JSON_SPACE)):
                raise ValueError(_MULTILINE) from None
            parsed.reject(number, f"invalid JSON: {json_reason(exc)}")
        first = False
    return numbered


def parse_body(text: str) -> Parsed:
    """Records of a JSON array or NDJSON body (a leading byte order mark ignored); raises ``ValueError``
    when it is neither, naming the pretty-printed case."""
    parsed = Parsed()
    text = text.removeprefix("\ufeff")
    stripped = text.lstrip(_JSON_SPACE)
    if stripped.startswith("["):
        numbered = list(enumerate(_load_array(stripped), start=1))
    else:
        numbered = _load_lines(text, parsed)
    for number, record in numbered:
        refused = _refused(record)
        if refused is not None:
            parsed.reject(number, refused)
            continue
        try:
            parsed.mentions.append(mention_from_record(record))
        except RecordError as exc:
            parsed.reject(number, str(exc))
    return parsed


def parse_bytes(body: bytes) -> Parsed:
    """:func:`parse_body` of a UTF-8 body; raises ``ValueError`` (``UnicodeDecodeError`` included)."""
    return parse_body(body.decode("utf-8"))


def configured_token(config: Config) -> str | None:
    """The ingest token: ``CRISISWATCH_INGEST_TOKEN`` over ``ingest.token``, surrounding whitespace
    ignored (a secret file often ends in a newline); ``None`` when neither holds one."""
    for value in (os.environ.get("CRISISWATCH_INGEST_TOKEN"),
                  config.ingest_token.reveal() if config.ingest_token else None):
        if value and value.strip():
            return value.strip()
    return None


def authorized(header: str | None, token: str) -> bool:
    """``Authorization: Bearer <token>``, compared in constant time (surrounding whitespace ignored on both
    sides: a token read from a mounted secret file often ends in a newline)."""
    scheme, _, given = (header or "").partition(" ")
    if scheme.lower() != "bearer":
        return False
    return hmac.compare_digest(given.strip().encode(), token.strip().encode())


def gunzip(data: bytes, limit: int) -> bytes:
    """Every member of a gzip body (``cat a.gz b.gz`` is one valid gzip stream; zero padding after a
    member is skipped), refused past ``limit`` bytes in all (:class:`BodyTooLarge`). A corrupt stream, or
    one that ends inside a member, raises :class:`BodyError`."""
    out = bytearray()
    inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
    inside = False  # whether the stream so far ends inside a member
    for start in range(0, len(data), GZIP_CHUNK):
        piece = data[start:start + GZIP_CHUNK]
        while piece:
            if not inside:
                piece = piece.lstrip(b"\0")
                if not piece:
                    break
                if out and piece[0] != 0x1F:  # not the start of another member (a newline after the stream...)
                    raise BodyError("invalid gzip body: data after the end of the gzip stream")
                inflater, inside = zlib.decompressobj(16 + zlib.MAX_WBITS), True
            try:
                out += inflater.decompress(piece, limit - len(out) + 1)
            except zlib.error as exc:
                raise BodyError(f"invalid gzip body: {exc}") from None
            if len(out) > limit:
                raise BodyTooLarge
            # within its bound, the inflater consumed the piece, up to the end of the member at most
            piece, inside = (inflater.unused_data, False) if inflater.eof else (b"", True)
    if inside:
        raise BodyError("truncated gzip body: the stream ends inside a member; nothing was ingested, "
                        "send the whole body again")
    return bytes(out)


def _content_codings(header: str) -> list[str]:
    """The codings of a Content-Encoding header, in the order applied, without ``identity``."""
    codings = (coding.strip().lower() for coding in header.split(","))
    return [coding for coding in codings if coding and coding != "identity"]


async def read_limited(request: Request, limit: int | None = None) -> bytes:
    """The request body, refused past ``limit`` bytes (default :data:`MAX_BODY`; declared or streamed,
    and once decompressed: :class:`BodyTooLarge`). Content-Encoding gzip or identity only, and no Content-Type
    :func:`content_type_problem` refuses, else :class:`BodyError` with status 415; gzip is inflated in a
    worker thread."""
    limit = MAX_BODY if limit is None else limit
    refused = content_type_problem(request.headers.get("content-type", ""))
    if refused is not None:
        raise BodyError(refused, status=415)
    encoding = request.headers.get("content-encoding", "")
    codings = _content_codings(encoding)
    if len(codings) > 1 or (codings and codings[0] not in _GZIP_CODINGS):
        raise BodyError(f"unsupported Content-Encoding {encoding[:40]!r}: send gzip or identity", status=415)
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise BodyTooLarge
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise BodyTooLarge
        chunks.append(chunk)
    body = b"".join(chunks)
    if codings:
        body = await run_in_threadpool(gunzip, body, limit)
    return body


def content_type_problem(header: str) -> str | None:
    """Why a Content-Type is refused (415), or ``None``: any JSON or text type is read (``curl -d`` sends
    ``application/x-www-form-urlencoded``), but not a multipart form, whose boundary and part header lines
    are not records, nor a charset other than UTF-8."""
    media, _, params = header.partition(";")
    if media.strip().lower().startswith("multipart/"):
        return ("a multipart form is not read: send the file itself as the body, e.g. curl --data-binary "
                "@mentions.ndjson -H 'Content-Type: application/x-ndjson'")
    for param in params.split(";"):
        name, _, value = param.partition("=")
        charset = value.strip().strip('"').lower()
        if name.strip().lower() == "charset" and charset not in _UTF8_NAMES:
            return f"charset {charset[:40]!r} is not read: send UTF-8 (iconv -t UTF-8)"
    return None


def _error(status: int, message: str, **headers: str) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status, headers=headers or None)


async def ingest_mentions(request: Request) -> JSONResponse:
    runtime: Runtime | RoleRuntime = request.app.state.runtime
    token = (runtime.ingest_token() or "").strip()
    if not token:
        return _error(503, "ingest is disabled: no token configured (set CRISISWATCH_INGEST_TOKEN or "
                           "ingest.token in alerts.yaml)")
    if not authorized(request.headers.get("authorization"), token):
        return _error(401, "missing or wrong bearer token", **{"WWW-Authenticate": 'Bearer realm="crisiswatch"'})
    try:
        body = await read_limited(request)
        parsed = await run_in_threadpool(parse_bytes, body)
    except BodyTooLarge:
        return _error(413, f"body larger than {MAX_BODY} bytes (after decompression): split it into several requests")
    except BodyError as exc:
        return _error(exc.status, str(exc))
    except UnicodeDecodeError as exc:
        return _error(400, f"body is not UTF-8 text (invalid byte at offset {exc.start})")
    except ValueError as exc:
        return _error(400, str(exc))
    runtime.metrics.rejected.inc(parsed.rejected)
    if not parsed.mentions:
        reason = "no valid mention in the body" if parsed.rejected else "empty body"
        return JSONResponse({"error": reason, "accepted": 0, "rejected": parsed.rejected, "errors": parsed.errors},
                            status_code=400)
    try:
        result = await run_in_threadpool(runtime.ingest, parsed.mentions)
    except StoreError as exc:
        if not exc.retryable:
            raise
        if runtime.atomic_ingest:
            advice = "nothing was ingested, send the request again"
        else:  # a count-once store (Redis) may have counted some brands' mentions before the failure
            advice = "send the request again: mentions already counted are skipped, the others are counted"
        return JSONResponse({"error": f"{exc}; {advice}", "accepted": 0,
                             "rejected": parsed.rejected, "errors": parsed.errors}, status_code=503,
                            headers={"Retry-After": "5"})
    if isinstance(result, Queued):  # scaled out: on the stream, the workers deduplicate and count
        return JSONResponse({"accepted": len(parsed.mentions), "rejected": parsed.rejected, "queued": result.queued,
                             "errors": parsed.errors}, status_code=202)
    return JSONResponse({"accepted": len(parsed.mentions), "rejected": parsed.rejected, "new": result.accepted,
                         "duplicates": result.duplicates, "unattributed": result.unattributed,
                         "errors": parsed.errors}, status_code=202)

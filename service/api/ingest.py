"""``POST /v1/mentions``: mentions pushed by other systems (DESIGN.md "Mention record").

The body is a JSON array of records or NDJSON (one record per line), optionally gzip-encoded. A
bearer token is required (``CRISISWATCH_INGEST_TOKEN`` or ``ingest.token`` in alerts.yaml), compared
in constant time; without a configured token every ingest is refused (503), never accepted openly.
Each invalid record is reported with its line (NDJSON) or position (array, 1-based, also under
``line``) and the reason; the valid ones are ingested: ``202`` with accepted / rejected counts. When the
store is unreachable nothing is ingested: ``503`` with ``Retry-After``. In scaled-out mode (the HTTP of
``--role scheduler|worker``) the valid mentions are queued on the stream: ``202`` with ``queued``.
"""

from __future__ import annotations

import hmac
import json
import zlib
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse

from service.domain import Mention
from service.mentions import RecordError, mention_from_record
from service.scale.http import Queued
from service.store.base import StoreError

if TYPE_CHECKING:
    from service.api.runtime import Runtime
    from service.scale.http import RoleRuntime

MAX_BODY = 8 * 1024 * 1024
"""Largest accepted body, compressed or not (bytes)."""
MAX_ERRORS_SHOWN = 100


class BodyTooLarge(Exception):
    pass


@dataclass
class Parsed:
    mentions: list[Mention] = field(default_factory=list)
    errors: list[dict[str, Any]] = field(default_factory=list)
    rejected: int = 0

    def reject(self, line: int, reason: str) -> None:
        self.rejected += 1
        if len(self.errors) < MAX_ERRORS_SHOWN:
            self.errors.append({"line": line, "reason": reason})


def parse_body(text: str) -> Parsed:
    """Records of a JSON array or NDJSON body; raises ``ValueError`` when it is neither."""
    parsed = Parsed()
    stripped = text.lstrip()
    if stripped.startswith("["):
        try:
            records = json.loads(stripped)
        except json.JSONDecodeError as exc:
            raise ValueError(f"invalid JSON array: {exc.msg} at line {exc.lineno} column {exc.colno}") from None
        numbered: list[tuple[int, Any]] = list(enumerate(records, start=1))
    else:
        numbered = []
        for number, line in enumerate(text.splitlines(), start=1):
            if not line.strip():
                continue
            try:
                numbered.append((number, json.loads(line)))
            except json.JSONDecodeError as exc:
                parsed.reject(number, f"invalid JSON: {exc.msg} at column {exc.colno}")
    for number, record in numbered:
        try:
            parsed.mentions.append(mention_from_record(record))
        except RecordError as exc:
            parsed.reject(number, str(exc))
    return parsed


def authorized(header: str | None, token: str) -> bool:
    """``Authorization: Bearer <token>``, compared in constant time."""
    scheme, _, given = (header or "").partition(" ")
    if scheme.lower() != "bearer":
        return False
    return hmac.compare_digest(given.strip().encode(), token.encode())


async def read_limited(request: Request, limit: int | None = None) -> bytes:
    """The request body, refused past ``limit`` bytes (default :data:`MAX_BODY`; declared or streamed,
    and once decompressed)."""
    limit = MAX_BODY if limit is None else limit
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
    if request.headers.get("content-encoding", "").lower() == "gzip":
        inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
        try:
            body = inflater.decompress(body, limit + 1)
        except zlib.error as exc:
            raise ValueError(f"invalid gzip body: {exc}") from None
        if len(body) > limit or inflater.unconsumed_tail:
            raise BodyTooLarge
    return body


def _error(status: int, message: str, **headers: str) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status, headers=headers or None)


async def ingest_mentions(request: Request) -> JSONResponse:
    runtime: Runtime | RoleRuntime = request.app.state.runtime
    token = runtime.ingest_token()
    if token is None:
        return _error(503, "ingest is disabled: no token configured (set CRISISWATCH_INGEST_TOKEN or "
                           "ingest.token in alerts.yaml)")
    if not authorized(request.headers.get("authorization"), token):
        return _error(401, "missing or wrong bearer token", **{"WWW-Authenticate": 'Bearer realm="crisiswatch"'})
    try:
        body = await read_limited(request)
        text = body.decode("utf-8")
        parsed = parse_body(text)
    except BodyTooLarge:
        return _error(413, f"body larger than {MAX_BODY} bytes (after decompression): split it into several requests")
    except UnicodeDecodeError:
        return _error(400, "body is not UTF-8 text")
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

"""The OpenAPI 3.1 document of the HTTP API (``GET /openapi.json``), written by hand."""

from __future__ import annotations

from typing import Any

from service import __version__
from service.api.ingest import MAX_BODY
from service.api.slack import ACTIONS
from service.domain import SourceKind

_ERROR = {"type": "object", "properties": {"error": {"type": "string"}}, "required": ["error"]}
_MENTION = {
    "type": "object", "required": ["id", "published_at", "text"],
    "properties": {
        "id": {"type": "string", "description": "stable id; the same id twice is one mention"},
        "published_at": {"type": "string", "format": "date-time",
                         "description": "ISO 8601 with an offset, from 1970-01-01 to before 3000-01-01 UTC"},
        "text": {"type": "string"}, "source": {"type": "string"},
        "kind": {"type": "string", "enum": [k.value for k in SourceKind]},
        "brand": {"type": "string"}, "lang": {"type": "string", "description": "ISO 639-1"},
        "author": {"type": "string"}, "url": {"type": "string"}, "title": {"type": "string"},
        "reach": {"type": "number", "minimum": 0}, "engagement": {"type": "number", "minimum": 0},
    },
}
_RECORD_ERRORS = {"type": "array", "items": {"type": "object", "properties": {
    "line": {"type": "integer", "description": "NDJSON line, or 1-based position in a JSON array"},
    "reason": {"type": "string"}}}}


def _json(schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _get(summary: str, schema: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"get": {"summary": summary, "responses": {"200": _json(schema, "OK")}, **extra}}


def openapi_document() -> dict[str, Any]:
    obj = {"type": "object"}
    ingest = {
        "summary": "Push mentions (DESIGN.md mention contract)",
        "security": [{"bearer": []}],
        "requestBody": {"required": True, "description": f"at most {MAX_BODY} bytes; gzip accepted",
                        "content": {"application/json": {"schema": {"type": "array", "items": _MENTION}},
                                    "application/x-ndjson": {"schema": _MENTION}}},
        "responses": {
            "202": _json({"type": "object", "properties": {
                "accepted": {"type": "integer"}, "rejected": {"type": "integer"}, "new": {"type": "integer"},
                "duplicates": {"type": "integer"}, "unattributed": {"type": "integer"},
                "queued": {"type": "integer"},
                "errors": _RECORD_ERRORS}}, "valid records ingested (or queued on the stream when scaled out); "
                                            "invalid ones listed"),
            "400": _json(_ERROR, "not JSON / NDJSON, a truncated or corrupt gzip body, a pretty-printed object, "
                                 "or no valid record"),
            "401": _json(_ERROR, "missing or wrong bearer token"),
            "413": _json(_ERROR, "body too large"),
            "415": _json(_ERROR, "unsupported Content-Encoding (gzip or identity only), a multipart form, or a "
                                 "charset other than UTF-8"),
            "503": _json(_ERROR, "ingest disabled: no token configured, or store unreachable (Retry-After)"),
        },
    }
    slack = {
        "summary": "Slack interactive buttons (signed with SLACK_SIGNING_SECRET, v0 scheme)",
        "description": f"block_actions payload; action_id one of {', '.join(ACTIONS)}, value = incident id",
        "requestBody": {"content": {"application/x-www-form-urlencoded": {"schema": {
            "type": "object", "properties": {"payload": {"type": "string"}}}}}},
        "responses": {"200": _json(obj, "action recorded (ok) or refused (ok false)"),
                      "401": _json(_ERROR, "bad signature or stale timestamp"),
                      "503": _json(_ERROR, "no signing secret configured")},
    }
    series_params = [{"name": "brand", "in": "path", "required": True, "schema": {"type": "string"}},
                     {"name": "range", "in": "query", "schema": {"type": "string", "enum": ["24h", "7d"]}}]
    incidents_params = [{"name": "state", "in": "query", "schema": {"type": "string", "enum": ["open", "all"]}},
                        {"name": "limit", "in": "query", "schema": {"type": "integer", "maximum": 500}}]
    return {
        "openapi": "3.1.0",
        "info": {"title": "crisiswatch", "version": __version__,
                 "description": "Crisis-detection alerting for brands: ingest, health, metrics, dashboard data."},
        "components": {"securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
                       "schemas": {"Mention": _MENTION, "Error": _ERROR}},
        "paths": {
            "/healthz": _get("Liveness", obj),
            "/readyz": {"get": {"summary": "Readiness: store reachable, scheduler running, config loaded",
                                "responses": {"200": _json(obj, "ready"), "503": _json(obj, "not ready")}}},
            "/metrics": {"get": {"summary": "Prometheus metrics", "responses": {"200": {
                "description": "text exposition format", "content": {"text/plain": {"schema": {"type": "string"}}}}}}},
            "/v1/mentions": {"post": ingest},
            "/slack/actions": {"post": slack},
            "/api/brands": _get("Brands with 24 h volume, negativity and open incident", {"type": "array"}),
            "/api/brands/{brand}/series": _get("Volume and negativity series with baseline band and alert markers",
                                               obj, parameters=series_params),
            "/api/incidents": _get("Incidents with their timelines, most recent first", {"type": "array"},
                                   parameters=incidents_params),
            "/api/sources": _get("Source health", {"type": "array"}),
            "/openapi.json": _get("This document", obj),
        },
    }

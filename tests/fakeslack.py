"""A small fake Slack Web API for tests: the real slack-sdk talks to it over HTTP on 127.0.0.1.

Implements ``chat.postMessage``, ``chat.update``, ``auth.test``, ``conversations.history``,
``conversations.replies`` and ``conversations.list`` (with message metadata when
``include_all_metadata`` is true, newest first / thread order, ``limit`` and ``cursor`` paging), an
incoming-webhook path and the three steps of ``files_upload_v2`` (``files.getUploadURLExternal``, the
upload URL, ``files.completeUploadExternal``). It checks the bearer token (``invalid_auth`` / ``not_authed``,
answered with HTTP 200 like Slack) and its scopes like Slack does for a bot token (``fake.scopes``, every
scope crisiswatch documents by default; a method called without its scope answers ``missing_scope`` with
``needed`` and ``provided``; every answer to the token carries the ``X-OAuth-Scopes`` header; channels named
in ``fake.private_channels`` need the ``groups:*`` scopes instead of ``channels:*``), validates Block Kit
limits (``invalid_blocks`` for more than 50 blocks, section text over 3,000 characters, header over 150, ...),
keeps the messages per channel, records every call, and injects failures on demand::

    fake.rate_limit(times=2, retry_after=7)      # HTTP 429 + Retry-After
    fake.fail(times=3, status=500)               # HTTP 5xx
    fake.error("channel_not_found")              # HTTP 200 {"ok": false, "error": ...}
    fake.stall(seconds=1.0)                      # answer late (client timeouts)
    fake.down(); ...; fake.up()                  # connection refused, then back on the same port

Use the ``fake_slack`` fixture: ``from tests.fakeslack import fake_slack_fixture  # noqa: F401`` and
take a ``fake_slack`` argument (``from tests.fakeslack import fake_slack`` works too, but ruff then
reports F811 on every test that takes the argument).
"""

from __future__ import annotations

import itertools
import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pytest

TOKEN = "xoxb-fake-token"
WEBHOOK_PATH = "/services/T0FAKE/B0FAKE/fakewebhooksecret"
DOCUMENTED_SCOPES = frozenset({"chat:write", "files:write", "channels:history", "groups:history", "channels:read",
                               "groups:read"})
"""The bot scopes the README lists (the fake's default grant)."""
METHOD_SCOPES = {
    "chat.postMessage": ("chat:write", "chat:write"),
    "chat.update": ("chat:write", "chat:write"),
    "files.getUploadURLExternal": ("files:write", "files:write"),
    "files.completeUploadExternal": ("files:write", "files:write"),
    "conversations.history": ("channels:history", "groups:history"),
    "conversations.replies": ("channels:history", "groups:history"),
}
"""Web API method -> the bot scope it needs (in a public channel, in a private one), from Slack's method
reference; ``conversations.list`` needs ``channels:read`` / ``groups:read`` per requested type, ``auth.test``
nothing."""
BLOCK_TYPES = frozenset(
    {"section", "header", "divider", "context", "actions", "image", "rich_text", "input", "file", "video",
     "markdown"}
)


@dataclass(frozen=True, kw_only=True)
class Call:
    """One request the fake received. ``method`` is the Web API method, ``"webhook"`` or ``"upload"``."""

    method: str
    body: dict[str, Any]
    token: str | None
    status: int
    ok: bool
    error: str | None = None


@dataclass(kw_only=True)
class Message:
    channel: str
    ts: str
    text: str | None
    blocks: list[dict[str, Any]] | None
    thread_ts: str | None = None
    metadata: dict[str, Any] | None = None
    edits: int = 0


@dataclass(kw_only=True)
class _Fault:
    kind: str  # "status" | "error" | "stall"
    remaining: int
    method: str | None
    status: int = 200
    error: str | None = None
    retry_after: int | str | None = None
    seconds: float = 0.0


@dataclass(kw_only=True)
class _Reply:
    status: int
    body: dict[str, Any] | str
    headers: dict[str, str] = field(default_factory=dict)


class FakeSlack:
    """The fake server. Thread-safe; start with :meth:`start`, stop with :meth:`stop`."""

    def __init__(self, *, token: str = TOKEN, webhook_path: str = WEBHOOK_PATH,
                 scopes: frozenset[str] | set[str] = DOCUMENTED_SCOPES) -> None:
        self.token = token
        self.scopes: set[str] = set(scopes)
        self.private_channels: set[str] = set()
        """Names of private channels (their ids start with ``G``)."""
        self.scopes_header = True
        """Send ``X-OAuth-Scopes`` (``False``: like a proxy that drops it, the scopes stay unknown)."""
        self.webhook_path = webhook_path
        self.calls: list[Call] = []
        self.messages: list[Message] = []
        self.files: dict[str, dict[str, Any]] = {}
        self.channels: dict[str, str] = {}
        self.unknown_channels: set[str] = set()
        self._faults: list[_Fault] = []
        self._lock = threading.Lock()
        self._ids = itertools.count(1)
        self._release = threading.Event()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self.port = 0

    # -- lifecycle ---------------------------------------------------------------------------------
    def start(self) -> FakeSlack:
        self._server = _Server(("127.0.0.1", self.port), _Handler)
        self._server.fake = self  # type: ignore[attr-defined]
        self.port = self._server.server_address[1]
        self._release.clear()
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.05,), name="fakeslack",
                                        daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._release.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._server = self._thread = None

    def down(self) -> None:
        """Stop listening: clients get "connection refused" until :meth:`up`."""
        self.stop()

    def up(self) -> None:
        """Listen again on the same port."""
        self.start()

    @property
    def api_url(self) -> str:
        """Base URL for ``WebClient(base_url=...)`` / ``SLACK_API_URL``."""
        return f"http://127.0.0.1:{self.port}/api/"

    @property
    def webhook_url(self) -> str:
        return f"http://127.0.0.1:{self.port}{self.webhook_path}"

    # -- failure injection -------------------------------------------------------------------------
    def rate_limit(self, times: int = 1, *, retry_after: int | str = 1, method: str | None = None) -> None:
        self._add(_Fault(kind="status", remaining=times, method=method, status=429, error="ratelimited",
                         retry_after=retry_after))

    def fail(self, times: int = 1, *, status: int = 500, method: str | None = None) -> None:
        self._add(_Fault(kind="status", remaining=times, method=method, status=status))

    def error(self, code: str, *, times: int = 1, method: str | None = None) -> None:
        self._add(_Fault(kind="error", remaining=times, method=method, error=code))

    def stall(self, seconds: float, *, times: int = 1, method: str | None = None) -> None:
        self._add(_Fault(kind="stall", remaining=times, method=method, seconds=seconds))

    def _add(self, fault: _Fault) -> None:
        with self._lock:
            self._faults.append(fault)

    def _take_fault(self, method: str) -> _Fault | None:
        with self._lock:
            for fault in self._faults:
                if fault.remaining > 0 and fault.method in (None, method):
                    fault.remaining -= 1
                    return fault
        return None

    # -- assertions helpers ------------------------------------------------------------------------
    def calls_to(self, method: str, *, ok_only: bool = True) -> list[Call]:
        with self._lock:
            return [call for call in self.calls if call.method == method and (call.ok or not ok_only)]

    def top_level(self, channel: str | None = None) -> list[Message]:
        """Messages that are not thread replies (in ``channel`` id when given)."""
        return [m for m in self.messages if m.thread_ts is None and channel in (None, m.channel)]

    def thread(self, channel: str, ts: str) -> list[Message]:
        return [m for m in self.messages if m.channel == channel and m.thread_ts == ts]

    def channel_id(self, name: str) -> str:
        """The id the fake gives channel ``name`` (``#x``, ``x`` or an id)."""
        name = name.removeprefix("#")
        if name[:1] in ("C", "G", "D") and name[1:].isalnum() and name.isupper():
            return name
        with self._lock:
            prefix = "G" if name in self.private_channels else "C"
            return self.channels.setdefault(name, f"{prefix}{len(self.channels) + 1:08d}")

    # -- request handling (called from server threads) ---------------------------------------------
    def handle(self, path: str, headers: Any, raw: bytes) -> _Reply:
        route = urlsplit(path).path
        if route == self.webhook_path or route.startswith("/services/"):
            method = "webhook"
        elif route.startswith("/upload/"):
            method = "upload"
        else:
            method = route.removeprefix("/api/")
        body = _parse_body(headers.get("Content-Type", ""), raw) if method != "upload" else {"size": len(raw)}
        token = _bearer(headers.get("Authorization"))
        reply = self._fault_reply(method) or self._dispatch(method, route, token, body, raw)
        if self.scopes_header and method not in ("webhook", "upload") and token == self.token:  # like Slack
            reply.headers.setdefault("X-OAuth-Scopes", ",".join(sorted(self.scopes)))
        ok = reply.status == 200 and (reply.body == "ok" or (isinstance(reply.body, dict) and reply.body.get("ok")))
        error = reply.body.get("error") if isinstance(reply.body, dict) else (None if ok else reply.body)
        with self._lock:
            self.calls.append(Call(method=method, body=body, token=token, status=reply.status, ok=bool(ok),
                                   error=error))
        return reply

    def _fault_reply(self, method: str) -> _Reply | None:
        fault = self._take_fault(method)
        if fault is None:
            return None
        if fault.kind == "stall":
            self._release.wait(fault.seconds)
            return None
        if fault.kind == "error":
            return _Reply(status=200, body={"ok": False, "error": fault.error})
        headers = {"Retry-After": str(fault.retry_after)} if fault.retry_after is not None else {}
        if fault.status == 429:
            return _Reply(status=429, body={"ok": False, "error": "ratelimited"}, headers=headers)
        return _Reply(status=fault.status, body="Internal Server Error" if fault.status >= 500 else "error")

    def _dispatch(self, method: str, route: str, token: str | None, body: dict[str, Any], raw: bytes) -> _Reply:
        if method == "webhook":
            return self._webhook(route, body)
        if method == "upload":
            return self._upload(route, raw)
        if token is None:
            return _api_error("not_authed")
        if token != self.token:
            return _api_error("invalid_auth")
        handlers = {
            "auth.test": self._auth_test,
            "chat.postMessage": self._post_message,
            "chat.update": self._update,
            "files.getUploadURLExternal": self._get_upload_url,
            "files.completeUploadExternal": self._complete_upload,
            "conversations.history": self._history,
            "conversations.replies": self._replies,
            "conversations.list": self._list,
        }
        handler = handlers.get(method)
        if handler is None:
            return _api_error("unknown_method")
        return self._scope_problem(method, body) or handler(body)

    def _scope_problem(self, method: str, body: dict[str, Any]) -> _Reply | None:
        if method == "conversations.list":
            kinds = str(body.get("types") or "public_channel").split(",")
            needed = [scope for kind, scope in (("public_channel", "channels:read"), ("private_channel", "groups:read"))
                      if kind in kinds]
        elif method in METHOD_SCOPES:
            public, private = METHOD_SCOPES[method]
            channel = str(body.get("channel") or body.get("channel_id") or "").removeprefix("#")
            is_private = channel.startswith("G") or channel in self.private_channels
            needed = [private if is_private else public]
        else:
            needed = []
        for scope in needed:
            if scope not in self.scopes:
                return _Reply(status=200, body={"ok": False, "error": "missing_scope", "needed": scope,
                                                "provided": ",".join(sorted(self.scopes))})
        return None

    def _auth_test(self, body: dict[str, Any]) -> _Reply:
        return _ok({"url": "https://fake.slack.com/", "team": "Fake", "user": "crisiswatch", "team_id": "T0FAKE",
                    "user_id": "U0FAKE", "bot_id": "B0FAKE"})

    def _post_message(self, body: dict[str, Any]) -> _Reply:
        problem = self._message_problem(body)
        if problem:
            return problem
        channel = self.channel_id(str(body["channel"]))
        thread_ts = body.get("thread_ts")
        if thread_ts and not any(m.channel == channel and m.ts == thread_ts for m in self.messages):
            return _api_error("thread_not_found")
        ts = f"1700000000.{next(self._ids):06d}"
        with self._lock:
            self.messages.append(Message(channel=channel, ts=ts, text=body.get("text"), blocks=_blocks(body),
                                         thread_ts=thread_ts, metadata=body.get("metadata")))
        return _ok({"channel": channel, "ts": ts, "message": {"text": body.get("text"), "ts": ts}})

    def _update(self, body: dict[str, Any]) -> _Reply:
        problem = self._message_problem(body)
        if problem:
            return problem
        channel = self.channel_id(str(body["channel"]))
        with self._lock:
            found = [m for m in self.messages if m.channel == channel and m.ts == body.get("ts")]
            if not found:
                return _api_error("message_not_found")
            found[0].text, found[0].blocks = body.get("text"), _blocks(body)
            found[0].metadata = body.get("metadata", found[0].metadata)
            found[0].edits += 1
        return _ok({"channel": channel, "ts": body["ts"], "text": body.get("text")})

    def _history(self, body: dict[str, Any]) -> _Reply:
        channel = str(body.get("channel") or "")
        with self._lock:
            known = channel in self.channels.values() or any(m.channel == channel for m in self.messages)
            found = [m for m in self.messages if m.channel == channel and m.thread_ts is None]
        if not known:
            return _api_error("channel_not_found")  # like Slack: ids only, not "#name"
        found.sort(key=lambda m: m.ts, reverse=True)
        return _page(found, body, lambda m: _listed(m, body))

    def _replies(self, body: dict[str, Any]) -> _Reply:
        channel, ts = str(body.get("channel") or ""), str(body.get("ts") or "")
        with self._lock:
            parent = [m for m in self.messages if m.channel == channel and m.ts == ts and m.thread_ts is None]
            replies = [m for m in self.messages if m.channel == channel and m.thread_ts == ts]
        if not parent:
            return _api_error("thread_not_found")
        return _page(parent + sorted(replies, key=lambda m: m.ts), body, lambda m: _listed(m, body))

    def _list(self, body: dict[str, Any]) -> _Reply:
        kinds = str(body.get("types") or "public_channel").split(",")
        with self._lock:
            channels = [{"id": cid, "name": name, "is_channel": True, "is_private": cid.startswith("G")}
                        for name, cid in self.channels.items()
                        if ("private_channel" if cid.startswith("G") else "public_channel") in kinds]
        return _page(channels, body, lambda c: c, key="channels")

    def _message_problem(self, body: dict[str, Any]) -> _Reply | None:
        channel = str(body.get("channel") or "")
        if not channel or channel.removeprefix("#") in self.unknown_channels:
            return _api_error("channel_not_found")
        return _content_problem(body)

    def _webhook(self, route: str, body: dict[str, Any]) -> _Reply:
        if route != self.webhook_path:
            return _Reply(status=404, body="no_service")
        problem = _content_problem(body)
        if problem:
            return _Reply(status=400, body=str(problem.body["error"]) if isinstance(problem.body, dict) else "bad")
        ts = f"1700000000.{next(self._ids):06d}"
        with self._lock:
            self.messages.append(Message(channel="webhook", ts=ts, text=body.get("text"), blocks=_blocks(body)))
        return _Reply(status=200, body="ok")

    def _get_upload_url(self, body: dict[str, Any]) -> _Reply:
        if not body.get("filename") or not str(body.get("length", "")).isdigit():
            return _api_error("invalid_arguments")
        file_id = f"F{next(self._ids):08d}"
        with self._lock:
            self.files[file_id] = {"filename": body["filename"], "length": int(body["length"]), "data": None}
        return _ok({"upload_url": f"http://127.0.0.1:{self.port}/upload/v1/{file_id}", "file_id": file_id})

    def _upload(self, route: str, raw: bytes) -> _Reply:
        file_id = route.rsplit("/", 1)[-1]
        with self._lock:
            if file_id not in self.files:
                return _Reply(status=404, body="not found")
            self.files[file_id]["data"] = raw
        return _Reply(status=200, body=f"OK - {len(raw)}")

    def _complete_upload(self, body: dict[str, Any]) -> _Reply:
        try:
            items = json.loads(body.get("files", "[]"))
        except ValueError:
            return _api_error("invalid_arguments")
        done = []
        with self._lock:
            for item in items:
                stored = self.files.get(item.get("id"))
                if stored is None or stored["data"] is None:
                    return _api_error("file_not_found")
                stored.update(title=item.get("title"), channel=body.get("channel_id"),
                              thread_ts=body.get("thread_ts"), initial_comment=body.get("initial_comment"))
                done.append({"id": item["id"], "title": item.get("title"), "name": stored["filename"],
                             "size": len(stored["data"])})
        return _ok({"files": done})


def block_kit_errors(blocks: Any) -> list[str]:
    """Slack-like validation of a ``blocks`` array: the messages Slack puts in ``errors``."""
    if not isinstance(blocks, list):
        return ["must be an array [json-pointer:/blocks]"]
    errors = ["must be less than 51 items [json-pointer:/blocks]"] if len(blocks) > 50 else []
    block_ids: set[str] = set()
    for index, block in enumerate(blocks):
        where = f"/blocks/{index}"
        if not isinstance(block, dict) or block.get("type") not in BLOCK_TYPES:
            errors.append(f"unsupported type [json-pointer:{where}/type]")
            continue
        block_id = block.get("block_id")
        if block_id is not None:
            if len(str(block_id)) > 255 or block_id in block_ids:
                errors.append(f"invalid or duplicate block_id [json-pointer:{where}/block_id]")
            block_ids.add(block_id)
        errors += _block_errors(block, where)
    return errors


def _block_errors(block: dict[str, Any], where: str) -> list[str]:
    kind = block["type"]
    errors: list[str] = []
    if kind == "section":
        if "text" not in block and "fields" not in block:
            errors.append(f"must provide text or fields [json-pointer:{where}]")
        if "text" in block:
            errors += _text_errors(block["text"], f"{where}/text", 3000)
        fields = block.get("fields", [])
        if len(fields) > 10:
            errors.append(f"must be less than 11 items [json-pointer:{where}/fields]")
        for i, item in enumerate(fields):
            errors += _text_errors(item, f"{where}/fields/{i}", 2000)
    elif kind == "header":
        errors += _text_errors(block.get("text"), f"{where}/text", 150, plain_only=True)
    elif kind == "context":
        elements = block.get("elements", [])
        if not 1 <= len(elements) <= 10:
            errors.append(f"must have 1 to 10 items [json-pointer:{where}/elements]")
        for i, item in enumerate(elements):
            if isinstance(item, dict) and item.get("type") != "image":
                errors += _text_errors(item, f"{where}/elements/{i}", 3000)
    elif kind == "actions" and not 1 <= len(block.get("elements", [])) <= 25:
        errors.append(f"must have 1 to 25 items [json-pointer:{where}/elements]")
    return errors


def _text_errors(obj: Any, where: str, limit: int, *, plain_only: bool = False) -> list[str]:
    allowed = ("plain_text",) if plain_only else ("plain_text", "mrkdwn")
    if not isinstance(obj, dict) or obj.get("type") not in allowed:
        return [f"must be a valid text object [json-pointer:{where}/type]"]
    text = obj.get("text")
    if not isinstance(text, str) or not text:
        return [f"must be a non-empty string [json-pointer:{where}/text]"]
    if len(text) > limit:
        return [f"must be less than {limit + 1} characters [json-pointer:{where}/text]"]
    return []


def _content_problem(body: dict[str, Any]) -> _Reply | None:
    text, blocks = body.get("text"), _blocks(body)
    if not text and not blocks:
        return _api_error("no_text")
    if text and len(text) > 40000:
        return _api_error("msg_too_long")
    if blocks is not None:
        errors = block_kit_errors(blocks)
        if errors:
            return _Reply(status=200, body={"ok": False, "error": "invalid_blocks", "errors": errors,
                                            "response_metadata": {"messages": errors}})
    return None


def _blocks(body: dict[str, Any]) -> Any:
    blocks = body.get("blocks")
    if isinstance(blocks, str):  # form-encoded requests carry JSON strings
        try:
            return json.loads(blocks)
        except ValueError:
            return blocks
    return blocks


def _parse_body(content_type: str, raw: bytes) -> dict[str, Any]:
    text = raw.decode("utf-8", errors="replace")
    if "json" in content_type:
        try:
            data = json.loads(text or "{}")
        except ValueError:
            return {"_invalid_json": text}
        return data if isinstance(data, dict) else {"_json": data}
    return dict(parse_qsl(text, keep_blank_values=True))


def _bearer(header: str | None) -> str | None:
    if not header or not header.startswith("Bearer "):
        return None
    return header.removeprefix("Bearer ").strip() or None


def _listed(message: Message, body: dict[str, Any]) -> dict[str, Any]:
    item: dict[str, Any] = {"type": "message", "ts": message.ts, "text": message.text}
    if message.thread_ts:
        item["thread_ts"] = message.thread_ts
    if message.metadata and str(body.get("include_all_metadata", "")).lower() in ("1", "true"):
        item["metadata"] = message.metadata if isinstance(message.metadata, dict) else json.loads(message.metadata)
    return item


def _page(items: list[Any], body: dict[str, Any], show: Any, key: str = "messages") -> _Reply:
    """One page of ``items`` (``limit``, default 100; ``cursor`` = offset) in Slack's shape."""
    limit = int(body.get("limit") or 100)
    offset = int(body.get("cursor") or 0)
    chunk = items[offset:offset + limit]
    more = offset + limit < len(items)
    return _ok({key: [show(item) for item in chunk], "has_more": more,
                "response_metadata": {"next_cursor": str(offset + limit) if more else ""}})


def _ok(data: dict[str, Any]) -> _Reply:
    return _Reply(status=200, body={"ok": True, **data})


def _api_error(code: str) -> _Reply:
    return _Reply(status=200, body={"ok": False, "error": code})


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def handle_error(self, request: Any, client_address: Any) -> None:  # quiet: clients time out on purpose
        pass


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        reply = self.server.fake.handle(self.path, self.headers, raw)  # type: ignore[attr-defined]
        if isinstance(reply.body, dict):
            payload, content_type = json.dumps(reply.body).encode(), "application/json; charset=utf-8"
        else:
            payload, content_type = reply.body.encode(), "text/html; charset=utf-8"
        self.send_response(reply.status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(payload)))
        for name, value in reply.headers.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, format: str, *args: Any) -> None:  # keep test output clean
        pass


@pytest.fixture(name="fake_slack")
def fake_slack_fixture(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeSlack]:
    """A running :class:`FakeSlack`; proxies from the environment are cleared so clients reach it.

    Import ``fake_slack_fixture`` (ruff-clean: tests take the ``fake_slack`` argument without
    shadowing an import); ``fake_slack`` is the same object under the fixture's own name.
    """
    for name in ("HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy"):
        monkeypatch.delenv(name, raising=False)
    fake = FakeSlack().start()
    try:
        yield fake
    finally:
        fake.stop()


fake_slack = fake_slack_fixture

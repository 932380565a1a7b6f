"""``POST /slack/actions``: the buttons of an alert message (Acknowledge, Snooze 1 h, Resolve).

Every request is verified with Slack's v0 signing scheme (``SLACK_SIGNING_SECRET``): HMAC-SHA256 of
``v0:<timestamp>:<raw body>`` compared in constant time, and a timestamp older or newer than five
minutes is refused (replay protection). The action is recorded on the incident through the store and
added to its timeline. Buttons (rendered by :mod:`service.notify.blocks`) carry the incident id as
``value`` and one of its ``ACTION_*`` ids.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse

from service.api.ingest import BodyError, BodyTooLarge, read_limited
from service.incidents import acknowledge, resolve_manually, snooze
from service.notify.blocks import ACTION_ACKNOWLEDGE, ACTION_RESOLVE, ACTION_SNOOZE
from service.notify.gather import snooze_ref

if TYPE_CHECKING:
    from service.api.runtime import Runtime

log = logging.getLogger(__name__)

ACTIONS = (ACTION_ACKNOWLEDGE, ACTION_SNOOZE, ACTION_RESOLVE)
REPLAY_WINDOW = timedelta(minutes=5)
SNOOZE = timedelta(hours=1)
MAX_BODY = 64 * 1024


def signature(secret: str, timestamp: str, body: bytes) -> str:
    """Slack's v0 request signature.

    >>> signature("8f742231b10e8888abcd99yyyzzz85a5", "1531420618", b"token=xyz")[:12]
    'v0=7d1e505747'
    """
    base = b"v0:" + timestamp.encode() + b":" + body
    return "v0=" + hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()


def verify(secret: str, timestamp: str | None, given: str | None, body: bytes, now: datetime) -> str | None:
    """``None`` when the request is genuine and fresh, else why it is refused."""
    if not timestamp or not given:
        return "missing X-Slack-Request-Timestamp or X-Slack-Signature"
    try:
        sent = float(timestamp)
    except ValueError:
        return "malformed X-Slack-Request-Timestamp"
    if abs(now.timestamp() - sent) > REPLAY_WINDOW.total_seconds():
        return "request timestamp outside the five-minute window"
    if not hmac.compare_digest(signature(secret, timestamp, body).encode(), given.encode()):
        return "signature mismatch"
    return None


def _user(payload: dict[str, Any]) -> str:
    user = payload.get("user") or {}
    return str(user.get("username") or user.get("name") or user.get("id") or "someone")


def apply_action(runtime: Runtime, action: str, incident_id: str, user: str) -> tuple[bool, str]:
    """Record ``action`` on the incident; ``(done, message for the user)``.

    The incident changes through :mod:`service.incidents` and, when notifiers are configured, the
    dispatcher (which also notifies the action, so the Slack message shows it)."""
    now = runtime.clock.now()
    pipeline = runtime.pipeline
    with pipeline.lock:  # the detection tick reads and writes the same incident
        incident = runtime.store.incident(incident_id)
        if incident is None:
            return False, f"incident {incident_id} not found"
        if not incident.is_open:
            return False, f"incident {incident_id} is already resolved"
        if action == ACTION_ACKNOWLEDGE:
            acted = acknowledge(incident, user, now)
        elif action == ACTION_SNOOZE:
            acted = snooze(incident, user, now + SNOOZE, now=now)
        else:
            acted = resolve_manually(incident, user, now)
        if pipeline.dispatcher is not None:
            pipeline.dispatcher.apply_action(acted, now)
        else:
            runtime.store.save_incident(acted.incident)
            if acted.snoozed_until is not None:
                runtime.store.set_ref(snooze_ref(incident_id), acted.snoozed_until.isoformat())
        pipeline.incident_changed(incident.brand)
    event: dict[str, Any] = {"at": now.isoformat(), "kind": "action", "action": str(acted.action), "by": user}
    if acted.snoozed_until is not None:
        event["until"] = acted.snoozed_until.isoformat()
    runtime.timeline.add(incident_id, event)
    message = f"{incident_id}: {acted.alert.summary.split(': ', 1)[-1]}"
    log.info("slack action: %s", message)
    return True, message


async def slack_actions(request: Request) -> JSONResponse:
    runtime: Runtime = request.app.state.runtime
    secret = runtime.signing_secret()
    if secret is None:
        return JSONResponse({"error": "Slack actions are disabled: set SLACK_SIGNING_SECRET"}, status_code=503)
    try:
        body = await read_limited(request, MAX_BODY)
    except BodyTooLarge:
        return JSONResponse({"error": "body too large"}, status_code=413)
    except BodyError as exc:  # corrupt or truncated gzip (400), a Content-Encoding other than gzip (415)
        return JSONResponse({"error": str(exc)}, status_code=exc.status)
    refused = verify(secret, request.headers.get("x-slack-request-timestamp"),
                     request.headers.get("x-slack-signature"), body, runtime.clock.now())
    if refused is not None:
        runtime.metrics.slack_actions.labels("unknown", "refused").inc()
        log.warning("slack action refused: %s", refused)
        return JSONResponse({"error": refused}, status_code=401)
    try:
        payload = json.loads(parse_qs(body.decode("utf-8")).get("payload", [""])[0])
        actions = payload.get("actions") or []
        action, incident_id = str(actions[0]["action_id"]), str(actions[0]["value"])
    except (ValueError, KeyError, IndexError, TypeError, AttributeError):
        return JSONResponse({"error": "expected a block_actions payload with one action"}, status_code=400)
    if action not in ACTIONS:
        return JSONResponse({"error": f"unknown action {action!r}"}, status_code=400)
    done, message = await run_in_threadpool(apply_action, runtime, action, incident_id, _user(payload))
    runtime.metrics.slack_actions.labels(action, "ok" if done else "rejected").inc()
    return JSONResponse({"ok": done, "text": message, "response_type": "ephemeral"})

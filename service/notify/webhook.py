"""The generic webhook notifier: one signed JSON ``POST`` per alert event to a team's URL.

Body (UTF-8 JSON)::

    {"version": 1, "receiver": "<team>", "key": "<outbox key, unique per notification>",
     "alert": {<the replay --json record: at, brand, incident_id, state, severity, ...>},
     "context": {"acknowledged_by", "snoozed_until", "action", "actor", "top_terms"}}

Headers: ``X-Crisiswatch-Timestamp`` (Unix seconds of the attempt, from the dispatcher's clock: a
delayed or retried notification is signed when it is sent, not when the alert happened), ``X-Crisiswatch-Key`` (the
idempotency key: a receiver that sees it twice can drop the second copy) and, when the team has a
``secret``, ``X-Crisiswatch-Signature: sha256=<hex HMAC-SHA256 of "<timestamp>.<raw body>">``
(Stripe's scheme: verify with the same secret in constant time, refuse stale timestamps).

Errors are translated here: network errors, timeouts, 429 (``Retry-After`` honoured), 408 and 5xx
are retryable; other answers are not. The URL and the secret never appear in errors or logs.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Mapping
from typing import Any

import httpx

from service.config import WebhookConfig
from service.domain import Alert
from service.notify.base import DeliveryError, Target, retry_after_seconds
from service.notify.delivery import Delivery

SIGNATURE_HEADER = "X-Crisiswatch-Signature"
TIMESTAMP_HEADER = "X-Crisiswatch-Timestamp"
KEY_HEADER = "X-Crisiswatch-Key"


def sign(secret: str, timestamp: str, body: bytes) -> str:
    """The signature header value.

    >>> sign("s3cret", "1264032000", b'{"a":1}')[:20]
    'sha256=cd68a8a1016de'
    """
    digest = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


def body_of(delivery: Delivery) -> bytes:
    context = delivery.context
    record: dict[str, Any] = {
        "version": 1, "receiver": delivery.target.receiver, "key": delivery.key, "alert": delivery.alert.to_record(),
        "context": {"acknowledged_by": context.acknowledged_by,
                    "snoozed_until": context.snoozed_until.isoformat() if context.snoozed_until else None,
                    "action": context.action, "actor": context.actor, "top_terms": list(context.top_terms)},
    }
    return json.dumps(record, ensure_ascii=False, separators=(",", ":")).encode()


class WebhookNotifier:
    """Posts to each team's ``webhook`` (alerts.yaml ``teams.<name>.webhook: {url, secret}``)."""

    name = "webhook"

    def __init__(self, hooks: Mapping[str, WebhookConfig], *, client: httpx.Client | None = None,
                 timeout: float = 10.0) -> None:
        self.hooks = dict(hooks)
        self.client = client or httpx.Client(timeout=timeout, follow_redirects=False)

    def send(self, alert: Alert, target: Target, thread_ref: str | None) -> str | None:
        return self.deliver(Delivery(alert=alert, target=target, thread_ref=thread_ref))

    def deliver(self, delivery: Delivery) -> str | None:
        hook = self.hooks.get(delivery.target.receiver)
        if hook is None:
            raise DeliveryError(f"team {delivery.target.receiver!r} has no webhook configured", retryable=False)
        body = body_of(delivery)
        timestamp = str(int((delivery.sent_at or delivery.alert.at).timestamp()))
        headers = {"Content-Type": "application/json", TIMESTAMP_HEADER: timestamp,
                   KEY_HEADER: delivery.key or f"{delivery.alert.incident_id}#{delivery.alert.sequence}",
                   "User-Agent": "crisiswatch-webhook/1"}
        if hook.secret is not None:
            headers[SIGNATURE_HEADER] = sign(hook.secret.reveal(), timestamp, body)
        try:
            response = self.client.post(hook.url.reveal(), content=body, headers=headers)
        except httpx.TimeoutException as exc:
            raise DeliveryError(f"webhook of {delivery.target.receiver} timed out", retryable=True) from exc
        except httpx.HTTPError as exc:
            raise DeliveryError(f"webhook of {delivery.target.receiver} unreachable: {type(exc).__name__}",
                                retryable=True) from exc
        status = response.status_code
        if 200 <= status < 300:
            return None
        retry_after = retry_after_seconds(response.headers.get("Retry-After"))
        retryable = status in (408, 429) or status >= 500
        raise DeliveryError(f"webhook of {delivery.target.receiver} answered HTTP {status}", retryable=retryable,
                            retry_after=retry_after if status == 429 else None)

    def close(self) -> None:
        self.client.close()

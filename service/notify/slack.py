"""Slack delivery through slack-sdk: one message per incident, updated in place, with a thread.

Bot-token mode (``token`` set): the first alert of an incident is posted with ``chat.postMessage``
and its reference ``"<channel id>:<ts>"`` is returned (the channel id Slack answered with, so later
calls work even when the target names the channel ``#crisis-comms``). Each later alert edits that
message with ``chat.update`` and posts a compact reply in its thread (``thread_ts``); if the message
was deleted meanwhile, a new one is posted and its reference returned instead. The main message
carries Slack message metadata (``crisiswatch_incident`` with the incident id).

Webhook mode (only ``webhook_url`` set; a token wins when both are): each alert is one message to
the incoming webhook; there is no threading, so ``send`` returns ``None``.

slack-sdk's own retry handlers are disabled (the outbox retries with backoff) and every request has
a timeout. Library errors are translated here, once, into :class:`DeliveryError`:

- HTTP 429 / ``ratelimited`` -> retryable, ``retry_after`` from the ``Retry-After`` header;
- HTTP 5xx, Slack's transient errors (``internal_error``, ``fatal_error``, ``service_unavailable``,
  ``request_timeout``), connection errors and timeouts -> retryable;
- everything else (``invalid_auth``, ``channel_not_found``, ``not_in_channel``, ``account_inactive``,
  ``invalid_blocks``, other 4xx, unexpected exceptions) -> not retryable: the operator must act.

Secrets (token, webhook URL) never appear in messages or logs written here.
"""

from __future__ import annotations

import http.client
import logging
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError
from slack_sdk.webhook import WebhookClient

from service.domain import Alert
from service.notify.base import DeliveryError, Target
from service.notify.blocks import render_alert, render_thread_reply

log = logging.getLogger(__name__)

TRANSIENT_ERRORS = frozenset({"ratelimited", "internal_error", "fatal_error", "service_unavailable", "request_timeout"})
MESSAGE_GONE_ERRORS = frozenset({"message_not_found", "cant_update_message"})
DEFAULT_RETRY_AFTER = 1.0


class SlackNotifier:
    """The Slack :class:`~service.notify.base.Notifier` (bot token or incoming webhook)."""

    name = "slack"

    def __init__(
        self,
        *,
        token: str | None,
        webhook_url: str | None,
        base_url: str | None = None,
        timeout: float = 10.0,
    ) -> None:
        if not token and not webhook_url:
            raise ValueError("Slack needs a bot token or an incoming webhook URL")
        self._web: WebClient | None = None
        self._webhook: WebhookClient | None = None
        if token:
            options: dict[str, Any] = {"base_url": base_url} if base_url else {}
            self._web = WebClient(token=token, timeout=timeout, retry_handlers=[], **options)  # type: ignore[arg-type]
        else:
            self._webhook = WebhookClient(url=webhook_url, timeout=timeout, retry_handlers=[])  # type: ignore[arg-type]

    @property
    def mode(self) -> str:
        """``"bot"`` or ``"webhook"``."""
        return "bot" if self._web is not None else "webhook"

    def send(self, alert: Alert, target: Target, thread_ref: str | None) -> str | None:
        try:
            if self._web is None:
                return self._send_webhook(alert, target)
            return self._send_bot(self._web, alert, target, thread_ref)
        except DeliveryError:
            raise
        except SlackApiError as exc:
            raise _api_error(exc) from exc
        except (OSError, http.client.HTTPException) as exc:  # URLError, refused, reset, timeouts
            raise DeliveryError(f"Slack unreachable: {_describe(exc)}", retryable=True) from exc
        except SlackClientError as exc:
            raise DeliveryError(f"Slack client error: {type(exc).__name__}", retryable=False) from exc
        except Exception as exc:  # the contract: never raise anything but DeliveryError
            raise DeliveryError(f"unexpected error sending to Slack: {type(exc).__name__}", retryable=False) from exc

    def _send_bot(self, web: WebClient, alert: Alert, target: Target, thread_ref: str | None) -> str:
        if not target.channel:
            raise DeliveryError(f"receiver {target.receiver!r} has no Slack channel", retryable=False)
        message = render_alert(alert, target)
        metadata = incident_metadata(alert)
        if thread_ref is None:
            return self._post_new(web, target.channel, message, metadata)
        channel, ts = parse_ref(thread_ref, default_channel=target.channel)
        try:
            web.chat_update(channel=channel, ts=ts, metadata=metadata, **message)
        except SlackApiError as exc:
            if _error_code(exc) not in MESSAGE_GONE_ERRORS:
                raise
            log.warning("slack message %s of incident %s is gone; posting a new one", ts, alert.incident_id)
            return self._post_new(web, target.channel, message, metadata)
        reply = render_thread_reply(alert, target)
        web.chat_postMessage(channel=channel, thread_ts=ts, unfurl_links=False, unfurl_media=False, **reply)
        return thread_ref

    @staticmethod
    def _post_new(web: WebClient, channel: str, message: dict[str, Any], metadata: dict[str, Any]) -> str:
        response = web.chat_postMessage(channel=channel, unfurl_links=False, unfurl_media=False, metadata=metadata,
                                        **message)
        answered_channel, ts = response.get("channel") or channel, response.get("ts")
        if not ts:
            raise DeliveryError("Slack accepted the message but returned no ts", retryable=False)
        return format_ref(str(answered_channel), str(ts))

    def _send_webhook(self, alert: Alert, target: Target) -> None:
        assert self._webhook is not None
        message = render_alert(alert, target)
        response = self._webhook.send(text=message["text"], blocks=message["blocks"], unfurl_links=False)
        status = response.status_code
        if status == 200:
            return None
        body = (response.body or "").strip()[:100]
        if status == 429:
            retry_after = _retry_after(response.headers)
            raise DeliveryError(f"Slack webhook rate limited (429, {body})", retryable=True, retry_after=retry_after)
        retryable = status >= 500
        raise DeliveryError(f"Slack webhook answered {status}: {body or 'no body'}", retryable=retryable)


def incident_metadata(alert: Alert) -> dict[str, Any]:
    """Slack message metadata naming the incident, so the message can be found again in the channel
    (``conversations.history`` with ``include_all_metadata``) if its reference was ever lost."""
    return {
        "event_type": "crisiswatch_incident",
        "event_payload": {"incident_id": alert.incident_id, "brand": alert.brand, "state": str(alert.state),
                          "severity": str(alert.severity)},
    }


def format_ref(channel: str, ts: str) -> str:
    """The thread reference stored by the outbox: ``"<channel id>:<ts>"``."""
    return f"{channel}:{ts}"


def parse_ref(ref: str, *, default_channel: str) -> tuple[str, str]:
    """``(channel, ts)`` from a stored reference; a bare ``ts`` uses ``default_channel``.

    >>> parse_ref("C0123:1264032000.000100", default_channel="#x")
    ('C0123', '1264032000.000100')
    >>> parse_ref("1264032000.000100", default_channel="#x")
    ('#x', '1264032000.000100')
    """
    channel, sep, ts = ref.rpartition(":")
    return (channel, ts) if sep and channel else (default_channel, ref)


def _api_error(exc: SlackApiError) -> DeliveryError:
    status = exc.response.status_code
    code = _error_code(exc) or f"HTTP {status}"
    if status == 429 or code == "ratelimited":
        retry_after = _retry_after(exc.response.headers)
        return DeliveryError(f"Slack rate limited ({code})", retryable=True, retry_after=retry_after)
    retryable = status >= 500 or code in TRANSIENT_ERRORS
    return DeliveryError(f"Slack API error: {code} (HTTP {status})", retryable=retryable)


def _error_code(exc: SlackApiError) -> str | None:
    data = exc.response.data
    if isinstance(data, dict):
        code = data.get("error")
        return str(code)[:100] if code else None
    return None


def _retry_after(headers: Any) -> float:
    for name, value in dict(headers or {}).items():
        if str(name).lower() == "retry-after":
            raw = value[0] if isinstance(value, list) and value else value
            try:
                return max(0.0, float(raw))
            except (TypeError, ValueError):
                break
    return DEFAULT_RETRY_AFTER


def _describe(exc: BaseException) -> str:
    """A short description of a network error (urllib puts no URL in these messages)."""
    reason = getattr(exc, "reason", None)
    detail = reason if reason is not None else exc
    return f"{type(exc).__name__}: {detail}"[:200]

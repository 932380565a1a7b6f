"""Slack delivery through slack-sdk: one message per incident, updated in place, with a thread.

Bot-token mode (``token`` set): the first alert of an incident is posted with ``chat.postMessage``
and its reference ``"<channel id>:<ts>"`` is returned (the channel id Slack answered with, so later
calls work even when the target names the channel ``#crisis-comms``). Each later alert edits that
message with ``chat.update`` and posts a compact reply in its thread (``thread_ts``); if the message
was deleted meanwhile, a new one is posted (looked up first when an earlier attempt may have posted
it) and its reference returned instead. The main message carries Slack message metadata
(``crisiswatch_incident`` with the incident id).

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

``deliver`` (what the dispatcher calls) adds the :class:`~service.notify.context.AlertContext`: the
status and the Acknowledge / Snooze 1 h / Resolve buttons in bot mode, the top terms, and on firing
and escalation a PNG chart of volume and negativity uploaded with ``files_upload_v2`` into the
incident's thread (a failed upload is logged, never fails the delivery). Exactly-once posting: when
the dispatcher says an earlier attempt may have reached Slack (``maybe_sent``), the channel history
(``conversations.history`` with ``include_all_metadata``) is searched for the message carrying the
incident's metadata and its ``ts`` is reused instead of posting again; thread replies carry the
outbox key in their metadata and are looked up in ``conversations.replies`` the same way.
"""

from __future__ import annotations

import http.client
import logging
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError
from slack_sdk.webhook import WebhookClient

from service.domain import Alert, AlertState
from service.notify.base import DeliveryError, Target, retry_after_seconds
from service.notify.blocks import render_alert, render_thread_reply
from service.notify.context import AlertContext
from service.notify.delivery import Delivery

log = logging.getLogger(__name__)

TRANSIENT_ERRORS = frozenset({"ratelimited", "internal_error", "fatal_error", "service_unavailable", "request_timeout"})
MESSAGE_GONE_ERRORS = frozenset({"message_not_found", "cant_update_message"})
DEFAULT_RETRY_AFTER = 1.0
LOOKUP_PAGES = 3
"""Pages of 100 messages searched for a message that may have been posted before a crash."""
UPDATE_EVENT = "crisiswatch_update"


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
        self._channel_ids: dict[str, str] = {}
        """Channel name -> id, learnt from Slack's answers (history lookups need ids)."""

    @property
    def mode(self) -> str:
        """``"bot"`` or ``"webhook"``."""
        return "bot" if self._web is not None else "webhook"

    def send(self, alert: Alert, target: Target, thread_ref: str | None) -> str | None:
        """The plain contract: the message without context nor buttons."""
        return self.deliver(Delivery(alert=alert, target=target, thread_ref=thread_ref), interactive=False)

    def deliver(self, delivery: Delivery, *, interactive: bool = True) -> str | None:
        """Deliver with the alert's context (status, top terms, chart) and, in bot mode, the buttons."""
        try:
            if self._web is None:
                return self._send_webhook(delivery.alert, delivery.target, delivery.context)
            return _BotDelivery(self._web, delivery, self._channel_ids, interactive).run()
        except DeliveryError:
            raise
        except Exception as exc:  # the contract: never raise anything but DeliveryError
            raise delivery_error(exc) from exc

    def _send_webhook(self, alert: Alert, target: Target, context: AlertContext) -> None:
        assert self._webhook is not None
        message = render_alert(alert, target, context)
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


class _BotDelivery:
    """One delivery in bot-token mode (a short-lived object holding the request's facts)."""

    def __init__(self, web: WebClient, delivery: Delivery, channel_ids: dict[str, str], interactive: bool) -> None:
        self.web, self.d, self.channel_ids, self.interactive = web, delivery, channel_ids, interactive
        self.alert, self.target, self.context = delivery.alert, delivery.target, delivery.context

    def run(self) -> str:
        if not self.target.channel:
            raise DeliveryError(f"receiver {self.target.receiver!r} has no Slack channel", retryable=False)
        message = render_alert(self.alert, self.target, self.context, interactive=self.interactive)
        metadata = incident_metadata(self.alert)
        if self.d.thread_ref is None:
            return self._first(message, metadata)
        channel, ts = parse_ref(self.d.thread_ref, default_channel=self.target.channel)
        try:
            self.web.chat_update(channel=channel, ts=ts, metadata=metadata, **message)
        except SlackApiError as exc:
            if _error_code(exc) not in MESSAGE_GONE_ERRORS:
                raise
            log.warning("slack message %s of incident %s is gone; posting a new one", ts, self.alert.incident_id)
            return self._first(message, metadata)  # an earlier attempt may have posted it: looked up first
        self._reply(channel, ts)
        if self.alert.state is AlertState.ESCALATED:
            self._chart(channel, ts)
        return self.d.thread_ref

    def _first(self, message: dict[str, Any], metadata: dict[str, Any]) -> str:
        if self.d.maybe_sent:
            found = self._lookup(self._find_main, None)
            if found is not None:
                channel, ts = found
                log.info("slack message of incident %s was already posted (ts %s): reusing it",
                         self.alert.incident_id, ts)
                self.web.chat_update(channel=channel, ts=ts, metadata=metadata, **message)
                return format_ref(channel, ts)
        return self._post_new(message, metadata)

    def _post_new(self, message: dict[str, Any], metadata: dict[str, Any]) -> str:
        assert self.target.channel is not None
        response = self.web.chat_postMessage(channel=self.target.channel, unfurl_links=False, unfurl_media=False,
                                             metadata=metadata, **message)
        channel, ts = response.get("channel") or self.target.channel, response.get("ts")
        if not ts:
            raise DeliveryError("Slack accepted the message but returned no ts", retryable=False)
        self.channel_ids[self.target.channel.removeprefix("#")] = str(channel)
        if self.alert.state in (AlertState.FIRING, AlertState.ESCALATED):
            self._chart(str(channel), str(ts))
        return format_ref(str(channel), str(ts))

    def _reply(self, channel: str, ts: str) -> None:
        if self.d.maybe_sent and self.d.key and self._lookup(lambda: self._find_reply(channel, ts), False):
            log.info("thread reply %s was already posted: not posting it again", self.d.key)
            return
        reply = render_thread_reply(self.alert, self.target, self.context)
        metadata = {"event_type": UPDATE_EVENT,
                    "event_payload": {"incident_id": self.alert.incident_id, "key": self.d.key}}
        self.web.chat_postMessage(channel=channel, thread_ts=ts, unfurl_links=False, unfurl_media=False,
                                  metadata=metadata, **reply)

    def _lookup(self, find: Any, otherwise: Any) -> Any:
        """Run a look-up; a transient failure is raised (retry later), a permanent one (a missing
        ``channels:history`` scope...) is logged and the message is posted (at-least-once)."""
        try:
            return find()
        except SlackApiError as exc:
            error = _api_error(exc)
            if error.retryable:
                raise
            log.warning("cannot look up earlier Slack messages of incident %s (%s): posting, a duplicate is "
                        "possible", self.alert.incident_id, error)
            return otherwise

    def _find_main(self) -> tuple[str, str] | None:
        channel = self._channel_id()
        if channel is None:
            return None
        for message in self._pages("conversations_history", channel=channel):
            meta = message.get("metadata") or {}
            if (meta.get("event_type") == "crisiswatch_incident"
                    and (meta.get("event_payload") or {}).get("incident_id") == self.alert.incident_id):
                return channel, str(message["ts"])
        return None

    def _find_reply(self, channel: str, ts: str) -> bool:
        for message in self._pages("conversations_replies", channel=channel, ts=ts):
            meta = message.get("metadata") or {}
            if meta.get("event_type") == UPDATE_EVENT and (meta.get("event_payload") or {}).get("key") == self.d.key:
                return True
        return False

    def _pages(self, method: str, **args: Any) -> Any:
        cursor = None
        for _ in range(LOOKUP_PAGES):
            response = getattr(self.web, method)(include_all_metadata=True, limit=100, cursor=cursor, **args)
            yield from response.get("messages") or []
            cursor = (response.get("response_metadata") or {}).get("next_cursor")
            if not cursor:
                return

    def _channel_id(self) -> str | None:
        """The id of the target channel (history lookups need it); ``None`` when Slack does not list it."""
        name = str(self.target.channel).removeprefix("#")
        if name[:1] in ("C", "G", "D") and name.isupper() and name.isalnum():
            return name
        if name not in self.channel_ids:
            cursor = None
            for _ in range(10):
                response = self.web.conversations_list(limit=200, cursor=cursor, exclude_archived=True,
                                                       types="public_channel,private_channel")
                for channel in response.get("channels") or []:
                    self.channel_ids[str(channel.get("name"))] = str(channel.get("id"))
                cursor = (response.get("response_metadata") or {}).get("next_cursor")
                if name in self.channel_ids or not cursor:
                    break
        return self.channel_ids.get(name)

    def _chart(self, channel: str, ts: str) -> None:
        series = self.context.series
        if series is None or not series.points:
            return
        try:
            from service.notify.chart import render_chart

            title = f"{self.alert.brand}: mentions and negative share"
            png = render_chart(series, title=title)
            self.web.files_upload_v2(channel=channel, thread_ts=ts, file=png, title=title,
                                     filename=f"crisiswatch-{self.alert.incident_id}-{self.alert.sequence}.png")
        except Exception as exc:  # the alert is delivered; a missing chart is not worth a retry
            log.warning("chart of incident %s not uploaded: %s", self.alert.incident_id, type(exc).__name__)


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


def delivery_error(exc: Exception) -> DeliveryError:
    """What a failed Slack call means for delivery (the one translation of slack-sdk and network
    errors, shared with :mod:`service.notify.ops`): an API error by its code and HTTP status
    (rate limits with their ``Retry-After``), an unreachable Slack as retryable, anything else not."""
    if isinstance(exc, SlackApiError):
        return _api_error(exc)
    if isinstance(exc, (OSError, http.client.HTTPException)):  # URLError, refused, reset, timeouts
        return DeliveryError(f"Slack unreachable: {_describe(exc)}", retryable=True)
    if isinstance(exc, SlackClientError):
        return DeliveryError(f"Slack client error: {type(exc).__name__}", retryable=False)
    return DeliveryError(f"unexpected error sending to Slack: {type(exc).__name__}", retryable=False)


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
            seconds = retry_after_seconds(raw)
            return DEFAULT_RETRY_AFTER if seconds is None else seconds
    return DEFAULT_RETRY_AFTER


def _describe(exc: BaseException) -> str:
    """A short description of a network error (urllib puts no URL in these messages)."""
    reason = getattr(exc, "reason", None)
    detail = reason if reason is not None else exc
    return f"{type(exc).__name__}: {detail}"[:200]

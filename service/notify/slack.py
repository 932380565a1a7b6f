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

The history look-up needs the channel's id. It is taken, in this order, from the target itself when
it is an id (``C0123ABCD``), from Slack's answer to an earlier post to that channel name (the id
``chat.postMessage`` answered with, kept for the process's life), from the incident's stored
reference (``"<channel id>:<ts>"``, when its message was deleted), and only then from
``conversations.list``. Bot scopes per Web API method: ``chat.postMessage`` / ``chat.update``
``chat:write``; ``files.getUploadURLExternal`` / ``files.completeUploadExternal`` ``files:write``;
``conversations.history`` / ``conversations.replies`` ``channels:history`` (``groups:history`` in a
private channel); ``conversations.list`` ``channels:read`` (``groups:read`` for private channels);
``auth.test`` none. The scopes the token has (Slack's ``x-oauth-scopes`` response header) are
compared once, at the first answer, with those and a missing one is warned about.
"""

from __future__ import annotations

import http.client
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar

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
SCOPES_HEADER = "x-oauth-scopes"
LOOKUP_SCOPES = {
    "conversations.history": ("channels:history", "groups:history"),
    "conversations.replies": ("channels:history", "groups:history"),
    "conversations.list": ("channels:read", "groups:read"),
}
"""Web API method of the crash-recovery look-up -> bot scope it needs (public channel, private channel)."""
WANTED_SCOPES = (
    (("chat:write",), "posting"),
    (("files:write",), "uploading charts"),
    (("channels:history", "groups:history"), "finding a message again after a crash (groups:history for a "
                                             "private channel)"),
    (("channels:read", "groups:read"), "finding the id of a channel given by name after a crash (groups:read for "
                                       "a private channel; not needed for a channel given by id)"),
)
"""Scopes the bot uses (any one of a group is enough: one per channel type) and what they are for."""
T = TypeVar("T")


@dataclass
class _Learnt:
    """What a notifier learnt from Slack's answers (shared by its deliveries)."""

    channel_ids: dict[str, str] = field(default_factory=dict)
    """Channel name -> id, from ``chat.postMessage`` answers and ``conversations.list``."""
    scopes: frozenset[str] | None = None
    """The bot token's scopes (Slack's ``x-oauth-scopes`` header); ``None`` until an answer carried it."""


class _CannotCheck(Exception):
    """The crash-recovery look-up cannot run; the message says why (never a secret)."""


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
        self._learnt = _Learnt()

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
            return _BotDelivery(self._web, delivery, self._learnt, interactive).run()
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

    def __init__(self, web: WebClient, delivery: Delivery, learnt: _Learnt, interactive: bool) -> None:
        self.web, self.d, self.learnt, self.interactive = web, delivery, learnt, interactive
        self.alert, self.target, self.context = delivery.alert, delivery.target, delivery.context

    def run(self) -> str:
        if not self.target.channel:
            raise DeliveryError(f"receiver {self.target.receiver!r} has no Slack channel", retryable=False)
        message = render_alert(self.alert, self.target, self.context, interactive=self.interactive)
        metadata = incident_metadata(self.alert)
        if self.d.thread_ref is None:
            return self._first(message, metadata, known=None)
        channel, ts = parse_ref(self.d.thread_ref, default_channel=self.target.channel)
        try:
            self._learn(self.web.chat_update(channel=channel, ts=ts, metadata=metadata, **message).headers)
        except SlackApiError as exc:
            if _error_code(exc) not in MESSAGE_GONE_ERRORS:
                raise
            log.warning("slack message %s of incident %s is gone; posting a new one", ts, self.alert.incident_id)
            # an earlier attempt may have posted it: looked up first, in the channel of the stored reference
            return self._first(message, metadata, known=channel)
        self._reply(channel, ts)
        if self.alert.state is AlertState.ESCALATED:
            self._chart(channel, ts)
        return self.d.thread_ref

    def _first(self, message: dict[str, Any], metadata: dict[str, Any], *, known: str | None) -> str:
        if self.d.maybe_sent:
            found = self._lookup("the message", lambda: self._find_main(known), None)
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
        self._learn(response.headers)
        channel, ts = response.get("channel") or self.target.channel, response.get("ts")
        if not ts:
            raise DeliveryError("Slack accepted the message but returned no ts", retryable=False)
        if _is_channel_id(str(channel)):  # the id of the name, for a look-up after a lost answer
            self.learnt.channel_ids[self.target.channel.removeprefix("#")] = str(channel)
        if self.alert.state in (AlertState.FIRING, AlertState.ESCALATED):
            self._chart(str(channel), str(ts))
        return format_ref(str(channel), str(ts))

    def _reply(self, channel: str, ts: str) -> None:
        if self.d.maybe_sent and self.d.key and self._lookup(
                f"the thread reply {self.d.key}", lambda: self._find_reply(self._channel_id(channel), ts), False):
            log.info("thread reply %s was already posted: not posting it again", self.d.key)
            return
        reply = render_thread_reply(self.alert, self.target, self.context)
        metadata = {"event_type": UPDATE_EVENT,
                    "event_payload": {"incident_id": self.alert.incident_id, "key": self.d.key}}
        self.web.chat_postMessage(channel=channel, thread_ts=ts, unfurl_links=False, unfurl_media=False,
                                  metadata=metadata, **reply)

    def _lookup(self, what: str, find: Callable[[], T], otherwise: T) -> T:
        """Run a crash-recovery look-up. A transient failure is raised: the outbox retries later.

        A permanent one (a missing scope, ``not_in_channel``, ``channel_not_found``, a channel that
        cannot be resolved) means nobody can tell whether the earlier attempt reached Slack. Holding
        the alert until an operator fixes the Slack app would lose it for the crisis it reports; a
        duplicate is visible and harmless next to that. So the alert is posted (at-least-once), and
        never silently: one error names the reason (the missing scope) and the possible duplicate."""
        try:
            return find()
        except SlackApiError as exc:
            if _api_error(exc).retryable:
                raise
            self._learn(exc.response.headers)
            reason = _lookup_problem(exc)
        except _CannotCheck as exc:
            reason = str(exc)
        log.error("cannot check whether %s of incident %s already reached Slack: %s; posting it, so it may "
                  "appear twice", what, self.alert.incident_id, reason)
        return otherwise

    def _find_main(self, known: str | None) -> tuple[str, str] | None:
        channel = self._channel_id(self.target.channel, known=known)
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

    def _channel_id(self, channel: str | None, *, known: str | None = None) -> str:
        """The id of ``channel`` (the history look-ups need ids): the channel itself when it is an id,
        the id Slack answered a post to that name with, ``known`` (the channel of the incident's
        stored reference), or ``conversations.list`` (``channels:read``, ``groups:read`` for private
        channels). Raises :class:`_CannotCheck` when none gives it."""
        name = str(channel).removeprefix("#")
        if _is_channel_id(name):
            return name
        if name in self.learnt.channel_ids:
            return self.learnt.channel_ids[name]
        if known is not None and _is_channel_id(known):
            return known
        scopes = self._scopes()
        types = [kind for kind, scope in (("public_channel", "channels:read"), ("private_channel", "groups:read"))
                 if scopes is None or scope in scopes]  # asking for a type without its scope is refused
        if not types:
            raise _CannotCheck(f"the bot token lacks the channels:read scope (groups:read for a private channel), "
                               f"needed to find the id of #{name}; add it to the Slack app and reinstall it, or "
                               f"give the receiver's channel by its id")
        cursor = None
        for _ in range(10):
            response = self.web.conversations_list(limit=200, cursor=cursor, exclude_archived=True,
                                                   types=",".join(types))
            self._learn(response.headers)
            for listed in response.get("channels") or []:
                self.learnt.channel_ids[str(listed.get("name"))] = str(listed.get("id"))
            cursor = (response.get("response_metadata") or {}).get("next_cursor")
            if name in self.learnt.channel_ids or not cursor:
                break
        if name not in self.learnt.channel_ids:
            private = "" if "private_channel" in types else " (the token lacks groups:read, needed for a private one)"
            raise _CannotCheck(f"conversations.list does not list #{name}{private}; give the receiver's channel by "
                               f"its id")
        return self.learnt.channel_ids[name]

    def _scopes(self) -> frozenset[str] | None:
        """The token's scopes: learnt from an answer, else from ``auth.test`` (which needs none)."""
        if self.learnt.scopes is None:
            self._learn(self.web.auth_test().headers)
        return self.learnt.scopes

    def _learn(self, headers: Any) -> None:
        """Note the token's scopes from an answer's ``x-oauth-scopes`` header; the first time, warn
        once about every scope the bot uses that the token lacks."""
        scopes = granted_scopes(headers)
        if scopes is None:
            return
        first = self.learnt.scopes is None
        self.learnt.scopes = scopes
        if first:
            lacking = [f"{' or '.join(group)} ({purpose})" for group, purpose in WANTED_SCOPES
                       if not scopes.intersection(group)]
            if lacking:
                log.warning("the Slack bot token lacks scopes crisiswatch uses: %s; add them to the Slack app "
                            "(OAuth & Permissions) and reinstall it", "; ".join(lacking))

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


def granted_scopes(headers: Any) -> frozenset[str] | None:
    """The scopes in Slack's ``x-oauth-scopes`` response header, ``None`` when it is absent.

    >>> sorted(granted_scopes({"X-OAuth-Scopes": "chat:write, files:write"}))
    ['chat:write', 'files:write']
    """
    value = _header(headers, SCOPES_HEADER)
    if value is None:
        return None
    return frozenset(part.strip() for part in value.split(",") if part.strip())


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
    if isinstance(exc, http.client.InvalidURL):  # its message quotes the URL's path: a webhook's secret
        return DeliveryError("the Slack URL cannot be sent (a space or control character in SLACK_WEBHOOK_URL, "
                             "slack.webhook_url or SLACK_API_URL?)", retryable=False)
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


def _lookup_problem(exc: SlackApiError) -> str:
    """Why a look-up failed for good, for the operator: the missing scope by name (Slack's ``needed``)."""
    method = str(getattr(exc.response, "api_url", "") or "").rstrip("/").rsplit("/", 1)[-1] or "Slack"
    code = _error_code(exc) or f"HTTP {exc.response.status_code}"
    if code == "missing_scope":
        data = exc.response.data if isinstance(exc.response.data, dict) else {}
        public, private = LOOKUP_SCOPES.get(method, ("?", "?"))
        needed = str(data.get("needed") or f"{public} (or {private} for a private channel)")[:100]
        return f"the bot token lacks the {needed} scope ({method}: missing_scope); add it to the Slack app and " \
               f"reinstall it"
    if code == "not_in_channel":
        return f"the bot is not a member of the channel ({method}: not_in_channel); invite it"
    if code == "channel_not_found":
        return f"the bot cannot see the channel ({method}: channel_not_found); invite it (a private channel " \
               f"also needs groups:history)"
    return f"{method} answered {code}"


def _is_channel_id(name: str) -> bool:
    """``C0123ABCD``, ``G0123ABCD``, ``D0123ABCD``: a conversation id, not a name."""
    return name[:1] in ("C", "G", "D") and len(name) > 1 and name.isupper() and name.isalnum()


def _header(headers: Any, wanted: str) -> str | None:
    """A response header by case-insensitive name (slack-sdk keeps the server's spelling)."""
    items = headers.items() if isinstance(headers, Mapping) else dict(headers or {}).items()
    for name, value in items:
        if str(name).lower() == wanted:
            raw = value[0] if isinstance(value, list) and value else value
            return None if raw is None else str(raw)
    return None


def _retry_after(headers: Any) -> float:
    raw = _header(headers, "retry-after")
    if raw is None:
        return DEFAULT_RETRY_AFTER
    seconds = retry_after_seconds(raw)
    return DEFAULT_RETRY_AFTER if seconds is None else seconds


def _describe(exc: BaseException) -> str:
    """A short description of a network error (urllib puts no URL in these messages)."""
    reason = getattr(exc, "reason", None)
    detail = reason if reason is not None else exc
    return f"{type(exc).__name__}: {detail}"[:200]

"""Operational alerts about sources (failing, silent, recovered) to the ``ops`` team's channels.

These are not crisis alerts: no incident, no buttons, no outbox. alerts.yaml ``ops: {team: NAME}``
names the receiver; the event goes to that team's ``slack_channel`` (bot token; with only an
incoming webhook, to the webhook's channel) and to its generic ``webhook`` when it has one. Without
an ``ops`` key, :func:`ops_notifier` returns ``None`` and the runner only logs the events.

Each event reaches this module once per episode: the decision (a source failing ``fail_after`` runs
in a row or silent for ``silent_after``, then its recovery) and its memory across restarts are
:func:`service.collect.health.ops_event` and the source's health. Delivery is attempted once per
channel; a failure raises :class:`~service.notify.base.DeliveryError` after the other channels were
tried, and the runner logs it (a broken ops channel never fails collection).

The message is plain Slack mrkdwn with the event's text masked (:func:`service.logs.redact`: a server's
error text may quote a token) and escaped (a source name or a server's error text cannot ping a channel
or forge a link); the webhook body is JSON, signed like crisis alerts (with the send time when given
the clock)::

    {"version": 1, "receiver": "<team>", "key": "ops:<source>:<state>:<unix time>",
     "ops": {"source": ..., "state": "failing"|"silent"|"recovered", "at": ISO 8601, "message": ...}}
"""

from __future__ import annotations

import json
import logging
from collections import OrderedDict
from collections.abc import Callable
from typing import TYPE_CHECKING

import httpx

from service.collect.health import OpsEvent, OpsState
from service.logs import redact
from service.notify.base import DeliveryError
from service.notify.escape import escape_mrkdwn
from service.notify.slack import SlackNotifier, delivery_error
from service.notify.webhook import KEY_HEADER, SIGNATURE_HEADER, TIMESTAMP_HEADER, sign

if TYPE_CHECKING:
    from service.clock import Clock
    from service.config import Config, WebhookConfig

log = logging.getLogger(__name__)

MAX_TEXT = 3_000
_REMEMBERED = 1_000  # events whose partial delivery is remembered (bounded memory)
_HEADLINES = {
    OpsState.FAILING: ":warning: *crisiswatch: a source keeps failing*",
    OpsState.SILENT: ":mute: *crisiswatch: a source went silent*",
    OpsState.RECOVERED: ":white_check_mark: *crisiswatch: a source recovered*",
}


def render_ops(event: OpsEvent) -> str:
    """The Slack text of ``event``: a headline, then the escaped message and the time (UTC).

    >>> from datetime import UTC, datetime
    >>> print(render_ops(OpsEvent(source="x", state=OpsState.RECOVERED, message='source "<!here>" ok',
    ...                           at=datetime(2026, 11, 26, 10, tzinfo=UTC))))
    :white_check_mark: *crisiswatch: a source recovered*
    source "&lt;!here&gt;" ok (2026-11-26 10:00 UTC)
    """
    when = event.at.strftime("%Y-%m-%d %H:%M UTC")
    return f"{_HEADLINES[event.state]}\n{escape_mrkdwn(redact(event.message), limit=MAX_TEXT)} ({when})"


def ops_body(event: OpsEvent, receiver: str) -> bytes:
    """The JSON body posted to the ops team's generic webhook."""
    record = {"version": 1, "receiver": receiver, "key": _key(event),
              "ops": {"source": event.source, "state": str(event.state), "at": event.at.isoformat(),
                      "message": redact(event.message)}}
    return json.dumps(record, ensure_ascii=False, separators=(",", ":")).encode()


def _key(event: OpsEvent) -> str:
    return f"ops:{event.source}:{event.state}:{int(event.at.timestamp())}"


class OpsSlack(SlackNotifier):
    """The Slack notifier, posting one plain message (no blocks, no thread) for an ops event."""

    def post_text(self, text: str, channel: str | None) -> None:
        """``chat.postMessage`` to ``channel`` (bot mode) or the incoming webhook; errors translated
        as for crisis alerts."""
        if self._web is not None and not channel:
            raise DeliveryError("the ops team has no slack_channel", retryable=False)
        try:
            if self._web is not None:
                self._web.chat_postMessage(channel=channel, text=text, mrkdwn=True, unfurl_links=False,
                                           unfurl_media=False)
                return
            assert self._webhook is not None
            response = self._webhook.send(text=text, unfurl_links=False, unfurl_media=False)
        except Exception as exc:  # SlackApiError, network errors: the same translation as crisis alerts
            raise delivery_error(exc) from exc
        if response.status_code != 200:
            retryable = response.status_code == 429 or response.status_code >= 500
            raise DeliveryError(f"Slack webhook answered {response.status_code}", retryable=retryable)


class OpsNotifier:
    """Delivers ops events to one team: its Slack channel and its generic webhook (the runner's
    ``on_ops`` callback)."""

    def __init__(self, *, team: str, channel: str | None, slack: OpsSlack | None,
                 webhook: WebhookConfig | None,
                 client_factory: Callable[[], httpx.Client] | None = None,
                 clock: Clock | None = None) -> None:
        self.team, self.channel, self.slack, self.webhook = team, channel, slack, webhook
        self.clock = clock
        """Signs webhook requests with the send time (without one: the event's time)."""
        self._client_factory = client_factory or (lambda: httpx.Client(timeout=10.0, follow_redirects=False))
        self._done: OrderedDict[str, set[str]] = OrderedDict()  # event key -> channels that already have it

    def __call__(self, event: OpsEvent) -> None:
        """Send ``event`` to each channel that does not have it yet; a retry after a partial failure
        does not repeat it where it already went. Raises :class:`DeliveryError` (retryable only when every
        failure is) when a channel failed."""
        key = _key(event)
        done = self._done.setdefault(key, set())
        self._done.move_to_end(key)
        while len(self._done) > _REMEMBERED:
            self._done.popitem(last=False)
        failures: list[DeliveryError] = []
        channels: list[tuple[str, Callable[[], None]]] = []
        if self.slack is not None:
            slack = self.slack
            channels.append(("slack", lambda: slack.post_text(render_ops(event), self.channel)))
        if self.webhook is not None:
            hook = self.webhook
            channels.append(("webhook", lambda: self._post(event, hook)))
        for name, send in channels:
            if name in done:
                continue
            try:
                send()
            except DeliveryError as exc:
                failures.append(exc)
            else:
                done.add(name)
        if failures:
            raise DeliveryError("; ".join(str(failure) for failure in failures),
                                retryable=all(failure.retryable for failure in failures))
        self._done.pop(key, None)

    def _post(self, event: OpsEvent, hook: WebhookConfig) -> None:
        body = ops_body(event, self.team)
        timestamp = str(int((self.clock.now() if self.clock is not None else event.at).timestamp()))
        headers = {"Content-Type": "application/json", TIMESTAMP_HEADER: timestamp, KEY_HEADER: _key(event),
                   "User-Agent": "crisiswatch-webhook/1"}
        if hook.secret is not None:
            headers[SIGNATURE_HEADER] = sign(hook.secret.reveal(), timestamp, body)
        try:
            with self._client_factory() as client:
                response = client.post(hook.url.reveal(), content=body, headers=headers)
        except httpx.HTTPError as exc:  # the URL is a secret: never in the message
            raise DeliveryError(f"ops webhook of {self.team} unreachable: {type(exc).__name__}",
                                retryable=True) from exc
        if not 200 <= response.status_code < 300:
            raise DeliveryError(f"ops webhook of {self.team} answered HTTP {response.status_code}",
                                retryable=response.status_code in (408, 429) or response.status_code >= 500)


def ops_notifier(config: Config, *, slack_token: str | None, slack_webhook_url: str | None,
                 slack_api_url: str | None = None,
                 client_factory: Callable[[], httpx.Client] | None = None,
                 clock: Clock | None = None) -> OpsNotifier | None:
    """The ``on_ops`` callback that alerts.yaml's ``ops`` key asks for; ``None`` (logs only) without
    one. The Slack settings are :func:`service.app.slack_settings`'s (environment over alerts.yaml)."""
    if config.ops is None or config.ops.team is None:
        return None
    team = config.teams[config.ops.team]
    if slack_token and not team.slack_channel:
        log.warning('ops team "%s" has no slack_channel: operational alerts do not go to Slack', team.name)
        slack_token = slack_webhook_url = None
    slack = (OpsSlack(token=slack_token, webhook_url=slack_webhook_url, base_url=slack_api_url)
             if slack_token or slack_webhook_url else None)
    if slack is None and team.webhook is None:
        log.warning('ops team "%s" has neither Slack (set SLACK_BOT_TOKEN or SLACK_WEBHOOK_URL) nor a webhook: '
                    "operational alerts are only logged", team.name)
        return None
    return OpsNotifier(team=team.name, channel=team.slack_channel, slack=slack, webhook=team.webhook,
                       client_factory=client_factory, clock=clock)

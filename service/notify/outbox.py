"""Dispatch through a durable outbox: every alert is recorded before it is sent, then delivered,
in order per incident and receiver, retried with backoff until it is.

Stages: route (pure, :mod:`service.notify.route`) -> enqueue one outbox item per (team, notifier)
-> deliver what is due on the clock's ``now``. Retry timing is computed from ``now`` so replay on a
simulated clock retries exactly as production would.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from service.config import Config, TeamConfig
from service.domain import Alert
from service.notify.base import DeliveryError, Notifier, Target
from service.notify.route import teams_for
from service.store.base import OutboxItem, Store

log = logging.getLogger("crisiswatch.notify")

FIRST_RETRY = timedelta(seconds=5)
MAX_RETRY = timedelta(minutes=10)
PERMANENT_RETRY = timedelta(minutes=15)
"""A non-retryable failure (revoked token, unknown channel) needs an operator; we keep the alert
and try again at this pace rather than drop it."""
OVERDUE = timedelta(minutes=15)


def backoff(attempts: int, key: str, retry_after: float | None) -> timedelta:
    """Exponential backoff with a deterministic jitter of up to 20 %, at least ``retry_after``.

    >>> backoff(1, "k", None) >= timedelta(seconds=5)
    True
    >>> backoff(3, "k", 120.0) >= timedelta(seconds=120)
    True
    """
    base = min(MAX_RETRY, FIRST_RETRY * (2 ** max(0, attempts - 1)))
    jitter = int(hashlib.blake2s(f"{key}:{attempts}".encode(), digest_size=2).hexdigest(), 16) / 65535 * 0.2
    delay = base * (1 + jitter)
    return max(delay, timedelta(seconds=retry_after)) if retry_after else delay


@dataclass
class DeliveryReport:
    delivered: int = 0
    failed: int = 0
    errors: list[str] = field(default_factory=list)


def labels_of(alert: Alert, config: Config, lang: str = "") -> dict[str, str]:
    brand = config.brand(alert.brand)
    return {"brand": alert.brand, "team": brand.team or "", "severity": str(alert.severity),
            "crisis_type": alert.crisis_type, "lang": lang}


class Dispatcher:
    """Routes alerts to teams and delivers them through the outbox with the configured notifiers."""

    def __init__(self, config: Config, store: Store, notifiers: Mapping[str, Notifier]) -> None:
        self.config, self.store, self.notifiers = config, store, dict(notifiers)

    def receivers(self, team: TeamConfig) -> list[str]:
        """Notifier names that can reach ``team`` (console reaches everyone)."""
        names = []
        for name in self.notifiers:
            if name == "slack" and not (team.slack_channel or team.webhook_url or self.config.slack.webhook_url):
                continue
            names.append(name)
        return names

    def target(self, team_name: str) -> Target:
        team = self.config.teams.get(team_name) or TeamConfig(name=team_name)
        return Target(receiver=team_name, channel=team.slack_channel, mention=team.mention,
                      dashboard_url=self.config.dashboard_url)

    def dispatch(self, alerts: Sequence[Alert], now: datetime) -> int:
        """Record one outbox item per alert, team and notifier; return how many were new."""
        items = []
        for alert in alerts:
            for team_name in teams_for(self.config.route, labels_of(alert, self.config), alert.severity):
                team = self.config.teams.get(team_name) or TeamConfig(name=team_name)
                for notifier in self.receivers(team):
                    receiver = f"{team_name}/{notifier}"
                    items.append(OutboxItem(
                        key=f"{alert.incident_id}#{alert.sequence}->{receiver}", incident_id=alert.incident_id,
                        receiver=receiver, seq=alert.sequence, payload=alert.to_record(), created_at=now,
                        next_attempt_at=now))
        return self.store.outbox_enqueue(items) if items else 0

    def deliver_due(self, now: datetime, limit: int = 100) -> DeliveryReport:
        """Send every item that is due; a failing receiver never blocks the others."""
        report = DeliveryReport()
        for item in self.store.outbox_due(now, limit):
            team_name, _, notifier_name = item.receiver.rpartition("/")
            notifier = self.notifiers.get(notifier_name)
            if notifier is None:
                continue  # that notifier is not configured in this process; another may deliver it
            ref_name = f"thread:{item.incident_id}:{item.receiver}"
            try:
                ref = notifier.send(Alert.from_record(item.payload), self.target(team_name),
                                    self.store.get_ref(ref_name))
            except DeliveryError as exc:
                report.failed += 1
                report.errors.append(f"{item.key}: {exc}")
                self._failed(item, exc, now)
                continue
            if ref:
                self.store.set_ref(ref_name, ref)
            self.store.outbox_delivered(item.key, now)
            report.delivered += 1
        return report

    def _failed(self, item: OutboxItem, error: DeliveryError, now: datetime) -> None:
        attempts = item.attempts + 1
        delay = backoff(attempts, item.key, error.retry_after) if error.retryable else PERMANENT_RETRY
        self.store.outbox_failed(item.key, now + delay, str(error))
        overdue = now - item.created_at >= OVERDUE
        level = logging.ERROR if overdue or not error.retryable else logging.WARNING
        log.log(level, "alert %s to %s not delivered (attempt %d, %s): %s; next try in %ds%s",
                item.key, item.receiver, attempts, "retryable" if error.retryable else "needs an operator",
                error, delay.total_seconds(),
                f" - UNDELIVERED FOR {(now - item.created_at).total_seconds():.0f}s" if overdue else "")

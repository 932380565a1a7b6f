"""Dispatch through a durable outbox: every alert is recorded before it is sent, then delivered,
in order per incident and receiver, retried with backoff until it is, and posted exactly once.

Stages: route (pure, :mod:`service.notify.route`; a later event of an incident also goes to every
receiver already notified of it, so a thread opened at a lower severity is kept up to date and
closed) -> decide per team (pure,
:mod:`service.notify.decide`: silences, inhibition, snooze, group wait/interval, quiet hours; the
reason is logged) -> enqueue one outbox item per (team, notifier), scheduled for the decided time,
with its :class:`~service.notify.context.AlertContext` in the payload (an item due before the items
ahead of it in its line, e.g. an escalation behind an update waiting its group interval or quiet
hours, brings them forward with it: ``Store.outbox_hasten``) -> save the team's line state, once the
items are recorded -> deliver what is due on the clock's ``now``. Before each attempt an *intent* is
recorded (ref ``intent:<key>``); when an earlier attempt may have reached the receiver, the notifier
is told (``maybe_sent``) and looks the message up instead of posting it again. Right after a receiver
took an item a ``sent:<key>`` ref is recorded, so an item whose delivery could not be marked is
settled on the next pass without sending it again. A failure of one item, whatever it raises, is
recorded for that item; the others go on. Nothing here reads the wall clock: replay retries, waits and
reminds exactly as production would (retry pacing: :mod:`service.notify.pacing`).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

from service.config import Config, InhibitRule, RouteOptions, TeamConfig
from service.domain import Alert, AlertState, Incident, Severity
from service.incidents import Acted, action_alert
from service.notify import gather
from service.notify.base import DeliveryError, Notifier, Target
from service.notify.context import CONTEXT_KEY, AlertContext
from service.notify.decide import Event, Kind, LineLog, decide, reminder_due
from service.notify.delivery import ContextNotifier, Delivery
from service.notify.gather import labels_of
from service.notify.pacing import MAX_ROUNDS, PERMANENT_RETRY, backoff, coalesces, describe_error, superseded
from service.notify.route import routes_for
from service.notify.silence import describe, inhibited_by, silenced_by
from service.store.base import OutboxItem, Silence, Store, StoreError

__all__ = ["PERMANENT_RETRY", "Dispatcher", "OutboxHealth", "backoff", "incident_traces", "labels_of"]

log = logging.getLogger("crisiswatch.notify")

OVERDUE = timedelta(minutes=15)
"""Default of ``notify.overdue_after`` in alerts.yaml."""


@dataclass
class DeliveryReport:
    delivered: int = 0
    failed: int = 0
    superseded: int = 0
    errors: list[str] = field(default_factory=list)


@dataclass(frozen=True, kw_only=True, slots=True)
class OutboxHealth:
    """For ``/metrics``: undelivered notifications, how late the latest-due one is, how many are overdue."""

    depth: int
    oldest_age_seconds: float
    overdue: int
    overdue_alarms: int
    """Notifications that crossed ``overdue_after`` undelivered since this process started."""


class Dispatcher:
    """Routes alerts to teams and delivers them through the outbox with the configured notifiers."""

    def __init__(self, config: Config, store: Store, notifiers: Mapping[str, Notifier], *,
                 delivery_lock: threading.Lock | None = None) -> None:
        self.config, self.store, self.notifiers = config, store, dict(notifiers)
        self.overdue_after = getattr(getattr(config, "notify", None), "overdue_after", OVERDUE)
        self.overdue_alarms = 0
        self._alarmed: set[str] = set()
        self._recording = threading.RLock()
        """Serialises the read-modify-write of the notification logs (ticks and Slack actions)."""
        self._delivering = delivery_lock or threading.Lock()
        """One delivery pass at a time: two threads never send the same item. A runtime that replaces
        its dispatcher on reload passes the same lock to each, so the old and new never overlap."""
        self._foreign: set[str] = set()
        """Keys of due items of a notifier this process lacks, seen in the last pass (not delivered here)."""
        self._foreign_logged: set[str] = set()
        self._heard: set[tuple[str, str]] = set()
        """(incident id, receiver) pairs known to have a notification log (it is never removed while the
        incident is open): :meth:`remind` reads no log it does not need."""

    def receivers(self, team: TeamConfig) -> list[str]:
        """Notifier names that can reach ``team`` (console reaches everyone). Slack reaches a team
        with a ``slack_channel`` in bot mode and every team in webhook mode: the mode of the notifier
        built from the effective settings (the environment over alerts.yaml), not alerts.yaml alone."""
        names = []
        for name, notifier in self.notifiers.items():
            if name == "slack" and not (team.slack_channel or self._slack_needs_no_channel(notifier)):
                continue
            if name == "webhook" and team.webhook is None:
                continue
            names.append(name)
        return names

    def _slack_needs_no_channel(self, notifier: Notifier) -> bool:
        mode = getattr(notifier, "mode", None)
        if mode is not None:
            return mode == "webhook"
        return self.config.slack.webhook_url is not None and self.config.slack.bot_token is None

    def target(self, team_name: str) -> Target:
        team = self.config.teams.get(team_name) or TeamConfig(name=team_name)
        return Target(receiver=team_name, channel=team.slack_channel, mention=team.mention,
                      dashboard_url=self.config.dashboard_url)

    # -- recording -----------------------------------------------------------------------------
    def dispatch(self, alerts: Sequence[Alert], now: datetime) -> int:
        """Record the notifications of detection events; return how many outbox items were new."""
        return sum(self._enqueue(alert, now, Kind.EVENT) for alert in alerts)

    def apply_action(self, acted: Acted, now: datetime) -> int:
        """Save a person's action on an incident (see :func:`service.incidents.acknowledge`, ``snooze``,
        ``resolve_manually``) and notify it, so the Slack message shows it. The caller holds the
        pipeline lock and then calls ``pipeline.incident_changed(brand)``."""
        self.store.save_incident(acted.incident)
        if acted.snoozed_until is not None:
            self.store.set_ref(gather.snooze_ref(acted.incident.id), acted.snoozed_until.isoformat())
        return self._enqueue(acted.alert, now, Kind.ACTION, action=str(acted.action), actor=acted.user)

    def remind(self, now: datetime) -> int:
        """Called by each detection tick (after :meth:`dispatch`, before :meth:`deliver_due`), for every
        open incident and every receiver its route gives it now:

        - a receiver never notified of it (its first alerts were silenced or inhibited) gets its first
          notification once it is no longer muted, as Alertmanager does when a silence expires or the
          inhibiting incident resolves: a normal first notification (current severity, ``group_wait``),
          once, as it records the receiver's notification log; an incident resolved meanwhile is not
          open and stays unsent;
        - a receiver that has heard nothing about it for its route's ``repeat_interval`` gets a reminder.
        """
        added = 0
        incidents = self.store.incidents(open_only=True, limit=1000)
        open_ids = {incident.id for incident in incidents}
        self._heard = {pair for pair in self._heard if pair[0] in open_ids}
        muting: _Muting | None = None
        for incident in incidents:
            labels = labels_of(incident, self.config)
            for team_name, options in routes_for(self.config.route, labels, incident.severity):
                for receiver in self._receivers_of(team_name):
                    if options.repeat_interval is None and (incident.id, receiver) in self._heard:
                        continue  # already notified: nothing to catch up, no reminder on this route
                    with self._recording:  # the log read and the enqueue at one time (Slack actions)
                        line = gather.load_line(self.store, incident.id, receiver)
                        if line.last_at is not None:
                            self._heard.add((incident.id, receiver))
                            if reminder_due(line, options, now):
                                alert = action_alert(incident, now,
                                                     f"still ongoing, no change for {options.repeat_interval}")
                                added += self._enqueue(alert, now, Kind.REMINDER, action="reminder", only=receiver)
                            continue
                        muting = muting or _Muting.of(self.store, self.config, incidents, now)
                        if muting.muted(incident.id, labels):
                            continue  # still muted: the decision was logged when its alerts were dropped
                        current = self.store.incident(incident.id)  # resolved meanwhile (an action)?
                        if current is None or not current.is_open:
                            continue
                        log.info("incident %s is open, not muted and %s never heard of it: first notification",
                                 incident.id, receiver)
                        added += self._enqueue(_catch_up_alert(current, now), now, Kind.EVENT, only=receiver,
                                               muting=muting)
        return added

    def _receivers_of(self, team_name: str) -> list[str]:
        team = self.config.teams.get(team_name) or TeamConfig(name=team_name)
        return [f"{team_name}/{notifier}" for notifier in self.receivers(team)]

    def _enqueue(self, alert: Alert, now: datetime, kind: Kind, *, action: str | None = None,
                 actor: str | None = None, only: str | None = None, muting: _Muting | None = None) -> int:
        with self._recording:
            return self._record(alert, now, kind, action=action, actor=actor, only=only, muting=muting)

    def _record(self, alert: Alert, now: datetime, kind: Kind, *, action: str | None,
                actor: str | None, only: str | None, muting: _Muting | None = None) -> int:
        labels = labels_of(alert, self.config)
        silences = muting.silences if muting is not None else self.store.silences(active_at=now)
        muted_by = silenced_by(silences, labels, now)
        silenced = f"silence {muted_by.id} ({describe(muted_by)})" if muted_by else None
        inhibition = None
        if self.config.inhibit:  # remind()'s catch-ups share one reading of the open incidents
            sources = muting.sources if muting is not None else gather.open_incident_labels(self.store, self.config)
            inhibition = inhibited_by(self.config.inhibit, labels, alert.incident_id, sources)
        inhibited = f"by incident {inhibition[1]}" if inhibition else None
        snooze = gather.snoozed_until(self.store, alert.incident_id)
        event = Event(state=alert.state, severity=alert.severity, kind=kind)
        items: list[OutboxItem] = []
        lines: list[tuple[str, LineLog]] = []
        context: AlertContext | None = None
        for receiver, options, line in self._lines_for(alert, labels, kind, only):
            decision = decide(event, line, options, now, silenced=silenced, inhibited=inhibited,
                              snoozed_until=snooze)
            immediate = decision.send and decision.at <= now
            log.log(logging.DEBUG if immediate else logging.INFO,
                    "alert %s#%d (%s %s) to %s: %s %s%s", alert.incident_id, alert.sequence, alert.severity,
                    alert.state if kind is Kind.EVENT else kind, receiver,
                    f"send at {decision.at:%Y-%m-%d %H:%M:%S}Z" if decision.send else "drop", decision.reason,
                    f" ({decision.detail})" if decision.detail else "")
            if not decision.send:
                continue
            if context is None:
                context = gather.build_context(self.store, self.config, alert, action=action, actor=actor)
            items.append(self._item(alert, receiver, now, decision.at, context, options, kind))
            lines.append((receiver, LineLog(last_at=decision.at)))
        if not items:
            return 0
        added = self.store.outbox_enqueue(items)
        for item in items:  # an item due before those ahead of it in line brings them forward with it
            if self.store.outbox_hasten(item.incident_id, item.receiver, item.seq, item.next_attempt_at):
                log.info("alert %s due at %s: the earlier notifications of its line go with it",
                         item.key, f"{item.next_attempt_at:%Y-%m-%d %H:%M:%S}Z")
        for receiver, state in lines:  # only once the items are recorded: a failed enqueue tells no one
            gather.save_line(self.store, alert.incident_id, receiver, state)
        return added

    def _lines_for(self, alert: Alert, labels: Mapping[str, str], kind: Kind,
                   only: str | None) -> list[tuple[str, RouteOptions, LineLog]]:
        """The receivers of ``alert`` with their route options and notification logs: those its route
        gives it at its current severity and, for a later event of the incident (an escalation, update,
        resolution or a person's action), every other receiver already notified of the incident, so a
        thread opened at a lower severity by a team the route no longer gives it is kept up to date and
        closed (each receiver once). ``only``: that receiver alone, if it is one of them."""
        found: dict[str, tuple[str, RouteOptions, LineLog]] = {}
        routed = routes_for(self.config.route, labels, alert.severity)
        for team_name, options in routed:
            for receiver in self._receivers_of(team_name):
                if only is not None and receiver != only:
                    continue
                found.setdefault(receiver, (receiver, options,
                                            gather.load_line(self.store, alert.incident_id, receiver)))
        if kind is Kind.REMINDER or (kind is Kind.EVENT and alert.state is AlertState.FIRING):
            return list(found.values())
        teams = {team for team, _ in routed}
        for team_name, options in _team_options(self.config, labels).items():
            if team_name in teams:
                continue
            for receiver in self._receivers_of(team_name):
                if receiver in found or (only is not None and receiver != only):
                    continue
                line = gather.load_line(self.store, alert.incident_id, receiver)
                if line.last_at is not None:
                    found[receiver] = (receiver, options, line)
        return list(found.values())

    @staticmethod
    def _item(alert: Alert, receiver: str, now: datetime, at: datetime, context: AlertContext,
              options: RouteOptions, kind: Kind) -> OutboxItem:
        payload: dict[str, Any] = alert.to_record()
        payload[CONTEXT_KEY] = context.to_payload()
        routine = kind is Kind.EVENT and alert.state is AlertState.UPDATED
        payload["delivery"] = {"due_at": at.isoformat(), "kind": str(kind),
                               "coalesce": routine and options.group_interval > timedelta(0)}
        suffix = "" if kind is Kind.EVENT else f"~{kind}{int(now.timestamp())}"
        return OutboxItem(key=f"{alert.incident_id}#{alert.sequence}{suffix}->{receiver}",
                          incident_id=alert.incident_id, receiver=receiver, seq=alert.sequence, payload=payload,
                          created_at=now, next_attempt_at=at)

    # -- delivering ----------------------------------------------------------------------------
    def deliver_due(self, now: datetime, limit: int = 100) -> DeliveryReport:
        """Send every item that is due, in rounds (delivering the head of a line makes the next item
        of that line due); a failing receiver never blocks the others."""
        report = DeliveryReport()
        if not self._delivering.acquire(blocking=False):
            return report  # another thread is delivering right now; it sends what is due
        try:
            self._deliver_rounds(now, limit, report)
        finally:
            self._delivering.release()
        return report

    def _deliver_rounds(self, now: datetime, limit: int, report: DeliveryReport) -> None:
        for _ in range(MAX_ROUNDS):
            progress = report.delivered + report.superseded
            self._deliver_round(now, limit, report)
            if report.delivered + report.superseded == progress:
                break

    def _deliver_round(self, now: datetime, limit: int, report: DeliveryReport) -> None:
        due = self._due_here(now, limit)
        pending = self.store.outbox_pending() if any(coalesces(i) for i in due) else []
        for item in due:
            try:
                self._deliver_item(item, pending, now, report)
            except Exception as exc:  # a store error after sending: the next pass settles it (sent: ref)
                report.errors.append(f"{item.key}: {describe_error(exc)}")
                log.error("alert %s to %s: delivery not recorded (%s); settled on the next pass",
                          item.key, item.receiver, describe_error(exc))

    def _due_here(self, now: datetime, limit: int) -> list[OutboxItem]:
        """Up to ``limit`` due items this process has a notifier for. Items of a notifier it lacks
        (another process may have it) are passed over without taking places of the limit."""
        want = limit + len(self._foreign)
        while True:
            due = self.store.outbox_due(now, want)
            mine = [item for item in due if item.receiver.rpartition("/")[2] in self.notifiers]
            foreign = {item.key for item in due} - {item.key for item in mine}
            for item in due:
                name = item.receiver.rpartition("/")[2]
                if item.key in foreign and name not in self._foreign_logged:
                    self._foreign_logged.add(name)
                    log.warning("outbox items for notifier %r are due but this process has no such notifier: "
                                "left for a process that has it (e.g. %s)", name, item.key)
            self._foreign = foreign
            if len(mine) >= limit or len(due) < want:
                return mine[:limit]
            want = limit + len(foreign)

    def _deliver_item(self, item: OutboxItem, pending: Sequence[OutboxItem], now: datetime,
                      report: DeliveryReport) -> None:
        team_name, _, notifier_name = item.receiver.rpartition("/")
        notifier = self.notifiers[notifier_name]
        if superseded(item, pending, now):
            log.info("alert %s superseded by a later update of the same incident (group interval)", item.key)
            self.store.outbox_delivered(item.key, now)
            report.superseded += 1
            return
        try:
            ref = self._send(notifier, item, self.target(team_name), now)
        except DeliveryError as exc:
            self._record_failure(item, exc, now, report)
            return
        except Exception as exc:  # a notifier breaking its contract, a store error before sending
            retryable = exc.retryable if isinstance(exc, StoreError) else False
            self._record_failure(item, DeliveryError(describe_error(exc), retryable=retryable), now, report)
            return
        if ref:
            self.store.set_ref(self._thread_ref_name(item), ref)
        self.store.outbox_delivered(item.key, now)
        report.delivered += 1

    def _record_failure(self, item: OutboxItem, error: DeliveryError, now: datetime, report: DeliveryReport) -> None:
        report.failed += 1
        report.errors.append(f"{item.key}: {error}")
        self._failed(item, error, now)

    @staticmethod
    def _thread_ref_name(item: OutboxItem) -> str:
        return f"thread:{item.incident_id}:{item.receiver}"

    def _send(self, notifier: Notifier, item: OutboxItem, target: Target, now: datetime) -> str | None:
        """Send ``item`` once and return its thread reference. Right after the receiver took it, a
        ``sent:<key>`` ref records that (and the reference) before anything else: when marking the item
        delivered fails or the process dies, the next pass finds the ref and sends nothing again."""
        sent_name = f"sent:{item.key}"
        sent = self.store.get_ref(sent_name)
        if sent is not None:
            log.info("alert %s was already sent to %s: marking it delivered", item.key, item.receiver)
            return sent or None
        thread_ref = self.store.get_ref(self._thread_ref_name(item))
        alert = Alert.from_record(item.payload)
        if not isinstance(notifier, ContextNotifier):
            ref = notifier.send(alert, target, thread_ref)
        else:
            intent = f"intent:{item.key}"
            maybe_sent = item.attempts > 0 or self.store.get_ref(intent) is not None
            self.store.set_ref(intent, "1")  # recorded before sending: a crash after this is detected on retry
            ref = notifier.deliver(Delivery(alert=alert, target=target, thread_ref=thread_ref, maybe_sent=maybe_sent,
                                            context=AlertContext.from_payload(item.payload), key=item.key,
                                            sent_at=now))
        self.store.set_ref(sent_name, ref or "")
        return ref

    def _failed(self, item: OutboxItem, error: DeliveryError, now: datetime) -> None:
        attempts = item.attempts + 1
        delay = backoff(attempts, item.key, error.retry_after) if error.retryable else PERMANENT_RETRY
        self.store.outbox_failed(item.key, now + delay, str(error))
        late = gather.overdue_age(item.payload, item.created_at, now)
        overdue = late >= self.overdue_after
        if overdue and item.key not in self._alarmed:
            self._alarmed.add(item.key)
            self.overdue_alarms += 1
        level = logging.ERROR if overdue or not error.retryable else logging.WARNING
        log.log(level, "alert %s to %s not delivered (attempt %d, %s): %s; next try in %ds%s",
                item.key, item.receiver, attempts, "retryable" if error.retryable else "needs an operator",
                error, delay.total_seconds(),
                f" - UNDELIVERED FOR {late.total_seconds():.0f}s" if overdue else "")

    def health(self, now: datetime) -> OutboxHealth:
        """Outbox depth, the lateness of the most late undelivered item and the overdue count."""
        pending = self.store.outbox_pending()
        ages = [gather.overdue_age(item.payload, item.created_at, now) for item in pending]
        return OutboxHealth(depth=len(pending), oldest_age_seconds=max(ages, default=timedelta(0)).total_seconds(),
                            overdue=sum(age >= self.overdue_after for age in ages),
                            overdue_alarms=self.overdue_alarms)


def incident_traces(incident_id: str, items: Sequence[OutboxItem]) -> tuple[list[str], list[str]]:
    """The refs and states that notifying an incident left in the store, given its outbox items (for
    retention): its snooze, each line's thread reference and notification log, each item's intent
    and sent marks."""
    receivers = sorted({item.receiver for item in items})
    refs = [gather.snooze_ref(incident_id),
            *(Dispatcher._thread_ref_name(item) for item in {item.receiver: item for item in items}.values()),
            *(f"{mark}:{item.key}" for item in items for mark in ("intent", "sent"))]
    return refs, [gather.line_state_name(incident_id, receiver) for receiver in receivers]


def _team_options(config: Config, labels: Mapping[str, str]) -> dict[str, RouteOptions]:
    """Every team an incident with these labels may have been routed to, with the options of the route
    node that routes it: the routes of each severity (highest first), then any other team of the
    routing tree or of the configuration (e.g. routed by an older configuration)."""
    found: dict[str, RouteOptions] = {}
    for severity in sorted(Severity, key=lambda s: s.rank, reverse=True):
        for team, options in routes_for(config.route, {**labels, "severity": str(severity)}, severity):
            found.setdefault(team, options)
    nodes = [config.route]
    while nodes:
        node = nodes.pop(0)
        found.setdefault(node.team, node.options)
        nodes.extend(node.routes)
    for team in config.teams:
        found.setdefault(team, config.route.options)
    return found


@dataclass(frozen=True, slots=True)
class _Muting:
    """The silences active at one time and the open incidents (inhibition sources), read once."""

    silences: Sequence[Silence]
    sources: Sequence[tuple[str, Mapping[str, str]]]
    rules: Sequence[InhibitRule]
    now: datetime

    @classmethod
    def of(cls, store: Store, config: Config, incidents: Sequence[Incident], now: datetime) -> _Muting:
        return cls(silences=store.silences(active_at=now),
                   sources=[(incident.id, labels_of(incident, config)) for incident in incidents],
                   rules=config.inhibit, now=now)

    def muted(self, incident_id: str, labels: Mapping[str, str]) -> bool:
        if silenced_by(self.silences, labels, self.now) is not None:
            return True
        return bool(self.rules) and inhibited_by(self.rules, labels, incident_id, self.sources) is not None


def _catch_up_alert(incident: Incident, now: datetime) -> Alert:
    """The first notification of an open incident a receiver never heard of (its alerts were muted, or
    the receiver was added since):
    a new incident as of ``now``, with the incident's current figures and severity."""
    opened = f"{incident.opened_at:%Y-%m-%d %H:%M} UTC"
    why = "it was muted, or this team was not routed"
    alert = action_alert(incident, now, f"ongoing since {opened}, not notified until now ({why})")
    return replace(alert, state=AlertState.FIRING)

"""Whether and when one alert event is notified to one team: a pure function returning a reason.

Like Alertmanager's ``needsUpdate``, the decision is kept apart from the I/O that gathers its inputs
(silences, open incidents, the team's notification log) and is logged with its reason. Times come
from the ``now`` the caller was given, never from timers, so a replay at simulated speed decides
exactly what production would. Stages, in order:

1. silences, then inhibition: muted (a resolution still closes a thread the team already saw); a
   team that never heard of a still-open incident because it was muted gets its first notification
   once it no longer is (:meth:`service.notify.outbox.Dispatcher.remind`);
2. a team that has not been notified of the incident yet: its first notification, after
   ``group_wait`` (a resolution of an incident the team never saw is dropped);
3. snooze: routine updates and reminders wait for the end of the snooze; escalation to critical,
   resolution and people's actions go through;
4. timing: escalations, resolutions and actions go now; routine updates wait ``group_interval``
   after the team's previous notification (and are coalesced on delivery);
5. quiet hours of the route push the delivery to the end of the quiet period, unless the alert is
   critical and the route says ``except_critical``, or it is a person's action (an acknowledgement
   at 23:00 shows on the message at once, not at 07:00).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

from service.config import QuietHours, RouteOptions
from service.domain import AlertState, Severity


class Reason(StrEnum):
    FIRST_NOTIFICATION = "first notification"
    GROUP_WAIT = "first notification after group wait"
    ESCALATION = "escalation"
    RESOLUTION = "resolution"
    ACTION = "action by a person"
    GROUP_INTERVAL_ELAPSED = "group interval elapsed"
    GROUP_INTERVAL_NOT_ELAPSED = "group interval not elapsed"
    REPEAT_INTERVAL_ELAPSED = "repeat interval elapsed"
    QUIET_HOURS = "quiet hours"
    SILENCED = "silenced"
    INHIBITED = "inhibited"
    SNOOZED = "snoozed"
    NEVER_NOTIFIED = "team never notified of this incident"


class Kind(StrEnum):
    """What the event is, beyond its alert state."""

    EVENT = "event"
    """An alert event from detection (firing, escalated, updated, resolved)."""
    ACTION = "action"
    """Someone acknowledged, snoozed or resolved the incident."""
    REMINDER = "reminder"
    """``repeat_interval`` elapsed without any notification."""


@dataclass(frozen=True, kw_only=True, slots=True)
class Event:
    """The facts about one alert event that the decision needs."""

    state: AlertState
    severity: Severity
    previous_severity: Severity | None = None
    kind: Kind = Kind.EVENT


@dataclass(frozen=True, kw_only=True, slots=True)
class LineLog:
    """What one team has been told about one incident (``None`` fields: nothing yet)."""

    last_at: datetime | None = None
    """When the latest notification to this team was scheduled."""


@dataclass(frozen=True, kw_only=True, slots=True)
class Decision:
    send: bool
    at: datetime
    """When to deliver (``now`` or later); meaningless when ``send`` is false."""
    reason: Reason
    detail: str = ""


def decide(event: Event, line: LineLog, options: RouteOptions, now: datetime, *,
           silenced: str | None = None, inhibited: str | None = None,
           snoozed_until: datetime | None = None) -> Decision:
    """The notification decision for ``event`` to one team. ``silenced`` / ``inhibited`` name the
    silence or source incident that mutes it (``None``: not muted).

    >>> now = datetime(2010, 1, 21, 12, tzinfo=UTC)
    >>> decide(Event(state=AlertState.FIRING, severity=Severity.WARNING), LineLog(),
    ...        RouteOptions(group_wait=timedelta(seconds=30)), now).at.isoformat()
    '2010-01-21T12:00:30+00:00'
    """
    notified = line.last_at is not None
    closes_thread = event.state is AlertState.RESOLVED and notified
    if silenced and not closes_thread:
        return Decision(send=False, at=now, reason=Reason.SILENCED, detail=silenced)
    if inhibited and not closes_thread:
        return Decision(send=False, at=now, reason=Reason.INHIBITED, detail=inhibited)
    if not notified:
        if event.state is AlertState.RESOLVED or event.kind is not Kind.EVENT:
            return Decision(send=False, at=now, reason=Reason.NEVER_NOTIFIED)
        wait = options.group_wait
        first = Decision(send=True, at=now + wait, reason=Reason.GROUP_WAIT if wait else Reason.FIRST_NOTIFICATION)
        return _quiet(first, event, options.quiet_hours)
    if snoozed_until is not None and now < snoozed_until and _snoozable(event):
        return Decision(send=False, at=now, reason=Reason.SNOOZED, detail=f"until {snoozed_until.isoformat()}")
    return _quiet(_timing(event, line, options, now), event, options.quiet_hours)


def _snoozable(event: Event) -> bool:
    if event.kind is Kind.ACTION or event.state is AlertState.RESOLVED:
        return False
    return not (event.state is AlertState.ESCALATED and event.severity is Severity.CRITICAL)


def _timing(event: Event, line: LineLog, options: RouteOptions, now: datetime) -> Decision:
    if event.kind is Kind.ACTION:
        return Decision(send=True, at=now, reason=Reason.ACTION)
    if event.kind is Kind.REMINDER:
        return Decision(send=True, at=now, reason=Reason.REPEAT_INTERVAL_ELAPSED)
    if event.state is AlertState.ESCALATED:
        return Decision(send=True, at=now, reason=Reason.ESCALATION)
    if event.state is AlertState.RESOLVED:
        return Decision(send=True, at=now, reason=Reason.RESOLUTION)
    assert line.last_at is not None
    if line.last_at > now:  # a notification is already waiting: join it (it will be coalesced)
        return Decision(send=True, at=line.last_at, reason=Reason.GROUP_INTERVAL_NOT_ELAPSED,
                        detail="joins the pending notification")
    earliest = line.last_at + options.group_interval
    if earliest > now:
        return Decision(send=True, at=earliest, reason=Reason.GROUP_INTERVAL_NOT_ELAPSED)
    return Decision(send=True, at=now, reason=Reason.GROUP_INTERVAL_ELAPSED)


def _quiet(decision: Decision, event: Event, quiet: QuietHours | None) -> Decision:
    if quiet is None or not decision.send or event.kind is Kind.ACTION:
        return decision  # a person acting on the incident is awake: the message shows it at once
    if quiet.except_critical and event.severity is Severity.CRITICAL:
        return decision
    end = quiet_until(quiet, decision.at)
    if end is None:
        return decision
    return Decision(send=True, at=end, reason=Reason.QUIET_HOURS, detail=str(decision.reason))


def quiet_until(quiet: QuietHours, at: datetime) -> datetime | None:
    """The end (UTC) of the quiet period containing ``at``, or ``None`` outside quiet hours.

    >>> from datetime import time
    >>> night = QuietHours(start=time(22), end=time(7), timezone="Europe/Paris")
    >>> quiet_until(night, datetime(2010, 1, 21, 23, 30, tzinfo=UTC)).isoformat()  # 00:30 in Paris
    '2010-01-22T06:00:00+00:00'
    >>> quiet_until(night, datetime(2010, 1, 21, 12, tzinfo=UTC)) is None
    True
    """
    zone = ZoneInfo(quiet.timezone)
    local = at.astimezone(zone)
    clock = local.time().replace(tzinfo=None)
    wraps = quiet.end <= quiet.start
    inside = (clock >= quiet.start or clock < quiet.end) if wraps else quiet.start <= clock < quiet.end
    if not inside:
        return None
    day = local.date() + timedelta(days=1) if wraps and clock >= quiet.start else local.date()
    return datetime.combine(day, quiet.end, tzinfo=zone).astimezone(UTC)


def reminder_due(line: LineLog, options: RouteOptions, now: datetime) -> bool:
    """Whether a reminder of a still-open incident is due (``repeat_interval`` elapsed since the last
    notification to this team)."""
    return (options.repeat_interval is not None and line.last_at is not None
            and now - line.last_at >= options.repeat_interval)

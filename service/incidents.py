"""Incident lifecycle as pure functions: open, escalate, update, resolve; and people's actions
(acknowledge, snooze, resolve by hand), each returning the new incident and the alert event to send.

One open incident per brand. A new anomaly for a brand with an open incident updates it instead of
opening another; the incident resolves only after ``keep_firing_for`` without any anomaly and
without the brand even being elevated (hysteresis on time and on thresholds), so a crisis that
pauses for a night does not flap.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from enum import StrEnum

from service.domain import Alert, AlertState, Incident, Signal

UPDATE_GROWTH = 2.0
"""An open incident is re-notified ("updated") when its window volume reaches this multiple of
the volume at its last notification. Its crisis type follows its most crisis-like moment."""


@dataclass(frozen=True, kw_only=True, slots=True)
class Transition:
    incident: Incident
    state: AlertState | None
    """The alert event to send, or ``None`` when the change is silent."""


def incident_id(signal: Signal) -> str:
    """Deterministic id: the same replay gives the same ids, on one process or many."""
    return f"{signal.brand}-{signal.at:%Y%m%dT%H%MZ}"


def advance(incident: Incident | None, signal: Signal, keep_firing_for: timedelta) -> Transition | None:
    """The next state of ``brand``'s incident given the latest signal (``None``: nothing changes)."""
    if incident is None or not incident.is_open:
        if signal.severity is None:
            return None
        opened = Incident(
            id=incident_id(signal), brand=signal.brand, opened_at=signal.at, updated_at=signal.at,
            last_anomalous_at=signal.at, severity=signal.severity, peak_severity=signal.severity,
            crisis_type=signal.crisis_type, resemblance=signal.resemblance, volume=signal.volume,
            peak_volume=signal.volume, negative_share=signal.negative_share,
            expected_volume=signal.expected_volume, baseline_negative_share=signal.baseline_negative_share,
            explanation=signal.explanation, state=AlertState.FIRING, notified_volume=signal.volume)
        return Transition(incident=opened, state=AlertState.FIRING)
    if signal.severity is None:
        if signal.elevated:
            return Transition(incident=replace(incident, last_anomalous_at=signal.at), state=None)
        if signal.at - incident.last_anomalous_at < keep_firing_for:
            return None
        resolved = replace(incident, state=AlertState.RESOLVED, resolved_at=signal.at, updated_at=signal.at,
                           volume=signal.volume, negative_share=signal.negative_share, events=incident.events + 1)
        return Transition(incident=resolved, state=AlertState.RESOLVED)
    figures = dict(last_anomalous_at=signal.at, updated_at=signal.at, volume=signal.volume,
                   negative_share=signal.negative_share, expected_volume=signal.expected_volume,
                   baseline_negative_share=signal.baseline_negative_share,
                   peak_volume=max(incident.peak_volume, signal.volume))
    if signal.severity > incident.severity:
        escalated = replace(incident, **figures, severity=signal.severity, peak_severity=signal.severity,
                            crisis_type=signal.crisis_type, resemblance=signal.resemblance,
                            explanation=signal.explanation, state=AlertState.ESCALATED,
                            events=incident.events + 1, notified_volume=signal.volume)
        return Transition(incident=escalated, state=AlertState.ESCALATED)
    if signal.resemblance > incident.resemblance:
        figures.update(crisis_type=signal.crisis_type, resemblance=signal.resemblance, explanation=signal.explanation)
    if signal.volume >= incident.notified_volume * UPDATE_GROWTH:
        updated = replace(incident, **figures, state=AlertState.UPDATED, events=incident.events + 1,
                          notified_volume=signal.volume)
        return Transition(incident=updated, state=AlertState.UPDATED)
    return Transition(incident=replace(incident, **figures), state=None)


# -- people's actions (Slack buttons) ----------------------------------------------------------------

class Action(StrEnum):
    ACKNOWLEDGED = "acknowledged"
    SNOOZED = "snoozed"
    RESOLVED = "resolved"


@dataclass(frozen=True, kw_only=True, slots=True)
class Acted:
    """The result of a person's action: the incident to save and the alert event that shows it."""

    incident: Incident
    alert: Alert
    action: Action
    user: str
    snoozed_until: datetime | None = None

    def __iter__(self) -> Iterator[Incident | Alert]:
        """``incident, alert = acknowledge(...)`` works."""
        return iter((self.incident, self.alert))


def acknowledge(incident: Incident, user: str, now: datetime) -> Acted:
    """``user`` takes the incident in hand (recorded in ``acknowledged_by``; the first one stays)."""
    acked = replace(incident, acknowledged_by=incident.acknowledged_by or user,
                    updated_at=max(now, incident.updated_at), events=incident.events + 1)
    return Acted(incident=acked, alert=action_alert(acked, now, f"Acknowledged by {user}"),
                 action=Action.ACKNOWLEDGED, user=user)


def snooze(incident: Incident, user: str, until: datetime, *, now: datetime | None = None) -> Acted:
    """No routine updates until ``until`` (escalation to critical and resolution still notify). The
    caller records ``until`` (``Dispatcher.apply_action`` stores it as ref ``snooze:<incident id>``)."""
    at = now or incident.updated_at
    snoozed = replace(incident, acknowledged_by=incident.acknowledged_by or user,
                      updated_at=max(at, incident.updated_at), events=incident.events + 1)
    return Acted(incident=snoozed, alert=action_alert(snoozed, at, f"Snoozed by {user} until {until:%H:%M} UTC"),
                 action=Action.SNOOZED, user=user, snoozed_until=until)


def resolve_manually(incident: Incident, user: str, now: datetime) -> Acted:
    """``user`` declares the incident over: resolved now (a later spike opens a new incident)."""
    resolved = replace(incident, state=AlertState.RESOLVED, resolved_at=now, updated_at=max(now, incident.updated_at),
                       acknowledged_by=incident.acknowledged_by or user, events=incident.events + 1)
    return Acted(incident=resolved, alert=action_alert(resolved, now, f"Resolved by {user}"),
                 action=Action.RESOLVED, user=user)


def action_alert(incident: Incident, at: datetime, what: str) -> Alert:
    """The alert event showing an action: the incident's figures, the action as its summary."""
    state = AlertState.RESOLVED if incident.resolved_at is not None else AlertState.UPDATED
    return Alert(at=at, brand=incident.brand, incident_id=incident.id, state=state, severity=incident.severity,
                 crisis_type=incident.crisis_type, resemblance=incident.resemblance, volume=incident.volume,
                 negative_share=incident.negative_share, summary=f"{incident.brand}: {what}",
                 expected_volume=incident.expected_volume,
                 baseline_negative_share=incident.baseline_negative_share, explanation=incident.explanation,
                 opened_at=incident.opened_at, sequence=incident.events)

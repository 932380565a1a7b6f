"""Incident lifecycle as a pure function: open, escalate, update, resolve.

One open incident per brand. A new anomaly for a brand with an open incident updates it instead of
opening another; the incident resolves only after ``keep_firing_for`` without any anomaly and
without the brand even being elevated (hysteresis on time and on thresholds), so a crisis that
pauses for a night does not flap.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import timedelta

from service.domain import AlertState, Incident, Signal

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

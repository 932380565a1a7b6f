"""Incident lifecycle: open, escalate, update, resolve with hysteresis (pure function)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from service.domain import AlertState, Severity, Signal
from service.incidents import advance

T0 = datetime(2010, 1, 21, 12, 0, tzinfo=UTC)
KEEP = timedelta(hours=3)


def signal(minutes: int, severity: Severity | None, volume: int = 100, crisis_type: str = "product_recall") -> Signal:
    return Signal(brand="toyota", at=T0 + timedelta(minutes=minutes), window_start=T0, volume=volume,
                  expected_volume=10.0, volume_surprise=0.999, negative_share=0.7, baseline_negative_share=0.2,
                  negativity_shift=8.0, severity=severity, crisis_type=crisis_type, resemblance=0.8)


def test_quiet_signal_opens_nothing() -> None:
    assert advance(None, signal(0, None), KEEP) is None


def test_full_lifecycle() -> None:
    opened = advance(None, signal(0, Severity.WARNING), KEEP)
    assert opened is not None and opened.state is AlertState.FIRING
    incident = opened.incident
    assert incident.id == "toyota-20100121T1200Z" and incident.events == 1

    same = advance(incident, signal(5, Severity.WARNING, volume=120), KEEP)
    assert same is not None and same.state is None  # silent: figures updated, nobody paged
    incident = same.incident
    assert incident.last_anomalous_at == T0 + timedelta(minutes=5)

    escalated = advance(incident, signal(10, Severity.CRITICAL, volume=150), KEEP)
    assert escalated is not None and escalated.state is AlertState.ESCALATED
    incident = escalated.incident
    assert incident.severity is Severity.CRITICAL and incident.events == 2

    grown = advance(incident, signal(15, Severity.WARNING, volume=400), KEEP)
    assert grown is not None and grown.state is AlertState.UPDATED
    incident = grown.incident
    assert incident.severity is Severity.CRITICAL  # never de-escalates while open
    assert incident.peak_volume == 400 and incident.events == 3

    calm = advance(incident, signal(60, None), KEEP)
    assert calm is None  # within keep_firing_for: no flapping
    resolved = advance(incident, signal(15 + 180, None, volume=12), KEEP)
    assert resolved is not None and resolved.state is AlertState.RESOLVED
    assert resolved.incident.resolved_at == T0 + timedelta(minutes=195) and not resolved.incident.is_open

    reopened = advance(resolved.incident, signal(400, Severity.WARNING), KEEP)
    assert reopened is not None and reopened.state is AlertState.FIRING
    assert reopened.incident.id != incident.id


def test_crisis_type_follows_the_most_crisis_like_moment_silently() -> None:
    incident = advance(None, signal(0, Severity.WARNING, crisis_type="negative_buzz"), KEEP).incident
    stronger = replace(signal(5, Severity.WARNING, volume=110, crisis_type="product_recall"), resemblance=0.9)
    changed = advance(incident, stronger, KEEP)
    assert changed.state is None and changed.incident.crisis_type == "product_recall"
    weaker = replace(signal(10, Severity.WARNING, volume=110, crisis_type="scandal_legal"), resemblance=0.5)
    assert advance(changed.incident, weaker, KEEP).incident.crisis_type == "product_recall"


def test_elevated_signal_keeps_the_incident_open() -> None:
    incident = advance(None, signal(0, Severity.WARNING), KEEP).incident
    for minutes in range(5, 600, 5):
        transition = advance(incident, replace(signal(minutes, None), elevated=True), KEEP)
        assert transition is not None and transition.state is None
        incident = transition.incident
    assert incident.is_open
    assert advance(incident, signal(595 + 175, None), KEEP) is None  # last elevated at minute 595
    assert advance(incident, signal(595 + 180, None), KEEP).state is AlertState.RESOLVED


def test_people_actions_return_the_incident_and_the_alert_to_send() -> None:
    from service.incidents import Action, acknowledge, resolve_manually, snooze

    opened = advance(None, signal(0, Severity.WARNING), KEEP)
    assert opened is not None
    incident = opened.incident
    now = T0 + timedelta(minutes=12)
    acked = acknowledge(incident, "alice", now)
    assert acked.action is Action.ACKNOWLEDGED and acked.incident.acknowledged_by == "alice"
    assert acked.incident.events == 2 and acked.alert.sequence == 2 and acked.alert.state is AlertState.UPDATED
    assert acked.alert.summary == "toyota: Acknowledged by alice" and acked.alert.at == now
    assert incident.acknowledged_by is None  # pure: the input is unchanged
    incident_after, alert_after = acked  # unpacks as (incident, alert)
    assert incident_after is acked.incident and alert_after is acked.alert

    later = snooze(acked.incident, "bob", now + timedelta(hours=1), now=now)
    assert later.snoozed_until == now + timedelta(hours=1) and later.incident.acknowledged_by == "alice"
    assert later.alert.sequence == 3 and "Snoozed by bob until 13:12 UTC" in later.alert.summary
    assert later.incident.is_open

    done = resolve_manually(later.incident, "carol", now + timedelta(minutes=5))
    assert not done.incident.is_open and done.incident.resolved_at == now + timedelta(minutes=5)
    assert done.alert.state is AlertState.RESOLVED and done.alert.sequence == 4
    assert done.incident.state is AlertState.RESOLVED
    reopened = advance(done.incident, signal(30, Severity.CRITICAL), KEEP)
    assert reopened is not None and reopened.state is AlertState.FIRING  # a later spike opens a new incident
    assert reopened.incident.id != done.incident.id

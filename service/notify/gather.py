"""The I/O half of the notification decisions: reads what :mod:`service.notify.decide` needs and what a
notification carries (:class:`~service.notify.context.AlertContext`) from the store.

Per (incident, receiver) "line", a small notification log is kept in the store's state under
``notify:<incident id>:<receiver>``: when the latest notification to that receiver was scheduled.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from service.config import Config
from service.domain import Alert, AlertState, Incident
from service.notify.context import CHART_HISTORY, AlertContext, build_series, top_terms
from service.notify.decide import LineLog
from service.store.base import Store

TERMS_FROM_MENTIONS = 50


def labels_of(alert: Alert | Incident, config: Config, lang: str = "") -> dict[str, str]:
    """The routing labels of an alert or incident (brand, team, severity, crisis_type, lang)."""
    brand = config.brand(alert.brand)
    return {"brand": alert.brand, "team": brand.team or "", "severity": str(alert.severity),
            "crisis_type": alert.crisis_type, "lang": lang}


def snooze_ref(incident_id: str) -> str:
    """The ref holding an incident's snooze end (ISO 8601), shared with the Slack actions API."""
    return f"snooze:{incident_id}"


def snoozed_until(store: Store, incident_id: str) -> datetime | None:
    raw = store.get_ref(snooze_ref(incident_id))
    try:
        return datetime.fromisoformat(raw) if raw else None
    except ValueError:
        return None


def line_state_name(incident_id: str, receiver: str) -> str:
    return f"notify:{incident_id}:{receiver}"


def load_line(store: Store, incident_id: str, receiver: str) -> LineLog:
    state = store.load_state(line_state_name(incident_id, receiver)) or {}
    last = state.get("last_at")
    return LineLog(last_at=datetime.fromisoformat(last) if isinstance(last, str) else None)


def save_line(store: Store, incident_id: str, receiver: str, line: LineLog) -> None:
    record: dict[str, Any] = {"last_at": line.last_at.isoformat() if line.last_at else None}
    store.save_state(line_state_name(incident_id, receiver), record)


def build_context(store: Store, config: Config, alert: Alert, *, action: str | None = None,
                  actor: str | None = None, chart: bool | None = None) -> AlertContext:
    """The status, series and top terms of ``alert`` as the store knows them now.

    The series (for the chart) is gathered for firing and escalated events unless ``chart`` says
    otherwise; the top terms come from the incident's most negative kept mentions."""
    incident = store.incident(alert.incident_id)
    snooze = snoozed_until(store, alert.incident_id)
    settings = config.brand(alert.brand).detection
    opened = alert.opened_at or alert.at
    terms: tuple[str, ...] = ()
    if alert.state is not AlertState.RESOLVED:
        texts = [e.text for e in store.exemplars(alert.brand, opened - settings.window, alert.at + settings.bucket,
                                                 TERMS_FROM_MENTIONS)]
        terms = top_terms(texts, exclude=[alert.brand, *alert.brand.split()])
    wants_chart = chart if chart is not None else alert.state in (AlertState.FIRING, AlertState.ESCALATED)
    series = None
    if wants_chart:
        start = opened - CHART_HISTORY
        end = alert.at + settings.bucket
        series = build_series(alert, store.buckets(alert.brand, start, end), settings.bucket, settings.window,
                              start, end)
    return AlertContext(acknowledged_by=incident.acknowledged_by if incident else None,
                        snoozed_until=snooze if snooze and snooze > alert.at else None,
                        action=action, actor=actor, top_terms=terms, series=series)


def open_incident_labels(store: Store, config: Config) -> list[tuple[str, Mapping[str, str]]]:
    """``(incident id, labels)`` of every open incident (inhibition sources)."""
    return [(incident.id, labels_of(incident, config)) for incident in store.incidents(open_only=True, limit=1000)]


def overdue_age(payload: Mapping[str, Any], created_at: datetime, now: datetime) -> timedelta:
    """How late an undelivered item is: since the time it was scheduled for (quiet hours and group
    waits are not lateness), or since it was recorded when the payload does not say."""
    due = payload.get("delivery", {}).get("due_at") if isinstance(payload.get("delivery"), Mapping) else None
    try:
        start = datetime.fromisoformat(due) if isinstance(due, str) else created_at
    except ValueError:
        start = created_at
    return max(timedelta(0), now - start)

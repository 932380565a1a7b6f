"""Incident timelines: every alert event and Slack action of an incident, kept in the store.

One small named reference per incident (``timeline:<incident id>``, a JSON list, the last
:data:`TIMELINE_LIMIT` events), so any process sharing the store shows the same history.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Mapping
from typing import Any

from service.domain import Alert
from service.store.base import Store

TIMELINE_LIMIT = 100
"""Events kept per incident timeline (the oldest are dropped)."""


def timeline_ref(incident_id: str) -> str:
    return f"timeline:{incident_id}"


class Timeline:
    """Per-incident event history kept in the store (ref ``timeline:<incident id>``, JSON list)."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self._lock = threading.Lock()

    def add(self, incident_id: str, event: Mapping[str, Any]) -> None:
        with self._lock:
            events = self.read(incident_id)
            events.append(dict(event))
            self.store.set_ref(timeline_ref(incident_id), json.dumps(events[-TIMELINE_LIMIT:], ensure_ascii=False))

    def read(self, incident_id: str) -> list[dict[str, Any]]:
        raw = self.store.get_ref(timeline_ref(incident_id))
        try:
            events = json.loads(raw) if raw else []
        except ValueError:
            return []
        return events if isinstance(events, list) else []


def alert_event(alert: Alert) -> dict[str, Any]:
    return {"at": alert.at.isoformat(), "kind": "alert", "state": str(alert.state), "severity": str(alert.severity),
            "volume": alert.volume, "negative_share": round(alert.negative_share, 4), "summary": alert.summary}

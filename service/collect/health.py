"""Per-source health, and the operational alerts it raises (distinct from crisis alerts).

:class:`SourceHealth` is what the API and metrics show. :func:`ops_event` is the pure decision: a
source that keeps failing (``fail_after`` runs in a row) or goes silent (delivered mentions before,
none for ``silent_after``) raises one operational alert, and one recovery notice when it delivers
again. ``ops_alert`` in the health remembers which alert is open, so each is sent once, across
restarts.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from service.clock import floor_time
from service.collect.base import parse_time

HOUR = timedelta(hours=1)


class OpsState(StrEnum):
    FAILING = "failing"
    SILENT = "silent"
    RECOVERED = "recovered"


@dataclass(frozen=True, kw_only=True, slots=True)
class OpsEvent:
    """An operational alert about a source (not a crisis): failing, silent, or recovered."""

    source: str
    state: OpsState
    at: datetime
    message: str


@dataclass(frozen=True, kw_only=True, slots=True)
class SourceHealth:
    """What the API and metrics say about one source."""

    source: str
    last_attempt: datetime | None = None
    last_success: datetime | None = None
    last_error: str | None = None
    last_error_at: datetime | None = None
    consecutive_failures: int = 0
    mentions_total: int = 0
    last_mentions: int = 0
    last_mention_at: datetime | None = None
    """End of the last run that delivered at least one mention."""
    retry_after: datetime | None = None
    """The server asked us not to come back before this time; runs until then are skipped."""
    ops_alert: OpsState | None = None
    """The operational alert currently open for this source (``failing`` or ``silent``)."""
    hourly: tuple[tuple[datetime, int], ...] = ()
    """Mentions collected per hour (start of hour, count), the last 24 hours."""

    def mentions_per_hour(self, now: datetime) -> float:
        """Average mentions per hour over the last 24 hours."""
        since = now - timedelta(hours=24)
        return sum(count for start, count in self.hourly if start >= since) / 24.0

    def succeeded(self, now: datetime, count: int) -> SourceHealth:
        hour = floor_time(now, HOUR)
        counts = {start: n for start, n in self.hourly if start > hour - timedelta(hours=24)}
        counts[hour] = counts.get(hour, 0) + count
        return replace(self, last_attempt=now, last_success=now, consecutive_failures=0,
                       mentions_total=self.mentions_total + count, last_mentions=count, retry_after=None,
                       last_mention_at=now if count else self.last_mention_at, hourly=tuple(sorted(counts.items())))

    def failed(self, now: datetime, error: str, retry_after: float | None) -> SourceHealth:
        until = now + timedelta(seconds=retry_after) if retry_after else None
        return replace(self, last_attempt=now, last_error=error, last_error_at=now,
                       consecutive_failures=self.consecutive_failures + 1, last_mentions=0, retry_after=until)

    def to_state(self) -> dict[str, Any]:
        def iso(value: datetime | None) -> str | None:
            return value.isoformat() if value is not None else None

        return {
            "last_attempt": iso(self.last_attempt), "last_success": iso(self.last_success),
            "last_error": self.last_error, "last_error_at": iso(self.last_error_at),
            "consecutive_failures": self.consecutive_failures, "mentions_total": self.mentions_total,
            "last_mentions": self.last_mentions, "last_mention_at": iso(self.last_mention_at),
            "retry_after": iso(self.retry_after), "ops_alert": str(self.ops_alert) if self.ops_alert else None,
            "hourly": [[start.isoformat(), count] for start, count in self.hourly],
        }

    @classmethod
    def from_state(cls, source: str, state: Mapping[str, Any] | None) -> SourceHealth:
        """Health from saved state; anything unreadable starts from zero rather than failing."""
        state = state or {}

        def integer(key: str) -> int:
            value = state.get(key)
            return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else 0

        def text(key: str) -> str | None:
            value = state.get(key)
            return value if isinstance(value, str) else None

        hourly = []
        for item in state.get("hourly") or ():
            if isinstance(item, list | tuple) and len(item) == 2 and isinstance(item[1], int):
                start = parse_time(item[0])
                if start is not None:
                    hourly.append((start, item[1]))
        alert = text("ops_alert")
        return cls(
            source=source, last_attempt=parse_time(state.get("last_attempt")),
            last_success=parse_time(state.get("last_success")), last_error=text("last_error"),
            last_error_at=parse_time(state.get("last_error_at")),
            consecutive_failures=integer("consecutive_failures"), mentions_total=integer("mentions_total"),
            last_mentions=integer("last_mentions"), last_mention_at=parse_time(state.get("last_mention_at")),
            retry_after=parse_time(state.get("retry_after")),
            ops_alert=OpsState(alert) if alert in (OpsState.FAILING, OpsState.SILENT) else None,
            hourly=tuple(hourly),
        )


def ops_event(health: SourceHealth, now: datetime, *, fail_after: int,
              silent_after: timedelta | None) -> tuple[SourceHealth, OpsEvent | None]:
    """The health with its ``ops_alert`` updated, and the event to send (``None``: nothing new).

    >>> from datetime import UTC
    >>> t = datetime(2026, 11, 26, tzinfo=UTC)
    >>> sick = SourceHealth(source="s", consecutive_failures=3, last_error="HTTP 500")
    >>> ops_event(sick, t, fail_after=3, silent_after=None)[1].state
    <OpsState.FAILING: 'failing'>
    """
    name = health.source
    if health.consecutive_failures >= fail_after:
        if health.ops_alert is OpsState.FAILING:
            return health, None
        message = (f'source "{name}" has failed {health.consecutive_failures} times in a row; '
                   f"last error: {health.last_error}")
        return replace(health, ops_alert=OpsState.FAILING), OpsEvent(source=name, state=OpsState.FAILING, at=now,
                                                                     message=message)
    silent = (silent_after is not None and health.consecutive_failures == 0 and health.last_mention_at is not None
              and now - health.last_mention_at >= silent_after)
    if silent:
        if health.ops_alert is OpsState.SILENT:
            return health, None
        message = (f'source "{name}" has delivered no mention since {health.last_mention_at.isoformat()} '
                   f"although it answers: check its URL or query")
        return replace(health, ops_alert=OpsState.SILENT), OpsEvent(source=name, state=OpsState.SILENT, at=now,
                                                                    message=message)
    if health.ops_alert is not None and health.consecutive_failures == 0:
        was = health.ops_alert
        if was is OpsState.SILENT and health.last_mentions == 0:
            return health, None
        return replace(health, ops_alert=None), OpsEvent(
            source=name, state=OpsState.RECOVERED, at=now, message=f'source "{name}" recovered (it was {was})')
    return health, None

"""Time sources. The only module that reads the wall clock.

Everything that depends on "now" receives a :class:`Clock` (or a ``now`` argument computed from
one), so that ``crisiswatch replay`` on a :class:`SimulatedClock` runs exactly the production path.

>>> from datetime import datetime, timedelta, UTC
>>> clock = SimulatedClock(datetime(2010, 1, 21, tzinfo=UTC))
>>> clock.advance(timedelta(minutes=5)).isoformat()
'2010-01-21T00:05:00+00:00'
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from typing import Protocol


class Clock(Protocol):
    """Something that tells the current time as an aware UTC datetime."""

    def now(self) -> datetime:
        """Return the current instant, timezone-aware, in UTC."""
        ...

    def monotonic(self) -> float:
        """Seconds on a clock that never goes backwards (for measuring durations)."""
        ...


class SystemClock:
    """The wall clock, for production."""

    def now(self) -> datetime:
        return datetime.now(UTC)

    def monotonic(self) -> float:
        return time.monotonic()


class SimulatedClock:
    """A clock that only moves when told to; used by replay and tests."""

    def __init__(self, start: datetime) -> None:
        self._now = ensure_utc(start)

    def now(self) -> datetime:
        return self._now

    def monotonic(self) -> float:
        return self._now.timestamp()

    def set(self, instant: datetime) -> datetime:
        """Move to ``instant``; moving backwards is refused (time never rewinds)."""
        instant = ensure_utc(instant)
        if instant < self._now:
            raise ValueError(f"simulated clock cannot go back from {self._now.isoformat()} to {instant.isoformat()}")
        self._now = instant
        return self._now

    def advance(self, delta: timedelta) -> datetime:
        return self.set(self._now + delta)


def ensure_utc(instant: datetime) -> datetime:
    """Return ``instant`` in UTC; a naive datetime is refused rather than guessed."""
    if instant.tzinfo is None or instant.utcoffset() is None:
        raise ValueError(f"naive datetime {instant.isoformat()} has no UTC offset")
    return instant.astimezone(UTC)


def floor_time(instant: datetime, width: timedelta) -> datetime:
    """Start of the bucket of ``width`` that contains ``instant`` (aligned on the Unix epoch).

    >>> floor_time(datetime(2010, 1, 21, 10, 7, 31, tzinfo=UTC), timedelta(minutes=5)).isoformat()
    '2010-01-21T10:05:00+00:00'
    """
    seconds = int(width.total_seconds())
    stamp = int(instant.timestamp())
    return datetime.fromtimestamp(stamp - stamp % seconds, UTC)

"""Mention rates over time: daily and weekly rhythm, incident pulses, Poisson arrival times.

A *rate* is a function ``datetime -> mentions per hour``. Rates compose by addition
(:func:`total`) and multiplication by the rhythm of a place (:func:`rhythmic`). Arrival times are
drawn per 5-minute bin from a Poisson law whose mean is the rate at the bin's middle.

>>> from datetime import UTC
>>> r = pulse(datetime(2020, 1, 1, tzinfo=UTC), peak=60.0, rise=timedelta(0), half_life=timedelta(hours=1))
>>> round(r(datetime(2020, 1, 1, 1, tzinfo=UTC)), 1)
30.0
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import numpy as np

Rate = Callable[[datetime], float]

BIN = timedelta(minutes=5)

# Relative activity per local hour (0..23) of people posting about cars on social networks:
# night trough, morning commute, lunch, evening peak. Mean is normalised to 1 below.
_SOCIAL_HOURS = (0.35, 0.2, 0.12, 0.08, 0.08, 0.15, 0.4, 0.85, 1.15, 1.2, 1.25, 1.35,
                 1.5, 1.4, 1.25, 1.2, 1.25, 1.4, 1.55, 1.7, 1.75, 1.6, 1.2, 0.7)
# News desks publish in office hours.
_NEWS_HOURS = (0.1, 0.05, 0.05, 0.05, 0.1, 0.3, 0.8, 1.4, 1.8, 1.9, 1.8, 1.7,
               1.5, 1.6, 1.7, 1.6, 1.5, 1.3, 1.1, 0.9, 0.7, 0.5, 0.3, 0.2)
# Monday .. Sunday.
_SOCIAL_DAYS = (1.0, 1.0, 1.0, 1.05, 1.1, 0.85, 0.75)
_NEWS_DAYS = (1.15, 1.15, 1.15, 1.15, 1.1, 0.5, 0.4)

_PROFILES = {
    "social": (_SOCIAL_HOURS, _SOCIAL_DAYS),
    "news": (_NEWS_HOURS, _NEWS_DAYS),
}


def _normalised(values: Sequence[float]) -> tuple[float, ...]:
    mean = sum(values) / len(values)
    return tuple(v / mean for v in values)


_NORMALISED = {name: (_normalised(h), _normalised(d)) for name, (h, d) in _PROFILES.items()}


def rhythm(at: datetime, *, tz: str, profile: str = "social", depth: float = 1.0) -> float:
    """Multiplier (mean about 1) of the activity at ``at`` in the place ``tz``.

    ``depth`` in [0, 1] flattens the rhythm: 0 gives a constant 1 (breaking news ignores the clock).
    """
    local = at.astimezone(ZoneInfo(tz))
    hours, days = _NORMALISED[profile]
    raw = hours[local.hour] * days[local.weekday()]
    return 1.0 + depth * (raw - 1.0)


def constant(per_day: float) -> Rate:
    return lambda _at: per_day / 24.0


def rhythmic(base: Rate, *, tz: str, profile: str = "social", depth: float = 1.0) -> Rate:
    return lambda at: base(at) * rhythm(at, tz=tz, profile=profile, depth=depth)


def total(*rates: Rate) -> Rate:
    return lambda at: sum(r(at) for r in rates)


def pulse(start: datetime, *, peak: float, rise: timedelta, half_life: timedelta,
          floor: float = 0.0, floor_half_life: timedelta | None = None) -> Rate:
    """A burst starting at ``start``: linear rise to ``peak`` per hour over ``rise``, then
    exponential decay with ``half_life`` towards a slower tail (``floor`` per hour decaying
    with ``floor_half_life``, default ten half-lives)."""
    tail = floor_half_life or half_life * 10

    def rate(at: datetime) -> float:
        if at < start:
            return 0.0
        since = at - start
        if since < rise:
            return (peak + floor) * since / rise
        after = (since - rise) / timedelta(hours=1)
        fast = peak * math.pow(0.5, after / (half_life / timedelta(hours=1)))
        slow = floor * math.pow(0.5, after / (tail / timedelta(hours=1)))
        return fast + slow

    return rate


def ramp(start: datetime, end: datetime, *, to: float) -> Rate:
    """Linear growth from 0 at ``start`` to ``to`` per hour at ``end``; held at ``to`` afterwards."""
    span = end - start

    def rate(at: datetime) -> float:
        if at < start:
            return 0.0
        return to * min(1.0, (at - start) / span)

    return rate


def window(rate: Rate, start: datetime, end: datetime) -> Rate:
    """``rate`` inside ``[start, end)``, zero elsewhere."""
    return lambda at: rate(at) if start <= at < end else 0.0


def arrivals(rate: Rate, start: datetime, end: datetime, rng: np.random.Generator) -> list[datetime]:
    """Arrival times (whole seconds, UTC, sorted) of a Poisson process of intensity ``rate``."""
    times: list[datetime] = []
    at = start
    while at < end:
        mean = max(0.0, rate(at + BIN / 2)) * (BIN / timedelta(hours=1))
        count = int(rng.poisson(mean)) if mean > 0 else 0
        for offset in sorted(int(s) for s in rng.integers(0, int(BIN.total_seconds()), size=count)):
            times.append((at + timedelta(seconds=offset)).astimezone(UTC))
        at += BIN
    return times


def expected_count(rate: Rate, start: datetime, end: datetime) -> float:
    """Expected number of arrivals, for sizing a scenario before drawing it."""
    steps = int((end - start) / BIN)
    return sum(rate(start + BIN * i + BIN / 2) for i in range(steps)) * (BIN / timedelta(hours=1))

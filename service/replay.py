"""Replay: recorded mentions through the production pipeline on a simulated clock.

Mentions arrive at their event time. The clock advances bucket by bucket; before each tick every
mention published up to that instant is ingested, exactly as collectors would have delivered them.
After the last mention the replay keeps ticking long enough for open incidents to resolve.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from service.clock import SimulatedClock, floor_time
from service.domain import Alert, Mention
from service.pipeline import EVALUATION_DELAY, Pipeline

INGEST_BATCH = 5000


@dataclass
class ReplayResult:
    alerts: list[Alert] = field(default_factory=list)
    mentions: int = 0
    duplicates: int = 0
    unattributed: int = 0
    started: datetime | None = None
    ended: datetime | None = None


def replay(mentions: Sequence[Mention], pipeline: Pipeline, clock: SimulatedClock, *, step: timedelta,
           tail: timedelta, progress: Callable[[int, int], None] | None = None) -> ReplayResult:
    """Run ``mentions`` (any order) through ``pipeline``; ``step`` is the tick interval (the
    smallest bucket), ``tail`` how long to keep ticking after the last mention."""
    ordered = sorted(mentions, key=lambda m: m.published_at)
    result = ReplayResult(mentions=len(ordered))
    if not ordered:
        return result
    first, last = ordered[0].published_at, ordered[-1].published_at
    tick_at = floor_time(first, step) + EVALUATION_DELAY
    while tick_at < clock.now():  # the clock may already be past the first boundary
        tick_at += step
    end = last + tail
    result.started = floor_time(first, step)
    position, total = 0, len(ordered)
    while tick_at <= end + step:
        batch_end = position
        while batch_end < total and ordered[batch_end].published_at <= tick_at:
            batch_end += 1
        for chunk in range(position, batch_end, INGEST_BATCH):
            clock.set(max(clock.now(), ordered[min(chunk + INGEST_BATCH, batch_end) - 1].published_at))
            outcome = pipeline.ingest(ordered[chunk:min(chunk + INGEST_BATCH, batch_end)])
            result.duplicates += outcome.duplicates
            result.unattributed += outcome.unattributed
        position = batch_end
        clock.set(tick_at)
        result.alerts.extend(pipeline.tick())
        if progress is not None:
            progress(position, total)
        tick_at += step
    result.ended = clock.now()
    return result

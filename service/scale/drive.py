"""Recorded mentions through the stream and the workers, on a simulated clock (tests, benchmarks).

The same schedule as :func:`service.replay.replay`: before each tick, the mentions published up to
that instant are appended to the stream (instead of ingested in-process), then the tick runs behind
the watermark: the same alerts as the single process. With ``lookahead=1`` the mentions of the next
tick are appended before a tick runs, as live collectors would, so workers count them while the
tick evaluates (for throughput): buckets, incidents and alert events do not change (a tick only
evaluates buckets that closed before its barrier), but an alert's example mentions may, since the
exemplars kept per brand-hour (the most negative five) can then include mentions from later in
that hour.

Redis going away is waited out: appends are retried (a retried append may add an
entry twice; workers count each mention id once), failed ticks are retried from the last checkpoint.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from datetime import datetime, timedelta

import redis

from service.clock import Clock, SimulatedClock, floor_time
from service.domain import Alert, Mention
from service.pipeline import EVALUATION_DELAY
from service.replay import INGEST_BATCH, ReplayResult
from service.scale.stream import MentionStream
from service.scale.ticker import Ticker, WorkersBehind
from service.scale.worker import Backoff
from service.store.base import StoreError

log = logging.getLogger("crisiswatch.scale.drive")

_REDIS_AWAY = (redis.ConnectionError, redis.TimeoutError, redis.ResponseError, StoreError)


class StreamReplay:
    def __init__(self, *, stream: MentionStream, ticker: Ticker, clock: SimulatedClock, waiter: Clock,
                 fence: str | None = None, tick_timeout: timedelta = timedelta(seconds=60),
                 give_up_after: timedelta = timedelta(seconds=120), lookahead: int = 0) -> None:
        self.stream, self.ticker, self.clock, self.waiter = stream, ticker, clock, waiter
        self.lookahead = lookahead
        self.fence, self.tick_timeout, self.give_up_after = fence, tick_timeout, give_up_after
        self.stop = threading.Event()
        self.retries = 0
        """How many appends and ticks had to be retried (Redis away)."""

    def run(self, mentions: Sequence[Mention], *, step: timedelta, tail: timedelta) -> ReplayResult:
        ordered = sorted(mentions, key=lambda m: m.published_at)
        result = ReplayResult(mentions=len(ordered))
        if not ordered:
            return result
        self._retry(self.stream.ensure_group)
        first, last = ordered[0].published_at, ordered[-1].published_at
        tick_at = floor_time(first, step) + EVALUATION_DELAY
        while tick_at < self.clock.now():
            tick_at += step
        result.started = floor_time(first, step)
        position, total, barrier = 0, len(ordered), None
        due: list[tuple[datetime, str | None]] = []  # ticks whose mentions are appended, not yet run
        while tick_at <= last + tail + step:
            batch_end = position
            while batch_end < total and ordered[batch_end].published_at <= tick_at:
                batch_end += 1
            for chunk in range(position, batch_end, INGEST_BATCH):
                part = ordered[chunk:min(chunk + INGEST_BATCH, batch_end)]
                barrier = self._retry(lambda part=part: self.stream.add(part, fence=self.fence)) or barrier
            position = batch_end
            due.append((tick_at, barrier))
            if len(due) > self.lookahead:
                result.alerts.extend(self._tick(*due.pop(0)))
            tick_at += step
        for at, mark in due:
            result.alerts.extend(self._tick(at, mark))
        result.ended = self.clock.now()
        return result

    def _tick(self, at: datetime, barrier: str | None) -> list[Alert]:
        self.clock.set(at)
        return self._retry(lambda: self.ticker.tick(barrier, timeout=self.tick_timeout, stop=self.stop))

    def _retry(self, work):  # type: ignore[no-untyped-def]
        backoff = Backoff(0.05, 1.0)
        deadline = self.waiter.monotonic() + self.give_up_after.total_seconds()
        while True:
            try:
                return work()
            except (*_REDIS_AWAY, WorkersBehind) as exc:
                if self.waiter.monotonic() > deadline or self.stop.is_set():
                    raise
                self.retries += 1
                log.info("replay waiting for Redis: %s", exc)
                self.stop.wait(backoff.next())

"""Detection ticks behind the watermark: results that do not depend on worker speed.

A tick first takes a *barrier*: the id of the newest stream entry at that moment (or the last entry the
caller appended). It evaluates buckets only once the stream's watermark has passed the barrier, i.e.
once every mention appended before the tick has been counted; until then it waits (or, on a live
service, skips this tick and tries again at the next one). After the tick, the detector states and
evaluation cursors are checkpointed (a new lease holder resumes exactly there) and the stream is
trimmed up to the watermark. Within a tick, each brand's buckets are read once (the pipeline does
that for every caller).

Brands that only workers have seen are discovered from the store: the first tick that sees a brand
starts its evaluation at the start of its earliest bucket, as a single process would have done when
ingesting its first mention.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import datetime, timedelta

from service.clock import Clock
from service.domain import Alert
from service.pipeline import Pipeline
from service.scale.stream import MentionStream
from service.store import from_us
from service.store.base import StoreError
from service.store.redis import DAY_US, RedisStore

log = logging.getLogger("crisiswatch.scale.ticker")

POLL = timedelta(milliseconds=2)


class WorkersBehind(Exception):
    """The watermark did not pass the barrier in time: the tick was not run."""


class Ticker:
    """Runs the pipeline's ticks once the workers have caught up (see the module docstring).

    ``build`` makes a fresh pipeline from the store (used again after a failed tick, so that the
    in-memory detectors restart from the last checkpoint rather than from a half-applied tick)."""

    def __init__(self, *, build: Callable[[], Pipeline], stream: MentionStream, store: RedisStore,
                 clock: Clock) -> None:
        self.build, self.stream, self.store, self.clock = build, stream, store, clock
        self.pipeline = self.build()

    def wait_for(self, barrier: str | None, timeout: timedelta, stop: threading.Event | None = None) -> bool:
        """Wait until every entry up to ``barrier`` is processed; ``False`` on timeout or stop."""
        stop = stop or threading.Event()
        deadline = self.clock.monotonic() + timeout.total_seconds()
        while not self.stream.processed_through(barrier):
            if stop.is_set() or self.clock.monotonic() >= deadline:
                return False
            stop.wait(POLL.total_seconds())
        return True

    def tick(self, barrier: str | None, *, timeout: timedelta, stop: threading.Event | None = None) -> list[Alert]:
        """One tick behind the watermark. Raises :class:`WorkersBehind` when workers did not catch up
        within ``timeout``, :class:`StoreError` when Redis failed (the pipeline is then rebuilt from
        the last checkpoint)."""
        if not self.wait_for(barrier, timeout, stop):
            raise WorkersBehind(f"mentions up to stream entry {barrier} not all processed after {timeout}")
        try:
            self.store.ping()
            self._discover()
            alerts = self.pipeline.tick()
            self.pipeline.checkpoint(self.clock.now())
        except StoreError:
            log.warning("detection tick failed; detectors restart from the last checkpoint")
            self.pipeline = self._rebuild()
            raise
        try:
            self.stream.trim()
        except Exception as exc:  # trimming is housekeeping: the next tick trims
            log.warning("stream not trimmed: %s", exc)
        return alerts

    def _rebuild(self) -> Pipeline:
        try:
            return self.build()
        except StoreError:
            return self.pipeline  # still unreachable: rebuilt at the next failure

    def _discover(self) -> None:
        pipeline = self.pipeline
        for brand in self.store.brands():
            if brand not in pipeline.next_bucket:
                first = self.first_bucket(brand)
                if first is not None:
                    with pipeline.lock:
                        pipeline.start_brand(brand, first)

    def first_bucket(self, brand: str) -> datetime | None:
        days = self.stream.client.zrange(self.store.keys.bucket_days(brand), 0, 0)
        if not days:
            return None
        day = int(days[0])
        found = self.store.buckets(brand, from_us(day * DAY_US), from_us((day + 1) * DAY_US))
        return found[0].start if found else None

"""Detection ticks behind the watermark: results that do not depend on worker speed.

A tick first takes a *barrier*: the id of the newest stream entry at that moment (or the last entry the
caller appended). It evaluates buckets only once the stream's watermark has passed the barrier, i.e.
once every mention appended before the tick has been counted; until then it waits (or, on a live
service, skips this tick and tries again at the next one). After the tick, the detector states and
evaluation cursors are checkpointed (a new lease holder resumes exactly there) and the stream is
trimmed up to the watermark. Within a tick, the buckets every brand's evaluation needs are read in one
round trip up front (:meth:`~service.store.redis.RedisStore.prefetched`), and the checkpoint is written in
one round trip (:meth:`~service.store.redis.RedisStore.batch`).

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
from service.pipeline import EVALUATION_DELAY, Pipeline
from service.scale.stream import MentionStream
from service.store import from_us
from service.store.base import StoreError
from service.store.redis import DAY_US, RedisStore

log = logging.getLogger("crisiswatch.scale.ticker")

POLL = timedelta(milliseconds=2)
POLL_MAX = timedelta(milliseconds=20)
"""The watermark is read every 2 ms at first, then less and less often, at most 20 ms apart (polling
takes CPU from the workers on a small machine)."""


class WorkersBehind(Exception):
    """The watermark did not pass the barrier in time: the tick was not run."""


class Ticker:
    """Runs the pipeline's ticks once the workers have caught up (see the module docstring).

    ``build`` makes a fresh pipeline from the store (used again after a failed tick, so that the
    in-memory detectors restart from the last checkpoint rather than from a half-applied tick)."""

    def __init__(self, *, build: Callable[[], Pipeline], stream: MentionStream, store: RedisStore,
                 clock: Clock, fence_token: int | None = None) -> None:
        self.build, self.stream, self.store, self.clock = build, stream, store, clock
        self.fence_token = fence_token
        """The lease token this ticker's writes carry (:meth:`RedisStore.fenced_as`); ``None``: the store's."""
        self.pipeline = self.build()

    def wait_for(self, barrier: str | None, timeout: timedelta, stop: threading.Event | None = None) -> bool:
        """Wait until every entry up to ``barrier`` is processed; ``False`` on timeout or stop."""
        stop = stop or threading.Event()
        deadline = self.clock.monotonic() + timeout.total_seconds()
        pause = POLL.total_seconds()
        while not self.stream.processed_through(barrier):
            if stop.is_set() or self.clock.monotonic() >= deadline:
                return False
            stop.wait(pause)
            pause = min(pause * 1.5, POLL_MAX.total_seconds())  # a long wait polls less often
        return True

    def tick(self, barrier: str | None, *, timeout: timedelta, stop: threading.Event | None = None) -> list[Alert]:
        """One tick behind the watermark. Raises :class:`WorkersBehind` when workers did not catch up
        within ``timeout``, :class:`StoreError` when Redis failed (the pipeline is then rebuilt from
        the last checkpoint)."""
        if not self.wait_for(barrier, timeout, stop):
            raise WorkersBehind(f"mentions up to stream entry {barrier} not all processed after {timeout}")
        try:
            with self.store.fenced_as(self.fence_token):
                self._discover()
                with self.store.prefetched(self._ranges()):
                    alerts = self.pipeline.tick()
                with self.store.batch():  # every brand's state and cursor in one round trip
                    self.pipeline.checkpoint(self.clock.now())
        except StoreError:
            log.warning("detection tick failed; detectors restart from the last checkpoint")
            failed, self.pipeline = self.pipeline, self._rebuild()
            if self.pipeline is not failed:  # alert events not yet in the outbox are dispatched by the next tick
                self.pipeline.undispatched[:0] = failed.undispatched
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

    def _ranges(self) -> dict[str, tuple[datetime, datetime]]:
        """The buckets each known brand's evaluation will read in this tick (see ``Pipeline._evaluate``)."""
        pipeline = self.pipeline
        now = pipeline.clock.now()  # the detection clock (simulated in replays), not the waiting one
        ranges = {}
        with pipeline.lock:
            for brand, start in pipeline.next_bucket.items():
                settings = pipeline.config.brand(brand).detection
                if start + settings.bucket + EVALUATION_DELAY <= now:
                    ranges[brand] = (start + settings.bucket - settings.window, now)
        return ranges

    def _discover(self) -> None:
        """Start evaluating brands that workers counted and this pipeline does not know yet (one read
        of the brand registry; the store's checks only for brands new to this pipeline)."""
        pipeline = self.pipeline
        candidates = self.stream.client.smembers(self.store.keys.brands())
        if all(brand in pipeline.next_bucket for brand in candidates):
            return
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

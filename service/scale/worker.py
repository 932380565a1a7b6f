"""A worker of the consumer group: enrich, then count each mention exactly once, then acknowledge.

Per batch of stream entries: decode -> enrich (the pipeline's :class:`~service.enrich.enricher.Enricher`)
-> for each brand, one atomic script marks the mention ids as processed and adds their deltas to the
buckets (:meth:`service.store.redis.RedisStore.add_to_buckets_once`) -> exemplars (idempotent) ->
``XACK``. A crash anywhere leaves the entries pending; whoever processes them again (the same
consumer after a restart, or another one through ``XAUTOCLAIM``) finds the ids already marked and
adds nothing twice. Connection losses and server restarts are waited out with capped exponential
backoff; the entries in flight stay pending and are processed after reconnecting.
"""

from __future__ import annotations

import logging
import random
import threading
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

import redis

from service.clock import Clock
from service.domain import Enriched, Mention
from service.pipeline import EXEMPLARS_PER_HOUR, Pipeline
from service.scale.stream import Entry, MentionStream
from service.store import to_us
from service.store.base import StoreError
from service.store.redis import DAY_US, RedisStore

log = logging.getLogger("crisiswatch.scale.worker")


@dataclass(frozen=True, kw_only=True, slots=True)
class WorkerSettings:
    batch: int = 500
    """Entries read per ``XREADGROUP``."""
    block_ms: int = 1000
    """How long a read waits for new entries (also how fast a stop is noticed)."""
    claim_idle_ms: int = 30_000
    """Entries pending this long in another consumer are taken over (that consumer is presumed dead)."""
    claim_every: float = 5.0
    """Seconds between two ``XAUTOCLAIM`` sweeps."""
    keep_days: int = 3
    """Processed-id markers of a brand-day are kept this many days after its last mention was counted
    (a mention redelivered, or collected again, within that time is not counted twice)."""
    backoff_base: float = 0.1
    backoff_cap: float = 5.0


class Backoff:
    """Capped exponential backoff with full jitter: 0.1 s, 0.2 s, 0.4 s ... at most ``cap``."""

    def __init__(self, base: float, cap: float, rng: random.Random | None = None) -> None:
        self.base, self.cap, self.failures = base, cap, 0
        self._rng = rng or random.Random()

    def next(self) -> float:
        self.failures += 1
        return self._rng.uniform(self.base / 2, min(self.cap, self.base * 2 ** (self.failures - 1)))

    def reset(self) -> None:
        self.failures = 0


_RETRYABLE = (redis.ConnectionError, redis.TimeoutError, redis.ResponseError, StoreError)


class Worker:
    def __init__(self, *, stream: MentionStream, store: RedisStore, pipeline: Pipeline, name: str, clock: Clock,
                 settings: WorkerSettings | None = None) -> None:
        self.stream, self.store, self.pipeline, self.name, self.clock = stream, store, pipeline, name, clock
        self.settings = settings or WorkerSettings()
        self.processed = 0
        """Entries this worker acknowledged (for logs and tests)."""

    # -- one batch -------------------------------------------------------------------------------
    def process(self, entries: Sequence[Entry]) -> int:
        """Count the mentions of ``entries`` (at most once each) and acknowledge them; return how
        many mentions were newly counted."""
        unique: dict[str, Mention] = {}
        for entry in entries:
            if entry.mention is not None:
                unique.setdefault(entry.mention.id, entry.mention)
        counted = 0
        if unique:
            enriched = self.pipeline.enricher.enrich(list(unique.values())).enriched
            by_brand: dict[str, list[Enriched]] = defaultdict(list)
            for item in enriched:
                by_brand[item.brand].append(item)
            for brand in sorted(by_brand):
                counted += self._count_once(brand, by_brand[brand])
            self.store.add_exemplars(Pipeline.exemplars(enriched), EXEMPLARS_PER_HOUR)
        self.stream.ack([entry.id for entry in entries])
        self.processed += len(entries)
        return counted

    def _count_once(self, brand: str, items: list[Enriched]) -> int:
        while items:
            ids: dict[int, list[str]] = defaultdict(list)
            for item in items:
                ids[to_us(item.mention.published_at) // DAY_US].append(item.mention.id)
            done = self.store.add_to_buckets_once(brand, self.pipeline.deltas(items), ids, self.settings.keep_days)
            if not done:
                return len(items)
            log.info("%s: %d mentions of %s already counted (redelivered), skipped", self.name, len(done), brand)
            items = [item for item in items if item.mention.id not in done]
        return 0

    # -- the loop --------------------------------------------------------------------------------
    def run(self, stop: threading.Event) -> None:
        """Process the stream until ``stop`` is set; never raises for Redis being away."""
        settings = self.settings
        backoff = Backoff(settings.backoff_base, settings.backoff_cap)
        recovering = True  # first (and after every error): our own pending entries, then new ones
        next_claim = self.clock.monotonic()
        while not stop.is_set():
            try:
                if recovering:
                    self.stream.ensure_group()
                    entries = self.stream.own_pending(self.name, count=settings.batch)
                    recovering = bool(entries)
                elif self.clock.monotonic() >= next_claim:
                    next_claim = self.clock.monotonic() + settings.claim_every
                    entries = self.stream.claim(self.name, min_idle_ms=settings.claim_idle_ms, count=settings.batch)
                    if entries:
                        log.info("%s took over %d entries left pending by another worker", self.name, len(entries))
                else:
                    entries = self.stream.read(self.name, count=settings.batch, block_ms=settings.block_ms)
                if entries:
                    self.process(entries)
                if backoff.failures:
                    log.info("%s: Redis reachable again", self.name)
                backoff.reset()
            except _RETRYABLE as exc:
                if isinstance(exc, StoreError) and not exc.retryable:
                    raise
                delay = backoff.next()
                log.warning("%s: Redis unavailable (%s); retrying in %.1fs", self.name, exc, delay)
                recovering = True
                stop.wait(delay)
            except Exception:  # a bug on one batch: its entries stay pending, retried after a pause
                delay = backoff.next()
                log.exception("%s: batch failed; its entries stay pending, retrying in %.1fs", self.name, delay)
                recovering = True
                stop.wait(delay)

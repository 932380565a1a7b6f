"""A worker of the consumer group: enrich, then count each mention exactly once, then acknowledge.

Per batch of stream entries: decode -> enrich (the pipeline's :class:`~service.enrich.enricher.Enricher`)
-> for each brand, one atomic script marks the mention ids as processed and adds their deltas to the
buckets (:meth:`service.store.redis.RedisStore.add_to_buckets_once`) -> exemplars (idempotent) ->
``XACK``. A crash anywhere leaves the entries pending; whoever processes them again (the same
consumer after a restart, or another one through ``XAUTOCLAIM``) finds the ids already marked and
adds nothing twice. Connection losses, server restarts, timeouts and busy or failing-over servers are
waited out with capped exponential backoff; the entries in flight stay pending and are processed after
reconnecting, from memory (not read again: a re-read would count as one more delivery).

Poison entries: an entry that does not decode goes to the dead-letter stream at once; after a batch
fails for another reason (a bug, or an error reply Redis would give again, such as ``WRONGTYPE``), its
entries are processed one by one and each one that still fails has a
failure counted, going to the dead-letter stream at ``max_failures``; an entry delivered
``max_deliveries`` times without an acknowledgement (whoever processed it died) goes there too. The
good entries of the batch are counted meanwhile: one bad entry never holds the others back.
"""

from __future__ import annotations

import logging
import random
import threading
from collections.abc import Sequence
from dataclasses import dataclass

import redis

from service.clock import Clock
from service.domain import Mention
from service.pipeline import COUNTED_KEPT_DAYS, EXEMPLARS_PER_HOUR, Pipeline
from service.scale.stream import Entry, MentionStream
from service.store.base import StoreError
from service.store.redis import RedisStore, retryable_reply

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
    forget_idle_ms: int = 86_400_000
    """Other consumers idle this long holding no pending entry are removed from the group (workers
    gone for good); checked every :attr:`forget_every` seconds."""
    forget_every: float = 600.0
    keep_days: int = COUNTED_KEPT_DAYS
    """Processed-id markers of a brand-day are kept this many days after its last mention was counted
    (a mention redelivered, or collected again, within that time is not counted twice)."""
    backoff_base: float = 0.1
    backoff_cap: float = 5.0
    max_failures: int = 3
    """An entry whose processing failed this many times goes to the dead-letter stream."""
    max_deliveries: int = 10
    """An entry delivered this many times without being acknowledged (the process handling it died
    each time, e.g. killed for memory) goes to the dead-letter stream."""


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


def retryable(exc: BaseException) -> bool:
    """Whether ``exc`` means Redis is (temporarily) unavailable, so retrying the same work later can
    succeed; any other error (a wrong type, a script error, a refused write) is the work's own fault."""
    if isinstance(exc, StoreError):
        return exc.retryable
    if isinstance(exc, redis.ResponseError):
        return retryable_reply(exc)
    return isinstance(exc, (redis.ConnectionError, redis.TimeoutError))


class Worker:
    def __init__(self, *, stream: MentionStream, store: RedisStore, pipeline: Pipeline, name: str, clock: Clock,
                 settings: WorkerSettings | None = None) -> None:
        self.stream, self.store, self.pipeline, self.name, self.clock = stream, store, pipeline, name, clock
        self.settings = settings or WorkerSettings()
        self.processed = 0
        """Entries this worker acknowledged (for logs, metrics and tests)."""
        self.dead_lettered = 0
        """Entries this worker moved to the dead-letter stream."""
        self.last_batch_at: float | None = None
        """Monotonic time of the last batch processed (health)."""

    # -- one batch -------------------------------------------------------------------------------
    def process(self, entries: Sequence[Entry], *, retried: bool = False) -> int:
        """Count the mentions of ``entries`` (at most once each) and acknowledge them; return how
        many mentions were newly counted. Entries that do not decode go to the dead-letter stream.
        ``retried``: entries delivered before (their failure counts are forgotten once acknowledged)."""
        unique: dict[str, Mention] = {}
        for entry in entries:
            if entry.mention is not None:
                unique.setdefault(entry.mention.id, entry.mention)
        for entry in entries:
            if entry.mention is None:  # never decodes: retrying cannot help
                self.stream.dead_letter(entry.id, entry.error or "undecodable entry", self.name)
                self.dead_lettered += 1
                log.error("%s: stream entry %s moved to the dead-letter stream: %s", self.name, entry.id, entry.error)
        entries = [entry for entry in entries if entry.mention is not None]
        counted = 0
        if unique:
            pipeline = self.pipeline  # once: a reload may swap it meanwhile (enrich and count with the same one)
            enriched = pipeline.enricher.enrich(list(unique.values())).enriched
            counted = len(pipeline.count_once(enriched, self.settings.keep_days))
            self.store.add_exemplars(Pipeline.exemplars(enriched), EXEMPLARS_PER_HOUR)
        self.stream.ack([entry.id for entry in entries], forget_failures=retried)
        self.processed += len(entries)
        self.last_batch_at = self.clock.monotonic()
        return counted

    # -- the loop --------------------------------------------------------------------------------
    def run(self, stop: threading.Event) -> None:
        """Process the stream until ``stop`` is set; never raises for Redis being away."""
        settings = self.settings
        backoff = Backoff(settings.backoff_base, settings.backoff_cap)
        recovering = True  # first (and after every error): our own pending entries, then new ones
        # Entries this process read and could not finish because Redis was away: retried as they are,
        # not read again (a re-read would count as one more delivery, see _drop_undeliverable).
        held: list[Entry] = []
        next_claim = next_forget = self.clock.monotonic()
        while not stop.is_set():
            entries: list[Entry] = []
            retried = False
            try:
                if recovering:
                    self.stream.ensure_group()
                    if held:  # retried as they are: not read again, so no delivery is counted
                        entries, held = held, []
                    else:
                        entries = self.stream.own_pending(self.name, count=settings.batch)
                        recovering = bool(entries)
                        entries = self._drop_undeliverable(entries)
                    retried = True
                elif self.clock.monotonic() >= next_claim:
                    next_claim = self.clock.monotonic() + settings.claim_every
                    if self.clock.monotonic() >= next_forget:
                        next_forget = self.clock.monotonic() + settings.forget_every
                        gone = self.stream.forget_idle_consumers(self.name, idle_ms=settings.forget_idle_ms)
                        if gone:
                            log.info("%s removed %d idle consumers holding nothing from the group: %s",
                                     self.name, len(gone), ", ".join(gone[:10]))
                    entries = self.stream.claim(self.name, min_idle_ms=settings.claim_idle_ms, count=settings.batch)
                    retried = True
                    if entries:
                        log.info("%s took over %d entries left pending by another worker", self.name, len(entries))
                    entries = self._drop_undeliverable(entries)
                else:
                    entries = self.stream.read(self.name, count=settings.batch, block_ms=settings.block_ms)
                if entries:
                    self.process(entries, retried=retried)
                if backoff.failures:
                    log.info("%s: Redis reachable again", self.name)
                backoff.reset()
            except Exception as exc:
                delay = backoff.next()
                recovering = True
                held = self._failed(entries, exc, delay)
                stop.wait(delay)

    def _failed(self, entries: list[Entry], error: Exception, delay: float) -> list[Entry]:
        """After ``entries`` failed with ``error``: return the entries to retry as they are (Redis was
        away); an error that retrying cannot cure (a bug, a poison entry, a value Redis refuses) is
        isolated instead (:meth:`_isolate`): it never stops the worker."""
        if retryable(error):
            log.warning("%s: Redis unavailable (%s); retrying in %.1fs", self.name, error, delay)
            return [entry for entry in entries if entry.mention is not None]
        log.exception("%s: batch failed; its entries stay pending, retrying in %.1fs", self.name, delay,
                      exc_info=error)
        try:
            self._isolate(entries, error)
        except Exception as away:
            if not retryable(away):  # the entries stay pending: read again, and dead-lettered in the end
                log.exception("%s: isolating a failed batch failed", self.name)
                return []
            log.warning("%s: Redis unavailable while isolating a failed batch (%s)", self.name, away)
            return [entry for entry in entries if entry.mention is not None]
        return []

    # -- poison entries ----------------------------------------------------------------------------
    def _isolate(self, entries: Sequence[Entry], error: Exception) -> None:
        """After a failed batch: process its entries one by one, counting a failure for each one that
        still fails (at ``max_failures`` it goes to the dead-letter stream): one poison entry neither
        blocks the others nor is retried forever."""
        if len(entries) == 1:
            self._count_failure(entries[0], error)
            return
        for entry in entries:
            if entry.mention is None:
                continue  # already moved to the dead-letter stream by the failed batch
            try:
                self.process([entry], retried=True)
            except Exception as exc:
                if retryable(exc):
                    raise
                self._count_failure(entry, exc)

    def _count_failure(self, entry: Entry, error: Exception) -> None:
        reason = f"{type(error).__name__}: {error}"
        if self.stream.failed(entry.id, reason, self.name, max_failures=self.settings.max_failures):
            self.dead_lettered += 1
            log.error("%s: stream entry %s moved to the dead-letter stream after %d failures: %s", self.name,
                      entry.id, self.settings.max_failures, reason)

    def _drop_undeliverable(self, entries: list[Entry]) -> list[Entry]:
        """Entries delivered ``max_deliveries`` times without an acknowledgement go to the dead-letter
        stream (whoever processed them died each time); the others are returned."""
        counts = self.stream.deliveries([entry.id for entry in entries], self.name)
        kept = []
        for entry in entries:
            deliveries = counts.get(entry.id, 0)
            if deliveries >= self.settings.max_deliveries:
                self.stream.dead_letter(entry.id, f"delivered {deliveries} times, never acknowledged (the "
                                                  "worker processing it stopped each time)", self.name)
                self.dead_lettered += 1
                log.error("%s: stream entry %s moved to the dead-letter stream after %d deliveries", self.name,
                          entry.id, deliveries)
            else:
                kept.append(entry)
        return kept

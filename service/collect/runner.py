"""Runs collectors: one APScheduler interval job per enabled source, each with its own health.

A run reads the source's cursor from the store, collects, hands the new mentions to the sink and
only then saves the new cursor (a crash in between re-delivers rather than loses mentions; the
pipeline dedups by mention id); syndicated copies of one story across sources are marked
``duplicate_of`` their first copy (:mod:`.syndication`). A failure is logged as one line, counted
in the source's health and never touches another source: each source runs in its own worker thread
of a dedicated executor.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import logging
import threading
import weakref
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

import httpx
from apscheduler.executors.pool import BasePoolExecutor

from service.clock import Clock
from service.collect.base import CollectError, Collector, FetchError
from service.collect.health import OpsEvent, OpsState, SourceHealth, ops_event
from service.collect.http import HostLimiter
from service.collect.registry import build_collector
from service.collect.syndication import SyndicationIndex
from service.config import NEVER
from service.domain import Mention
from service.notify.base import DeliveryError
from service.store.base import Store, StoreError

if TYPE_CHECKING:
    from service.config import SourceConfig

log = logging.getLogger(__name__)

_PENDING_OPS = "ops:pending"
_MAX_PENDING_OPS = 100  # beyond this the oldest are dropped, with a log line

__all__ = ["CollectionRunner", "OpsEvent", "SourceHealth"]
EXECUTOR = "collect"
START_STAGGER = timedelta(seconds=2)
"""Delay between the first runs of consecutive sources after start (spreads the first burst)."""
MAX_STAGGER = timedelta(seconds=60)

CollectorFactory = Callable[["SourceConfig", httpx.Client, HostLimiter], Collector]


class CollectExecutor(BasePoolExecutor):
    """The APScheduler executor of collection jobs: a thread pool that can grow.

    A reload that adds sources must give each its own thread, yet keep this executor: it counts the
    runs still going on, so ``max_instances=1`` holds across the reload (a new run of a source does
    not start while the old runner's run of it is still going).
    """

    def __init__(self, max_workers: int) -> None:
        super().__init__(concurrent.futures.ThreadPoolExecutor(max_workers, thread_name_prefix="collect"))
        self.max_workers = max_workers

    def grow(self, max_workers: int) -> None:
        """At least ``max_workers`` threads from now on; runs going on finish in the old pool."""
        with self._lock or contextlib.nullcontext():  # submit_job holds it: no submit to a pool shut down
            if max_workers <= self.max_workers:
                return
            old = self._pool
            self._pool = concurrent.futures.ThreadPoolExecutor(max_workers, thread_name_prefix="collect")
            self.max_workers = max_workers
        old.shutdown(wait=False)


_EXECUTORS: weakref.WeakKeyDictionary[Any, CollectExecutor] = weakref.WeakKeyDictionary()
"""The collection executor added to each scheduler, grown when a reload adds sources."""


class StopRequested(FetchError):
    """The runner is stopping: a retry that was waiting is abandoned (the next start collects again)."""


class CollectionRunner:
    """Collects each source on demand (:meth:`run_source`) or on a schedule (:meth:`schedule`).

    ``client_factory`` makes one :class:`httpx.Client` per source (own connection pool), closed by
    :meth:`close`; ``sink`` receives each run's new mentions (a list, never empty) and may raise to
    fail the run, in which case the cursor is not advanced. ``on_ops`` receives operational alerts
    (a source failing ``fail_after`` runs in a row, or silent for ``silent_after``; then its
    recovery), each once; they are always logged, and one that ``on_ops`` fails to send is kept in the
    store and retried after every later run until it is sent.
    """

    def __init__(
        self,
        sources: Iterable[SourceConfig] | Mapping[str, SourceConfig],
        *,
        store: Store,
        clock: Clock,
        sink: Callable[[list[Mention]], None],
        client_factory: Callable[[], httpx.Client],
        collector_factory: CollectorFactory | None = None,
        limiter: HostLimiter | None = None,
        on_ops: Callable[[OpsEvent], None] | None = None,
        fail_after: int = 3,
        silent_after: timedelta | None = timedelta(hours=48),
    ) -> None:
        items = sources.values() if isinstance(sources, Mapping) else sources
        self.sources: dict[str, SourceConfig] = {source.name: source for source in items}
        self.store = store
        self.clock = clock
        self.sink = sink
        self._client_factory = client_factory
        self._stopping = threading.Event()
        self._collector_factory = collector_factory or self._build
        self._limiter = limiter or HostLimiter()
        self._lock = threading.Lock()
        self._run_locks = {name: threading.Lock() for name in self.sources}
        self._collectors: dict[str, Collector] = {}
        self._clients: list[httpx.Client] = []
        self._health: dict[str, SourceHealth] = {}
        self._unsaved: set[str] = set()  # sources whose last health save failed: memory is newer than the store
        self._syndication = SyndicationIndex()
        self._on_ops = on_ops
        self._ops_lock = threading.Lock()  # held by the run sending alerts
        self._ops_queue_lock = threading.Lock()  # held briefly, to queue an alert in memory
        self._ops_waiting = on_ops is not None  # until the store says otherwise: a restart may have left some
        self._ops_memory: list[OpsEvent] = []  # alerts not in the store (yet): new ones, or the store was down
        self._ops_stale = False  # a save failed: the stored list is out of date (holds alerts sent since)
        self.fail_after = fail_after
        self.silent_after = silent_after

    def _build(self, source: SourceConfig, client: httpx.Client, limiter: HostLimiter) -> Collector:
        return build_collector(source, client, limiter=limiter, sleep=self._sleep)

    def _sleep(self, seconds: float) -> None:
        """Backoff between retries that a stop interrupts at once."""
        if self._stopping.wait(seconds):
            raise StopRequested("stopping: retry abandoned", retryable=True)

    def stop(self) -> None:
        """Abandon waiting retries so that running collections end quickly (graceful shutdown)."""
        self._stopping.set()

    # -- one run ---------------------------------------------------------------------------------
    def run_source(self, name: str) -> SourceHealth:
        """Collect ``name`` once and return its updated health. Never raises for a source failure."""
        if name not in self.sources:
            raise KeyError(f'unknown source "{name}"')
        with self._run_locks[name]:
            now = self.clock.now()
            health = self._current_health(name)
            if health.retry_after is not None and now < health.retry_after:
                log.info('source "%s" skipped: the server asked to wait until %s', name,
                         health.retry_after.isoformat())
                return health
            try:
                count = self._collect(name, now)
            except (CollectError, StoreError) as exc:
                health = self._failure(name, health, now, str(exc), getattr(exc, "retry_after", None))
            except Exception as exc:  # a bug in a parser or the sink must not stop the scheduler
                log.debug("source %s crashed", name, exc_info=True)
                health = self._failure(name, health, now, f"{type(exc).__name__}: {exc}", None)
            else:
                if health.consecutive_failures:
                    log.info('source "%s" recovered after %d failed runs', name, health.consecutive_failures)
                health = health.succeeded(now, count)
            silent_after = self.sources[name].silent_after or self.silent_after
            health, event = ops_event(health, now, fail_after=self.fail_after,
                                      silent_after=None if silent_after == NEVER else silent_after)
            self._save(name, health)
        self._notify(event)
        return health

    def _notify(self, event: OpsEvent | None) -> None:
        """Send ``event`` (logged in any case) after the operational alerts still waiting, in order.

        An alert that cannot be sent for now stays in the store, with every later one, and is retried
        after each later run until it is sent: none is lost, not even across a restart, and their order
        holds. One refused for good (unknown channel, revoked token) is logged as an error and dropped, so
        it does not hold back the others. When the store cannot be read, new alerts wait in memory.
        One run sends at a time; the others do not wait for it (a hung ops channel must not hold up
        collection): the one sending also sends what they queued meanwhile.
        """
        if event is not None:
            log.warning("operational alert (%s): %s", event.state, event.message)
        if self._on_ops is None:
            return
        if event is not None:
            with self._ops_queue_lock:
                self._ops_memory.append(event)
        while self._ops_lock.acquire(blocking=False):
            try:
                all_sent = self._send_waiting()
            finally:
                self._ops_lock.release()
            with self._ops_queue_lock:
                queued = bool(self._ops_memory)
            if not (all_sent and queued):
                return  # done, or the channel fails: the next run tries again

    def _send_waiting(self) -> bool:
        """Send the stored alerts, then the queued ones (holding ``_ops_lock``); ``True`` when none is left."""
        with self._ops_queue_lock:
            taken = list(self._ops_memory)
        if not taken and not self._ops_waiting and not self._ops_stale:
            return True
        stored = self._pending_ops() if self._ops_waiting else []
        if stored is None:
            return False  # the store is unreachable: keep the new ones in memory, try again after the next run
        queue = [*stored, *taken]
        sent = 0
        while sent < len(queue) and self._deliver_ops(queue[sent]):
            sent += 1
        left = queue[sent:]
        if (not left and not stored and not self._ops_stale) or self._save_pending_ops(left):
            kept: list[OpsEvent] = []
        else:  # not saved: memory holds all that is left; the stale stored list is replaced at the next save
            kept, self._ops_waiting, self._ops_stale = left, False, True
        with self._ops_queue_lock:  # alerts queued meanwhile by other runs stay after these
            self._ops_memory = kept + self._ops_memory[len(taken):]
        return not left

    def _deliver_ops(self, event: OpsEvent) -> bool:
        """Send one operational alert: ``True`` when done with it (sent, or refused for good and logged),
        ``False`` when it should be tried again later."""
        assert self._on_ops is not None
        try:
            self._on_ops(event)
        except DeliveryError as exc:
            if not exc.retryable:
                log.error('operational alert about "%s" refused for good, dropped: %s', event.source, exc)
                return True
            log.warning('operational alert about "%s" not delivered (retried after the next run): %s',
                        event.source, exc)
            return False
        except Exception as exc:  # a broken ops channel must not fail collection
            log.warning('operational alert about "%s" not delivered (retried after the next run): %s: %s',
                        event.source, type(exc).__name__, exc)
            return False
        return True

    def _pending_ops(self) -> list[OpsEvent] | None:
        """The stored waiting alerts; ``None`` when the store cannot be read."""
        try:
            state = self.store.load_state(_PENDING_OPS) or {}
        except StoreError as exc:
            log.warning("pending operational alerts unreadable: %s", exc)
            return None
        events = []
        for item in state.get("events", []):
            with contextlib.suppress(KeyError, ValueError, TypeError):
                events.append(OpsEvent(source=item["source"], state=OpsState(item["state"]),
                                       at=datetime.fromisoformat(item["at"]), message=item["message"]))
        return events

    def _save_pending_ops(self, events: list[OpsEvent]) -> bool:
        if len(events) > _MAX_PENDING_OPS:
            log.error("%d undelivered operational alerts dropped (the ops channel has failed for long)",
                      len(events) - _MAX_PENDING_OPS)
            events = events[-_MAX_PENDING_OPS:]
        try:
            self.store.save_state(_PENDING_OPS, {"events": [
                {"source": e.source, "state": str(e.state), "at": e.at.isoformat(), "message": e.message}
                for e in events]})
        except StoreError as exc:
            log.warning("pending operational alerts not saved (kept in memory): %s", exc)
            return False
        self._ops_waiting, self._ops_stale = bool(events), False
        return True

    def _collect(self, name: str, now: datetime) -> int:
        collector = self._collector(name)
        result = collector.collect(self.store.get_cursor(name), now)
        mentions = self._syndication.mark(list({mention.id: mention for mention in result.mentions}.values()))
        if mentions:
            self.sink(mentions)
        if result.cursor is not None:
            self.store.set_cursor(name, result.cursor)
        return len(mentions)

    def _failure(self, name: str, health: SourceHealth, now: datetime, error: str,
                 retry_after: float | None) -> SourceHealth:
        health = health.failed(now, error, retry_after)
        log.warning('source "%s" failed (%d in a row): %s', name, health.consecutive_failures, error)
        return health

    def _collector(self, name: str) -> Collector:
        with self._lock:
            collector = self._collectors.get(name)
            if collector is None:
                client = self._client_factory()
                self._clients.append(client)
                collector = self._collector_factory(self.sources[name], client, self._limiter)
                self._collectors[name] = collector
            return collector

    # -- health ----------------------------------------------------------------------------------
    def health(self, name: str) -> SourceHealth:
        """The source's current health (loaded from the store the first time)."""
        with self._lock:
            health = self._health.get(name)
        if health is None:
            try:
                state = self.store.load_state(f"health:{name}")
            except StoreError as exc:
                log.warning('source "%s": health not loaded from the store: %s', name, exc)
                state = None
            health = SourceHealth.from_state(name, state)
            with self._lock:
                health = self._health.setdefault(name, health)
        return health

    def _current_health(self, name: str) -> SourceHealth:
        """The health a run starts from: the store's, since another runner may have run the source since
        this one last did (the scheduler that held the lease meanwhile, or a reload's new runner).
        Memory when the store cannot be read or missed this runner's last save."""
        if name not in self._unsaved:
            try:
                state = self.store.load_state(f"health:{name}")
            except StoreError as exc:
                log.warning('source "%s": health not loaded from the store: %s', name, exc)
            else:
                if state is not None:
                    with self._lock:
                        self._health[name] = SourceHealth.from_state(name, state)
        return self.health(name)

    def all_health(self) -> dict[str, SourceHealth]:
        return {name: self.health(name) for name in self.sources}

    def _save(self, name: str, health: SourceHealth) -> None:
        with self._lock:
            self._health[name] = health
        try:
            self.store.save_state(f"health:{name}", health.to_state())
        except StoreError as exc:
            self._unsaved.add(name)
            log.warning('source "%s": health not saved: %s', name, exc)
        else:
            self._unsaved.discard(name)

    # -- scheduling ------------------------------------------------------------------------------
    def schedule(self, scheduler: Any) -> list[str]:
        """Add one interval job per enabled source to an APScheduler 3.x scheduler; return job ids.

        Jobs run in a dedicated thread pool executor (alias ``"collect"``) with one thread per
        source, so a slow source never waits for another; ``max_instances=1`` and
        ``coalesce=True`` keep one run per source at a time, missed runs collapse into one. First
        runs start right away, staggered by two seconds.
        """
        enabled = [source for source in self.sources.values() if source.enabled]
        if not enabled:
            return []
        executor = _EXECUTORS.get(scheduler)
        if executor is not None:  # added by an earlier call (a reload): still one thread per source
            executor.grow(len(enabled))
        else:
            with contextlib.suppress(ValueError):  # an executor of that alias added by someone else
                scheduler.add_executor(executor := CollectExecutor(len(enabled)), alias=EXECUTOR)
                _EXECUTORS[scheduler] = executor
        start = self.clock.now()
        ids = []
        for index, source in enumerate(enabled):
            interval = source.interval.total_seconds()
            job = scheduler.add_job(
                self.run_source, "interval", args=[source.name], seconds=interval,
                id=f"collect:{source.name}", name=f"collect {source.name}", executor=EXECUTOR,
                next_run_time=start + min(START_STAGGER * index, MAX_STAGGER) + timedelta(seconds=1),
                max_instances=1, coalesce=True, misfire_grace_time=max(1, int(interval / 2)),
                replace_existing=True,
            )
            ids.append(job.id)
        return ids

    @staticmethod
    def unschedule(scheduler: Any) -> None:
        """Remove every collection job :meth:`schedule` added (a reload schedules its new runner's)."""
        for job in scheduler.get_jobs():
            if job.id.startswith("collect:"):
                job.remove()

    def close(self) -> None:
        """Close the HTTP clients this runner created."""
        with self._lock:
            clients, self._clients = self._clients, []
            self._collectors.clear()
        for client in clients:
            client.close()

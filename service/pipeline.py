"""The one path from mentions to notifications, used by ``crisiswatch run`` and ``crisiswatch replay``.

``ingest(mentions)``: dedup by id -> enrich -> add to per-brand buckets (event time) -> keep
exemplars. ``tick()``: for every brand, evaluate each bucket that closed since the last tick
(``now`` read once from the injected clock), advance incidents, and hand alert events to the
dispatcher. Thread-safe: collector threads, the ingest API and the scheduler share one pipeline.
"""

from __future__ import annotations

import heapq
import logging
import threading
from bisect import bisect_left
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from types import MappingProxyType

from service.clock import Clock, floor_time
from service.config import Config
from service.detect.brand import BrandDetector, Step
from service.detect.resemblance import Archetype
from service.detect.window import aggregate
from service.domain import (
    Alert,
    AlertState,
    Bucket,
    Enriched,
    Exemplar,
    Incident,
    Label,
    Mention,
    Signal,
)
from service.enrich.enricher import Enricher
from service.incidents import advance
from service.notify.outbox import Dispatcher
from service.store import DAY_US, to_us
from service.store.base import CountsOnce, Store, StoreError, batch

log = logging.getLogger("crisiswatch.pipeline")

EVALUATION_DELAY = timedelta(minutes=1)
"""A bucket is evaluated this long after it closes, so mentions collected a little late still count."""
CHECKPOINT_EVERY = timedelta(hours=3)
EXEMPLARS_PER_HOUR = 5
EXEMPLAR_MIN_NEGATIVITY = 0.4
TOP_MENTIONS = 5
HOUR = timedelta(hours=1)
START_HORIZON = timedelta(days=8)
"""How far back a brand seen for the first time is evaluated: past the collectors' look-back
(:data:`service.collect.cursor.LOOKBACK`, 7 days), so a new source's backlog is still evaluated."""
COUNTED_KEPT_DAYS = 8
"""On a count-once store (:class:`~service.store.base.CountsOnce`), how many days the markers of the
mentions counted on one day are kept after the last one was counted: a mention delivered or collected
again within that time is not counted twice. Longer than the collectors' look-back
(:data:`service.collect.cursor.LOOKBACK`, 7 days), within which a source may hand an item over again."""


@dataclass(frozen=True, kw_only=True, slots=True)
class IngestResult:
    received: int
    duplicates: int
    unattributed: int
    accepted: int


def summarize(signal: Signal | Incident, state: AlertState, brand: str) -> str:
    volume, expected = signal.volume, signal.expected_volume
    ratio = f"{volume / expected:.0f}x usual" if expected >= 1 else "far above usual"
    if state is AlertState.RESOLVED:
        return f"{brand}: back to normal ({volume} mentions in the last window)"
    kind = signal.crisis_type.replace("_", " ")
    return (f"{brand}: {volume} mentions ({ratio}), {signal.negative_share:.0%} negative "
            f"(usual {signal.baseline_negative_share:.0%}); looks like {kind}, crisis resemblance "
            f"{signal.resemblance:.0%}")


class _Delta:
    """The counts of one (brand, bucket) being merged over a batch."""

    __slots__ = ("count", "crisis", "duplicates", "kinds", "langs", "negative", "positive", "reach", "sources")

    def __init__(self) -> None:
        self.count = self.negative = self.positive = self.duplicates = 0
        self.reach = 0.0
        self.crisis: dict[str, int] = {}
        self.kinds: dict[str, int] = {}
        self.sources: dict[str, int] = {}
        self.langs: dict[str, int] = {}

    def bucket(self, brand: str, start: datetime) -> Bucket:
        """The merged counts as a bucket (it takes over the dicts: read-only views, no copies)."""
        return Bucket(brand=brand, start=start, count=self.count, negative=self.negative, positive=self.positive,
                      duplicates=self.duplicates, reach=self.reach, crisis=MappingProxyType(self.crisis),
                      kinds=MappingProxyType(self.kinds), sources=MappingProxyType(self.sources),
                      langs=MappingProxyType(self.langs))


class Pipeline:
    def __init__(self, *, config: Config, store: Store, enricher: Enricher, clock: Clock,
                 archetypes: tuple[Archetype, ...], dispatcher: Dispatcher | None = None) -> None:
        self.config, self.store, self.enricher, self.clock = config, store, enricher, clock
        self.archetypes, self.dispatcher = archetypes, dispatcher
        self.lock = threading.RLock()
        self.detectors: dict[str, BrandDetector] = {}
        self.next_bucket: dict[str, datetime] = {}
        self.open_incidents: dict[str, Incident | None] = {}
        """Cache of each brand's open incident: the process that evaluates a brand is the only one
        that advances its incidents (Slack actions go through :meth:`incident_changed`)."""
        self.last_checkpoint: datetime | None = None
        self.unsaved: dict[str, Incident] = {}
        """Incidents changed by the running tick, saved at its end (one write each, not one per bucket)."""
        self.undispatched: list[Alert] = []
        """Alert events of a tick whose transaction failed: dispatched by the next tick that commits."""
        self.counts_once = isinstance(store, CountsOnce)
        """The store counts and marks mentions in one atomic step (:meth:`count_once`)."""

    # -- ingest --------------------------------------------------------------------------------
    def ingest(self, mentions: Sequence[Mention]) -> IngestResult:
        unique = list({m.id: m for m in mentions}.values())
        if self.counts_once:
            return self._ingest_once(mentions, unique)
        # One store transaction (SQLite): the batch is marked seen and counted whole, or not at all.
        with self.lock, batch(self.store):
            new_ids = self.store.mark_seen([m.id for m in unique], self.clock.now())
            fresh = [m for m in unique if m.id in new_ids]
            result = self.enricher.enrich(fresh)
            self.store.add_to_buckets(self.deltas(result.enriched))
            self._kept(result.enriched)
        return IngestResult(received=len(mentions), duplicates=len(mentions) - len(fresh),
                            unattributed=result.unattributed, accepted=len(fresh) - result.unattributed)

    def _ingest_once(self, mentions: Sequence[Mention], unique: list[Mention]) -> IngestResult:
        """Ingest on a count-once store (Redis): enrich everything, then count each brand's mentions
        and mark them counted in one atomic step. A batch that failed half way is safe to send again:
        what was counted is skipped, the rest is counted, and the example mentions and the brands'
        evaluation are taken care of for the whole batch again (both are idempotent), since the
        failure may have come before them. Unlike SQLite, a resent mention that no brand matches is
        reported as unattributed again, not as a duplicate (nothing records it)."""
        with self.lock:
            result = self.enricher.enrich(unique)
            counted = self.count_once(result.enriched)
            self._kept(result.enriched)
        attributed = len(unique) - result.unattributed
        fresh = len({item.mention.id for item in counted})
        return IngestResult(received=len(mentions), duplicates=len(mentions) - len(unique) + attributed - fresh,
                            unattributed=result.unattributed, accepted=fresh)

    def _kept(self, counted: Sequence[Enriched]) -> None:
        """After ``counted`` were counted: keep the example mentions, start evaluating new brands."""
        self.store.add_exemplars(self.exemplars(counted), EXEMPLARS_PER_HOUR)
        for item in counted:
            if item.brand not in self.next_bucket:
                self.start_brand(item.brand, item.mention.published_at)

    def count_once(self, enriched: Sequence[Enriched], keep_days: int = COUNTED_KEPT_DAYS) -> list[Enriched]:
        """Count each brand's mentions in its buckets at most once each, on a count-once store (one
        round trip for all the brands; again for a brand whose batch held mentions already counted,
        without them). Returns the items counted now."""
        store = self.store
        if not isinstance(store, CountsOnce):
            raise TypeError(f"{type(store).__name__} does not count mentions once: use ingest()")
        by_brand: dict[str, list[Enriched]] = defaultdict(list)
        for item in enriched:
            by_brand[item.brand].append(item)
        counted: list[Enriched] = []
        pending = {brand: items for brand, items in sorted(by_brand.items()) if items}
        while pending:
            batches = []
            for brand, items in pending.items():
                ids: dict[int, list[str]] = defaultdict(list)
                for item in items:
                    ids[to_us(item.mention.published_at) // DAY_US].append(item.mention.id)
                batches.append((brand, self.deltas(items), ids))
            done = store.add_to_buckets_once_many(batches, keep_days)
            again = {}
            for brand, items in pending.items():
                if not done[brand]:
                    counted.extend(items)
                    continue
                log.info("%d mentions of %s already counted, skipped", len(done[brand]), brand)
                again[brand] = [item for item in items if item.mention.id not in done[brand]]
            pending = {brand: items for brand, items in again.items() if items}
        return counted

    def deltas(self, enriched: Iterable[Enriched]) -> list[Bucket]:
        """Counts to add per (brand, bucket), merged over the batch."""
        widths: dict[str, int] = {}
        merged: dict[tuple[str, int], _Delta] = {}
        negative, positive = Label.NEGATIVE, Label.POSITIVE
        for item in enriched:
            brand, mention = item.brand, item.mention
            width = widths.get(brand)
            if width is None:
                width = widths[brand] = int(self.config.brand(brand).detection.bucket.total_seconds())
            stamp = int(mention.published_at.timestamp())
            key = (brand, stamp - stamp % width)  # floor_time, in seconds
            delta = merged.get(key)
            if delta is None:
                delta = merged[key] = _Delta()
            delta.reach += mention.reach or 0.0
            if mention.duplicate_of:
                delta.duplicates += 1
                continue
            delta.count += 1
            label = item.label
            if label is negative:
                delta.negative += 1
            elif label is positive:
                delta.positive += 1
            if item.crisis:
                crisis = delta.crisis
                for category in item.crisis:
                    crisis[category] = crisis.get(category, 0) + 1
            kinds, sources, langs = delta.kinds, delta.sources, delta.langs
            kind = str(mention.kind or "unknown")
            kinds[kind] = kinds.get(kind, 0) + 1
            source = mention.source or "unknown"
            sources[source] = sources.get(source, 0) + 1
            lang = item.lang
            langs[lang] = langs.get(lang, 0) + 1
        return [d.bucket(brand, datetime.fromtimestamp(start, UTC)) for (brand, start), d in merged.items()]

    @classmethod
    def exemplars(cls, enriched: Iterable[Enriched]) -> list[Exemplar]:
        """The example mentions worth keeping from a batch: negative enough, and only the most
        negative few per brand and hour (the store keeps no more than that anyway)."""
        best: dict[tuple[str, datetime], list[Enriched]] = defaultdict(list)
        for item in enriched:
            if item.negativity >= EXEMPLAR_MIN_NEGATIVITY:
                best[(item.brand, floor_time(item.mention.published_at, HOUR))].append(item)
        return [cls.exemplar(item) for items in best.values()
                for item in heapq.nlargest(EXEMPLARS_PER_HOUR, items, key=lambda e: e.negativity)]

    @staticmethod
    def exemplar(item: Enriched) -> Exemplar:
        """The stored form of an example mention."""
        m = item.mention
        return Exemplar(brand=item.brand, mention_id=m.id, published_at=m.published_at, text=m.text,
                        negativity=item.negativity, kind=str(m.kind) if m.kind else None, source=m.source,
                        url=m.url, author=m.author, reach=m.reach)

    # -- detection -----------------------------------------------------------------------------
    def start_brand(self, brand: str, at: datetime) -> None:
        """Begin evaluating ``brand``: from its saved cursor, or from the bucket containing ``at`` (``now``
        if later) but not before :data:`START_HORIZON` ago (a new brand's first mention dated decades back must not
        make a tick evaluate millions of empty buckets; such old counts are kept, only not evaluated)."""
        detector = self._detector(brand)
        state = self.store.load_state(f"cursor:{brand}")
        if state and "next_bucket" in state:
            self.next_bucket[brand] = datetime.fromisoformat(state["next_bucket"])
        else:
            bucket, now = detector.settings.bucket, self.clock.now()
            # A first mention dated ahead (a source's clock running fast) must not skip the buckets up to it.
            self.next_bucket[brand] = max(floor_time(min(at, now), bucket), floor_time(now - START_HORIZON, bucket))

    def _detector(self, brand: str) -> BrandDetector:
        detector = self.detectors.get(brand)
        if detector is None:
            settings = self.config.brand(brand).detection
            detector = BrandDetector(brand, settings, self.archetypes, self.store.load_state(f"detector:{brand}"))
            self.detectors[brand] = detector
        return detector

    def tick(self) -> list[Alert]:
        """Evaluate every closed bucket of every brand; dispatch and return the alert events."""
        now = self.clock.now()
        alerts: list[Alert] = []
        unsaved: dict[str, Incident] = {}
        # One store transaction (SQLite) for the evaluation, committed before anything is dispatched.
        try:
            with self.lock, batch(self.store):
                for brand in self.config.brands:
                    if brand not in self.next_bucket:
                        self.start_brand(brand, now)
                for brand in sorted(self.next_bucket):
                    alerts.extend(self._evaluate(brand, now))
                unsaved = dict(self.unsaved)
                self._save_incidents()
                if self.last_checkpoint is None or now - self.last_checkpoint >= CHECKPOINT_EVERY:
                    self.checkpoint(now)
        except StoreError:
            # The detectors have moved on in memory: keep what this tick produced (incident versions to
            # save, alerts to dispatch) for the next tick instead of losing it with the transaction.
            with self.lock:
                self.unsaved = {**unsaved, **self.unsaved}
                self.undispatched.extend(alerts)
                self.last_checkpoint = None  # the checkpoint, if any, was rolled back: write it next time
            raise
        with self.lock:
            alerts = [*self.undispatched, *alerts]
            self.undispatched = list(alerts)  # until recorded in the outbox: a store error keeps them
        if self.dispatcher is not None:
            if alerts:
                self.dispatcher.dispatch(alerts, now)  # idempotent: a retry records nothing twice
            with self.lock:
                del self.undispatched[:len(alerts)]
            self.dispatcher.remind(now)  # repeat_interval reminders, on the tick's clock
            self.dispatcher.deliver_due(now)
        else:
            with self.lock:
                del self.undispatched[:len(alerts)]
        return alerts

    def _evaluate(self, brand: str, now: datetime) -> list[Alert]:
        detector = self._detector(brand)
        settings = detector.settings
        alerts: list[Alert] = []
        start = self.next_bucket[brand]
        if start + settings.bucket + EVALUATION_DELAY > now:
            return alerts
        # One read per brand and tick; each window of a backlog is a slice of it.
        known = self.store.buckets(brand, start + settings.bucket - settings.window, now)
        starts = [bucket.start for bucket in known]
        while start + settings.bucket + EVALUATION_DELAY <= now:
            end = start + settings.bucket
            window_start = end - settings.window
            buckets = known[bisect_left(starts, window_start):bisect_left(starts, end)]
            last = buckets[-1] if buckets and buckets[-1].start == start else None
            signal = detector.step(Step(bucket_start=start, count=last.count if last else 0,
                                        negative=last.negative if last else 0, window_start=window_start,
                                        window=aggregate(buckets)))
            alert = self._incident(signal, settings.keep_firing_for)
            if alert is not None:
                alerts.append(alert)
            start = end
        self.next_bucket[brand] = start
        return alerts

    def incident_changed(self, brand: str) -> None:
        """Forget the cached incident of ``brand`` (someone else changed it in the store)."""
        with self.lock:
            self.open_incidents.pop(brand, None)

    def _incident(self, signal: Signal, keep_firing_for: timedelta) -> Alert | None:
        if signal.brand not in self.open_incidents:
            self.open_incidents[signal.brand] = self.store.open_incident(signal.brand)
        current = self.open_incidents[signal.brand]
        if current is None and signal.severity is None:
            return None
        transition = advance(current, signal, keep_firing_for)
        if transition is None:
            return None
        incident = transition.incident
        self.unsaved[incident.id] = incident  # saved once per tick (the last version of each)
        self.open_incidents[signal.brand] = incident if incident.is_open else None
        if transition.state is None:
            return None
        top = tuple(self.store.exemplars(signal.brand, incident.opened_at - signal_span(signal), signal.at,
                                         TOP_MENTIONS)) if transition.state is not AlertState.RESOLVED else ()
        return Alert(at=signal.at, brand=signal.brand, incident_id=incident.id, state=transition.state,
                     severity=incident.severity, crisis_type=incident.crisis_type,
                     resemblance=incident.resemblance, volume=signal.volume, negative_share=signal.negative_share,
                     summary=summarize(incident, transition.state, signal.brand),
                     expected_volume=signal.expected_volume, baseline_negative_share=signal.baseline_negative_share,
                     explanation=incident.explanation, top_mentions=top, opened_at=incident.opened_at,
                     sequence=incident.events)

    def _save_incidents(self) -> None:
        for incident in self.unsaved.values():
            self.store.save_incident(incident)
        self.unsaved.clear()

    def checkpoint(self, now: datetime) -> None:
        """Persist detector states and evaluation cursors (also done at shutdown)."""
        with self.lock:
            for brand, detector in self.detectors.items():
                self.store.save_state(f"detector:{brand}", detector.to_state())
            for brand, start in self.next_bucket.items():
                self.store.save_state(f"cursor:{brand}", {"next_bucket": start.isoformat()})
            self.last_checkpoint = now


def signal_span(signal: Signal) -> timedelta:
    return signal.at - signal.window_start

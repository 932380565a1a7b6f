"""The single process on Redis (``crisiswatch run`` with a ``redis://`` store): each brand's mentions are
counted and marked counted in one atomic step, so a batch that failed half way is safe to send again,
and the counts equal those of the embedded SQLite store. A real redis-server, never a mock."""

from __future__ import annotations

import io
from collections.abc import Iterator
from datetime import timedelta

import pytest

from service.app import build_pipeline
from service.clock import SimulatedClock
from service.collect.cursor import LOOKBACK
from service.config import parse_config
from service.domain import Exemplar, Mention
from service.notify.console import ConsoleNotifier
from service.pipeline import COUNTED_KEPT_DAYS, Pipeline
from service.store.base import StoreError
from service.store.redis import RedisStore
from service.store.sqlite import SQLiteStore
from tests.test_pipeline import CONFIG, T0, traffic


class _ExemplarsFailOnce(RedisStore):
    """A real Redis store whose next ``add_exemplars`` fails as if the server went away, after the
    mentions of the batch were counted."""

    fail = False

    def add_exemplars(self, exemplars: object, per_brand_limit: int) -> None:
        if self.fail:
            self.fail = False
            raise StoreError("connection lost", retryable=True)
        super().add_exemplars(exemplars, per_brand_limit)  # type: ignore[arg-type]


@pytest.fixture
def redis_store(clean_redis_url: str) -> Iterator[_ExemplarsFailOnce]:
    store = _ExemplarsFailOnce(clean_redis_url)
    yield store
    store.close()


def _pipeline(store: object) -> Pipeline:
    clock = SimulatedClock(T0 + timedelta(days=5))
    return build_pipeline(parse_config(CONFIG), store, clock, {"console": ConsoleNotifier(io.StringIO())})  # type: ignore[arg-type]


def _counts(store: object, brand: str) -> list[tuple[object, ...]]:
    found = store.buckets(brand, T0 - timedelta(days=1), T0 + timedelta(days=10))  # type: ignore[attr-defined]
    return [(b.start, b.count, b.negative, b.positive, dict(b.kinds), dict(b.langs)) for b in found]


def test_redis_counts_like_sqlite_and_a_resent_batch_is_skipped(redis_store: _ExemplarsFailOnce) -> None:
    mentions = traffic("peugeot", named=False, days=1) + traffic("citroen", named=True, days=1, seed=3)
    pipeline = _pipeline(redis_store)
    assert pipeline.counts_once
    first = pipeline.ingest(mentions)
    again = pipeline.ingest(mentions[:40])
    sqlite = SQLiteStore(":memory:")
    reference = _pipeline(sqlite).ingest(mentions)

    assert (first.accepted, first.duplicates, first.unattributed) == (
        reference.accepted, reference.duplicates, reference.unattributed) == (len(mentions), 0, 0)
    assert (again.accepted, again.duplicates) == (0, 40)
    for brand in ("peugeot", "citroen"):
        assert _counts(redis_store, brand) == _counts(sqlite, brand)
        assert sum(count for _, count, *_ in _counts(redis_store, brand)) > 0


def test_a_batch_that_failed_after_counting_is_counted_once_when_sent_again(
        redis_store: _ExemplarsFailOnce) -> None:
    mentions = traffic("peugeot", named=True, days=1)
    pipeline = _pipeline(redis_store)
    redis_store.fail = True
    with pytest.raises(StoreError):
        pipeline.ingest(mentions)  # counted, then the exemplars could not be written
    resent = pipeline.ingest(mentions)
    assert (resent.accepted, resent.duplicates) == (0, len(mentions))
    assert sum(count for _, count, *_ in _counts(redis_store, "peugeot")) == len(mentions)

    fresh = traffic("peugeot", named=True, days=2)  # the first day again (skipped) and a new one
    later = pipeline.ingest(fresh)
    assert later.accepted == len(fresh) - len(mentions) and later.duplicates == len(mentions)
    assert sum(count for _, count, *_ in _counts(redis_store, "peugeot")) == len(fresh)


def test_a_resend_after_a_failure_keeps_the_examples_and_starts_an_unconfigured_brand(
        redis_store: _ExemplarsFailOnce) -> None:
    """The failure came after counting, before the example mentions were kept and before the brand's
    evaluation started: the resend, all duplicates, must still do both (citroen is not in the config,
    so only its mentions can start it)."""
    spike = T0 + timedelta(hours=10)
    mentions = traffic("citroen", named=True, days=1, spike_at=spike)
    pipeline = _pipeline(redis_store)
    redis_store.fail = True
    with pytest.raises(StoreError):
        pipeline.ingest(mentions)
    assert "citroen" not in pipeline.next_bucket
    assert pipeline.ingest(mentions).accepted == 0
    assert "citroen" in pipeline.next_bucket
    assert redis_store.exemplars("citroen", spike, spike + timedelta(hours=3), 20)


def test_counted_markers_outlive_the_collectors_look_back() -> None:
    assert timedelta(days=COUNTED_KEPT_DAYS) > LOOKBACK


def test_unattributed_mentions_are_reported_and_not_counted(redis_store: _ExemplarsFailOnce) -> None:
    mentions = traffic("peugeot", named=False, days=1)
    stray = [Mention(id=f"x{i}", published_at=T0, text="nothing about any watched brand") for i in range(3)]
    result = _pipeline(redis_store).ingest([*mentions, *stray, mentions[0]])
    assert (result.accepted, result.unattributed, result.duplicates) == (len(mentions), 3, 1)


def test_exemplars_are_kept_on_redis(redis_store: _ExemplarsFailOnce) -> None:
    spike = T0 + timedelta(hours=10)
    _pipeline(redis_store).ingest(traffic("peugeot", named=True, days=1, spike_at=spike))
    kept: list[Exemplar] = redis_store.exemplars("peugeot", spike, spike + timedelta(hours=3), 20)
    assert kept and all(e.negativity >= 0.4 for e in kept)

"""Upgrading a Redis store written by the previous version (real redis-server): its exemplars (a
sorted set and a hash per brand-hour, indexed by hour) neither break the packed exemplars that
replaced them, nor a worker counting mentions of those hours, and housekeeping deletes them; a value
Redis refuses for one entry is isolated and dead-lettered, never a worker that stops."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import redis

from service.app import build_pipeline
from service.clock import SystemClock
from service.config import Config, load_config
from service.domain import Exemplar, Mention
from service.scale.roles import connect
from service.scale.stream import MentionStream
from service.scale.worker import Worker, WorkerSettings
from service.store import record_to_json, to_us
from service.store.redis import RedisStore
from tests.waiting import wait_until

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "scale"
T0 = datetime(2026, 11, 26, 13, 5, tzinfo=UTC)
HOUR = to_us(T0) // 3_600_000_000


@pytest.fixture(scope="module")
def config() -> Config:
    return load_config(FIXTURES / "alerts.yaml")


def write_legacy_exemplar(client: redis.Redis, store: RedisStore, e: Exemplar) -> int:
    """What the previous version's exemplar script wrote for ``e`` (commit 2421787, ``_ADD_EXEMPLARS``):
    ZADD ``x:<hour>`` (score negativity, member ``<published µs, 20 digits>:<id>``), HSET ``xd:<hour>``
    (id -> exemplar JSON) and ZADD ``xh`` (the hour); returns the hour."""
    published = to_us(e.published_at)
    hour = published // 3_600_000_000
    client.zadd(store.keys.legacy_exemplar_hour(e.brand, hour), {f"{published:020d}:{e.mention_id}": e.negativity})
    client.hset(store.keys.legacy_exemplar_data(e.brand, hour), e.mention_id, record_to_json(e))
    client.zadd(store.keys.legacy_exemplar_hours(e.brand), {str(hour): hour})
    return hour


def exemplar(brand: str, mention_id: str, at: datetime, negativity: float = 0.9) -> Exemplar:
    return Exemplar(brand=brand, mention_id=mention_id, published_at=at, text="rappel massif", negativity=negativity)


def test_previous_version_exemplars_neither_break_writes_nor_survive_pruning(clean_redis_url: str) -> None:
    store, client = connect(clean_redis_url)
    old = T0 - timedelta(days=100)
    legacy = [exemplar(brand, f"{brand}-old", at) for brand in ("acme", "zeta") for at in (old, T0)]
    hours = {(e.brand, write_legacy_exemplar(client, store, e)) for e in legacy}
    client.sadd(store.keys.brands(), "acme", "zeta")

    store.add_exemplars([exemplar("acme", "acme-new", T0), exemplar("zeta", "zeta-new", old)], 5)
    assert [e.mention_id for e in store.exemplars("acme", T0 - timedelta(hours=1), T0 + timedelta(hours=1), 5)] \
        == ["acme-new"]

    store.prune_buckets(T0 - timedelta(days=90))
    for brand, hour in hours:
        kept = hour == HOUR  # only the hours older than the limit go, for every brand
        assert client.exists(store.keys.legacy_exemplar_hour(brand, hour)) == kept, (brand, hour)
        assert client.exists(store.keys.legacy_exemplar_data(brand, hour)) == kept, (brand, hour)
        assert (client.zscore(store.keys.legacy_exemplar_hours(brand), str(hour)) is not None) == kept
    assert store.exemplars("zeta", old - timedelta(hours=1), old + timedelta(hours=1), 5) == []
    assert [e.mention_id for e in store.exemplars("acme", T0 - timedelta(hours=1), T0 + timedelta(hours=1), 5)] \
        == ["acme-new"]
    store.close()
    client.close()


def _mention(mention_id: str, brand: str) -> Mention:
    return Mention(id=mention_id, published_at=T0, text=f"Rappel massif {brand.title()} : airbags défectueux",
                   brand=brand, source="x-search")




def _run(worker: Worker, condition: Callable[[], bool]) -> tuple[bool, bool]:
    """Run ``worker`` until ``condition``; whether it held, and whether the worker was still running."""
    stop = threading.Event()
    thread = threading.Thread(target=worker.run, args=(stop,))
    thread.start()
    try:
        held = wait_until(condition)
        alive = thread.is_alive()
    finally:
        stop.set()
        thread.join(timeout=30)
    return held, alive


def _worker(store: RedisStore, stream: MentionStream, config: Config) -> Worker:
    return Worker(stream=stream, store=store, name="w1", clock=SystemClock(),
                  pipeline=build_pipeline(config, store, SystemClock(), {}),
                  settings=WorkerSettings(block_ms=50, backoff_base=0.01, backoff_cap=0.02, max_failures=3))


def _counted(store: RedisStore, brand: str) -> int:
    return sum(b.count for b in store.buckets(brand, T0 - timedelta(hours=2), T0 + timedelta(hours=2)))


def test_a_worker_counts_mentions_of_hours_with_previous_version_exemplars(clean_redis_url: str,
                                                                          config: Config) -> None:
    store, client = connect(clean_redis_url)
    write_legacy_exemplar(client, store, exemplar("peugeot", "old", T0, 0.5))
    stream = MentionStream(client, store.keys)
    stream.ensure_group()
    stream.add([_mention(f"m{i}", "peugeot") for i in range(3)])
    worker = _worker(store, stream, config)
    held, alive = _run(worker, lambda: worker.processed == 3 and stream.pending() == 0)
    assert held and alive
    assert _counted(store, "peugeot") == 3 and stream.dead_letter_count() == 0
    assert {e.mention_id for e in store.exemplars("peugeot", T0 - timedelta(hours=1), T0 + timedelta(hours=1), 5)} \
        == {"m0", "m1", "m2"}
    store.close()
    client.close()


def test_an_entry_redis_refuses_is_dead_lettered_and_the_worker_keeps_going(clean_redis_url: str,
                                                                           config: Config) -> None:
    """A value of the wrong type where citroen's exemplars go: Redis answers WRONGTYPE (not retryable)
    for every citroen mention of that hour; the worker isolates it, counts the others, keeps running."""
    store, client = connect(clean_redis_url)
    client.hset(store.keys.exemplar_hour("citroen", HOUR), "not", "a packed string")
    stream = MentionStream(client, store.keys)
    stream.ensure_group()
    stream.add([_mention("p0", "peugeot"), _mention("c0", "citroen"), _mention("p1", "peugeot")])
    worker = _worker(store, stream, config)
    stop = threading.Event()
    thread = threading.Thread(target=worker.run, args=(stop,))
    thread.start()
    try:
        assert wait_until(lambda: stream.dead_letter_count() == 1 and stream.pending() == 0)
        stream.add([_mention("p2", "peugeot")])  # still running: later mentions are counted
        assert wait_until(lambda: _counted(store, "peugeot") == 3 and stream.pending() == 0)
        assert thread.is_alive()
    finally:
        stop.set()
        thread.join(timeout=30)
    [(_, fields)] = client.xrange(store.keys.dead_letters())
    assert "WRONGTYPE" in fields["error"] and fields["failures"] == "3" and '"c0"' in fields["m"]
    assert worker.dead_lettered == 1 and client.hlen(store.keys.failures()) == 0
    store.close()
    client.close()

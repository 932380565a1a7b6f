"""Defects found by review of the scale-out (issue #7), each proved on a real redis-server before the fix.

1. An entry that makes decoding raise something other than ``KeyError``/``TypeError``/``ValueError``
   (a time out of range, ``null``, nesting too deep), or whose bytes are not UTF-8 (redis-py's own
   decoding then fails the whole ``XREADGROUP``), must go to the dead-letter stream: before the fix it
   stalled the worker (and every worker that claimed it) forever, with the good entries of its batch.
2. A tick that started under one lease token and is still running when its scheduler takes the lease back
   under a newer token (after another scheduler held it and wrote) must not write its stale state: before
   the fix it wrote under the new token (the store's one, shared), overwriting the other scheduler's.
3. A failure counted for an entry another worker acknowledged meanwhile stayed in the failures hash for good.
4. A brand whose name starts with ``}`` (the ``brand`` field of a pushed mention is free text) made no hash
   tag: its keys spread over Redis Cluster slots, so its atomic scripts would be refused there.
5. A mention id seen again with a ``published_at`` on another day (a source that re-dates an item, an undated
   item dated at each poll) was counted again on Redis (markers per published day), once on SQLite.
6. A lease acquisition whose reply was lost (and that redis-py's retry sent again) left the lease held in Redis
   by this scheduler while it believed it was not: no active scheduler at all until the lease expired.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import redis

from service.app import build_pipeline
from service.clock import SystemClock
from service.config import Config, load_config
from service.domain import Mention
from service.scale.roles import Scheduler, connect
from service.scale.stream import MentionStream
from service.scale.worker import Worker, WorkerSettings
from service.store.keys import Keys
from tests.waiting import wait_until

ROOT = Path(__file__).resolve().parent.parent
T0 = datetime(2025, 3, 4, 9, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def config() -> Config:
    return load_config(ROOT / "tests" / "fixtures" / "scale" / "alerts.yaml")


def _mention(mention_id: str) -> Mention:
    return Mention(id=mention_id, published_at=T0, text="Rappel massif Peugeot : airbags défectueux",
                   brand="peugeot", source="x-search")




def _counted(store: object) -> int:
    buckets = store.buckets("peugeot", T0 - timedelta(hours=1), T0 + timedelta(hours=1))  # type: ignore[attr-defined]
    return sum(b.count for b in buckets)


POISON = {
    "time out of range": '["x",100000000000000000000,"t",null,null,null,null,null,null,null,null,null,null]',
    "reach out of range": '["x",1,"t",null,null,null,null,null,null,null,' + "9" * 400 + ",null,null]",
    "null": "null",
    "nested too deep": "[" * 100_000,
}


@pytest.mark.parametrize("poison", [*POISON, "not UTF-8"])
def test_an_entry_that_does_not_decode_is_dead_lettered_and_never_stalls_the_group(
        clean_redis_url: str, config: Config, poison: str) -> None:
    store, client = connect(clean_redis_url)
    raw = redis.Redis.from_url(clean_redis_url)  # bytes as they are
    stream = MentionStream(client, store.keys)
    stream.ensure_group()
    stream.add([_mention("ok-1"), _mention("ok-2")])
    raw.xadd(stream.name, {"m": b"\xff\xfe not UTF-8" if poison == "not UTF-8" else POISON[poison].encode()})
    stream.add([_mention("ok-3")])
    worker = Worker(stream=stream, store=store, name="w1", clock=SystemClock(),
                    pipeline=build_pipeline(config, store, SystemClock(), {}),
                    settings=WorkerSettings(batch=50, block_ms=50, backoff_base=0.01, backoff_cap=0.05))
    stop = threading.Event()
    thread = threading.Thread(target=worker.run, args=(stop,))
    thread.start()
    try:
        assert wait_until(lambda: stream.pending() == 0 and stream.dead_letter_count() == 1), (
            f"stalled: {stream.pending()} pending, {stream.dead_letter_count()} dead letters")
        [(_, fields)] = raw.xrange(store.keys.dead_letters())  # the original bytes are kept, as they were
        assert fields[b"error"].startswith(b"not a mention record")
        assert fields[b"m"] == raw.xrange(stream.name)[2][1][b"m"]
        assert _counted(store) == 3 and stream.processed_through(stream.last_id())
    finally:
        stop.set()
        thread.join(timeout=30)
        raw.close()
    store.close()
    client.close()


def test_a_tick_from_before_a_takeback_cannot_write_under_the_new_token(clean_redis_url: str, config: Config) -> None:
    """A ticks; the tick stalls just before its checkpoint (GC pause, partition) while A's lease expires.
    B takes over, checkpoints and stops; A takes the lease back (newer token). When A's old tick resumes,
    its writes carry the token that tick started with, and are refused: B's checkpoint stays."""
    clock = SystemClock()
    store_a, client_a = connect(clean_redis_url)
    store_b, client_b = connect(clean_redis_url)
    a = Scheduler(config, store=store_a, client=client_a, clock=clock, notifiers={},
                  lease_ttl=timedelta(milliseconds=400))
    b = Scheduler(config, store=store_b, client=client_b, clock=clock, notifiers={}, lease_ttl=timedelta(seconds=60))
    paused, resume = threading.Event(), threading.Event()
    saves = store_a._translated_save

    def stalled_save(states: object) -> None:  # the tick's checkpoint: one write of every state
        paused.set()
        resume.wait(30)
        saves(states)  # type: ignore[arg-type]

    threads: list[threading.Thread] = []
    try:
        a.keep_lease()
        assert a.ticker is not None
        store_a._translated_save = stalled_save  # type: ignore[method-assign]
        assert a.lease.keep()  # renewed: held for a little while (building the pipeline took longer)
        threads.append(threading.Thread(target=a.tick))
        threads[-1].start()
        assert paused.wait(30)  # A's tick is about to checkpoint (cursor:peugeot among others)
        assert wait_until(lambda: not client_b.exists(store_b.keys.lease()), 10)  # A's lease expired meanwhile
        b.keep_lease()
        assert b.lease.held()
        store_b.save_state("cursor:peugeot", {"next_bucket": "by B"})  # B's progress
        b_token = b.lease.state.token
        b.lease.release()  # B stops
        threads.append(threading.Thread(target=a.keep_lease))  # A's lease job: takes the lease back
        threads[-1].start()
        assert wait_until(lambda: client_a.get(store_a.keys.fenced("state")) == str(a.lease.state.token), 10)
        assert a.lease.state.token is not None and b_token is not None and a.lease.state.token > b_token
        resume.set()  # the stale tick goes on
        for thread in threads:
            thread.join(timeout=60)
        assert store_b.load_state("cursor:peugeot") == {"next_bucket": "by B"}  # the stale tick was refused
        assert a.ticker is not None and a.ticker.fence_token == a.lease.state.token  # A resumes from B's state
    finally:
        resume.set()
        for thread in threads:
            thread.join(timeout=60)
        for role, store, client in ((a, store_a, client_a), (b, store_b, client_b)):
            role.lease.release()
            role.runner.close()
            store.close()
            client.close()


def test_a_failure_counted_after_another_worker_acknowledged_the_entry_leaves_nothing_behind(
        clean_redis_url: str) -> None:
    """W1's attempt at an entry fails while W2, which took it over, processed and acknowledged it: the
    failure is not counted (the failures hash would keep that entry's count for good)."""
    store, client = connect(clean_redis_url)
    stream = MentionStream(client, store.keys)
    stream.ensure_group()
    stream.add([_mention("m-1")])
    [entry] = stream.read("w1", count=1, block_ms=None)
    [taken] = stream.claim("w2", min_idle_ms=0, count=1)
    stream.ack([taken.id], forget_failures=True)  # W2 is done with it
    assert not stream.failed(entry.id, "RuntimeError: too late", "w1", max_failures=3)
    assert client.hlen(store.keys.failures()) == 0 and stream.dead_letter_count() == 0
    store.close()
    client.close()


@pytest.mark.parametrize("brand", ["peugeot", "}x", "", "\\}x", "a}b", "{x"])
def test_every_key_of_a_brand_is_in_one_cluster_slot(private_redis: Callable[..., int], brand: str) -> None:
    with socket.socket() as sock:  # the cluster bus port (by default port + 10000: may not exist)
        sock.bind(("127.0.0.1", 0))
        bus = sock.getsockname()[1]
    port = private_redis("--cluster-enabled", "yes", "--cluster-port", str(bus))
    client = redis.Redis(port=port, decode_responses=True)
    k = Keys()
    names = [k.bucket_hour(brand, 480_000), k.bucket_days(brand), k.exemplar_hour(brand, 480_000),
             k.exemplar_days(brand),
             k.state(f"detector:{brand}", brand), k.fenced(brand), k.processed(brand, 20_000),
             k.processed_scratch(brand, "c4ll"),
             k.legacy_exemplar_hours(brand), k.legacy_exemplar_hour(brand, 1), k.legacy_exemplar_data(brand, 1)]
    try:
        assert len({client.cluster("KEYSLOT", name) for name in names}) == 1, names
    finally:
        client.close()
    others = {"}x": "\\}x", "\\}x": "}x", "": "\\"}
    if brand in others:  # escaping never makes two brands share a key
        assert k.bucket_days(brand) != k.bucket_days(others[brand])


def test_an_id_seen_again_dated_another_day_is_counted_once_like_on_sqlite(clean_redis_url: str,
                                                                          config: Config) -> None:
    from service.store.sqlite import SQLiteStore

    late = datetime(2025, 3, 4, 23, 59, tzinfo=UTC)
    again = [[Mention(id="same", published_at=late + timedelta(minutes=m), text="Peugeot airbags recall",
                      brand="peugeot")] for m in (0, 2, 60 * 24 * 3)]
    sqlite = SQLiteStore(":memory:")
    single = build_pipeline(config, sqlite, SystemClock(), {})
    for batch in again:
        single.ingest(batch)
    store, client = connect(clean_redis_url)
    stream = MentionStream(client, store.keys)
    stream.ensure_group()
    worker = Worker(stream=stream, store=store, name="w1", clock=SystemClock(),
                    pipeline=build_pipeline(config, store, SystemClock(), {}))
    for batch in again:  # three entries, processed one by one
        stream.add(batch)
        worker.process(stream.read("w1", count=10, block_ms=None))
    span = (late - timedelta(days=1), late + timedelta(days=5))
    assert [b.count for b in store.buckets("peugeot", *span)] == [b.count for b in sqlite.buckets("peugeot", *span)]
    assert sum(b.count for b in store.buckets("peugeot", *span)) == 1
    store.close()
    client.close()
    sqlite.close()


def test_a_lease_acquired_whose_reply_was_lost_is_still_ours(private_redis: Callable[..., int]) -> None:
    """The acquisition's reply is lost (the server was stalled past the socket timeout; it ran the script
    later) and the client's retry sends it again: the lease is this scheduler's, it must say so rather than
    leave the deployment without a scheduler until the lease expires."""
    from redis.backoff import ExponentialBackoff
    from redis.retry import Retry

    from service.scale.lease import Lease

    port = private_redis()
    client = redis.Redis(port=port, decode_responses=True, socket_timeout=0.3,  # connect()'s retry policy
                         retry=Retry(ExponentialBackoff(cap=2.0, base=0.05), retries=3),
                         retry_on_error=[redis.ConnectionError, redis.TimeoutError])
    staller = redis.Redis(port=port)
    lease = Lease(client, Keys(), SystemClock(), ttl=timedelta(seconds=30), holder="a")
    client.ping()
    lease._acquire(keys=["warm-up", "warm-up:fence"], args=["x", 1])  # the script is loaded: EVALSHA from now on
    stall = threading.Thread(target=staller.eval, args=(
        "local t = redis.call('TIME'); local stop = t[1] * 1000000 + t[2] + 1200000; "
        "repeat t = redis.call('TIME') until t[1] * 1000000 + t[2] >= stop; return 1", 0))
    stall.start()
    time.sleep(0.1)
    try:
        held = lease.keep()  # sent during the stall: times out, retried; the server runs every copy later
    finally:
        stall.join()
    value = client.get(Keys().lease())
    try:
        assert value is not None and value.endswith(":a")  # Redis says: "a" holds the lease
        assert held and lease.state.value == value
    finally:
        client.close()
        staller.close()

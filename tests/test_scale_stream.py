"""Scale-out building blocks on a real redis-server: lease and fencing, counting once through
redelivery and XAUTOCLAIM, trimming behind the watermark, passwords and ACL users."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import redis

from service.app import build_pipeline
from service.clock import SimulatedClock, SystemClock
from service.config import Config, load_config
from service.domain import Mention
from service.pipeline import COUNTED_KEPT_DAYS
from service.scale.lease import Lease
from service.scale.roles import connect, run_worker
from service.scale.stream import MentionStream, NotLeader, parse_id
from service.scale.worker import Worker, WorkerSettings, retryable
from service.store.base import StoreError
from service.store.redis import RedisStore

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "scale"
T0 = datetime(2024, 11, 18, 6, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def config() -> Config:
    return load_config(FIXTURES / "alerts.yaml")


@pytest.fixture
def url(private_redis: Callable[..., int]) -> str:
    return f"redis://127.0.0.1:{private_redis()}/0"


def mentions(n: int, brand: str = "Peugeot") -> list[Mention]:
    return [Mention(id=f"m{i}", published_at=T0 + timedelta(seconds=37 * i), text=f"{brand} app down again {i}",
                    lang="en", source="twitter", reach=10.0) for i in range(n)]


def worker(url: str, config: Config, name: str, **settings: float) -> Worker:
    store, client = connect(url)
    return Worker(stream=MentionStream(client, store.keys), store=store, name=name, clock=SystemClock(),
                  pipeline=build_pipeline(config, store, SystemClock(), {}), settings=WorkerSettings(**settings))


def counted(store: RedisStore, brand: str = "peugeot") -> int:
    return sum(b.count for b in store.buckets(brand, T0 - timedelta(days=1), T0 + timedelta(days=1)))


def test_lease_has_one_holder_and_fences_a_stale_one(url: str) -> None:
    store, client = connect(url)
    clock = SystemClock()
    first = Lease(client, store.keys, clock, ttl=timedelta(milliseconds=300), holder="a")
    second = Lease(client, store.keys, clock, ttl=timedelta(seconds=5), holder="b")
    stream = MentionStream(client, store.keys)
    assert first.keep() and not second.keep()
    stale = first.value
    assert stale is not None and stream.add(mentions(2), fence=stale) is not None
    threading.Event().wait(0.4)  # the first holder stalls past its TTL without renewing
    assert not first.held()
    assert second.keep() and second.state.token == first.state.token + 1  # type: ignore[operator]
    with pytest.raises(NotLeader):
        stream.add(mentions(1), fence=stale)
    assert client.xlen(stream.name) == 2
    assert not first.keep()  # renewal refused: someone else holds it
    second.release()
    assert first.keep()


def test_a_redelivered_batch_is_counted_once(url: str, config: Config) -> None:
    crashing = worker(url, config, "crashing")
    crashing.stream.ensure_group()
    crashing.stream.add(mentions(30))
    entries = crashing.stream.read("crashing", count=100, block_ms=None)
    crashing.stream.ack = lambda ids, **_: (_ for _ in ()).throw(SystemExit("killed before XACK"))  # type: ignore[method-assign]
    with pytest.raises(SystemExit):
        crashing.process(entries)  # buckets updated, entries still pending
    assert counted(crashing.store) == 30 and crashing.stream.pending() == 30
    survivor = worker(url, config, "survivor", claim_idle_ms=0)
    taken = survivor.stream.claim("survivor", min_idle_ms=0, count=100)
    assert [e.id for e in taken] == [e.id for e in entries]
    assert survivor.process(taken) == 0  # every id already marked: nothing added twice
    assert counted(survivor.store) == 30 and survivor.stream.pending() == 0
    ttl = survivor.stream.client.ttl(survivor.store.keys.processed("peugeot", 20045))
    assert (COUNTED_KEPT_DAYS - 1) * 86400 < ttl <= COUNTED_KEPT_DAYS * 86400


def test_entries_of_a_dead_consumer_are_taken_over(url: str, config: Config) -> None:
    live = worker(url, config, "live", claim_idle_ms=200, block_ms=50, claim_every=0.1)
    live.stream.ensure_group()
    live.stream.add(mentions(40))
    dead = live.stream.read("dead", count=25, block_ms=None)  # read, then the process died
    assert len(dead) == 25
    stop = threading.Event()
    thread = threading.Thread(target=live.run, args=(stop,))
    thread.start()
    for _ in range(200):
        if live.stream.pending() == 0 and live.processed >= 40:
            break
        threading.Event().wait(0.02)
    stop.set()
    thread.join()
    assert counted(live.store) == 40 and live.stream.pending() == 0


def _consumers(stream: MentionStream) -> set[str]:
    return {str(c["name"]) for c in stream.client.xinfo_consumers(stream.name, stream.group)}


def test_consumers_gone_for_good_leave_the_group_but_never_with_pending_entries(url: str, config: Config) -> None:
    """Restarted workers are new consumers (host:pid): the idle ones holding nothing are removed; one that
    still holds an entry keeps it (removing it would drop its pending list: entries lost for good)."""
    live = worker(url, config, "live", block_ms=50, claim_every=0.05, claim_idle_ms=3_600_000, forget_every=0.05,
                  forget_idle_ms=100)
    live.stream.ensure_group()
    live.stream.add(mentions(4))
    holding = live.stream.read("holding", count=1, block_ms=None)  # died holding one entry (not yet claimable)
    idle = live.stream.read("idle", count=1, block_ms=None)
    live.stream.ack([entry.id for entry in idle])  # finished its work, then went away
    assert len(holding) == 1 and {"holding", "idle"} <= _consumers(live.stream)
    threading.Event().wait(0.15)
    stop = threading.Event()
    thread = threading.Thread(target=live.run, args=(stop,))
    thread.start()
    for _ in range(200):
        if "idle" not in _consumers(live.stream) and live.processed >= 2:
            break
        threading.Event().wait(0.02)
    stop.set()
    thread.join()
    assert _consumers(live.stream) == {"live", "holding"}
    assert live.stream.own_pending("holding", count=10)[0].id == holding[0].id
    # The check and the removal are one step: a consumer that holds an entry is never removed, idle or not.
    assert live.stream.forget_idle_consumers("live", idle_ms=0) == []


def test_trimming_never_drops_unacknowledged_entries(url: str) -> None:
    store, client = connect(url)
    stream = MentionStream(client, store.keys)
    stream.ensure_group()
    stream.add(mentions(10))
    entries = stream.read("w", count=10, block_ms=None)
    stream.ack([e.id for e in entries[:4]] + [entries[6].id])
    assert stream.watermark() == entries[4].id
    assert stream.trim() == 4
    left = [entry_id for entry_id, _ in client.xrange(stream.name)]
    assert left == [e.id for e in entries[4:]]
    assert not stream.processed_through(entries[5].id) and stream.processed_through(entries[3].id)
    stream.ack([e.id for e in entries])
    assert parse_id(stream.watermark()) > parse_id(entries[-1].id) and stream.trim() == 6


@pytest.mark.parametrize("options, credentials", [
    (("--requirepass", "s3cret"), ":s3cret@"),
    (("--user", "default", "off", "--user", "cw", "on", ">pw-cw", "~*", "&*", "+@all"), "cw:pw-cw@"),
])
def test_password_and_acl_user(private_redis: Callable[..., int], config: Config, options: tuple[str, ...],
                               credentials: str) -> None:
    port = private_redis(*options)
    live = worker(f"redis://{credentials}127.0.0.1:{port}/0", config, "w")
    live.stream.ensure_group()
    live.stream.add(mentions(5))
    live.process(live.stream.read("w", count=10, block_ms=None))
    assert counted(live.store) == 5
    with pytest.raises(redis.AuthenticationError):
        redis.Redis(port=port, password="wrong").ping()


def test_a_worker_refused_by_redis_or_without_redis_exits_2(private_redis: Callable[..., int], config: Config,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    port = private_redis("--requirepass", "s3cret")
    monkeypatch.setenv("CRISISWATCH_STORE", f"redis://:nope@127.0.0.1:{port}/0")
    wrong = load_config(FIXTURES / "alerts.yaml")
    assert run_worker(wrong, stop=threading.Event()) == 2
    assert run_worker(config, stop=threading.Event()) == 2  # sqlite store: scale-out needs Redis


def test_stream_replay_on_a_simulated_clock_ticks_behind_the_watermark(url: str, config: Config) -> None:
    from service.scale.drive import StreamReplay
    from service.scale.ticker import Ticker

    store, client = connect(url)
    clock = SimulatedClock(T0)
    stream = MentionStream(client, store.keys)
    ticker = Ticker(build=lambda: build_pipeline(config, store, clock, {}), stream=stream, store=store,
                    clock=SystemClock())
    live = worker(url, config, "w", block_ms=20)
    stop = threading.Event()
    thread = threading.Thread(target=live.run, args=(stop,))
    thread.start()
    try:
        StreamReplay(stream=stream, ticker=ticker, clock=clock, waiter=SystemClock()).run(
            mentions(20), step=timedelta(minutes=5), tail=timedelta(minutes=10))
    finally:
        stop.set()
        thread.join()
    assert counted(store) == 20
    assert ticker.pipeline.next_bucket["peugeot"] >= T0 + timedelta(minutes=15)


def test_two_schedulers_one_active_and_a_clean_handover(url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    from service.scale.roles import run_scheduler

    monkeypatch.setenv("CRISISWATCH_STORE", url)
    monkeypatch.setenv("CRISISWATCH_LISTEN", "127.0.0.1:0")  # each scheduler's HTTP on a port of its own
    scale_config = load_config(FIXTURES / "alerts.yaml")
    client = redis.Redis.from_url(url, decode_responses=True)
    lease = connect(url)[0].keys.lease()
    stops = [threading.Event(), threading.Event()]
    codes: list[int] = []
    threads = [threading.Thread(target=lambda s=stop: codes.append(run_scheduler(
        scale_config, stop=s, notifiers={}, lease_ttl=timedelta(seconds=1.5)))) for stop in stops]

    def wait_for(condition: Callable[[], bool]) -> bool:
        for _ in range(300):
            if condition():
                return True
            threading.Event().wait(0.05)
        return False

    threads[0].start()
    assert wait_for(lambda: (client.get(lease) or "").startswith("1:"))
    threads[1].start()
    threading.Event().wait(1.0)  # the second one keeps trying, in vain
    assert (client.get(lease) or "").startswith("1:")
    stops[0].set()
    threads[0].join(timeout=30)
    assert wait_for(lambda: (client.get(lease) or "").startswith("2:"))  # released at stop, taken over
    stops[1].set()
    threads[1].join(timeout=30)
    assert codes == [0, 0] and client.get(lease) is None
    client.close()


def test_redis_errors_that_pass_dead_letter_nothing_and_count_everything_once(url: str, config: Config) -> None:
    """Timeouts while counting, then BUSY replies while acknowledging (a failover, a slow script): the
    worker retries the entries it holds without reading them again, so no retry counts as a delivery
    and nothing good reaches the dead-letter stream."""
    w = worker(url, config, "w1", block_ms=50, backoff_base=0.01, backoff_cap=0.02, max_deliveries=3)
    w.stream.ensure_group()
    w.stream.add(mentions(5))
    count_once, ack = w.store.add_to_buckets_once_many, w.stream.ack
    failures: list[int] = []  # deliveries of the entries seen at each injected failure

    def delivered() -> int:
        ids = [entry_id for entry_id, _ in w.stream.client.xrange(w.stream.name)]
        return max(w.stream.deliveries(ids, "w1").values())

    def timing_out(*args: Any, **kwargs: Any) -> Any:
        if len(failures) < 12:
            failures.append(delivered())
            raise StoreError("redis store unreachable: Timeout reading from socket", retryable=True)
        return count_once(*args, **kwargs)

    def busy(*args: Any, **kwargs: Any) -> Any:
        if len(failures) < 24:
            failures.append(delivered())
            raise redis.ResponseError("BUSY Redis is busy running a script. You can only call SCRIPT KILL")
        return ack(*args, **kwargs)

    w.store.add_to_buckets_once_many = timing_out  # type: ignore[method-assign]
    w.stream.ack = busy  # type: ignore[method-assign]
    stop = threading.Event()
    thread = threading.Thread(target=w.run, args=(stop,))
    thread.start()
    for _ in range(500):
        if w.processed >= 5 and w.stream.pending() == 0:
            break
        threading.Event().wait(0.02)
    stop.set()
    thread.join()
    assert len(failures) == 24 and set(failures) == {1}  # one delivery, however many retries
    assert w.stream.dead_letter_count() == 0 and w.stream.pending() == 0
    assert counted(w.store) == 5 and w.processed == 5


def test_deliveries_reads_only_the_consumers_own_pending_entries(url: str) -> None:
    store, client = connect(url)
    stream = MentionStream(client, store.keys)
    stream.ensure_group()
    stream.add(mentions(300))
    everything = [e.id for e in stream.read("other", count=300, block_ms=None)]
    mine = everything[7::10]
    client.xclaim(stream.name, stream.group, "w1", 0, mine)
    assert stream.deliveries(mine, "w1") == {entry_id: 2 for entry_id in mine}
    assert stream.deliveries(everything[:3], "w1") == {}
    assert len(stream.deliveries(everything, "other")) == 270


# -- a full or read-only server is waited out, never dead-lettered ------------------------------------

def _fill(client: redis.Redis) -> None:
    """Write until the server refuses for lack of memory (``maxmemory`` with ``noeviction``)."""
    with pytest.raises(redis.exceptions.OutOfMemoryError):
        for i in range(100_000):
            client.set(f"ballast:{i}", "x" * 1000)


def test_a_full_server_is_waited_out_and_nothing_goes_to_the_dead_letters(
        private_redis: Callable[..., int], config: Config) -> None:
    port = private_redis("--maxmemory", "4mb", "--maxmemory-policy", "noeviction")
    url = f"redis://127.0.0.1:{port}/0"
    w = worker(url, config, "w1", batch=50, block_ms=50, backoff_base=0.01, backoff_cap=0.05)
    w.stream.ensure_group()
    w.stream.add(mentions(20))
    entries = w.stream.read("w1", count=50, block_ms=100)
    client = redis.Redis.from_url(url)
    _fill(client)
    with pytest.raises(Exception) as full:
        w.process(entries)
    assert retryable(full.value), full.value
    assert w._failed(entries, full.value, 0.0) == entries  # held for a retry as they are, not isolated
    assert w.stream.dead_letter_count() == 0
    with pytest.raises(StoreError) as refused:
        w.store.save_state("probe", {"x": 1})
    assert refused.value.retryable and "maxmemory" in str(refused.value)

    client.config_set("maxmemory", "0")  # memory freed by the operator
    assert w.process(entries) == 20
    assert counted(w.store) == 20 and w.stream.pending() == 0
    client.close()


def test_a_read_only_replica_is_a_retryable_error(private_redis: Callable[..., int], config: Config) -> None:
    primary = private_redis()
    replica = private_redis("--replicaof", "127.0.0.1", str(primary))
    store = RedisStore(f"redis://127.0.0.1:{replica}/0")
    with pytest.raises(StoreError) as refused:
        store.save_state("probe", {"x": 1})
    assert refused.value.retryable and "read only" in str(refused.value)
    client = redis.Redis(port=replica)
    with pytest.raises(redis.ResponseError) as raw:
        client.set("probe", "1")
    assert retryable(raw.value)
    client.close()
    store.close()


def test_a_busy_server_is_retryable_also_inside_a_pipeline(private_redis: Callable[..., int]) -> None:
    """A long script makes the server answer BUSY; redis-py reports a pipelined command's BUSY as
    ``Command # 1 (...) of pipeline caused error: BUSY ...``, which is waited out all the same."""
    port = private_redis("--busy-reply-threshold", "50")
    busy = redis.Redis(port=port)
    started = threading.Event()

    def spin() -> None:
        started.set()
        with pytest.raises(redis.ResponseError):  # killed below
            busy.eval("local t = redis.call('TIME') while true do end", 0)

    spinner = threading.Thread(target=spin)
    spinner.start()
    started.wait()
    client = redis.Redis(port=port)
    try:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                client.ping()
            except redis.exceptions.BusyLoadingError:
                break
            except redis.ResponseError as exc:
                if "BUSY" in str(exc):
                    break
            time.sleep(0.02)
        pipe = client.pipeline(transaction=False)
        pipe.set("a", "1")
        pipe.get("a")
        with pytest.raises(redis.ResponseError) as pipelined:
            pipe.execute()
        assert "of pipeline caused error: BUSY" in str(pipelined.value)
        assert retryable(pipelined.value)
        store = RedisStore(f"redis://127.0.0.1:{port}/0")
        with pytest.raises(StoreError) as refused:
            store.save_state("probe", {"x": 1})
        assert refused.value.retryable
        store.close()
    finally:
        redis.Redis(port=port).script_kill()
        spinner.join(timeout=10)
        client.close()

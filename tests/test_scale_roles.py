"""Scale-out roles on a real redis-server: fencing of the scheduler's writes, the dead-letter stream,
HTTP health and metrics of every role, and ``POST /v1/mentions`` into the stream."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from service.app import build_pipeline
from service.clock import SystemClock
from service.config import Config, load_config
from service.domain import Enriched, Mention
from service.pipeline import COUNTED_KEPT_DAYS, Pipeline
from service.scale.roles import Scheduler, connect
from service.scale.stream import MentionStream, NotLeader
from service.scale.worker import Worker, WorkerSettings
from service.store.base import OutboxItem
from service.store.redis import FencedOut
from tests.test_store_contract import incident
from tests.waiting import wait_until

ROOT = Path(__file__).resolve().parent.parent
T0 = datetime(2025, 3, 4, 9, 0, tzinfo=UTC)
TTL = timedelta(milliseconds=400)


@pytest.fixture
def config() -> Config:
    return load_config(ROOT / "tests" / "fixtures" / "scale" / "alerts.yaml")


def _mention(mention_id: str) -> Mention:
    return Mention(id=mention_id, published_at=T0, text="Rappel massif Peugeot : airbags défectueux",
                   brand="peugeot", source="x-search")


def _outbox_item(key: str) -> OutboxItem:
    return OutboxItem(key=key, incident_id="inc-1", receiver="brand-team", seq=1, payload={"text": key},
                      created_at=T0, next_attempt_at=T0)


def test_a_paused_old_scheduler_cannot_write_after_losing_the_lease(clean_redis_url: str, config: Config) -> None:
    """Scheduler A holds the lease, then stalls past its TTL (a long GC pause, a frozen VM); B takes
    over. When A wakes up in the middle of its tick, every write it makes is refused by Redis itself:
    checkpoint, incident, outbox, stream append. B's writes go through."""
    clock = SystemClock()
    store_a, client_a = connect(clean_redis_url)
    store_b, client_b = connect(clean_redis_url)
    a = Scheduler(config, store=store_a, client=client_a, clock=clock, notifiers={}, lease_ttl=TTL)
    b = Scheduler(config, store=store_b, client=client_b, clock=clock, notifiers={}, lease_ttl=timedelta(seconds=60))
    try:
        a.keep_lease()  # acquires the lease and builds its pipeline (loading the model takes a while)
        assert a.ticker is not None and a.lease.state.value is not None
        stale_value = a.lease.state.value
        with a.ticker.pipeline.lock:
            a.ticker.pipeline.start_brand("peugeot", T0)  # A evaluates peugeot: it has a state to checkpoint
        a.ticker.pipeline.store.save_state("detector:peugeot", {"by": "a"})
        store_a.save_incident(incident("inc-1", "peugeot", T0))

        deadline = time.monotonic() + 10  # A is paused: its lease expires in Redis
        while client_b.exists(store_b.keys.lease()) and time.monotonic() < deadline:
            time.sleep(0.05)
        b.keep_lease()
        assert b.ticker is not None and b.lease.held()
        assert b.lease.state.token is not None and a.lease.state.token is not None
        assert b.lease.state.token > a.lease.state.token

        # A resumes where it stopped, believing it still leads: refused inside Redis, not by A's own check.
        with pytest.raises(FencedOut, match="NOTLEADER"):
            a.ticker.pipeline.checkpoint(clock.now())
        with pytest.raises(FencedOut):
            store_a.save_state("detector:peugeot", {"by": "a, stale"})
        with pytest.raises(FencedOut):
            store_a.save_incident(incident("inc-1", "peugeot", T0, resolved=True))
        with pytest.raises(FencedOut):
            store_a.outbox_enqueue([_outbox_item("stale")])
        with pytest.raises(NotLeader):
            MentionStream(client_a, store_a.keys).add([_mention("m-stale")], fence=stale_value)

        assert store_b.load_state("detector:peugeot") == {"by": "a"}
        found = store_b.incident("inc-1")
        assert found is not None and found.is_open
        assert store_b.outbox_pending() == []
        assert client_b.xlen(store_b.keys.stream()) == 0

        store_b.save_state("detector:peugeot", {"by": "b"})  # the new holder writes normally
        assert store_b.outbox_enqueue([_outbox_item("fresh")]) == 1
        assert store_a.load_state("detector:peugeot") == {"by": "b"}
    finally:
        for role, store, client in ((a, store_a, client_a), (b, store_b, client_b)):
            role.lease.release()
            role.runner.close()
            store.close()
            client.close()


def test_a_scheduler_that_takes_the_lease_back_writes_under_its_new_token(clean_redis_url: str,
                                                                         config: Config) -> None:
    """A loses the lease (paused past its TTL), B holds it and stops; A takes it back with a newer token
    than B's. A's writes must carry that new token: with its old one, Redis would refuse every write of
    the active scheduler for good (no ticks, no alerts) while A keeps renewing the lease."""
    clock = SystemClock()
    store_a, client_a = connect(clean_redis_url)
    store_b, client_b = connect(clean_redis_url)
    a = Scheduler(config, store=store_a, client=client_a, clock=clock, notifiers={}, lease_ttl=TTL)
    b = Scheduler(config, store=store_b, client=client_b, clock=clock, notifiers={}, lease_ttl=timedelta(seconds=60))
    try:
        a.keep_lease()
        first = a.lease.state.token
        deadline = time.monotonic() + 10
        while client_b.exists(store_b.keys.lease()) and time.monotonic() < deadline:
            time.sleep(0.05)
        b.keep_lease()
        second = b.lease.state.token
        assert b.lease.held() and second is not None and first is not None and second > first
        b.lease.release()  # B stops
        a.keep_lease()  # A, still believing it led, takes the lease back (its TTL is short: not checked)
        assert a.ticker is not None and a.lease.state.token is not None and a.lease.state.token > second
        assert store_a.fence_token == a.lease.state.token
        store_a.save_state("detector:peugeot", {"by": "a, again"})
        store_a.save_incident(incident("inc-2", "citroen", T0))
        assert store_a.outbox_enqueue([_outbox_item("after-takeback")]) == 1
        a.ticker.pipeline.checkpoint(clock.now())
        assert store_b.load_state("detector:peugeot") == {"by": "a, again"}
    finally:
        for role, store, client in ((a, store_a, client_a), (b, store_b, client_b)):
            role.lease.release()
            role.runner.close()
            store.close()
            client.close()


def test_unfenced_writers_are_not_affected(clean_redis_url: str) -> None:
    """Workers, the single process and tools write without a token: fencing never refuses them."""
    store, client = connect(clean_redis_url)
    try:
        store.claim_fence(41, ["peugeot"])
        store.save_state("detector:peugeot", {"ok": True})
        store.save_incident(incident("inc-2", "peugeot", T0))
        assert store.load_state("detector:peugeot") == {"ok": True}
        store.fence_token = 40
        with pytest.raises(FencedOut):
            store.save_state("detector:peugeot", {"ok": False})
        store.fence_token = 42
        store.save_state("detector:peugeot", {"ok": "newer"})
        assert client.get(store.keys.fenced("peugeot")) == "42"
    finally:
        store.close()
        client.close()


# -- poison entries: the dead-letter stream ---------------------------------------------------------

class BuggyPipeline(Pipeline):
    """A real pipeline with a deliberate bug: counting the mention ``poison`` always fails."""

    def count_once(self, enriched: Sequence[Enriched], keep_days: int = COUNTED_KEPT_DAYS) -> list[Enriched]:
        if any(item.mention.id == "poison" for item in enriched):
            raise RuntimeError("cannot count this mention")
        return super().count_once(enriched, keep_days)




def test_poison_entries_go_to_the_dead_letter_stream_and_the_rest_is_counted(clean_redis_url: str,
                                                                             config: Config) -> None:
    store, client = connect(clean_redis_url)
    stream = MentionStream(client, store.keys)
    stream.ensure_group()
    stream.add([_mention(f"ok-{i}") for i in range(3)] + [_mention("poison")] + [_mention("ok-3")])
    client.xadd(stream.name, {"m": '["half a record"'})  # does not decode: never retried
    client.xadd(stream.name, {"m": '["x",1,"t",null,"podcast",null,null,null,null,null,null,null,null]'})
    pipeline = build_pipeline(config, store, SystemClock(), {})
    pipeline.__class__ = BuggyPipeline  # the service's own pipeline, with the bug
    worker = Worker(stream=stream, store=store, name="w1", clock=SystemClock(), pipeline=pipeline,
                    settings=WorkerSettings(batch=50, block_ms=50, backoff_base=0.01, backoff_cap=0.02,
                                            max_failures=3))
    stop = threading.Event()
    thread = threading.Thread(target=worker.run, args=(stop,))
    thread.start()
    try:
        assert wait_until(lambda: stream.dead_letter_count() == 3 and stream.pending() == 0)
    finally:
        stop.set()
        thread.join(timeout=30)
    dead = {fields["id"]: fields for _, fields in client.xrange(store.keys.dead_letters())}
    errors = sorted(fields["error"] for fields in dead.values())
    assert errors[0].startswith("RuntimeError: cannot count this mention")
    assert [e.split(":")[0] for e in errors[1:]] == ["not a mention record", "not a mention record"]
    assert "podcast" in errors[2] or "podcast" in errors[1]
    poison = next(f for f in dead.values() if f["error"].startswith("RuntimeError"))
    assert poison["failures"] == "3" and poison["consumer"] == "w1" and '"poison"' in poison["m"]
    counted = store.buckets("peugeot", T0 - timedelta(hours=1), T0 + timedelta(hours=1))
    assert sum(b.count for b in counted) == 4  # every good mention once, none lost behind the poison one
    assert worker.dead_lettered == 3
    assert client.hlen(store.keys.failures()) == 0 and stream.processed_through(stream.last_id())
    store.close()
    client.close()


def test_entries_delivered_too_often_are_dead_lettered(clean_redis_url: str, config: Config) -> None:
    """An entry whose worker dies while processing it (each time) is not retried forever."""
    store, client = connect(clean_redis_url)
    stream = MentionStream(client, store.keys)
    stream.ensure_group()
    stream.add([_mention("killer"), _mention("fine")])
    first = stream.read("w1", count=1, block_ms=None)  # "killer" delivered, then the worker dies...
    for _ in range(8):  # ...at every restart; the restarted worker's own read is the 10th delivery
        assert [e.id for e in stream.own_pending("w1", count=1)] == [first[0].id]
    worker = Worker(stream=stream, store=store, name="w1", clock=SystemClock(),
                    pipeline=build_pipeline(config, store, SystemClock(), {}),
                    settings=WorkerSettings(block_ms=50, max_deliveries=10))
    stop = threading.Event()
    thread = threading.Thread(target=worker.run, args=(stop,))
    thread.start()
    try:
        assert wait_until(lambda: stream.pending() == 0 and stream.dead_letter_count() == 1 and worker.processed == 1)
    finally:
        stop.set()
        thread.join(timeout=30)
    [(_, fields)] = client.xrange(store.keys.dead_letters())
    assert fields["id"] == first[0].id and "delivered 10 times" in fields["error"]
    assert sum(b.count for b in store.buckets("peugeot", T0 - timedelta(hours=1), T0 + timedelta(hours=1))) == 1
    store.close()
    client.close()


# -- HTTP of the roles -------------------------------------------------------------------------------

def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_each_role_serves_health_metrics_and_queues_pushed_mentions(clean_redis_url: str,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    from service.scale.roles import run_scheduler, run_worker

    monkeypatch.setenv("CRISISWATCH_STORE", clean_redis_url)
    monkeypatch.setenv("CRISISWATCH_INGEST_TOKEN", "s3cret-token")
    config = load_config(ROOT / "tests" / "fixtures" / "scale" / "alerts.yaml")
    ports = {"worker": _free_port(), "scheduler": _free_port()}
    stop = threading.Event()
    threads = []
    for role, port in ports.items():
        monkeypatch.setenv("CRISISWATCH_LISTEN", f"127.0.0.1:{port}")
        target = (lambda: run_worker(config, name="http-w", stop=stop)) if role == "worker" else (
            lambda: run_scheduler(config, stop=stop, notifiers={}))
        threads.append(threading.Thread(target=target, name=role))
        threads[-1].start()
        assert wait_until(lambda port=port: _get(port, "/healthz") is not None)  # reads CRISISWATCH_LISTEN at start
    store, client = connect(clean_redis_url)
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{ports['worker']}") as http:
            assert http.get("/healthz").json()["status"] == "ok"
            ready = http.get("/readyz")
            assert ready.status_code == 200 and ready.json()["role"] == "worker"
            assert ready.json()["dead_letters"] == 0
            body = "\n".join([json.dumps({"id": "api-1", "published_at": "2025-03-04T09:01:00Z",
                                          "text": "Peugeot recall: airbags", "brand": "peugeot"}),
                              "{not json",
                              json.dumps({"id": "api-2", "published_at": "2025-03-04T09:02:00Z",
                                          "text": "Peugeot app down", "brand": "peugeot"})])
            assert http.post("/v1/mentions", content=body).status_code == 401
            pushed = http.post("/v1/mentions", content=body, headers={"Authorization": "Bearer s3cret-token"})
            assert pushed.status_code == 202
            assert pushed.json()["queued"] == 2 and pushed.json()["rejected"] == 1
            assert wait_until(lambda: sum(b.count for b in store.buckets("peugeot", T0, T0 + timedelta(hours=1))) == 2)
            metrics = http.get("/metrics").text
            assert "crisiswatch_role{role=\"worker\"} 1.0" in metrics
            assert "crisiswatch_mentions_queued_total 2.0" in metrics
            assert "crisiswatch_dead_letters 0.0" in metrics and "crisiswatch_stream_pending 0.0" in metrics
            assert "crisiswatch_worker_processed_entries 2.0" in metrics
        with httpx.Client(base_url=f"http://127.0.0.1:{ports['scheduler']}") as http:
            assert wait_until(lambda: http.get("/readyz").json().get("leader") == 1.0)
            assert http.get("/readyz").status_code == 200
            assert "crisiswatch_scheduler_leader 1.0" in http.get("/metrics").text
    finally:
        stop.set()
        for thread in threads:
            thread.join(timeout=30)
        store.close()
        client.close()
    assert _get(ports["worker"], "/healthz") is None  # stopped with its role


def _get(port: int, path: str) -> httpx.Response | None:
    try:
        return httpx.get(f"http://127.0.0.1:{port}{path}", timeout=2)
    except httpx.HTTPError:
        return None


def test_pushed_mentions_while_redis_is_away_get_503(config: Config, monkeypatch: pytest.MonkeyPatch) -> None:
    from service.scale.http import RoleRuntime, RoleServer

    monkeypatch.setenv("CRISISWATCH_INGEST_TOKEN", "t0ken")
    store, client = connect(f"redis://127.0.0.1:{_free_port()}/0")  # nobody listens there
    runtime = RoleRuntime(role="worker", config=config, store=store, stream=MentionStream(client, store.keys),
                          clock=SystemClock(), status=dict, stopping=threading.Event())
    server = RoleServer(runtime, "127.0.0.1:0")
    address = server.start()
    assert address is not None
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{address[1]}", timeout=30) as http:
            answer = http.post("/v1/mentions", headers={"Authorization": "Bearer t0ken"}, content=json.dumps(
                {"id": "a", "published_at": "2025-03-04T09:01:00Z", "text": "x"}))
            assert answer.status_code == 503 and answer.headers["retry-after"] == "5"
            assert "nothing was ingested" in answer.json()["error"]
            ready = http.get("/readyz")
            assert ready.status_code == 503 and ready.json()["checks"]["store"] is False
    finally:
        server.stop()
        store.close()
        client.close()


def test_states_saved_before_the_state_tag_are_still_read(clean_redis_url: str) -> None:
    store, client = connect(clean_redis_url)
    try:
        client.set(store.keys.legacy_state("cursor:peugeot"), '{"next_bucket": "2025-03-04T09:00:00+00:00"}')
        assert store.load_state("cursor:peugeot") == {"next_bucket": "2025-03-04T09:00:00+00:00"}
        store.save_state("cursor:peugeot", {"next_bucket": "2025-03-04T09:05:00+00:00"})
        assert store.load_state("cursor:peugeot") == {"next_bucket": "2025-03-04T09:05:00+00:00"}
        assert client.exists(store.keys.state("cursor:peugeot"))
    finally:
        store.close()
        client.close()

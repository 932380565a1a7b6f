"""The one store contract suite (service/store/base.py), run on every backend against real engines."""

from __future__ import annotations

import random
import sqlite3
import threading
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from service.domain import AlertState, Bucket, Exemplar, Incident, Severity
from service.store import StoreError, detector_state_name, open_store
from service.store.base import Matcher, MatchOp, OutboxItem, Silence, Store
from service.store.sqlite import SQLiteStore

T0 = datetime(2010, 1, 21, 10, 0, tzinfo=UTC)
FIVE = timedelta(minutes=5)
PARIS = timezone(timedelta(hours=1))


@dataclass
class Backend:
    name: str
    open: Callable[[], Store]


def _backend(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Backend]:
    opened: list[Store] = []
    if request.param == "sqlite-memory":
        factory: Callable[[], Store] = lambda: SQLiteStore(":memory:")  # noqa: E731
    elif request.param == "sqlite-file":
        path = str(tmp_path / "store.db")
        factory = lambda: SQLiteStore(path)  # noqa: E731
    else:
        from service.store.redis import RedisStore

        url = request.getfixturevalue("clean_redis_url")
        factory = lambda: RedisStore(url)  # noqa: E731

    def open_() -> Store:
        opened.append(factory())
        return opened[-1]

    yield Backend(name=request.param, open=open_)
    for s in opened:
        s.close()


@pytest.fixture(params=["sqlite-memory", "sqlite-file", "redis"])
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Backend]:
    yield from _backend(request, tmp_path)


@pytest.fixture(params=["sqlite-file", "redis"])
def durable_backend(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Backend]:
    """The backends that keep their state when closed and reopened (``:memory:`` does not, by design)."""
    yield from _backend(request, tmp_path)


@pytest.fixture
def store(backend: Backend) -> Store:
    return backend.open()


def delta(brand: str = "peugeot", start: datetime = T0, **counts) -> Bucket:
    return Bucket(brand=brand, start=start, **counts)


def exemplar(mention_id: str, negativity: float, published_at: datetime, brand: str = "peugeot") -> Exemplar:
    return Exemplar(brand=brand, mention_id=mention_id, published_at=published_at, text=f"texte {mention_id} ‘é’",
                    negativity=negativity, kind="news", source="gnews-fr", url=f"https://x/{mention_id}",
                    author="a", reach=12.5)


def incident(incident_id: str, brand: str, opened_at: datetime, *, resolved: bool = False) -> Incident:
    return Incident(id=incident_id, brand=brand, opened_at=opened_at, updated_at=opened_at + FIVE,
                    last_anomalous_at=opened_at + FIVE, severity=Severity.WARNING,
                    peak_severity=Severity.CRITICAL, crisis_type="recall", resemblance=0.83, volume=120,
                    peak_volume=340, negative_share=0.61, expected_volume=12.5, baseline_negative_share=0.1,
                    explanation=("volume 10× expected", "négativité +51 pts"),
                    state=AlertState.RESOLVED if resolved else AlertState.ESCALATED,
                    resolved_at=opened_at + timedelta(hours=3) if resolved else None,
                    acknowledged_by="U123" if resolved else None)


def item(key: str, incident_id: str, receiver: str, seq: int, created: datetime, **kw) -> OutboxItem:
    return OutboxItem(key=key, incident_id=incident_id, receiver=receiver, seq=seq,
                      payload={"text": key, "nested": {"n": [1, 2.5, None, "é"]}},
                      created_at=created, next_attempt_at=kw.pop("next_attempt_at", created), **kw)


# -- mentions ----------------------------------------------------------------------------------

def test_mark_seen_returns_each_id_once(store: Store) -> None:
    assert store.mark_seen(["a", "b", "a"], T0) == {"a", "b"}
    assert store.mark_seen(["b", "c"], T0 + FIVE) == {"c"}
    assert store.mark_seen([], T0) == set()
    assert store.mark_seen(["a", "b", "c"], T0 + FIVE * 2) == set()


def test_mark_seen_survives_reopen(durable_backend: Backend) -> None:
    backend = durable_backend
    first = backend.open()
    assert first.mark_seen(["x1", "x2"], T0) == {"x1", "x2"}
    first.close()
    assert backend.open().mark_seen(["x1", "x2", "x3"], T0) == {"x3"}


# -- buckets -----------------------------------------------------------------------------------

def test_buckets_accumulate_and_merge_mappings(store: Store) -> None:
    store.add_to_buckets([
        delta(count=3, negative=2, positive=1, duplicates=1, reach=10.5, crisis={"recall": 2},
              kinds={"news": 3}, sources={"gnews": 3}, langs={"fr": 2, "en": 1}),
        delta(count=1, negative=1, kinds={"social": 1}, langs={"fr": 1}),
    ])
    store.add_to_buckets([delta(start=T0.astimezone(PARIS), count=2, reach=0.25, crisis={"recall": 1, "safety": 1},
                                kinds={"news": 2}, sources={"x": 2})])
    [bucket] = store.buckets("peugeot", T0, T0 + FIVE)
    assert bucket == Bucket(brand="peugeot", start=T0, count=6, negative=3, positive=1, duplicates=1, reach=10.75,
                            crisis={"recall": 3, "safety": 1}, kinds={"news": 5, "social": 1},
                            sources={"gnews": 3, "x": 2}, langs={"fr": 3, "en": 1})
    assert bucket.start.utcoffset() == timedelta(0)


def test_bucket_range_is_half_open_time_ordered_and_per_brand(store: Store) -> None:
    store.add_to_buckets([delta(start=T0 + FIVE * i, count=i + 1) for i in (4, 0, 2, 3)])
    store.add_to_buckets([delta(brand="renault", start=T0, count=99)])
    got = store.buckets("peugeot", T0, T0 + FIVE * 4)
    assert [(b.start, b.count) for b in got] == [(T0, 1), (T0 + FIVE * 2, 3), (T0 + FIVE * 3, 4)]
    assert all(b.crisis == {} and b.kinds == {} for b in got)
    assert [b.count for b in store.buckets("peugeot", T0 + FIVE, T0 + FIVE * 9)] == [3, 4, 5]
    assert store.buckets("peugeot", T0 - timedelta(days=3), T0) == []
    assert store.buckets("toyota", T0, T0 + timedelta(days=1)) == []
    assert [b.count for b in store.buckets("renault", T0, T0 + FIVE)] == [99]


def test_random_deltas_sum_exactly_like_a_reference(store: Store) -> None:
    rnd = random.Random(7)
    expected: dict[tuple[str, datetime], dict[str, Any]] = {}
    names = ["news", "social", "forum", "gnews-fr", "x", "fr", "en", "recall", "2", "é"]
    deltas = []
    for _ in range(300):
        brand, start = rnd.choice(["peugeot", "renault", "toyota"]), T0 + FIVE * rnd.randrange(-300, 300)
        maps = [{rnd.choice(names): rnd.randint(1, 5) for _ in range(rnd.randint(0, 3))} for _ in range(4)]
        one = delta(brand, start, count=rnd.randint(0, 50), negative=rnd.randint(0, 9), positive=rnd.randint(0, 9),
                    duplicates=rnd.randint(0, 3), reach=rnd.choice([0.0, 0.1, 1e6, 123.456]), crisis=maps[0],
                    kinds=maps[1], sources=maps[2], langs=maps[3])
        deltas.append(one)
        acc = expected.setdefault((brand, start), {"count": 0, "reach": 0.0, "maps": [Counter() for _ in range(4)]})
        acc["count"] += one.count
        acc["reach"] += one.reach
        for counter, mapping in zip(acc["maps"], maps, strict=True):
            counter.update(mapping)
    while deltas:
        cut = rnd.randint(1, 40)
        store.add_to_buckets(deltas[:cut])
        deltas = deltas[cut:]
    for brand in ("peugeot", "renault", "toyota"):
        got = store.buckets(brand, T0 - timedelta(days=2), T0 + timedelta(days=2))
        want = sorted((start, acc) for (b, start), acc in expected.items() if b == brand)
        assert [b.start for b in got] == [start for start, _ in want]
        for bucket, (_, acc) in zip(got, want, strict=True):
            assert bucket.count == acc["count"]
            assert bucket.reach == pytest.approx(acc["reach"], rel=1e-12)
            assert [dict(bucket.crisis), dict(bucket.kinds), dict(bucket.sources), dict(bucket.langs)] == [
                dict(c) for c in acc["maps"]]


def test_buckets_across_days_and_hours(store: Store) -> None:
    starts = [T0 - timedelta(days=2, minutes=5), T0 - timedelta(hours=11), T0, T0 + timedelta(days=1, hours=14)]
    store.add_to_buckets([delta(start=s, count=1, langs={"en": 1}) for s in starts])
    got = store.buckets("peugeot", starts[0], starts[-1] + FIVE)
    assert [b.start for b in got] == starts
    assert [b.start for b in store.buckets("peugeot", starts[1], starts[-1])] == starts[1:3]


def test_brands_from_buckets_and_detector_state(store: Store) -> None:
    assert store.brands() == []
    store.add_to_buckets([delta(brand="toyota"), delta(brand="peugeot")])
    store.save_state(detector_state_name("renault"), {"baseline": [1, 2]})
    store.save_state("health:gnews-fr", {"ok": True})
    assert store.brands() == ["peugeot", "renault", "toyota"]


def test_prune_removes_old_buckets_and_exemplars(store: Store) -> None:
    store.add_to_buckets([delta(start=T0 + FIVE * i, count=1, kinds={"news": 1}) for i in range(4)])
    store.add_to_buckets([delta(brand="renault", start=T0 - timedelta(days=3), count=1)])
    store.add_exemplars([exemplar("old", 0.9, T0 + timedelta(minutes=1)),
                         exemplar("new", 0.8, T0 + FIVE * 3)], per_brand_limit=5)
    assert store.prune_buckets(T0 + FIVE * 2) == 3
    assert [b.count for b in store.buckets("peugeot", T0 - timedelta(days=9), T0 + FIVE * 9)] == [1, 1]
    assert store.buckets("renault", T0 - timedelta(days=9), T0 + FIVE * 9) == []
    assert [e.mention_id for e in store.exemplars("peugeot", T0, T0 + FIVE * 9, 10)] == ["new"]
    assert store.brands() == ["peugeot"]
    assert store.prune_buckets(T0) == 0


# -- detector state, refs, cursors -------------------------------------------------------------

def test_state_round_trip_and_replace(store: Store) -> None:
    assert store.load_state("detector:peugeot") is None
    state = {"weeks": [[1.5, 2.0], [0, 3]], "grace": 12, "label": "é", "none": None, "flag": True}
    store.save_state("detector:peugeot", state)
    assert store.load_state("detector:peugeot") == state
    store.save_state("detector:peugeot", {"grace": 0})
    assert store.load_state("detector:peugeot") == {"grace": 0}


def test_refs_and_cursors(store: Store) -> None:
    assert store.get_ref("slack:inc-1:crisis") is None
    store.set_ref("slack:inc-1:crisis", "C123:1700000000.000100")
    store.set_ref("slack:inc-1:crisis", "C123:1700000000.000200")
    assert store.get_ref("slack:inc-1:crisis") == "C123:1700000000.000200"
    assert store.get_cursor("gnews-fr") is None
    store.set_cursor("gnews-fr", {"etag": 'W/"x"', "newest": "2010-01-21T10:00:00+00:00", "ids": [1, 2]})
    store.set_cursor("gnews-fr", {"etag": "y"})
    assert store.get_cursor("gnews-fr") == {"etag": "y"}


# -- exemplars ---------------------------------------------------------------------------------

def test_exemplars_keep_most_negative_per_brand_hour(store: Store) -> None:
    hour2 = T0 + timedelta(hours=1)
    store.add_exemplars([exemplar(f"h1-{i}", i / 10, T0 + timedelta(minutes=i)) for i in range(6)], per_brand_limit=3)
    store.add_exemplars([exemplar("h1-late", 0.45, T0 + timedelta(minutes=50)),
                         exemplar("h2-a", 0.1, hour2), exemplar("h2-b", 0.2, hour2 + FIVE),
                         exemplar("other", 0.99, T0, brand="renault")], per_brand_limit=3)
    got = store.exemplars("peugeot", T0, T0 + timedelta(hours=2), limit=10)
    assert [e.mention_id for e in got] == ["h1-5", "h1-late", "h1-4", "h2-b", "h2-a"]
    assert got[0] == exemplar("h1-5", 0.5, T0 + timedelta(minutes=5))
    assert [e.mention_id for e in store.exemplars("peugeot", T0, T0 + timedelta(hours=2), limit=2)] == [
        "h1-5", "h1-late"]
    assert [e.mention_id for e in store.exemplars("peugeot", hour2, hour2 + FIVE, limit=5)] == ["h2-a"]
    assert [e.mention_id for e in store.exemplars("renault", T0, hour2, limit=5)] == ["other"]


def test_exemplar_ties_most_recent_first(store: Store) -> None:
    store.add_exemplars([exemplar(f"t{i}", 0.7, T0 + timedelta(minutes=i)) for i in (3, 1, 2)], per_brand_limit=2)
    assert [e.mention_id for e in store.exemplars("peugeot", T0, T0 + FIVE, limit=9)] == ["t3", "t2"]


# -- incidents ---------------------------------------------------------------------------------

def test_incident_round_trip_and_open_incident(store: Store) -> None:
    first = incident("inc-1", "peugeot", T0)
    store.save_incident(first)
    assert store.incident("inc-1") == first
    assert store.incident("nope") is None
    assert store.open_incident("peugeot") == first
    assert store.open_incident("renault") is None
    updated = replace(first, severity=Severity.CRITICAL, volume=200, updated_at=T0 + timedelta(hours=1),
                      explanation=("a",), opened_at=T0.astimezone(PARIS))
    store.save_incident(updated)
    assert store.incident("inc-1") == updated
    assert store.incident("inc-1").explanation == ("a",)
    resolved = replace(updated, resolved_at=T0 + timedelta(hours=2), state=AlertState.RESOLVED)
    store.save_incident(resolved)
    assert store.open_incident("peugeot") is None
    assert store.incident("inc-1") == resolved


def test_incident_listing_most_recent_first(store: Store) -> None:
    saved = [incident("inc-a", "peugeot", T0, resolved=True), incident("inc-c", "toyota", T0 + timedelta(days=2)),
             incident("inc-b", "peugeot", T0 + timedelta(days=1)),
             incident("inc-d", "renault", T0 + timedelta(days=3), resolved=True)]
    for one in saved:
        store.save_incident(one)
    assert [i.id for i in store.incidents()] == ["inc-d", "inc-c", "inc-b", "inc-a"]
    assert [i.id for i in store.incidents(limit=2)] == ["inc-d", "inc-c"]
    assert [i.id for i in store.incidents(open_only=True)] == ["inc-c", "inc-b"]
    assert store.incidents(open_only=True)[1] == saved[2]
    assert store.open_incident("peugeot") == saved[2]


# -- outbox ------------------------------------------------------------------------------------

def test_outbox_enqueue_is_idempotent_and_round_trips(store: Store) -> None:
    one = item("k1", "inc-1", "brand-team", 1, T0)
    assert store.outbox_enqueue([one, item("k2", "inc-1", "brand-team", 2, T0 + FIVE)]) == 2
    again = [replace(one, payload={"other": 1}), item("k3", "inc-2", "legal", 1, T0 + FIVE * 2)]
    assert store.outbox_enqueue(again) == 1
    assert store.outbox_pending()[0] == one
    assert store.outbox_pending()[0].payload == {"text": "k1", "nested": {"n": [1, 2.5, None, "é"]}}
    assert [i.key for i in store.outbox_pending()] == ["k1", "k2", "k3"]


def test_outbox_due_per_incident_and_receiver_in_order(store: Store) -> None:
    store.outbox_enqueue([
        item("a2", "inc-1", "team", 2, T0),
        item("b1", "inc-1", "legal", 1, T0 + timedelta(seconds=2)),
        item("a1", "inc-1", "team", 1, T0 + timedelta(seconds=1)),
        item("c1", "inc-2", "team", 1, T0 + timedelta(seconds=3), next_attempt_at=T0 + timedelta(hours=1)),
    ])
    assert [i.key for i in store.outbox_due(T0 + FIVE)] == ["a1", "b1"]
    assert [i.key for i in store.outbox_due(T0 + FIVE, limit=1)] == ["a1"]
    assert [i.key for i in store.outbox_due(T0 - FIVE)] == []

    store.outbox_failed("a1", T0 + timedelta(minutes=30), "HTTP 503")
    assert [i.key for i in store.outbox_due(T0 + FIVE)] == ["b1"]  # a2 waits behind the retrying a1
    [retried, _, _] = store.outbox_due(T0 + timedelta(hours=2))
    assert (retried.key, retried.attempts, retried.last_error) == ("a1", 1, "HTTP 503")
    assert retried.next_attempt_at == T0 + timedelta(minutes=30)

    store.outbox_delivered("a1", T0 + timedelta(minutes=31))
    store.outbox_delivered("b1", T0 + timedelta(minutes=31))
    assert [i.key for i in store.outbox_due(T0 + timedelta(minutes=31))] == ["a2"]
    assert [i.key for i in store.outbox_pending()] == ["a2", "c1"]
    assert [i.key for i in store.outbox_due(T0 + timedelta(hours=2))] == ["a2", "c1"]
    assert store.outbox_enqueue([item("a1", "inc-1", "team", 1, T0)]) == 0  # delivered keys stay known


def test_outbox_later_enqueued_smaller_seq_takes_the_lead(store: Store) -> None:
    store.outbox_enqueue([item("s3", "inc-9", "team", 3, T0)])
    assert [i.key for i in store.outbox_due(T0)] == ["s3"]
    store.outbox_enqueue([item("s2", "inc-9", "team", 2, T0 + FIVE)])
    assert [i.key for i in store.outbox_due(T0 + FIVE)] == ["s2"]
    store.outbox_delivered("s2", T0 + FIVE)
    store.outbox_failed("s3", T0 + FIVE * 2, "timeout")
    store.outbox_failed("s3", T0 + FIVE * 3, "timeout again")
    assert store.outbox_due(T0 + FIVE * 2) == []
    [s3] = store.outbox_due(T0 + FIVE * 3)
    assert (s3.attempts, s3.last_error, s3.delivered_at) == (2, "timeout again", None)


def test_outbox_hasten_brings_the_items_ahead_in_line_forward(store: Store) -> None:
    later = T0 + timedelta(hours=3)
    store.outbox_enqueue([
        item("h1", "inc-h", "team", 1, T0, next_attempt_at=later),
        item("h2", "inc-h", "team", 2, T0 + FIVE, next_attempt_at=later + FIVE),
        item("h9", "inc-h", "team", 9, T0 + FIVE, next_attempt_at=later),  # behind the new item: left alone
        item("o1", "inc-h", "legal", 1, T0, next_attempt_at=later),  # another line: left alone
        item("e1", "inc-h", "team", 1, T0 - FIVE, next_attempt_at=T0 - FIVE),  # already due
    ])
    store.outbox_delivered("e1", T0)
    store.outbox_failed("h2", later + FIVE, "HTTP 503")
    store.outbox_enqueue([item("h3", "inc-h", "team", 3, T0 + FIVE * 2)])
    assert store.outbox_due(T0 + FIVE * 2) == []
    assert store.outbox_hasten("inc-h", "team", 3, T0 + FIVE * 2) == 1
    assert store.outbox_hasten("inc-h", "team", 3, T0 + FIVE * 2) == 0  # nothing left to move
    pending = {i.key: i for i in store.outbox_pending()}
    assert pending["h1"].next_attempt_at == T0 + FIVE * 2
    # h2 failed: it keeps its retry time (a backoff or the receiver's Retry-After), attempts and error
    assert (pending["h2"].next_attempt_at, pending["h2"].attempts, pending["h2"].last_error) == \
        (later + FIVE, 1, "HTTP 503")
    assert pending["h9"].next_attempt_at == pending["o1"].next_attempt_at == later
    assert [i.key for i in store.outbox_due(T0 + FIVE * 2)] == ["h1"]
    store.outbox_delivered("h1", T0 + FIVE * 2)
    assert store.outbox_due(T0 + FIVE * 2) == []  # the line waits for h2's retry
    assert [i.key for i in store.outbox_due(later + FIVE)] == ["o1", "h2"]  # o1: the other line
    store.outbox_delivered("h2", later + FIVE)
    assert [i.key for i in store.outbox_due(later + FIVE)] == ["o1", "h3"]
    assert store.outbox_hasten("inc-none", "team", 1, T0) == 0


def test_redis_outbox_hasten_is_fenced(clean_redis_url: str) -> None:
    from service.store.redis import FencedOut, RedisStore

    store = RedisStore(clean_redis_url)
    try:
        store.outbox_enqueue([item("f1", "inc-f", "team", 1, T0, next_attempt_at=T0 + FIVE)])
        store.claim_fence(7, [])
        store.fence_token = 6
        with pytest.raises(FencedOut, match="NOTLEADER"):
            store.outbox_hasten("inc-f", "team", 2, T0)
        assert store.outbox_pending()[0].next_attempt_at == T0 + FIVE
        store.fence_token = 7
        assert store.outbox_hasten("inc-f", "team", 2, T0) == 1
        assert [i.key for i in store.outbox_due(T0)] == ["f1"]
    finally:
        store.close()


# -- lifecycle, concurrency --------------------------------------------------------------------

def test_retention_forgets_a_resolved_incident_with_its_traces_once_all_is_delivered(store: Store) -> None:
    old = incident("peugeot-1", "peugeot", T0, resolved=True)  # resolved at T0 + 3 h
    later = incident("citroen-1", "citroen", T0 + timedelta(days=1), resolved=True)
    still_open = incident("renault-1", "renault", T0)
    for found in (old, later, still_open):
        store.save_incident(found)
    assert [i.id for i in store.resolved_before(T0 + timedelta(hours=4))] == ["peugeot-1"]
    assert [i.id for i in store.resolved_before(T0 + timedelta(days=2))] == ["peugeot-1", "citroen-1"]
    assert store.resolved_before(T0 + timedelta(days=2), limit=1) == [old]

    store.outbox_enqueue([item("peugeot-1#1->desk/slack", "peugeot-1", "desk/slack", 1, T0),
                          item("peugeot-1#2->desk/slack", "peugeot-1", "desk/slack", 2, T0 + FIVE),
                          item("peugeot-10#1->desk/slack", "peugeot-10", "desk/slack", 1, T0)])
    store.outbox_delivered("peugeot-1#1->desk/slack", T0 + FIVE)
    refs, states = ["thread:peugeot-1:desk/slack", "sent:peugeot-1#1->desk/slack"], ["notify:peugeot-1:desk/slack"]
    for name in refs:
        store.set_ref(name, "C1:123.4")
    store.save_state(states[0], {"last_at": T0.isoformat()})
    assert [i.key for i in store.outbox_items("peugeot-1")] == ["peugeot-1#1->desk/slack", "peugeot-1#2->desk/slack"]
    assert [i.id for i in store.resolved_before(T0 + timedelta(days=2))] == ["citroen-1"]  # one is undelivered

    assert store.forget_incident(old, refs, states) is False  # an undelivered notification: all stays
    assert store.incident("peugeot-1") == old and len(store.outbox_items("peugeot-1")) == 2
    assert store.get_ref(refs[0]) == "C1:123.4"
    store.outbox_delivered("peugeot-1#2->desk/slack", T0 + FIVE)
    assert store.forget_incident(old, refs, states) is True
    assert store.incident("peugeot-1") is None and store.outbox_items("peugeot-1") == []
    assert [store.get_ref(name) for name in refs] == [None, None] and store.load_state(states[0]) is None
    assert [i.key for i in store.outbox_items("peugeot-10")] == ["peugeot-10#1->desk/slack"]  # another incident
    assert store.forget_incident(old, refs, states) is True  # again: nothing left, no harm
    assert store.forget_incident(still_open, [], []) is False and store.incident("renault-1") == still_open
    assert [i.id for i in store.incidents()] == ["citroen-1", "renault-1"]


def _forgettable(store: Store) -> tuple[Incident, list[str], list[str]]:
    """A resolved incident with one delivered notification and its traces."""
    resolved = incident("peugeot-1", "peugeot", T0, resolved=True)
    store.save_incident(resolved)
    store.outbox_enqueue([item("peugeot-1#1->desk/slack", "peugeot-1", "desk/slack", 1, T0)])
    store.outbox_delivered("peugeot-1#1->desk/slack", T0 + FIVE)
    refs, states = ["thread:peugeot-1:desk/slack", "sent:peugeot-1#1->desk/slack"], ["notify:peugeot-1:desk/slack"]
    for name in refs:
        store.set_ref(name, "C1:1.2")
    store.save_state(states[0], {"last_at": T0.isoformat()})
    return resolved, refs, states


def test_redis_retention_with_a_prefix_holding_glob_characters(clean_redis_url: str) -> None:
    from service.store.redis import RedisStore

    store = RedisStore(clean_redis_url, prefix="cw[x]:")
    try:
        resolved, refs, states = _forgettable(store)
        store.outbox_enqueue([item("peugeot-1#2->desk/slack", "peugeot-1", "desk/slack", 2, T0 + FIVE)])
        assert len(store.outbox_items("peugeot-1")) == 2
        assert store.forget_incident(resolved, refs, states) is False  # undelivered: everything stays
        assert store.incident("peugeot-1") == resolved and store.get_ref(refs[0]) == "C1:1.2"
    finally:
        store.close()


def test_redis_retention_interrupted_after_the_traces_finishes_on_the_next_run(clean_redis_url: str) -> None:
    from service.store.redis import RedisStore

    store = RedisStore(clean_redis_url)
    try:
        resolved, refs, states = _forgettable(store)
        forget_items = store._forget_items

        def crash(*args: object, **kwargs: object) -> object:
            forget_items(*args, **kwargs)  # the items went, then the process died
            raise ConnectionError("the process died here")

        store._forget_items = crash  # type: ignore[method-assign]
        with pytest.raises(ConnectionError):
            store.forget_incident(resolved, refs, states)
        store._forget_items = forget_items  # type: ignore[method-assign]
        assert store.outbox_items("peugeot-1") == [] and store.incident("peugeot-1") == resolved
        refs_now, states_now = [], []  # what a rerun derives from the (now absent) items: nothing
        assert store.forget_incident(resolved, refs_now, states_now) is True
        assert store.incident("peugeot-1") is None and store.outbox_items("peugeot-1") == []
        assert [store.get_ref(name) for name in refs] == [None, None] and store.load_state(states[0]) is None
    finally:
        store.close()


def test_ping(store: Store) -> None:
    store.ping()


def test_concurrent_threads_never_lose_or_double_count(backend: Backend) -> None:
    store = backend.open()
    ids = [f"m{i}" for i in range(400)]
    returned: list[set[str]] = []
    errors: list[BaseException] = []

    def work(worker: int) -> None:
        try:
            for i in range(0, len(ids), 50):
                returned.append(store.mark_seen(ids[i:i + 50], T0))
                store.add_to_buckets([delta(count=1, kinds={"news": 1}, reach=0.5),
                                      delta(brand=f"b{worker}", count=2)])
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert sorted(m for batch in returned for m in batch) == sorted(ids)
    [bucket] = store.buckets("peugeot", T0, T0 + FIVE)
    assert (bucket.count, bucket.kinds, bucket.reach) == (32, {"news": 32}, 16.0)
    assert store.brands() == ["b0", "b1", "b2", "b3", "peugeot"]


# -- backend specifics -------------------------------------------------------------------------

def test_sqlite_file_uses_wal_and_refuses_a_newer_schema(tmp_path) -> None:
    path = tmp_path / "future.db"
    SQLiteStore(str(path)).close()
    with sqlite3.connect(path) as db:
        assert db.execute("PRAGMA journal_mode").fetchone() == ("wal",)
        assert db.execute("SELECT version FROM schema_version").fetchall() == [(1,)]
        db.execute("UPDATE schema_version SET version = 99")
    db.close()
    with pytest.raises(StoreError, match="schema version 99, newer") as caught:
        SQLiteStore(str(path))
    assert caught.value.retryable is False


def test_sqlite_errors_become_store_errors(tmp_path) -> None:
    store = SQLiteStore(str(tmp_path / "s.db"))
    store.close()
    with pytest.raises(StoreError):
        store.ping()
    (tmp_path / "junk.db").write_bytes(b"this is not a database" * 100)
    with pytest.raises(StoreError, match="cannot open sqlite store"):
        SQLiteStore(str(tmp_path / "junk.db"))


def test_open_store_urls(tmp_path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    for url in (":memory:", "sqlite:///:memory:", "sqlite:///rel.db", f"sqlite:///{tmp_path}/abs.db"):
        opened = open_store(url)
        assert isinstance(opened, SQLiteStore)
        opened.close()
    assert (tmp_path / "rel.db").exists() and (tmp_path / "abs.db").exists()
    with pytest.raises(ValueError, match="unsupported store URL 'postgres://x'"):
        open_store("postgres://x")
    with pytest.raises(ValueError, match=r"unsupported store URL 'postgres://\*\*\*@db/x'") as refused:
        open_store("postgres://admin:Hunter2Secret@db/x")
    assert "Hunter2Secret" not in str(refused.value)


def test_open_store_redis_url_with_prefix(clean_redis_url: str) -> None:
    from service.store.redis import RedisStore

    separator = "&" if "?" in clean_redis_url else "?"
    first = open_store(f"{clean_redis_url}{separator}prefix=tenant-a:")
    second = open_store(clean_redis_url)
    try:
        assert isinstance(first, RedisStore) and first.keys.prefix == "tenant-a:"
        first.add_to_buckets([delta(count=1)])
        first.set_ref("r", "1")
        assert second.brands() == [] and second.get_ref("r") is None
        assert first.brands() == ["peugeot"]
    finally:
        first.close()
        second.close()


def test_redis_keys_carry_prefix_and_brand_hash_tag(clean_redis_url: str) -> None:
    import redis

    from service.store.redis import RedisStore

    store = RedisStore(clean_redis_url, prefix="t:")
    client = redis.Redis.from_url(clean_redis_url, decode_responses=True)
    try:
        store.add_to_buckets([delta(count=1, kinds={"news": 1})])
        store.add_exemplars([exemplar("m1", 0.9, T0)], per_brand_limit=2)
        store.save_state(detector_state_name("peugeot"), {"x": 1})
        store.save_incident(incident("inc-1", "peugeot", T0))
        store.outbox_enqueue([item("k1", "inc-1", "team", 1, T0)])
        store.mark_seen(["m1"], T0)
        keys = sorted(client.scan_iter("*"))
        assert keys and all(k.startswith("t:") for k in keys)
        per_brand = [k for k in keys if "peugeot" in k]
        assert len(per_brand) >= 5 and all("{peugeot}" in k for k in per_brand)
        assert all("{" in k for k in keys if k != "t:brands")  # every multi-key structure names its slot
    finally:
        client.close()
        store.close()


def test_redis_brand_day_fits_the_memory_budget(clean_redis_url: str) -> None:
    """Issue 7: at most 50 KB of Redis memory per brand-day of 5-minute buckets, with the exemplars."""
    from service.store.redis import RedisStore

    store = RedisStore(clean_redis_url)
    rnd = random.Random(3)
    sources = ["gnews-fr", "gnews-en", "reddit-cars", "x-search", "forum-auto", "youtube", "nhtsa"]
    day = datetime(2010, 1, 21, tzinfo=UTC)
    try:
        store.add_to_buckets([
            delta(start=day + FIVE * i, count=(n := rnd.randint(5, 60)), negative=n // 3, positive=n // 5,
                  duplicates=n // 10, reach=float(rnd.randint(100, 500_000)),
                  crisis={"recall": rnd.randint(1, 3), "safety": 1} if i % 3 == 0 else {},
                  kinds={"news": n // 3, "social": n - n // 3 - 1, "forum": 1},
                  sources={s: rnd.randint(1, 9) for s in rnd.sample(sources, 4)},
                  langs={"fr": n // 2, "en": n - n // 2})
            for i in range(288)])
        store.save_state(detector_state_name("peugeot"), {"level": [0.5] * 168})
        words = ["rappel", "airbag", "Peugeot", "208", "garage", "client", "panne", "service", "appli", "voiture",
                 "encore", "jamais", "recall", "customers", "broken", "dangerous", "again", "dealer", "refund",
                 "app", "outage", "battery"]
        store.add_exemplars([  # five example mentions per hour, the most the pipeline keeps
            Exemplar(brand="peugeot", mention_id=f"x-{i}", published_at=day + timedelta(minutes=12 * i),
                     text=" ".join(rnd.choice(words) for _ in range(rnd.randint(8, 30))),
                     negativity=rnd.random(), kind="social", source=rnd.choice(sources), reach=174.0,
                     url=f"https://twitter.com/user{rnd.randint(1, 9999)}/status/{rnd.getrandbits(60)}",
                     author=f"user{rnd.randint(1, 9999)}") for i in range(120)], per_brand_limit=5)
        used = store.brand_memory_bytes("peugeot")
        assert 10_000 < used <= 50_000, used
        assert len(store.buckets("peugeot", day, day + timedelta(days=1))) == 288
        assert len(store.exemplars("peugeot", day, day + timedelta(days=1), limit=500)) == 120
    finally:
        store.close()


def test_redis_unreachable_is_a_retryable_store_error() -> None:
    import socket

    from service.store.redis import RedisStore

    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    store = RedisStore(f"redis://127.0.0.1:{port}/0")
    try:
        with pytest.raises(StoreError, match="unreachable") as caught:
            store.ping()
        assert caught.value.retryable is True
        with pytest.raises(StoreError):
            store.add_to_buckets([delta(count=1)])
    finally:
        store.close()


def test_redis_password_and_acl_user_in_the_url(private_redis) -> None:
    from service.store.redis import RedisStore

    port = private_redis("--requirepass", "s3cret", "--user", "cw", "on", ">cw-pass", "~cw:*", "&*", "+@all")
    for url in (f"redis://:s3cret@127.0.0.1:{port}/0", f"redis://cw:cw-pass@127.0.0.1:{port}/0"):
        store = open_store(url)
        try:
            store.set_ref("who", url)
            assert store.get_ref("who") == url
        finally:
            store.close()
    denied = RedisStore(f"redis://cw:wrong@127.0.0.1:{port}/0")
    try:
        with pytest.raises(StoreError, match="authentication") as caught:
            denied.ping()
        assert caught.value.retryable is False
    finally:
        denied.close()
    outside = RedisStore(f"redis://cw:cw-pass@127.0.0.1:{port}/0", prefix="other:")  # ACL allows only cw:*
    try:
        with pytest.raises(StoreError, match="refused") as caught:
            outside.set_ref("x", "y")
        assert caught.value.retryable is False
    finally:
        outside.close()


def test_rediss_tls_url(private_redis, tmp_path) -> None:
    import shutil
    import subprocess

    if shutil.which("openssl") is None:
        pytest.fail("openssl is needed to make a test certificate (apt-get install openssl)")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
                    "-nodes", "-keyout", str(key), "-out", str(cert), "-days", "2", "-subj", "/CN=127.0.0.1",
                    "-addext", "subjectAltName=IP:127.0.0.1"], check=True, capture_output=True)
    port = private_redis("--tls-cert-file", str(cert), "--tls-key-file", str(key), "--tls-ca-cert-file",
                         str(cert), "--tls-auth-clients", "no", "--requirepass", "tls-pw", tls=True)
    store = open_store(f"rediss://:tls-pw@127.0.0.1:{port}/0?ssl_ca_certs={cert}")
    try:
        store.ping()
        assert store.mark_seen(["a", "b"], T0) == {"a", "b"}
        assert store.mark_seen(["a"], T0) == set()
    finally:
        store.close()


# -- silences ----------------------------------------------------------------------------------------

def a_silence(silence_id: str, starts: datetime, hours: float, **matchers: str) -> Silence:
    return Silence(id=silence_id, matchers=tuple(Matcher(label=k, value=v, op=MatchOp.REGEX if "*" in v
                                                         else MatchOp.EQUAL) for k, v in matchers.items()),
                   starts_at=starts, ends_at=starts + timedelta(hours=hours), created_by="alice",
                   comment="recall already handled « ok »", created_at=starts - FIVE)


def test_silences_round_trip_and_active_filter(store: Store) -> None:
    early = a_silence("s1", T0, 2, brand="toyota")
    later = a_silence("s2", T0 + timedelta(hours=1), 1, brand="peugeot", severity="warn.*")
    store.add_silence(later)
    store.add_silence(early)
    assert store.silences() == [early, later]
    assert store.silence("s2") == later and store.silence("nope") is None
    assert store.silence("s2").matchers[1].op is MatchOp.REGEX
    assert store.silences(active_at=T0 - FIVE) == []
    assert store.silences(active_at=T0) == [early]  # start is inclusive
    assert store.silences(active_at=T0 + timedelta(hours=1, minutes=30)) == [early, later]
    assert store.silences(active_at=T0 + timedelta(hours=2)) == []  # end is exclusive
    store.add_silence(replace(early, comment="edited"))
    assert store.silence("s1").comment == "edited" and len(store.silences()) == 2


def test_expire_silence(store: Store) -> None:
    store.add_silence(a_silence("s1", T0, 2, brand="toyota"))
    store.add_silence(a_silence("future", T0 + timedelta(days=1), 2, brand="toyota"))
    at = T0 + timedelta(minutes=30)
    ended = store.expire_silence("s1", at)
    assert ended is not None and ended.ends_at == at and ended.starts_at == T0
    assert store.silences(active_at=at) == []
    assert store.expire_silence("s1", at + timedelta(hours=5)).ends_at == at  # an earlier end is kept
    never = store.expire_silence("future", at)
    assert never is not None and never.starts_at == never.ends_at == at
    assert store.expire_silence("missing", at) is None


def test_silences_survive_reopen(durable_backend: Backend) -> None:
    backend = durable_backend
    first = backend.open()
    first.add_silence(a_silence("s1", T0, 2, brand="toyota"))
    first.close()
    assert [s.id for s in backend.open().silences(active_at=T0)] == ["s1"]

"""SQLite store: a batch is one transaction (all or nothing), and exemplars ranked in memory keep
exactly what the former SQL trim kept."""

from __future__ import annotations

import random
import sqlite3
import threading
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest

from service.domain import Bucket, Exemplar, Mention
from service.store import record_from_json, record_to_json, to_us
from service.store.base import batch
from service.store.sqlite import SQLiteStore, _exemplar_json

T0 = datetime(2021, 3, 1, 9, 0, tzinfo=UTC)


class Boom(Exception):
    pass


def test_a_batch_is_committed_whole(tmp_path: Path) -> None:
    path = str(tmp_path / "s.db")
    store = SQLiteStore(path)
    with batch(store):
        assert store.mark_seen(["a", "b"], T0) == {"a", "b"}
        store.add_to_buckets([Bucket(brand="peugeot", start=T0, count=2, negative=1)])
        with batch(store):  # nested: joins the same transaction
            store.save_state("cursor:peugeot", {"next_bucket": T0.isoformat()})
    store.close()
    reopened = SQLiteStore(path)
    assert reopened.mark_seen(["a", "b", "c"], T0) == {"c"}
    assert [(b.count, b.negative) for b in reopened.buckets("peugeot", T0, T0 + timedelta(hours=1))] == [(2, 1)]
    assert reopened.load_state("cursor:peugeot") == {"next_bucket": T0.isoformat()}
    reopened.close()


def test_a_failed_batch_leaves_nothing_behind(tmp_path: Path) -> None:
    store = SQLiteStore(str(tmp_path / "s.db"))
    with pytest.raises(Boom), batch(store):
        store.mark_seen(["a", "b"], T0)
        store.add_to_buckets([Bucket(brand="peugeot", start=T0, count=2)])
        with batch(store):
            store.save_state("x", {"v": 1})
        raise Boom
    assert store.mark_seen(["a", "b"], T0) == {"a", "b"}  # never seen: the batch can be sent again
    assert store.buckets("peugeot", T0, T0 + timedelta(hours=1)) == []
    assert store.load_state("x") is None
    with batch(store):  # the store is usable after a rollback
        store.add_to_buckets([Bucket(brand="peugeot", start=T0, count=1)])
    assert [b.count for b in store.buckets("peugeot", T0, T0 + timedelta(hours=1))] == [1]
    store.close()


def test_other_threads_wait_for_the_batch() -> None:
    store = SQLiteStore(":memory:")
    inside, release, seen_by_other = threading.Event(), threading.Event(), []

    def other() -> None:
        inside.wait(5)
        seen_by_other.append(store.buckets("peugeot", T0, T0 + timedelta(hours=1)))

    thread = threading.Thread(target=other)
    thread.start()
    with batch(store):
        store.add_to_buckets([Bucket(brand="peugeot", start=T0, count=1)])
        inside.set()
        release.wait(0.2)
        store.add_to_buckets([Bucket(brand="peugeot", start=T0, count=1)])
    thread.join(5)
    assert [[b.count for b in found] for found in seen_by_other] == [[2]]  # never the half-done batch
    store.close()


def test_a_backend_without_batches_runs_calls_as_they_come() -> None:
    class Plain:
        """A backend with no ``batch()``."""

    calls: list[str] = []
    with batch(Plain()):  # type: ignore[arg-type]
        calls.append("ran")
    assert calls == ["ran"]


@pytest.mark.parametrize("published", [T0, datetime(2021, 3, 1, 10, 7, 1, 250, tzinfo=timezone(timedelta(hours=-5)))])
def test_exemplar_json_is_record_to_json(published: datetime) -> None:
    for e in (Exemplar(brand="citroën", mention_id="m\u00e9-1", published_at=published, text='Rappel "ë" \n 🚗',
                       negativity=0.8125, kind="news", source="AFP", url="https://x.test/a?b=1", author="Zoë",
                       reach=1200.5),
              Exemplar(brand="b", mention_id="2", published_at=published, text="", negativity=1.0)):
        assert _exemplar_json(e) == record_to_json(e)
        assert record_from_json(Exemplar, _exemplar_json(e)) == e


def _former_trim(rows: list[list[Exemplar]], limit: int) -> set[tuple[str, str]]:
    """The SQL the store used before: insert or replace everything, then trim each touched hour."""
    db = sqlite3.connect(":memory:")
    db.execute("CREATE TABLE exemplars (brand TEXT, mention_id TEXT, hour INTEGER, published INTEGER, "
               "negativity REAL, PRIMARY KEY (brand, mention_id))")
    for exemplars in rows:
        values = [(e.brand, e.mention_id, to_us(e.published_at) // 3_600_000_000, to_us(e.published_at), e.negativity)
                  for e in exemplars]
        db.executemany("INSERT OR REPLACE INTO exemplars VALUES (?, ?, ?, ?, ?)", values)
        for brand, hour in {(v[0], v[2]) for v in values}:
            db.execute("DELETE FROM exemplars WHERE brand = ?1 AND hour = ?2 AND mention_id NOT IN ("
                       " SELECT mention_id FROM exemplars WHERE brand = ?1 AND hour = ?2"
                       " ORDER BY negativity DESC, published DESC, mention_id DESC LIMIT ?3)", (brand, hour, limit))
    return set(db.execute("SELECT brand, mention_id FROM exemplars").fetchall())


@pytest.mark.parametrize("seed", range(6))
def test_exemplars_ranked_in_memory_keep_what_the_sql_trim_kept(seed: int) -> None:
    rng = random.Random(seed)
    limit = rng.choice((0, 1, 3, 5))
    batches = []
    for _ in range(8):
        batch_rows = []
        for _ in range(rng.randint(0, 30)):
            at = T0 + timedelta(minutes=rng.randint(0, 180), seconds=rng.choice((0, 0, 30)))
            batch_rows.append(Exemplar(brand=rng.choice(("peugeot", "renault")), mention_id=f"m{rng.randint(0, 60)}",
                                       published_at=at, text="t", negativity=rng.choice((0.5, 0.6, 0.7, 0.9))))
        batches.append(batch_rows)
    store = SQLiteStore(":memory:")
    for rows in batches:
        store.add_exemplars(rows, limit)
    kept = {(e.brand, e.mention_id) for brand in ("peugeot", "renault")
            for e in store.exemplars(brand, T0, T0 + timedelta(hours=4), 10_000)}
    assert kept == _former_trim(batches, limit)
    store.close()


def test_ingest_that_fails_marks_nothing_seen(tmp_path: Path) -> None:
    from service.app import build_pipeline
    from service.clock import SimulatedClock
    from service.config import parse_config
    from tests.test_pipeline import CONFIG

    store = SQLiteStore(str(tmp_path / "s.db"))
    pipeline = build_pipeline(parse_config(CONFIG), store, SimulatedClock(T0), {})
    mentions = [Mention(id=f"m{i}", published_at=T0 + timedelta(minutes=i), text="Peugeot recall", lang="en")
                for i in range(3)]
    real = pipeline.enricher.scorer

    class Failing:
        def score_many(self, *args: object, **kwargs: object) -> object:
            raise Boom

    pipeline.enricher.scorer = Failing()  # type: ignore[assignment]
    with pytest.raises(Boom):
        pipeline.ingest(mentions)
    pipeline.enricher.scorer = real
    result = pipeline.ingest(mentions)  # sent again: counted once, now
    assert (result.duplicates, result.accepted) == (0, 3)
    assert sum(b.count for b in store.buckets("peugeot", T0, T0 + timedelta(hours=1))) == 3
    store.close()

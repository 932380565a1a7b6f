"""The embedded store: one SQLite file (WAL mode) or ``:memory:``, standard library only.

One connection shared by every thread behind a lock; each public method is one transaction.
Times are stored as integer microseconds since the epoch; bucket mappings (crisis, kinds,
sources, langs) live in a side table updated by UPSERT, so :meth:`add_to_buckets` never reads.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress
from dataclasses import replace
from datetime import datetime
from types import MappingProxyType
from typing import Any, ParamSpec, TypeVar

from service.clock import ensure_utc
from service.domain import Bucket, Exemplar, Incident
from service.store import (
    DETECTOR_STATE_PREFIX,
    brand_of_state,
    expired,
    from_us,
    record_from_json,
    record_to_json,
    state_json,
    to_us,
)
from service.store.base import OutboxItem, Silence, StoreError

SCHEMA_VERSION = 1
_HOUR_US = 3_600_000_000
_DIMS = ("crisis", "kinds", "sources", "langs")  # the order of the "dim" column of bucket_keys
_WAL_PAGES = 10_000  # about 40 MB of write-ahead log between two checkpoints
_CHUNK = 400  # rows per multi-row INSERT (2 parameters each, well under SQLite's limit)
_EMPTY: dict[str, int] = {}  # never written: the mappings of a bucket without any

_SCHEMA = """
CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS seen (id TEXT PRIMARY KEY, at INTEGER NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS buckets (
    brand TEXT NOT NULL, start INTEGER NOT NULL,
    count INTEGER NOT NULL, negative INTEGER NOT NULL, positive INTEGER NOT NULL,
    duplicates INTEGER NOT NULL, reach REAL NOT NULL,
    PRIMARY KEY (brand, start)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS bucket_keys (
    brand TEXT NOT NULL, start INTEGER NOT NULL, dim INTEGER NOT NULL, key TEXT NOT NULL,
    n INTEGER NOT NULL, PRIMARY KEY (brand, start, dim, key)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS state (name TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS exemplars (
    brand TEXT NOT NULL, mention_id TEXT NOT NULL, hour INTEGER NOT NULL,
    published INTEGER NOT NULL, negativity REAL NOT NULL, data TEXT NOT NULL,
    PRIMARY KEY (brand, mention_id)) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS exemplars_hour ON exemplars (brand, hour);
CREATE INDEX IF NOT EXISTS exemplars_published ON exemplars (brand, published);
CREATE TABLE IF NOT EXISTS incidents (
    id TEXT PRIMARY KEY, brand TEXT NOT NULL, opened INTEGER NOT NULL, open INTEGER NOT NULL,
    data TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS incidents_opened ON incidents (opened, id);
CREATE INDEX IF NOT EXISTS incidents_open ON incidents (brand, open);
CREATE TABLE IF NOT EXISTS outbox (
    key TEXT PRIMARY KEY, incident_id TEXT NOT NULL, receiver TEXT NOT NULL, seq INTEGER NOT NULL,
    created INTEGER NOT NULL, next_attempt INTEGER NOT NULL, delivered INTEGER, data TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS outbox_line ON outbox (incident_id, receiver, seq) WHERE delivered IS NULL;
CREATE INDEX IF NOT EXISTS outbox_pending ON outbox (created, seq, key) WHERE delivered IS NULL;
CREATE TABLE IF NOT EXISTS refs (name TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS cursors (source TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS silences (
    id TEXT PRIMARY KEY, starts INTEGER NOT NULL, ends INTEGER NOT NULL, data TEXT NOT NULL) WITHOUT ROWID;
"""

_BUCKET_UPSERT = """
INSERT INTO buckets (brand, start, count, negative, positive, duplicates, reach)
VALUES (?, ?, ?, ?, ?, ?, ?)
ON CONFLICT (brand, start) DO UPDATE SET
    count = count + excluded.count, negative = negative + excluded.negative,
    positive = positive + excluded.positive, duplicates = duplicates + excluded.duplicates,
    reach = reach + excluded.reach"""
_KEY_UPSERT = """
INSERT INTO bucket_keys (brand, start, dim, key, n) VALUES (?, ?, ?, ?, ?)
ON CONFLICT (brand, start, dim, key) DO UPDATE SET n = n + excluded.n"""
_DUE = """
SELECT data FROM outbox o
WHERE o.delivered IS NULL AND o.next_attempt <= ?
  AND NOT EXISTS (SELECT 1 FROM outbox p WHERE p.delivered IS NULL AND p.incident_id = o.incident_id
                  AND p.receiver = o.receiver AND p.seq < o.seq)
ORDER BY o.created, o.seq, o.key LIMIT ?"""

P = ParamSpec("P")
R = TypeVar("R")


def _translated(method: Callable[P, R]) -> Callable[P, R]:
    """Translate sqlite3 errors into :class:`StoreError` at the edge of every public method."""

    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return method(*args, **kwargs)
        except sqlite3.OperationalError as exc:  # locked, busy, disk I/O: may pass
            raise StoreError(f"sqlite store: {exc}", retryable=True) from exc
        except sqlite3.Error as exc:  # corrupt file, closed store, constraint: will not pass
            raise StoreError(f"sqlite store: {exc}", retryable=False) from exc

    wrapper.__name__ = method.__name__
    wrapper.__doc__ = method.__doc__
    return wrapper


def _exemplar_json(e: Exemplar) -> str:
    """``record_to_json(e)``, written out for the hot path (the same JSON, read by ``record_from_json``)."""
    return json.dumps({"brand": e.brand, "mention_id": e.mention_id,
                       "published_at": ensure_utc(e.published_at).isoformat(), "text": e.text,
                       "negativity": e.negativity, "kind": e.kind, "source": e.source, "url": e.url,
                       "author": e.author, "reach": e.reach}, separators=(",", ":"), ensure_ascii=False)


class SQLiteStore:
    """:class:`service.store.base.Store` on SQLite. ``path`` is a file path or ``":memory:"``."""

    atomic_ingest = True
    """An ingest batch is one transaction: after a failure nothing of it was kept (see :func:`base.batch`)."""

    def __init__(self, path: str) -> None:
        self.path = path
        self._lock = threading.RLock()
        self._batch_depth = 0
        try:
            self._db = sqlite3.connect(path, timeout=10.0, isolation_level=None, check_same_thread=False)
        except sqlite3.Error as exc:
            raise StoreError(f"cannot open sqlite store {path!r}: {exc}", retryable=False) from exc
        try:
            self._open_schema()
        except sqlite3.Error as exc:
            self._db.close()
            raise StoreError(f"cannot open sqlite store {path!r}: {exc}", retryable=False) from exc
        except StoreError:
            self._db.close()
            raise

    def _open_schema(self) -> None:
        if self.path != ":memory:":
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            # Commits append to the WAL; a checkpoint copies it into the file and syncs both. Every
            # _WAL_PAGES pages rather than SQLite's 1,000: ten times fewer syncs, hot pages copied once.
            self._db.execute(f"PRAGMA wal_autocheckpoint={_WAL_PAGES}")
        with self._tx() as db:
            for statement in filter(str.strip, _SCHEMA.split(";")):
                db.execute(statement)
            row = db.execute("SELECT max(version) FROM schema_version").fetchone()
            if row[0] is None:
                db.execute("INSERT INTO schema_version (version) VALUES (?)", (SCHEMA_VERSION,))
            elif row[0] > SCHEMA_VERSION:
                raise StoreError(
                    f"sqlite store {self.path!r} has schema version {row[0]}, newer than the version "
                    f"{SCHEMA_VERSION} this crisiswatch understands: upgrade crisiswatch or use another file",
                    retryable=False)

    @contextmanager
    def _tx(self, mode: str = "IMMEDIATE") -> Iterator[sqlite3.Connection]:
        """One transaction under the lock; ``DEFERRED`` for reads that need one consistent snapshot.
        Inside :meth:`batch` the work joins the batch's transaction instead."""
        with self._lock:
            if self._batch_depth:
                yield self._db
                return
            self._db.execute(f"BEGIN {mode}")
            try:
                yield self._db
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    @contextmanager
    def batch(self) -> Iterator[None]:
        """Every call made inside is one transaction, committed when the block ends (rolled back,
        all of it, when it raises). Nests; other threads wait for the block to end."""
        with self._lock:
            if self._batch_depth:
                self._batch_depth += 1
                try:
                    yield
                finally:
                    self._batch_depth -= 1
                return
            try:
                self._db.execute("BEGIN IMMEDIATE")
            except sqlite3.Error as exc:
                raise StoreError(f"sqlite store: {exc}", retryable=isinstance(exc, sqlite3.OperationalError)) from exc
            self._batch_depth = 1
            try:
                yield
            except BaseException:
                self._batch_depth = 0
                with suppress(sqlite3.Error):
                    self._db.execute("ROLLBACK")
                raise
            self._batch_depth = 0
            try:
                self._db.execute("COMMIT")
            except sqlite3.Error as exc:
                with suppress(sqlite3.Error):
                    self._db.execute("ROLLBACK")
                raise StoreError(f"sqlite store: {exc}", retryable=isinstance(exc, sqlite3.OperationalError)) from exc

    # -- mentions --------------------------------------------------------------------------------
    @_translated
    def mark_seen(self, mention_ids: Sequence[str], at: datetime) -> set[str]:
        stamp = to_us(at)
        new: set[str] = set()
        ids = list(dict.fromkeys(mention_ids))
        with self._tx() as db:
            for i in range(0, len(ids), _CHUNK):
                chunk = ids[i:i + _CHUNK]
                sql = ("INSERT INTO seen (id, at) VALUES " + ",".join(["(?,?)"] * len(chunk))
                       + " ON CONFLICT (id) DO NOTHING RETURNING id")
                params = [v for mention_id in chunk for v in (mention_id, stamp)]
                new.update(row[0] for row in db.execute(sql, params).fetchall())
        return new

    # -- buckets ---------------------------------------------------------------------------------
    @_translated
    def add_to_buckets(self, deltas: Iterable[Bucket]) -> None:
        rows: list[tuple[Any, ...]] = []
        keys: list[tuple[Any, ...]] = []
        for d in deltas:
            start = to_us(d.start)
            rows.append((d.brand, start, d.count, d.negative, d.positive, d.duplicates, float(d.reach)))
            for dim, mapping in enumerate((d.crisis, d.kinds, d.sources, d.langs)):
                keys.extend((d.brand, start, dim, key, n) for key, n in mapping.items())
        with self._tx() as db:
            db.executemany(_BUCKET_UPSERT, rows)
            db.executemany(_KEY_UPSERT, keys)

    @_translated
    def buckets(self, brand: str, start: datetime, end: datetime) -> list[Bucket]:
        span = (brand, to_us(start), to_us(end))
        with self._tx("DEFERRED"):
            rows = self._db.execute(
                "SELECT start, count, negative, positive, duplicates, reach FROM buckets "
                "WHERE brand = ? AND start >= ? AND start < ? ORDER BY start", span).fetchall()
            key_rows = self._db.execute(
                "SELECT start, dim, key, n FROM bucket_keys WHERE brand = ? AND start >= ? AND start < ?",
                span).fetchall()
        maps: dict[int, tuple[dict[str, int], ...]] = {}
        for bucket_start, dim, key, n in key_rows:
            found = maps.get(bucket_start)
            if found is None:
                found = maps[bucket_start] = ({}, {}, {}, {})
            found[dim][key] = n
        result = []
        none = (_EMPTY,) * 4
        for bucket_start, count, negative, positive, duplicates, reach in rows:
            # The dicts were built for this bucket alone: read-only views of them, no copies.
            crisis, kinds, sources, langs = maps.get(bucket_start, none)
            result.append(Bucket(brand=brand, start=from_us(bucket_start), count=count, negative=negative,
                                 positive=positive, duplicates=duplicates, reach=reach,
                                 crisis=MappingProxyType(crisis), kinds=MappingProxyType(kinds),
                                 sources=MappingProxyType(sources), langs=MappingProxyType(langs)))
        return result

    @_translated
    def brands(self) -> list[str]:
        with self._lock:
            names = {r[0] for r in self._db.execute("SELECT DISTINCT brand FROM buckets")}
            states = self._db.execute("SELECT name FROM state WHERE substr(name, 1, ?) = ?",
                                      (len(DETECTOR_STATE_PREFIX), DETECTOR_STATE_PREFIX)).fetchall()
        names.update(b for (name,) in states if (b := brand_of_state(name)) is not None)
        return sorted(names)

    @_translated
    def prune_buckets(self, before: datetime) -> int:
        limit = to_us(before)
        with self._tx() as db:
            removed = db.execute("DELETE FROM buckets WHERE start < ?", (limit,)).rowcount
            db.execute("DELETE FROM bucket_keys WHERE start < ?", (limit,))
            db.execute("DELETE FROM exemplars WHERE published < ?", (limit,))
            db.execute("DELETE FROM seen WHERE at < ?", (limit,))
        return removed

    # -- detector state --------------------------------------------------------------------------
    @_translated
    def load_state(self, name: str) -> dict[str, Any] | None:
        with self._lock:
            row = self._db.execute("SELECT value FROM state WHERE name = ?", (name,)).fetchone()
        return None if row is None else json.loads(row[0])

    @_translated
    def save_state(self, name: str, state: Mapping[str, Any]) -> None:
        value = state_json(state)
        with self._tx() as db:
            db.execute("INSERT OR REPLACE INTO state (name, value) VALUES (?, ?)", (name, value))

    # -- exemplars -------------------------------------------------------------------------------
    @_translated
    def add_exemplars(self, exemplars: Iterable[Exemplar], per_brand_limit: int) -> None:
        """Ranks each touched (brand, hour) in memory, stored and new exemplars together, then writes
        only what changes: the new exemplars that make the cut, the stored ones that drop out."""
        limit = max(per_brand_limit, 0)
        latest = {(e.brand, e.mention_id): e for e in exemplars}  # one row per id: the last one wins
        incoming: dict[tuple[str, int], dict[str, tuple[float, int, Exemplar | None]]] = defaultdict(dict)
        for e in latest.values():
            published = to_us(e.published_at)
            incoming[(e.brand, published // _HOUR_US)][e.mention_id] = (e.negativity, published, e)
        if not incoming:
            return
        inserts: list[tuple[Any, ...]] = []
        deletes: list[tuple[str, str]] = []
        with self._tx() as db:
            keys = list(incoming)
            for i in range(0, len(keys), _CHUNK):
                chunk = keys[i:i + _CHUNK]
                stored = db.execute(
                    "WITH touched (brand, hour) AS (VALUES " + ",".join(["(?,?)"] * len(chunk)) + ") "
                    "SELECT e.brand, e.hour, e.mention_id, e.negativity, e.published FROM touched t "
                    "JOIN exemplars e INDEXED BY exemplars_hour ON e.brand = t.brand AND e.hour = t.hour",
                    [v for key in chunk for v in key]).fetchall()
                for brand, hour, mention_id, negativity, published in stored:
                    if (brand, mention_id) not in latest:  # else replaced by the new row of that id
                        incoming[(brand, hour)][mention_id] = (negativity, published, None)
            for (brand, hour), candidates in incoming.items():
                ranked = sorted(candidates.items(), key=lambda c: (c[1][0], c[1][1], c[0]), reverse=True)
                for rank, (mention_id, (negativity, published, exemplar)) in enumerate(ranked):
                    if rank >= limit:  # a new one too: it replaces any stored row of its id, then drops out
                        deletes.append((brand, mention_id))
                    elif exemplar is not None:
                        inserts.append((brand, mention_id, hour, published, negativity, _exemplar_json(exemplar)))
            db.executemany("INSERT OR REPLACE INTO exemplars (brand, mention_id, hour, published, "
                           "negativity, data) VALUES (?, ?, ?, ?, ?, ?)", inserts)
            db.executemany("DELETE FROM exemplars WHERE brand = ? AND mention_id = ?", deletes)

    @_translated
    def exemplars(self, brand: str, start: datetime, end: datetime, limit: int) -> list[Exemplar]:
        with self._lock:
            rows = self._db.execute(
                "SELECT data FROM exemplars WHERE brand = ? AND published >= ? AND published < ? "
                "ORDER BY negativity DESC, published DESC, mention_id DESC LIMIT ?",
                (brand, to_us(start), to_us(end), max(limit, 0))).fetchall()
        return [record_from_json(Exemplar, data) for (data,) in rows]

    # -- incidents -------------------------------------------------------------------------------
    @_translated
    def open_incident(self, brand: str) -> Incident | None:
        with self._lock:
            row = self._db.execute("SELECT data FROM incidents WHERE brand = ? AND open = 1 "
                                   "ORDER BY opened DESC, id DESC LIMIT 1", (brand,)).fetchone()
        return None if row is None else record_from_json(Incident, row[0])

    @_translated
    def save_incident(self, incident: Incident) -> None:
        with self._tx() as db:
            db.execute("INSERT OR REPLACE INTO incidents (id, brand, opened, open, data) VALUES (?, ?, ?, ?, ?)",
                       (incident.id, incident.brand, to_us(incident.opened_at), int(incident.is_open),
                        record_to_json(incident)))

    @_translated
    def incidents(self, *, open_only: bool = False, limit: int = 100) -> list[Incident]:
        where = "WHERE open = 1 " if open_only else ""
        with self._lock:
            rows = self._db.execute(f"SELECT data FROM incidents {where}ORDER BY opened DESC, id DESC LIMIT ?",
                                    (max(limit, 0),)).fetchall()
        return [record_from_json(Incident, data) for (data,) in rows]

    @_translated
    def incident(self, incident_id: str) -> Incident | None:
        with self._lock:
            row = self._db.execute("SELECT data FROM incidents WHERE id = ?", (incident_id,)).fetchone()
        return None if row is None else record_from_json(Incident, row[0])

    @_translated
    def resolved_before(self, before: datetime, limit: int = 100) -> list[Incident]:
        with self._lock:  # opened before ``before`` is necessary to be resolved before it
            rows = self._db.execute(
                "SELECT data FROM incidents WHERE open = 0 AND opened < ? AND NOT EXISTS (SELECT 1 FROM outbox "
                "WHERE outbox.incident_id = incidents.id AND delivered IS NULL) ORDER BY opened, id",
                (to_us(before),)).fetchall()
        found = (record_from_json(Incident, data) for (data,) in rows)
        return [i for i in found if i.resolved_at is not None and i.resolved_at < before][:max(limit, 0)]

    @_translated
    def forget_incident(self, incident: Incident, refs: Sequence[str], states: Sequence[str]) -> bool:
        with self._tx() as db:
            row = db.execute("SELECT open FROM incidents WHERE id = ?", (incident.id,)).fetchone()
            waiting = db.execute("SELECT 1 FROM outbox WHERE incident_id = ? AND delivered IS NULL LIMIT 1",
                                 (incident.id,)).fetchone()
            if (row is not None and row[0]) or waiting is not None:
                return False
            db.execute("DELETE FROM outbox WHERE incident_id = ?", (incident.id,))
            db.executemany("DELETE FROM refs WHERE name = ?", [(name,) for name in refs])
            db.executemany("DELETE FROM state WHERE name = ?", [(name,) for name in states])
            db.execute("DELETE FROM incidents WHERE id = ?", (incident.id,))
        return True

    # -- outbox ----------------------------------------------------------------------------------
    @_translated
    def outbox_items(self, incident_id: str) -> list[OutboxItem]:
        with self._lock:
            rows = self._db.execute("SELECT data FROM outbox WHERE incident_id = ? ORDER BY created, seq, key",
                                    (incident_id,)).fetchall()
        return [record_from_json(OutboxItem, data) for (data,) in rows]

    @_translated
    def outbox_enqueue(self, items: Iterable[OutboxItem]) -> int:
        added = 0
        with self._tx() as db:
            for item in items:
                added += db.execute(
                    "INSERT INTO outbox (key, incident_id, receiver, seq, created, next_attempt, delivered, data)"
                    " VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (key) DO NOTHING",
                    (item.key, item.incident_id, item.receiver, item.seq, to_us(item.created_at),
                     to_us(item.next_attempt_at),
                     None if item.delivered_at is None else to_us(item.delivered_at),
                     record_to_json(item))).rowcount
        return added

    @_translated
    def outbox_due(self, now: datetime, limit: int = 100) -> list[OutboxItem]:
        with self._lock:
            rows = self._db.execute(_DUE, (to_us(now), max(limit, 0))).fetchall()
        return [record_from_json(OutboxItem, data) for (data,) in rows]

    @_translated
    def outbox_hasten(self, incident_id: str, receiver: str, seq: int, at: datetime) -> int:
        with self._tx() as db:
            rows = db.execute("SELECT key, data FROM outbox WHERE delivered IS NULL AND incident_id = ?"
                              " AND receiver = ? AND seq <= ? AND next_attempt > ?",
                              (incident_id, receiver, seq, to_us(at))).fetchall()
            items = [record_from_json(OutboxItem, data) for _, data in rows]
            waiting = [item for item in items if item.attempts == 0]  # a failed one keeps its retry time
            for item in waiting:
                db.execute("UPDATE outbox SET next_attempt = ?, data = ? WHERE key = ?",
                           (to_us(at), record_to_json(replace(item, next_attempt_at=at)), item.key))
        return len(waiting)

    @_translated
    def outbox_delivered(self, key: str, at: datetime) -> None:
        self._update_item(key, lambda item: replace(item, delivered_at=at))

    @_translated
    def outbox_failed(self, key: str, next_attempt_at: datetime, error: str) -> None:
        self._update_item(key, lambda item: replace(
            item, attempts=item.attempts + 1, next_attempt_at=next_attempt_at, last_error=error))

    def _update_item(self, key: str, change: Callable[[OutboxItem], OutboxItem]) -> None:
        with self._tx() as db:
            row = db.execute("SELECT data FROM outbox WHERE key = ?", (key,)).fetchone()
            if row is None:
                return
            item = change(record_from_json(OutboxItem, row[0]))
            delivered = None if item.delivered_at is None else to_us(item.delivered_at)
            db.execute("UPDATE outbox SET next_attempt = ?, delivered = ?, data = ? WHERE key = ?",
                       (to_us(item.next_attempt_at), delivered, record_to_json(item), key))

    @_translated
    def outbox_pending(self) -> list[OutboxItem]:
        with self._lock:
            rows = self._db.execute("SELECT data FROM outbox WHERE delivered IS NULL "
                                    "ORDER BY created, seq, key").fetchall()
        return [record_from_json(OutboxItem, data) for (data,) in rows]

    # -- refs and cursors ------------------------------------------------------------------------
    @_translated
    def get_ref(self, name: str) -> str | None:
        with self._lock:
            row = self._db.execute("SELECT value FROM refs WHERE name = ?", (name,)).fetchone()
        return None if row is None else row[0]

    @_translated
    def set_ref(self, name: str, value: str) -> None:
        with self._tx() as db:
            db.execute("INSERT OR REPLACE INTO refs (name, value) VALUES (?, ?)", (name, value))

    @_translated
    def get_cursor(self, source: str) -> dict[str, Any] | None:
        with self._lock:
            row = self._db.execute("SELECT value FROM cursors WHERE source = ?", (source,)).fetchone()
        return None if row is None else json.loads(row[0])

    @_translated
    def set_cursor(self, source: str, cursor: Mapping[str, Any]) -> None:
        value = json.dumps(dict(cursor), separators=(",", ":"))
        with self._tx() as db:
            db.execute("INSERT OR REPLACE INTO cursors (source, value) VALUES (?, ?)", (source, value))

    # -- silences --------------------------------------------------------------------------------
    @_translated
    def add_silence(self, silence: Silence) -> None:
        with self._tx() as db:
            db.execute("INSERT OR REPLACE INTO silences (id, starts, ends, data) VALUES (?, ?, ?, ?)",
                       (silence.id, to_us(silence.starts_at), to_us(silence.ends_at), record_to_json(silence)))

    @_translated
    def silence(self, silence_id: str) -> Silence | None:
        with self._lock:
            row = self._db.execute("SELECT data FROM silences WHERE id = ?", (silence_id,)).fetchone()
        return None if row is None else record_from_json(Silence, row[0])

    @_translated
    def silences(self, *, active_at: datetime | None = None) -> list[Silence]:
        with self._lock:
            if active_at is None:
                rows = self._db.execute("SELECT data FROM silences ORDER BY starts, id").fetchall()
            else:
                stamp = to_us(active_at)
                rows = self._db.execute("SELECT data FROM silences WHERE starts <= ? AND ends > ? "
                                        "ORDER BY starts, id", (stamp, stamp)).fetchall()
        return [record_from_json(Silence, data) for (data,) in rows]

    @_translated
    def expire_silence(self, silence_id: str, at: datetime) -> Silence | None:
        with self._tx() as db:
            row = db.execute("SELECT data FROM silences WHERE id = ?", (silence_id,)).fetchone()
            if row is None:
                return None
            silence = expired(record_from_json(Silence, row[0]), at)
            db.execute("UPDATE silences SET starts = ?, ends = ?, data = ? WHERE id = ?",
                       (to_us(silence.starts_at), to_us(silence.ends_at), record_to_json(silence), silence_id))
        return silence

    # -- lifecycle -------------------------------------------------------------------------------
    @_translated
    def ping(self) -> None:
        with self._lock:
            self._db.execute("SELECT 1").fetchone()

    def close(self) -> None:
        with self._lock:
            self._db.close()


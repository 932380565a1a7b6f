"""The shared store on Redis (``redis://`` / ``rediss://``, passwords and ACL users in the URL).

Layout (names in :mod:`service.store.keys`): one string per brand-hour of buckets, packed JSON merged
by a Lua script (atomic); seen ids in sharded hashes (``HSETNX``); exemplars in one compressed
string per brand-hour (:mod:`service.store.packed`, replaced by compare-and-swap); incidents and the
outbox under their own hash tags, the outbox ordered per (incident, receiver) by sorted sets kept
consistent by Lua scripts.

Fencing: when :attr:`RedisStore.fence_token` is set (the active scheduler's lease token), every write
of detector states, incidents and the outbox carries it and its script refuses it when a newer token
has written in the same slot (``{brand}``, ``{state}``, ``{incidents}``, ``{outbox}``); a new
scheduler claims every slot when it takes the lease (:meth:`RedisStore.claim_fence`), so a stale one
that wakes up after a pause cannot overwrite anything (:class:`FencedOut`).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import re
import secrets
import threading
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import replace
from datetime import datetime
from typing import Any, ParamSpec, TypeVar

import redis
from redis.backoff import ExponentialBackoff, NoBackoff
from redis.retry import Retry

from service.domain import Bucket, Exemplar, Incident, frozen_map
from service.store import (
    DAY_US,
    HOUR_US,
    brand_of_state,
    detector_state_name,
    expired,
    from_us,
    record_from_json,
    record_to_json,
    state_json,
    to_us,
)
from service.store.base import OutboxItem, Silence, StoreError
from service.store.keys import DEFAULT_PREFIX, Keys, slot_tag
from service.store.packed import keep_best, pack_exemplars, rank, unpack_exemplars

PREFETCH_HOURS = 24 * 8
"""Longest range (hours) :meth:`RedisStore.prefetched` reads up front; longer ones are read on demand."""
_RETRYABLE_ERRORS = (redis.exceptions.ReadOnlyError, redis.exceptions.TryAgainError,
                     redis.exceptions.ClusterDownError, redis.exceptions.OutOfMemoryError)
_RETRYABLE_CODE = re.compile(r"(?:^|caused error: )(?:LOADING|BUSY|TRYAGAIN|CLUSTERDOWN|MASTERDOWN|READONLY|OOM)\b")
"""An error code of these as the reply's first word, also where redis-py reports a pipelined
command's reply as ``Command # 1 (...) of pipeline caused error: BUSY ...``."""


def retryable_reply(exc: redis.ResponseError) -> bool:
    """Whether an error reply means a server that is starting, busy, failing over or full (``OOM``:
    until memory is freed, e.g. by trimming or by an operator), so the same command can succeed
    later, rather than a refusal it would give again (a wrong type, a script error). redis-py turns
    most of these codes into exception classes and strips the code from the message; the others
    (``BUSY``) keep it."""
    return isinstance(exc, _RETRYABLE_ERRORS) or _RETRYABLE_CODE.search(str(exc)) is not None


TLS_HANDSHAKE_TIMEOUT = 5.0
"""Seconds a ``rediss://`` connection waits for the TLS handshake (a plain Redis port never answers one)."""


class TLSHandshakeFailed(redis.ConnectionError):
    """A ``rediss://`` server did not complete the TLS handshake (often: a plain, non-TLS port). A
    connection error like the others (roles wait it out), but each attempt fails within
    :data:`TLS_HANDSHAKE_TIMEOUT` and redis-py does not repeat the handshake at once."""


class _HandshakeError(redis.RedisError):
    """Raised inside ``_connect``: not a ``ConnectionError``, so redis-py's retry does not repeat it."""


class TLSConnection(redis.SSLConnection):
    """``rediss://`` connections whose TLS handshake is bounded by :data:`TLS_HANDSHAKE_TIMEOUT` (redis-py
    uses ``socket_timeout`` and repeats it with every retry: ~40 s before an unclear timeout), failing
    with :class:`TLSHandshakeFailed` naming ``host:port`` (never the password)."""

    handshake_timeout = TLS_HANDSHAKE_TIMEOUT

    def _wrap_socket_with_ssl(self, sock: Any) -> Any:
        sock.settimeout(self.handshake_timeout)
        try:
            wrapped = super()._wrap_socket_with_ssl(sock)
        except TimeoutError:
            raise _HandshakeError(f"no TLS answer within {self.handshake_timeout:g}s "
                                  "(is it a plain Redis port? use redis:// for one)") from None
        except OSError as exc:  # ssl.SSLError and resets: the peer does not speak TLS, or refused us
            raise _HandshakeError(f"{type(exc).__name__}: {exc}") from None
        wrapped.settimeout(self.socket_timeout)
        return wrapped

    def connect(self) -> None:
        """redis-py's ``connect`` (the whole connect and handshake retried under the retry policy), except
        that a failed TLS handshake is not repeated: the next attempt is the caller's (with backoff)."""
        try:
            self.retry.call_with_retry(
                lambda: super(TLSConnection, self).connect_check_health(check_health=True, retry_socket_connect=False),
                lambda error: self.disconnect(error))
        except _HandshakeError as exc:
            raise self._failed(exc) from None

    def connect_check_health(self, check_health: bool = True, retry_socket_connect: bool = True) -> None:
        try:
            super().connect_check_health(check_health=check_health, retry_socket_connect=retry_socket_connect)
        except _HandshakeError as exc:
            raise self._failed(exc) from None

    def _failed(self, exc: _HandshakeError) -> TLSHandshakeFailed:
        return TLSHandshakeFailed(f"TLS handshake failed at {self.host}:{self.port}: {exc}")


def client_options(url: str) -> dict[str, Any]:
    """Options every redis-py client of ``url`` needs: :class:`TLSConnection` for ``rediss://``."""
    return {"connection_class": TLSConnection} if url.lower().startswith("rediss://") else {}


class FencedOut(StoreError):
    """A write made under a scheduler fencing token older than one already seen by that part of the
    store: this process is no longer the active scheduler (never retryable)."""

    def __init__(self, message: str) -> None:
        super().__init__(message, retryable=False)


P = ParamSpec("P")
R = TypeVar("R")


def _translated(method: Callable[P, R]) -> Callable[P, R]:
    """Translate redis-py errors into :class:`StoreError` at the edge of every public method."""

    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return method(*args, **kwargs)
        except redis.AuthenticationError as exc:
            raise StoreError(f"redis store: authentication failed: {exc}", retryable=False) from exc
        except (redis.ConnectionError, redis.TimeoutError) as exc:
            raise StoreError(f"redis store unreachable: {exc}", retryable=True) from exc
        except redis.ResponseError as exc:
            if "NOTLEADER" in str(exc):
                raise FencedOut(f"redis store refused a write: {exc}") from exc
            retryable = retryable_reply(exc)
            raise StoreError(f"redis store refused a command: {exc}", retryable=retryable) from exc
        except redis.RedisError as exc:
            raise StoreError(f"redis store: {exc}", retryable=True) from exc

    wrapper.__name__ = method.__name__
    wrapper.__doc__ = method.__doc__
    return wrapper


class RedisStore:
    """:class:`service.store.base.Store` on a real Redis server (7.0 or later)."""

    def __init__(self, url: str, *, prefix: str = DEFAULT_PREFIX) -> None:
        self.keys = Keys(prefix)
        options: dict[str, Any] = {"decode_responses": True, "socket_connect_timeout": 5, "socket_timeout": 10,
                                   "health_check_interval": 30, **client_options(url)}
        # Idempotent work goes through a client that reconnects and retries with backoff; work that
        # must not be applied twice (adding to buckets, counting a failed attempt) is tried once.
        self._r = redis.Redis.from_url(url, retry=Retry(ExponentialBackoff(cap=2.0, base=0.05), retries=3),
                                       retry_on_error=[redis.ConnectionError, redis.TimeoutError], **options)
        self._once = redis.Redis.from_url(url, retry=Retry(NoBackoff(), retries=0), **options)
        self._local = threading.local()  # per thread: the batch's deferred states, prefetched buckets
        self._unpacked: dict[tuple[str, int], tuple[str, list[Bucket]]] = {}
        """The brand-hours the last prefetch read: value as read, its buckets (see :meth:`_prefetch`)."""
        self._bin = redis.Redis.from_url(url, retry=Retry(ExponentialBackoff(cap=2.0, base=0.05), retries=3),
                                         retry_on_error=[redis.ConnectionError, redis.TimeoutError],
                                         **(options | {"decode_responses": False}))  # packed (binary) values
        self._seen = self._r.register_script(_MARK_SEEN)
        self._add_buckets = self._r.register_script(_ADD_BUCKETS)
        self._add_once = self._r.register_script(_ADD_ONCE)
        self._prune_hours = self._r.register_script(_PRUNE_HOURS)
        self._swap_exemplars = self._bin.register_script(_SWAP_EXEMPLARS)
        self._save_incident = self._r.register_script(_FENCE + _SAVE_INCIDENT)
        self._enqueue = self._r.register_script(_FENCE + _OUTBOX_ENQUEUE)
        self._delivered = self._r.register_script(_FENCE + _OUTBOX_DELIVERED)
        self._failed = self._r.register_script(_FENCE + _OUTBOX_FAILED)
        self._hasten = self._r.register_script(_FENCE + _OUTBOX_HASTEN)
        self._forget_items = self._r.register_script(_FENCE + _FORGET_ITEMS)
        self._forget_incident = self._r.register_script(_FENCE + _FORGET_INCIDENT)
        self._del_state = self._r.register_script(_FENCE + "return redis.call('DEL', KEYS[1])")
        self._set_state = self._r.register_script(_FENCE + _SET_STATE)
        self._claim = self._r.register_script(_FENCE + "return 1")
        self.fence_token: int | None = None
        """The scheduler's fencing token (its lease's), carried by every write of detector states,
        incidents and the outbox; ``None`` (workers, the single process, tools): writes unfenced."""

    # -- mentions --------------------------------------------------------------------------------
    @_translated
    def mark_seen(self, mention_ids: Sequence[str], at: datetime) -> set[str]:
        shards: dict[str, list[str]] = defaultdict(list)
        for mention_id in dict.fromkeys(mention_ids):
            shards[self.keys.seen_shard(mention_id)].append(mention_id)
        token = secrets.token_urlsafe(6)  # lets a retried call recognise the ids it marked itself
        pipe = self._r.pipeline(transaction=False)
        for key, ids in shards.items():
            self._seen(keys=[key], args=[token, *ids], client=pipe)
        new: set[str] = set()
        for ids, flags in zip(shards.values(), pipe.execute(), strict=True):
            new.update(mention_id for mention_id, flag in zip(ids, flags, strict=True) if flag)
        return new

    # -- buckets ---------------------------------------------------------------------------------
    @_translated
    def add_to_buckets(self, deltas: Iterable[Bucket]) -> None:
        per_brand: dict[str, list[list[Any]]] = defaultdict(list)
        hour_keys: dict[str, dict[str, int]] = defaultdict(dict)
        for d in deltas:
            start = to_us(d.start)
            key = self.keys.bucket_hour(d.brand, start // HOUR_US)
            index = hour_keys[d.brand].setdefault(key, len(hour_keys[d.brand]) + 2)
            per_brand[d.brand].append([index, start // DAY_US, _field(start), d.count, d.negative, d.positive,
                                       d.duplicates, repr(float(d.reach)), dict(d.crisis), dict(d.kinds),
                                       dict(d.sources), dict(d.langs)])
        if not per_brand:
            return
        pipe = self._once.pipeline(transaction=True)
        for brand, items in per_brand.items():
            keys = [self.keys.bucket_days(brand), *hour_keys[brand]]
            self._add_buckets(keys=keys, args=[json.dumps(items, separators=(",", ":"))], client=pipe)
        pipe.sadd(self.keys.brands(), *per_brand)
        pipe.execute()

    @_translated
    def add_to_buckets_once(self, brand: str, deltas: Iterable[Bucket], mention_ids: Mapping[int, Sequence[str]],
                            keep_days: int) -> set[str]:
        """Scale-out workers: add ``deltas`` (all of ``brand``) and mark ``mention_ids`` (day since the
        epoch -> ids published that day) as processed, atomically, unless one of the ids was already
        processed: then nothing changes and those ids are returned (recompute the deltas without
        them and call again). Markers of a day live ``keep_days`` days after the last id of that day
        was marked (relative to the server's clock: replays of old data keep them too). Safe to retry."""
        return self.add_to_buckets_once_many([(brand, deltas, mention_ids)], keep_days)[brand]

    @_translated
    def add_to_buckets_once_many(self, batches: Sequence[tuple[str, Iterable[Bucket], Mapping[int, Sequence[str]]]],
                                 keep_days: int) -> dict[str, set[str]]:
        """:meth:`add_to_buckets_once` for several brands (one atomic script each) in one round trip;
        brand -> the ids found already processed (nothing of that brand changed then)."""
        pipe = self._r.pipeline(transaction=False)
        for brand, deltas, mention_ids in batches:
            keys, args = self._once_args(brand, deltas, mention_ids, keep_days)
            self._add_once(keys=keys, args=args, client=pipe)
        if batches:
            pipe.sadd(self.keys.brands(), *{brand for brand, _, _ in batches})
        replies = pipe.execute()
        return {brand: set(done) for (brand, _, _), done in zip(batches, replies, strict=False)}

    def _once_args(self, brand: str, deltas: Iterable[Bucket], mention_ids: Mapping[int, Sequence[str]],
                   keep_days: int) -> tuple[list[str], list[str]]:
        hour_keys: dict[str, int] = {}
        items = []
        for d in deltas:
            if d.brand != brand:
                raise ValueError(f"delta of {d.brand!r} given for {brand!r}")
            start = to_us(d.start)
            index = hour_keys.setdefault(self.keys.bucket_hour(brand, start // HOUR_US), len(hour_keys) + 2)
            items.append([index, start // DAY_US, _field(start), d.count, d.negative, d.positive, d.duplicates,
                          repr(float(d.reach)), dict(d.crisis), dict(d.kinds), dict(d.sources), dict(d.langs)])
        first_set = len(hour_keys) + 2
        days = sorted(mention_ids)
        # Each id is looked for in the sets of the days around its own, ``keep_days`` either way: an id seen
        # again dated another day (a source that re-dates an item) is the same mention, as on SQLite.
        window = sorted({near for day in days for near in range(day - keep_days, day + keep_days + 1)})
        index = {day: first_set + 1 + i for i, day in enumerate(window)}
        marks = [[index[day], keep_days * DAY_US // 1000, list(mention_ids[day])] for day in days]
        keys = [self.keys.bucket_days(brand), *hour_keys, self.keys.processed_scratch(brand, secrets.token_hex(4)),
                *(self.keys.processed(brand, day) for day in window)]
        return keys, [json.dumps(items, separators=(",", ":")), json.dumps(marks, separators=(",", ":")),
                      str(first_set)]

    @contextlib.contextmanager
    def prefetched(self, ranges: Mapping[str, tuple[datetime, datetime]]) -> Iterator[None]:
        """Within the block, in this thread, :meth:`buckets` answers requests inside ``ranges`` (brand
        -> [start, end)) from one read made up front (one round trip for every brand of a detection
        tick instead of two per brand). Buckets added meanwhile through this store are not seen."""
        local = self._local
        previous = getattr(local, "prefetched", None)
        local.prefetched = self._prefetch(ranges)
        try:
            yield
        finally:
            local.prefetched = previous

    @_translated
    def _prefetch(self, ranges: Mapping[str, tuple[datetime, datetime]]) -> dict[str, tuple[int, int, list[Bucket]]]:
        plan = []
        for brand, (start, end) in ranges.items():
            low, high = to_us(start), to_us(end)
            hours = list(range(low // HOUR_US, (high - 1) // HOUR_US + 1)) if high > low else []
            if 0 < len(hours) <= PREFETCH_HOURS:
                plan.append((brand, low, high, hours))
        pipe = self._r.pipeline(transaction=False)
        for brand, _, _, hours in plan:
            pipe.mget([self.keys.bucket_hour(brand, hour) for hour in hours])
        found = {}
        # A brand-hour read again unchanged (the same value as at the previous prefetch; each tick reads
        # the whole window again) is not parsed again: its buckets (immutable) are reused.
        previous, unpacked = self._unpacked, {}
        for (brand, low, high, hours), blobs in zip(plan, pipe.execute() if plan else [], strict=True):
            buckets = []
            for hour, raw in zip(hours, blobs, strict=True):
                if raw is None:
                    continue
                known = previous.get((brand, hour))
                parsed = known[1] if known is not None and known[0] == raw else _unpack_hour(brand, hour, raw)
                unpacked[(brand, hour)] = (raw, parsed)
                buckets.extend(b for b in parsed if low <= to_us(b.start) < high)
            found[brand] = (low, high, sorted(buckets, key=lambda b: b.start))
        self._unpacked = unpacked
        return found

    @_translated
    def buckets(self, brand: str, start: datetime, end: datetime) -> list[Bucket]:
        low, high = to_us(start), to_us(end)
        if high <= low:
            return []
        cached = (getattr(self._local, "prefetched", None) or {}).get(brand)
        if cached is not None and cached[0] <= low and high <= cached[1]:
            return [b for b in cached[2] if low <= to_us(b.start) < high]
        days = self._r.zrangebyscore(self.keys.bucket_days(brand), low // DAY_US, (high - 1) // DAY_US)
        hours = [h for day in map(int, days) for h in range(day * 24, day * 24 + 24)
                 if low // HOUR_US <= h <= (high - 1) // HOUR_US]
        blobs = self._r.mget([self.keys.bucket_hour(brand, hour) for hour in hours]) if hours else []
        found = [bucket for hour, raw in zip(hours, blobs, strict=True) if raw is not None
                 for bucket in _unpack_hour(brand, hour, raw) if low <= to_us(bucket.start) < high]
        return sorted(found, key=lambda b: b.start)

    @_translated
    def brands(self) -> list[str]:
        candidates = sorted(self._r.smembers(self.keys.brands()))
        pipe = self._r.pipeline(transaction=False)
        for brand in candidates:
            pipe.exists(self.keys.bucket_days(brand), self.keys.state(detector_state_name(brand), brand))
        return [brand for brand, alive in zip(candidates, pipe.execute(), strict=True) if alive]

    @_translated
    def prune_buckets(self, before: datetime) -> int:
        limit = to_us(before)
        return sum(self._prune_brand(brand, limit) for brand in self._r.smembers(self.keys.brands()))

    def _prune_brand(self, brand: str, limit: int) -> int:
        k = self.keys
        days = [int(d) for d in self._r.zrangebyscore(k.bucket_days(brand), "-inf", limit // DAY_US)]
        hours = [h for day in days for h in range(day * 24, min(day * 24 + 24, limit // HOUR_US + 1))]
        blobs = self._r.mget([k.bucket_hour(brand, hour) for hour in hours]) if hours else []
        doomed = [[i + 2, [f for f in json.loads(raw)["b"] if hour * HOUR_US + _field_us(f) < limit]]
                  for i, (hour, raw) in enumerate(zip(hours, blobs, strict=True)) if raw is not None]
        pipe = self._r.pipeline(transaction=True)
        self._prune_hours(keys=[k.bucket_days(brand), *(k.bucket_hour(brand, hour) for hour in hours)],
                          args=[json.dumps(doomed)], client=pipe)
        pipe.zremrangebyscore(k.bucket_days(brand), "-inf", limit // DAY_US - 1)
        removed, _ = pipe.execute()
        self._prune_exemplars(brand, limit)
        return int(removed)

    # -- detector state --------------------------------------------------------------------------
    @_translated
    def load_state(self, name: str) -> dict[str, Any] | None:
        deferred = getattr(self._local, "states", None)
        if deferred is not None and name in deferred:
            return json.loads(deferred[name])
        brand = brand_of_state(name)
        value = self._r.get(self.keys.state(name, brand))
        if value is None and brand is None:  # saved before states had the {state} tag (read until rewritten)
            value = self._r.get(self.keys.legacy_state(name))
        return None if value is None else json.loads(value)

    @_translated
    def save_state(self, name: str, state: Mapping[str, Any]) -> None:
        deferred = getattr(self._local, "states", None)
        if deferred is not None:  # inside batch(): written when the batch ends
            deferred[name] = state_json(state)  # encoded now: later changes to ``state`` do not leak in
            return
        self._save_states({name: state_json(state)})

    def _save_states(self, states: Mapping[str, str]) -> None:
        """Each state (JSON) with its brand's registration; several states in one round trip."""
        pipe = self._r.pipeline(transaction=False)
        token = self._token()
        for name, data in states.items():
            brand = brand_of_state(name)
            self._set_state(keys=[self.keys.fenced(brand or "state"), self.keys.state(name, brand)],
                            args=[token, data], client=pipe)
            if brand is not None:
                pipe.sadd(self.keys.brands(), brand)
        pipe.execute()

    @contextlib.contextmanager
    def batch(self) -> Iterator[None]:
        """Group the states saved inside the block (in this thread) into one round trip at its end;
        when the block raises they are dropped, as a transaction would be rolled back (a detection
        tick that failed restarts from the previous checkpoint). Reads in the block see them. Nests."""
        local = self._local
        outer = getattr(local, "states", None) is None
        if outer:
            local.states = {}
        try:
            yield
            if outer and local.states:
                self._translated_save(local.states)
        finally:
            if outer:
                local.states = None

    @_translated
    def _translated_save(self, states: Mapping[str, str]) -> None:
        self._save_states(states)

    # -- fencing (the scheduler's writes) ----------------------------------------------------------
    def _token(self) -> str:
        token = getattr(self._local, "token", None)
        token = self.fence_token if token is None else token
        return "" if token is None else str(token)

    @contextlib.contextmanager
    def fenced_as(self, token: int | None) -> Iterator[None]:
        """Within the block, in this thread, writes carry ``token`` rather than :attr:`fence_token` (``None``:
        no change). Work begun under one lease (a tick, with detectors in memory) keeps that lease's token
        to its end: when the process takes the lease back under a newer token meanwhile, after another
        scheduler held it, that work's state is stale and its writes must be refused, not let through."""
        local = self._local
        previous = getattr(local, "token", None)
        local.token = token if token is not None else previous
        try:
            yield
        finally:
            local.token = previous

    @_translated
    def claim_fence(self, token: int, brands: Iterable[str]) -> None:
        """Record ``token`` as the newest in every slot the scheduler writes to (incidents, outbox,
        states and each brand's), so that from now on a write of an older holder is refused
        everywhere, not only where the new one already wrote. Raises :class:`FencedOut` when a newer
        token was already seen."""
        pipe = self._r.pipeline(transaction=False)
        for tag in ("incidents", "outbox", "state", *brands):
            self._claim(keys=[self.keys.fenced(tag)], args=[str(token)], client=pipe)
        pipe.execute()

    # -- exemplars -------------------------------------------------------------------------------
    # One compressed string per brand-hour (service/store/packed.py), read, merged and written back
    # by compare-and-swap: a script replaces the values only while they are what was read (SHA-1),
    # else the brand's batch is read and merged again. Workers rarely touch the same brand-hour at once.
    @_translated
    def add_exemplars(self, exemplars: Iterable[Exemplar], per_brand_limit: int) -> None:
        per_brand: dict[str, dict[int, list[Exemplar]]] = defaultdict(lambda: defaultdict(list))
        for e in exemplars:
            per_brand[e.brand][to_us(e.published_at) // HOUR_US].append(e)
        pending = dict(per_brand)
        while pending:  # two round trips for every brand; again for the brands another process changed
            pending = self._merge_exemplars(pending, per_brand_limit)

    def _merge_exemplars(self, new: Mapping[str, Mapping[int, Sequence[Exemplar]]],
                         limit: int) -> dict[str, Mapping[int, Sequence[Exemplar]]]:
        """Merge ``new`` (brand -> hour -> exemplars) into the stored hours; return the part of the
        brands whose stored hours another process changed meanwhile (nothing written for them)."""
        plan = [(brand, sorted(hours)) for brand, hours in new.items()]
        pipe = self._bin.pipeline(transaction=False)
        for brand, hours in plan:
            pipe.mget([self.keys.exemplar_hour(brand, hour) for hour in hours])
        swaps = []
        for (brand, hours), current in zip(plan, pipe.execute(), strict=True):
            args: list[bytes | str | int] = []
            changed = []
            for hour, blob in zip(hours, current, strict=True):
                stored = unpack_exemplars(brand, blob)
                best = keep_best(stored, new[brand][hour], limit)
                if best != stored:
                    changed.append(self.keys.exemplar_hour(brand, hour))
                    args += [_digest(blob), pack_exemplars(best) if best else b"", hour * HOUR_US // DAY_US]
            if changed:
                swaps.append(brand)
                self._swap_exemplars(keys=[self.keys.exemplar_days(brand), *changed], args=args, client=pipe)
        results = pipe.execute() if swaps else []
        return {brand: new[brand] for brand, done in zip(swaps, results, strict=True) if not done}

    def _prune_exemplars(self, brand: str, limit: int) -> None:
        """Drop the brand's exemplars published before ``limit`` (µs); days left empty leave the index."""
        k = self.keys
        self._prune_legacy_exemplars(brand, limit)
        while True:
            days = [int(d) for d in self._r.zrangebyscore(k.exemplar_days(brand), "-inf", (limit - 1) // DAY_US)]
            if not days:
                return
            hours = [h for day in days for h in range(day * 24, day * 24 + 24)]
            keys = [k.exemplar_hour(brand, hour) for hour in hours]
            args: list[bytes | str | int] = []
            for hour, blob in zip(hours, self._bin.mget(keys), strict=True):
                kept = [e for e in unpack_exemplars(brand, blob) if to_us(e.published_at) >= limit]
                args += [_digest(blob), pack_exemplars(kept) if kept else b"", hour * HOUR_US // DAY_US]
            if self._swap_exemplars(keys=[k.exemplar_days(brand), *keys], args=[*args, *days]):
                return

    def _prune_legacy_exemplars(self, brand: str, limit: int) -> None:
        """Delete the hours of exemplars written by versions before the packed ones (a sorted set and a
        hash per hour, indexed by hour) that ended before ``limit`` (µs); they are never read."""
        k = self.keys
        last = limit // HOUR_US - 1
        hours = [int(float(h)) for h in self._r.zrangebyscore(k.legacy_exemplar_hours(brand), "-inf", last)]
        if not hours:
            return
        pipe = self._r.pipeline(transaction=True)
        for start in range(0, len(hours), 500):
            chunk = hours[start:start + 500]
            pipe.delete(*(key for hour in chunk
                          for key in (k.legacy_exemplar_hour(brand, hour), k.legacy_exemplar_data(brand, hour))))
        pipe.zremrangebyscore(k.legacy_exemplar_hours(brand), "-inf", last)
        pipe.execute()

    @_translated
    def exemplars(self, brand: str, start: datetime, end: datetime, limit: int) -> list[Exemplar]:
        low, high = to_us(start), to_us(end)
        if high <= low or limit <= 0:
            return []
        days = self._r.zrangebyscore(self.keys.exemplar_days(brand), low // DAY_US, (high - 1) // DAY_US)
        hours = [h for day in map(int, days) for h in range(day * 24, day * 24 + 24)
                 if low // HOUR_US <= h <= (high - 1) // HOUR_US]
        blobs = self._bin.mget([self.keys.exemplar_hour(brand, hour) for hour in hours]) if hours else []
        found = [e for blob in blobs for e in unpack_exemplars(brand, blob) if low <= to_us(e.published_at) < high]
        return sorted(found, key=rank, reverse=True)[:limit]

    # -- incidents -------------------------------------------------------------------------------
    @_translated
    def open_incident(self, brand: str) -> Incident | None:
        incident_id = self._r.hget(self.keys.incidents_open(), brand)
        return None if incident_id is None else self.incident(incident_id)

    @_translated
    def save_incident(self, incident: Incident) -> None:
        k = self.keys
        self._save_incident(keys=[k.fenced("incidents"), k.incident_data(), k.incidents_opened(), k.incidents_open()],
                            args=[self._token(), incident.id, incident.brand, to_us(incident.opened_at),
                                  int(incident.is_open), record_to_json(incident)])

    @_translated
    def incidents(self, *, open_only: bool = False, limit: int = 100) -> list[Incident]:
        if limit <= 0:
            return []
        if open_only:
            ids = self._r.hvals(self.keys.incidents_open())
        else:
            ids = self._r.zrevrange(self.keys.incidents_opened(), 0, limit - 1)
        found = [record_from_json(Incident, data) for data in self._r.hmget(self.keys.incident_data(), ids)
                 if data is not None] if ids else []
        found.sort(key=lambda i: (i.opened_at, i.id), reverse=True)
        return found[:limit]

    @_translated
    def incident(self, incident_id: str) -> Incident | None:
        data = self._r.hget(self.keys.incident_data(), incident_id)
        return None if data is None else record_from_json(Incident, data)

    @_translated
    def resolved_before(self, before: datetime, limit: int = 100) -> list[Incident]:
        # opened before ``before`` is necessary to be resolved before it
        ids = self._r.zrangebyscore(self.keys.incidents_opened(), "-inf", f"({to_us(before)}")
        found = [record_from_json(Incident, data) for data in self._r.hmget(self.keys.incident_data(), ids)
                 if data is not None] if ids else []
        found.sort(key=lambda i: (i.opened_at, i.id))
        waiting = {item.incident_id for item in self.outbox_pending()}  # kept: they must not fill the limit
        return [i for i in found if not i.is_open and i.resolved_at is not None and i.resolved_at < before
                and i.id not in waiting][:max(limit, 0)]

    @_translated
    def forget_incident(self, incident: Incident, refs: Sequence[str], states: Sequence[str]) -> bool:
        """In the order that a crash can interrupt safely: the refs and states (named after the items,
        which are still there if it stops here), then the items (refused, in one script, while one is
        undelivered), the incident last; run again, it finishes the job."""
        k, token = self.keys, self._token()
        if self._r.hget(k.incidents_open(), incident.brand) == incident.id:
            return False
        found = self._outbox_items(incident.id)
        if any(item.delivered_at is None for item in found):
            return False
        pipe = self._r.pipeline(transaction=False)
        for name in refs:
            pipe.delete(k.ref(name))
        for name in states:
            brand = brand_of_state(name)
            self._del_state(keys=[k.fenced(brand or "state"), k.state(name, brand)], args=[token], client=pipe)
        pipe.execute()
        items = [k.outbox_item(item.key) for item in found]
        if items and not self._forget_items(keys=[k.fenced("outbox"), *items], args=[token]):
            return False
        return bool(self._forget_incident(keys=[k.fenced("incidents"), k.incident_data(), k.incidents_opened(),
                                                k.incidents_open()], args=[token, incident.id, incident.brand]))

    # -- outbox ----------------------------------------------------------------------------------
    @_translated
    def outbox_items(self, incident_id: str) -> list[OutboxItem]:
        return self._outbox_items(incident_id)

    def _outbox_items(self, incident_id: str) -> list[OutboxItem]:
        """Every item whose key starts with ``<incident id>#`` (the outbox's key scheme), found with
        ``SCAN``: retention runs rarely, and no index has to be kept for it."""
        head = self.keys.outbox_item("")
        pattern = _glob_escape(self.keys.outbox_item(incident_id)) + "#*"  # the prefix may hold [ ] too
        return self._load_items([key[len(head):] for key in self._r.scan_iter(match=pattern, count=1000)])

    def _outbox_keys(self, incident_id: str, receiver: str, key: str) -> list[str]:
        k = self.keys
        return [k.fenced("outbox"), k.outbox_item(key), k.outbox_line(incident_id, receiver), k.outbox_heads(),
                k.outbox_schedule(), k.outbox_pending()]

    @_translated
    def outbox_enqueue(self, items: Iterable[OutboxItem]) -> int:
        pipe = self._r.pipeline(transaction=True)
        for item in items:
            fields = ["d", record_to_json(item), "n", to_us(item.next_attempt_at), "a", item.attempts]
            if item.last_error is not None:
                fields += ["e", item.last_error]
            if item.delivered_at is not None:
                fields += ["t", to_us(item.delivered_at)]
            self._enqueue(keys=self._outbox_keys(item.incident_id, item.receiver, item.key),
                          args=[self._token(), item.key, item.seq, to_us(item.next_attempt_at), to_us(item.created_at),
                                int(item.delivered_at is not None), *fields], client=pipe)
        return sum(pipe.execute()) if len(pipe) else 0

    @_translated
    def outbox_due(self, now: datetime, limit: int = 100) -> list[OutboxItem]:
        keys = self._r.zrangebyscore(self.keys.outbox_heads(), "-inf", to_us(now))
        return self._load_items(keys)[:max(limit, 0)]

    @_translated
    def outbox_hasten(self, incident_id: str, receiver: str, seq: int, at: datetime) -> int:
        k = self.keys
        line = k.outbox_line(incident_id, receiver)
        members = self._r.zrangebyscore(line, "-inf", seq)
        if not members:
            return 0
        return int(self._hasten(keys=[k.fenced("outbox"), line, k.outbox_heads(), k.outbox_schedule(),
                                      *(k.outbox_item(member) for member in members)],
                                args=[self._token(), to_us(at), *members]))

    @_translated
    def outbox_delivered(self, key: str, at: datetime) -> None:
        item = self._load_items([key])
        if item:
            self._delivered(keys=self._outbox_keys(item[0].incident_id, item[0].receiver, key),
                            args=[self._token(), key, to_us(at)])

    @_translated
    def outbox_failed(self, key: str, next_attempt_at: datetime, error: str) -> None:
        k = self.keys
        self._failed(keys=[k.fenced("outbox"), k.outbox_item(key), k.outbox_heads(), k.outbox_schedule()],
                     args=[self._token(), key, to_us(next_attempt_at), error], client=self._once)

    @_translated
    def outbox_pending(self) -> list[OutboxItem]:
        return self._load_items(self._r.zrange(self.keys.outbox_pending(), 0, -1))

    def _load_items(self, keys: Sequence[str]) -> list[OutboxItem]:
        pipe = self._r.pipeline(transaction=False)
        for key in keys:
            pipe.hgetall(self.keys.outbox_item(key))
        items = [_outbox_item(fields) for fields in pipe.execute() if fields]
        return sorted(items, key=lambda i: (i.created_at, i.seq, i.key))

    # -- refs and cursors ------------------------------------------------------------------------
    @_translated
    def get_ref(self, name: str) -> str | None:
        return self._r.get(self.keys.ref(name))

    @_translated
    def set_ref(self, name: str, value: str) -> None:
        self._r.set(self.keys.ref(name), value)

    @_translated
    def get_cursor(self, source: str) -> dict[str, Any] | None:
        value = self._r.get(self.keys.cursor(source))
        return None if value is None else json.loads(value)

    @_translated
    def set_cursor(self, source: str, cursor: Mapping[str, Any]) -> None:
        self._r.set(self.keys.cursor(source), json.dumps(dict(cursor), separators=(",", ":")))

    # -- silences --------------------------------------------------------------------------------
    @_translated
    def add_silence(self, silence: Silence) -> None:
        self._r.hset(self.keys.silences(), silence.id, record_to_json(silence))

    @_translated
    def silence(self, silence_id: str) -> Silence | None:
        data = self._r.hget(self.keys.silences(), silence_id)
        return None if data is None else record_from_json(Silence, data)

    @_translated
    def silences(self, *, active_at: datetime | None = None) -> list[Silence]:
        found = [record_from_json(Silence, data) for data in self._r.hvals(self.keys.silences())]
        if active_at is not None:
            found = [s for s in found if s.starts_at <= active_at < s.ends_at]
        return sorted(found, key=lambda s: (s.starts_at, s.id))

    @_translated
    def expire_silence(self, silence_id: str, at: datetime) -> Silence | None:
        key = self.keys.silences()
        with self._r.pipeline(transaction=True) as pipe:
            while True:  # optimistic: a concurrent change of the hash retries the read-modify-write
                try:
                    pipe.watch(key)
                    data = pipe.hget(key, silence_id)
                    if data is None:
                        return None
                    silence = expired(record_from_json(Silence, data), at)
                    pipe.multi()
                    pipe.hset(key, silence_id, record_to_json(silence))
                    pipe.execute()
                    return silence
                except redis.WatchError:
                    continue

    @_translated
    def brand_memory_bytes(self, brand: str) -> int:
        """Bytes of Redis memory (``MEMORY USAGE``) held by every key of ``brand`` (for sizing)."""
        keys = list(self._r.scan_iter(match=f"{_glob_escape(self.keys.prefix + slot_tag(brand))}:*", count=500))
        pipe = self._r.pipeline(transaction=False)
        for key in keys:
            pipe.memory_usage(key, samples=0)
        return sum(size or 0 for size in pipe.execute())

    # -- lifecycle -------------------------------------------------------------------------------
    @_translated
    def ping(self) -> None:
        self._r.ping()

    def close(self) -> None:
        self._r.close()
        self._once.close()
        self._bin.close()


def _digest(blob: bytes | None) -> str:
    """What the exemplar swap script compares: the SHA-1 of a value, ``''`` when absent."""
    return hashlib.sha1(blob).hexdigest() if blob is not None else ""


def _glob_escape(text: str) -> str:
    return "".join(f"\\{c}" if c in "*?[]\\" else c for c in text)


def _field(start_us: int) -> str:
    """Name of a bucket inside its hour: the second of the hour (``s.micro`` when not whole)."""
    seconds, micros = divmod(start_us % HOUR_US, 1_000_000)
    return str(seconds) if not micros else f"{seconds}.{micros:06d}"


def _field_us(field: str) -> int:
    seconds, _, micros = field.partition(".")
    return int(seconds) * 1_000_000 + (int(micros) if micros else 0)


def _unpack_hour(brand: str, hour: int, raw: str) -> list[Bucket]:
    """Buckets of one packed brand-hour (see the ``_ADD_BUCKETS`` script for the layout)."""
    blob = json.loads(raw)
    names = blob["n"] if isinstance(blob["n"], list) else []
    found = []
    for field, (count, negative, positive, duplicates, reach, *pairs) in blob["b"].items():
        crisis, kinds, sources, langs = (_counts(names, p) for p in pairs)
        found.append(Bucket(brand=brand, start=from_us(hour * HOUR_US + _field_us(field)), count=int(count),
                            negative=int(negative), positive=int(positive), duplicates=int(duplicates),
                            reach=float(reach), crisis=crisis, kinds=kinds, sources=sources, langs=langs))
    return found


def _counts(names: list[str], pairs: Any) -> Mapping[str, int]:
    """``[name index, count, name index, count, ...]`` (1-based indexes into ``names``) as a mapping."""
    if not isinstance(pairs, list):  # Lua's cjson writes an empty array as {}
        return frozen_map()
    return frozen_map({names[int(pairs[i]) - 1]: int(pairs[i + 1]) for i in range(0, len(pairs), 2)})


def _outbox_item(fields: Mapping[str, str]) -> OutboxItem:
    item = record_from_json(OutboxItem, fields["d"])
    return replace(item, next_attempt_at=from_us(int(fields["n"])), attempts=int(fields["a"]),
                   delivered_at=from_us(int(fields["t"])) if "t" in fields else None, last_error=fields.get("e"))


# -- Lua scripts (atomic multi-key updates; every script touches keys of one hash slot) ------------

# ARGV[1]: a token unique to the call (the value stored), so that a retry reports the same new ids.
_MARK_SEEN = """
local out = {}
for i = 2, #ARGV do
  local fresh = redis.call('HSETNX', KEYS[1], ARGV[i], ARGV[1])
  if fresh == 0 and redis.call('HGET', KEYS[1], ARGV[i]) == ARGV[1] then fresh = 1 end
  out[#out + 1] = fresh
end
return out
"""

# A brand-hour of buckets is one string: {"n": [names], "b": {"<second of hour>": [count, negative, positive,
# duplicates, "reach", crisis, kinds, sources, langs]}}, each mapping a flat array [name index, count, ...]
# into that hour's name table (each name stored once per hour, not once per bucket).
# ARGV[1]: JSON [[key index, day, field, count, negative, positive, duplicates, "reach", crisis, kinds,
# sources, langs], ...]; KEYS[1] is the brand's day index.
_MERGE_BUCKETS = """
local function exact(x)
  local s = string.format('%.15g', x)
  if tonumber(s) ~= x then s = string.format('%.17g', x) end
  return s
end
local days = {}
local function load(i)
  if days[i] then return days[i] end
  local raw = redis.call('GET', KEYS[i])
  local blob = raw and cjson.decode(raw) or {n = {}, b = {}}
  local lookup = {}
  for k, name in ipairs(blob.n) do lookup[name] = k end
  days[i] = {blob = blob, lookup = lookup}
  return days[i]
end
local function merge(items)
for _, it in ipairs(items) do
  local d = load(it[1])
  local b = d.blob.b[it[3]]
  if not b then b = {0, 0, 0, 0, '0', {}, {}, {}, {}}; d.blob.b[it[3]] = b end
  for j = 1, 4 do b[j] = b[j] + it[j + 3] end
  b[5] = exact(tonumber(b[5]) + tonumber(it[8]))
  for j = 6, 9 do
    local arr, pos = b[j], {}
    for k = 1, #arr, 2 do pos[arr[k]] = k end
    for name, n in pairs(it[j + 3]) do
      local idx = d.lookup[name]
      if not idx then idx = #d.blob.n + 1; d.blob.n[idx] = name; d.lookup[name] = idx end
      local p = pos[idx]
      if p then arr[p + 1] = arr[p + 1] + n else arr[#arr + 1] = idx; arr[#arr + 1] = n; pos[idx] = #arr - 1 end
    end
  end
  redis.call('ZADD', KEYS[1], it[2], it[2])
end
for i, d in pairs(days) do redis.call('SET', KEYS[i], cjson.encode(d.blob)) end
end
"""
_ADD_BUCKETS = _MERGE_BUCKETS + """
local items = cjson.decode(ARGV[1])
merge(items)
return #items
"""

# Scale-out workers (service/scale/worker.py): count mentions at most once. KEYS: the day index, the hour
# keys, a scratch set of this call (KEYS[ARGV[3]], deleted before the end), then the brand's processed-id sets (one
# per day: every day within the kept days of a day of the batch). ARGV[1]: the items of _ADD_BUCKETS;
# ARGV[2]: JSON [[set key index, time to live (ms), [mention ids]], ...]. When any id was already processed
# (in any of those sets) nothing changes and those ids are returned (the caller recomputes the deltas without
# them); otherwise the ids are marked and the deltas added, in one atomic step (one slot: every key carries
# the brand's tag).
_ADD_ONCE = _MERGE_BUCKETS + """
local marks = cjson.decode(ARGV[2])
local ids = {}
for _, m in ipairs(marks) do
  for _, id in ipairs(m[3]) do ids[#ids + 1] = id end
end
local scratch, first = KEYS[tonumber(ARGV[3])], tonumber(ARGV[3]) + 1
-- The first write must be one a full server refuses (SADD, not DEL): after it, Redis lets a script finish.
for i = 1, #ids, 1000 do redis.call('SADD', scratch, unpack(ids, i, math.min(i + 999, #ids))) end
redis.call('PEXPIRE', scratch, 60000)
local done, seen = {}, {}
for k = first, #KEYS do
  for _, id in ipairs(redis.call('SINTER', scratch, KEYS[k])) do
    if not seen[id] then seen[id] = true; done[#done + 1] = id end
  end
end
redis.call('DEL', scratch)
if #done > 0 then return done end
for _, m in ipairs(marks) do
  for i = 1, #m[3], 1000 do redis.call('SADD', KEYS[m[1]], unpack(m[3], i, math.min(i + 999, #m[3]))) end
  if #m[3] > 0 then redis.call('PEXPIRE', KEYS[m[1]], m[2]) end
end
merge(cjson.decode(ARGV[1]))
return done
"""

# ARGV[1]: JSON [[key index, [fields to delete]], ...].
_PRUNE_HOURS = """
local removed = 0
for _, it in ipairs(cjson.decode(ARGV[1])) do
  local raw = redis.call('GET', KEYS[it[1]])
  if raw then
    local blob = cjson.decode(raw)
    for _, field in ipairs(it[2]) do
      if blob.b[field] then blob.b[field] = nil; removed = removed + 1 end
    end
    if next(blob.b) == nil then
      redis.call('DEL', KEYS[it[1]])
    else
      redis.call('SET', KEYS[it[1]], cjson.encode(blob))
    end
  end
end
return removed
"""

# Compare-and-swap of a brand's exemplar hours. KEYS: the day index, then n hour keys; ARGV: per hour key
# [SHA-1 of the value read ('' = absent), new value ('' = delete), its day], then days to drop from the index
# unless one of the hours given for them still holds exemplars. Returns 0 (nothing written) when a value
# changed since it was read.
_SWAP_EXEMPLARS = """
local n = #KEYS - 1
for i = 1, n do
  local cur = redis.call('GET', KEYS[i + 1])
  if (cur and redis.sha1hex(cur) or '') ~= ARGV[3 * i - 2] then return 0 end
end
local alive = {}
for i = 1, n do
  local blob, day = ARGV[3 * i - 1], ARGV[3 * i]
  if blob == '' then
    redis.call('DEL', KEYS[i + 1])
  else
    redis.call('SET', KEYS[i + 1], blob)
    redis.call('ZADD', KEYS[1], day, day)
    alive[day] = true
  end
end
for i = 3 * n + 1, #ARGV do
  if not alive[ARGV[i]] then redis.call('ZREM', KEYS[1], ARGV[i]) end
end
return 1
"""

# Prepended to every script of the scheduler's writes. KEYS[1]: the slot's fenced-token key; ARGV[1]: the
# writer's fencing token ('' = unfenced). Refuses a token older than the newest seen in the slot, records a
# newer one, then removes both so that the script proper sees its own KEYS and ARGV.
_FENCE = """
if ARGV[1] ~= '' then
  local seen = tonumber(redis.call('GET', KEYS[1]) or '0')
  local token = tonumber(ARGV[1])
  if token < seen then
    return redis.error_reply('NOTLEADER fencing token ' .. ARGV[1] .. ' is older than ' .. seen)
  end
  if token > seen then redis.call('SET', KEYS[1], ARGV[1]) end
end
table.remove(KEYS, 1)
table.remove(ARGV, 1)
"""

_SET_STATE = """
redis.call('SET', KEYS[1], ARGV[1])
return 1
"""

_SAVE_INCIDENT = """
redis.call('HSET', KEYS[1], ARGV[1], ARGV[5])
redis.call('ZADD', KEYS[2], ARGV[3], ARGV[1])
if ARGV[4] == '1' then
  redis.call('HSET', KEYS[3], ARGV[2], ARGV[1])
elseif redis.call('HGET', KEYS[3], ARGV[2]) == ARGV[1] then
  redis.call('HDEL', KEYS[3], ARGV[2])
end
return 1
"""

# KEYS: item, line, heads, schedule, pending. A line's head sits in heads, scored by its next attempt.
_OUTBOX_ENQUEUE = """
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('HSET', KEYS[1], unpack(ARGV, 6))
if ARGV[5] == '1' then return 1 end
local old = redis.call('ZRANGE', KEYS[2], 0, 0)[1]
redis.call('ZADD', KEYS[2], ARGV[2], ARGV[1])
redis.call('ZADD', KEYS[4], ARGV[3], ARGV[1])
redis.call('ZADD', KEYS[5], ARGV[4], ARGV[1])
local head = redis.call('ZRANGE', KEYS[2], 0, 0)[1]
if head ~= old then
  if old then redis.call('ZREM', KEYS[3], old) end
  redis.call('ZADD', KEYS[3], redis.call('ZSCORE', KEYS[4], head), head)
end
return 1
"""

_OUTBOX_DELIVERED = """
if redis.call('EXISTS', KEYS[1]) == 0 or redis.call('HEXISTS', KEYS[1], 't') == 1 then return 0 end
redis.call('HSET', KEYS[1], 't', ARGV[2])
redis.call('ZREM', KEYS[2], ARGV[1])
redis.call('ZREM', KEYS[3], ARGV[1])
redis.call('ZREM', KEYS[4], ARGV[1])
redis.call('ZREM', KEYS[5], ARGV[1])
local head = redis.call('ZRANGE', KEYS[2], 0, 0)[1]
if head then redis.call('ZADD', KEYS[3], redis.call('ZSCORE', KEYS[4], head), head) end
return 1
"""

# KEYS: item, heads, schedule.
_OUTBOX_FAILED = """
if redis.call('EXISTS', KEYS[1]) == 0 or redis.call('HEXISTS', KEYS[1], 't') == 1 then return 0 end
redis.call('HINCRBY', KEYS[1], 'a', 1)
redis.call('HSET', KEYS[1], 'n', ARGV[2], 'e', ARGV[3])
redis.call('ZADD', KEYS[3], ARGV[2], ARGV[1])
if redis.call('ZSCORE', KEYS[2], ARGV[1]) then redis.call('ZADD', KEYS[2], ARGV[2], ARGV[1]) end
return 1
"""

# KEYS: line, heads, schedule, then the item of each member in ARGV[2:] (read from the line just before;
# a member no longer in the line, delivered, already due by ARGV[1] or that failed before is left alone).
_OUTBOX_HASTEN = """
local at = tonumber(ARGV[1])
local moved = 0
for i = 2, #ARGV do
  local member, item = ARGV[i], KEYS[i + 2]
  local scheduled = redis.call('ZSCORE', KEYS[3], member)
  if redis.call('ZSCORE', KEYS[1], member) and redis.call('HEXISTS', item, 't') == 0
      and tonumber(redis.call('HGET', item, 'a') or '0') == 0 and scheduled and tonumber(scheduled) > at then
    redis.call('HSET', item, 'n', ARGV[1])
    redis.call('ZADD', KEYS[3], ARGV[1], member)
    if redis.call('ZSCORE', KEYS[2], member) then redis.call('ZADD', KEYS[2], ARGV[1], member) end
    moved = moved + 1
  end
end
return moved
"""

# Retention. KEYS: items (all of one incident); nothing is deleted while one of them is undelivered.
_FORGET_ITEMS = """
for i = 1, #KEYS do
  if redis.call('EXISTS', KEYS[i]) == 1 and redis.call('HEXISTS', KEYS[i], 't') == 0 then return 0 end
end
redis.call('DEL', unpack(KEYS))
return 1
"""

# KEYS: incident data, opened, open (brand -> open incident id); ARGV: id, brand. An open incident stays.
_FORGET_INCIDENT = """
if redis.call('HGET', KEYS[3], ARGV[2]) == ARGV[1] then return 0 end
redis.call('HDEL', KEYS[1], ARGV[1])
redis.call('ZREM', KEYS[2], ARGV[1])
return 1
"""

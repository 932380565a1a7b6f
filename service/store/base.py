"""The store contract. Every backend (SQLite, Redis) implements :class:`Store` and passes the one
contract test suite in ``tests/test_store_contract.py``.

The docstrings below *are* the contract. Times are aware UTC datetimes. Methods that take many items
do their work in one transaction (SQLite) or one pipeline (Redis): the pipeline calls them per
batch, never per mention.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any, Protocol, runtime_checkable

from service.domain import Bucket, Exemplar, Incident


class StoreError(Exception):
    """The store could not do what was asked (unreachable, corrupt, ...). ``retryable`` says
    whether trying again later may succeed (a connection lost) or not (a schema mismatch)."""

    def __init__(self, message: str, *, retryable: bool = True) -> None:
        super().__init__(message)
        self.retryable = retryable


@dataclass(frozen=True, kw_only=True, slots=True)
class OutboxItem:
    """One notification waiting in (or delivered from) the outbox.

    ``key`` is unique: enqueueing the same key twice keeps the first item (idempotent enqueue).
    ``incident_id`` + ``receiver`` orders delivery: :meth:`Store.outbox_due` never returns an item
    while an earlier (smaller ``seq``) item of the same incident and receiver is undelivered.
    """

    key: str
    incident_id: str
    receiver: str
    seq: int
    payload: Mapping[str, Any]
    created_at: datetime
    next_attempt_at: datetime
    attempts: int = 0
    delivered_at: datetime | None = None
    last_error: str | None = None


class MatchOp(StrEnum):
    """How a silence matcher compares a label: equality or a full-match regular expression."""

    EQUAL = "="
    NOT_EQUAL = "!="
    REGEX = "=~"
    NOT_REGEX = "!~"


@dataclass(frozen=True, kw_only=True, slots=True)
class Matcher:
    """One condition on an alert label (brand, team, severity, crisis_type, lang)."""

    label: str
    value: str
    op: MatchOp = MatchOp.EQUAL


@dataclass(frozen=True, kw_only=True, slots=True)
class Silence:
    """Mutes the alerts whose labels match every matcher while ``starts_at <= now < ends_at``."""

    id: str
    matchers: tuple[Matcher, ...]
    starts_at: datetime
    ends_at: datetime
    created_by: str
    comment: str
    created_at: datetime


class Store(Protocol):
    # -- mentions ------------------------------------------------------------------------------
    def mark_seen(self, mention_ids: Sequence[str], at: datetime) -> set[str]:
        """Record ids as seen and return the subset that had never been seen before.

        An id returned once is never returned again by any later call (dedup across restarts and,
        for Redis, across processes)."""
        ...

    # -- buckets -------------------------------------------------------------------------------
    def add_to_buckets(self, deltas: Iterable[Bucket]) -> None:
        """Add the counts of each delta (a :class:`Bucket` of counts to add) to the stored bucket of
        the same (brand, start), creating it when absent; mappings are added key by key. Atomic
        per call."""
        ...

    def buckets(self, brand: str, start: datetime, end: datetime) -> list[Bucket]:
        """Buckets of ``brand`` with ``start <= bucket.start < end``, in time order. Buckets that
        never received a mention are absent (callers treat them as zero)."""
        ...

    def brands(self) -> list[str]:
        """Every brand that has at least one bucket or saved detector state, sorted."""
        ...

    def prune_buckets(self, before: datetime) -> int:
        """Delete buckets (and exemplars) that start before ``before``; return how many buckets.

        A backend whose processed-id markers do not expire on their own also drops those recorded
        before ``before`` (:mod:`service.housekeeping` calls this with the retention horizon)."""
        ...

    # -- detector state ------------------------------------------------------------------------
    def load_state(self, name: str) -> dict[str, Any] | None:
        """The JSON-compatible state saved under ``name`` (``None`` when never saved)."""
        ...

    def save_state(self, name: str, state: Mapping[str, Any]) -> None:
        """Replace the state saved under ``name``."""
        ...

    # -- exemplars -----------------------------------------------------------------------------
    def add_exemplars(self, exemplars: Iterable[Exemplar], per_brand_limit: int) -> None:
        """Keep example mentions; for each brand at most ``per_brand_limit`` per hour of
        ``published_at`` are kept, preferring the most negative."""
        ...

    def exemplars(self, brand: str, start: datetime, end: datetime, limit: int) -> list[Exemplar]:
        """The most negative exemplars of ``brand`` published in ``[start, end)``, most negative
        first (ties: most recent first)."""
        ...

    # -- incidents -----------------------------------------------------------------------------
    def open_incident(self, brand: str) -> Incident | None:
        """The unresolved incident of ``brand``, if any (there is at most one per brand)."""
        ...

    def save_incident(self, incident: Incident) -> None:
        """Insert or replace the incident with this id."""
        ...

    def incidents(self, *, open_only: bool = False, limit: int = 100) -> list[Incident]:
        """Incidents, most recently opened first."""
        ...

    def incident(self, incident_id: str) -> Incident | None:
        ...

    def resolved_before(self, before: datetime, limit: int = 100) -> list[Incident]:
        """Closed incidents resolved before ``before`` without an undelivered outbox item (retention), at
        most ``limit``, oldest opened first."""
        ...

    def forget_incident(self, incident: Incident, refs: Sequence[str], states: Sequence[str]) -> bool:
        """Remove a closed ``incident``, its outbox items and the named refs and states (the notification
        traces the caller derived from :meth:`outbox_items`), unless one of its items is undelivered or
        it is open again: then ``False`` and the incident and its items stay. Safe to repeat."""
        ...

    # -- outbox --------------------------------------------------------------------------------
    def outbox_items(self, incident_id: str) -> list[OutboxItem]:
        """Every outbox item of ``incident_id``, delivered or not (retention, tools)."""
        ...

    def outbox_enqueue(self, items: Iterable[OutboxItem]) -> int:
        """Add items whose key is new; return how many were added."""
        ...

    def outbox_due(self, now: datetime, limit: int = 100) -> list[OutboxItem]:
        """Undelivered items with ``next_attempt_at <= now`` that are first in line for their
        (incident, receiver), oldest first."""
        ...

    def outbox_hasten(self, incident_id: str, receiver: str, seq: int, at: datetime) -> int:
        """Bring every undelivered item of the (``incident_id``, ``receiver``) line with a ``seq`` up
        to ``seq`` and a ``next_attempt_at`` later than ``at`` forward to ``at``; return how many moved.

        The dispatcher calls it for a new item due earlier than the items ahead of it in its line (an
        escalation behind an update waiting its group interval or quiet hours): the line keeps its
        order and the new item is not held back. An item that already failed keeps its retry time (its
        backoff, or the receiver's ``Retry-After``, which must be honoured): it is never moved."""
        ...

    def outbox_delivered(self, key: str, at: datetime) -> None:
        ...

    def outbox_failed(self, key: str, next_attempt_at: datetime, error: str) -> None:
        """Count one more failed attempt and schedule the next one."""
        ...

    def outbox_pending(self) -> list[OutboxItem]:
        """Every undelivered item, oldest first (for metrics and shutdown)."""
        ...

    def get_ref(self, name: str) -> str | None:
        """A small named reference, e.g. the Slack message timestamp of an incident's thread."""
        ...

    def set_ref(self, name: str, value: str) -> None:
        ...

    # -- silences -----------------------------------------------------------------------------
    def add_silence(self, silence: Silence) -> None:
        """Insert or replace the silence with this id."""
        ...

    def silence(self, silence_id: str) -> Silence | None:
        ...

    def silences(self, *, active_at: datetime | None = None) -> list[Silence]:
        """Every silence, or only those with ``starts_at <= active_at < ends_at``; ordered by
        ``starts_at`` then id."""
        ...

    def expire_silence(self, silence_id: str, at: datetime) -> Silence | None:
        """End the silence at ``at`` (an earlier end is kept; a silence that had not started yet
        starts and ends at ``at``); return it, or ``None`` when no silence has this id."""
        ...

    # -- collectors ----------------------------------------------------------------------------
    def get_cursor(self, source: str) -> dict[str, Any] | None:
        """The incremental cursor of a source (since id, newest time, ETag, ...)."""
        ...

    def set_cursor(self, source: str, cursor: Mapping[str, Any]) -> None:
        ...

    # -- lifecycle -----------------------------------------------------------------------------
    def ping(self) -> None:
        """Raise :class:`StoreError` when the store is unreachable."""
        ...

    def close(self) -> None:
        ...


@runtime_checkable
class CountsOnce(Protocol):
    """A store that counts each brand's mentions and marks their ids as counted in one atomic step
    (Redis: one script per brand), instead of :meth:`Store.mark_seen` then :meth:`Store.add_to_buckets`.
    Whatever fails in between, a mention is counted once or not at all, so a batch is always safe to
    process again (:meth:`service.pipeline.Pipeline.count_once`)."""

    def add_to_buckets_once_many(self, batches: Sequence[tuple[str, Iterable[Bucket], Mapping[int, Sequence[str]]]],
                                 keep_days: int) -> dict[str, set[str]]:
        """For each ``(brand, deltas, ids)`` (``ids``: day since the epoch -> mention ids published
        that day): unless one of the ids was already counted, add the deltas and mark the ids, in one
        atomic step; return brand -> the ids found already counted (nothing of that brand changed
        then). Markers of a day live ``keep_days`` days after the last id of that day was marked."""
        ...


def batch(store: Store) -> AbstractContextManager[object]:
    """Group the calls made inside the ``with`` block into one unit, where the backend offers one.

    A backend may define ``batch()`` (a context manager): SQLite runs the whole block as one
    transaction, committed when the block ends and rolled back, all of it, when it raises, so a
    batch of mentions is counted whole or not at all. A backend without it (Redis: each call is
    already atomic on its own, and several processes share the work) runs the calls as they come.
    """
    opener = getattr(store, "batch", None)
    return opener() if opener is not None else nullcontext()

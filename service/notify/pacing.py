"""How the outbox paces delivery: the retry backoff after a failure, and which routine updates a
later notification of the same line supersedes (pure functions of the items and ``now``)."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta

from service.notify.base import retry_after_seconds
from service.store.base import OutboxItem, StoreError

FIRST_RETRY = timedelta(seconds=5)
MAX_RETRY = timedelta(minutes=10)
PERMANENT_RETRY = timedelta(minutes=15)
"""A non-retryable failure (revoked token, unknown channel) needs an operator; we keep the alert
and try again at this pace rather than drop it."""
MAX_ROUNDS = 50


def backoff(attempts: int, key: str, retry_after: float | None) -> timedelta:
    """Exponential backoff with a deterministic jitter of up to 20 %, at least ``retry_after``.

    >>> backoff(1, "k", None) >= timedelta(seconds=5)
    True
    >>> backoff(3, "k", 120.0) >= timedelta(seconds=120)
    True
    """
    retry_after = retry_after_seconds(retry_after)
    base = min(MAX_RETRY, FIRST_RETRY * (2 ** max(0, attempts - 1)))
    jitter = int(hashlib.blake2s(f"{key}:{attempts}".encode(), digest_size=2).hexdigest(), 16) / 65535 * 0.2
    delay = base * (1 + jitter)
    return max(delay, timedelta(seconds=retry_after)) if retry_after else delay


def describe_error(exc: BaseException) -> str:
    """A store error's own message (it names no secret); only the type of anything else."""
    return f"store error: {exc}" if isinstance(exc, StoreError) else f"unexpected {type(exc).__name__}"


def coalesces(item: OutboxItem) -> bool:
    delivery = item.payload.get("delivery")
    return isinstance(delivery, Mapping) and bool(delivery.get("coalesce"))


def superseded(item: OutboxItem, pending: Sequence[OutboxItem], now: datetime) -> bool:
    """A routine update on a route with a group interval is dropped when a later notification of the
    same incident to the same receiver is already due: that one carries the newer figures."""
    if not coalesces(item):
        return False
    return any(other.incident_id == item.incident_id and other.receiver == item.receiver and other.seq > item.seq
               and other.next_attempt_at <= now for other in pending)

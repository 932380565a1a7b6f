"""Retention: the store keeps counts and example mentions for :data:`RETENTION`, and a job removes the
rest every :data:`HOUSEKEEPING_EVERY`, so a service that runs for years does not grow without bound.

Detection does not need old buckets: each brand's detector carries its baselines in its own saved
state. What goes: buckets and example mentions that start before ``now - RETENTION`` and, on SQLite,
the processed-id markers recorded before then (a mention re-delivered after that long would only be
counted in a bucket that is itself gone). On Redis, the markers of counted mentions (written by a
single process and by scale-out workers alike, :meth:`service.pipeline.Pipeline.count_once`) expire
on their own.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from service.store.base import Store

log = logging.getLogger(__name__)

RETENTION = timedelta(days=90)
HOUSEKEEPING_EVERY = timedelta(hours=6)


def housekeep(store: Store, now: datetime, retention: timedelta = RETENTION) -> int:
    """Remove what is older than ``retention`` at ``now``; return how many buckets went."""
    removed = store.prune_buckets(now - retention)
    if removed:
        log.info("housekeeping: %d buckets older than %s removed", removed, (now - retention).date().isoformat())
    return removed

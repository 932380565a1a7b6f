"""Retention: the store keeps counts and example mentions for :data:`RETENTION`, and a job removes the
rest every :data:`HOUSEKEEPING_EVERY`, so a service that runs for years does not grow without bound.

Detection does not need old buckets: each brand's detector carries its baselines in its own saved
state. What goes: buckets and example mentions that start before ``now - RETENTION`` and, on SQLite,
the processed-id markers recorded before then (a mention re-delivered after that long would only be
counted in a bucket that is itself gone). On Redis, the markers of counted mentions (written by a
single process and by scale-out workers alike, :meth:`service.pipeline.Pipeline.count_once`) expire
on their own. Incidents resolved before the horizon go too, with everything their notifications left
(:func:`forget_incidents`), unless one of them is still undelivered.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from service.store.base import Store

log = logging.getLogger(__name__)

RETENTION = timedelta(days=90)
HOUSEKEEPING_EVERY = timedelta(hours=6)
INCIDENTS_PER_RUN = 500
"""Incidents removed per housekeeping run at most (the next run takes the rest)."""


def housekeep(store: Store, now: datetime, retention: timedelta = RETENTION) -> int:
    """Remove what is older than ``retention`` at ``now``; return how many buckets went."""
    removed = store.prune_buckets(now - retention)
    if removed:
        log.info("housekeeping: %d buckets older than %s removed", removed, (now - retention).date().isoformat())
    forgotten = forget_incidents(store, now - retention)
    if forgotten:
        log.info("housekeeping: %d incidents resolved before %s removed with their notifications", forgotten,
                 (now - retention).date().isoformat())
    return removed


def forget_incidents(store: Store, before: datetime, limit: int = INCIDENTS_PER_RUN) -> int:
    """Remove incidents resolved before ``before`` with their notification traces (outbox items,
    thread, intent and sent references, notification logs, snooze, timeline). An incident with an
    undelivered notification stays until it is delivered: nothing is lost to retention."""
    from service.api.timeline import timeline_ref
    from service.notify.outbox import incident_traces

    forgotten = 0
    for incident in store.resolved_before(before, limit):
        items = store.outbox_items(incident.id)
        if any(item.delivered_at is None for item in items):
            continue
        refs, states = incident_traces(incident.id, items)
        forgotten += store.forget_incident(incident, [*refs, timeline_ref(incident.id)], states)
    return forgotten

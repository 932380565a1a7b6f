"""One read of each brand's buckets per tick, instead of one per evaluated bucket.

A tick evaluates every bucket that closed since the previous one, each on the window that ends with
it: twelve 30-minute windows for an hour of backlog, twelve reads of almost the same buckets. Over
the network that is most of a tick. :class:`TickWindows` wraps the store the ticker's pipeline
reads: the first window asked for a brand in a tick fetches everything from that window's start up
to the tick's ``now`` once; later windows of the same tick are sliced from memory. :meth:`clear` at
every tick (the ticker calls it) so workers' later counts are read again.
"""

from __future__ import annotations

from bisect import bisect_left
from datetime import datetime
from typing import Any

from service.clock import Clock
from service.domain import Bucket
from service.store.base import Store


class TickWindows:
    """A read-through cache of :meth:`Store.buckets` for the span of one tick; every other method
    is the wrapped store's."""

    def __init__(self, store: Store, clock: Clock) -> None:
        self.store, self.clock = store, clock
        self._spans: dict[str, tuple[datetime, datetime, list[Bucket], list[datetime]]] = {}

    def clear(self) -> None:
        self._spans.clear()

    def buckets(self, brand: str, start: datetime, end: datetime) -> list[Bucket]:
        span = self._spans.get(brand)
        if span is None or start < span[0] or end > span[1]:
            upto = max(end, self.clock.now())
            found = self.store.buckets(brand, start, upto)
            span = (start, upto, found, [b.start for b in found])
            self._spans[brand] = span
        _, _, found, starts = span
        return found[bisect_left(starts, start):bisect_left(starts, end)]

    def __getattr__(self, name: str) -> Any:
        return getattr(self.store, name)

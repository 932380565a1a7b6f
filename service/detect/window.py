"""Pure window math over a brand's buckets: sums, shares, the negative-binomial volume tail and
the two-proportion test of negative share.

>>> from datetime import datetime, UTC
>>> w = aggregate([Bucket(brand="b", start=datetime(2010, 1, 1, tzinfo=UTC), count=10, negative=4)])
>>> w.count, w.negative_share
(10, 0.4)
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from types import MappingProxyType

import msgspec
from scipy.special import betainc

from service.domain import Bucket, frozen_map


class WindowStats(msgspec.Struct, frozen=True, kw_only=True):
    """Sums of a brand's buckets over one evaluation window.

    A frozen :class:`msgspec.Struct` (equality, hashing and ``repr`` by field, as a frozen
    dataclass): one is built per evaluated bucket, about ten times faster than a dataclass."""

    count: int = 0
    negative: int = 0
    positive: int = 0
    duplicates: int = 0
    reach: float = 0.0
    crisis: Mapping[str, int] = msgspec.field(default_factory=frozen_map)
    kinds: Mapping[str, int] = msgspec.field(default_factory=frozen_map)
    sources: Mapping[str, int] = msgspec.field(default_factory=frozen_map)
    langs: Mapping[str, int] = msgspec.field(default_factory=frozen_map)

    @property
    def negative_share(self) -> float:
        return self.negative / self.count if self.count else 0.0

    @property
    def positive_share(self) -> float:
        return self.positive / self.count if self.count else 0.0

    def share(self, counts: Mapping[str, int], key: str) -> float:
        return counts.get(key, 0) / self.count if self.count else 0.0


def _add(total: dict[str, int], counts: Mapping[str, int]) -> None:
    get = total.get
    for key, value in counts.items():
        total[key] = get(key, 0) + value


def aggregate(buckets: Iterable[Bucket]) -> WindowStats:
    count = negative = positive = duplicates = 0
    reach = 0.0
    crisis: dict[str, int] = {}
    kinds: dict[str, int] = {}
    sources: dict[str, int] = {}
    langs: dict[str, int] = {}
    for bucket in buckets:
        count += bucket.count
        negative += bucket.negative
        positive += bucket.positive
        duplicates += bucket.duplicates
        reach += bucket.reach
        if bucket.crisis:  # most buckets carry no crisis vocabulary
            _add(crisis, bucket.crisis)
        _add(kinds, bucket.kinds)
        _add(sources, bucket.sources)
        _add(langs, bucket.langs)
    # The sums are this function's own dicts: read-only views of them, no copies.
    return WindowStats(count=count, negative=negative, positive=positive, duplicates=duplicates, reach=reach,
                       crisis=MappingProxyType(crisis), kinds=MappingProxyType(kinds),
                       sources=MappingProxyType(sources), langs=MappingProxyType(langs))


def negbin_upper_tail(observed: int, mean: float, dispersion: float) -> float:
    """P(X >= observed) for a negative binomial with this mean and size ``dispersion``
    (variance = mean + mean**2 / dispersion). Low counts are never surprising on their own:
    the caller adds a minimum-volume guard.

    >>> round(negbin_upper_tail(0, 3.0, 10.0), 6)
    1.0
    >>> negbin_upper_tail(60, 10.0, 10.0) < 1e-6
    True
    """
    if observed <= 0:
        return 1.0
    mean = max(mean, 1e-9)
    p = dispersion / (dispersion + mean)
    # P(X >= k) = I_{1-p}(k, r) for X ~ NB(r, p) counting failures before the r-th success.
    return float(betainc(observed, dispersion, 1.0 - p))


def two_proportion_z(successes: int, total: int, base_successes: float, base_total: float) -> float:
    """z statistic of the window's share against the baseline share (pooled), 0 when undefined.

    >>> round(two_proportion_z(40, 100, 200, 1000), 2)
    4.62
    """
    if total <= 0 or base_total <= 0:
        return 0.0
    p1, p0 = successes / total, base_successes / base_total
    pooled = (successes + base_successes) / (total + base_total)
    variance = pooled * (1 - pooled) * (1 / total + 1 / base_total)
    if variance <= 0:
        return 0.0
    return (p1 - p0) / math.sqrt(variance)


def fade_share(successes: float, total: float, new_successes: int, new_total: int, *, decay: float,
               prior_share: float, floor: float) -> tuple[float, float]:
    """Faded counts behind a baseline share (negative mentions over all mentions): the old counts
    times ``decay`` plus the new ones. While the faded total is below ``floor`` (a brand gone
    silent) one mention at ``prior_share`` is added, so the baseline never rests on nothing.

    >>> fade_share(10.0, 50.0, 3, 10, decay=0.5, prior_share=0.2, floor=5.0)
    (8.0, 35.0)
    >>> fade_share(0.0, 1.0, 0, 0, decay=0.5, prior_share=0.2, floor=5.0)
    (0.2, 1.5)
    """
    successes = successes * decay + new_successes
    total = total * decay + new_total
    if total < floor:
        successes += prior_share
        total += 1.0
    return successes, total

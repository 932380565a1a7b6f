"""What a notification carries beyond the :class:`~service.domain.Alert` record: the incident's
status (acknowledged, snoozed, who acted), the volume/negativity series for the chart, and the top
terms of its negative mentions.

The dispatcher gathers it from the store when it records the alert in the outbox and stores it in the
payload under ``"context"`` (``Alert.to_record`` keeps its contract keys unchanged); notifiers that
know it (Slack, webhook) read it back with :meth:`AlertContext.from_payload`.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from service.domain import Alert, Bucket
from service.enrich.text import tokens
from service.store import record_from_json, record_to_json

CONTEXT_KEY = "context"
CHART_HISTORY = timedelta(hours=12)
"""How much history before the incident the chart shows."""
MAX_POINTS = 400
TOP_TERMS = 8
_STOPWORD_TEXT = """
a an and are as at be been but by for from had has have he her his i if in into is it its just me my
no not of on or our out so than that the their them then there they this to too up us was we were what
when which who will with you your after about over more new now all can could would should get got
les des une est pas que qui dans pour par sur avec son ses aux du de la le et en il elle un au ce cette
sont ont mais plus tout nous vous leur leurs ne se sa ete fait faire comme ou http https www com
"""
_STOPWORDS = frozenset(_STOPWORD_TEXT.split())


@dataclass(frozen=True, kw_only=True, slots=True)
class Point:
    start: datetime
    count: int
    negative: int


@dataclass(frozen=True, kw_only=True, slots=True)
class Series:
    """Per-bucket volume and negative counts around an incident, with its baseline and anomaly span."""

    bucket_seconds: float
    points: tuple[Point, ...]
    expected_per_bucket: float
    baseline_negative_share: float
    anomaly_start: datetime
    anomaly_end: datetime


@dataclass(frozen=True, kw_only=True, slots=True)
class AlertContext:
    acknowledged_by: str | None = None
    snoozed_until: datetime | None = None
    action: str | None = None
    """``acknowledged``, ``snoozed``, ``resolved`` (by ``actor``) or ``reminder``; ``None`` for detection events."""
    actor: str | None = None
    top_terms: tuple[str, ...] = ()
    series: Series | None = None

    def to_payload(self) -> dict[str, Any]:
        return json.loads(record_to_json(self))

    @classmethod
    def from_payload(cls, payload: Mapping[str, Any]) -> AlertContext:
        """The context stored in an outbox payload (an empty one when absent or unreadable)."""
        raw = payload.get(CONTEXT_KEY)
        if not isinstance(raw, Mapping):
            return cls()
        try:
            return record_from_json(cls, json.dumps(dict(raw)))
        except (TypeError, ValueError, KeyError):
            return cls()


def build_series(alert: Alert, buckets: Sequence[Bucket], bucket: timedelta, window: timedelta,
                 start: datetime, end: datetime) -> Series:
    """Every bucket of ``[start, end)`` (missing ones count zero), the expected volume per bucket
    (the window's expectation spread over its buckets) and the anomaly span (opened to now)."""
    by_start = {b.start: b for b in buckets}
    points = []
    step = max(bucket, (end - start) / MAX_POINTS)
    cursor = start
    while cursor < end and len(points) < MAX_POINTS:
        inside = [b for at, b in by_start.items() if cursor <= at < cursor + step]
        points.append(Point(start=cursor, count=sum(b.count for b in inside),
                            negative=sum(b.negative for b in inside)))
        cursor += step
    per_bucket = alert.expected_volume * (step / window) if window else 0.0
    return Series(bucket_seconds=step.total_seconds(), points=tuple(points), expected_per_bucket=per_bucket,
                  baseline_negative_share=alert.baseline_negative_share,
                  anomaly_start=alert.opened_at or alert.at, anomaly_end=alert.at + bucket)


def top_terms(texts: Iterable[str], exclude: Iterable[str] = (), limit: int = TOP_TERMS) -> tuple[str, ...]:
    """The most frequent meaningful words of ``texts`` (each text counted once per word).

    >>> top_terms(["Toyota recall: pedal sticks", "pedal recall again", "the recall"], exclude=["toyota"])
    ('recall', 'pedal', 'again', 'sticks')
    """
    skip = _STOPWORDS | {word.lower() for word in exclude}
    counts: Counter[str] = Counter()
    for text in texts:
        counts.update({t for t in tokens(text) if len(t) >= 3 and not t.isdigit() and t not in skip})
    ranked = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
    return tuple(word for word, _ in ranked[:limit])

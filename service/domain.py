"""Domain types shared by every stage. Frozen, keyword-only, timezone-aware UTC timestamps.

The mention record follows the contract in DESIGN.md ("Mention record"); everything downstream of
enrichment works on :class:`Enriched` mentions, per-brand :class:`Bucket` aggregates, detector
:class:`Signal` values, :class:`Incident` records and the :class:`Alert` events that notifiers send.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from types import MappingProxyType
from typing import Any

import msgspec


class SourceKind(StrEnum):
    """Source family of a mention (the ``kind`` field of the mention contract)."""

    NEWS = "news"
    SOCIAL = "social"
    BLOG = "blog"
    FORUM = "forum"
    VIDEO = "video"
    REVIEW = "review"
    SUPPORT = "support"
    REGULATOR = "regulator"


class Label(StrEnum):
    NEGATIVE = "negative"
    NEUTRAL = "neutral"
    POSITIVE = "positive"


class Severity(StrEnum):
    INFO = "info"
    WARNING = "warning"
    CRITICAL = "critical"

    @property
    def rank(self) -> int:
        return _SEVERITY_RANK[self]

    def __ge__(self, other: object) -> bool:  # type: ignore[override]
        if not isinstance(other, Severity):
            return NotImplemented
        return self.rank >= other.rank

    def __gt__(self, other: object) -> bool:  # type: ignore[override]
        if not isinstance(other, Severity):
            return NotImplemented
        return self.rank > other.rank

    def __le__(self, other: object) -> bool:  # type: ignore[override]
        if not isinstance(other, Severity):
            return NotImplemented
        return self.rank <= other.rank

    def __lt__(self, other: object) -> bool:  # type: ignore[override]
        if not isinstance(other, Severity):
            return NotImplemented
        return self.rank < other.rank


_SEVERITY_RANK = {Severity.INFO: 0, Severity.WARNING: 1, Severity.CRITICAL: 2}


class AlertState(StrEnum):
    """What an alert event says about its incident (the replay ``state`` field)."""

    FIRING = "firing"
    ESCALATED = "escalated"
    UPDATED = "updated"
    RESOLVED = "resolved"


def frozen_map(values: Mapping[str, Any] | None = None) -> Mapping[str, Any]:
    """A read-only copy of ``values`` (dataclasses below stay hashable-free but immutable)."""
    return MappingProxyType(dict(values or {}))


class Mention(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    """One brand mention, as collected or pushed (see the mention contract).

    A frozen, keyword-only :class:`msgspec.Struct` rather than a dataclass: collectors build one per
    item and workers decode one per stream entry, and a Struct is built about ten times faster (in
    C). Equality, hashing and ``repr`` are by field, as for a frozen dataclass; copies with changed
    fields come from :func:`msgspec.structs.replace`. ``gc=False``: its fields are strings, numbers,
    a datetime and an enum, which cannot form reference cycles.
    """

    id: str
    published_at: datetime
    text: str
    source: str | None = None
    kind: SourceKind | None = None
    brand: str | None = None
    lang: str | None = None
    author: str | None = None
    url: str | None = None
    title: str | None = None
    reach: float | None = None
    engagement: float | None = None
    duplicate_of: str | None = None

    def to_record(self) -> dict[str, Any]:
        """The JSON-ready record of the mention contract (absent fields left out)."""
        record: dict[str, Any] = {"id": self.id, "published_at": self.published_at.isoformat(), "text": self.text}
        for name in ("source", "kind", "brand", "lang", "author", "url", "title", "reach", "engagement"):
            value = getattr(self, name)
            if value is not None:
                record[name] = str(value) if isinstance(value, StrEnum) else value
        return record


@dataclass(frozen=True, kw_only=True, slots=True)
class Score:
    """Negativity of one text: probability-like ``negativity`` in [0, 1], its label and language."""

    negativity: float
    label: Label
    lang: str


@dataclass(frozen=True, kw_only=True, slots=True)
class Enriched:
    """A mention attributed to one brand, with language, negativity and crisis vocabulary."""

    mention: Mention
    brand: str
    lang: str
    negativity: float
    label: Label
    crisis: Mapping[str, tuple[str, ...]] = field(default_factory=frozen_map)
    """Crisis lexicon category -> the terms of that category found in the text."""


@dataclass(frozen=True, kw_only=True, slots=True)
class Bucket:
    """Aggregate of one brand's mentions over ``[start, start + width)`` (event time).

    ``crisis`` counts mentions carrying at least one term of each category; ``kinds``, ``sources``
    and ``langs`` count mentions per source kind, source name and language.
    """

    brand: str
    start: datetime
    count: int = 0
    negative: int = 0
    positive: int = 0
    duplicates: int = 0
    reach: float = 0.0
    crisis: Mapping[str, int] = field(default_factory=frozen_map)
    kinds: Mapping[str, int] = field(default_factory=frozen_map)
    sources: Mapping[str, int] = field(default_factory=frozen_map)
    langs: Mapping[str, int] = field(default_factory=frozen_map)


@dataclass(frozen=True, kw_only=True, slots=True)
class Exemplar:
    """A mention kept to illustrate an alert (top negative mentions)."""

    brand: str
    mention_id: str
    published_at: datetime
    text: str
    negativity: float
    kind: str | None = None
    source: str | None = None
    url: str | None = None
    author: str | None = None
    reach: float | None = None


@dataclass(frozen=True, kw_only=True, slots=True)
class Signal:
    """What the detector concluded about one brand's window ending at ``at``.

    ``severity`` is ``None`` when nothing is anomalous. ``explanation`` lists, most important first,
    the facts that drove the decision, in words a communication team reads.
    """

    brand: str
    at: datetime
    window_start: datetime
    volume: int
    expected_volume: float
    volume_surprise: float
    negative_share: float
    baseline_negative_share: float
    negativity_shift: float
    crisis_share: Mapping[str, float] = field(default_factory=frozen_map)
    kinds: Mapping[str, int] = field(default_factory=frozen_map)
    severity: Severity | None = None
    crisis_type: str = "none"
    resemblance: float = 0.0
    explanation: tuple[str, ...] = ()
    elevated: bool = False
    """Still above normal, though not anomalous: keeps an open incident from resolving (hysteresis
    on the thresholds, on top of ``keep_firing_for`` on time)."""

    @property
    def anomalous(self) -> bool:
        return self.severity is not None


@dataclass(frozen=True, kw_only=True, slots=True)
class Incident:
    """One crisis (or spike) for one brand, from first firing to resolution."""

    id: str
    brand: str
    opened_at: datetime
    updated_at: datetime
    last_anomalous_at: datetime
    severity: Severity
    peak_severity: Severity
    crisis_type: str
    resemblance: float
    volume: int
    peak_volume: int
    negative_share: float
    expected_volume: float = 0.0
    baseline_negative_share: float = 0.0
    explanation: tuple[str, ...] = ()
    state: AlertState = AlertState.FIRING
    events: int = 1
    """How many alert events this incident has produced (orders its notifications)."""
    notified_volume: int = 0
    """Window volume at the last alert event (an update is sent when it grows enough)."""
    resolved_at: datetime | None = None
    acknowledged_by: str | None = None

    @property
    def is_open(self) -> bool:
        return self.resolved_at is None


@dataclass(frozen=True, kw_only=True, slots=True)
class Alert:
    """One alert event about an incident: what notifiers send and replay prints."""

    at: datetime
    brand: str
    incident_id: str
    state: AlertState
    severity: Severity
    crisis_type: str
    resemblance: float
    volume: int
    negative_share: float
    summary: str
    expected_volume: float = 0.0
    baseline_negative_share: float = 0.0
    explanation: tuple[str, ...] = ()
    top_mentions: tuple[Exemplar, ...] = ()
    opened_at: datetime | None = None
    sequence: int = 1
    """Position of this event in its incident (1 = the first alert)."""

    def to_record(self) -> dict[str, Any]:
        """The replay ``--json`` record (DESIGN.md contract), plus context fields."""
        return {
            "at": self.at.isoformat(),
            "brand": self.brand,
            "incident_id": self.incident_id,
            "state": str(self.state),
            "severity": str(self.severity),
            "crisis_type": self.crisis_type,
            "resemblance": round(self.resemblance, 4),
            "volume": self.volume,
            "negative_share": round(self.negative_share, 4),
            "summary": self.summary,
            "opened_at": self.opened_at.isoformat() if self.opened_at else None,
            "sequence": self.sequence,
            "expected_volume": round(self.expected_volume, 2),
            "baseline_negative_share": round(self.baseline_negative_share, 4),
            "explanation": list(self.explanation),
            "top_mentions": [
                {"id": e.mention_id, "published_at": e.published_at.isoformat(), "text": e.text,
                 "negativity": round(e.negativity, 4), "kind": e.kind, "source": e.source, "url": e.url}
                for e in self.top_mentions
            ],
        }

    @classmethod
    def from_record(cls, record: Mapping[str, Any]) -> Alert:
        """Inverse of :meth:`to_record` (the outbox stores alerts as records)."""
        opened_at = record.get("opened_at")
        return cls(
            at=datetime.fromisoformat(record["at"]), brand=record["brand"], incident_id=record["incident_id"],
            state=AlertState(record["state"]), severity=Severity(record["severity"]),
            crisis_type=record["crisis_type"], resemblance=float(record["resemblance"]),
            volume=int(record["volume"]), negative_share=float(record["negative_share"]), summary=record["summary"],
            expected_volume=float(record.get("expected_volume", 0.0)),
            baseline_negative_share=float(record.get("baseline_negative_share", 0.0)),
            explanation=tuple(record.get("explanation", ())),
            top_mentions=tuple(
                Exemplar(brand=record["brand"], mention_id=m["id"],
                         published_at=datetime.fromisoformat(m["published_at"]), text=m["text"],
                         negativity=float(m["negativity"]), kind=m.get("kind"),
                         source=m.get("source"), url=m.get("url"))
                for m in record.get("top_mentions", ())),
            opened_at=datetime.fromisoformat(opened_at) if opened_at else None,
            sequence=int(record.get("sequence", 1)),
        )

"""What a scenario builder returns, and the helpers scenario modules share."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np

from replays.engine import Stream, generate

CRISIS_TYPES = ("product_recall", "service_outage", "accident", "scandal_legal", "data_breach")
HARMLESS_TYPES = ("viral_campaign", "product_launch", "event", "none")

LICENCE_TEMPLATES = ("templates written for crisiswatch (project licence, Apache-2.0); "
                     "names of real companies, places and officials are used descriptively")
LICENCE_SEMEVAL = ("SemEval 2013-2016 Task 4A tweets (Twitter/X terms; DataStories repository MIT for "
                   "code only), brand substituted")
LICENCE_FRENCH = ("DEFT 2017 tweets (CeCILL + Twitter/X terms) and XED French subtitles (CC BY 4.0, "
                  "Öhman et al. 2020), brand substituted")


def utc(text: str) -> datetime:
    """``"2010-01-21T19:00"`` -> aware UTC datetime."""
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def iso(at: datetime) -> str:
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass(frozen=True, kw_only=True)
class Rule:
    """One item of ``expect:`` or ``forbid:`` in expect.yaml."""

    severity: str
    brand: str | None = None
    crisis_type: str | None = None
    start: datetime | None = None
    until: datetime | None = None
    note: str = ""

    def as_yaml_lines(self) -> list[str]:
        pairs: list[tuple[str, str]] = []
        if self.brand:
            pairs.append(("brand", self.brand))
        pairs.append(("severity", self.severity))
        if self.crisis_type:
            pairs.append(("crisis_type", self.crisis_type))
        if self.start:
            pairs.append(("from", iso(self.start)))
        if self.until:
            pairs.append(("until", iso(self.until)))
        lines = [f"  - {pairs[0][0]}: {pairs[0][1]}"] + [f"    {k}: {v}" for k, v in pairs[1:]]
        if self.note:
            lines[0] += f"  # {self.note}"
        return lines


@dataclass(frozen=True, kw_only=True)
class Built:
    """A finished scenario: its labels, mention records, expectations and provenance text."""

    name: str
    description: str
    kind: str  # crisis | harmless
    brand: str
    langs: tuple[str, ...]
    onset: datetime | None
    crisis_type: str
    fast_onset: bool
    data: str  # real | reconstructed | mixed
    licences: tuple[str, ...]
    records: list[dict[str, Any]]
    expect: tuple[Rule, ...] = ()
    forbid: tuple[Rule, ...] = ()
    provenance: str = ""
    extra: dict[str, Any] = field(default_factory=dict)


def draw(streams: Iterable[Stream], rng: np.random.Generator) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for stream in streams:
        out.extend(generate(stream, rng))
    return out


def at_times(times: Sequence[datetime], make: Callable[[datetime, int], dict[str, Any]]) -> list[dict[str, Any]]:
    """Records placed at given times (regulator notices, wire stories at a documented hour)."""
    return [make(t, i) for i, t in enumerate(times)]


def hours(n: float) -> timedelta:
    return timedelta(hours=n)


def days(n: float) -> timedelta:
    return timedelta(days=n)

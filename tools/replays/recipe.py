"""The common recipe of a reconstructed scenario: quiet baselines, then phases of talk, then wires."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import numpy as np

from replays.background import chatter
from replays.engine import Voice
from replays.phases import burst, wire
from replays.scenario import days, draw, hours


@dataclass(frozen=True, kw_only=True)
class Baseline:
    brand: str
    per_day: float
    langs: Mapping[str, float]
    tz: str = "Europe/Paris"


@dataclass(frozen=True, kw_only=True)
class Phase:
    """A burst of ``peak`` mentions an hour from ``start`` (rise and half-life in hours)."""

    start: datetime
    peak: float
    voices: Mapping[str, tuple[Voice, ...]]
    shares: Mapping[str, float]
    rise: float = 1.0
    half_life: float = 8.0
    floor: float = 0.0
    floor_days: float = 2.0
    depth: float = 0.5
    heat: float = 3.0


@dataclass(frozen=True, kw_only=True)
class Wire:
    """A story or notice at a documented time."""

    at: datetime
    source: str
    lang: str
    text: str


def compose(*, seed: int, start: datetime, end: datetime, baselines: Sequence[Baseline],
            phases: Sequence[Phase], wires: Sequence[Wire] = (),
            slots: Mapping[str, Sequence[str]]) -> list[dict[str, Any]]:
    rng = np.random.default_rng(seed)
    records: list[dict[str, Any]] = []
    for b in baselines:
        records.extend(draw(chatter(b.brand, start=start, end=end, per_day=b.per_day, langs=b.langs, tz=b.tz),
                            rng))
    for p in phases:
        records.extend(draw(burst(start=p.start, end=end, peak=p.peak, voices=p.voices, shares=p.shares,
                                  slots=slots, rise=hours(p.rise), half_life=hours(p.half_life), floor=p.floor,
                                  floor_half_life=days(p.floor_days), depth=p.depth, heat=p.heat), rng))
    for w in wires:
        records.append(wire(w.at, source=w.source, text=w.text, lang=w.lang, slots=slots, rng=rng))
    return records

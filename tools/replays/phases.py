"""Incident phases: a burst of talk in two languages with its own rhythm, and dated wire stories."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

import numpy as np

from replays.engine import Stream, Voice, fill, record
from replays.rhythm import pulse, rhythmic
from replays.sources import SOURCES

TZ = {"en": "America/New_York", "fr": "Europe/Paris"}


def burst(*, start: datetime, end: datetime, peak: float, voices: Mapping[str, tuple[Voice, ...]],
          shares: Mapping[str, float], slots: Mapping[str, Sequence[str]], rise: timedelta,
          half_life: timedelta, floor: float = 0.0, floor_half_life: timedelta | None = None,
          tz: Mapping[str, str] | None = None, depth: float = 0.5, heat: float = 3.0) -> tuple[Stream, ...]:
    """One pulse of talk (``peak`` mentions per hour over all languages), split by language.

    ``depth`` keeps some of the daily rhythm (people sleep even during a crisis)."""
    zones = {**TZ, **(tz or {})}
    out = []
    for lang, share in shares.items():
        base = pulse(start, peak=peak * share, rise=rise, half_life=half_life, floor=floor * share,
                     floor_half_life=floor_half_life)
        rate = rhythmic(base, tz=zones[lang], profile="social", depth=depth)
        out.append(Stream(rate=rate, start=start, end=end, voices=voices[lang], slots=slots, heat=heat))
    return tuple(out)


def wire(at: datetime, *, source: str, text: str, lang: str, slots: Mapping[str, Sequence[str]],
         rng: np.random.Generator) -> dict[str, Any]:
    """A story or notice published at a documented time (``"Title || body"`` for news)."""
    filled = fill(text, slots, rng)
    title = None
    if "||" in filled:
        title, body = (p.strip() for p in filled.split("||", 1))
        filled = f"{title}. {body}" if not title.endswith((".", "!", "?")) else f"{title} {body}"
    src = SOURCES[source]
    return record(at=at, text=filled, source=src, lang=lang, rng=rng, title=title, heat=3.0)

"""The incremental cursor shared by collectors: which collected items are new.

A cursor remembers the ids of the items seen lately (``recent``, newest fetch first) and the time of
the newest item seen (``newest``). An item is new when its id is not in ``recent`` and it is not
older than ``LOOKBACK`` before ``newest`` (on the first run: before ``now``), so neither a restart
nor a source re-listing old items floods the pipeline. Times after ``now`` are clamped to ``now``
(a future publication time is certainly wrong; collection time is its best bound).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

from msgspec.structs import replace

from service.collect.base import parse_time
from service.domain import Mention

RECENT_IDS = 2000
"""Item ids remembered (a feed or an API page carries 10 to a few hundred items)."""
LOOKBACK = timedelta(days=7)


def select_new(
    mentions: Sequence[Mention],
    state: Mapping[str, Any],
    *,
    now: datetime,
    also_seen: Iterable[str] = (),
    lookback: timedelta = LOOKBACK,
) -> tuple[list[Mention], dict[str, Any]]:
    """The new ``mentions`` (first occurrence of each id, in order) and the next cursor.

    ``also_seen``: ids present in the payload that produced no mention (to remember, not emit).
    Keys of ``state`` other than ``recent`` and ``newest`` are left to the caller.
    """
    previous = [i for i in state.get("recent") or () if isinstance(i, str)]
    seen = set(previous)
    newest = parse_time(state.get("newest"))
    floor = (newest if newest is not None else now) - lookback
    fresh: list[Mention] = []
    for mention in mentions:
        if mention.id in seen:
            continue
        seen.add(mention.id)
        if mention.published_at > now:
            mention = replace(mention, published_at=now)
        if mention.published_at < floor:
            continue
        fresh.append(mention)
    current = [m.id for m in mentions] + list(also_seen)
    recent = list(dict.fromkeys(current + previous))[: max(RECENT_IDS, len(current))]
    latest = max([m.published_at for m in fresh] + ([newest] if newest is not None else []), default=None)
    cursor: dict[str, Any] = {"recent": recent}
    if latest is not None:
        cursor["newest"] = latest.isoformat()
    return fresh, cursor

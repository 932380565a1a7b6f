"""Syndicated copies: the same article carried by several outlets or feeds.

A news agency dispatch republished by twenty sites is one story, not twenty: the first copy seen
counts as a mention, later copies are marked ``duplicate_of`` the first (the pipeline counts them as
reach, not volume). Copies are recognised by their title with the trailing publisher removed
(``"Peugeot recalls 3008 - Le Monde"`` and ``"Peugeot recalls 3008 | Ouest-France"`` are one), for
titles of at least ``MIN_WORDS`` words, within ``WINDOW``. Mentions already marked (reposts, boosts)
are left as they are. The index is in memory, bounded, and shared by every source of a runner.
"""

from __future__ import annotations

import re
import threading
from collections import OrderedDict
from datetime import datetime, timedelta

from msgspec.structs import replace

from service.domain import Mention

WINDOW = timedelta(hours=48)
MIN_WORDS = 5
MAX_KEYS = 50_000
_PUBLISHER = re.compile(r"\s+[-–—|]\s+[^-–—|]{1,60}$")
_NOT_WORD = re.compile(r"[\W_]+")


def story_key(title: str | None) -> str | None:
    """The comparable form of a title (``None`` when too short to identify a story).

    >>> story_key("Peugeot rappelle 12 000 véhicules pour un défaut - Le Parisien")
    'peugeot rappelle 12 000 véhicules pour un défaut'
    """
    if not title:
        return None
    words = _NOT_WORD.sub(" ", _PUBLISHER.sub("", title).casefold()).split()
    return " ".join(words) if len(words) >= MIN_WORDS else None


class SyndicationIndex:
    """Marks later copies of a story as duplicates of its first copy (thread-safe)."""

    def __init__(self, *, window: timedelta = WINDOW, max_keys: int = MAX_KEYS) -> None:
        self.window = window
        self.max_keys = max_keys
        self._first: OrderedDict[str, tuple[str, datetime]] = OrderedDict()
        self._lock = threading.Lock()

    def mark(self, mentions: list[Mention]) -> list[Mention]:
        marked = []
        with self._lock:
            for mention in mentions:
                key = story_key(mention.title) if mention.duplicate_of is None else None
                if key is None:
                    marked.append(mention)
                    continue
                first = self._first.get(key)
                if first is not None and first[0] != mention.id and \
                        abs(mention.published_at - first[1]) <= self.window:
                    marked.append(replace(mention, duplicate_of=first[0]))
                    continue
                if first is None or first[0] != mention.id:
                    self._first[key] = (mention.id, mention.published_at)
                    self._first.move_to_end(key)
                    while len(self._first) > self.max_keys:
                        self._first.popitem(last=False)
                marked.append(mention)
        return marked

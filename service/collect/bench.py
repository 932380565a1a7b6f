"""``crisiswatch bench collect``: parse throughput per source type, next to the bare parse floor.

Each source type's format sample (``tests/fixtures/feeds``) is scaled up to ``items`` entries with
unique ids, then parsed ``repeat`` times by the collector's parser and by the floor: the bare
``feedparser.parse`` (feeds) or ``json.loads`` (JSON APIs) of the same bytes. The overhead is the
collector's own work (field mapping, HTML stripping, time parsing, ids) relative to that floor.
"""

from __future__ import annotations

import copy
import io
import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import feedparser

from service.collect.apis import parse_x, parse_youtube
from service.collect.bluesky import parse_bluesky
from service.collect.hackernews import parse_hackernews
from service.collect.jsonmap import resolve
from service.collect.mastodon import parse_mastodon
from service.collect.reddit import parse_reddit
from service.collect.regulators import parse_nhtsa_recalls, parse_openfda, parse_rappelconso
from service.collect.rss import parse_feed
from service.domain import Mention, SourceKind

DEFAULT_FIXTURES = Path(__file__).resolve().parents[2] / "tests" / "fixtures" / "feeds"
TARGET_OVERHEAD = 0.25


@dataclass(frozen=True, kw_only=True, slots=True)
class BenchRow:
    source_type: str
    items: int
    mentions_per_second: float
    floor_per_second: float

    @property
    def overhead(self) -> float:
        """Extra time of the collector over the floor, as a fraction of the floor's time."""
        return self.floor_per_second / self.mentions_per_second - 1.0


@dataclass(frozen=True, kw_only=True, slots=True)
class _Case:
    source_type: str
    fixture: str
    parser: Callable[..., list[Mention]]
    items: str = ""
    """Path to the item list (JSON); empty for feeds."""
    key: str = ""
    """Path of the id inside one item, made unique when scaling up."""


CASES = (
    _Case(source_type="rss", fixture="google_news_fr.rss", parser=parse_feed),
    _Case(source_type="nhtsa", fixture="nhtsa_recalls_toyota_camry_2010.json", parser=parse_nhtsa_recalls,
          items="results", key="NHTSACampaignNumber"),
    _Case(source_type="rappelconso", fixture="rappelconso_v2_records.json", parser=parse_rappelconso,
          items="results", key="numero_fiche"),
    _Case(source_type="openfda", fixture="openfda_food_enforcement.json", parser=parse_openfda,
          items="results", key="recall_number"),
    _Case(source_type="reddit", fixture="reddit_search_new.json", parser=parse_reddit, items="data.children",
          key="data.name"),
    _Case(source_type="mastodon", fixture="mastodon_tag_timeline.json", parser=parse_mastodon, key="uri"),
    _Case(source_type="bluesky", fixture="bluesky_search_posts.json", parser=parse_bluesky, items="posts",
          key="uri"),
    _Case(source_type="hackernews", fixture="hackernews_search_by_date.json", parser=parse_hackernews,
          items="hits", key="objectID"),
    _Case(source_type="youtube", fixture="youtube_search_list.json", parser=parse_youtube, items="items",
          key="id.videoId"),
    _Case(source_type="x", fixture="x_recent_search.json", parser=parse_x, items="data", key="id"),
)


def _source(source_type: str) -> Any:
    from service.config import SourceConfig

    return SourceConfig(name="bench", type=source_type, kind=SourceKind.NEWS, interval=timedelta(minutes=5),
                        timeout=timedelta(seconds=10))


def scale_json(payload: Any, items_path: str, key_path: str, count: int) -> Any:
    """``payload`` with its item list grown to ``count`` copies whose ids are all different."""
    payload = copy.deepcopy(payload)
    template = resolve(payload, items_path)
    grown = []
    for index in range(count):
        item = copy.deepcopy(template[index % len(template)])
        *parents, last = key_path.split(".")
        holder = resolve(item, ".".join(parents))
        if isinstance(holder, dict) and last in holder:
            holder[last] = f"{holder[last]}-{index}"
        grown.append(item)
    template[:] = grown
    return payload


def scale_feed(data: bytes, count: int) -> bytes:
    """An RSS document with its ``<item>`` elements repeated to ``count``, guids made unique."""
    text = data.decode("utf-8")
    items = re.findall(r"<item>.*?</item>", text, flags=re.S)
    grown = [re.sub(r"(<guid[^>]*>)", rf"\g<1>{index}-", items[index % len(items)], count=1)
             for index in range(count)]
    start, end = text.index(items[0]), text.rindex(items[-1]) + len(items[-1])
    return (text[:start] + "".join(grown) + text[end:]).encode("utf-8")


def _rate(work: Callable[[], object], count: int, repeat: int, timer: Callable[[], float]) -> float:
    best = float("inf")
    for _ in range(repeat):
        started = timer()
        work()
        best = min(best, timer() - started)
    return count / best if best > 0 else float("inf")


def bench_collect(*, fixtures: Path = DEFAULT_FIXTURES, items: int = 500, repeat: int = 5,
                  timer: Callable[[], float] | None = None) -> list[BenchRow]:
    """Throughput of every parser on scaled format samples, best of ``repeat`` runs."""
    if timer is None:
        from service.clock import SystemClock

        timer = SystemClock().monotonic
    rows = []
    for case in CASES:
        raw = (fixtures / case.fixture).read_bytes()
        source = _source(case.source_type)
        if case.source_type == "rss":
            data = scale_feed(raw, items)

            def floor(data: bytes = data) -> object:
                return feedparser.parse(io.BytesIO(data), sanitize_html=False, resolve_relative_uris=False)
        else:
            data = json.dumps(scale_json(json.loads(raw), case.items, case.key, items)).encode()

            def floor(data: bytes = data) -> object:
                return json.loads(data)

        produced = len(case.parser(data, source=source))

        def parse(data: bytes = data, case: _Case = case, source: Any = source) -> object:
            return case.parser(data, source=source)

        rows.append(BenchRow(source_type=case.source_type, items=produced,
                             mentions_per_second=_rate(parse, produced, repeat, timer),
                             floor_per_second=_rate(floor, produced, repeat, timer)))
    return rows


def format_rows(rows: list[BenchRow]) -> list[str]:
    """Table lines, then one figure per line (``collect_<type>_mentions_per_second`` ...)."""
    lines = [f"{'type':<12} {'items':>6} {'mentions/s':>12} {'floor/s':>12} {'overhead':>9}"]
    for row in rows:
        mark = "" if row.overhead <= TARGET_OVERHEAD else "  (above the 25 % target)"
        lines.append(f"{row.source_type:<12} {row.items:>6} {row.mentions_per_second:>12,.0f} "
                     f"{row.floor_per_second:>12,.0f} {row.overhead:>8.0%}{mark}")
    for row in rows:
        lines.append(f"collect_{row.source_type}_mentions_per_second {row.mentions_per_second:.0f}")
        lines.append(f"collect_{row.source_type}_overhead {row.overhead:.3f}")
    return lines


def cli_bench_collect(args: Any) -> int:
    """``crisiswatch bench collect [--items N] [--repeat N]``: the table, then one figure per line."""
    for line in format_rows(bench_collect(items=args.items, repeat=args.repeat)):
        print(line)
    return 0

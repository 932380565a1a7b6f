"""``crisiswatch bench collect``: parse throughput per source type, next to the bare parse floor.

Each source type's sample is scaled up to ``items`` entries with unique ids, then parsed ``repeat``
times by the collector's parser and by the floor: the bare ``feedparser.parse`` (feeds) or
``json.loads`` (JSON APIs) of the same bytes. The overhead is the collector's own work (field
mapping, HTML stripping, time parsing, ids) relative to that floor.

Two sample sets are measured, each row named after its set:

- ``format`` (rows ``collect_<type>_...``): the trimmed format samples of ``tests/fixtures/feeds``,
  which carry little more than the fields the parsers read. The floor then parses almost nothing
  the parser skips, so this is the pessimistic case: the overhead the collector would show if the
  APIs sent nothing else.
- ``full`` (rows ``collect_full_<type>_...``): the full-shape samples of
  ``tests/fixtures/feeds/full``, with every field the real endpoint returns for our request (a
  Mastodon status's whole account, card and mentions, a Reddit child's ~100 fields, Algolia's
  ``_highlightResult``, RappelConso's ~37 fields ...) at realistic sizes: what real traffic
  costs. Their JSON is scaled and written back as UTF-8 (not ``\\u`` escapes), as the APIs send it,
  and X's ``includes.users`` grows with the posts (a real page names about one author per post);
  the feeds are Google News (RSS 2.0, ``rss``), a YouTube channel (Atom, ``atom``) and Slashdot
  (RSS 1.0, ``rdf``).

Both sets are printed in one table by default (``--items``/``--repeat`` apply to both);
``--set trimmed`` or ``--set full`` measures one set only (:func:`bench_collect`'s ``samples``).

JSON rows print three floors, each with the overhead against it: ``json.loads`` (the standard
library: what the target is stated against), ``orjson.loads`` (what the lenient path,
:func:`service.collect.base.load_json`, decodes with) and msgspec's untyped
``msgspec.json.decode``. Every JSON parser decodes typed (:mod:`service.collect.typed`, and
:mod:`service.collect.jsonpaths` for the ``json`` type's mapping: only the fields they read,
straight into Structs), which is faster than any untyped floor; their time includes that decode.
The scaled items are copies of a few samples, so values repeat across them: parsers remember per
payload only values that may repeat in real responses too: the regulators' days (NHTSA, openFDA),
RappelConso publication times (sheets published together share one), the NHTSA manufacturer names
and vehicles, and the NHTSA complaints' component lists and severity flags (a response is about one
model year, and most complaints have no crash, fire, injury or death); never free text.
"""

from __future__ import annotations

import copy
import io
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import timedelta
from pathlib import Path
from typing import Any

import feedparser
import msgspec
import orjson

from service.collect.apis import parse_x, parse_youtube
from service.collect.bluesky import parse_bluesky
from service.collect.complaints import parse_nhtsa_complaints
from service.collect.hackernews import parse_hackernews
from service.collect.jsonmap import parse_mapped, resolve
from service.collect.mastodon import parse_mastodon
from service.collect.reddit import parse_reddit
from service.collect.regulators import parse_nhtsa_recalls, parse_openfda, parse_rappelconso
from service.collect.rss import parse_feed
from service.domain import Mention, SourceKind

DEFAULT_FIXTURES = Path(__file__).resolve().parents[2] / "tests" / "fixtures" / "feeds"
TARGET_OVERHEAD = 0.25
SAMPLE_SETS = ("format", "full")
"""The sample sets measured, in the order they are printed (see the module docstring)."""


@dataclass(frozen=True, kw_only=True, slots=True)
class BenchRow:
    source_type: str
    items: int
    mentions_per_second: float
    floor_per_second: float
    """The standard floor: ``feedparser.parse`` for feeds, ``json.loads`` for JSON APIs."""
    fast_floor_per_second: float | None = None
    """``orjson.loads`` of the same bytes (JSON APIs, when orjson is installed)."""
    msgspec_floor_per_second: float | None = None
    """``msgspec.json.decode`` (untyped) of the same bytes (JSON APIs)."""
    samples: str = "format"
    """The sample set measured: ``format`` (trimmed format samples) or ``full`` (full-shape samples)."""
    variant: str = ""
    """The sample's name when it is not the type's (``rdf``: an RSS 1.0 feed of type ``rss``)."""

    @property
    def name(self) -> str:
        """The row's name in the figures: ``<type>`` for format samples, ``full_<type>`` for full-shape ones."""
        base = self.variant or self.source_type
        return base if self.samples == "format" else f"{self.samples}_{base}"

    @property
    def overhead(self) -> float:
        """Extra time of the collector over the floor, as a fraction of the floor's time."""
        return self.floor_per_second / self.mentions_per_second - 1.0

    @property
    def fast_overhead(self) -> float | None:
        """Extra time of the collector over the orjson floor (``None`` without one)."""
        if self.fast_floor_per_second is None:
            return None
        return self.fast_floor_per_second / self.mentions_per_second - 1.0

    @property
    def msgspec_overhead(self) -> float | None:
        """Extra time of the collector over the untyped msgspec floor (``None`` without one)."""
        if self.msgspec_floor_per_second is None:
            return None
        return self.msgspec_floor_per_second / self.mentions_per_second - 1.0


@dataclass(frozen=True, kw_only=True, slots=True)
class _Case:
    source_type: str
    fixture: str
    parser: Callable[..., list[Mention]]
    items: str = ""
    """Path to the item list (JSON); empty for feeds."""
    key: str = ""
    """Path of the id inside one item, made unique when scaling up."""
    options: tuple[tuple[str, Any], ...] = ()
    """Source options the parser needs (the ``json`` type's mapping)."""
    variant: str = ""
    """Names the sample when the type has several (see :attr:`BenchRow.variant`)."""
    alongside: tuple[tuple[str, str], ...] = ()
    """Other lists grown with the items, as (list path, id path): X's ``includes.users``, since a
    real page names about one author per post."""


CASES = (
    _Case(source_type="rss", fixture="google_news_fr.rss", parser=parse_feed),
    _Case(source_type="nhtsa", fixture="nhtsa_recalls_toyota_camry_2010.json", parser=parse_nhtsa_recalls,
          items="results", key="NHTSACampaignNumber"),
    _Case(source_type="nhtsa_complaints", fixture="nhtsa_complaints_honda_crv_2019.json",
          parser=parse_nhtsa_complaints, items="results", key="odiNumber"),
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
    _Case(source_type="json", fixture="zendesk_search_page1.json", parser=parse_mapped, items="results", key="id",
          options=(("url", "https://support.example.com/api/v2/search.json"), ("items", "results"),
                   ("fields", {"id": "id", "text": ["subject", "description"], "time": "created_at",
                               "url": "url", "title": "subject"}))),
)
"""The format samples, one per source type."""

FULL_CASES = (
    _Case(source_type="rss", fixture="full/google_news_fr.rss", parser=parse_feed),
    _Case(source_type="atom", fixture="full/youtube_channel.atom", parser=parse_feed),
    _Case(source_type="rss", fixture="full/slashdot.rdf", parser=parse_feed, variant="rdf"),
    *(replace(case, fixture=f"full/{case.fixture}",
              alongside=(("includes.users", "id"),) if case.source_type == "x" else ())
      for case in CASES if case.source_type != "rss"),
)
"""The full-shape samples: the same JSON sources as :data:`CASES`, and three feed formats."""


def _source(source_type: str, options: tuple[tuple[str, Any], ...] = ()) -> Any:
    from service.config import SourceConfig

    return SourceConfig(name="bench", type=source_type, kind=SourceKind.NEWS, interval=timedelta(minutes=5),
                        timeout=timedelta(seconds=10), options=dict(options))


def scale_json(payload: Any, items_path: str, key_path: str, count: int) -> Any:
    """``payload`` with its item list grown to ``count`` copies whose ids are all different: the
    first round keeps the sample's ids (what other parts of the payload refer to, such as X's
    ``author_id``), later copies get ``-<n>`` appended."""
    payload = copy.deepcopy(payload)
    template = resolve(payload, items_path)
    grown = []
    for index in range(count):
        item = copy.deepcopy(template[index % len(template)])
        *parents, last = key_path.split(".")
        holder = resolve(item, ".".join(parents))
        if index >= len(template) and isinstance(holder, dict) and last in holder:
            holder[last] = f"{holder[last]}-{index}"
        grown.append(item)
    template[:] = grown
    return payload


_FEED_ITEM = re.compile(rb"<item[\s>].*?</item>|<entry>.*?</entry>", re.S)
_FEED_ID = re.compile(rb'(<guid[^>]*>|<id>|rdf:about=")')


def scale_feed(data: bytes, count: int) -> bytes:
    """A feed with its entries (``<item>``, Atom ``<entry>``) repeated to ``count``, each copy's id
    made unique: its ``<guid>``, Atom ``<id>`` or RSS 1.0 ``rdf:about``, whichever comes first. Works
    on the bytes, so any ASCII-compatible encoding (Slashdot's ISO-8859-1) stays as it is."""
    items = _FEED_ITEM.findall(data)
    grown = [_FEED_ID.sub(rb"\g<1>%d-" % index, items[index % len(items)], count=1) for index in range(count)]
    start, end = data.index(items[0]), data.rindex(items[-1]) + len(items[-1])
    return data[:start] + b"".join(grown) + data[end:]


def _rates(works: list[Callable[[], object]], count: int, repeat: int,
           timer: Callable[[], float]) -> list[float]:
    """Items per second of each of ``works``, best of ``repeat`` runs. The runs are interleaved
    (one of each per round), so that a busy machine slows the parser and its floors alike."""
    best = [float("inf")] * len(works)
    for _ in range(repeat):
        for index, work in enumerate(works):
            started = timer()
            work()
            best[index] = min(best[index], timer() - started)
    return [count / seconds if seconds > 0 else float("inf") for seconds in best]


def bench_collect(*, fixtures: Path = DEFAULT_FIXTURES, items: int = 500, repeat: int = 5,
                  samples: tuple[str, ...] = SAMPLE_SETS, timer: Callable[[], float] | None = None) -> list[BenchRow]:
    """Throughput of every parser on each of the ``samples`` sets scaled up, best of ``repeat``
    interleaved runs."""
    if timer is None:
        from service.clock import SystemClock

        timer = SystemClock().monotonic
    cases = {"format": CASES, "full": FULL_CASES}
    return [_bench_case(case, fixtures, items, repeat, timer, sample_set) for sample_set in samples
            for case in cases[sample_set]]


def _bench_case(case: _Case, fixtures: Path, items: int, repeat: int, timer: Callable[[], float],
                sample_set: str) -> BenchRow:
    raw = (fixtures / case.fixture).read_bytes()
    source = _source(case.source_type, case.options)
    fast_floors: list[Callable[[], object]] = []
    if case.parser is parse_feed:
        data = scale_feed(raw, items)

        def floor(data: bytes = data) -> object:
            return feedparser.parse(io.BytesIO(data), sanitize_html=False, resolve_relative_uris=False)
    else:
        scaled = scale_json(json.loads(raw), case.items, case.key, items)
        for path, key in case.alongside:
            scaled = scale_json(scaled, path, key, items)
        data = json.dumps(scaled, ensure_ascii=sample_set == "format").encode()

        def floor(data: bytes = data) -> object:
            return json.loads(data)

        def orjson_floor(data: bytes = data) -> object:
            return orjson.loads(data)

        def msgspec_floor(data: bytes = data) -> object:
            return msgspec.json.decode(data)

        fast_floors = [orjson_floor, msgspec_floor]

    produced = len(case.parser(data, source=source))

    def parse(data: bytes = data) -> object:
        return case.parser(data, source=source)

    rates = _rates([parse, floor, *fast_floors], produced, repeat, timer)
    return BenchRow(source_type=case.source_type, items=produced, mentions_per_second=rates[0],
                    floor_per_second=rates[1], fast_floor_per_second=rates[2] if len(rates) > 2 else None,
                    msgspec_floor_per_second=rates[3] if len(rates) > 3 else None, samples=sample_set,
                    variant=case.variant)


def format_rows(rows: list[BenchRow]) -> list[str]:
    """Table lines, then one figure per line (``collect_<name>_mentions_per_second`` ...), where
    ``<name>`` is :attr:`BenchRow.name`: ``rss``, ``json`` ... for the format samples,
    ``full_rss``, ``full_json`` ... for the full-shape ones.

    ``floor/s`` is ``feedparser.parse`` (feeds) or ``json.loads``; ``orjson/s`` and ``msgspec/s`` the
    other untyped JSON floors (``-`` where there is none). The target mark refers to the
    ``json.loads`` floor.
    """
    lines = [f"{'type':<22} {'items':>6} {'mentions/s':>12} {'floor/s':>12} {'overhead':>9} "
             f"{'orjson/s':>12} {'overhead':>9} {'msgspec/s':>12} {'overhead':>9}"]
    for row in rows:
        mark = "" if row.overhead <= TARGET_OVERHEAD else "  (above the 25 % target)"
        floors = "".join(_floor(rate, overhead) for rate, overhead in (
            (row.fast_floor_per_second, row.fast_overhead), (row.msgspec_floor_per_second, row.msgspec_overhead)))
        lines.append(f"{row.name:<22} {row.items:>6} {row.mentions_per_second:>12,.0f} "
                     f"{row.floor_per_second:>12,.0f} {row.overhead:>8.0%}{floors}{mark}")
    for row in rows:
        lines.append(f"collect_{row.name}_mentions_per_second {row.mentions_per_second:.0f}")
        lines.append(f"collect_{row.name}_overhead {row.overhead:.3f}")
        if row.fast_overhead is not None:
            lines.append(f"collect_{row.name}_overhead_vs_orjson {row.fast_overhead:.3f}")
        if row.msgspec_overhead is not None:
            lines.append(f"collect_{row.name}_overhead_vs_msgspec {row.msgspec_overhead:.3f}")
    return lines


def _floor(rate: float | None, overhead: float | None) -> str:
    if rate is None or overhead is None:
        return f" {'-':>12} {'-':>9}"
    return f" {rate:>12,.0f} {overhead:>8.0%}"


CLI_SETS: dict[str, tuple[str, ...]] = {"trimmed": ("format",), "full": ("full",), "both": SAMPLE_SETS}
"""What ``--set`` names: the trimmed format samples, the full-shape ones, or both (the default)."""


def cli_bench_collect(args: Any) -> int:
    """``crisiswatch bench collect [--items N] [--repeat N] [--set trimmed|full|both]``: the table of
    the chosen sample sets (format samples first, then full-shape ones), then one figure per line."""
    samples = CLI_SETS[getattr(args, "sample_set", "both")]
    for line in format_rows(bench_collect(items=args.items, repeat=args.repeat, samples=samples)):
        print(line)
    return 0

"""The collect benchmark runs every source type on scaled format samples and prints its figures."""

from __future__ import annotations

import itertools

from service.collect.bench import CASES, bench_collect, format_rows, scale_feed
from service.collect.registry import known_types


def test_bench_covers_every_http_source_type_and_prints_figures() -> None:
    ticks = itertools.count()
    rows = bench_collect(items=20, repeat=1, timer=lambda: float(next(ticks)))
    assert [row.source_type for row in rows] == [case.source_type for case in CASES]
    assert set(known_types()) - {row.source_type for row in rows} == {"atom", "json", "jsonl"}
    for row in rows:
        assert row.items >= 10, row  # scaled copies get unique ids, so they are distinct mentions
        assert row.mentions_per_second == row.items and row.overhead == 0.0  # one tick per timed run
    lines = format_rows(rows)
    assert lines[0].split() == ["type", "items", "mentions/s", "floor/s", "overhead"]
    assert lines[-1] == f"collect_x_overhead {0.0:.3f}"


def test_scale_feed_makes_unique_guids() -> None:
    feed = (b"<rss><channel><item><guid>a</guid><title>x</title></item>"
            b"<item><guid>b</guid><title>y</title></item></channel></rss>")
    scaled = scale_feed(feed, 5).decode()
    assert scaled.count("<item>") == 5 and "<guid>4-a</guid>" in scaled and scaled.endswith("</channel></rss>")

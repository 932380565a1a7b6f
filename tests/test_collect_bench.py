"""The collect benchmark runs every source type on scaled format samples and prints its figures."""

from __future__ import annotations

import itertools

from service.collect.bench import CASES, BenchRow, bench_collect, format_rows, scale_feed
from service.collect.registry import known_types


def test_bench_covers_every_http_source_type_and_prints_figures() -> None:
    ticks = itertools.count()
    rows = bench_collect(items=20, repeat=1, timer=lambda: float(next(ticks)))
    assert [row.source_type for row in rows] == [case.source_type for case in CASES]
    assert set(known_types()) - {row.source_type for row in rows} == {"atom", "jsonl"}  # atom: as rss
    for row in rows:
        assert row.items >= 10, row  # scaled copies get unique ids, so they are distinct mentions
        assert row.mentions_per_second == row.items and row.overhead == 0.0  # one tick per timed run
    assert rows[0].fast_floor_per_second is None  # rss: feedparser is the only floor
    assert all(row.fast_floor_per_second == row.items and row.fast_overhead == 0.0 for row in rows[1:])
    assert all(row.msgspec_floor_per_second == row.items and row.msgspec_overhead == 0.0 for row in rows[1:])
    lines = format_rows(rows)
    assert lines[0].split() == ["type", "items", "mentions/s", "floor/s", "overhead", "orjson/s", "overhead",
                                "msgspec/s", "overhead"]
    assert lines[1].split()[-4:] == ["-", "-", "-", "-"]
    assert f"collect_rss_overhead {0.0:.3f}" in lines and "collect_rss_overhead_vs_orjson" not in "\n".join(lines)
    assert lines[-3:] == [f"collect_json_overhead {0.0:.3f}", f"collect_json_overhead_vs_orjson {0.0:.3f}",
                          f"collect_json_overhead_vs_msgspec {0.0:.3f}"]


def test_overheads_are_measured_against_each_floor() -> None:
    row = BenchRow(source_type="x", items=100, mentions_per_second=80.0, floor_per_second=100.0,
                   fast_floor_per_second=200.0, msgspec_floor_per_second=160.0)
    assert row.overhead == 0.25 and row.fast_overhead == 1.5 and row.msgspec_overhead == 1.0
    line = format_rows([row])[1]
    assert line.split()[4:] == ["25%", "200", "150%", "160", "100%"]  # within the target against json.loads only


def test_scale_feed_makes_unique_guids() -> None:
    feed = (b"<rss><channel><item><guid>a</guid><title>x</title></item>"
            b"<item><guid>b</guid><title>y</title></item></channel></rss>")
    scaled = scale_feed(feed, 5).decode()
    assert scaled.count("<item>") == 5 and "<guid>4-a</guid>" in scaled and scaled.endswith("</channel></rss>")

"""The collect benchmark runs every source type on scaled format samples and on full-shape samples,
and prints its figures."""

from __future__ import annotations

import itertools
import json
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest

from service.collect.apis import parse_x
from service.collect.bench import (
    CASES,
    CLI_SETS,
    DEFAULT_FIXTURES,
    FULL_CASES,
    SAMPLE_SETS,
    BenchRow,
    bench_collect,
    format_rows,
    scale_feed,
    scale_json,
)
from service.collect.registry import known_types
from service.collect.rss import parse_feed
from service.config import SourceConfig
from service.domain import SourceKind

ROOT = Path(__file__).resolve().parents[1]


def test_bench_covers_every_http_source_type_and_prints_figures() -> None:
    ticks = itertools.count()
    rows = bench_collect(items=20, repeat=1, samples=("format",), timer=lambda: float(next(ticks)))
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


def test_full_shape_set_covers_every_type_and_three_feed_formats() -> None:
    ticks = itertools.count()
    rows = bench_collect(items=20, repeat=1, timer=lambda: float(next(ticks)))
    assert [row.samples for row in rows] == ["format"] * len(CASES) + ["full"] * len(FULL_CASES)
    full = rows[len(CASES):]
    assert [row.name for row in full] == ["full_rss", "full_atom", "full_rdf"] + [
        f"full_{case.source_type}" for case in CASES[1:]]
    assert {row.source_type for row in full} == {row.source_type for row in rows[:len(CASES)]} | {"atom"}
    assert all(row.items == 20 for row in full), full  # every full-shape sample scales to distinct mentions
    assert [row.fast_floor_per_second is None for row in full[:4]] == [True, True, True, False]
    lines = format_rows(rows)
    assert [line.split()[0] for line in lines[1:len(rows) + 1]] == [row.name for row in rows]
    assert f"collect_full_rdf_overhead {0.0:.3f}" in lines and f"collect_rss_overhead {0.0:.3f}" in lines
    assert lines[-1] == f"collect_full_json_overhead_vs_msgspec {0.0:.3f}"
    only_full = bench_collect(items=5, repeat=1, samples=("full",), timer=lambda: float(next(ticks)))
    assert [row.name for row in only_full] == [row.name for row in full]


def test_full_shape_samples_are_bigger_than_the_format_samples() -> None:
    """The point of the full set: per item, real payloads carry much more than the parsers read."""
    for case in FULL_CASES[3:]:
        trimmed = next(other for other in CASES if other.source_type == case.source_type)
        full_size = (DEFAULT_FIXTURES / case.fixture).stat().st_size
        assert full_size > (DEFAULT_FIXTURES / trimmed.fixture).stat().st_size, case.fixture


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


def test_scale_feed_makes_atom_and_rdf_ids_unique_and_keeps_the_encoding() -> None:
    atom = (b'<feed xmlns="http://www.w3.org/2005/Atom"><entry><id>yt:video:a</id><title>x</title>'
            b'<link href="https://y/a"/><updated>2026-11-26T08:00:00Z</updated></entry></feed>')
    scaled = scale_feed(atom, 3)
    assert scaled.count(b"<entry>") == 3 and b"<id>2-yt:video:a</id>" in scaled
    rdf = ('<?xml version="1.0" encoding="ISO-8859-1"?>'
           '<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" xmlns="http://purl.org/rss/1.0/"><channel rdf:about="https://s/"><title>S</title><items><rdf:Seq>'
           '<rdf:li rdf:resource="https://s/1"/></rdf:Seq></items></channel><item rdf:about="https://s/1">'
           '<title>caf\u00e9</title><link>https://s/1</link></item></rdf:RDF>').encode("iso-8859-1")
    scaled = scale_feed(rdf, 4)
    assert scaled.count(b"<item ") == 4 and b'<item rdf:about="3-https://s/1">' in scaled
    assert b"<items>" in scaled and "café".encode("iso-8859-1") in scaled


def test_scaled_full_feeds_parse_to_distinct_mentions() -> None:
    source = SourceConfig(name="bench", type="rss", kind=SourceKind.NEWS, interval=timedelta(minutes=5),
                          timeout=timedelta(seconds=10), options={"url": "https://feed.example"})
    for case in FULL_CASES[:3]:
        mentions = parse_feed(scale_feed((DEFAULT_FIXTURES / case.fixture).read_bytes(), 30), source=source)
        assert len({mention.id for mention in mentions}) == 30, case.fixture


def test_full_x_grows_its_users_with_the_posts() -> None:
    case = next(case for case in FULL_CASES if case.source_type == "x")
    payload = json.loads((DEFAULT_FIXTURES / case.fixture).read_bytes())
    for path, key in ((case.items, case.key), *case.alongside):
        payload = scale_json(payload, path, key, 40)
    assert len({user["id"] for user in payload["includes"]["users"]}) == 40
    source = SourceConfig(name="bench", type="x", kind=SourceKind.SOCIAL, interval=timedelta(minutes=5),
                          timeout=timedelta(seconds=10), options={"query": "peugeot", "token": "t"})
    mentions = parse_x(json.dumps(payload).encode(), source=source)
    assert len(mentions) == 40 and all(mention.author is not None for mention in mentions)  # authors still resolve


def _crisiswatch(*args: str) -> subprocess.CompletedProcess[str]:
    """The CLI in a process of its own (it sets up logging for the whole process)."""
    return subprocess.run([sys.executable, "-m", "service.cli", *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=120)


def _table_names(output: str) -> list[str]:
    """The row names of the printed table (the lines between the header and the figures)."""
    lines = output.splitlines()
    assert lines[0].split()[:2] == ["type", "items"], output
    return [line.split()[0] for line in lines[1:] if not line.startswith("collect_")]


@pytest.mark.parametrize(("choice", "sets"), [("trimmed", ("format",)), ("full", ("full",)),
                                              (None, ("format", "full"))])
def test_cli_set_chooses_the_sample_sets(choice: str | None, sets: tuple[str, ...]) -> None:
    chosen = ["--set", choice] if choice else []
    run = _crisiswatch("bench", "collect", "--items", "2", "--repeat", "1", *chosen)
    assert run.returncode == 0, run.stderr
    expected = [BenchRow(source_type=case.source_type, items=0, mentions_per_second=1.0, floor_per_second=1.0,
                         samples=name, variant=case.variant).name
                for name in sets for case in {"format": CASES, "full": FULL_CASES}[name]]
    assert _table_names(run.stdout) == expected
    figures = [line.split()[0] for line in run.stdout.splitlines() if line.startswith("collect_")]
    assert any(figure.startswith("collect_full_") for figure in figures) == ("full" in sets)
    assert any(not figure.startswith("collect_full_") for figure in figures) == ("format" in sets)


def test_cli_set_both_is_the_default_and_another_name_is_refused() -> None:
    assert CLI_SETS["both"] == ("format", "full") == SAMPLE_SETS
    run = _crisiswatch("bench", "collect", "--set", "format")
    assert run.returncode == 2 and "invalid choice: 'format'" in run.stderr and "Traceback" not in run.stderr

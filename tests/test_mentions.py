"""The mention JSON Lines reader: the contract, line-numbered errors, bad lines skipped, .gz."""

from __future__ import annotations

import gzip
import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from service.domain import SourceKind
from service.mentions import ReadReport, RecordError, mention_from_record, read_mentions

GOOD = {"id": "m1", "published_at": "2010-01-21T18:05:00+01:00", "text": "Toyota recall", "kind": "news",
        "source": "reuters", "lang": "EN", "reach": 1200, "engagement": 3, "url": "https://example.org/a"}


def test_good_record_is_normalised() -> None:
    mention = mention_from_record(GOOD)
    assert mention.published_at == datetime(2010, 1, 21, 17, 5, tzinfo=UTC)
    assert mention.kind is SourceKind.NEWS and mention.lang == "en" and mention.reach == 1200.0


@pytest.mark.parametrize(("change", "message"), [
    ({"id": ""}, "id: required non-empty string"),
    ({"id": None}, "id: required non-empty string"),
    ({"text": 5}, "text: required string"),
    ({"published_at": "2010-01-21T18:05:00"},
     "published_at: '2010-01-21T18:05:00' has no UTC offset (add Z or +01:00)"),
    ({"published_at": "yesterday"}, "published_at: not an ISO 8601 time: 'yesterday'"),
    ({"published_at": "2010-02-30T00:00:00Z"}, "published_at: not an ISO 8601 time: '2010-02-30T00:00:00Z'"),
    ({"kind": "tv"}, "kind: 'tv' is not one of news, social, blog, forum, video, review, support, regulator"),
    ({"reach": -1}, "reach: expected a number >= 0, got -1"),
    ({"reach": "many"}, "reach: expected a number >= 0, got 'many'"),
    ({"author": 42}, "author: expected a string, got int"),
    ({"brand": "acme\n12:00 INFO forged"}, "brand: expected a name of at most 100 printable characters on one line"),
    ({"brand": "acme\x1b[2J"}, "brand: expected a name of at most 100 printable characters on one line"),
    ({"brand": "b" * 101}, "brand: expected a name of at most 100 printable characters on one line"),
    ({"lang": "english"}, "lang: expected a language code such as fr or en-US, got 'english'"),
])
def test_contract_violations(change: dict, message: str) -> None:
    with pytest.raises(RecordError) as caught:
        mention_from_record({**GOOD, **change})
    assert str(caught.value) == message


def test_missing_time() -> None:
    record = dict(GOOD)
    del record["published_at"]
    with pytest.raises(RecordError, match="published_at: required"):
        mention_from_record(record)


def test_nul_bytes_and_control_characters_are_removed() -> None:
    mention = mention_from_record({**GOOD, "text": "brake\x00 fail\x07ure\ttab"})
    assert mention.text == "brake failure\ttab"


def write_lines(path: Path, lines: list[str]) -> None:
    data = ("\n".join(lines) + "\n").encode()
    path.write_bytes(gzip.compress(data) if path.suffix == ".gz" else data)


@pytest.mark.parametrize("name", ["mentions.jsonl", "mentions.jsonl.gz"])
def test_bad_lines_are_reported_with_their_number_and_skipped(tmp_path: Path, name: str) -> None:
    path = tmp_path / name
    write_lines(path, [json.dumps(GOOD), "{not json", "", json.dumps([1, 2]),
                       json.dumps({**GOOD, "id": "m2"}), json.dumps({**GOOD, "id": "m3", "kind": "tv"})])
    report = ReadReport(str(path))
    ids = [m.id for m in read_mentions(path, report)]
    assert ids == ["m1", "m2"]
    assert report.read == 2 and report.skipped == 3
    assert report.errors[0] == f"{path}:2: invalid JSON: Expecting property name enclosed in double quotes at column 2"
    assert report.errors[1] == f"{path}:4: expected a JSON object, got list"
    assert report.errors[2].startswith(f"{path}:6: kind: 'tv' is not one of")


def test_truncated_gzip_is_reported_not_raised(tmp_path: Path) -> None:
    path = tmp_path / "cut.jsonl.gz"
    data = gzip.compress(("\n".join(json.dumps({**GOOD, "id": f"m{i}"}) for i in range(500)) + "\n").encode())
    path.write_bytes(data[: len(data) // 2])
    report = ReadReport(str(path))
    mentions = list(read_mentions(path, report))
    assert 0 < len(mentions) < 500
    assert report.skipped >= 1 and "truncated or corrupt" in report.errors[-1]


def test_a_line_with_a_huge_integer_or_deep_nesting_is_skipped_not_fatal(tmp_path: Path) -> None:
    path = tmp_path / "mentions.jsonl"
    write_lines(path, [json.dumps({**GOOD, "id": "m0"}), '{"id": "x", "reach": ' + "9" * 5000 + "}",
                       "[" * 100_000 + "]" * 100_000, json.dumps({**GOOD, "id": "m3"})])
    report = ReadReport(str(path))
    assert [m.id for m in read_mentions(path, report)] == ["m0", "m3"]
    assert report.errors == [f"{path}:2: invalid JSON: an integer with more than 4300 digits",
                             f"{path}:3: invalid JSON: arrays or objects nested too deeply"]

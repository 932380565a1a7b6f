"""The mention JSON Lines reader: the contract, line-numbered errors, bad lines skipped, .gz."""

from __future__ import annotations

import gzip
import json
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from service.domain import Mention, SourceKind
from service.mentions import EARLIEST, LATEST, ReadReport, RecordError, mention_from_record, read_mentions

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


def test_a_source_name_is_cut_to_a_name_s_length() -> None:
    """A source is counted in every bucket it appears in: a pushed 50,000-character name would be
    stored again in each one."""
    assert mention_from_record({**GOOD, "source": "s" * 50_000}).source == "s" * 200


def test_unpaired_surrogates_are_replaced_in_text_and_refused_in_an_id() -> None:
    mention = mention_from_record({**GOOD, "text": "recall \ud83d", "author": "a\udc00b", "source": "\ud800x"})
    assert (mention.text, mention.author, mention.source) == ("recall \ufffd", "a\ufffdb", "\ufffdx")
    with pytest.raises(RecordError, match="id: holds an unpaired UTF-16 surrogate"):
        mention_from_record({**GOOD, "id": "m\udfff"})
    with pytest.raises(RecordError, match="brand: expected a name"):
        mention_from_record({**GOOD, "brand": "acme\ud800"})


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


OUT_OF_RANGE = "is out of range (expected from 1970-01-01 to before 3000-01-01 UTC)"


@pytest.mark.parametrize("value", [
    "9999-12-31T23:59:59-23:59",  # valid ISO 8601; converting it to UTC overflows past year 9999
    "9999-12-31T23:59:59.999999-00:00:01",
    "0001-01-01T00:00:00+01:00",  # underflows before year 1
    "0001-01-01T00:00:00+23:59:59.999999",
    "9999-12-31T23:59:59Z",  # converts, but the pipeline's bucket arithmetic would overflow
    "0001-01-01T00:00:00Z",
    "1969-12-31T23:59:59.999999Z",
    "1970-01-01T00:30:00+01:00",  # 1969-12-31T23:30Z once in UTC
    "3000-01-01T00:00:00Z",
    "2999-12-31T23:00:00-01:00",  # 3000-01-01T00:00Z once in UTC
])
def test_a_time_outside_the_range_is_a_record_error_naming_the_field(value: str) -> None:
    with pytest.raises(RecordError) as caught:
        mention_from_record({**GOOD, "published_at": value})
    assert str(caught.value) == f"published_at: {value!r} {OUT_OF_RANGE}"


@pytest.mark.parametrize(("value", "expected"), [
    ("1970-01-01T00:00:00Z", EARLIEST),
    ("1970-01-01T01:00:00+01:00", EARLIEST),
    ("2999-12-31T23:59:59.999999+00:00", LATEST - timedelta(microseconds=1)),
    ("3000-01-01T00:59:59+01:00", LATEST - timedelta(seconds=1)),
])
def test_the_ends_of_the_range_are_accepted(value: str, expected: datetime) -> None:
    assert mention_from_record({**GOOD, "published_at": value}).published_at == expected


@pytest.mark.parametrize(("change", "message"), [
    ({"reach": 10**400}, "reach: expected a finite number >= 0, got an integer of 401 digits"),
    ({"engagement": 2**1024}, "engagement: expected a finite number >= 0, got an integer of 309 digits"),
    ({"reach": float("inf")}, "reach: expected a finite number >= 0, got inf"),
    ({"reach": float("nan")}, "reach: expected a finite number >= 0, got nan"),
    ({"reach": -(10**400)}, "reach: expected a number >= 0, got an integer of 401 digits"),
])
def test_numbers_that_do_not_convert_to_a_float_are_record_errors(change: dict, message: str) -> None:
    with pytest.raises(RecordError) as caught:
        mention_from_record({**GOOD, **change})
    assert str(caught.value) == message


def test_an_out_of_range_time_skips_its_line_and_the_file_goes_on(tmp_path: Path) -> None:
    path = tmp_path / "mentions.jsonl"
    write_lines(path, [json.dumps({**GOOD, "id": "m0"}),
                       json.dumps({**GOOD, "id": "x1", "published_at": "9999-12-31T23:59:59-23:59"}),
                       json.dumps({**GOOD, "id": "x2", "published_at": "0001-01-01T00:00:00+01:00"}),
                       '{"id": "x3", "text": "t", "published_at": "2010-01-21T18:05:00Z", "reach": 1' + "0" * 400 + "}",
                       json.dumps({**GOOD, "id": "m4"})])
    report = ReadReport(str(path))
    assert [m.id for m in read_mentions(path, report)] == ["m0", "m4"]
    assert report.read == 2 and report.skipped == 3
    assert report.errors == [f"{path}:2: published_at: '9999-12-31T23:59:59-23:59' {OUT_OF_RANGE}",
                             f"{path}:3: published_at: '0001-01-01T00:00:00+01:00' {OUT_OF_RANGE}",
                             f"{path}:4: reach: expected a finite number >= 0, got an integer of 401 digits"]


# -- property: whatever the record, parsing it yields a Mention or a RecordError, nothing else ------------------

_OFFSETS = st.builds(lambda minutes, micros: timezone(timedelta(minutes=minutes, microseconds=micros)),
                     st.integers(-(24 * 60 - 1), 24 * 60 - 1), st.sampled_from([0, 0, 1, 999_999]))
_EXTREME = st.sampled_from([datetime.min, datetime.max, datetime(1, 1, 1, 0, 30), datetime(9999, 12, 31, 23, 30),
                            datetime(1969, 12, 31, 23, 59, 59, 999_999), datetime(1970, 1, 1),
                            datetime(2999, 12, 31, 23, 59, 59, 999_999), datetime(3000, 1, 1)])
_TIMES = st.one_of(
    st.builds(lambda at, tz: at.replace(tzinfo=tz).isoformat(), st.one_of(_EXTREME, st.datetimes()), _OFFSETS),
    st.builds(lambda at: at.isoformat() + "Z", st.one_of(_EXTREME, st.datetimes())),
    st.datetimes().map(datetime.isoformat),  # no offset
    st.text(max_size=40),
    st.from_regex(r"\A[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}(:[0-9]{2})?([+-][0-9]{2}:?[0-9]{2}|Z)?\Z"),
)
_SCALARS = st.one_of(st.none(), st.booleans(), st.integers(), st.integers(min_value=10**300, max_value=10**400),
                     st.floats(), st.text(max_size=20))
_JSON = st.recursive(_SCALARS, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5),
                                                                                              inner, max_size=3),
                     max_leaves=6)
_FIELDS = ("id", "published_at", "text", "kind", "reach", "engagement", "source", "brand", "lang", "author", "url",
           "title")


@st.composite
def _records(draw: st.DrawFn) -> Any:
    if draw(st.integers(0, 9)) == 0:
        return draw(_JSON)  # not even an object
    record: dict[str, Any] = dict(GOOD)
    for name in draw(st.lists(st.sampled_from(_FIELDS), unique=True, max_size=5)):
        if draw(st.booleans()):
            record.pop(name, None)
        else:
            record[name] = draw(_TIMES if name == "published_at" and draw(st.booleans()) else _JSON)
    if draw(st.booleans()):
        record["published_at"] = draw(_TIMES)
    return record


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(record=_records())
def test_parsing_any_record_raises_nothing_but_record_error(record: Any) -> None:
    try:
        mention = mention_from_record(record)
    except RecordError as exc:
        message = str(exc)
        assert message and "\n" not in message and len(message) < 300  # one clear line
        return
    assert isinstance(mention, Mention)
    assert EARLIEST <= mention.published_at < LATEST and mention.published_at.tzinfo is UTC
    for value in (mention.reach, mention.engagement):
        assert value is None or 0 <= value < float("inf")

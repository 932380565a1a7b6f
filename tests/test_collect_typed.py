"""Typed decoding (msgspec Structs) and the lenient path give every parser the same mentions: a
wrong-typed field sends the payload down the lenient path, whose result is what typed decoding of
the well-typed equivalent gives."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import msgspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from service.collect import apis, bluesky, complaints, hackernews, reddit, regulators, typed
from service.collect.base import ParseError, number_of, total
from service.collect.typed import ItemDecoder, count_of, loose, total_of
from service.config import SourceConfig
from service.domain import SourceKind

FEEDS = Path(__file__).parent / "fixtures" / "feeds"
SOURCE = SourceConfig(name="s", type="x", kind=SourceKind.SOCIAL, interval=timedelta(minutes=5),
                      timeout=timedelta(seconds=5))
TYPED: list[tuple[Callable[..., Any], str]] = [
    (hackernews.parse_hackernews, "hackernews_search_by_date.json"),
    (reddit.parse_reddit, "reddit_search_new.json"),
    (bluesky.parse_bluesky, "bluesky_search_posts.json"),
    (apis.parse_youtube, "youtube_search_list.json"),
    (regulators.parse_openfda, "openfda_food_enforcement.json"),
    (complaints.parse_nhtsa_complaints, "nhtsa_complaints_honda_crv_2019.json"),
    (regulators.parse_rappelconso, "rappelconso_v2_records.json"),
]
IDS = [parser.__name__.removeprefix("parse_") for parser, _ in TYPED]


def _refuse(self: ItemDecoder[Any], data: bytes) -> list[Any]:
    raise msgspec.ValidationError("typed path switched off")


def _lenient_only(parser: Callable[..., Any], data: bytes) -> Any:
    """``parser(data)`` with the typed path switched off: the lenient path's result."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(ItemDecoder, "typed", _refuse)
        return parser(data, source=SOURCE)


def _typed_path_taken(parser: Callable[..., Any], data: bytes) -> bool:
    taken: list[bool] = []
    typed = ItemDecoder.typed

    def spy(self: ItemDecoder[Any], data: bytes) -> list[Any]:
        try:
            items = typed(self, data)
        except msgspec.ValidationError:
            taken.append(False)
            raise
        taken.append(True)
        return items

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(ItemDecoder, "typed", spy)
        parser(data, source=SOURCE)
    return taken == [True]


@pytest.mark.parametrize(("parser", "fixture"), TYPED, ids=IDS)
def test_fixture_decodes_typed_and_both_paths_agree(parser: Callable[..., Any], fixture: str) -> None:
    data = (FEEDS / fixture).read_bytes()
    assert _typed_path_taken(parser, data)  # the recorded payload takes the typed path
    typed = parser(data, source=SOURCE)
    assert typed  # not an empty agreement
    assert typed == _lenient_only(parser, data)


def _with(fixture: str, path: tuple[Any, ...], value: Any) -> bytes:
    payload = json.loads((FEEDS / fixture).read_bytes())
    holder = payload
    for key in path[:-1]:
        holder = holder[key]
    holder[path[-1]] = value
    return json.dumps(payload).encode()


WRONG_TYPES = [
    # (field, a value of another type than the API documents, the well-typed value it reads as)
    (hackernews.parse_hackernews, "hackernews_search_by_date.json", ("hits", 0, "objectID"),
     42251377, "42251377"),
    (reddit.parse_reddit, "reddit_search_new.json", ("data", "children", 0, "data", "score"), "41", 41),
    (bluesky.parse_bluesky, "bluesky_search_posts.json", ("posts", 0, "likeCount"), "21", 21),
    (complaints.parse_nhtsa_complaints, "nhtsa_complaints_honda_crv_2019.json",
     ("results", 0, "numberOfInjuries"), "2", 2),
    (regulators.parse_openfda, "openfda_food_enforcement.json", ("results", 0, "classification"),
     ["Class I"], None),
]


@pytest.mark.parametrize(("parser", "fixture", "path", "wrong", "right"), WRONG_TYPES,
                         ids=[parser.__name__.removeprefix("parse_") for parser, *_ in WRONG_TYPES])
def test_wrong_typed_item_takes_the_lenient_path_with_the_same_result(
        parser: Callable[..., Any], fixture: str, path: tuple[Any, ...], wrong: Any, right: Any) -> None:
    retyped, well_typed = _with(fixture, path, wrong), _with(fixture, path, right)
    assert not _typed_path_taken(parser, retyped)
    assert _typed_path_taken(parser, well_typed)
    assert parser(retyped, source=SOURCE) == parser(well_typed, source=SOURCE)


def test_not_json_and_missing_lists_keep_their_errors() -> None:
    with pytest.raises(ParseError, match="Hacker News response is not valid JSON"):
        hackernews.parse_hackernews(b"{nope", source=SOURCE)
    with pytest.raises(ParseError, match=r"Reddit listing 'data.children' is not a list \(found NoneType\)"):
        reddit.parse_reddit(b'{"data": {}}', source=SOURCE)
    assert bluesky.parse_bluesky(b'{"posts": [null, 3, {"uri": 5}]}', source=SOURCE) == []


def _leaves(value: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    if isinstance(value, dict):
        return [leaf for key, item in value.items() for leaf in _leaves(item, (*path, key))]
    if isinstance(value, list):
        return [leaf for index, item in enumerate(value) for leaf in _leaves(item, (*path, index))]
    return [path]


_ODD = st.one_of(st.none(), st.booleans(), st.integers(min_value=-(2**70), max_value=2**70),
                 st.floats(allow_nan=False), st.text(max_size=20),
                 st.sampled_from(["12", "2026-11-26T08:00:00Z", "1795676400", "<b>x</b>", "\x00", "\ud800"]),
                 st.sampled_from([2**64 - 1, 2**64, 2**64 + 1, -(2**63) - 1, 10**400]),
                 st.lists(st.integers(), max_size=2), st.dictionaries(st.text(max_size=3), st.integers(), max_size=2))


@pytest.mark.parametrize(("parser", "fixture"), TYPED, ids=IDS)
@settings(max_examples=60, deadline=None)
@given(data=st.data())
def test_property_both_paths_agree_on_any_replaced_field(parser: Callable[..., Any], fixture: str,
                                                         data: st.DataObject) -> None:
    payload = json.loads((FEEDS / fixture).read_bytes())
    for path in data.draw(st.lists(st.sampled_from(_leaves(payload)), min_size=1, max_size=3)):
        holder = payload
        for key in path[:-1]:
            holder = holder[key]
        holder[path[-1]] = data.draw(_ODD)
    raw = json.dumps(payload).encode()
    assert parser(raw, source=SOURCE) == _lenient_only(parser, raw)


class _Inner(msgspec.Struct):
    name: str | None = None


class _Outer(msgspec.Struct):
    id: str | None = None
    inner: _Inner = msgspec.field(default_factory=_Inner)
    many: list[_Inner] | None = None
    rest: list[_Inner] = msgspec.field(default_factory=list)
    renamed: int | None = msgspec.field(default=None, name="re-named")


def test_loose_fills_structs_without_checking_types() -> None:
    made = loose(_Outer, {"id": 5, "inner": {"name": ["x"]}, "rest": [{"name": 1}, 2], "re-named": "n",
                          "many": "no"})
    assert made == _Outer(id=5, inner=_Inner(name=["x"]), many="no", rest=[_Inner(name=1), _Inner()],  # type: ignore[arg-type]
                          renamed="n")  # type: ignore[arg-type]
    assert loose(_Outer, [1]) == _Outer() and loose(_Outer, {"inner": 3}).inner == _Inner()


def test_item_decoder_falls_back_only_on_msgspec_errors() -> None:
    decoder = ItemDecoder(_Inner, "a.b", lenient=lambda payload: payload["a"]["b"], what="x")
    assert decoder(b'{"a": {"b": [{"name": "a", "other": [1, 2]}]}}') == [_Inner(name="a")]
    assert decoder(b'{"a": {"b": [{"name": 1}, 7]}}') == [_Inner(name=1), _Inner()]  # type: ignore[arg-type]
    with pytest.raises(ParseError, match=r"^x is not valid JSON"):
        decoder(b'{"a": ')
    with pytest.raises(msgspec.ValidationError):
        decoder.typed(b'{"a": {}}')


def test_ids_beyond_64_bits_are_refused_alike_by_both_paths() -> None:
    """orjson makes 2**64 and 2**64 + 1 the same float: the lenient path must not give them one id
    (nor another text than the typed path)."""
    records = [{"odiNumber": number, "dateComplaintFiled": "11/24/2026", "summary": "Brake failure"}
               for number in (2**64, 2**64 + 1, 2**64 - 1, 11_000_001)]
    raw = json.dumps({"results": records}).encode()
    typed = complaints.parse_nhtsa_complaints(raw, source=SOURCE)
    assert [mention.id for mention in typed] == ["nhtsa-complaint:18446744073709551615", "nhtsa-complaint:11000001"]
    assert typed == _lenient_only(complaints.parse_nhtsa_complaints, raw)


_COUNT = st.one_of(st.integers(min_value=0, max_value=2**53),
                   st.sampled_from([2**51 - 1, 2**51, 2**63 - 1, 2**63, 2**64]), _ODD)


@settings(max_examples=500, deadline=None)
@given(counts=st.lists(_COUNT, min_size=4, max_size=4))
def test_count_fast_paths_give_what_number_of_and_total_give(counts: list[Any]) -> None:
    assert total_of(*counts) == total(*counts) and total_of(*counts[:3]) == total(*counts[:3])
    assert repr(count_of(counts[0])) == repr(number_of(counts[0]))


def test_typed_doctests() -> None:
    import doctest

    result = doctest.testmod(typed)
    assert result.failed == 0 and result.attempted > 0

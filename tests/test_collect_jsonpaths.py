"""The typed decode of the ``json`` source type reads, on every payload it accepts, what following
the paths through plain decoded JSON reads (service.collect.jsonpaths)."""

from __future__ import annotations

import json
from typing import Any

import msgspec
from hypothesis import given, settings
from hypothesis import strategies as st

from service.collect.jsonmap import compile_path, follow
from service.collect.jsonpaths import typed_reader

_KEYS = ["id", "a", "b", "from", "0", "1", "-1", "page[after]", "é"]
_STEPS = st.sampled_from(_KEYS)
_PATHS = st.lists(st.lists(_STEPS, min_size=1, max_size=3).map(".".join), min_size=1, max_size=5)
_LEAVES = st.one_of(st.none(), st.booleans(), st.integers(min_value=-(2**70), max_value=2**70),
                    st.floats(allow_nan=False, allow_infinity=False), st.text(max_size=5))
_JSON = st.recursive(_LEAVES, lambda children: st.one_of(
    st.lists(children, max_size=3), st.dictionaries(_STEPS, children, max_size=4)), max_leaves=15)


@settings(max_examples=500, deadline=None)
@given(paths=_PATHS, items=st.lists(st.one_of(st.dictionaries(_STEPS, _JSON, max_size=5), _JSON), max_size=3),
       where=st.sampled_from(["results", "data.items", ""]))
def test_typed_reads_equal_following_the_paths(paths: list[str], items: list[Any], where: str) -> None:
    compiled = tuple(compile_path(path) for path in paths)
    reader = typed_reader(compile_path(where), compiled, follow)
    if reader is None:
        assert any(path.split(".")[0].lstrip("-").isdigit() for path in paths)
        return
    payload: Any = items
    for step in reversed(compile_path(where)):
        payload = {step: payload}
    data = json.dumps(payload).encode()
    try:
        decoded = reader.items_of(data)
    except (msgspec.DecodeError, msgspec.ValidationError):
        return  # another shape than the paths expect: the parser decodes leniently
    assert len(decoded) == len(items)
    for typed, plain in zip(decoded, items, strict=True):
        assert list(reader.read(typed)) == [follow(plain, path) for path in compiled]


def test_a_path_read_as_a_value_and_gone_through_is_both() -> None:
    paths = tuple(compile_path(path) for path in ("via", "via.source.name", "tags.0", "tags", "id"))
    reader = typed_reader(("results",), paths, follow)
    assert reader is not None
    item = {"via": {"source": {"name": "mail"}}, "tags": ["x", "y"], "id": 7, "other": [1, 2]}
    (decoded,) = reader.items_of(json.dumps({"results": [item], "more": 1}).encode())
    assert list(reader.read(decoded)) == [item["via"], "mail", "x", ["x", "y"], 7]

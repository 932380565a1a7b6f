"""Typed JSON decoding (msgspec) for API parsers, with the lenient path as the fallback.

A parser declares :class:`msgspec.Struct` types that mirror its API's payload and name only the
fields it reads: every field optional, typed as the API documents it (``str | None``, numbers),
nested objects as nested Structs defaulting to an empty one. An :class:`ItemDecoder` then

- decodes the bytes straight into those Structs (fields not declared are skipped in C, so this is
  several times faster than ``json.loads``, let alone building dicts of every field);
- and when that fails (``msgspec.DecodeError``: not JSON, NaN literals, lone surrogates;
  ``msgspec.ValidationError``: a field of another type than declared, an item that is not an object,
  a missing item list) decodes again with :func:`~service.collect.base.load_json`, finds the item
  list with the parser's own lenient rules, and turns each item into the same Struct *without
  validation* (:func:`loose`).

So each source keeps one mapping function, written against attribute access and tolerant of any
value type (it goes through ``line_field``, ``parse_time``, ``number_of`` ...): on well-typed input
both paths give it equal values, and on hostile input it sees what the lenient parser always saw.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from typing import Any, Generic, TypeVar

import msgspec

from service.collect.base import load_json, number_of, total

T = TypeVar("T", bound=msgspec.Struct)

TYPED_FAILED = (msgspec.DecodeError, msgspec.ValidationError, RecursionError, UnicodeDecodeError)
"""What a typed decode raises for a payload it cannot take (the lenient path then says why, as a
:class:`~service.collect.base.ParseError`): not JSON, another shape, nested too deep, or a string that
is not UTF-8 (msgspec raises ``UnicodeDecodeError`` for the three bytes of a lone surrogate)."""


class ItemDecoder(Generic[T]):
    """Decodes a payload's item list into ``item`` Structs: typed first, else the lenient path.

    ``path``: where the list sits in the JSON object (``"hits"``, ``"data.children"``); ``lenient``
    takes the item list from the :func:`~service.collect.base.load_json` payload and raises
    :class:`~service.collect.base.ParseError` exactly as the parser always did (``what`` names the
    payload in the JSON error).
    """

    def __init__(self, item: type[T], path: str, *, lenient: Callable[[Any], list[Any]], what: str) -> None:
        self.item, self.lenient, self.what = item, lenient, what
        self._names = tuple(path.split("."))
        shape: Any = list[item]  # type: ignore[valid-type]
        for name in reversed(self._names):
            shape = msgspec.defstruct(f"_{item.__name__}_{name}", [(name, shape)])
        self._decoder = msgspec.json.Decoder(shape)

    def __call__(self, data: bytes) -> list[T]:
        return self.decode(data)[0]

    def decode(self, data: bytes) -> tuple[list[T], bool]:
        """The items, and whether they were decoded typed (then every field has its declared type)."""
        try:
            return self.typed(data), True
        except TYPED_FAILED:
            return self.loose(data), False

    def typed(self, data: bytes) -> list[T]:
        """The fast path; raises ``msgspec.DecodeError`` / ``msgspec.ValidationError``."""
        value: Any = self._decoder.decode(data)
        for name in self._names:
            value = getattr(value, name)
        return value  # type: ignore[no-any-return]

    def loose(self, data: bytes) -> list[T]:
        """The lenient path: the items as Structs, values of any type kept as they are."""
        return [loose(self.item, value) for value in self.lenient(load_json(data, what=self.what))]


class PageDecoder(Generic[T]):
    """Decodes a whole payload into a ``page`` Struct (for a parser that reads more than one item
    list): typed first, else ``lenient``, which takes the :func:`~service.collect.base.load_json`
    payload, raises :class:`~service.collect.base.ParseError` as the parser always did, and builds
    the same Struct (with :func:`loose` for the items)."""

    def __init__(self, page: type[T], *, lenient: Callable[[Any], T], what: str) -> None:
        self.lenient, self.what = lenient, what
        self._decoder = msgspec.json.Decoder(page)

    def __call__(self, data: bytes) -> T:
        try:
            return self._decoder.decode(data)  # type: ignore[no-any-return]
        except TYPED_FAILED:
            return self.lenient(load_json(data, what=self.what))


def loose(kind: type[T], value: Any) -> T:
    """``kind`` filled from a decoded JSON value, with no type check (a non-object gives the empty
    Struct): what the mapping function would have seen through ``dict.get`` before."""
    if type(value) is not dict:
        value = {}
    get = value.get
    return kind(*[get(name) if convert is None else convert(get(name)) for name, convert in _layout(kind)])


@cache
def _layout(kind: type[msgspec.Struct]) -> tuple[tuple[str, Callable[[Any], Any] | None], ...]:
    """Per field, in order: its JSON name and how to convert a loose value (``None``: as is)."""
    layout = []
    for field in msgspec.structs.fields(kind):
        convert: Callable[[Any], Any] | None = None
        annotation = field.type
        if isinstance(annotation, type) and issubclass(annotation, msgspec.Struct):
            convert = _nested(annotation)
        elif getattr(annotation, "__origin__", None) is list:
            (inner,) = annotation.__args__
            if isinstance(inner, type) and issubclass(inner, msgspec.Struct):
                convert = _nested_list(inner)
        layout.append((field.encode_name, convert))
    return tuple(layout)


def _nested(kind: type[msgspec.Struct]) -> Callable[[Any], Any]:
    return lambda value: loose(kind, value)


def _nested_list(kind: type[msgspec.Struct]) -> Callable[[Any], Any]:
    return lambda value: [loose(kind, item) for item in value] if type(value) is list else []


_EXACT = 2**51
"""Counts below this add up exactly in floats, up to four at a time (their sum stays below 2**53)."""


def count_of(value: Any) -> float | None:
    """:func:`~service.collect.base.number_of` of a count (a reach), the usual one (an ``int``, what a
    typed decode gives) converted without the general function's tests."""
    return float(value) if type(value) is int and 0 <= value < _EXACT else number_of(value)


def total_of(first: Any, second: Any, third: Any, fourth: Any = 0) -> float:
    """:func:`~service.collect.base.total` of up to four counts (an engagement): when all are the usual
    ``int``, their sum as a float, which is total's float of one-by-one additions (each partial sum
    is an exact integer); else total's.

    >>> total_of(48, 12, 230, 5), total_of(1, None, "2", 2.5), total_of(2**60, 1, 0)
    (295.0, 5.5, 1.152921504606847e+18)
    """
    if type(first) is int and type(second) is int and type(third) is int and type(fourth) is int \
            and 0 <= first < _EXACT and 0 <= second < _EXACT and 0 <= third < _EXACT and 0 <= fourth < _EXACT:
        return float(first + second + third + fourth)
    return total(first, second, third, fourth)

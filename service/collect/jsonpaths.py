"""Typed decoding for the ``json`` source type: msgspec Structs built from a mapping's paths.

A ``json`` source names its fields by dotted paths (``id``, ``via.source.from.name``, ``tags.0``).
:func:`typed_reader` turns those paths into :class:`msgspec.Struct` types declaring only the keys
the paths go through, so that a payload decodes straight into them (the keys nobody reads are
skipped in C), and into a reader of every path's value in one item:

- a path of object keys only is read by attribute access (``operator.attrgetter``);
- a path with a list index (``tags.0``; a key that is all digits may also index a list) is typed
  up to the value before the index, declared ``Any``, and the rest is followed as before
  (:func:`~service.collect.jsonmap.follow`);
- a key that one path reads as a value and another goes through is declared ``Any`` as well.

An object that is not one where a Struct is declared (a string, a list, ``null``) fails the typed
decode (``msgspec.ValidationError``), and the caller then decodes leniently and follows the paths
through plain dicts: on any payload the readers see what :func:`~service.collect.jsonmap.follow`
would have found, or the typed decode is not used. No typed decode is offered when a path reads the
item itself or indexes it as a list, or the item list is reached through a list index.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass
from operator import attrgetter
from typing import Any

import msgspec

Path = tuple[str, ...]
Reader = Callable[[Any], Any]

_ANY = None
"""Marker of a tree node read as a value (declared ``Any``)."""
_COUNTER = itertools.count()


def _index_like(step: str) -> bool:
    return step.lstrip("-").isdigit()


@dataclass(frozen=True, slots=True)
class TypedReader:
    """The decoder of a whole payload and the reader of the paths' values in one decoded item."""

    decoder: msgspec.json.Decoder[Any]
    items: tuple[str, ...]
    """Attribute names leading from the decoded payload to the item list."""
    read: Reader
    """The values of every path in one decoded item (a sequence, in the order of the paths)."""

    def items_of(self, data: bytes) -> list[Any]:
        """The decoded items; raises ``msgspec.DecodeError`` / ``msgspec.ValidationError``."""
        value = self.decoder.decode(data)
        for name in self.items:
            value = getattr(value, name)
        return value  # type: ignore[no-any-return]


def typed_reader(items: Path, paths: tuple[Path, ...], follow: Callable[[Any, Path], Any]) -> TypedReader | None:
    """A typed decoder for items at ``items`` read through ``paths`` (``None`` when none fits)."""
    if any(_index_like(step) for step in items) or any(not path or _index_like(path[0]) for path in paths):
        return None
    typed = [path[: next((i for i, step in enumerate(path) if i and _index_like(step)), len(path))]
             for path in paths]
    points = []
    for path in typed:  # the shortest typed prefix read as a value: where the Struct stops
        point = next(path[:length] for length in range(1, len(path) + 1) if path[:length] in typed)
        points.append(point)
    tree: dict[str, Any] = {}
    for point in set(points):
        node = tree
        for step in point[:-1]:
            node = node.setdefault(step, {})
        node[point[-1]] = _ANY
    item, names = _struct(tree)
    shape: Any = list[item]  # type: ignore[valid-type]
    holders = []
    for step in reversed(items):
        holder = f"f{next(_COUNTER)}"
        holders.append(holder)
        shape = msgspec.defstruct(f"_Page{next(_COUNTER)}", [(holder, shape, msgspec.field(name=step))],
                                  kw_only=True)
    getter = attrgetter(*[".".join(names[point]) for point in points])
    rests = tuple((index, path[len(point):]) for index, (path, point) in enumerate(zip(paths, points, strict=True))
                  if len(path) > len(point))
    read = getter if len(paths) > 1 else _one(getter)
    return TypedReader(decoder=msgspec.json.Decoder(shape), items=tuple(reversed(holders)),
                       read=read if not rests else _then(read, rests, follow))


def _one(getter: Reader) -> Reader:
    return lambda item: (getter(item),)


def _then(read: Reader, rests: tuple[tuple[int, Path], ...], follow: Callable[[Any, Path], Any]) -> Reader:
    def reader(item: Any) -> list[Any]:
        values = list(read(item))
        for index, rest in rests:
            values[index] = follow(values[index], rest)
        return values

    return reader


def _struct(tree: dict[str, Any], prefix: Path = ()) -> tuple[type[msgspec.Struct], dict[Path, list[str]]]:
    """The Struct of one tree level and, per path below it, the attribute names that lead there."""
    fields: list[tuple[str, Any, Any]] = []
    names: dict[Path, list[str]] = {}
    for position, (key, child) in enumerate(tree.items()):
        attribute = f"f{position}"
        if child is _ANY:
            fields.append((attribute, Any, msgspec.field(default=None, name=key)))
            names[(*prefix, key)] = [attribute]
        else:
            kind, below = _struct(child, (*prefix, key))
            fields.append((attribute, kind, msgspec.field(default_factory=kind, name=key)))
            names.update({path: [attribute, *rest] for path, rest in below.items()})
    return msgspec.defstruct(f"_Item{next(_COUNTER)}", fields, kw_only=True, gc=False), names

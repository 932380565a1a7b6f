"""Building :class:`~service.domain.Mention` values at parse speed.

A parser makes one mention per item, and the frozen dataclass's generated ``__init__`` (thirteen
``object.__setattr__`` calls through keyword arguments) costs about as much as decoding the item's
JSON. :func:`mention` fills the slots directly, with positional arguments, and returns a value
equal in every respect to ``Mention(...)`` with the same fields.

This is only valid while ``Mention`` stays a slotted dataclass with exactly :data:`FIELDS` and no
``__post_init__``; at import that is checked, and when it no longer holds :func:`mention` falls back
to the ordinary constructor (``tests/test_collect_fastpaths.py`` fails then, so the fast path gets
updated rather than silently lost).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any

from service.domain import Mention, SourceKind

if TYPE_CHECKING:
    from service.config import SourceConfig

FIELDS = ("id", "published_at", "text", "source", "kind", "brand", "lang", "author", "url", "title", "reach",
          "engagement", "duplicate_of")


def _fast_path_valid() -> bool:
    names = tuple(field.name for field in dataclasses.fields(Mention))
    return (names == FIELDS and "__slots__" in vars(Mention) and not hasattr(Mention, "__post_init__")
            and all(type(vars(Mention)[name]).__name__ == "member_descriptor" for name in FIELDS))


FAST = _fast_path_valid()

_new = object.__new__
if FAST:
    (_id, _published_at, _text, _source, _kind, _brand, _lang, _author, _url, _title, _reach, _engagement,
     _duplicate_of) = (vars(Mention)[name].__set__ for name in FIELDS)


def _fast(id: str, published_at: datetime, text: str, source: str | None, kind: SourceKind | None,
          brand: str | None, lang: str | None, author: str | None, url: str | None, title: str | None,
          reach: float | None, engagement: float | None, duplicate_of: str | None, /) -> Mention:
    made = _new(Mention)
    _id(made, id)
    _published_at(made, published_at)
    _text(made, text)
    _source(made, source)
    _kind(made, kind)
    _brand(made, brand)
    _lang(made, lang)
    _author(made, author)
    _url(made, url)
    _title(made, title)
    _reach(made, reach)
    _engagement(made, engagement)
    _duplicate_of(made, duplicate_of)
    return made


def _slow(*values: Any) -> Mention:
    return Mention(**dict(zip(FIELDS, values, strict=True)))


mention: Callable[..., Mention] = _fast if FAST else _slow
"""``mention(id, published_at, text, source, kind, brand, lang, author, url, title, reach,
engagement, duplicate_of)``: a :class:`Mention` (all thirteen fields, positional, in this order)."""


@dataclasses.dataclass(frozen=True, slots=True)
class Origin:
    """What every mention of one source carries: its name, kind, brand and language hint."""

    source: str
    kind: SourceKind
    brand: str | None
    lang: str | None

    @classmethod
    def of(cls, source: SourceConfig, *, kind: SourceKind | None = None) -> Origin:
        """The origin of ``source``'s mentions (``kind`` overrides the source's, e.g. regulators)."""
        brand = source.brands[0] if len(source.brands) == 1 else None
        return cls(source.name, kind or source.kind, brand, source.lang)

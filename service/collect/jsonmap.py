"""Any HTTP JSON API, through a declarative mapping (customer-service tools, in-house APIs, ...).

Options (paths are dotted: ``data.items``, ``user.name``, ``tags.0``; ``""`` is the item itself)::

    url: https://support.example.com/api/v2/search.json
    params: {query: "type:ticket created>1hour"}      # optional query parameters
    token: ${ZENDESK_TOKEN}                            # optional bearer token
    items: results                                     # path to the list of items in the response
    fields:                                            # paths inside one item
      id: id                                           # required
      text: [subject, description]                     # required: one path or several (joined)
      time: created_at                                 # required: ISO 8601, RFC 2822 or epoch
      author: requester.name                           # optional: author, url, title, lang, reach, engagement
    next: next_page                                    # optional: path to the next page's URL ...
    cursor_param: page[after]                          # ... or the query parameter that takes
    cursor: meta.after_cursor                          #     the value found at this path
    max_pages: 3                                       # pages per run (default 1)

Mention ids are ``json:<source name>:<item id>``. Pages are followed until ``max_pages`` or until a
page brings nothing new (the API is assumed to list newest first).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

import httpx

from service.collect.base import (
    MAX_TEXT_CHARS,
    CollectError,
    CollectResult,
    ParseError,
    as_list,
    assemble,
    cut,
    lang_code,
    load_json,
    number_of,
    parse_time,
    text_of,
)
from service.collect.cleaner import Cleaner
from service.collect.cursor import select_new
from service.collect.http import Fetcher
from service.collect.jsonpaths import TypedReader, typed_reader
from service.collect.make import Origin
from service.collect.typed import TYPED_FAILED
from service.domain import Mention

log = logging.getLogger(__name__)

if TYPE_CHECKING:
    from service.config import SourceConfig

REQUIRED_FIELDS = ("id", "text", "time")
OPTIONAL_FIELDS = ("author", "url", "title", "lang", "reach", "engagement")


def resolve(value: Any, path: str) -> Any:
    """The value at dotted ``path`` (``None`` when any step is missing or of the wrong type).

    >>> resolve({"a": {"b": [10, {"c": "x"}]}}, "a.b.1.c")
    'x'
    >>> resolve({"a": 1}, "a.b") is None
    True
    """
    return follow(value, compile_path(path))


def check_fields(fields: Mapping[str, Any]) -> str | None:
    """Problem with the ``fields`` option of a ``json`` source, ``None`` when fine."""
    missing = [name for name in REQUIRED_FIELDS if name not in fields]
    if missing:
        return f"needs the paths {', '.join(missing)}"
    unknown = sorted(set(fields) - set(REQUIRED_FIELDS) - set(OPTIONAL_FIELDS))
    if unknown:
        return f"has unknown fields {', '.join(unknown)} (known: {', '.join(REQUIRED_FIELDS + OPTIONAL_FIELDS)})"
    for name, path in fields.items():
        paths = path if isinstance(path, list) and name == "text" else [path]
        if not paths or not all(isinstance(p, str) for p in paths):
            return f'field "{name}" must be a path string' + (" or a list of them" if name == "text" else "")
    return None


Path = tuple[str, ...]


def compile_path(path: str) -> Path:
    """The steps of a dotted path, split once (``""`` and ``"$"``: the value itself)."""
    return tuple(path.split(".")) if path and path != "$" else ()


def follow(value: Any, steps: Path) -> Any:
    """:func:`resolve` with a compiled path."""
    for step in steps:
        if type(value) is dict or isinstance(value, Mapping):
            value = value.get(step)
        elif isinstance(value, list) and step.lstrip("-").isdigit() and -len(value) <= int(step) < len(value):
            value = value[int(step)]
        else:
            return None
    return value


@dataclass(frozen=True, slots=True)
class _Mapping:
    """A source's ``items`` and ``fields`` with every path compiled, and their typed reader (built
    once per source and cached)."""

    items: Path
    id: Path
    time: Path
    text: tuple[Path, ...]
    optional: tuple[Path | None, ...]
    """author, url, title, lang, reach, engagement (``None`` when not mapped)."""
    places: tuple[int, ...]
    """Where each of :attr:`optional` is among the values read (-1: not mapped)."""
    typed: TypedReader | None
    """The payload decoded into Structs of the keys the paths read (``None``: not possible)."""

    @classmethod
    def of(cls, options: Mapping[str, Any]) -> _Mapping:
        fields = options["fields"]
        text = fields["text"] if isinstance(fields["text"], list) else [fields["text"]]
        ids, times, texts = compile_path(fields["id"]), compile_path(fields["time"]), tuple(map(compile_path, text))
        optional = tuple(compile_path(fields[name]) if name in fields else None for name in OPTIONAL_FIELDS)
        items = compile_path(options.get("items", ""))
        paths = (ids, times, *texts, *(path for path in optional if path is not None))
        places = tuple(2 + len(texts) + sum(1 for other in optional[:index] if other is not None)
                       if path is not None else -1 for index, path in enumerate(optional))
        return cls(items, ids, times, texts, optional, places, typed_reader(items, paths, follow))

    def follow(self, item: Any) -> list[Any]:
        """The values of the paths in a plain decoded item, in the order of :attr:`TypedReader.read`."""
        return [follow(item, path) for path in self.paths]

    @property
    def paths(self) -> tuple[Path, ...]:
        """id, time, the texts, then the mapped optional fields."""
        return (self.id, self.time, *self.text, *(path for path in self.optional if path is not None))


_COMPILED: dict[int, tuple[Mapping[str, Any], _Mapping]] = {}


def _compiled(options: Mapping[str, Any]) -> _Mapping:
    cached = _COMPILED.get(id(options))
    if cached is None or cached[0] is not options:
        if len(_COMPILED) > 256:
            _COMPILED.clear()
        cached = _COMPILED[id(options)] = (options, _Mapping.of(options))
    return cached[1]




def parse_mapped(data: bytes, *, source: SourceConfig) -> list[Mention]:
    """Mentions of the items of one response, mapped by the source's ``items`` and ``fields``.

    The payload is decoded typed when the paths allow it (:mod:`.jsonpaths`), else (or when that
    fails: another shape than the paths expect, not JSON) as plain JSON values, walked by
    :func:`follow`; both give the mapping the same values.
    """
    options = source.options
    mapping = _compiled(options)
    read: Callable[[Any], Any] | None = None
    if mapping.typed is not None:
        try:
            items = mapping.typed.items_of(data)
            read = mapping.typed.read
        except TYPED_FAILED:
            pass
    if read is None:
        payload = load_json(data, what=f"{source.name} response")
        items = as_list(resolve(payload, options.get("items", "")), what=f"items at {options.get('items', '')!r}")
        read = mapping.follow
    origin = Origin.of(source)
    name, kind, brand, lang = origin.source, origin.kind, origin.brand, origin.lang
    prefix = f"json:{source.name}:"
    clean = Cleaner(data)
    texts = len(mapping.text)
    author_at, url_at, title_at, lang_at, reach_at, engagement_at = mapping.places
    found = []
    for item in items:
        values = read(item)
        item_id = clean.line(values[0])
        published = parse_time(values[1])
        if texts == 1:
            text = clean.text(values[2])
        elif texts == 2:  # title and body, the usual pair: assemble() without its generality
            first, second = clean.text(values[2]), clean.text(values[3])
            text = f"{first}\n{second}" if first and second else first or second
            text = text if len(text) <= MAX_TEXT_CHARS else cut(text, MAX_TEXT_CHARS)
        else:
            text = assemble(*[clean.text(value) for value in values[2:2 + texts]])
        if not item_id or published is None or not text:
            continue
        found.append(Mention(
            id=prefix + item_id, published_at=published, text=text, source=name, kind=kind, brand=brand,
            lang=lang or (lang_code(values[lang_at]) if lang_at >= 0 else None),
            author=clean.line(values[author_at]) or None if author_at >= 0 else None,
            url=clean.line(values[url_at]) or None if url_at >= 0 else None,
            title=clean.line(values[title_at]) or None if title_at >= 0 else None,
            reach=number_of(values[reach_at]) if reach_at >= 0 else None,
            engagement=number_of(values[engagement_at]) if engagement_at >= 0 else None))
    return found


class JsonMappedCollector:
    """Fetches ``url`` (and following pages), maps items to mentions, keeps what is new."""

    def __init__(self, source: SourceConfig, fetcher: Fetcher) -> None:
        self.name = source.name
        self.source = source
        self.fetcher = fetcher
        options = source.options
        self.headers = dict(options.get("headers") or {})
        if options.get("token"):
            self.headers["Authorization"] = f"Bearer {options['token']}"

    def collect(self, cursor: dict[str, Any] | None, now: datetime) -> CollectResult:
        """The new mentions of the pages, newest first, up to ``max_pages`` and never past a page that
        brought nothing new. A later page that fails does not cost the pages before it: they are
        kept, and when the failure may pass, the next run (``resume`` in the cursor) walks the pages
        again past those already seen, so the failed page's mentions are not skipped behind them."""
        state = cursor or {}
        options = self.source.options
        seen = set(state.get("recent") or ())
        resuming = state.get("resume") is True
        url: str | None = options["url"]
        params = dict(options.get("params") or {})
        mentions: list[Mention] = []
        unfinished = False
        for index in range(options.get("max_pages", 1)):
            if url is None:
                break
            try:
                response = self.fetcher.get(url, params=params, headers=self.headers)
                page = parse_mapped(response.content, source=self.source)
            except CollectError as error:
                if index == 0:
                    raise
                unfinished = error.retryable
                log.warning('source "%s": page %d failed (%s); the pages before it are kept%s', self.source.name,
                            index + 1, error, ", the rest is fetched at the next run" if unfinished else "")
                break
            mentions.extend(page)
            if not page or (not resuming and all(mention.id in seen for mention in page)):
                break
            url, params = self._next(response.content, url, params)
        fresh, next_cursor = select_new(mentions, state, now=now)
        if unfinished:
            next_cursor["resume"] = True
        return CollectResult(mentions=tuple(fresh), cursor=next_cursor)

    def _next(self, data: bytes, url: str, params: dict[str, Any]) -> tuple[str | None, dict[str, Any]]:
        options = self.source.options
        try:
            payload = load_json(data)
        except ParseError:  # pragma: no cover - parse_mapped already decoded it
            return None, params
        if options.get("next"):
            following = text_of(resolve(payload, options["next"]))
            if not following or not following.startswith(("http://", "https://")):
                return None, params
            if not same_origin(following, options["url"]):
                log.warning('source "%s": next page %s is not on the host of "url"; paging stopped (the token is '
                            'never sent elsewhere)', self.source.name, _origin_text(following))
                return None, params
            return following, {}
        if options.get("cursor_param") and options.get("cursor"):
            value = text_of(resolve(payload, options["cursor"]))
            return (url, {**params, options["cursor_param"]: value}) if value else (None, params)
        return None, params


def same_origin(link: str, base: str) -> bool:
    """Whether ``link`` has the scheme, host and port of ``base`` (where a token may be sent).

    >>> same_origin("https://a.zendesk.com/api?page=2", "https://a.zendesk.com/api"), same_origin(
    ...     "http://a.zendesk.com/api", "https://a.zendesk.com/api")
    (True, False)
    """
    try:
        there, here = httpx.URL(link), httpx.URL(base)
    except (httpx.InvalidURL, TypeError):
        return False
    return (there.scheme, there.host, there.port) == (here.scheme, here.host, here.port)


def _origin_text(link: str) -> str:
    """Scheme and host of ``link`` for a log line (never its query, which may carry a secret)."""
    try:
        url = httpx.URL(link)
    except (httpx.InvalidURL, TypeError):
        return "(invalid URL)"
    return f"{url.scheme}://{url.host}"

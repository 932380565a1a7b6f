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
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

import httpx

from service.collect.base import (
    CollectResult,
    ParseError,
    as_list,
    assemble,
    lang_code,
    line_field,
    load_json,
    number_of,
    parse_time,
    text_field,
    text_of,
)
from service.collect.cursor import select_new
from service.collect.http import Fetcher
from service.collect.make import Origin, mention
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
    """A source's ``fields`` with every path compiled (built once per source and cached)."""

    id: Path
    time: Path
    text: tuple[Path, ...]
    optional: tuple[Path | None, ...]
    """author, url, title, lang, reach, engagement (``None`` when not mapped)."""

    @classmethod
    def of(cls, fields: Mapping[str, Any]) -> _Mapping:
        text = fields["text"] if isinstance(fields["text"], list) else [fields["text"]]
        return cls(compile_path(fields["id"]), compile_path(fields["time"]), tuple(map(compile_path, text)),
                   tuple(compile_path(fields[name]) if name in fields else None for name in OPTIONAL_FIELDS))


_COMPILED: dict[int, tuple[Mapping[str, Any], _Mapping]] = {}


def _compiled(fields: Mapping[str, Any]) -> _Mapping:
    cached = _COMPILED.get(id(fields))
    if cached is None or cached[0] is not fields:
        if len(_COMPILED) > 256:
            _COMPILED.clear()
        cached = _COMPILED[id(fields)] = (fields, _Mapping.of(fields))
    return cached[1]


def parse_mapped(data: bytes, *, source: SourceConfig) -> list[Mention]:
    """Mentions of the items of one response, mapped by the source's ``items`` and ``fields``."""
    payload = load_json(data, what=f"{source.name} response")
    options = source.options
    items = as_list(resolve(payload, options.get("items", "")), what=f"items at {options.get('items', '')!r}")
    mapping = _compiled(options["fields"])
    origin = Origin.of(source)
    prefix = f"json:{source.name}:"
    return [found for item in items if (found := _mention(item, mapping, origin, prefix)) is not None]


def _mention(item: Any, mapping: _Mapping, origin: Origin, prefix: str) -> Mention | None:
    item_id = line_field(follow(item, mapping.id))
    published = parse_time(follow(item, mapping.time))
    if len(mapping.text) == 1:
        text = text_field(follow(item, mapping.text[0]))
    else:
        text = assemble(*(text_field(follow(item, path)) for path in mapping.text))
    if item_id is None or published is None or not text:
        return None
    author, url, title, lang, reach, engagement = (None if path is None else follow(item, path)
                                                   for path in mapping.optional)
    return mention(
        prefix + item_id, published, text, origin.source, origin.kind, origin.brand,
        origin.lang or lang_code(lang), line_field(author), line_field(url), line_field(title),
        number_of(reach), number_of(engagement), None)


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
        state = cursor or {}
        options = self.source.options
        seen = set(state.get("recent") or ())
        url: str | None = options["url"]
        params = dict(options.get("params") or {})
        mentions: list[Mention] = []
        for _ in range(options.get("max_pages", 1)):
            if url is None:
                break
            response = self.fetcher.get(url, params=params, headers=self.headers)
            page = parse_mapped(response.content, source=self.source)
            mentions.extend(page)
            if not page or all(mention.id in seen for mention in page):
                break
            url, params = self._next(response.content, url, params)
        fresh, next_cursor = select_new(mentions, state, now=now)
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

"""Source types: their options (checked when alerts.yaml is loaded) and how to build a collector.

Each source type lists its options as :class:`Option` values; :func:`check_options` reports every
problem as ``(option key, message)`` so the config loader can point at the file line, and
:func:`build_collector` turns a validated :class:`SourceConfig` into a :class:`Collector`.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import httpx

from service.collect.base import Collector
from service.collect.http import Fetcher, FetchPolicy, HostLimiter

if TYPE_CHECKING:
    from service.config import SourceConfig

Check = Callable[[Any], str | None]
"""Returns a problem description for a value of the right type, ``None`` when it is fine."""


@dataclass(frozen=True, kw_only=True, slots=True)
class Option:
    kind: str
    """One of ``str``, ``int``, ``number``, ``bool``, ``list``, ``mapping``, ``str-list``,
    ``int-list``, ``str-map`` (mapping of strings to strings)."""
    required: bool = False
    check: Check | None = None
    secret: bool = False
    """A credential (token, API key, client secret): its value is masked wherever it could be logged."""


@dataclass(frozen=True, kw_only=True, slots=True)
class SourceType:
    name: str
    options: Mapping[str, Option]
    build: Callable[[SourceConfig, Fetcher], Collector]
    one_of: tuple[tuple[str, ...], ...] = field(default=())
    """Groups of options of which at least one must be given."""
    together: tuple[tuple[str, ...], ...] = field(default=())
    """Groups of options given all together or not at all (a client id and its secret)."""
    exclusive: tuple[tuple[str, ...], ...] = field(default=())
    """Pairs of options that exclude each other (a fixed token, or credentials to fetch one)."""
    http: bool = True
    """Whether the type fetches over HTTP (and so accepts :data:`COMMON_OPTIONS`)."""


def http_url(value: str) -> str | None:
    if not value.startswith(("http://", "https://")):
        shown = value.split("?")[0][:60]  # never echo a query string: it may carry an API key
        return f"must be an http:// or https:// URL, not {shown!r}"
    try:
        httpx.URL(value)
    except httpx.InvalidURL as exc:
        return f"is not a valid URL ({exc})"
    return None


def positive(value: float) -> str | None:
    return None if value > 0 else f"must be greater than 0, not {value}"


def between(low: float, high: float) -> Check:
    def check(value: float) -> str | None:
        return None if low <= value <= high else f"must be between {low:g} and {high:g}, not {value}"

    return check


def one_of(*choices: str) -> Check:
    def check(value: str) -> str | None:
        return None if value in choices else f"must be one of {', '.join(choices)}, not {value!r}"

    return check


def not_empty(value: Any) -> str | None:
    return None if len(value) else "must not be empty"


def model_years(values: list[int]) -> str | None:
    wrong = [value for value in values if not 1950 <= value <= 2100]
    return f"must be model years between 1950 and 2100, not {wrong[0]}" if wrong else None


COMMON_OPTIONS: Mapping[str, Option] = {
    "max_bytes": Option(kind="int", check=positive),
    "attempts": Option(kind="int", check=positive),
    "headers": Option(kind="str-map"),
}
"""Options every HTTP source type accepts."""

SECRET_HEADERS = frozenset({"authorization", "proxy-authorization", "x-api-key", "api-key", "x-auth-token", "cookie"})
"""Header names (lower case) whose values in a source's ``headers`` option are credentials."""


def _kind_ok(kind: str, value: Any) -> bool:
    match kind:
        case "str":
            return isinstance(value, str)
        case "int":
            return isinstance(value, int) and not isinstance(value, bool)
        case "number":
            return isinstance(value, int | float) and not isinstance(value, bool)
        case "bool":
            return isinstance(value, bool)
        case "list":
            return isinstance(value, list | tuple)
        case "str-list":
            return isinstance(value, list | tuple) and all(isinstance(v, str) for v in value)
        case "int-list":
            return isinstance(value, list | tuple) and all(
                isinstance(v, int) and not isinstance(v, bool) for v in value)
        case "mapping":
            return isinstance(value, Mapping)
        case "str-map":
            return isinstance(value, Mapping) and all(
                isinstance(k, str) and isinstance(v, str) for k, v in value.items())
    raise ValueError(f"unknown option kind {kind!r}")


_KIND_WORDS = {"str": "a string", "int": "an integer", "number": "a number", "bool": "true or false",
               "list": "a list", "str-list": "a list of strings", "int-list": "a list of integers",
               "mapping": "a mapping", "str-map": "a mapping of strings to strings"}


def _types() -> dict[str, SourceType]:
    from service.collect import sources  # the modules that define each type's options

    return {source_type.name: source_type for source_type in sources.SOURCE_TYPES}


def known_types() -> list[str]:
    return sorted(_types())


def secret_values(type: str, options: Mapping[str, Any]) -> list[str]:
    """The credentials among a source's ``options``: values of the type's secret options and of
    credential headers (to be masked in the logs)."""
    declared = _types().get(type)
    found = [str(value) for name, value in options.items()
             if value and declared is not None and (option := declared.options.get(name)) is not None and option.secret]
    headers = options.get("headers")
    if isinstance(headers, Mapping):
        found += [str(value) for name, value in headers.items() if value and str(name).lower() in SECRET_HEADERS]
    return found


def check_options(type: str, options: Mapping[str, Any]) -> list[tuple[str, str]]:
    """Every problem with a source's type-specific ``options``, as ``(key, message)`` pairs."""
    types = _types()
    source_type = types.get(type)
    if source_type is None:
        return [("type", f'unknown source type "{type}" (known types: {", ".join(sorted(types))})')]
    allowed = {**(COMMON_OPTIONS if source_type.http else {}), **source_type.options}
    problems: list[tuple[str, str]] = []
    for key, option in allowed.items():
        if option.required and key not in options:
            problems.append((key, f'missing option "{key}" required by source type "{type}"'))
    problems += _group_problems(source_type, options)
    for key, value in options.items():
        option = allowed.get(key)
        if option is None:
            problems.append((key, f'unknown option "{key}" for source type "{type}" '
                                  f'(known options: {", ".join(sorted(allowed))})'))
        elif not _kind_ok(option.kind, value):
            problems.append((key, f'option "{key}" must be {_KIND_WORDS[option.kind]}, '
                                  f"not {_describe(value)}"))
        elif option.check is not None and (problem := option.check(value)) is not None:
            problems.append((key, f'option "{key}" {problem}'))
    return problems


def _group_problems(source_type: SourceType, options: Mapping[str, Any]) -> list[tuple[str, str]]:
    """Problems with options that go in groups: one of, all together, not both."""
    problems = []
    for group in source_type.one_of:
        if not any(key in options for key in group):
            problems.append((group[0], f'source type "{source_type.name}" needs one of the options '
                                       f'{", ".join(group)}'))
    for group in source_type.together:
        given = [key for key in group if key in options]
        if given and len(given) < len(group):
            missing = [key for key in group if key not in options]
            problems.append((given[0], f'option "{given[0]}" needs the option{"s" if len(missing) > 1 else ""} '
                                       f'{", ".join(missing)} too'))
    for first, second in source_type.exclusive:
        if first in options and second in options:
            problems.append((second, f'options "{first}" and "{second}" exclude each other: give one of them'))
    return problems


def _describe(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, Mapping):
        return "a mapping"
    if isinstance(value, list | tuple):
        return "a list"
    return type(value).__name__


def build_collector(
    source: SourceConfig,
    client: httpx.Client,
    *,
    limiter: HostLimiter | None = None,
    sleep: Callable[[float], None] = time.sleep,
    rng: random.Random | None = None,
) -> Collector:
    """The collector for ``source`` (its options already validated by :func:`check_options`).

    ``limiter`` should be one instance shared by every collector of a process (the per-host
    concurrency limit); ``sleep`` and ``rng`` drive retry backoff (injected by tests).
    """
    source_type = _types().get(source.type)
    if source_type is None:
        raise ValueError(f'source "{source.name}": unknown source type "{source.type}"')
    defaults = FetchPolicy()
    policy = FetchPolicy(
        timeout=source.timeout.total_seconds(),
        attempts=int(source.options.get("attempts", defaults.attempts)),
        max_bytes=int(source.options.get("max_bytes", defaults.max_bytes)),
    )
    fetcher = Fetcher(client, policy=policy, limiter=limiter, sleep=sleep, rng=rng)
    return source_type.build(source, fetcher)

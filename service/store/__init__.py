"""State behind one contract (:class:`service.store.base.Store`), with SQLite and Redis backends."""

from __future__ import annotations

import dataclasses
import functools
import json
import types
import typing
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from enum import Enum
from typing import Any, TypeVar
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import msgspec

from service.clock import ensure_utc
from service.logs import safe_url
from service.store.base import Silence, Store, StoreError

__all__ = ["DETECTOR_STATE_PREFIX", "Store", "StoreError", "brand_of_state", "detector_state_name", "expired",
           "from_us", "open_store", "record_from_json", "record_to_json", "state_json", "to_us"]

T = TypeVar("T")

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICRO = timedelta(microseconds=1)

DETECTOR_STATE_PREFIX = "detector:"
"""States saved under ``detector:<brand>`` make ``<brand>`` appear in :meth:`Store.brands`."""


def detector_state_name(brand: str) -> str:
    """The state name under which a brand's detector state is saved (counted by ``brands()``)."""
    return f"{DETECTOR_STATE_PREFIX}{brand}"


def brand_of_state(name: str) -> str | None:
    """The brand a state name belongs to, or ``None`` for states that are not per brand."""
    if name.startswith(DETECTOR_STATE_PREFIX) and len(name) > len(DETECTOR_STATE_PREFIX):
        return name[len(DETECTOR_STATE_PREFIX):]
    return None


def expired(silence: Silence, at: datetime) -> Silence:
    """``silence`` ended at ``at`` (the contract of :meth:`Store.expire_silence`)."""
    ends = min(silence.ends_at, at)
    return dataclasses.replace(silence, starts_at=min(silence.starts_at, ends), ends_at=ends)


# -- time --------------------------------------------------------------------------------------

DAY_US = 86_400_000_000
HOUR_US = 3_600_000_000
"""A day and an hour in microseconds (the unit of :func:`to_us`)."""


def to_us(instant: datetime) -> int:
    """Microseconds since the Unix epoch of an aware datetime (exact; naive ones are refused)."""
    return (ensure_utc(instant) - EPOCH) // _MICRO


def from_us(micros: int) -> datetime:
    """The aware UTC datetime ``micros`` microseconds after the Unix epoch."""
    return EPOCH + timedelta(microseconds=int(micros))


# -- records (frozen dataclasses) <-> JSON ------------------------------------------------------

def record_to_json(record: Any) -> str:
    """Serialise a frozen dataclass (Incident, OutboxItem, Exemplar...) to compact JSON."""
    return json.dumps(_plain(record), separators=(",", ":"), ensure_ascii=False)


def record_from_json(cls: type[T], text: str | bytes) -> T:
    """Rebuild ``cls`` from :func:`record_to_json` output: datetimes, enums and tuples restored."""
    data = json.loads(text)
    hints = _hints(cls)
    values = {name: _revive(hints[name], value) for name, value in data.items() if name in hints}
    return cls(**values)


def _plain(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, datetime):
        return ensure_utc(value).isoformat()
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


@functools.cache
def _hints(cls: type) -> dict[str, Any]:
    return typing.get_type_hints(cls)


def _revive(hint: Any, value: Any) -> Any:
    if value is None:
        return None
    origin = typing.get_origin(hint)
    if origin in (types.UnionType, typing.Union):
        options = [h for h in typing.get_args(hint) if h is not type(None)]
        return _revive(options[0], value) if len(options) == 1 else value
    if hint is datetime:
        return datetime.fromisoformat(value).astimezone(UTC)
    if isinstance(hint, type) and issubclass(hint, Enum):
        return hint(value)
    if origin is tuple:
        args = typing.get_args(hint)
        inner = args[0] if args else Any
        return tuple(_revive(inner, v) for v in value)
    if origin is not None and isinstance(origin, type) and issubclass(origin, Mapping):
        args = typing.get_args(hint)
        inner = args[1] if len(args) == 2 else Any
        if inner is Any:  # free-form JSON (an outbox payload): keep it a plain, dumpable dict
            return value
        return types.MappingProxyType({k: _revive(inner, v) for k, v in value.items()})
    if dataclasses.is_dataclass(hint) and isinstance(value, dict):
        inner_hints = _hints(hint)
        return hint(**{k: _revive(inner_hints[k], v) for k, v in value.items() if k in inner_hints})
    if hint is float and isinstance(value, int):
        return float(value)
    return value


# -- opening a store by URL ---------------------------------------------------------------------

def open_store(url: str) -> Store:
    """Open the store named by ``url``.

    - ``sqlite:///relative/path.db`` or ``sqlite:////absolute/path.db`` (a file, WAL mode);
    - ``sqlite:///:memory:`` or plain ``:memory:`` (in memory, for replay and tests);
    - ``redis://[user:password@]host:port/db`` or ``rediss://...`` (TLS); an optional
      ``prefix=`` query parameter sets the key prefix (default ``cw:``).

    An unknown scheme raises :class:`ValueError` naming the accepted ones.
    """
    if url == ":memory:":
        return _sqlite(":memory:")
    scheme = urlsplit(url).scheme.lower()
    if scheme == "sqlite":
        if not url.startswith("sqlite:///"):
            raise ValueError(f"store URL {url!r}: write sqlite:///relative/path.db, "
                             "sqlite:////absolute/path.db or sqlite:///:memory:")
        path = url[len("sqlite:///"):]
        if not path:
            raise ValueError(f"store URL {url!r} names no database file")
        return _sqlite(path)
    if scheme in ("redis", "rediss"):
        from service.store.redis import RedisStore

        redis_url, prefix = split_prefix(url)
        return RedisStore(redis_url, prefix=prefix) if prefix is not None else RedisStore(redis_url)
    raise ValueError(f"unsupported store URL {safe_url(url)!r}: expected sqlite:///path.db, sqlite:///:memory:, "
                     ":memory:, redis://host:port/db or rediss://host:port/db")


def _sqlite(path: str) -> Store:
    from service.store.sqlite import SQLiteStore

    return SQLiteStore(path)


def split_prefix(url: str) -> tuple[str, str | None]:
    """Remove our own ``prefix=`` query parameter (redis-py would reject it)."""
    parts = urlsplit(url)
    query = parse_qsl(parts.query, keep_blank_values=True)
    prefixes = [v for k, v in query if k == "prefix"]
    rest = [(k, v) for k, v in query if k != "prefix"]
    return urlunsplit(parts._replace(query=urlencode(rest))), (prefixes[-1] if prefixes else None)


_STATE_JSON = msgspec.json.Encoder()
_STATE_JSON_READ = msgspec.json.Decoder()


def state_json(state: Mapping[str, Any]) -> str:
    """``json.dumps`` of the state, compact, as both stores save it. Written through msgspec (several
    times faster on the detectors' float histories, saved at every checkpoint) when that reads back
    as the very same values; else (a NaN or an infinity, which msgspec writes as ``null``, a tuple, a
    non-string key, a value msgspec does not take) by ``json.dumps`` itself."""
    data = dict(state)
    try:
        fast = _STATE_JSON.encode(data)
        if _STATE_JSON_READ.decode(fast) == data:
            return fast.decode()
    except (TypeError, ValueError, OverflowError, msgspec.DecodeError):
        pass
    return json.dumps(data, separators=(",", ":"))

"""The scheduler lease: exactly one active scheduler, with a fencing token.

``SET lease "<token>:<holder>" NX PX ttl`` acquires it; the token comes from ``INCR fence`` in the
same script, so every new holder gets a larger token. The holder renews it (``PEXPIRE`` only while
the value is still its own) every third of the TTL, and stops acting as soon as a renewal fails or
its local validity (the last successful renewal + ``ttl * SAFETY``) has passed, whichever comes
first. Writes that must never come from a stale holder carry the lease value and are checked inside
the same script (:meth:`service.scale.stream.MentionStream.add`).

>>> LeaseState(value="7:host-1", valid_until=10.0).held(at=9.0)
True
>>> LeaseState(value="7:host-1", valid_until=10.0).token
7
"""

from __future__ import annotations

import logging
import os
import secrets
import socket
from dataclasses import dataclass
from datetime import timedelta

import redis

from service.clock import Clock
from service.store.keys import Keys

log = logging.getLogger("crisiswatch.scale.lease")

SAFETY = 0.8
"""Fraction of the TTL after the last renewal during which the holder still acts (clock drift margin)."""


@dataclass(frozen=True, kw_only=True, slots=True)
class LeaseState:
    value: str | None
    valid_until: float
    """Monotonic instant until which the holder may act without renewing."""

    @property
    def token(self) -> int | None:
        return int(self.value.split(":", 1)[0]) if self.value else None

    def held(self, *, at: float) -> bool:
        return self.value is not None and at < self.valid_until


def holder_name() -> str:
    """``host:pid:random``: unique per process, readable in ``GET lease``."""
    return f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(3)}"


class Lease:
    """Acquire, renew and release the scheduler lease (thread-safe: one method call at a time)."""

    def __init__(self, client: redis.Redis, keys: Keys, clock: Clock, *, ttl: timedelta = timedelta(seconds=15),
                 holder: str | None = None) -> None:
        self.client, self.keys, self.clock, self.ttl = client, keys, clock, ttl
        self.holder = holder or holder_name()
        self.state = LeaseState(value=None, valid_until=0.0)
        self._acquire = client.register_script(_ACQUIRE)
        self._renew = client.register_script(_RENEW)
        self._release = client.register_script(_RELEASE)

    @property
    def value(self) -> str | None:
        """The lease value while held (passed to fenced writes), else ``None``."""
        return self.state.value if self.held() else None

    def held(self) -> bool:
        return self.state.held(at=self.clock.monotonic())

    def keep(self) -> bool:
        """Acquire the lease when free, renew it when ours; return whether we hold it now.

        Connection errors count as "not held" (the lease may expire meanwhile): never raises them."""
        started = self.clock.monotonic()
        ttl_ms = int(self.ttl.total_seconds() * 1000)
        try:
            if self.state.value is not None and self._renew(keys=[self.keys.lease()], args=[self.state.value, ttl_ms]):
                self.state = LeaseState(value=self.state.value, valid_until=started + self.ttl.total_seconds() * SAFETY)
                return True
            if self.state.value is not None:
                log.warning("scheduler lease %s lost", self.state.value)
            value = self._acquire(keys=[self.keys.lease(), self.keys.fence()], args=[self.holder, ttl_ms])
        except redis.RedisError as exc:
            if self.state.value is not None:
                log.warning("scheduler lease not renewed: %s", exc)
            self.state = LeaseState(value=self.state.value if self.held() else None, valid_until=self.state.valid_until)
            return self.held()
        if value:
            log.info("scheduler lease acquired: %s", value)
            self.state = LeaseState(value=value, valid_until=started + self.ttl.total_seconds() * SAFETY)
            return True
        self.state = LeaseState(value=None, valid_until=0.0)
        return False

    def release(self) -> None:
        """Give the lease up (at shutdown) so that another scheduler takes over at once."""
        value, self.state = self.state.value, LeaseState(value=None, valid_until=0.0)
        if value is None:
            return
        try:
            self._release(keys=[self.keys.lease()], args=[value])
        except redis.RedisError as exc:
            log.warning("scheduler lease not released (it expires by itself): %s", exc)


# KEYS: lease, fence. ARGV: holder, ttl ms. Returns the new value, or false when someone else holds it. When the
# holder is already ours (a retry of a call whose reply was lost, or a renewal whose reply was lost) it is ours
# still: kept, with a fresh TTL (never shorter than the validity the caller counts from its call).
_ACQUIRE = """
local current = redis.call('GET', KEYS[1])
if current then
  local _, holder = string.match(current, '^(%d+):(.*)$')
  if holder ~= ARGV[1] then return false end
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return current
end
local value = redis.call('INCR', KEYS[2]) .. ':' .. ARGV[1]
redis.call('SET', KEYS[1], value, 'PX', ARGV[2])
return value
"""

_RENEW = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return 0
"""

_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""

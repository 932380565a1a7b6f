"""HTTP of the scale-out roles: ``/healthz``, ``/readyz``, ``/metrics`` and ``POST /v1/mentions``.

Every ``crisiswatch run --role scheduler|worker`` process serves these on ``CRISISWATCH_LISTEN`` (or
``http.listen``), so an orchestrator can probe each process and Prometheus can scrape each one. When
the address is taken (several roles on one host without their own ``CRISISWATCH_LISTEN``) the role
logs it and works without HTTP. ``POST /v1/mentions`` (same body, token and errors as the single
process) appends the valid mentions to the mention stream, where the workers count them: the answer
is ``202`` with ``queued`` (deduplication happens in the workers, so ``new``/``duplicates`` are not
known yet), or ``503`` with ``Retry-After`` while Redis is unreachable (nothing was queued).
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import redis
from prometheus_client import CollectorRegistry, Counter, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from service.clock import Clock
from service.config import Config
from service.domain import Mention
from service.scale.stream import MentionStream
from service.store.base import StoreError
from service.store.redis import RedisStore

log = logging.getLogger("crisiswatch.scale.http")


@dataclass(frozen=True, kw_only=True, slots=True)
class Queued:
    """What ``POST /v1/mentions`` did in scaled-out mode: mentions appended to the stream."""

    queued: int


class RoleMetrics:
    """Counters of one role process, and the stream's figures read from Redis at scrape time."""

    def __init__(self, role: str, stream: MentionStream, status: Callable[[], dict[str, float]]) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.queued = Counter("crisiswatch_mentions_queued", "Mentions appended to the stream by POST /v1/mentions",
                              registry=self.registry)
        self.rejected = Counter("crisiswatch_mentions_rejected", "Invalid mention records refused by the ingest API",
                                registry=self.registry)
        self.registry.register(_StreamCollector(role, stream, status))

    def render(self) -> bytes:
        return generate_latest(self.registry)


class _StreamCollector(Collector):
    def __init__(self, role: str, stream: MentionStream, status: Callable[[], dict[str, float]]) -> None:
        self.role, self.stream, self.status = role, stream, status

    def collect(self) -> Iterator[GaugeMetricFamily]:
        info = GaugeMetricFamily("crisiswatch_role", "The scale-out role of this process", labels=["role"])
        info.add_metric([self.role], 1)
        yield info
        up = GaugeMetricFamily("crisiswatch_redis_up", "1 when Redis answered this scrape")
        try:
            figures = {"crisiswatch_stream_length": float(self.stream.client.xlen(self.stream.name)),
                       "crisiswatch_stream_pending": float(self.stream.pending()),
                       "crisiswatch_dead_letters": float(self.stream.dead_letter_count())}
        except redis.RedisError:
            up.add_metric([], 0)
            figures = {}
        else:
            up.add_metric([], 1)
        yield up
        helps = {"crisiswatch_stream_length": "Entries in the mention stream (trimmed up to the watermark)",
                 "crisiswatch_stream_pending": "Stream entries delivered to a worker and not yet acknowledged",
                 "crisiswatch_dead_letters": "Entries moved to the dead-letter stream (poison entries), kept"}
        for name, value in figures.items():
            family = GaugeMetricFamily(name, helps[name])
            family.add_metric([], value)
            yield family
        for name, value in self.status().items():
            family = GaugeMetricFamily(f"crisiswatch_{self.role}_{name}", f"{self.role} {name.replace('_', ' ')}")
            family.add_metric([], value)
            yield family


class RoleRuntime:
    """What the HTTP API of a role reads and does (the role's counterpart of ``api.runtime.Runtime``)."""

    atomic_ingest = True
    """Pushed mentions go to the stream; workers count each once: after a failure a resend is always safe."""

    def __init__(self, *, role: str, config: Config, store: RedisStore, stream: MentionStream, clock: Clock,
                 status: Callable[[], dict[str, float]], stopping: threading.Event) -> None:
        self.role, self.config, self.store, self.stream, self.clock = role, config, store, stream, clock
        self.status, self.stopping = status, stopping
        self.metrics = RoleMetrics(role, stream, status)

    def ingest(self, mentions: Sequence[Mention]) -> Queued:
        """Append to the stream (unfenced: API clients are producers, not the scheduler)."""
        try:
            self.stream.add(list(mentions))
        except redis.RedisError as exc:
            raise StoreError(f"mentions not queued: Redis unavailable: {exc}") from exc
        self.metrics.queued.inc(len(mentions))
        return Queued(queued=len(mentions))

    def ingest_token(self) -> str | None:
        from service.api.ingest import configured_token

        return configured_token(self.config)

    def readiness(self) -> dict[str, Any]:
        """Ready while Redis answers and the role is not stopping; the dead letters are shown (and
        named as a problem) without making the process unready: restarting would not fix them."""
        checks: dict[str, Any] = {"store": True, "stopping": self.stopping.is_set()}
        result: dict[str, Any] = {"role": self.role}
        try:
            self.store.ping()
            result["dead_letters"] = self.stream.dead_letter_count()
            result["pending"] = self.stream.pending()
        except (StoreError, redis.RedisError) as exc:
            checks["store"] = False
            result["store_error"] = f"{type(exc).__name__}: {exc}"
        result |= {name: value for name, value in self.status().items()}
        if result.get("dead_letters"):
            result["problems"] = [f"{result['dead_letters']} stream entries could not be processed: see "
                                  f"XRANGE {self.store.keys.dead_letters()} - + (each with its error)"]
        result["ready"] = checks["store"] and not checks["stopping"]
        result["checks"] = checks
        return result


def listen_address(config: Config) -> str:
    return os.environ.get("CRISISWATCH_LISTEN") or config.listen


class RoleServer:
    """uvicorn in a thread of its own, serving :func:`service.api.app.create_role_app`."""

    def __init__(self, runtime: RoleRuntime, listen: str) -> None:
        from service.api.app import create_role_app
        from service.api.server import ApiServer, parse_listen

        host, port = parse_listen(listen)
        self.server = ApiServer(create_role_app(runtime), host=host, port=port)
        self.listen = listen
        self.thread = threading.Thread(target=self._serve, name="role-http", daemon=True)

    def _serve(self) -> None:
        try:
            self.server.run()
        except SystemExit:  # uvicorn exits when it cannot bind
            pass
        finally:
            self.server.listening.set()

    def start(self, timeout: float = 10.0) -> tuple[str, int] | None:
        """Start serving; the bound address, or ``None`` when it could not listen (logged)."""
        self.thread.start()
        self.server.listening.wait(timeout)
        if self.server.address is None:
            log.warning("cannot serve HTTP on %s (address in use or not allowed): this %s runs without "
                        "/healthz, /readyz and /metrics; give each process its own CRISISWATCH_LISTEN",
                        self.listen, "process")
            return None
        log.info("serving /healthz, /readyz, /metrics and /v1/mentions on %s:%d", *self.server.address)
        return self.server.address

    def stop(self) -> None:
        self.server.should_exit = True
        if self.thread.is_alive():
            self.thread.join(timeout=15)

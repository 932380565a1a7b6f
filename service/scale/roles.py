"""Entry points of ``crisiswatch run --role scheduler`` and ``--role worker`` (blocking until SIGTERM).

Both need a Redis store (``store:`` in alerts.yaml or ``CRISISWATCH_STORE``: ``redis://`` or
``rediss://``, with ``user:password@`` for ACL users). Redis being away at start or later is waited
out with capped backoff (no crash loop); a refused password stops the process with status 2. SIGHUP
reloads the configuration file, validated first (an invalid one is logged and the running configuration
stays, as in ``--role all``); store and ``http.listen`` changes need a restart.
"""

from __future__ import annotations

import contextlib
import logging
import math
import os
import signal
import socket
import threading
from collections.abc import Callable, Iterator, Mapping
from datetime import timedelta
from typing import TYPE_CHECKING, Any

import httpx
import redis
from redis.backoff import ExponentialBackoff
from redis.retry import Retry

from service.clock import Clock, SystemClock
from service.config import Config, ConfigErrors, OpsConfig, load_config
from service.domain import Mention
from service.housekeeping import HOUSEKEEPING_EVERY, housekeep
from service.notify.base import Notifier
from service.pipeline import Pipeline
from service.scale.http import RoleRuntime, RoleServer, listen_address
from service.scale.lease import Lease
from service.scale.stream import MentionStream, NotLeader
from service.scale.ticker import Ticker, WorkersBehind
from service.scale.worker import Backoff, Worker, WorkerSettings
from service.store import split_prefix
from service.store.base import StoreError
from service.store.keys import DEFAULT_PREFIX
from service.store.redis import RedisStore, client_options

if TYPE_CHECKING:
    from service.collect.runner import CollectionRunner

log = logging.getLogger("crisiswatch.scale")

EXIT_OK, EXIT_USAGE = 0, 2
TICK_EVERY = timedelta(seconds=15)
DELIVER_EVERY = timedelta(seconds=5)
LEASE_TTL = timedelta(seconds=15)
TICK_WAIT = timedelta(seconds=10)
"""How long a tick waits for the workers to catch up before it is skipped (tried again next time)."""


class NotRedis(ValueError):
    """The configured store is not a Redis URL (scale-out roles need Redis)."""


def connect(url: str) -> tuple[RedisStore, redis.Redis]:
    """The store and a raw client (streams, lease) on the same server, with reconnect and backoff."""
    if not url.startswith(("redis://", "rediss://")):
        raise NotRedis(f"--role scheduler/worker needs a redis:// or rediss:// store, not {url.split('://')[0]}")
    redis_url, prefix = split_prefix(url)
    store = RedisStore(redis_url, prefix=prefix or DEFAULT_PREFIX)
    client = redis.Redis.from_url(redis_url, decode_responses=True, socket_connect_timeout=5, socket_timeout=15,
                                  health_check_interval=30,
                                  retry=Retry(ExponentialBackoff(cap=2.0, base=0.05), retries=3),
                                  retry_on_error=[redis.ConnectionError, redis.TimeoutError],
                                  **client_options(redis_url))
    return store, client


def wait_for_redis(store: RedisStore, stop: threading.Event) -> bool:
    """Block until Redis answers (``False`` when stopped first); a refused password raises."""
    backoff = Backoff(0.1, 5.0)
    while not stop.is_set():
        try:
            store.ping()
            return True
        except StoreError as exc:
            if not exc.retryable:
                raise
            delay = backoff.next()
            log.warning("Redis unreachable (%s); retrying in %.1fs", exc, delay)
            stop.wait(delay)
    return False


@contextlib.contextmanager
def _signals(stop: threading.Event) -> Iterator[threading.Event]:
    """SIGINT/SIGTERM set ``stop``; SIGHUP sets the event yielded (a reload is asked), so that it never
    kills the role. In the main thread only; the previous handlers are restored at the end."""
    reload_asked = threading.Event()
    if threading.current_thread() is not threading.main_thread():
        yield reload_asked
        return
    handlers = {signal.SIGINT: lambda *_: stop.set(), signal.SIGTERM: lambda *_: stop.set(),
                signal.SIGHUP: lambda *_: reload_asked.set()}
    previous = {signum: signal.signal(signum, handler) for signum, handler in handlers.items()}
    try:
        yield reload_asked
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


def _reload_when_asked(asked: threading.Event, stop: threading.Event, reload: Callable[[], None],
                       role: str) -> threading.Thread:
    """A thread that runs ``reload`` after each SIGHUP (``asked``) until ``stop``; a reload that fails
    is logged and the running configuration stays."""

    def loop() -> None:
        while not stop.is_set():
            if asked.wait(0.2) and not stop.is_set():
                asked.clear()
                try:
                    reload()
                except Exception:
                    log.exception("%s: reload failed, the running configuration stays", role)

    thread = threading.Thread(target=loop, name=f"{role}-reload", daemon=True)
    thread.start()
    return thread


def reread_config(current: Config) -> Config | None:
    """The configuration file of ``current`` read and validated again after SIGHUP, its secrets masked in
    the logs from now on; ``None`` (logged) when it is invalid: the running configuration stays."""
    from service.app import config_secrets
    from service.logs import register_secrets

    log.info("received SIGHUP, reloading %s", current.path)
    try:
        config = load_config(current.path)
    except ConfigErrors as exc:
        _not_reloaded(current, "; ".join(str(error) for error in exc.errors))
        return None
    register_secrets(config_secrets(config))
    if config.store != current.store or listen_address(config) != listen_address(current):
        log.warning("store and http.listen changes take effect at the next restart")
    return config


def _not_reloaded(current: Config, reason: str) -> None:
    log.error("configuration %s not reloaded, the running configuration stays: %s", current.path, reason)


def _reloaded(config: Config) -> None:
    log.info("configuration reloaded from %s: %d brands, %d sources, %d teams", config.path, len(config.brands),
             len(config.sources), len(config.teams))


def _pipeline(config: Config, store: RedisStore, clock: Clock, notifiers: Mapping[str, Notifier],
              delivery_lock: threading.Lock | None = None) -> Pipeline:
    from service.app import build_pipeline

    return build_pipeline(config, store, clock, notifiers, delivery_lock=delivery_lock)


# -- worker --------------------------------------------------------------------------------------

def settings_from_env(environ: Mapping[str, str] | None = None) -> WorkerSettings:
    """``CRISISWATCH_CLAIM_IDLE`` (seconds an entry may stay pending in a silent worker before another
    takes it over, default 30) and ``CRISISWATCH_WORKER_BATCH`` (entries per read, default 500)."""
    env = os.environ if environ is None else environ
    defaults = WorkerSettings()
    idle = _env_number(env, "CRISISWATCH_CLAIM_IDLE", defaults.claim_idle_ms / 1000, float,
                       "a number of seconds greater than 0, e.g. 30")
    batch = int(_env_number(env, "CRISISWATCH_WORKER_BATCH", defaults.batch, int, "a whole number of at least 1, "
                            "e.g. 500"))
    return WorkerSettings(batch=batch, claim_idle_ms=max(1, int(idle * 1000)),
                          claim_every=min(defaults.claim_every, max(idle / 2, 0.2)))


def _env_number(env: Mapping[str, str], name: str, default: float, kind: type[int] | type[float],
                expected: str) -> float:
    """The positive number ``name`` holds (``default`` when unset or blank); :class:`UsageError`
    naming the variable otherwise."""
    from service.cli import UsageError

    text = env.get(name, "").strip()
    if not text:
        return default
    try:
        value = kind(text)
    except ValueError:
        value = None
    if value is None or not math.isfinite(value) or value <= 0:
        raise UsageError(f"{name} must be {expected}, got {text!r}")
    return value


def _connect_role(config: Config, stop: threading.Event) -> tuple[Any, Any] | int:
    """Common start of a role: connect to Redis and wait until it answers.
    Returns (store, client), or the exit status when the role must not start."""
    try:
        store, client = connect(config.store)
        if not wait_for_redis(store, stop):
            return EXIT_OK
    except (NotRedis, StoreError) as exc:
        log.error("%s", exc)
        return EXIT_USAGE
    return store, client


def run_worker(config: Config, *, name: str | None = None, settings: WorkerSettings | None = None,
               stop: threading.Event | None = None, clock: Clock | None = None) -> int:
    """Consume the mention stream until ``stop`` (or SIGTERM/SIGINT); SIGHUP reloads the configuration
    (brands' queries and detection settings, ingest token); the exit status."""
    settings = settings or settings_from_env()  # a bad variable is refused before waiting for Redis
    stop = stop or threading.Event()
    with _signals(stop) as reload_asked:
        return _run_worker(config, name, settings, stop, clock or SystemClock(), reload_asked)


def _run_worker(config: Config, name: str | None, settings: WorkerSettings, stop: threading.Event, clock: Clock,
                reload_asked: threading.Event) -> int:
    connected = _connect_role(config, stop)
    if isinstance(connected, int):
        return connected
    store, client = connected
    name = name or os.environ.get("CRISISWATCH_WORKER_NAME") or f"{socket.gethostname()}:{os.getpid()}"
    worker = Worker(stream=MentionStream(client, store.keys), store=store, pipeline=_pipeline(config, store, clock, {}),
                    name=name, clock=clock, settings=settings)

    def status() -> dict[str, float]:
        last = worker.last_batch_at
        return {"processed_entries": worker.processed, "dead_lettered_entries": worker.dead_lettered,
                "seconds_since_last_batch": -1.0 if last is None else clock.monotonic() - last}

    runtime = RoleRuntime(role="worker", config=config, store=store, stream=worker.stream, clock=clock,
                          status=status, stopping=stop)
    server = _serve_http(runtime, listen_address(config))

    def reload() -> None:
        new = reread_config(runtime.config)
        if new is None:
            return
        try:
            pipeline = _pipeline(new, store, clock, {})
        except Exception as exc:  # a model or lexicon that does not load: keep running as is
            _not_reloaded(runtime.config, f"{type(exc).__name__}: {exc}")
            return
        worker.pipeline, runtime.config = pipeline, new
        _reloaded(new)

    _reload_when_asked(reload_asked, stop, reload, "worker")
    log.info("worker %s consuming %s", name, worker.stream.name)
    try:
        worker.run(stop)
    finally:
        if server is not None:
            server.stop()
        store.close()
        client.close()
    log.info("worker %s stopped after %d entries", name, worker.processed)
    return EXIT_OK


# -- scheduler -----------------------------------------------------------------------------------

class Scheduler:
    """The scheduler role's work, one method per scheduled job; every job acts only under the lease."""

    def __init__(self, config: Config, *, store: RedisStore, client: redis.Redis, clock: Clock,
                 notifiers: Mapping[str, Notifier], lease_ttl: timedelta = LEASE_TTL) -> None:
        self.config, self.store, self.clock, self.notifiers = config, store, clock, notifiers
        self.stream = MentionStream(client, store.keys)
        self.lease = Lease(client, store.keys, clock, ttl=lease_ttl)
        self.ticker: Ticker | None = None
        self.delivery_lock = threading.Lock()
        """Shared by the dispatchers of every pipeline this scheduler builds (a failed tick rebuilds it)."""
        self.swap_lock = threading.Lock()
        """Held by a tick and by a reload: a reload never swaps the pipeline in the middle of a tick."""
        self.jobs: Any = None
        """The APScheduler running the collections (set by :func:`run_scheduler`; a reload reschedules them)."""
        self.retry_reload: Callable[[], None] | None = None
        """Asks for the configuration file to be read again and reloaded (set by :func:`run_scheduler`: it
        wakes the reload thread, as SIGHUP does): a held-back reload is redone from the file as it is
        then, never from a copy an operator may have replaced since."""
        self.pending_reload = False
        """A reload was held back because the store refused the checkpoint: redone after the next good tick."""
        self.runner = self._runner(config)

    def _runner(self, config: Config) -> CollectionRunner:
        from service.app import slack_settings
        from service.collect.runner import CollectionRunner
        from service.notify.ops import ops_notifier

        token, webhook, api_url = slack_settings(config)
        ops = config.ops or OpsConfig()
        return CollectionRunner(config.sources, store=self.store, clock=self.clock, sink=self.append,
                                client_factory=lambda: httpx.Client(follow_redirects=True),
                                on_ops=ops_notifier(config, slack_token=token, slack_webhook_url=webhook,
                                                    slack_api_url=api_url, clock=self.clock),
                                fail_after=ops.fail_after, silent_after=ops.silent_after)

    def schedule_collectors(self, jobs: Any) -> list[str]:
        """One job per enabled source, each run through :meth:`collect` (only while the lease is held)."""
        self.jobs = jobs
        ids = self.runner.schedule(jobs)
        for job_id in ids:
            jobs.modify_job(job_id, func=_guard, args=[self.collect, job_id.split(":", 1)[1]])
        return ids

    def reload(self, config: Config, notifiers: Mapping[str, Notifier]) -> bool:
        """Switch to ``config`` (validated): the detection pipeline is rebuilt with it (the running one
        checkpointed first, so the new one resumes where it stopped), and the collectors are replaced
        when their settings changed. Raises, with the running configuration kept, when the new
        pipeline cannot be built (a model that does not load). ``False``: postponed, the store refused
        the checkpoint (redone after the next good tick through :attr:`retry_reload`)."""
        from service.api.runtime import _runner_inputs, carry_over

        pipeline = _pipeline(config, self.store, self.clock, notifiers, self.delivery_lock)
        old_config = self.config
        with self.swap_lock:
            ticker = self.ticker
            if ticker is not None:
                old = ticker.pipeline
                if self.lease.held():
                    try:
                        with self.store.fenced_as(ticker.fence_token):
                            old.checkpoint(self.clock.now())
                    except (StoreError, redis.RedisError) as exc:
                        # Switching now would restart the detectors from an older checkpoint than the one
                        # they are at: keep the running pipeline, switch after the next successful tick.
                        self.pending_reload = True
                        log.error("configuration not reloaded yet (%s): the running configuration stays until "
                                  "the store answers", exc)
                        return False
                carry_over(old, pipeline)  # what a failed tick left: alert events, unsaved incidents
                ticker.pipeline = pipeline
            self.config, self.notifiers = config, notifiers  # what later rebuilds (a failed tick, a new lease) use
            self.pending_reload = False
        if _runner_inputs(config) != _runner_inputs(old_config):
            old_runner, self.runner = self.runner, self._runner(config)
            if self.jobs is not None:
                old_runner.unschedule(self.jobs)
                self.schedule_collectors(self.jobs)
            closer = threading.Timer(60.0, old_runner.close)  # a collection still running finishes first
            closer.daemon = True
            closer.start()
        return True

    def append(self, mentions: list[Mention]) -> None:
        """The collectors' sink: append to the stream, fenced by our lease (raises when not held)."""
        value = self.lease.value
        if value is None:
            raise NotLeader("this scheduler does not hold the lease")
        self.stream.add(mentions, fence=value)

    def keep_lease(self) -> None:
        was = self.ticker is not None
        if self.lease.keep():
            # Newly active, or active again under a newer token (the lease expired, another scheduler held it
            # meanwhile, and this one took it back): claim the fence with the new token, then resume detectors
            # and cursors from the last checkpoint, in a ticker whose writes carry that token, rather than from
            # this process's stale memory. A tick still running on the old ticker keeps the old token, so its
            # writes are refused; a claim that fails leaves the old ticker, and the next renewal claims again.
            token = self.lease.state.token
            if self.ticker is None or self.ticker.fence_token != token:
                self.store.claim_fence(token or 0, sorted(set(self.store.brands()) | set(self.config.brands)))
                self.store.fence_token = token  # carried by the writes made outside a ticker (housekeeping)
                self.stream.ensure_group()
                with self.swap_lock:  # built from the configuration a concurrent reload may be switching to
                    self.ticker = Ticker(build=lambda: _pipeline(self.config, self.store, self.clock,
                                                                 self.notifiers, self.delivery_lock),
                                         stream=self.stream, store=self.store, clock=self.clock, fence_token=token)
        elif was:
            log.warning("no longer the active scheduler: collections and ticks stop here")
            self.ticker = None

    def collect(self, source: str) -> None:
        if self.lease.held():
            self.runner.run_source(source)

    def tick(self) -> None:
        with self.swap_lock:
            ticker = self.ticker
            if ticker is None or not self.lease.held():
                return
            try:
                alerts = ticker.tick(self.stream.last_id(), timeout=TICK_WAIT)
            except WorkersBehind as exc:
                log.warning("tick skipped: workers are behind (%s)", exc)
                return
            except (StoreError, redis.RedisError) as exc:
                log.warning("tick failed, tried again at the next one: %s", exc)
                return
        for alert in alerts:
            log.info("alert %s %s %s %s", alert.incident_id, alert.state, alert.severity, alert.summary)
        if self.pending_reload and self.retry_reload is not None:  # the store answers again
            self.pending_reload = False
            log.info("retrying the configuration reload postponed by a store failure")
            self.retry_reload()

    def status(self) -> dict[str, float]:
        """For /readyz and /metrics: whether this scheduler is the active one, and its fencing token."""
        return {"leader": 1.0 if self.lease.held() else 0.0, "fencing_token": float(self.lease.state.token or 0)}

    def deliver(self) -> None:
        ticker = self.ticker
        if ticker is not None and self.lease.held() and ticker.pipeline.dispatcher is not None:
            with self.store.fenced_as(ticker.fence_token):
                ticker.pipeline.dispatcher.deliver_due(self.clock.now())

    def housekeep(self) -> None:
        """Retention (:mod:`service.housekeeping`), by the active scheduler only."""
        if self.lease.held():
            housekeep(self.store, self.clock.now())

    def close(self) -> None:
        ticker = self.ticker
        if ticker is not None and self.lease.held():
            try:
                with self.store.fenced_as(ticker.fence_token):
                    ticker.pipeline.checkpoint(self.clock.now())
            except StoreError as exc:
                log.warning("final checkpoint failed: %s", exc)
        self.lease.release()
        self.runner.close()


def _serve_http(runtime: RoleRuntime, listen: str) -> RoleServer | None:
    """Serve the role's HTTP API (see :mod:`service.scale.http`); ``None`` when it cannot listen."""
    try:
        server = RoleServer(runtime, listen)
    except ValueError as exc:
        log.warning("%s: this %s runs without HTTP", exc, runtime.role)
        return None
    return server if server.start() is not None else None


def _guard(work: Any, *args: Any) -> None:
    try:
        work(*args)
    except Exception:
        log.exception("%s failed; it runs again at its next turn", getattr(work, "__name__", work))


def run_scheduler(config: Config, *, stop: threading.Event | None = None, clock: Clock | None = None,
                  notifiers: Mapping[str, Notifier] | None = None, lease_ttl: timedelta = LEASE_TTL) -> int:
    """Compete for the lease; while held, collect into the stream, tick and deliver. Blocks until
    ``stop`` (or SIGTERM/SIGINT); SIGHUP reloads the configuration. Returns the exit status."""
    stop = stop or threading.Event()
    with _signals(stop) as reload_asked:
        return _run_scheduler(config, stop, clock or SystemClock(), notifiers, lease_ttl, reload_asked)


def _run_scheduler(config: Config, stop: threading.Event, clock: Clock, given: Mapping[str, Notifier] | None,
                   lease_ttl: timedelta, reload_asked: threading.Event) -> int:
    from apscheduler.schedulers.background import BackgroundScheduler

    from service.app import build_notifiers

    connected = _connect_role(config, stop)
    if isinstance(connected, int):
        return connected
    store, client = connected
    notifiers = dict(given) if given is not None else build_notifiers(config, console=True, slack=True)
    role = Scheduler(config, store=store, client=client, clock=clock, notifiers=notifiers, lease_ttl=lease_ttl)
    runtime = RoleRuntime(role="scheduler", config=config, store=store, stream=role.stream, clock=clock,
                          status=role.status, stopping=stop)
    server = _serve_http(runtime, listen_address(config))
    jobs = BackgroundScheduler(timezone="UTC")
    every = {"max_instances": 1, "coalesce": True}
    jobs.add_job(_guard, "interval", args=[role.keep_lease], seconds=lease_ttl.total_seconds() / 3, id="lease",
                 **every)
    jobs.add_job(_guard, "interval", args=[role.tick], seconds=TICK_EVERY.total_seconds(), id="tick", **every)
    jobs.add_job(_guard, "interval", args=[role.deliver], seconds=DELIVER_EVERY.total_seconds(), id="deliver",
                 **every)
    jobs.add_job(_guard, "interval", args=[role.housekeep], seconds=HOUSEKEEPING_EVERY.total_seconds(),
                 id="housekeeping", **every)
    _guard(role.keep_lease)
    jobs.start()
    role.schedule_collectors(jobs)

    def reload() -> None:  # on the reload thread only: one at a time
        new = reread_config(role.config)
        if new is None:
            return
        try:
            done = role.reload(new, dict(given) if given is not None else build_notifiers(new, console=True,
                                                                                             slack=True))
        except Exception as exc:  # a model or lexicon that does not load: keep running as is
            _not_reloaded(role.config, f"{type(exc).__name__}: {exc}")
            return
        if done:
            runtime.config = new
            _reloaded(new)

    # A held-back reload is redone on the reload thread, as if SIGHUP came: never inside the tick job, where
    # rescheduling the collectors would wait on APScheduler's lock, which a shutdown holds while it waits
    # for that very job.
    role.retry_reload = reload_asked.set

    _reload_when_asked(reload_asked, stop, reload, "scheduler")
    log.info("scheduler %s started (%s the lease): %d sources", role.lease.holder,
             "holds" if role.lease.held() else "waiting for", len(config.sources))
    try:
        while not stop.wait(1.0):
            pass
    finally:
        jobs.shutdown(wait=True)
        if server is not None:
            server.stop()
        role.close()
        store.close()
        client.close()
    log.info("scheduler stopped")
    return EXIT_OK

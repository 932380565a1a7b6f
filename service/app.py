"""Builds every component from a :class:`Config`; start-up, hot reload and shutdown of the service.

``build_pipeline`` is shared by ``crisiswatch run`` (wall clock, scheduler, notifiers) and
``crisiswatch replay`` (simulated clock, in-memory store): there is no second implementation.

:class:`Service` runs in one asyncio event loop: uvicorn serves the HTTP API and an APScheduler
``AsyncIOScheduler`` triggers collections, detection ticks and alert delivery, which run in
thread-pool executors so the loop stays responsive. SIGHUP or a change of the configuration file
reloads it (validated first: an invalid file is reported and the running configuration stays);
SIGINT/SIGTERM stop it gracefully: running jobs finish, the outbox is flushed, clients close.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import threading
from collections.abc import Coroutine, Mapping
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from service import __version__
from service.api.metrics import ServiceMetrics
from service.api.runtime import Runtime
from service.api.server import ApiServer, parse_listen
from service.clock import Clock, SystemClock
from service.collect.registry import secret_values
from service.config import Config
from service.detect.resemblance import load_archetypes
from service.enrich.enricher import Enricher
from service.enrich.lexicon import load_lexicon
from service.enrich.negativity import load_scorer
from service.housekeeping import HOUSEKEEPING_EVERY
from service.logs import register_secrets, safe_url
from service.notify.base import Notifier
from service.notify.console import ConsoleNotifier
from service.notify.outbox import Dispatcher
from service.pipeline import Pipeline
from service.store import open_store
from service.store.base import Store, StoreError

log = logging.getLogger("crisiswatch")

TICK_EVERY = timedelta(seconds=15)
DELIVER_EVERY = timedelta(seconds=5)
WATCH_EVERY = timedelta(seconds=2)
SHUTDOWN_GRACE = timedelta(seconds=30)
"""How long a stop waits for running collections and ticks before closing anyway."""


def slack_settings(config: Config) -> tuple[str | None, str | None, str | None]:
    """Bot token, webhook URL and API base URL: the environment wins over alerts.yaml."""
    token = os.environ.get("SLACK_BOT_TOKEN") or (config.slack.bot_token.reveal() if config.slack.bot_token else None)
    webhook = os.environ.get("SLACK_WEBHOOK_URL") or (
        config.slack.webhook_url.reveal() if config.slack.webhook_url else None)
    api_url = os.environ.get("SLACK_API_URL") or config.slack.api_url
    if api_url and not api_url.endswith("/"):
        api_url += "/"
    return token or None, webhook or None, api_url or None


def build_notifiers(config: Config, *, console: bool, slack: bool) -> dict[str, Notifier]:
    notifiers: dict[str, Notifier] = {}
    if console:
        notifiers["console"] = ConsoleNotifier()
    if slack:
        from service.notify.slack import SlackNotifier

        token, webhook, api_url = slack_settings(config)
        if token or webhook:
            notifiers["slack"] = SlackNotifier(token=token, webhook_url=webhook, base_url=api_url)
        else:
            log.warning("Slack is not configured (set SLACK_BOT_TOKEN or SLACK_WEBHOOK_URL): alerts go to the console")
        hooks = {name: team.webhook for name, team in config.teams.items() if team.webhook is not None}
        if hooks:
            from service.notify.webhook import WebhookNotifier

            notifiers["webhook"] = WebhookNotifier(hooks)
    return notifiers


def build_pipeline(config: Config, store: Store, clock: Clock, notifiers: Mapping[str, Notifier], *,
                   delivery_lock: threading.Lock | None = None) -> Pipeline:
    """The pipeline of ``config`` on ``store``. ``delivery_lock``: shared by every dispatcher a process
    builds for one store (reloads, rebuilt ticks), so two of them never deliver at the same time."""
    queries = {name: brand.query for name, brand in config.brands.items() if brand.query is not None}
    enricher = Enricher(queries, load_scorer(), load_lexicon())
    dispatcher = Dispatcher(config, store, notifiers, delivery_lock=delivery_lock) if notifiers else None
    return Pipeline(config=config, store=store, enricher=enricher, clock=clock, archetypes=load_archetypes(),
                    dispatcher=dispatcher)


def config_secrets(config: Config) -> list[str | None]:
    """Every secret value the configuration and the environment hold (masked in the logs)."""
    values: list[str | None] = [os.environ.get(name) for name in (
        "SLACK_BOT_TOKEN", "SLACK_WEBHOOK_URL", "SLACK_SIGNING_SECRET", "CRISISWATCH_INGEST_TOKEN")]
    hooks = [team.webhook for team in config.teams.values() if team.webhook is not None]
    for secret in (config.ingest_token, config.slack.bot_token, config.slack.webhook_url,
                   *(hook.url for hook in hooks), *(hook.secret for hook in hooks)):
        values.append(secret.reveal() if secret is not None else None)
    for source in config.sources.values():  # API keys, tokens and credentials of the sources
        values.extend(secret_values(source.type, source.options))
    values.extend(url_secrets(config.store))
    return values


def url_secrets(url: str) -> list[str]:
    """The password (and user) of a store URL, in its userinfo or its query (``?password=``)."""
    parts = urlsplit(url)
    found = [parts.password or "", *(value for key, value in parse_qsl(parts.query)
                                     if key.lower() in ("password", "passwd", "pwd"))]
    if parts.username and parts.password:  # an ACL user is not secret alone, but with its password it is one
        found.append(f"{parts.username}:{parts.password}")
    return [value for value in found if value]


class Service(Runtime):
    """The running service: HTTP API, scheduled collectors, detection ticks and alert delivery."""

    def __init__(self, config: Config, *, clock: Clock | None = None, store: Store | None = None,
                 notifiers: Mapping[str, Notifier] | None = None, config_path: str | Path | None = None) -> None:
        register_secrets(config_secrets(config))
        clock = clock or SystemClock()
        store = store or open_store(config.store)
        super().__init__(config, clock=clock, store=store, metrics=ServiceMetrics(),
                         config_path=Path(config_path or config.path), notifiers=notifiers)
        self.server: ApiServer | None = None
        self._tasks: set[asyncio.Task[Any]] = set()

    # -- scheduling ------------------------------------------------------------------------------
    def _start_scheduler(self, loop: asyncio.AbstractEventLoop) -> None:
        from apscheduler.executors.pool import ThreadPoolExecutor
        from apscheduler.schedulers.asyncio import AsyncIOScheduler

        scheduler = AsyncIOScheduler(event_loop=loop, timezone="UTC",
                                     executors={"default": ThreadPoolExecutor(4)})
        scheduler.add_job(self.guarded, "interval", args=[self.tick, "detection tick"], id="detect",
                          seconds=TICK_EVERY.total_seconds(), max_instances=1, coalesce=True)
        scheduler.add_job(self.guarded, "interval", args=[self.deliver, "alert delivery"], id="deliver",
                          seconds=DELIVER_EVERY.total_seconds(), max_instances=1, coalesce=True)
        scheduler.add_job(self.guarded, "interval", args=[self.housekeep, "housekeeping"], id="housekeeping",
                          seconds=HOUSEKEEPING_EVERY.total_seconds(), max_instances=1, coalesce=True)
        scheduler.start()
        self.scheduler = scheduler
        jobs = self.schedule_collectors(scheduler)
        log.info("crisiswatch %s started: %d brands, %d sources scheduled, store %s, notifiers: %s",
                 __version__, len(self.config.brands), len(jobs), safe_url(self.config.store),
                 ", ".join(self.notifiers) or "none")

    # -- the event loop ------------------------------------------------------------------------
    async def serve(self, *, handle_signals: bool = True) -> None:
        """Serve HTTP and run the scheduler in this event loop until :meth:`request_stop`."""
        from service.api.app import create_app

        loop = asyncio.get_running_loop()
        host, port = parse_listen(self.listen)
        self.server = ApiServer(create_app(self), host=host, port=port)
        self.server.should_exit = self.stopping.is_set()
        self._start_scheduler(loop)
        self._background(self._watch_config())
        if handle_signals:
            for signum in (signal.SIGINT, signal.SIGTERM):
                loop.add_signal_handler(signum, self._on_stop_signal, signum)
            loop.add_signal_handler(signal.SIGHUP, self._on_reload_signal)
        try:
            await self.server.serve()
        finally:
            if handle_signals:
                for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
                    loop.remove_signal_handler(signum)
            await self._shutdown()

    @property
    def listen(self) -> str:
        """``host:port`` to serve on: ``CRISISWATCH_LISTEN`` (set in the Docker image) or ``http.listen``."""
        return os.environ.get("CRISISWATCH_LISTEN") or self.config.listen

    def _on_stop_signal(self, signum: int) -> None:
        log.info("received %s, stopping", signal.Signals(signum).name)
        self.request_stop()

    def _on_reload_signal(self) -> None:
        log.info("received SIGHUP, reloading %s", self.config_path)
        self._background(asyncio.to_thread(self.reload))

    def _background(self, work: Coroutine[Any, Any, Any]) -> None:
        """Run ``work`` as a task of the loop, referenced until it ends (cancelled at shutdown)."""
        task = asyncio.get_running_loop().create_task(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def request_stop(self) -> None:
        """Ask the service to stop (any thread)."""
        self.stopping.set()
        if self.server is not None:
            self.server.should_exit = True

    async def _watch_config(self) -> None:
        seen = self.config_signature()
        while True:
            await asyncio.sleep(WATCH_EVERY.total_seconds())
            current = self.config_signature()
            if current != seen:
                seen = current
                log.info("%s changed on disk, reloading", self.config_path)
                await asyncio.to_thread(self.reload)

    async def _shutdown(self) -> None:
        for task in list(self._tasks):
            task.cancel()  # the watcher; a reload already running in its thread still completes
        if self.scheduler is not None:
            self.scheduler.shutdown(wait=False)  # no new runs; the running ones finish below
        await asyncio.to_thread(self.finish, SHUTDOWN_GRACE)

    def run_forever(self) -> int:
        """Serve until SIGINT/SIGTERM; the exit status of ``crisiswatch run``."""
        from service.logs import setup_logging

        setup_logging(verbose=logging.getLogger().level == logging.DEBUG)
        try:
            parse_listen(self.listen)
        except ValueError as exc:
            log.error("%s (set http.listen in alerts.yaml or CRISISWATCH_LISTEN)", exc)
            return 2
        try:
            self.store.ping()
        except StoreError as exc:
            if not exc.retryable:  # a refused password or ACL user: waiting cannot help
                log.error("%s: fix the store URL (store in alerts.yaml or CRISISWATCH_STORE)", exc)
                return 2
            log.warning("%s: starting anyway, collection and detection wait for it", exc)
        try:
            asyncio.run(self.serve())
        except SystemExit:  # uvicorn exits when it cannot listen
            log.error("cannot serve HTTP on %s: the address is in use or not allowed (set http.listen in "
                      "alerts.yaml or CRISISWATCH_LISTEN)", self.listen)
            return 2
        return 0



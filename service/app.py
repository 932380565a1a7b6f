"""Builds every component from a :class:`Config`; start-up and shutdown of the service.

``build_pipeline`` is shared by ``crisiswatch run`` (wall clock, scheduler, notifiers) and
``crisiswatch replay`` (simulated clock, in-memory store): there is no second implementation.
"""

from __future__ import annotations

import logging
import os
import signal
import threading
from collections.abc import Mapping
from datetime import timedelta
from typing import Any

import httpx

from service import __version__
from service.clock import Clock, SystemClock
from service.config import Config
from service.detect.resemblance import load_archetypes
from service.enrich.enricher import Enricher
from service.enrich.lexicon import load_lexicon
from service.enrich.negativity import load_scorer
from service.notify.base import Notifier
from service.notify.console import ConsoleNotifier
from service.notify.outbox import Dispatcher
from service.pipeline import Pipeline
from service.store import open_store
from service.store.base import Store

log = logging.getLogger("crisiswatch")

TICK_EVERY = timedelta(seconds=15)
DELIVER_EVERY = timedelta(seconds=5)


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
    return notifiers


def build_pipeline(config: Config, store: Store, clock: Clock, notifiers: Mapping[str, Notifier]) -> Pipeline:
    queries = {name: brand.query for name, brand in config.brands.items() if brand.query is not None}
    enricher = Enricher(queries, load_scorer(), load_lexicon())
    dispatcher = Dispatcher(config, store, notifiers) if notifiers else None
    return Pipeline(config=config, store=store, enricher=enricher, clock=clock, archetypes=load_archetypes(),
                    dispatcher=dispatcher)


class Service:
    """The running service: scheduled collectors, detection ticks and alert delivery."""

    def __init__(self, config: Config, *, clock: Clock | None = None, store: Store | None = None) -> None:
        from service.collect.runner import CollectionRunner

        self.config = config
        self.clock = clock or SystemClock()
        self.store = store or open_store(config.store)
        self.notifiers = build_notifiers(config, console=True, slack=True)
        self.pipeline = build_pipeline(config, self.store, self.clock, self.notifiers)
        self.runner = CollectionRunner(
            config.sources, store=self.store, clock=self.clock, sink=self.pipeline.ingest,
            client_factory=lambda: httpx.Client(follow_redirects=True, http2=False))
        self.stopped = threading.Event()
        self.scheduler: Any = None

    def start(self) -> None:
        from apscheduler.executors.pool import ThreadPoolExecutor
        from apscheduler.schedulers.background import BackgroundScheduler

        scheduler = BackgroundScheduler(timezone="UTC", executors={"default": ThreadPoolExecutor(4)})
        scheduler.add_job(self._tick, "interval", seconds=TICK_EVERY.total_seconds(), id="detect",
                          max_instances=1, coalesce=True)
        scheduler.add_job(self._deliver, "interval", seconds=DELIVER_EVERY.total_seconds(), id="deliver",
                          max_instances=1, coalesce=True)
        jobs = self.runner.schedule(scheduler)
        scheduler.start()
        self.scheduler = scheduler
        log.info("crisiswatch %s started: %d brands, %d sources scheduled, store %s, notifiers: %s",
                 __version__, len(self.config.brands), len(jobs), _safe_url(self.config.store),
                 ", ".join(self.notifiers) or "none")

    def _tick(self) -> None:
        try:
            for alert in self.pipeline.tick():
                log.info("alert %s %s %s %s", alert.incident_id, alert.state, alert.severity, alert.summary)
        except Exception:
            log.exception("detection tick failed; it will run again in %ds", TICK_EVERY.total_seconds())

    def _deliver(self) -> None:
        if self.pipeline.dispatcher is None:
            return
        try:
            self.pipeline.dispatcher.deliver_due(self.clock.now())
        except Exception:
            log.exception("alert delivery failed; it will run again in %ds", DELIVER_EVERY.total_seconds())

    def stop(self) -> None:
        """Stop scheduling, let running jobs finish, flush what can be delivered, close clients."""
        if self.scheduler is not None:
            self.scheduler.shutdown(wait=True)
            self.scheduler = None
        self._deliver()
        self.pipeline.checkpoint(self.clock.now())
        self.runner.close()
        self.store.close()
        log.info("crisiswatch stopped")

    def run_forever(self) -> int:
        def request_stop(signum: int, _frame: object) -> None:
            log.info("received %s, stopping", signal.Signals(signum).name)
            self.stopped.set()

        signal.signal(signal.SIGINT, request_stop)
        signal.signal(signal.SIGTERM, request_stop)
        self.start()
        try:
            while not self.stopped.wait(1.0):
                pass
        finally:
            self.stop()
        return 0


def _safe_url(url: str) -> str:
    """A store URL without its password."""
    if "@" in url and "://" in url:
        scheme, rest = url.split("://", 1)
        return f"{scheme}://***@{rest.rsplit('@', 1)[1]}"
    return url

"""What the running service does between its event loop and its components, in plain threads.

:class:`Runtime` holds the current configuration, pipeline and collection runner, and everything the
HTTP API and the scheduler call: ingest, detection ticks, delivery, collections, hot reload,
readiness, incident timelines and the final flush at shutdown. Every method is thread-safe and
blocking; :class:`service.app.Service` adds the event loop (uvicorn + AsyncIOScheduler) around it.
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

from service.api.metrics import ServiceMetrics, Snapshot, outbox_figures
from service.api.timeline import Timeline, alert_event
from service.clock import Clock
from service.collect.runner import CollectionRunner
from service.config import Config, ConfigErrors, OpsConfig, load_config
from service.domain import Alert, Mention
from service.housekeeping import housekeep
from service.logs import redact, register_secrets
from service.notify.base import Notifier
from service.pipeline import IngestResult, Pipeline
from service.store.base import Store, StoreError

log = logging.getLogger("crisiswatch")

class InFlight:
    """Counts running jobs so that a stop can wait for them."""

    def __init__(self) -> None:
        self._running = 0
        self._idle = threading.Condition()

    @contextlib.contextmanager
    def track(self) -> Any:
        with self._idle:
            self._running += 1
        try:
            yield
        finally:
            with self._idle:
                self._running -= 1
                self._idle.notify_all()

    @property
    def running(self) -> int:
        return self._running

    def wait(self, timeout: timedelta) -> bool:
        """Wait until nothing runs; ``False`` when ``timeout`` passed first."""
        with self._idle:
            return self._idle.wait_for(lambda: self._running == 0, timeout.total_seconds())


class Runtime:
    """The service's state and work, independent of the event loop (see the module docstring)."""

    def __init__(self, config: Config, *, clock: Clock, store: Store, metrics: ServiceMetrics, config_path: Path,
                 notifiers: Mapping[str, Notifier] | None = None) -> None:
        from service.app import build_notifiers, build_pipeline

        self.config, self.clock, self.store, self.metrics = config, clock, store, metrics
        self.config_path = config_path
        self._given_notifiers = notifiers
        self.notifiers = dict(notifiers) if notifiers is not None else build_notifiers(config, console=True, slack=True)
        self._delivery_lock = threading.Lock()  # one delivery pass at a time, across reloads
        self.pipeline: Pipeline = build_pipeline(config, store, clock, self.notifiers,
                                                 delivery_lock=self._delivery_lock)
        self.runner = self._runner(config)
        self.inflight = InFlight()
        self.timeline = Timeline(store)
        self.stopping = threading.Event()
        self.scheduler: Any = None
        self.last_reload_error: str | None = None
        self._reload_lock = threading.Lock()
        self._swap_lock = threading.Lock()
        self._reload_pending = False
        """A valid configuration was not switched to because the store failed: retried after the next tick."""
        self.metrics.watch(self.snapshot)

    def _runner(self, config: Config) -> CollectionRunner:
        from service.app import slack_settings
        from service.notify.ops import ops_notifier

        token, webhook, api_url = slack_settings(config)
        on_ops = ops_notifier(config, slack_token=token, slack_webhook_url=webhook, slack_api_url=api_url,
                              clock=self.clock)
        ops = config.ops or OpsConfig()
        return CollectionRunner(config.sources, store=self.store, clock=self.clock, sink=self._collected,
                                client_factory=lambda: httpx.Client(follow_redirects=True, http2=False),
                                on_ops=on_ops, fail_after=ops.fail_after, silent_after=ops.silent_after)

    # -- work ------------------------------------------------------------------------------------
    def ingest(self, mentions: Sequence[Mention]) -> IngestResult:
        """Hand mentions to the current pipeline (API, collectors, replays), timing the scoring."""
        self.metrics.received(mentions)
        started = self.clock.monotonic()
        result = self.pipeline.ingest(mentions)
        self.metrics.scoring.observe(max(0.0, self.clock.monotonic() - started))
        self.metrics.mentions_new.inc(result.accepted)
        return result

    def _collected(self, mentions: list[Mention]) -> None:
        self.ingest(mentions)

    def tick(self) -> list[Alert]:
        """One detection tick of the current pipeline; alerts are counted and added to timelines."""
        with self._swap_lock:  # a reload never swaps the pipeline in the middle of a tick
            pipeline = self.pipeline
            before = dict(pipeline.next_bucket)
            started = self.clock.monotonic()
            alerts = pipeline.tick()
            self.metrics.tick.observe(max(0.0, self.clock.monotonic() - started))
        self.metrics.evaluated(before, dict(pipeline.next_bucket),
                               lambda brand: pipeline.config.brand(brand).detection.bucket.total_seconds())
        self.metrics.alerted(alerts)
        for alert in alerts:
            log.info("alert %s %s %s %s", alert.incident_id, alert.state, alert.severity, alert.summary)
            self.timeline.add(alert.incident_id, alert_event(alert))
        if self._reload_pending:  # the store answers again: switch to the configuration it held back
            log.info("retrying the configuration reload postponed by a store failure")
            self.reload()
        return alerts

    @property
    def atomic_ingest(self) -> bool:
        """Whether a failed ingest kept nothing of its batch (the store runs it as one transaction);
        otherwise the store counts each mention once (:class:`~service.store.base.CountsOnce`), so a
        resend counts exactly what the failure left out."""
        return bool(getattr(self.store, "atomic_ingest", False))

    def housekeep(self) -> int:
        """Remove buckets and example mentions past the retention horizon (:mod:`service.housekeeping`)."""
        return housekeep(self.store, self.clock.now())

    def deliver(self) -> None:
        dispatcher = self.pipeline.dispatcher
        if dispatcher is not None:
            report = dispatcher.deliver_due(self.clock.now())
            self.metrics.delivered.inc(report.delivered)
            self.metrics.delivery_failures.inc(report.failed)

    def guarded(self, work: Callable[[], object], what: str) -> None:
        """Run a scheduled job: counted as in flight, a failure logged and never raised."""
        with self.inflight.track():
            if self.stopping.is_set():
                return  # queued before the stop: the store may already be closed
            try:
                work()
            except Exception:
                log.exception("%s failed; it will run again", what)

    def collect(self, name: str) -> None:
        """Collect one source (a scheduled job), counting runs and errors per source."""
        with self.inflight.track():
            runner = self.runner
            if self.stopping.is_set() or name not in runner.sources:
                return  # removed by a reload since this run was scheduled
            health = runner.run_source(name)
            failed = health.consecutive_failures > 0 and health.last_error_at == health.last_attempt
            self.metrics.source_runs.labels(name, "error" if failed else "ok").inc()
            if failed:
                self.metrics.source_errors.labels(name).inc()

    def schedule_collectors(self, scheduler: Any) -> list[str]:
        """One job per enabled source (the runner's schedule), each run through :meth:`collect`."""
        ids = self.runner.schedule(scheduler)
        for job_id in ids:
            scheduler.modify_job(job_id, func=self.collect, args=[job_id.split(":", 1)[1]])
        return ids

    # -- reload ------------------------------------------------------------------------------------
    def config_signature(self) -> tuple[int, int] | None:
        try:
            stat = os.stat(self.config_path)
        except OSError:
            return None
        return stat.st_mtime_ns, stat.st_size

    def reload(self) -> bool:
        """Validate the configuration file and, when valid, switch to it; otherwise keep running as is.

        The running pipeline is checkpointed first and what a failed tick left for the next one (alert
        events, incident versions) is handed to the new pipeline. When the store refuses the checkpoint,
        the switch is postponed until after the next tick (``False``)."""
        from service.app import build_notifiers, build_pipeline

        with self._reload_lock:
            if self.stopping.is_set():
                return False
            try:
                config = load_config(self.config_path)
                register_secrets(_secrets(config))
                notifiers = (dict(self._given_notifiers) if self._given_notifiers is not None
                             else build_notifiers(config, console=True, slack=True))
                pipeline = build_pipeline(config, self.store, self.clock, notifiers, delivery_lock=self._delivery_lock)
            except ConfigErrors as exc:
                return self._refused("; ".join(str(error) for error in exc.errors))
            except Exception as exc:  # a model or lexicon that does not load: keep running as is
                log.debug("reload failed", exc_info=True)
                return self._refused(f"{type(exc).__name__}: {exc}")
            old, old_config = self.pipeline, self.config
            if config.store != old_config.store or config.listen != old_config.listen:
                log.warning("store and http.listen changes take effect at the next restart")
            with self._swap_lock, old.lock:
                try:
                    old.checkpoint(self.clock.now())
                except StoreError as exc:
                    # Switching now would restart the detectors from an older checkpoint than the one
                    # they are at: keep the running pipeline and switch after the next tick instead.
                    self._reload_pending = True
                    self.last_reload_error = f"store unavailable, reload postponed to the next tick: {exc}"
                    self.metrics.reloads.labels("postponed").inc()
                    log.error("configuration %s not reloaded yet (%s): the running configuration stays until "
                              "the store answers", self.config_path, exc)
                    if self._given_notifiers is None:  # built for this attempt only
                        for notifier in notifiers.values():
                            close = getattr(notifier, "close", None)
                            if callable(close):
                                close()
                    return False
                carry_over(old, pipeline)
                self.pipeline, self.config, self.notifiers = pipeline, config, notifiers
                self._reload_pending = False
            if _runner_inputs(config) != _runner_inputs(old_config):
                self._replace_runner(config)
            self.last_reload_error = None
            self.metrics.reloads.labels("ok").inc()
            log.info("configuration reloaded from %s: %d brands, %d sources, %d teams", self.config_path,
                     len(config.brands), len(config.sources), len(config.teams))
            return True

    def _refused(self, reason: str) -> bool:
        self._reload_pending = False  # the file is read again at its next change or SIGHUP, not every tick
        self.last_reload_error = reason
        self.metrics.reloads.labels("invalid").inc()
        log.error("configuration %s not reloaded, the running configuration stays: %s", self.config_path, reason)
        return False

    def _replace_runner(self, config: Config) -> None:
        old = self.runner
        self.runner = self._runner(config)
        if self.scheduler is not None:
            old.unschedule(self.scheduler)
            self.schedule_collectors(self.scheduler)
        threading.Thread(target=self._close_later, args=(old,), name="close-runner", daemon=True).start()

    def _close_later(self, runner: CollectionRunner) -> None:
        self.inflight.wait(timedelta(seconds=60))
        runner.close()

    # -- state for the API -------------------------------------------------------------------------
    def store_ok(self) -> str | None:
        """``None`` when the store answers, else why not."""
        try:
            self.store.ping()
        except Exception as exc:
            return f"{type(exc).__name__}: {exc}"
        return None

    def scheduler_running(self) -> bool:
        return bool(self.scheduler is not None and self.scheduler.running)

    def readiness(self) -> dict[str, Any]:
        store_error = self.store_ok()
        checks = {"store": store_error is None, "scheduler": self.scheduler_running(),
                  "config": self.config is not None, "stopping": self.stopping.is_set()}
        ready = checks["store"] and checks["scheduler"] and checks["config"] and not checks["stopping"]
        self.metrics.ready.set(1 if ready else 0)
        result: dict[str, Any] = {"ready": ready, "checks": checks, "config": str(self.config_path)}
        # Masked like the logs: a refused file's store URL or a server's error text may quote a secret, and
        # the secrets of a file that did not load were never registered.
        if store_error:
            result["store_error"] = redact(store_error)
        if self.last_reload_error:
            result["last_reload_error"] = redact(self.last_reload_error)
        return result

    def snapshot(self) -> Snapshot:
        health = self.runner.all_health()
        now = self.clock.now()
        dispatcher = self.pipeline.dispatcher
        if dispatcher is not None:
            outbox = dispatcher.health(now)
            depth, oldest, overdue, alarms = (outbox.depth, outbox.oldest_age_seconds, outbox.overdue,
                                              outbox.overdue_alarms)
        else:
            (depth, oldest), overdue, alarms = outbox_figures(self.store.outbox_pending(), now), 0, 0
        return Snapshot(now=now, last_success={n: h.last_success for n, h in health.items()},
                        consecutive_failures={n: h.consecutive_failures for n, h in health.items()},
                        outbox_depth=depth, outbox_oldest_age=oldest, outbox_overdue=overdue, overdue_alarms=alarms,
                        open_incidents=self.store.incidents(open_only=True),
                        brands=len(self.config.brands), sources=len(self.config.sources))

    def ingest_token(self) -> str | None:
        from service.api.ingest import configured_token

        return configured_token(self.config)

    def signing_secret(self) -> str | None:
        return os.environ.get("SLACK_SIGNING_SECRET") or None

    # -- shutdown ----------------------------------------------------------------------------------
    def finish(self, grace: timedelta) -> None:
        """Wait for running jobs, flush the outbox, save detector state, close every client."""
        self.stopping.set()
        self.runner.stop()  # collections waiting to retry give up now instead of holding the stop
        with self._reload_lock:  # a reload in progress completes first; later ones are refused
            pass
        if not self.inflight.wait(grace):
            log.warning("%d jobs still running after %ds; stopping anyway", self.inflight.running,
                        grace.total_seconds())
        pipeline = self.pipeline
        try:
            record_leftovers(pipeline, self.clock.now())
            recorded = True
        except Exception:
            recorded = False
            log.exception("the alerts and incident changes of the last failed tick could not be recorded; the "
                          "detector state is not saved, so the next start evaluates those buckets again")
        steps: list[tuple[Callable[[], object], str]] = [(self.deliver, "final outbox flush")]
        if recorded:  # else the checkpoint would move the detectors past alerts that were never recorded
            steps.append((lambda: pipeline.checkpoint(self.clock.now()), "final checkpoint"))
        for step, what in steps:
            try:
                step()
            except Exception:
                log.exception("%s failed", what)
        self.runner.close()
        for notifier in self.notifiers.values():
            close = getattr(notifier, "close", None)
            if callable(close):
                close()
        self.store.close()
        log.info("crisiswatch stopped")


def carry_over(old: Pipeline, new: Pipeline) -> None:
    """Hand what a failed tick of ``old`` left undone to ``new`` (a reload, after ``old``'s checkpoint):
    the alert events not yet in the outbox and the incident versions not yet saved, which ``new``'s
    next tick records, and ``old``'s view of those brands' open incidents (the store's is behind)."""
    with old.lock, new.lock:
        new.undispatched[:0] = old.undispatched
        new.unsaved = {**old.unsaved, **new.unsaved}
        for brand in {incident.brand for incident in old.unsaved.values()}:
            if brand in old.open_incidents and brand not in new.open_incidents:
                new.open_incidents[brand] = old.open_incidents[brand]
        old.undispatched, old.unsaved = [], {}


def record_leftovers(pipeline: Pipeline, now: datetime) -> None:
    """Save the incident versions and record in the outbox the alert events that a failed tick left to
    the next one (at shutdown there is none); a store error is raised, what was recorded is not kept twice."""
    with pipeline.lock:
        for incident_id, incident in list(pipeline.unsaved.items()):
            pipeline.store.save_incident(incident)
            del pipeline.unsaved[incident_id]
        alerts = list(pipeline.undispatched)
        if alerts and pipeline.dispatcher is not None:
            pipeline.dispatcher.dispatch(alerts, now)  # idempotent: what was recorded before is not again
        del pipeline.undispatched[:len(alerts)]


def _secrets(config: Config) -> list[str | None]:
    from service.app import config_secrets

    return config_secrets(config)


def _runner_inputs(config: Config) -> tuple[object, ...]:
    """What the collection runner is built from (:meth:`Runtime._runner`): a reload that changes any
    of it replaces the runner."""
    from service.app import slack_settings

    ops_team = config.teams.get(config.ops.team) if config.ops is not None and config.ops.team else None
    return dict(config.sources), config.ops, ops_team, slack_settings(config)

"""Prometheus metrics of the running service (``GET /metrics``).

Events are counted as they happen (:class:`ServiceMetrics` methods called by the service); the
state that already lives elsewhere (source health, the outbox, open incidents) is read at scrape
time by :class:`StateCollector`, so the figures never drift from the store. Each service has its own
registry: several services in one process (tests) never share counters.
"""

from __future__ import annotations

import logging
import threading
from collections import Counter as Tally
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from service.domain import Alert, Incident, Mention
from service.store.base import OutboxItem

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
MAX_SOURCE_LABELS = 200
MAX_LABEL_LENGTH = 100
"""Characters kept of a pushed source name in its label (a brand is at most as long)."""
LATENCY_BUCKETS = (0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
log = logging.getLogger(__name__)


@dataclass(frozen=True, kw_only=True, slots=True)
class Snapshot:
    """What the scrape-time collector reads from the service."""

    now: datetime
    last_success: Mapping[str, datetime | None]
    consecutive_failures: Mapping[str, int]
    outbox_depth: int
    outbox_oldest_age: float
    """Seconds the most late undelivered notification is past its due time."""
    outbox_overdue: int
    overdue_alarms: int
    open_incidents: Sequence[Incident]
    brands: int
    sources: int


class StateCollector(Collector):
    """Gauges computed at scrape time from a :class:`Snapshot`."""

    def __init__(self, snapshot: Callable[[], Snapshot]) -> None:
        self.snapshot = snapshot

    def collect(self) -> Iterable[GaugeMetricFamily]:
        try:
            snap = self.snapshot()
        except Exception as exc:  # a scrape must answer even when the store does not
            log.warning("metrics: state not read: %s", exc)
            failed = GaugeMetricFamily("crisiswatch_state_readable", "1 when the scrape could read the store")
            failed.add_metric([], 0)
            yield failed
            return
        readable = GaugeMetricFamily("crisiswatch_state_readable", "1 when the scrape could read the store")
        readable.add_metric([], 1)
        yield readable
        yield from _source_gauges(snap)
        yield from _outbox_gauges(snap)
        incidents = GaugeMetricFamily("crisiswatch_open_incidents", "Open incidents by severity",
                                      labels=["severity"])
        counts = Tally(str(i.severity) for i in snap.open_incidents)
        for severity in ("info", "warning", "critical"):
            incidents.add_metric([severity], counts.get(severity, 0))
        yield incidents
        configured = GaugeMetricFamily("crisiswatch_configured", "Configured brands and sources", labels=["what"])
        configured.add_metric(["brands"], snap.brands)
        configured.add_metric(["sources"], snap.sources)
        yield configured


def _source_gauges(snap: Snapshot) -> Iterable[GaugeMetricFamily]:
    last = GaugeMetricFamily("crisiswatch_source_last_success_timestamp_seconds",
                             "Unix time of the last successful collection of each source", labels=["source"])
    age = GaugeMetricFamily("crisiswatch_source_freshness_seconds",
                            "Seconds since the last successful collection (absent: never succeeded)",
                            labels=["source"])
    failing = GaugeMetricFamily("crisiswatch_source_consecutive_failures",
                                "Failed collections in a row", labels=["source"])
    for source, when in sorted(snap.last_success.items()):
        if when is not None:
            last.add_metric([source], when.timestamp())
            age.add_metric([source], max(0.0, (snap.now - when).total_seconds()))
        failing.add_metric([source], snap.consecutive_failures.get(source, 0))
    return last, age, failing


def _outbox_gauges(snap: Snapshot) -> Iterable[GaugeMetricFamily]:
    depth = GaugeMetricFamily("crisiswatch_outbox_depth", "Notifications waiting in the outbox")
    depth.add_metric([], snap.outbox_depth)
    oldest = GaugeMetricFamily("crisiswatch_outbox_oldest_age_seconds",
                               "How late the most late undelivered notification is (0 when none is)")
    oldest.add_metric([], snap.outbox_oldest_age)
    overdue = GaugeMetricFamily("crisiswatch_outbox_overdue", "Undelivered notifications past the overdue limit")
    overdue.add_metric([], snap.outbox_overdue)
    alarms = GaugeMetricFamily("crisiswatch_outbox_overdue_alarms",
                               "Notifications that went overdue since the process started")
    alarms.add_metric([], snap.overdue_alarms)
    return depth, oldest, overdue, alarms


def outbox_figures(outbox: Sequence[OutboxItem], now: datetime) -> tuple[int, float]:
    """Depth and oldest age (since recorded) of an outbox without a dispatcher to ask."""
    first = min((item.created_at for item in outbox), default=None)
    return len(outbox), max(0.0, (now - first).total_seconds()) if first else 0.0


class ServiceMetrics:
    """Counters and histograms of one service, in their own registry."""

    def __init__(self) -> None:
        self._sources: set[str] = set()
        self._labels_lock = threading.Lock()
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.mentions = Counter("crisiswatch_mentions", "Mentions received, per source (before dedup)",
                                ["source"], registry=r)
        self.mentions_new = Counter("crisiswatch_mentions_accepted", "New mentions attributed to a brand",
                                    registry=r)
        self.rejected = Counter("crisiswatch_ingest_rejected_records", "Records refused by POST /v1/mentions",
                                registry=r)
        self.source_runs = Counter("crisiswatch_source_runs", "Collection runs per source and outcome",
                                   ["source", "outcome"], registry=r)
        self.source_errors = Counter("crisiswatch_source_errors", "Failed collection runs per source",
                                     ["source"], registry=r)
        self.scoring = Histogram("crisiswatch_scoring_seconds", "Time to enrich and score one batch of mentions",
                                 buckets=LATENCY_BUCKETS, registry=r)
        self.tick = Histogram("crisiswatch_detection_tick_seconds", "Time of one detection tick (all brands)",
                              buckets=LATENCY_BUCKETS, registry=r)
        self.evaluations = Counter("crisiswatch_detector_evaluations", "Buckets evaluated by the detectors",
                                   ["brand"], registry=r)
        self.alerts = Counter("crisiswatch_alerts", "Alert events by severity and state", ["severity", "state"],
                              registry=r)
        self.reloads = Counter("crisiswatch_config_reloads", "Configuration reloads by result", ["result"],
                               registry=r)
        self.slack_actions = Counter("crisiswatch_slack_actions", "Slack button actions by action and result",
                                     ["action", "result"], registry=r)
        self.delivered = Counter("crisiswatch_notifications_delivered", "Notifications delivered", registry=r)
        self.delivery_failures = Counter("crisiswatch_notification_failures", "Failed notification attempts",
                                         registry=r)
        self.ready = Gauge("crisiswatch_ready", "1 when /readyz answers ready", registry=r)

    def watch(self, snapshot: Callable[[], Snapshot]) -> None:
        self.registry.register(StateCollector(snapshot))

    def received(self, mentions: Sequence[Mention]) -> None:
        for source, count in Tally(m.source or "unknown" for m in mentions).items():
            self.mentions.labels(self._source_label(source)).inc(count)

    def _source_label(self, source: str) -> str:
        """Pushed mentions name their source freely: past :data:`MAX_SOURCE_LABELS` distinct names,
        new ones are counted under ``other`` so that a client cannot blow up the series count, and a name
        is cut to :data:`MAX_LABEL_LENGTH` characters so that it cannot blow up the scrape's size."""
        source = source[:MAX_LABEL_LENGTH]
        with self._labels_lock:
            if source in self._sources or len(self._sources) < MAX_SOURCE_LABELS:
                self._sources.add(source)
                return source
        return "other"

    def alerted(self, alerts: Sequence[Alert]) -> None:
        for alert in alerts:
            self.alerts.labels(str(alert.severity), str(alert.state)).inc()

    def evaluated(self, before: Mapping[str, datetime], after: Mapping[str, datetime],
                  widths: Callable[[str], float]) -> None:
        """Count the buckets each brand's detector stepped through between two cursors."""
        for brand, end in after.items():
            start = before.get(brand)
            if start is not None and end > start:
                self.evaluations.labels(brand).inc(round((end - start).total_seconds() / widths(brand)))

    def render(self) -> bytes:
        return generate_latest(self.registry)

"""The collection runner: cursors and health in a real SQLite store, failures isolated per source,
APScheduler 3.x jobs."""

from __future__ import annotations

import logging
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from apscheduler.schedulers.background import BackgroundScheduler

from service.clock import SimulatedClock, SystemClock
from service.collect.base import CollectResult
from service.collect.health import OpsEvent, OpsState, ops_event
from service.collect.http import HostLimiter
from service.collect.registry import build_collector
from service.collect.runner import CollectionRunner, SourceHealth
from service.config import NEVER, SourceConfig
from service.domain import Mention, SourceKind
from service.store.sqlite import SQLiteStore

FEEDS = Path(__file__).parent / "fixtures" / "feeds"
START = datetime(2026, 11, 26, 10, 0, tzinfo=UTC)


def source(name: str, url: str, **changes: object) -> SourceConfig:
    values: dict[str, object] = {"name": name, "type": "rss", "kind": SourceKind.NEWS,
                                 "interval": timedelta(minutes=5), "timeout": timedelta(seconds=2),
                                 "options": {"url": url, "attempts": 2}}
    values.update(changes)
    return SourceConfig(**values)  # type: ignore[arg-type]


GOOD = source("google-news", "https://news.google.com/rss/search?q=peugeot")
BROKEN = source("broken", "https://down.example.org/feed")
GOOGLE_NEWS = (FEEDS / "google_news_fr.rss").read_bytes()


def web(request: httpx.Request) -> httpx.Response:
    """The internet as the tests see it: one healthy feed, one host that keeps failing."""
    if request.url.host == "news.google.com":
        return httpx.Response(200, content=GOOGLE_NEWS)
    if request.url.host == "limited.example.org":
        return httpx.Response(429, headers={"Retry-After": "900"})
    return httpx.Response(500)


def no_sleep_factory(source: SourceConfig, client: httpx.Client, limiter: HostLimiter):
    return build_collector(source, client, limiter=limiter, sleep=lambda seconds: None)


class Sink:
    def __init__(self) -> None:
        self.batches: list[list[Mention]] = []
        self.event = threading.Event()

    def __call__(self, mentions: list[Mention]) -> None:
        self.batches.append(mentions)
        self.event.set()


def runner(store: SQLiteStore, sink, *sources: SourceConfig, clock: SimulatedClock | None = None,
           handler=web, **options) -> CollectionRunner:
    return CollectionRunner(sources, store=store, clock=clock or SimulatedClock(START), sink=sink,
                            client_factory=lambda: httpx.Client(transport=httpx.MockTransport(handler)),
                            collector_factory=no_sleep_factory, **options)


@pytest.fixture
def store(tmp_path: Path):
    opened = SQLiteStore(str(tmp_path / "crisiswatch.db"))
    yield opened
    opened.close()


def test_a_run_delivers_mentions_saves_the_cursor_and_the_health(store: SQLiteStore) -> None:
    sink = Sink()
    health = runner(store, sink, GOOD).run_source("google-news")
    assert [len(batch) for batch in sink.batches] == [3]
    assert health.last_success == START and health.consecutive_failures == 0 and health.last_mentions == 3
    cursor = store.get_cursor("google-news")
    assert cursor is not None and cursor["newest"] == "2026-11-26T08:12:00+00:00"
    saved = store.load_state("health:google-news")
    assert saved is not None and saved["mentions_total"] == 3 and saved["last_success"] == START.isoformat()


def test_one_failing_source_never_stops_the_other(store: SQLiteStore, caplog: pytest.LogCaptureFixture) -> None:
    sink = Sink()
    clock = SimulatedClock(START)
    both = runner(store, sink, BROKEN, GOOD, clock=clock)
    with caplog.at_level(logging.WARNING, logger="service.collect.runner"):
        broken = both.run_source("broken")
        good = both.run_source("google-news")
        clock.advance(timedelta(minutes=5))
        broken = both.run_source("broken")
    assert good.last_success == START and len(sink.batches) == 1
    assert broken.consecutive_failures == 2 and broken.last_success is None
    assert broken.last_error == "https://down.example.org/feed: HTTP 500 Internal Server Error"
    lines = [record.getMessage() for record in caplog.records]
    error = "https://down.example.org/feed: HTTP 500 Internal Server Error"
    assert lines == [f'source "broken" failed (1 in a row): {error}', f'source "broken" failed (2 in a row): {error}']


def test_cursor_and_health_survive_a_restart(tmp_path: Path) -> None:
    path = str(tmp_path / "restart.db")
    first_store = SQLiteStore(path)
    first_sink = Sink()
    runner(first_store, first_sink, GOOD, BROKEN).run_source("google-news")
    runner(first_store, first_sink, GOOD, BROKEN).run_source("broken")
    first_store.close()

    second_store = SQLiteStore(path)
    second_sink = Sink()
    restarted = runner(second_store, second_sink, GOOD, BROKEN, clock=SimulatedClock(START + timedelta(hours=1)))
    health = restarted.run_source("google-news")
    assert second_sink.batches == []  # the same feed after a restart: nothing new
    assert health.mentions_total == 3 and health.last_success == START + timedelta(hours=1)
    assert restarted.health("broken").consecutive_failures == 1
    second_store.close()


def test_a_failing_sink_does_not_advance_the_cursor(store: SQLiteStore) -> None:
    def exploding(mentions: list[Mention]) -> None:
        raise RuntimeError("pipeline down")

    health = runner(store, exploding, GOOD).run_source("google-news")
    assert health.consecutive_failures == 1 and health.last_error == "RuntimeError: pipeline down"
    assert store.get_cursor("google-news") is None
    sink = Sink()
    runner(store, sink, GOOD).run_source("google-news")
    assert [len(batch) for batch in sink.batches] == [3]  # re-delivered, not lost


def test_a_long_retry_after_skips_the_source_until_then(store: SQLiteStore) -> None:
    limited = source("limited", "https://limited.example.org/feed")
    requests: list[httpx.Request] = []

    def counting(request: httpx.Request) -> httpx.Response:
        requests.append(request)
        return web(request)

    clock = SimulatedClock(START)
    run = runner(store, Sink(), limited, clock=clock, handler=counting)
    health = run.run_source("limited")
    assert health.retry_after == START + timedelta(seconds=900) and len(requests) == 1
    clock.advance(timedelta(minutes=5))
    assert run.run_source("limited").consecutive_failures == 1 and len(requests) == 1  # skipped
    clock.advance(timedelta(minutes=11))
    assert run.run_source("limited").consecutive_failures == 2 and len(requests) == 2


def test_collector_crash_is_contained(store: SQLiteStore) -> None:
    class Crashing:
        name = "google-news"

        def collect(self, cursor, now) -> CollectResult:
            raise KeyError("bug")

    run = CollectionRunner([GOOD], store=store, clock=SimulatedClock(START), sink=Sink(),
                           client_factory=httpx.Client, collector_factory=lambda s, c, limiter: Crashing())
    assert run.run_source("google-news").last_error == "KeyError: 'bug'"
    run.close()


def test_health_round_trips_and_counts_mentions_per_hour() -> None:
    health = SourceHealth(source="s").succeeded(START, 12).succeeded(START + timedelta(minutes=30), 6)
    health = health.failed(START + timedelta(hours=1), "boom", None)
    again = SourceHealth.from_state("s", health.to_state())
    assert again == health
    assert again.mentions_per_hour(START + timedelta(hours=1)) == pytest.approx(18 / 24)
    assert SourceHealth.from_state("s", {"consecutive_failures": "x", "hourly": [[1, 2], "bad"]}) == \
        SourceHealth(source="s")


def test_schedule_adds_one_job_per_enabled_source_and_runs_them(store: SQLiteStore) -> None:
    sink = Sink()
    disabled = source("off", "https://news.google.com/rss/off", enabled=False)
    clock = SimulatedClock(SystemClock().now())
    run = runner(store, sink, GOOD, disabled, BROKEN, clock=clock)
    scheduler = BackgroundScheduler(timezone=UTC)
    ids = run.schedule(scheduler)
    assert ids == ["collect:google-news", "collect:broken"]
    job = scheduler.get_job("collect:google-news")
    assert job.max_instances == 1 and job.coalesce is True and job.executor == "collect"
    assert job.trigger.interval == timedelta(minutes=5)
    scheduler.start()
    try:
        assert sink.event.wait(10), "the first run should come soon after start"
    finally:
        scheduler.shutdown(wait=True)
        run.close()
    assert run.health("google-news").mentions_total == 3


def test_operational_alerts_are_sent_once_then_a_recovery(store: SQLiteStore) -> None:
    events: list[OpsEvent] = []
    state = {"up": False}

    def flaky(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=GOOGLE_NEWS) if state["up"] else httpx.Response(503)

    clock = SimulatedClock(START)
    run = CollectionRunner([GOOD], store=store, clock=clock, sink=Sink(), on_ops=events.append,
                           client_factory=lambda: httpx.Client(transport=httpx.MockTransport(flaky)),
                           collector_factory=no_sleep_factory, fail_after=3)
    for _ in range(5):
        run.run_source("google-news")
        clock.advance(timedelta(minutes=5))
    assert [e.state for e in events] == [OpsState.FAILING]
    assert events[0].message.startswith('source "google-news" has failed 3 times in a row; last error: ')
    assert store.load_state("health:google-news")["ops_alert"] == "failing"  # survives a restart
    state["up"] = True
    run.run_source("google-news")
    assert [e.state for e in events] == [OpsState.FAILING, OpsState.RECOVERED]
    assert run.health("google-news").ops_alert is None


def test_a_silent_source_raises_one_alert_and_a_broken_ops_channel_is_contained(store: SQLiteStore) -> None:
    def channel(event: OpsEvent) -> None:
        raise ConnectionError("slack down")

    clock = SimulatedClock(START)
    run = runner(store, Sink(), GOOD, clock=clock, on_ops=channel, silent_after=timedelta(hours=12))
    run.run_source("google-news")  # 3 mentions
    clock.advance(timedelta(hours=13))
    health = run.run_source("google-news")  # the same feed: nothing new for 13 hours
    assert health.ops_alert is OpsState.SILENT and health.consecutive_failures == 0


def test_a_source_can_have_its_own_silence_threshold_or_none(store: SQLiteStore) -> None:
    """A regulator's recalls of one make come weeks apart: that source sets ``silent_after: 30d`` (or
    ``off``) while the others keep the ``ops`` threshold."""
    clock = SimulatedClock(START)
    events: list[OpsEvent] = []
    rare = source("recalls", "https://news.google.com/rss/search?q=peugeot", silent_after=timedelta(days=30))
    never = source("never", "https://news.google.com/rss/search?q=peugeot", silent_after=NEVER)
    run = runner(store, Sink(), GOOD, rare, never, clock=clock, on_ops=events.append,
                 silent_after=timedelta(hours=12))
    for name in ("google-news", "recalls", "never"):
        run.run_source(name)
    clock.advance(timedelta(days=3))
    assert [run.run_source(name).ops_alert for name in ("google-news", "recalls", "never")] == [
        OpsState.SILENT, None, None]
    clock.advance(timedelta(days=30))
    assert [run.run_source(name).ops_alert for name in ("recalls", "never")] == [OpsState.SILENT, None]
    assert [(e.source, e.state) for e in events] == [("google-news", OpsState.SILENT), ("recalls", OpsState.SILENT)]


def test_ops_decision_is_pure() -> None:
    quiet = SourceHealth(source="s", last_mention_at=START, last_success=START + timedelta(days=3))
    health, event = ops_event(quiet, START + timedelta(days=3), fail_after=3, silent_after=timedelta(days=2))
    assert event is not None and event.state is OpsState.SILENT
    assert ops_event(health, START + timedelta(days=3, hours=1), fail_after=3,
                     silent_after=timedelta(days=2))[1] is None  # once
    back = health.succeeded(START + timedelta(days=4), 2)
    assert ops_event(back, START + timedelta(days=4), fail_after=3, silent_after=timedelta(days=2))[1].state \
        is OpsState.RECOVERED


def test_syndicated_copies_across_sources_are_marked_duplicates(store: SQLiteStore) -> None:
    other_feed = GOOGLE_NEWS.replace(b"CBMi", b"XXMi").replace(b" - Le Parisien</title>", b" | 20 Minutes</title>")
    second = source("bing-news", "https://www.bing.com/news/search?q=peugeot&format=rss")

    def two_feeds(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=GOOGLE_NEWS if request.url.host == "news.google.com" else other_feed)

    sink = Sink()
    run = runner(store, sink, GOOD, second, handler=two_feeds)
    run.run_source("google-news")
    run.run_source("bing-news")
    first, copies = sink.batches
    assert all(m.duplicate_of is None for m in first)
    assert [m.duplicate_of for m in copies] == [m.id for m in first]  # same stories, other outlet


def test_stop_abandons_a_collection_waiting_to_retry() -> None:
    """Graceful shutdown: a source in retry backoff (server answering 500) gives up at once."""
    calls = []

    def failing(request: httpx.Request) -> httpx.Response:
        calls.append(request.url)
        return httpx.Response(500)

    slow = source("slow", "https://feeds.example.org/rss", options={"url": "https://feeds.example.org/rss",
                                                                     "attempts": 8})
    runner = CollectionRunner([slow], store=SQLiteStore(":memory:"), clock=SystemClock(), sink=lambda m: None,
                              client_factory=lambda: httpx.Client(transport=httpx.MockTransport(failing)))
    timer = threading.Timer(0.5, runner.stop)
    timer.start()
    clock = SystemClock()
    started = clock.monotonic()
    health = runner.run_source("slow")
    elapsed = clock.monotonic() - started
    timer.cancel()
    runner.close()
    assert elapsed < 5, "the backoff between retries must not hold a stop"
    assert 1 <= len(calls) < 8
    assert health.consecutive_failures == 1 and "stopping" in (health.last_error or "")

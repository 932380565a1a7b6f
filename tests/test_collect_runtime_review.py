"""Review of the collection runtime (issue #3): each test reproduces a defect found in review."""

from __future__ import annotations

import gzip
import json
import os
import threading
import time
import tracemalloc
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
from apscheduler.schedulers.background import BackgroundScheduler

from service.clock import SimulatedClock, SystemClock
from service.collect.base import CollectResult
from service.collect.dropfolder import DropFolderCollector
from service.collect.health import OpsEvent
from service.collect.http import Fetcher, FetchError, FetchPolicy, HostLimiter
from service.collect.jsonapi import ApiRequest, JsonApiCollector
from service.collect.registry import build_collector
from service.collect.runner import CollectionRunner
from service.config import SourceConfig
from service.domain import Mention, SourceKind
from service.store.base import StoreError
from service.store.sqlite import SQLiteStore

START = datetime(2026, 11, 26, 10, 0, tzinfo=UTC)


def rss(name: str, url: str = "https://down.example.org/feed") -> SourceConfig:
    return SourceConfig(name=name, type="rss", kind=SourceKind.NEWS, interval=timedelta(minutes=5),
                        timeout=timedelta(seconds=2), options={"url": url, "attempts": 1})


class SaveFailsStore(SQLiteStore):
    """A real SQLite store whose writes of the waiting ops alerts fail while ``down`` is set."""

    down = False

    def save_state(self, name: str, state: dict) -> None:  # type: ignore[override]
        if self.down and name == "ops:pending":
            raise StoreError("database is locked")
        super().save_state(name, state)


class Channel:
    def __init__(self) -> None:
        self.up = False
        self.sent: list[OpsEvent] = []

    def __call__(self, event: OpsEvent) -> None:
        if not self.up:
            raise ConnectionError("ops channel down")
        self.sent.append(event)


def _ops_runner(store: SQLiteStore, clock: SimulatedClock, channel: Channel) -> CollectionRunner:
    return CollectionRunner([rss("broken")], store=store, clock=clock, sink=lambda mentions: None,
                            client_factory=lambda: httpx.Client(transport=httpx.MockTransport(
                                lambda request: httpx.Response(500))),
                            collector_factory=lambda s, c, lim: build_collector(s, c, limiter=lim,
                                                                                sleep=lambda seconds: None),
                            on_ops=channel, fail_after=1)


def test_an_ops_alert_sent_while_the_store_could_not_be_written_is_not_sent_again_after_a_restart(
        tmp_path: Path) -> None:
    clock, channel = SimulatedClock(START), Channel()
    store = SaveFailsStore(str(tmp_path / "cw.db"))
    try:
        run = _ops_runner(store, clock, channel)
        run.run_source("broken")  # "failing" cannot be sent: it waits in the store
        assert channel.sent == []
        channel.up, store.down = True, True
        clock.advance(timedelta(minutes=5))
        run.run_source("broken")  # sent now, but the store cannot be told
        assert [e.state for e in channel.sent] == ["failing"]
        store.down = False
        clock.advance(timedelta(minutes=5))
        run.run_source("broken")  # the store answers again: its stale list must be cleared
        run.close()
        restarted = _ops_runner(store, clock, channel)
        clock.advance(timedelta(minutes=5))
        restarted.run_source("broken")
        restarted.close()
    finally:
        store.close()
    assert [e.state for e in channel.sent] == ["failing"]  # once, not again after the restart


# -- drop folder -----------------------------------------------------------------------------------

def _write(path: Path, ids: list[str], *, at: datetime) -> None:
    path.write_text("".join(json.dumps({"id": i, "published_at": "2026-11-26T09:00:00+00:00", "text": "rappel"})
                            + "\n" for i in ids))
    os.utime(path, (at.timestamp(), at.timestamp()))


def test_a_drop_file_rewritten_before_it_was_moved_is_read_not_moved_unread(tmp_path: Path) -> None:
    inbox, done = tmp_path / "inbox", tmp_path / "done"
    inbox.mkdir()
    source = SourceConfig(name="support", type="jsonl", kind=SourceKind.SUPPORT, interval=timedelta(minutes=5),
                          timeout=timedelta(seconds=5), options={"path": str(inbox), "done": str(done)})
    collector = DropFolderCollector(source)
    _write(inbox / "export.jsonl", ["cs-1"], at=START - timedelta(minutes=1))
    first = collector.collect(None, START)
    assert [m.id for m in first.mentions] == ["cs-1"]
    # the exporter writes its next batch under the same name before the next run moved the first one
    _write(inbox / "export.jsonl", ["cs-2", "cs-3"], at=START + timedelta(minutes=2))
    second = collector.collect(first.cursor, START + timedelta(minutes=5))
    assert [m.id for m in second.mentions] == ["cs-2", "cs-3"]
    third = collector.collect(second.cursor, START + timedelta(minutes=10))
    assert third.mentions == () and (done / "export.jsonl").exists() and not (inbox / "export.jsonl").exists()


# -- scheduling -----------------------------------------------------------------------------------

class Blocking:
    """A collector that waits until ``parties`` collectors run at the same time (or gives up)."""

    def __init__(self, barrier: threading.Barrier, ran: list[str], name: str) -> None:
        self.barrier, self.ran, self.name = barrier, ran, name

    def collect(self, cursor: dict | None, now: datetime) -> CollectResult:
        self.barrier.wait()
        self.ran.append(self.name)
        return CollectResult(mentions=(), cursor=None)


def test_after_a_reload_with_more_sources_every_source_still_has_its_own_thread(tmp_path: Path) -> None:
    store = SQLiteStore(str(tmp_path / "cw.db"))
    barrier, ran = threading.Barrier(3, timeout=12), []

    def factory(source: SourceConfig, client: httpx.Client, limiter: HostLimiter) -> Blocking:
        return Blocking(barrier, ran, source.name)

    def make(*names: str) -> CollectionRunner:
        return CollectionRunner([rss(n) for n in names], store=store, clock=SystemClock(), sink=lambda m: None,
                                client_factory=httpx.Client, collector_factory=factory)

    scheduler = BackgroundScheduler(timezone=UTC)
    old = make("a")
    old.schedule(scheduler)
    old.unschedule(scheduler)  # a reload: the new configuration has three sources
    new = make("a", "b", "c")
    new.schedule(scheduler)
    scheduler.start()
    try:
        deadline = datetime.now(UTC) + timedelta(seconds=20)
        while len(ran) < 3 and datetime.now(UTC) < deadline and not barrier.broken:
            threading.Event().wait(0.1)
    finally:
        barrier.abort()
        scheduler.shutdown(wait=True)
        new.close()
        store.close()
    assert sorted(ran) == ["a", "b", "c"]  # three slow sources ran side by side, none waited for another


# -- HTTP: a server that trickles, a body that inflates ------------------------------------------

class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:
        if self.path == "/trickle":  # one byte every 0.2 s: each read is well within the timeout
            self.send_response(200)
            self.send_header("Content-Type", "application/rss+xml")
            self.send_header("Content-Length", "40")
            self.end_headers()
            for _ in range(40):
                self.wfile.write(b" ")
                self.wfile.flush()
                time.sleep(0.2)
            return
        body = BOMB  # 16 MB of spaces, about 16 KB gzipped: one network read
        self.send_response(200)
        self.send_header("Content-Encoding", "gzip")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


BOMB = gzip.compress(b" " * (16 * 1024 * 1024), compresslevel=9)


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address) -> None:  # the client hung up: expected
        pass


@pytest.fixture
def server():
    running = _Server(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=running.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{running.server_address[1]}"
    running.shutdown()
    running.server_close()


def test_a_server_trickling_its_body_is_cut_off_and_frees_the_host_slot(server: str) -> None:
    limiter = HostLimiter(per_host=1)
    with httpx.Client() as client:
        fetcher = Fetcher(client, policy=FetchPolicy(timeout=0.5, attempts=1), limiter=limiter)
        started = time.monotonic()
        with pytest.raises(FetchError, match="took longer than") as caught:
            fetcher.get(f"{server}/trickle")  # 8 s in all if nothing cuts it off
        assert caught.value.retryable
    assert time.monotonic() - started < 4.0  # the host slot is held no longer than that


def test_the_size_limit_holds_for_a_gzip_body_even_within_one_network_read(server: str) -> None:
    assert len(BOMB) < 64 * 1024
    with httpx.Client() as client:
        fetcher = Fetcher(client, policy=FetchPolicy(timeout=5, attempts=1, max_bytes=100_000),
                          limiter=HostLimiter())
        tracemalloc.start()
        try:
            with pytest.raises(FetchError, match="100000-byte limit"):
                fetcher.get(f"{server}/bomb")
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
    assert peak < 4 * 1024 * 1024  # never 16 MB inflated in memory for a 100 kB limit


# -- paged JSON APIs -------------------------------------------------------------------------------

class Paged(JsonApiCollector):
    """A newest-first search API with numbered pages (the shape of Reddit, Bluesky, YouTube)."""

    def requests(self, state: Mapping[str, Any], now: datetime) -> list[ApiRequest]:
        return [ApiRequest(url="https://api.example.org/search")]

    def parse(self, data: bytes) -> list[Mention]:
        return [Mention(id=f"api:{item}", published_at=START - timedelta(minutes=item), text=f"post {item}")
                for item in json.loads(data)["items"]]

    def next_page(self, request: ApiRequest, payload: Any) -> ApiRequest | None:
        following = payload.get("next")
        return ApiRequest(url=request.url, params={"page": following}) if following else None


def test_a_later_page_that_failed_is_fetched_at_the_next_run_not_skipped() -> None:
    pages = {"1": {"items": [1, 2], "next": "2"}, "2": {"items": [3, 4], "next": None}}
    down = {"page 2": True}

    def api(request: httpx.Request) -> httpx.Response:
        page = request.url.params.get("page", "1")
        if page == "2" and down["page 2"]:
            return httpx.Response(503)
        return httpx.Response(200, json=pages[page], headers={"ETag": '"p1"'} if page == "1" else {})

    def not_modified_aware(request: httpx.Request) -> httpx.Response:
        if request.headers.get("If-None-Match") == '"p1"' and "page" not in request.url.params:
            return httpx.Response(304)
        return api(request)

    source = SourceConfig(name="api", type="json", kind=SourceKind.SOCIAL, interval=timedelta(minutes=5),
                          timeout=timedelta(seconds=5), options={"max_pages": 3})
    client = httpx.Client(transport=httpx.MockTransport(not_modified_aware))
    collector = Paged(source, Fetcher(client, policy=FetchPolicy(attempts=1), limiter=HostLimiter()))
    first = collector.collect(None, START)
    assert [m.id for m in first.mentions] == ["api:1", "api:2"]  # page 2 failed: kept, logged
    down["page 2"] = False
    second = collector.collect(first.cursor, START + timedelta(minutes=5))
    assert [m.id for m in second.mentions] == ["api:3", "api:4"]  # not lost behind an unchanged page 1
    third = collector.collect(second.cursor, START + timedelta(minutes=10))
    assert third.mentions == () and "resume" not in (third.cursor or {})


# -- health: another runner (the scheduler that held the lease meanwhile) ran the source --------

def test_health_is_read_from_the_store_at_each_run_not_from_a_stale_memory(tmp_path: Path) -> None:
    clock, channel = SimulatedClock(START), Channel()
    channel.up = True
    store = SQLiteStore(str(tmp_path / "cw.db"))
    try:
        first, second = _ops_runner(store, clock, channel), _ops_runner(store, clock, channel)
        first.fail_after = second.fail_after = 3
        first.run_source("broken")  # this scheduler collects, then loses the lease
        for _ in range(3):  # the other one takes over: the source keeps failing, the ops channel is told
            clock.advance(timedelta(minutes=5))
            second.run_source("broken")
        clock.advance(timedelta(minutes=5))
        health = first.run_source("broken")  # the first scheduler has the lease back
        first.close()
        second.close()
    finally:
        store.close()
    assert health.consecutive_failures == 5
    assert [e.state for e in channel.sent] == ["failing"]  # not forgotten, not sent again later
    assert health.ops_alert == "failing"


# -- a hung ops channel must not hold up the collection of other sources ------------------------

class Instant:
    def collect(self, cursor: dict | None, now: datetime) -> CollectResult:
        return CollectResult(mentions=(), cursor=None)


def test_a_hung_ops_channel_does_not_delay_the_runs_of_other_sources(tmp_path: Path) -> None:
    store = SQLiteStore(str(tmp_path / "cw.db"))
    delivering = threading.Event()
    sent: list[OpsEvent] = []

    def hung_channel(event: OpsEvent) -> None:
        delivering.set()
        time.sleep(1.5)  # a Slack that accepts the connection and never answers, until the timeout
        sent.append(event)

    def factory(source: SourceConfig, client: httpx.Client, limiter: HostLimiter):
        if source.name == "quiet":
            return Instant()
        return build_collector(source, client, limiter=limiter, sleep=lambda seconds: None)

    run = CollectionRunner([rss("broken"), rss("quiet")], store=store, clock=SimulatedClock(START),
                           sink=lambda mentions: None, on_ops=hung_channel, fail_after=1,
                           client_factory=lambda: httpx.Client(transport=httpx.MockTransport(
                               lambda request: httpx.Response(500))), collector_factory=factory)
    try:
        failing = threading.Thread(target=run.run_source, args=["broken"])
        failing.start()
        assert delivering.wait(5)
        started = time.monotonic()
        run.run_source("quiet")
        took = time.monotonic() - started
        failing.join()
        run.run_source("quiet")  # nothing left to send: not sent twice
        run.close()
    finally:
        store.close()
    assert took < 0.5
    assert [e.state for e in sent] == ["failing"]

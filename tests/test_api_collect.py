"""Scheduled collections inside the service: a local RSS feed and a dead one, seen through
/api/sources and /metrics (runs, errors and freshness per source)."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest

from service.api.embed import ServiceThread
from service.app import Service
from service.config import load_config
from tests.test_api import write_config
from tests.test_reload import _free_port

FEED = Path(__file__).resolve().parent / "fixtures" / "feeds" / "google_news_fr.rss"


class _Feed(BaseHTTPRequestHandler):
    requested = threading.Event()

    def do_GET(self) -> None:
        if self.path.startswith("/slow"):
            _Feed.requested.set()
            time.sleep(1.5)
        body = FEED.read_bytes()
        self.send_response(200)
        self.send_header("Content-Type", "application/rss+xml")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def feed_url() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Feed)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/feed.rss"
    finally:
        server.shutdown()
        server.server_close()


@pytest.mark.timeout(60)
def test_collections_are_scheduled_counted_and_reported(tmp_path: Path, feed_url: str,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CRISISWATCH_STORE", raising=False)
    dead = f"http://127.0.0.1:{_free_port()}/gone.rss"
    sources = (f"sources:\n  local-feed:\n    type: rss\n    kind: news\n    url: {feed_url}\n    interval: 1h\n"
               f"  dead-feed:\n    type: rss\n    kind: news\n    url: {dead}\n    interval: 1h\n")
    path = write_config(tmp_path, extra=sources)
    path.write_text(path.read_text(encoding="utf-8").replace("query: acme", "query: peugeot"), encoding="utf-8")
    service = Service(load_config(path), notifiers={})
    with ServiceThread(service) as running:
        deadline = time.monotonic() + 30
        while True:
            health = {s["source"]: s for s in httpx.get(f"{running.url}/api/sources").json()}
            if health["local-feed"]["status"] != "never run" and health["dead-feed"]["status"] != "never run":
                break
            assert time.monotonic() < deadline, health
            time.sleep(0.2)
        metrics = httpx.get(f"{running.url}/metrics").text
    assert health["local-feed"]["status"] == "ok" and health["local-feed"]["mentions_total"] > 0
    assert health["dead-feed"]["status"] == "failing" and health["dead-feed"]["last_error"]
    assert 'crisiswatch_source_runs_total{outcome="ok",source="local-feed"} 1.0' in metrics
    assert 'crisiswatch_source_errors_total{source="dead-feed"} 1.0' in metrics
    assert 'crisiswatch_source_freshness_seconds{source="local-feed"}' in metrics
    assert 'crisiswatch_source_consecutive_failures{source="dead-feed"} 1.0' in metrics
    assert 'crisiswatch_mentions_total{source="local-feed"}' in metrics


@pytest.mark.timeout(60)
def test_stop_lets_a_running_collection_finish(tmp_path: Path, feed_url: str,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CRISISWATCH_STORE", raising=False)
    slow = feed_url.replace("/feed.rss", "/slow.rss")
    path = write_config(tmp_path, extra=f"sources:\n  slow-feed:\n    type: rss\n    kind: news\n"
                                        f"    url: {slow}\n    interval: 1h\n    timeout: 10s\n")
    path.write_text(path.read_text(encoding="utf-8").replace("query: acme", "query: peugeot"), encoding="utf-8")
    _Feed.requested.clear()
    service = Service(load_config(path), notifiers={})
    running = ServiceThread(service).start()
    try:
        assert _Feed.requested.wait(20), "the collection started"
    finally:
        running.stop()  # while the feed is still answering
    health = service.runner.health("slow-feed")
    assert health.last_success is not None and health.mentions_total > 0, health
    assert service.inflight.running == 0

"""/readyz follows the store: a private redis-server goes away, then comes back on the same port."""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import redis

from service.api.embed import ServiceThread
from service.app import Service
from service.clock import SimulatedClock
from service.config import load_config
from service.store import open_store
from tests.test_api import START, write_config


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class RedisProcess:
    def __init__(self, port: int, folder: Path) -> None:
        self.port, self.folder = port, folder
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            pytest.fail("redis-server is needed (apt-get install redis-server)")
        self.process = subprocess.Popen(
            [binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
             "--dir", str(self.folder)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        client = redis.Redis.from_url(self.url, socket_connect_timeout=0.5, socket_timeout=0.5)
        deadline = time.monotonic() + 10
        try:
            while True:
                try:
                    client.ping()
                    return
                except redis.RedisError:
                    if time.monotonic() > deadline:
                        pytest.fail("redis-server did not start")
                    time.sleep(0.05)
        finally:
            client.close()

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(timeout=10)
            self.process = None


@pytest.fixture
def private_redis(tmp_path: Path) -> Iterator[RedisProcess]:
    server = RedisProcess(_free_port(), tmp_path)
    server.start()
    try:
        yield server
    finally:
        server.stop()


def _wait_status(url: str, status: int, timeout: float = 20.0) -> dict[str, object]:
    deadline = time.monotonic() + timeout
    while True:
        response = httpx.get(f"{url}/readyz", timeout=15)
        if response.status_code == status:
            return dict(response.json())
        if time.monotonic() > deadline:
            raise AssertionError(f"/readyz stayed {response.status_code}: {response.text}")
        time.sleep(0.1)


def test_readiness_flips_when_the_store_goes_away_and_back(
        tmp_path: Path, private_redis: RedisProcess, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CRISISWATCH_STORE", raising=False)
    config = load_config(write_config(tmp_path, store="unused.db"))
    service = Service(config, clock=SimulatedClock(START), store=open_store(private_redis.url), notifiers={})
    with ServiceThread(service) as running:
        ready = _wait_status(running.url, 200)
        assert ready["checks"] == {"store": True, "scheduler": True, "config": True, "stopping": False}
        private_redis.stop()
        down = _wait_status(running.url, 503)
        assert down["checks"]["store"] is False and down["checks"]["scheduler"] is True  # type: ignore[index]
        assert down["store_error"]
        assert httpx.get(f"{running.url}/healthz").status_code == 200  # alive, only not ready
        assert "crisiswatch_state_readable 0.0" in httpx.get(f"{running.url}/metrics").text
        private_redis.start()
        _wait_status(running.url, 200)

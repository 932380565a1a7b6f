"""Shared fixtures: a real Redis for every test that needs one (never a mock).

``redis_url`` (session): ``$CRISISWATCH_TEST_REDIS_URL`` when set, else ``redis://127.0.0.1:6379/15``
when a server answers there, else a private ``redis-server`` started on a free port (no persistence)
and stopped at the end. ``clean_redis_url`` (function): the same URL after ``FLUSHDB`` (under a file lock).
``private_redis`` (function): starts throw-away servers with extra options, e.g. a password.
"""

from __future__ import annotations

import fcntl
import hashlib
import logging
import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import redis

DEFAULT_TEST_REDIS = "redis://127.0.0.1:6379/15"


def _answers(url: str, **options: object) -> bool:
    client = redis.Redis.from_url(url, socket_connect_timeout=0.5, socket_timeout=0.5, **options)
    try:
        return bool(client.ping())
    except redis.RedisError:
        return False
    finally:
        client.close()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _start_redis_server(workdir: Path, *extra: str, tls: bool = False) -> tuple[subprocess.Popen[bytes], int]:
    """Start a private redis-server (no persistence) in ``workdir``; return it and its (TLS) port."""
    binary = shutil.which("redis-server")
    if binary is None:
        pytest.fail("no Redis for the tests: install it (apt-get install redis-server) "
                    "or set CRISISWATCH_TEST_REDIS_URL")
    port = _free_port()
    listen = ["--port", "0", "--tls-port", str(port)] if tls else ["--port", str(port)]
    command = [binary, *listen, "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", str(workdir)]
    server = subprocess.Popen([*command, *extra], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _wait_for_port(server, port)
    return server, port


def _wait_for_port(server: subprocess.Popen[bytes], port: int) -> None:
    deadline = time.monotonic() + 10
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return
        except OSError:
            if server.poll() is not None or time.monotonic() > deadline:
                _stop_redis_server(server)
                pytest.fail(f"redis-server on port {port} did not start (exit status {server.poll()})")
            time.sleep(0.05)


def _stop_redis_server(server: subprocess.Popen[bytes]) -> None:
    server.terminate()
    try:
        server.wait(timeout=10)
    except subprocess.TimeoutExpired:
        server.kill()
        server.wait()


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    configured = os.environ.get("CRISISWATCH_TEST_REDIS_URL")
    if configured:
        yield configured
        return
    if _answers(DEFAULT_TEST_REDIS):
        yield DEFAULT_TEST_REDIS
        return
    server, port = _start_redis_server(tmp_path_factory.mktemp("redis"))
    try:
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        _stop_redis_server(server)


@pytest.fixture
def clean_redis_url(redis_url: str) -> Iterator[str]:
    """``redis_url`` after FLUSHDB; a file lock keeps concurrent pytest runs (several people or agents on
    one machine sharing the same test database) from flushing each other's data mid-test."""
    digest = hashlib.sha1(redis_url.encode()).hexdigest()[:12]
    with open(Path(tempfile.gettempdir()) / f"crisiswatch-redis-{digest}.lock", "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        client = redis.Redis.from_url(redis_url)
        try:
            client.flushdb()
        finally:
            client.close()
        yield redis_url


@pytest.fixture
def private_redis(tmp_path: Path) -> Iterator[Callable[..., int]]:
    """Start extra private servers with options (``--requirepass``, TLS...); returns their port."""
    servers: list[subprocess.Popen[bytes]] = []

    def start(*options: str, tls: bool = False) -> int:
        server, port = _start_redis_server(tmp_path, *options, tls=tls)
        servers.append(server)
        return port

    yield start
    for server in servers:
        _stop_redis_server(server)


_CONFIGURED_LOGGERS = ("", "httpx", "httpcore", "apscheduler", "slack_sdk", "uvicorn.access")
"""Loggers whose level ``service.logs.configure`` sets (``""``: the root, which also gets its handler)."""


@pytest.fixture(autouse=True)
def _logging_as_it_was() -> Iterator[None]:
    """A test that runs the CLI in-process configures logging (a JSON handler on the root, httpx quieted to
    WARNING): undone afterwards, so that a later test's ``caplog`` sees what it expects."""
    loggers = [logging.getLogger(name) for name in _CONFIGURED_LOGGERS]
    saved = [(logger, logger.level, list(logger.handlers), logger.propagate) for logger in loggers]
    yield
    for logger, level, handlers, propagate in saved:
        logger.setLevel(level)
        logger.propagate = propagate
        for handler in list(logger.handlers):
            if handler not in handlers and not type(handler).__module__.startswith("_pytest"):
                logger.removeHandler(handler)
        for handler in handlers:  # pytest's own (--log-file, log_cli), which the configuration removed
            if handler not in logger.handlers:
                logger.addHandler(handler)

"""The two scale-out proofs, on real redis-servers and real worker processes.

1. Determinism: a recorded multi-brand stream (peugeot_app_outage cut to four days, three brands)
   gives identical buckets, incidents and alerts in one process (SQLite, ``service.replay``) and
   through the stream with three ``crisiswatch run --role worker`` processes, one of them killed
   with SIGKILL while it holds unacknowledged entries, then restarted.
2. Redis restarted mid-run (append-only file on): processing resumes, nothing lost, nothing counted
   twice (same buckets, incidents and alerts as the single process).
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import pytest
import redis

from service.app import build_pipeline
from service.clock import SimulatedClock, SystemClock
from service.config import Config, load_config
from service.domain import Alert, Bucket, Incident, Mention
from service.mentions import read_mentions
from service.replay import replay
from service.scale.drive import StreamReplay
from service.scale.roles import connect
from service.scale.stream import MentionStream
from service.scale.ticker import Ticker
from service.scale.worker import Worker, WorkerSettings
from service.store import open_store
from service.store.base import Store
from service.store.keys import Keys

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "tests" / "fixtures" / "scale"
STEP, TAIL = timedelta(minutes=5), timedelta(hours=3)


@dataclass
class Outcome:
    alerts: list[dict]
    buckets: dict[str, list[Bucket]]
    incidents: list[Incident]


def outcome(config: Config, store: Store, alerts: list[Alert], start: datetime, end: datetime) -> Outcome:
    return Outcome(alerts=[a.to_record() for a in alerts],
                   buckets={b: store.buckets(b, start - timedelta(days=1), end) for b in config.brands},
                   incidents=store.incidents(limit=1000))


@pytest.fixture(scope="module")
def config() -> Config:
    return load_config(FIXTURES / "alerts.yaml")


@pytest.fixture(scope="module")
def mentions() -> list[Mention]:
    return list(read_mentions(FIXTURES / "mentions.jsonl.gz"))


@pytest.fixture(scope="module")
def reference(config: Config, mentions: list[Mention]) -> Outcome:
    """One process, embedded store: what the scaled-out runs must reproduce exactly."""
    store = open_store(":memory:")
    clock = SimulatedClock(min(m.published_at for m in mentions))
    result = replay(mentions, build_pipeline(config, store, clock, {}), clock, step=STEP, tail=TAIL)
    found = outcome(config, store, result.alerts, result.started, result.ended)
    assert {a["state"] for a in found.alerts} >= {"firing", "resolved"}  # the proof compares real alerts
    assert sum(b.count for bs in found.buckets.values() for b in bs) > 1500
    return found


def through_stream(url: str, config: Config, mentions: list[Mention]) -> tuple[Outcome, StreamReplay]:
    """The scheduler side in this process: append to the stream, tick behind the watermark."""
    store, client = connect(url)
    clock = SimulatedClock(min(m.published_at for m in mentions))
    stream = MentionStream(client, store.keys)
    ticker = Ticker(build=lambda: build_pipeline(config, store, clock, {}), stream=stream, store=store,
                    clock=SystemClock())
    drive = StreamReplay(stream=stream, ticker=ticker, clock=clock, waiter=SystemClock())
    result = drive.run(mentions, step=STEP, tail=TAIL)
    found = outcome(config, store, result.alerts, result.started, result.ended)
    assert stream.pending() == 0
    assert client.xlen(stream.name) <= 500  # trimmed as it went, up to the watermark
    store.close()
    client.close()
    return found, drive


def assert_same(found: Outcome, reference: Outcome) -> None:
    for brand, buckets in reference.buckets.items():
        extra = [b for b in found.buckets[brand] if b not in buckets]
        same = {b.start: b for b in buckets}
        assert extra == [], [(b, same.get(b.start)) for b in extra]
        assert [b for b in buckets if b not in found.buckets[brand]] == [], brand
    assert found.incidents == reference.incidents
    assert found.alerts == reference.alerts


# -- proof 1: three worker processes, one killed -----------------------------------------------------

LOGS = Path(os.environ.get("TMPDIR", "/tmp"))


def _worker(url: str, name: str) -> subprocess.Popen[bytes]:
    """A ``crisiswatch run --role worker`` process; its log goes to ``<tmp>/crisiswatch-scale-<name>.log``."""
    env = {**os.environ, "CRISISWATCH_STORE": url, "CRISISWATCH_CLAIM_IDLE": "1", "CRISISWATCH_WORKER_BATCH": "20",
           "CRISISWATCH_LISTEN": "127.0.0.1:0",
           "CRISISWATCH_LOG_FORMAT": "text"}
    with open(LOGS / f"crisiswatch-scale-{name}.log", "ab") as log:
        return subprocess.Popen([sys.executable, "-m", "service.cli", "run", "--role", "worker", "--config",
                                 str(FIXTURES / "alerts.yaml"), "--name", name], cwd=ROOT, env=env,
                                stdout=subprocess.DEVNULL, stderr=log)


@pytest.fixture
def workers() -> Iterator[dict[str, subprocess.Popen[bytes]]]:
    running: dict[str, subprocess.Popen[bytes]] = {}
    yield running
    for process in running.values():
        if process.poll() is None:
            process.kill()
            process.wait()


def _kill_while_holding(url: str, name: str, running: dict[str, subprocess.Popen[bytes]],
                        report: dict[str, int], done: threading.Event) -> None:
    """SIGKILL ``name`` as soon as it holds unacknowledged entries past the first quarter, then restart it."""
    client = redis.Redis.from_url(url, decode_responses=True)
    stream = MentionStream(client, Keys())
    while not done.is_set():
        try:
            read = int(client.xinfo_groups(stream.name)[0]["entries-read"] or 0)
            held = client.xpending_range(stream.name, stream.group, "-", "+", 100, consumername=name)
        except (redis.ResponseError, IndexError):
            held, read = [], 0
        if held and read > 400:
            running[name].send_signal(signal.SIGKILL)
            running[name].wait()
            report["held_at_kill"] = len(held)
            time.sleep(2.5)  # the others take its entries over (claim idle: 1 s)
            report["still_held_at_restart"] = len(client.xpending_range(
                stream.name, stream.group, "-", "+", 100, consumername=name))
            running[name] = _worker(url, name)
            break
        time.sleep(0.001)
    client.close()


def test_three_workers_one_killed_give_the_single_process_results(
        private_redis: Callable[..., int], workers: dict[str, subprocess.Popen[bytes]], config: Config,
        mentions: list[Mention], reference: Outcome) -> None:
    url = f"redis://127.0.0.1:{private_redis()}/0"
    for name in ("w1", "w2", "w3"):
        workers[name] = _worker(url, name)
    report: dict[str, int] = {}
    done = threading.Event()
    killer = threading.Thread(target=_kill_while_holding, args=(url, "w2", workers, report, done))
    killer.start()
    try:
        found, _ = through_stream(url, config, mentions)
    finally:
        done.set()
        killer.join()
    assert report.get("held_at_kill", 0) > 0, "w2 was never caught holding entries"
    assert report["still_held_at_restart"] == 0  # XAUTOCLAIM: the survivors took them over
    assert_same(found, reference)
    for name, process in workers.items():
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=20) == 0, (LOGS / f"crisiswatch-scale-{name}.log").read_text()[-2000:]


# -- proof 2: Redis restarted mid-run ----------------------------------------------------------------

class AofRedis:
    """A private redis-server with the append-only file on, restartable on the same port."""

    def __init__(self, workdir: Path, port: int) -> None:
        self.workdir, self.port = workdir, port
        self.process: subprocess.Popen[bytes] | None = None
        self.starts = 0

    def start(self) -> None:
        binary = shutil.which("redis-server")
        assert binary, "redis-server is needed"
        self.process = subprocess.Popen([binary, "--port", str(self.port), "--bind", "127.0.0.1", "--dir",
                                         str(self.workdir), "--appendonly", "yes", "--appendfsync", "always",
                                         "--save", ""], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        client = redis.Redis(port=self.port)
        for _ in range(400):
            try:
                if client.ping():
                    break
            except (redis.ConnectionError, redis.BusyLoadingError):
                time.sleep(0.025)
        client.close()
        self.starts += 1

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()  # a clean shutdown: the append-only file is complete
            self.process.wait(timeout=20)


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_redis_restart_mid_run_loses_nothing_and_counts_nothing_twice(
        tmp_path: Path, config: Config, mentions: list[Mention], reference: Outcome) -> None:
    server = AofRedis(tmp_path, _free_port())
    server.start()
    url = f"redis://127.0.0.1:{server.port}/0"
    stop = threading.Event()
    threads = []
    for name in ("r1", "r2"):
        store, client = connect(url)
        worker = Worker(stream=MentionStream(client, store.keys), store=store, name=name, clock=SystemClock(),
                        pipeline=build_pipeline(config, store, SystemClock(), {}),
                        settings=WorkerSettings(batch=20, block_ms=100, claim_idle_ms=1000, backoff_cap=0.5))
        threads.append(threading.Thread(target=worker.run, args=(stop,), daemon=True))
    for thread in threads:
        thread.start()

    def restart_when_busy() -> None:
        probe = redis.Redis(port=server.port, decode_responses=True)
        stream = Keys().stream()
        while not stop.is_set():
            try:
                if int(probe.xinfo_groups(stream)[0]["entries-read"] or 0) > 600:
                    break
            except (redis.ResponseError, IndexError):
                pass
            time.sleep(0.005)
        seen["entries read at restart"] = int(probe.xinfo_groups(stream)[0]["entries-read"] or 0)
        probe.close()
        server.stop()
        time.sleep(2.0)  # longer than the clients' own retries: the outage reaches the roles' backoff
        server.start()

    seen: dict[str, int] = {}
    restarter = threading.Thread(target=restart_when_busy)
    restarter.start()
    try:
        found, drive = through_stream(url, config, mentions)
    finally:
        restarter.join()
        stop.set()
        for thread in threads:
            thread.join(timeout=10)
        server.stop()
    assert_same(found, reference)
    assert server.starts == 2 and seen["entries read at restart"] < len(mentions)  # restarted mid-run
    assert drive.retries > 0  # the replay really saw Redis go away

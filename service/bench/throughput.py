"""``crisiswatch bench throughput``: mentions per second end to end, one process and scaled out.

End to end = ingest -> enrich -> window -> detect -> notify (into a recording notifier), the replay
schedule on a simulated clock, for
(a) the embedded SQLite store in one process (``service.replay``);
(b) Redis: the mentions go through the stream to one, then two ``crisiswatch run --role worker``
    processes while this process ticks behind the watermark (``service.scale.drive``);
and the floor: negativity scoring alone on the same texts. Also the Redis memory (``MEMORY USAGE``)
per brand-day of state. Medians of ``--runs`` runs; the figures are printed last, one per line.

Where the CPU goes in the Redis runs (read from ``/proc`` for the workers, ``INFO cpu`` for the
server, this process's own time for the collector and the ticks) is printed too, with what it implies:
``k`` cores cannot run the workers' share ``W``, the scheduler's ``S`` (appending to the stream,
detection ticks: one thread) and the server's ``R`` (one thread) in less than
``max(W / workers, S, R, (W + S + R) / k)``, so two workers cannot beat one by more than the measured
one-worker time over that limit for two (with the one-worker split; two workers only add CPU).
A shared server (``--redis``) counts other clients' CPU too.

The mentions are the replay library's recordings (tests/fixtures/replays), each scenario shifted so
that they all end at the same instant, the last ``--days`` days kept: several brands at once, with
their crises, so detection and notification really run. ``--step`` is the simulated time between two
ticks (mentions are handed over in batches of that much event time): 5m is the replay's own
schedule (latency-bound through the stream: one small batch, then a wait for the watermark); 1h
(default) measures capacity, a backlog of an hour of mentions at a time, and the Redis run appends
the next hour while a tick runs (``lookahead=1``, see :mod:`service.scale.drive`). Alert events are the
same; notifications follow the coarser clock (group waits, reminders), so their count may differ.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import msgspec

from service.clock import SimulatedClock, SystemClock, floor_time
from service.config import Config, load_config
from service.domain import Alert, Mention
from service.enrich.enricher import full_text
from service.enrich.lang import detect_language
from service.housekeeping import RETENTION
from service.mentions import read_mentions
from service.notify.base import Target
from service.pipeline import COUNTED_KEPT_DAYS
from service.yamlread import parse_duration

LIBRARY = Path(__file__).resolve().parents[2] / "tests" / "fixtures" / "replays"
BUCKET = timedelta(minutes=5)
END = datetime(2025, 1, 31, tzinfo=UTC)
_WALL = SystemClock()


class RecordingNotifier:
    """Receives every alert (the benchmark's Slack): counts and keeps them."""

    name = "console"

    def __init__(self) -> None:
        self.sent: list[Alert] = []

    def send(self, alert: Alert, target: Target, thread_ref: str | None) -> str | None:
        self.sent.append(alert)
        return thread_ref or alert.incident_id


def load_mentions(library: Path, days: int, limit: int | None) -> list[Mention]:
    """Every scenario shifted to end at :data:`END`, the last ``days`` days, ids made unique."""
    found: list[Mention] = []
    for folder in sorted(p for p in library.iterdir() if (p / "mentions.jsonl.gz").exists()):
        rows = list(read_mentions(folder / "mentions.jsonl.gz"))
        shift = END - max(m.published_at for m in rows)
        found.extend(msgspec.structs.replace(m, id=f"{folder.name}:{m.id}", published_at=m.published_at + shift)
                     for m in rows if m.published_at + shift > END - timedelta(days=days))
    found.sort(key=lambda m: m.published_at)
    return found[-limit:] if limit else found


def timed(work: Callable[[], object]) -> float:
    started = _WALL.monotonic()
    work()
    return _WALL.monotonic() - started


@dataclass(frozen=True, kw_only=True, slots=True)
class CpuSplit:
    """CPU seconds of one Redis run, by process (``None``: not measurable here)."""

    workers: float | None
    scheduler: float
    """This process: appending the mentions to the stream (the collectors' part) and the ticks."""
    server: float | None

    def bound(self, workers: int, cores: int) -> float | None:
        """Shortest wall time ``workers`` workers could take on ``cores`` cores for this work: the
        workers' CPU shared among them, the scheduler and the server one thread each, every
        process's CPU shared among the cores."""
        if self.workers is None or self.server is None:
            return None
        return max(self.workers / workers, self.scheduler, self.server,
                   (self.workers + self.scheduler + self.server) / cores)


def process_cpu(pid: int) -> float | None:
    """CPU seconds (user + system) used so far by process ``pid`` (Linux ``/proc``; ``None`` elsewhere)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def server_cpu(client: object) -> float | None:
    try:
        info = client.info("cpu")  # type: ignore[attr-defined]
        return float(info["used_cpu_user"]) + float(info["used_cpu_sys"])
    except Exception:  # a server that does not say: the split is left out
        return None


def _spent(before: Sequence[float | None], after: Sequence[float | None]) -> float | None:
    if any(v is None for v in (*before, *after)):
        return None
    return sum(after) - sum(before)  # type: ignore[arg-type]


# -- (a) one process, SQLite ----------------------------------------------------------------------

def single_process(config: Config, mentions: Sequence[Mention], folder: Path, run: int,
                   step: timedelta) -> tuple[float, int]:
    from service.app import build_pipeline
    from service.replay import replay
    from service.store import open_store

    store = open_store(f"sqlite:///{folder / f'single-{run}.db'}")
    clock = SimulatedClock(floor_time(mentions[0].published_at, BUCKET))
    notifier = RecordingNotifier()
    pipeline = build_pipeline(config, store, clock, {"console": notifier})
    seconds = timed(lambda: replay(mentions, pipeline, clock, step=step, tail=timedelta(0)))
    store.close()
    return seconds, len(notifier.sent)


def scoring_floor(config: Config, mentions: Sequence[Mention]) -> float:
    from service.enrich.negativity import load_scorer

    scorer = load_scorer()
    texts = [full_text(m) for m in mentions]
    langs = [m.lang or detect_language(t) for m, t in zip(mentions, texts, strict=True)]
    return timed(lambda: [scorer.score_many(texts[i:i + 5000], langs[i:i + 5000]) for i in range(0, len(texts), 5000)])


# -- (b) Redis, worker processes ------------------------------------------------------------------

@contextlib.contextmanager
def private_redis(folder: Path) -> Iterator[str]:
    binary = shutil.which("redis-server")
    if binary is None:
        raise SystemExit("error: bench throughput needs redis-server (or --redis URL)")
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    server = subprocess.Popen([binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
                               "--dir", str(folder)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        server.terminate()
        server.wait(timeout=10)


def start_workers(url: str, config_path: Path, count: int, folder: Path) -> list[subprocess.Popen[bytes]]:
    env = {**os.environ, "CRISISWATCH_STORE": url, "CRISISWATCH_LOG_FORMAT": "text", "CRISISWATCH_WORKER_BATCH": "50",
           "CRISISWATCH_LISTEN": "127.0.0.1:0"}  # each worker serves its HTTP on a port of its own
    workers = []
    for index in range(count):
        with open(folder / f"worker-{index}.log", "ab") as log:
            workers.append(subprocess.Popen(
                [sys.executable, "-m", "service.cli", "run", "--role", "worker", "--config", str(config_path),
                 "--name", f"bench-{index}"], env=env, stdout=subprocess.DEVNULL, stderr=log))
    return workers


def scaled_out(config: Config, config_path: Path, mentions: Sequence[Mention], url: str, workers: int,
               folder: Path, step: timedelta) -> tuple[float, int, dict[str, int], CpuSplit]:
    import redis

    from service.app import build_pipeline
    from service.scale.drive import StreamReplay
    from service.scale.roles import connect
    from service.scale.stream import MentionStream
    from service.scale.ticker import Ticker

    store, client = connect(url)
    client.flushdb()
    stream = MentionStream(client, store.keys)
    stream.ensure_group()
    processes = start_workers(url, config_path, workers, folder)
    try:
        while len(client.xinfo_consumers(stream.name, stream.group)) < workers:  # loaded and reading
            if any(p.poll() is not None for p in processes):
                raise SystemExit(f"error: a worker exited; see {folder}/worker-*.log")
            threading.Event().wait(0.05)
        clock = SimulatedClock(floor_time(mentions[0].published_at, BUCKET))
        notifier = RecordingNotifier()
        ticker = Ticker(build=lambda: build_pipeline(config, store, clock, {"console": notifier}), stream=stream,
                        store=store, clock=_WALL)
        drive = StreamReplay(stream=stream, ticker=ticker, clock=clock, waiter=_WALL, lookahead=1)
        before = ([process_cpu(p.pid) for p in processes], time.process_time(), server_cpu(client))
        seconds = timed(lambda: drive.run(mentions, step=step, tail=timedelta(0)))
        after = ([process_cpu(p.pid) for p in processes], time.process_time(), server_cpu(client))
        server = None if before[2] is None or after[2] is None else after[2] - before[2]
        cpu = CpuSplit(workers=_spent(before[0], after[0]), scheduler=after[1] - before[1], server=server)
        kinds: dict[str, int] = {}
        for brand in store.brands():  # what a brand-day is made of (stderr)
            for key in client.scan_iter(match=store.keys.processed(brand, 0).rsplit(":", 2)[0] + ":*"):
                kind = key.rsplit("}:", 1)[1].split(":", 1)[0]
                kinds[kind] = kinds.get(kind, 0) + (client.memory_usage(key, samples=0) or 0)
        print("  redis memory by key kind, all brands: " + ", ".join(
            f"{kind} {size / 1024:.0f} KB" for kind, size in sorted(kinds.items())), file=sys.stderr)
        memory = {brand: store.brand_memory_bytes(brand) for brand in store.brands()}
        markers = {brand: sum(client.memory_usage(key, samples=0) or 0
                              for key in client.scan_iter(match=store.keys.processed(brand, 0)[:-1] + "*"))
                   for brand in memory}
        memory = {brand: memory[brand] - markers[brand] for brand in memory} | {
            f"{brand} processed ids": markers[brand] for brand in memory}
    finally:
        for process in processes:
            process.send_signal(signal.SIGTERM)
        for process in processes:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
        with contextlib.suppress(redis.RedisError):
            store.close()
            client.close()
    return seconds, len(notifier.sent), memory, cpu


# -- the command --------------------------------------------------------------------------------

def _describe(cpu: CpuSplit, seconds: float) -> str:
    named = (("workers", cpu.workers), ("scheduler", cpu.scheduler), ("redis-server", cpu.server))
    parts = [f"{name} {value:.2f}" for name, value in named if value is not None]
    return f"cpu s: {', '.join(parts)}; wall {seconds:.2f} s"


def _median_split(splits: Sequence[CpuSplit]) -> CpuSplit | None:
    """The split of the run with the median worker CPU (one real run, not a mix of runs)."""
    known = sorted((s for s in splits if s.workers is not None), key=lambda s: s.workers or 0.0)
    return known[len(known) // 2] if known else None


def cli_bench_throughput(args: argparse.Namespace) -> int:
    from service.cli import UsageError

    logging.getLogger("crisiswatch").setLevel(logging.WARNING)  # no line per simulated alert
    config_path = Path(args.config)
    config = load_config(config_path)
    mentions = load_mentions(Path(args.library), args.days, args.limit)
    days = (mentions[-1].published_at - mentions[0].published_at).total_seconds() / 86400
    try:
        step = parse_duration(args.step)
    except ValueError as exc:
        raise UsageError(f"--step: {exc}") from None
    print(f"{len(mentions)} mentions over {days:.1f} days from {args.library}, a tick every {args.step} of "
          f"event time, {args.runs} runs each", file=sys.stderr)
    with tempfile.TemporaryDirectory(prefix="cw-bench-") as tmp:
        folder = Path(tmp)
        floor = statistics.median(len(mentions) / scoring_floor(config, mentions) for _ in range(args.runs))
        single, alerts = [], 0
        for run in range(args.runs):
            seconds, alerts = single_process(config, mentions, folder, run, step)
            single.append(len(mentions) / seconds)
            print(f"  sqlite one process run {run + 1}: {single[-1]:,.0f} mentions/s ({alerts} alerts)",
                  file=sys.stderr)
        rates: dict[int, list[float]] = {1: [], 2: []}
        splits: dict[int, list[CpuSplit]] = {1: [], 2: []}
        memory: dict[str, int] = {}
        with private_redis(folder) if args.redis is None else contextlib.nullcontext(args.redis) as url:
            for workers in (1, 2):
                for run in range(args.runs):
                    seconds, sent, memory, cpu = scaled_out(config, config_path, mentions, url, workers, folder,
                                                            step)
                    rates[workers].append(len(mentions) / seconds)
                    splits[workers].append(cpu)
                    print(f"  redis {workers} worker(s) run {run + 1}: {rates[workers][-1]:,.0f} mentions/s "
                          f"({sent} alerts; {_describe(cpu, seconds)})", file=sys.stderr)
    state = {b: v for b, v in memory.items() if not b.endswith("processed ids")}
    per_brand_day = statistics.median(state.values()) / max(days, 1.0) if state else 0.0
    markers = statistics.median(v for b, v in memory.items() if b.endswith("processed ids")) / max(days, 1.0) \
        if state else 0.0
    sqlite, one, two = statistics.median(single), statistics.median(rates[1]), statistics.median(rates[2])
    print(f"scoring alone (floor): {floor:,.0f} mentions/s")
    print(f"sqlite one process: {sqlite:,.0f} mentions/s")
    print(f"sqlite one process / scoring floor: {sqlite / floor:.0%}")
    print(f"redis 1 worker: {one:,.0f} mentions/s")
    print(f"redis 2 workers: {two:,.0f} mentions/s")
    print(f"redis 2 workers / 1 worker: {two / one:.2f}x")
    split = _median_split(splits[1])
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    fastest_two = split.bound(2, cores) if split is not None else None
    if split is not None and split.workers is not None and split.server is not None and fastest_two:
        print(f"redis 1 worker cpu split: workers {split.workers:.2f} s, scheduler (stream appends, ticks) "
              f"{split.scheduler:.2f} s, redis-server {split.server:.2f} s")
        print(f"redis 2 workers / 1 worker, at most (1 worker's time / the least 2 can take on {cores} cores): "
              f"{len(mentions) / one / fastest_two:.2f}x")
    print(f"redis memory per brand-day of state (5m buckets, median brand): {per_brand_day / 1024:.1f} KB")
    print(f"redis memory per brand-day of processed-id markers (kept {COUNTED_KEPT_DAYS} days): "
          f"{markers / 1024:.1f} KB")
    # In a steady state a brand holds RETENTION days of state and COUNTED_KEPT_DAYS days of markers.
    steady = per_brand_day + markers * COUNTED_KEPT_DAYS / RETENTION.days
    print(f"redis memory per brand-day, markers included (steady state, {RETENTION.days}-day retention): "
          f"{steady / 1024:.1f} KB")
    return 0

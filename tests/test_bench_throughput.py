"""``crisiswatch bench throughput`` end to end on a few hundred mentions (real worker processes, a real
redis-server), and the arithmetic of its CPU split."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from service.bench.throughput import CpuSplit, process_cpu

ROOT = Path(__file__).resolve().parents[1]


def test_the_split_bounds_the_speed_up_of_more_workers() -> None:
    split = CpuSplit(workers=3.0, scheduler=1.5, server=0.5)
    assert split.bound(1, cores=2) == 3.0  # one worker: its own CPU
    assert split.bound(2, cores=2) == 2.5  # two: the two cores are full before the workers are
    assert split.bound(2, cores=8) == 1.5
    assert CpuSplit(workers=2.0, scheduler=1.8, server=0.2).bound(2, cores=8) == 1.8  # one scheduler thread
    assert CpuSplit(workers=None, scheduler=1.0, server=0.5).bound(2, cores=2) is None


def test_process_cpu_reads_this_process() -> None:
    first = process_cpu(os.getpid())
    if first is None:
        pytest.skip("no /proc on this system")
    sum(i * i for i in range(2_000_000))
    second = process_cpu(os.getpid())
    assert second is not None and second > first
    assert process_cpu(2**22 + 12345) is None  # no such process


def test_bench_throughput_prints_every_figure(clean_redis_url: str) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "service.cli", "bench", "throughput", "--days", "1", "--limit", "400", "--runs", "1",
         "--redis", clean_redis_url],
        cwd=ROOT, capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    figures = dict(line.split(": ", 1) for line in done.stdout.strip().splitlines())
    for name in ("scoring alone (floor)", "sqlite one process", "redis 1 worker", "redis 2 workers"):
        assert re.fullmatch(r"[\d,]+ mentions/s", figures[name]), (name, figures[name])
        assert float(figures[name].split()[0].replace(",", "")) > 0
    assert re.fullmatch(r"\d+\.\d\dx", figures["redis 2 workers / 1 worker"])
    assert re.fullmatch(r"workers [\d.]+ s, scheduler \(stream appends, ticks\) [\d.]+ s, redis-server [\d.]+ s",
                        figures["redis 1 worker cpu split"])
    assert float(figures["redis memory per brand-day of state (5m buckets, median brand)"].split()[0]) > 0
    [steady] = [v for name, v in figures.items() if name.startswith("redis memory per brand-day, markers included")]
    assert float(steady.split()[0]) > 0
    [limit] = [value for name, value in figures.items() if name.startswith("redis 2 workers / 1 worker, at most")]
    assert re.fullmatch(r"\d+\.\d\dx", limit) and float(limit[:-1]) > 0  # (short runs: clock-tick CPU)
    assert "400 mentions" in done.stderr

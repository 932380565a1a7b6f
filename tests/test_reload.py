"""Hot reload: on file change (in process) and on SIGHUP (``crisiswatch run`` as a real process);
a broken file is reported and the running configuration stays; SIGTERM stops gracefully."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import httpx
import pytest

from service.api.embed import ServiceThread
from service.app import Service
from service.clock import SimulatedClock
from service.config import load_config
from tests.test_api import START, TOKEN, write_config

ROOT = Path(__file__).resolve().parents[1]
NEW_BRAND = """\
  globex:
    query: globex
"""
BROKEN = "brands:\n  acme:\n    query: acme\n    colour: blue\n"


def _brands(url: str) -> set[str]:
    return {b["brand"] for b in httpx.get(f"{url}/api/brands", timeout=15).json()}


def _eventually(check: Callable[[], bool], timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(0.1)


def _add_brand(path: Path) -> None:
    text = path.read_text(encoding="utf-8").replace("teams:\n", NEW_BRAND + "teams:\n")
    path.write_text(text, encoding="utf-8")


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("CRISISWATCH_INGEST_TOKEN", "CRISISWATCH_STORE", "CRISISWATCH_LISTEN", "SLACK_BOT_TOKEN",
                 "SLACK_WEBHOOK_URL", "SLACK_SIGNING_SECRET"):
        monkeypatch.delenv(name, raising=False)


def test_file_change_reloads_and_a_broken_file_is_refused(tmp_path: Path, clean_env: None) -> None:
    path = write_config(tmp_path)
    service = Service(load_config(path), clock=SimulatedClock(START), notifiers={})
    with ServiceThread(service) as running:
        assert _brands(running.url) == {"acme"}
        _add_brand(path)
        _eventually(lambda: _brands(running.url) == {"acme", "globex"})
        assert service.config.brand("globex").query is not None
        good = path.read_text(encoding="utf-8")
        path.write_text(good.replace("brands:\n", "brands:\n  typo: [\n"), encoding="utf-8")
        _eventually(lambda: "last_reload_error" in httpx.get(f"{running.url}/readyz").json())
        ready = httpx.get(f"{running.url}/readyz")
        assert ready.status_code == 200, "a refused reload keeps the service ready on the old configuration"
        assert "alerts.yaml" in ready.json()["last_reload_error"]
        assert _brands(running.url) == {"acme", "globex"}
        assert service.reload() is False
        path.write_text(good, encoding="utf-8")
        assert service.reload() is True
        assert "last_reload_error" not in httpx.get(f"{running.url}/readyz").json()
        metrics = httpx.get(f"{running.url}/metrics").text
        assert 'crisiswatch_config_reloads_total{result="invalid"}' in metrics
        assert 'crisiswatch_config_reloads_total{result="ok"}' in metrics


def test_a_reload_that_changes_only_the_ops_settings_reaches_the_collectors(tmp_path: Path, clean_env: None) -> None:
    path = write_config(tmp_path)
    service = Service(load_config(path), clock=SimulatedClock(START), notifiers={})
    runner = service.runner
    assert (runner.fail_after, runner.silent_after) == (3, timedelta(hours=48))
    path.write_text(path.read_text(encoding="utf-8") + "ops:\n  fail_after: 7\n  silent_after: off\n",
                    encoding="utf-8")
    assert service.reload() is True
    assert service.runner is not runner
    assert (service.runner.fail_after, service.runner.silent_after) == (7, None)
    unchanged = service.runner
    assert service.reload() is True and service.runner is unchanged  # nothing changed: the same runner


def test_the_dispatchers_before_and_after_a_reload_never_deliver_at_the_same_time(
        tmp_path: Path, clean_env: None) -> None:
    from service.notify.console import ConsoleNotifier

    path = write_config(tmp_path)
    service = Service(load_config(path), clock=SimulatedClock(START), notifiers={"console": ConsoleNotifier()})
    before = service.pipeline.dispatcher
    _add_brand(path)
    assert service.reload() is True
    after = service.pipeline.dispatcher
    assert before is not None and after is not None and after is not before
    assert after._delivering is before._delivering  # one lock: the old one's pass blocks the new one's


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _rewrite_keeping_stat(path: Path, text: str) -> None:
    """Replace the file's content with ``text`` padded to the same size and the same mtime, so that
    only a signal (not the file watcher) can notice the change."""
    before = path.stat()
    padding = before.st_size - len(text.encode("utf-8"))
    assert padding >= 2, "new text must be shorter than the old one"
    path.write_text(text + "#" * (padding - 1) + "\n", encoding="utf-8")
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))
    assert path.stat().st_size == before.st_size


@pytest.mark.timeout(120)
def test_sighup_reload_logs_and_graceful_stop_of_crisiswatch_run(tmp_path: Path, clean_env: None) -> None:
    secret_url = "https://hooks.slack.com/services/T000/B000/xyzSECRETxyz"
    path = write_config(tmp_path, extra="slack:\n  webhook_url: " + secret_url + "\n")
    port = _free_port()
    env = {**os.environ, "CRISISWATCH_LISTEN": f"127.0.0.1:{port}", "NO_COLOR": "1",
           "SLACK_API_URL": "http://127.0.0.1:9/"}  # never reached: no alert fires in this test
    full = path.read_text(encoding="utf-8")
    log_file = tmp_path / "stderr.log"
    with log_file.open("wb") as stderr:
        process = subprocess.Popen([sys.executable, "-m", "service.cli", "run", "--config", str(path)], cwd=ROOT,
                                   env=env, stdout=subprocess.DEVNULL, stderr=stderr)
        url = f"http://127.0.0.1:{port}"
        try:
            _eventually(lambda: _answers(url) or process.poll() is not None, timeout=60)
            assert process.poll() is None, log_file.read_text(encoding="utf-8")[-3000:]
            # a request with the right token and one with a wrong one: neither may reach the logs
            assert httpx.post(f"{url}/v1/mentions", content="{}", headers={"Authorization": f"Bearer {TOKEN}"}) \
                .status_code == 400
            assert httpx.post(f"{url}/v1/mentions", content="{}",
                              headers={"Authorization": "Bearer wrong-token"}).status_code == 401
            assert _brands(url) == {"acme"}
            # SIGHUP with a broken file: refused, the old configuration stays
            _rewrite_keeping_stat(path, BROKEN)
            process.send_signal(signal.SIGHUP)
            _eventually(lambda: "last_reload_error" in httpx.get(f"{url}/readyz").json())
            assert _brands(url) == {"acme"}
            # SIGHUP with a good file
            path.write_text(full.replace("teams:\n", NEW_BRAND + "teams:\n"), encoding="utf-8")
            process.send_signal(signal.SIGHUP)
            _eventually(lambda: _brands(url) == {"acme", "globex"})
            process.send_signal(signal.SIGTERM)
            assert process.wait(timeout=60) == 0
        finally:
            if process.poll() is None:
                process.kill()
                process.wait(timeout=10)
    output = log_file.read_text(encoding="utf-8")
    records = [json.loads(line) for line in output.splitlines() if line.strip()]  # JSON: stderr is no terminal
    messages = [r["message"] for r in records]
    assert any("received SIGHUP" in m for m in messages)
    assert any("not reloaded" in m and "colour" in m for m in messages)
    assert any(m.startswith("configuration reloaded") for m in messages)
    assert any("received SIGTERM" in m for m in messages)
    assert messages[-1] == "crisiswatch stopped"
    assert {"time", "level", "logger", "message"} <= set(records[0])
    for secret in (TOKEN, "xyzSECRETxyz", "wrong-token"):
        assert secret not in output


def _answers(url: str) -> bool:
    try:
        return httpx.get(f"{url}/readyz", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False

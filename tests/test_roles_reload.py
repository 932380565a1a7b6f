"""SIGHUP reloads the configuration of ``crisiswatch run --role scheduler`` and ``--role worker`` (real
processes on a real Redis): an invalid file is refused and the running configuration stays; a valid one
is applied; the process never dies of it and still stops cleanly on SIGTERM."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest

from service.store import open_store

ROOT = Path(__file__).resolve().parents[1]
CONFIG = """\
version: 1
ingest:
  token: {token}
brands:
  acme:
    query: acme
{extra}teams:
  desk:
    slack_channel: "#desk"
route:
  team: desk
"""
GLOBEX = "  globex:\n    query: globex\n"
BROKEN = "version: 1\nbrands:\n  acme:\n    query: acme\n    colour: blue\n"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _eventually(check: Callable[[], bool], what: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"not in time: {what}")
        time.sleep(0.1)


def _post(url: str, token: str, text: str) -> int:
    record = {"id": f"m-{time.monotonic_ns()}", "published_at": datetime.now(UTC).isoformat(), "text": text,
              "source": "twitter", "kind": "social", "lang": "en"}
    try:
        return httpx.post(f"{url}/v1/mentions", content=json.dumps([record]),
                          headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
                          timeout=10).status_code
    except httpx.HTTPError:
        return 0


def _up(url: str) -> bool:
    try:
        return httpx.get(f"{url}/healthz", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


@pytest.fixture
def role_process(tmp_path: Path, clean_redis_url: str) -> Iterator[Callable[[str], tuple[subprocess.Popen[bytes],
                                                                                        str, Path, Path]]]:
    started: list[subprocess.Popen[bytes]] = []

    def start(role: str) -> tuple[subprocess.Popen[bytes], str, Path, Path]:
        config = tmp_path / "alerts.yaml"
        config.write_text(CONFIG.format(token="token-one", extra=""), encoding="utf-8")
        port = _free_port()
        env = {k: v for k, v in os.environ.items() if not k.startswith(("CRISISWATCH_", "SLACK_"))}
        env |= {"CRISISWATCH_STORE": clean_redis_url, "CRISISWATCH_LISTEN": f"127.0.0.1:{port}",
                "CRISISWATCH_LOG_FORMAT": "text", "CRISISWATCH_CLAIM_IDLE": "1", "NO_COLOR": "1"}
        log = tmp_path / f"{role}.log"
        with log.open("wb") as stderr:
            process = subprocess.Popen([sys.executable, "-m", "service.cli", "run", "--role", role, "--config",
                                        str(config)], cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=stderr)
        started.append(process)
        url = f"http://127.0.0.1:{port}"
        _eventually(lambda: _up(url) or process.poll() is not None, f"{role} serving HTTP")
        assert process.poll() is None, log.read_text(encoding="utf-8")[-3000:]
        return process, url, config, log

    yield start
    for process in started:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=10)


@pytest.mark.timeout(180)
@pytest.mark.parametrize("role", ["worker", "scheduler"])
def test_sighup_reloads_the_role_and_never_kills_it(role: str, role_process: Callable[..., tuple],
                                                    clean_redis_url: str) -> None:
    process, url, config, log = role_process(role)
    assert _post(url, "token-one", "acme is fine") == 202
    assert _post(url, "token-two", "acme is fine") == 401

    # an invalid file: refused, the running configuration stays, the process lives on
    config.write_text(BROKEN, encoding="utf-8")
    process.send_signal(signal.SIGHUP)
    _eventually(lambda: "not reloaded" in log.read_text(encoding="utf-8"), "the refusal logged")
    assert process.poll() is None
    assert _post(url, "token-one", "acme is fine") == 202

    # a valid file: a new token and a new brand
    config.write_text(CONFIG.format(token="token-two", extra=GLOBEX), encoding="utf-8")
    process.send_signal(signal.SIGHUP)
    _eventually(lambda: _post(url, "token-two", "globex just launched") == 202, "the new token accepted")
    assert _post(url, "token-one", "acme is fine") == 401
    assert process.poll() is None
    if role == "worker":  # the new brand's query matches in the worker: its mention is counted
        store = open_store(clean_redis_url)
        try:
            _eventually(lambda: "globex" in store.brands(), "a globex mention counted")
        finally:
            store.close()

    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=60) == 0, log.read_text(encoding="utf-8")[-3000:]
    output = log.read_text(encoding="utf-8")
    assert output.count("received SIGHUP") == 2
    assert "colour" in output  # the reason of the refusal
    assert "configuration reloaded from" in output and "2 brands" in output
    assert "Traceback" not in output
    assert "token-one" not in output and "token-two" not in output


def test_a_scheduler_reload_swaps_the_pipeline_and_replaces_changed_collectors(
        clean_redis_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from apscheduler.schedulers.background import BackgroundScheduler

    from service.clock import SystemClock
    from service.config import parse_config
    from service.enrich import negativity
    from service.scale.roles import Scheduler, connect

    def config(source: str, extra: str = "") -> object:
        text = CONFIG.format(token="t", extra=extra) + f"sources:\n  {source}:\n    type: rss\n" \
                                                       f"    url: http://127.0.0.1:9/{source}.xml\n    brands: acme\n"
        return parse_config(text, str(tmp_path / "alerts.yaml"))

    store, client = connect(clean_redis_url)
    role = Scheduler(config("feed"), store=store, client=client, clock=SystemClock(), notifiers={})
    jobs = BackgroundScheduler(timezone="UTC")
    try:
        assert role.schedule_collectors(jobs) == ["collect:feed"]
        role.keep_lease()  # the active scheduler: it has a ticker and its pipeline
        assert role.ticker is not None
        before, runner = role.ticker.pipeline, role.runner
        assert set(before.config.brands) == {"acme"}
        before.start_brand("acme", datetime.now(UTC))
        assert store.load_state("cursor:acme") is None

        new = config("news", GLOBEX)
        role.reload(new, {})
        assert role.config is new and role.ticker.pipeline is not before
        assert set(role.ticker.pipeline.config.brands) == {"acme", "globex"}
        assert role.runner is not runner and set(role.runner.sources) == {"news"}
        assert sorted(job.id for job in jobs.get_jobs() if job.id.startswith("collect:")) == ["collect:news"]
        # the running pipeline was checkpointed first: the new one resumes where it stopped
        assert store.load_state("cursor:acme") == {"next_bucket": before.next_bucket["acme"].isoformat()}

        # a reload whose pipeline cannot be built (the model does not load) changes nothing
        swapped, runner = role.ticker.pipeline, role.runner
        monkeypatch.setattr(negativity, "DEFAULT_MODEL_PATH", tmp_path / "missing.skops")
        with pytest.raises(negativity.ModelError):
            role.reload(config("other"), {})
        assert role.config is new and role.ticker.pipeline is swapped and role.runner is runner
    finally:
        role.close()
        store.close()
        client.close()


def test_a_scheduler_reload_the_store_refuses_is_redone_from_the_file_after_the_next_good_tick(
        clean_redis_url: str, tmp_path: Path) -> None:
    # Switching while the checkpoint fails would restart the detectors from an older checkpoint: the
    # running pipeline stays, and after the next tick the store accepts, the reload is done again from
    # the file as it is then (an edit made meanwhile wins over the held-back copy).
    from apscheduler.schedulers.background import BackgroundScheduler

    from service.clock import SystemClock
    from service.config import parse_config
    from service.scale.roles import Scheduler, connect
    from service.store.base import StoreError
    from service.store.redis import RedisStore

    class RefusingStore(RedisStore):
        """The real Redis store, whose next ``refuse`` detector-state saves fail (a lost connection)."""

        refuse = 0

        def save_state(self, name: str, state: dict) -> None:  # type: ignore[override,type-arg]
            if self.refuse:
                self.refuse -= 1
                raise StoreError("redis unavailable (injected)")
            super().save_state(name, state)

    def config(extra: str = "") -> object:
        return parse_config(CONFIG.format(token="t", extra=extra), str(tmp_path / "alerts.yaml"))

    store, client = connect(clean_redis_url)
    store.close()
    store = RefusingStore(clean_redis_url)
    role = Scheduler(config(), store=store, client=client, clock=SystemClock(), notifiers={})
    jobs = BackgroundScheduler(timezone="UTC")
    on_disk: list[object] = []  # what the file holds when it is read again (run_scheduler rereads it)
    role.retry_reload = lambda: role.reload(on_disk[-1], {})  # type: ignore[arg-type]
    try:
        role.schedule_collectors(jobs)
        role.keep_lease()
        assert role.ticker is not None
        before, old_config = role.ticker.pipeline, role.config
        before.start_brand("acme", datetime.now(UTC))

        store.refuse = 1
        on_disk.append(config(GLOBEX))
        assert role.reload(on_disk[-1], {}) is False  # type: ignore[arg-type]
        assert role.pending_reload and role.ticker.pipeline is before and role.config is old_config
        assert store.load_state("cursor:acme") is None  # nothing was written by the refused checkpoint
        on_disk.append(config(GLOBEX + "  initech:\n    query: initech\n"))  # edited again meanwhile

        role.tick()  # the store answers again: the held-back reload is redone, from the file as it is now
        assert not role.pending_reload and role.config is on_disk[-1] and role.ticker.pipeline is not before
        assert set(role.ticker.pipeline.config.brands) == {"acme", "globex", "initech"}
        assert store.load_state("cursor:acme") == {"next_bucket": before.next_bucket["acme"].isoformat()}
    finally:
        role.close()
        store.close()
        client.close()

"""The CLI's input errors: one ``error: ...`` line on stderr, exit status 2, never a traceback.

Stores that cannot be opened or reached (SQLite in a missing folder, Redis down, ``rediss://`` on a
plain port), a model file that does not load, and bad scale-out environment variables.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Mapping
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from service.cli import main
from service.scale.roles import connect, settings_from_env
from service.store.base import StoreError
from service.store.redis import TLS_HANDSHAKE_TIMEOUT, RedisStore, TLSHandshakeFailed

ROOT = Path(__file__).resolve().parents[1]
CONFIG = """\
version: 1
brands:
  toyota: {query: toyota}
teams:
  desk: {slack_channel: '#desk'}
route:
  team: desk
"""


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _config(tmp_path: Path, store: str | None = None) -> Path:
    path = tmp_path / "alerts.yaml"
    path.write_text(CONFIG + (f"store: '{store}'\n" if store else ""), encoding="utf-8")
    return path


def _crisiswatch(*args: str, env: Mapping[str, str], timeout: float = 60) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("CRISISWATCH_", "SLACK_"))}
    return subprocess.run([sys.executable, "-m", "service.cli", *args], cwd=ROOT, env={**clean, **env},
                          capture_output=True, text=True, timeout=timeout)


def _one_error_line(stderr: str) -> str:
    assert "Traceback" not in stderr, stderr
    errors = [line for line in stderr.splitlines() if line.startswith("error: ")]
    assert len(errors) == 1, stderr
    return errors[0]


@pytest.fixture
def no_store_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CRISISWATCH_STORE", raising=False)


# -- stores --------------------------------------------------------------------------------------

def test_sqlite_store_in_a_missing_folder(tmp_path: Path, no_store_env: None,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    missing = tmp_path / "nowhere" / "state.db"
    assert main(["silence", "list", "--config", str(_config(tmp_path, f"sqlite:///{missing}"))]) == 2
    captured = capsys.readouterr()
    assert captured.err.splitlines() == [
        f"error: cannot open sqlite store '{missing}': unable to open database file"]
    assert captured.out == ""
    assert not missing.parent.exists()


def test_redis_down_on_silence_list_is_one_line_and_status_2(tmp_path: Path) -> None:
    port = _free_port()  # nothing listens there
    result = _crisiswatch("silence", "list", "--config", str(_config(tmp_path)),
                          env={"CRISISWATCH_STORE": f"redis://:hunter2@127.0.0.1:{port}/6"})
    assert result.returncode == 2, result.stderr
    line = _one_error_line(result.stderr)
    assert line.startswith("error: redis store unreachable: ") and f"127.0.0.1:{port}" in line, line
    assert "Connection refused" in line
    assert "hunter2" not in result.stderr


def test_a_broken_model_file_is_one_line_and_status_2(tmp_path: Path, no_store_env: None,
                                                      monkeypatch: pytest.MonkeyPatch,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    from service.enrich import negativity

    broken = tmp_path / "negativity.skops"
    broken.write_bytes(b"PK\x03\x04 this is not a zip archive")
    monkeypatch.setattr(negativity, "DEFAULT_MODEL_PATH", broken)
    mentions = tmp_path / "mentions.jsonl"
    mentions.write_text('{"id": "m1", "published_at": "2024-11-15T00:13:46Z", "text": "toyota recall", '
                        '"source": "twitter", "kind": "social"}\n', encoding="utf-8")
    assert main(["replay", str(mentions), "--config", str(_config(tmp_path, "sqlite:///:memory:"))]) == 2
    assert capsys.readouterr().err.splitlines() == [
        f"error: {broken} is not a skops model file (File is not a zip file): rebuild it with `crisiswatch train`"]
    monkeypatch.setattr(negativity, "DEFAULT_MODEL_PATH", tmp_path / "missing.skops")
    assert main(["replay", str(mentions), "--config", str(_config(tmp_path, "sqlite:///:memory:"))]) == 2
    assert capsys.readouterr().err.splitlines() == [
        f"error: model file {tmp_path / 'missing.skops'} not found: run `crisiswatch train`"]


def test_a_bug_still_shows_its_traceback(tmp_path: Path, no_store_env: None, monkeypatch: pytest.MonkeyPatch) -> None:
    """Only input errors are turned into one line: anything else is a bug and must stay visible."""
    import service.commands

    def broken(_: object) -> int:
        raise KeyError("a bug")

    monkeypatch.setattr(service.commands, "cmd_check", broken)
    with pytest.raises(KeyError, match="a bug"):
        main(["check", "--config", str(_config(tmp_path))])


# -- rediss:// on a plain port -------------------------------------------------------------------

def _rediss(redis_url: str, password: str) -> tuple[str, str]:
    """``redis_url``'s server (a plain, non-TLS redis-server) as a ``rediss://`` URL with a password."""
    parts = urlsplit(redis_url)
    where = f"{parts.hostname}:{parts.port or 6379}"
    return f"rediss://:{password}@{where}{parts.path or '/0'}", where


def test_rediss_on_a_plain_port_fails_fast_naming_the_address(redis_url: str) -> None:
    url, where = _rediss(redis_url, "s3cr3t-pw")
    store = RedisStore(url)
    started = time.monotonic()
    with pytest.raises(StoreError) as caught:
        store.ping()
    elapsed = time.monotonic() - started
    store.close()
    assert elapsed < TLS_HANDSHAKE_TIMEOUT + 2.5, f"took {elapsed:.1f}s"
    message = str(caught.value)
    assert f"TLS handshake failed at {where}" in message and "s3cr3t-pw" not in message
    assert caught.value.retryable  # a role waits it out (with backoff) like any unreachable Redis
    # the roles' stream client too: a connection error (waited out), failing as fast
    store, client = connect(url)
    started = time.monotonic()
    with pytest.raises(TLSHandshakeFailed, match=f"TLS handshake failed at {where}"):
        client.ping()
    assert time.monotonic() - started < TLS_HANDSHAKE_TIMEOUT + 2.5
    store.close()
    client.close()


def test_rediss_on_a_plain_port_in_the_cli(tmp_path: Path, redis_url: str) -> None:
    url, where = _rediss(redis_url, "s3cr3t-pw")
    started = time.monotonic()
    result = _crisiswatch("silence", "list", "--config", str(_config(tmp_path)), env={"CRISISWATCH_STORE": url})
    elapsed = time.monotonic() - started
    assert result.returncode == 2, result.stderr
    line = _one_error_line(result.stderr)
    assert f"TLS handshake failed at {where}" in line, line
    assert "s3cr3t-pw" not in result.stderr
    assert elapsed < TLS_HANDSHAKE_TIMEOUT + 8, f"took {elapsed:.1f}s"  # was ~41 s


# -- scale-out environment variables ---------------------------------------------------------------

@pytest.mark.parametrize(("name", "value", "expected"), [
    ("CRISISWATCH_CLAIM_IDLE", "30s", "a number of seconds greater than 0, e.g. 30"),
    ("CRISISWATCH_CLAIM_IDLE", "0", "a number of seconds greater than 0, e.g. 30"),
    ("CRISISWATCH_CLAIM_IDLE", "-1", "a number of seconds greater than 0, e.g. 30"),
    ("CRISISWATCH_CLAIM_IDLE", "nan", "a number of seconds greater than 0, e.g. 30"),
    ("CRISISWATCH_WORKER_BATCH", "0", "a whole number of at least 1, e.g. 500"),
    ("CRISISWATCH_WORKER_BATCH", "-5", "a whole number of at least 1, e.g. 500"),
    ("CRISISWATCH_WORKER_BATCH", "lots", "a whole number of at least 1, e.g. 500"),
    ("CRISISWATCH_WORKER_BATCH", "2.5", "a whole number of at least 1, e.g. 500"),
])
def test_bad_worker_settings_name_the_variable(name: str, value: str, expected: str) -> None:
    from service.cli import UsageError

    with pytest.raises(UsageError) as caught:
        settings_from_env({name: value})
    assert str(caught.value) == f"{name} must be {expected}, got {value!r}"


def test_worker_settings_from_the_environment() -> None:
    settings = settings_from_env({"CRISISWATCH_CLAIM_IDLE": "1.5", "CRISISWATCH_WORKER_BATCH": " 20 "})
    assert (settings.batch, settings.claim_idle_ms, settings.claim_every) == (20, 1500, 0.75)
    defaults = settings_from_env({"CRISISWATCH_CLAIM_IDLE": "", "CRISISWATCH_WORKER_BATCH": ""})
    assert (defaults.batch, defaults.claim_idle_ms) == (500, 30_000)


@pytest.mark.parametrize(("name", "value"), [("CRISISWATCH_CLAIM_IDLE", "30s"), ("CRISISWATCH_WORKER_BATCH", "0")])
def test_crisiswatch_run_worker_refuses_a_bad_variable_before_connecting(tmp_path: Path, name: str,
                                                                         value: str) -> None:
    port = _free_port()  # nothing listens: refused before any connection attempt (no waiting for Redis)
    started = time.monotonic()
    result = _crisiswatch("run", "--role", "worker", "--config", str(_config(tmp_path)), timeout=30,
                          env={"CRISISWATCH_STORE": f"redis://127.0.0.1:{port}/6", name: value,
                               "CRISISWATCH_LISTEN": "127.0.0.1:0"})
    assert result.returncode == 2, result.stderr
    assert _one_error_line(result.stderr) == f"error: {name} must be " + (
        "a number of seconds greater than 0, e.g. 30" if name.endswith("IDLE") else
        "a whole number of at least 1, e.g. 500") + f", got {value!r}"
    assert time.monotonic() - started < 20

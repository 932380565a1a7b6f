"""Logs: JSON lines when not on a terminal, readable text on one, and secrets never printed."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from pathlib import Path

import pytest

from service.app import Service
from service.clock import SimulatedClock
from service.config import load_config
from service.logs import MASK, redact, register_secret, setup_logging
from tests.test_api import START, write_config


class FakeTerminal(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.fixture
def restore_logging(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.delenv("CRISISWATCH_LOG_FORMAT", raising=False)
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    try:
        yield
    finally:
        for handler in list(root.handlers):
            root.removeHandler(handler)
        for handler in handlers:
            root.addHandler(handler)
        root.setLevel(level)


def test_json_lines_when_not_a_terminal(restore_logging: None) -> None:
    stream = io.StringIO()
    setup_logging(stream=stream)
    log = logging.getLogger("crisiswatch.test")
    log.info("alert %s fired", "acme-1", extra={"incident_id": "acme-1", "volume": 42})
    try:
        raise ValueError("boom")
    except ValueError:
        log.exception("delivery failed")
    first, second = (json.loads(line) for line in stream.getvalue().splitlines())
    assert first["message"] == "alert acme-1 fired" and first["level"] == "info"
    assert first["logger"] == "crisiswatch.test" and first["time"].endswith("Z")
    assert (first["incident_id"], first["volume"]) == ("acme-1", 42)
    assert second["level"] == "error" and "ValueError: boom" in second["exception"]


def test_readable_text_on_a_terminal(restore_logging: None, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NO_COLOR", "1")
    terminal = FakeTerminal()
    setup_logging(stream=terminal)
    logging.getLogger("crisiswatch").warning("source %s failed", "rss")
    line = terminal.getvalue().strip()
    assert line.endswith("WARNING crisiswatch: source rss failed")
    assert "\033[" not in line and not line.startswith("{")


def test_format_forced_by_environment(restore_logging: None, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CRISISWATCH_LOG_FORMAT", "json")
    terminal = FakeTerminal()
    setup_logging(stream=terminal)
    logging.getLogger("crisiswatch").info("hello")
    assert json.loads(terminal.getvalue())["message"] == "hello"


def test_known_token_shapes_are_masked_even_unregistered() -> None:
    text = redact("xoxb-1234-abcd hooks.slack.com/services/T1/B2/cafe Bearer abc.def redis://u:pw@host:6379/0")
    assert "xoxb-1234" not in text and "T1/B2/cafe" not in text and "abc.def" not in text and ":pw@" not in text
    assert text.count(MASK) == 4
    assert "redis://<secret>@host:6379/0" in text


def test_secrets_from_the_config_never_reach_the_logs(restore_logging: None, tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("CRISISWATCH_INGEST_TOKEN", "CRISISWATCH_STORE", "SLACK_BOT_TOKEN", "SLACK_WEBHOOK_URL"):
        monkeypatch.delenv(name, raising=False)
    token = "Ingest-Tok3n-from-config"
    webhook = "https://example.invalid/team-hook/s3cr3t-path"
    monkeypatch.setenv("TEAM_HOOK", webhook)
    path = write_config(tmp_path, token=token)
    path.write_text(path.read_text(encoding="utf-8").replace(
        'slack_channel: "#desk"', 'slack_channel: "#desk"\n    webhook: {url: "${TEAM_HOOK}"}'), encoding="utf-8")
    stream = io.StringIO()
    setup_logging(stream=stream)
    service = Service(load_config(path), clock=SimulatedClock(START), notifiers={})
    try:
        log = logging.getLogger("crisiswatch")
        log.info("configured token %s and hook %s", token, webhook)
        log.error("request failed", exc_info=RuntimeError(f"401 for {webhook} with {token}"))
        log.info("plain %r", {"token": token})
    finally:
        service.store.close()
    output = stream.getvalue()
    assert token not in output and "s3cr3t-path" not in output
    assert output.count(MASK) >= 5


def test_short_values_are_not_registered() -> None:
    register_secret("abc")
    assert redact("abc abcdef") == "abc abcdef"


def test_credentials_of_sources_are_masked_too(restore_logging: None, tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("CRISISWATCH_INGEST_TOKEN", "CRISISWATCH_STORE", "SLACK_BOT_TOKEN", "SLACK_WEBHOOK_URL"):
        monkeypatch.delenv(name, raising=False)
    client_secret, x_token, header = "reddit-Cl1ent-s3cret", "x-Bearer-t0ken-value", "Basic ZGVtbzpzM2NyM3Q="
    monkeypatch.setenv("REDDIT_SECRET", client_secret)
    path = write_config(tmp_path, token="Ingest-Tok3n-from-config")
    text = path.read_text(encoding="utf-8")
    sources = (
        "sources:\n"
        "  reddit-peugeot:\n    type: reddit\n    query: peugeot\n"
        "    client_id: app-id-1234\n    client_secret: ${REDDIT_SECRET}\n"
        f"  x-peugeot:\n    type: x\n    query: peugeot\n    token: {x_token}\n"
        f"  desk:\n    type: json\n    url: https://support.example.org/api/tickets\n    items: tickets\n"
        f"    fields: {{id: id, text: subject, time: created_at}}\n    headers: {{Authorization: \"{header}\"}}\n")
    assert "sources:" not in text
    path.write_text(text + sources, encoding="utf-8")
    stream = io.StringIO()
    setup_logging(stream=stream)
    service = Service(load_config(path), clock=SimulatedClock(START), notifiers={})
    try:
        logging.getLogger("crisiswatch").warning("source failed: %s %s %s", client_secret, x_token, header)
    finally:
        service.store.close()
    output = stream.getvalue()
    assert client_secret not in output and x_token not in output and "ZGVtbzpzM2NyM3Q=" not in output
    assert output.count(MASK) >= 3


def test_more_token_shapes_and_credentials_in_urls_are_masked() -> None:
    text = redact("xoxe-1-refresh xapp-1-A1-2b hooks.slack.com/triggers/T1/2/x redis://:p@ss@host:6379/0 "
                  "redis://host/0?password=abc&db=1 https://api.example.org/v1?q=toyota&api_key=K3Y")
    for secret in ("xoxe-1-refresh", "xapp-1-A1", "T1/2/x", "p@ss", "abc&", "K3Y"):
        assert secret not in text, secret
    assert "redis://<secret>@host:6379/0" in text and "?password=<secret>&db=1" in text and "q=toyota" in text
    assert redact("mail a@b.com, see https://host/path@x") == "mail a@b.com, see https://host/path@x"


def test_a_secret_the_json_encoder_would_escape_is_masked_too(restore_logging: None) -> None:
    stream = io.StringIO()
    setup_logging(stream=stream, json_lines=True)
    register_secret('tok"en\\with-quote')
    log = logging.getLogger("crisiswatch.test")
    log.info('ingest token is tok"en\\with-quote', extra={"detail": 'x tok"en\\with-quote'})
    line = stream.getvalue()
    assert "with-quote" not in line and json.loads(line)["message"] == f"ingest token is {MASK}"


def test_control_characters_from_outside_cannot_forge_text_log_lines(restore_logging: None,
                                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NO_COLOR", "1")
    terminal = FakeTerminal()
    setup_logging(stream=terminal)
    logging.getLogger("crisiswatch").warning("brand %s", "evil\r12:00:00 INFO forged\x1b[2J\x9b")
    line = terminal.getvalue()
    assert "\x1b" not in line and "\r" not in line and "\x9b" not in line and line.count("\n") == 1


def test_the_store_password_is_a_secret_of_the_configuration(tmp_path: Path,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    from service.app import config_secrets, safe_url

    monkeypatch.setenv("CRISISWATCH_STORE", "redis://worker:s3cret@pass@redis.internal:6379/0")
    config = load_config(write_config(tmp_path))
    assert "s3cret@pass" in config_secrets(config)
    assert safe_url(config.store) == "redis://***@redis.internal:6379/0"
    assert safe_url("redis://redis.internal/0?password=s3cretpass") == f"redis://redis.internal/0?password={MASK}"


def test_a_secret_read_from_a_file_is_masked_without_its_newline() -> None:
    register_secret("file-token-0123\n")
    assert redact("token file-token-0123 used") == f"token {MASK} used"

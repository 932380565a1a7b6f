"""Which notifiers reach a team: Slack is chosen from the effective settings (the environment over
alerts.yaml), so a webhook given by SLACK_WEBHOOK_URL reaches teams without a channel and a bot token
given by SLACK_BOT_TOKEN does not try teams that have none (real slack-sdk against tests/fakeslack.py)."""

from __future__ import annotations

import io
from datetime import UTC, datetime

import pytest

from service.app import build_notifiers
from service.config import parse_config
from service.domain import Alert, AlertState, Severity
from service.notify.console import ConsoleNotifier
from service.notify.outbox import Dispatcher
from service.store.sqlite import SQLiteStore
from tests.fakeslack import TOKEN, FakeSlack, fake_slack_fixture  # noqa: F401  (fixture)

T0 = datetime(2010, 1, 21, 14, 0, tzinfo=UTC)
TEAMS = """\
version: 1
brands:
  toyota: {query: toyota, team: intel}
teams:
  intel: {}
  desk: {slack_channel: "#desk"}
route:
  team: intel
  routes:
    - match: {brand: toyota}
      team: desk
      continue: true
    - match: {brand: toyota}
      team: intel
"""


def firing() -> Alert:
    return Alert(at=T0, brand="toyota", incident_id="toyota-1", state=AlertState.FIRING, severity=Severity.WARNING,
                 crisis_type="product_recall", resemblance=0.8, volume=100, negative_share=0.6,
                 summary="toyota event 1", sequence=1, opened_at=T0)


@pytest.fixture
def slack_env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    for name in ("SLACK_BOT_TOKEN", "SLACK_WEBHOOK_URL", "SLACK_API_URL"):
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


def test_a_webhook_from_the_environment_reaches_a_team_without_a_channel(fake_slack: FakeSlack,
                                                                         slack_env: pytest.MonkeyPatch) -> None:
    slack_env.setenv("SLACK_WEBHOOK_URL", fake_slack.webhook_url)
    config = parse_config(TEAMS)
    notifiers = build_notifiers(config, console=False, slack=True)
    dispatcher = Dispatcher(config, SQLiteStore(":memory:"), notifiers)
    assert dispatcher.receivers(config.teams["intel"]) == ["slack"]
    assert dispatcher.dispatch([firing()], T0) == 2
    report = dispatcher.deliver_due(T0)
    assert (report.delivered, report.failed) == (2, 0)
    assert len(fake_slack.calls_to("webhook")) == 2


def test_a_bot_token_from_the_environment_wins_over_a_yaml_webhook(fake_slack: FakeSlack,
                                                                   slack_env: pytest.MonkeyPatch) -> None:
    slack_env.setenv("SLACK_BOT_TOKEN", TOKEN)
    slack_env.setenv("SLACK_API_URL", fake_slack.api_url)
    config = parse_config(TEAMS + f"slack:\n  webhook_url: {fake_slack.webhook_url}\n")
    notifiers = {"console": ConsoleNotifier(io.StringIO()), **build_notifiers(config, console=False, slack=True)}
    dispatcher = Dispatcher(config, SQLiteStore(":memory:"), notifiers)
    assert dispatcher.receivers(config.teams["intel"]) == ["console"]  # bot mode needs a channel
    assert dispatcher.receivers(config.teams["desk"]) == ["console", "slack"]
    assert dispatcher.dispatch([firing()], T0) == 3
    report = dispatcher.deliver_due(T0)
    assert (report.delivered, report.failed, report.errors) == (3, 0, [])
    assert len(fake_slack.calls_to("chat.postMessage")) == 1 and fake_slack.calls_to("webhook") == []

"""Slack credentials as deployments hand them over: a token or webhook URL read from a mounted secret file
often ends in a newline. Through the real slack-sdk against the local fake Slack Web API."""

from __future__ import annotations

import logging

import pytest

from service.logs import JsonFormatter
from service.notify.base import DeliveryError
from service.notify.slack import SlackNotifier
from tests.fakeslack import TOKEN, FakeSlack, fake_slack_fixture  # noqa: F401  (the fake_slack fixture)
from tests.test_slack_notifier import TARGET, alert


@pytest.mark.parametrize("padding", ["\n", " \r\n", "\t"])
def test_a_bot_token_with_surrounding_whitespace_still_posts(fake_slack: FakeSlack, padding: str) -> None:
    notifier = SlackNotifier(token=TOKEN + padding, webhook_url=None, base_url=fake_slack.api_url, timeout=5)
    ref = notifier.send(alert(), TARGET, None)
    assert ref is not None
    [call] = fake_slack.calls_to("chat.postMessage")
    assert call.token == TOKEN


def test_a_webhook_url_with_a_trailing_newline_still_posts(fake_slack: FakeSlack) -> None:
    notifier = SlackNotifier(token=None, webhook_url=fake_slack.webhook_url + "\n", timeout=5)
    assert notifier.send(alert(), TARGET, None) is None
    assert len(fake_slack.calls_to("webhook")) == 1


def test_a_broken_webhook_url_error_does_not_quote_its_path(caplog: pytest.LogCaptureFixture,
                                                            fake_slack: FakeSlack) -> None:
    """The path of an incoming webhook URL is its secret: an error about the URL must not repeat it."""
    notifier = SlackNotifier(token=None, webhook_url=fake_slack.webhook_url + "\x07x", timeout=5)
    with pytest.raises(DeliveryError) as raised:
        notifier.send(alert(), TARGET, None)
    assert "fakewebhooksecret" not in str(raised.value)
    assert not raised.value.retryable  # it will never be sent: retrying forever hides the mistake
    line = JsonFormatter().format(logging.makeLogRecord({"msg": "delivery failed: %s", "args": (raised.value,)}))
    assert "fakewebhooksecret" not in line

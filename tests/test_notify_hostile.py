"""Hostile text in alerts through the real slack-sdk and the local fake Slack Web API: whatever a mention
holds, the alert is rendered within Slack's limits and delivered."""

from __future__ import annotations

import pytest

from service.domain import Exemplar
from service.notify.escape import link_host, link_url
from service.notify.slack import SlackNotifier
from tests.fakeslack import TOKEN, FakeSlack, fake_slack_fixture  # noqa: F401  (the fake_slack fixture)
from tests.test_slack_notifier import AT, TARGET, alert


@pytest.mark.parametrize("url", ["https://example.com/a\ud83d", "https://example.com/?q=\udc00",
                                 "https://example.com/#\ud800x"])
def test_an_unencodable_url_is_no_link_and_the_alert_is_still_delivered(fake_slack: FakeSlack, url: str) -> None:
    """An unpaired surrogate (half an emoji) in a mention's URL cannot be percent-encoded: the mention is shown
    without its link instead of the whole alert failing for good."""
    assert link_url(url) is None
    assert link_host(url) == "example.com"
    exemplar = Exemplar(brand="toyota", mention_id="m1", published_at=AT, negativity=0.9, kind="news",
                        text="Recall of 2.3 M cars", url=url)
    notifier = SlackNotifier(token=TOKEN, webhook_url=None, base_url=fake_slack.api_url, timeout=5)
    assert notifier.send(alert(top_mentions=(exemplar,)), TARGET, None) is not None
    [message] = fake_slack.top_level()
    assert "Recall of 2.3 M cars" in str(message.blocks)

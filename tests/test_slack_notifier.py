"""SlackNotifier with the real slack-sdk against the local fake Slack Web API."""

from __future__ import annotations

import logging
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from service.domain import Alert, AlertState, Exemplar, Severity
from service.notify.base import DeliveryError, Notifier, Target
from service.notify.blocks import render_alert, render_thread_reply
from service.notify.slack import SlackNotifier
from tests.fakeslack import TOKEN, FakeSlack, fake_slack_fixture  # noqa: F401  (the fake_slack fixture)

AT = datetime(2010, 1, 21, 14, 5, tzinfo=UTC)
TARGET = Target(receiver="comms-fr", channel="#crise-toyota", mention="<!subteam^S0COMMS>")


def alert(state: AlertState = AlertState.FIRING, minutes: int = 0, **changes: object) -> Alert:
    base = Alert(
        at=AT + timedelta(minutes=minutes), brand="toyota", incident_id="inc-1", state=state,
        severity=Severity.CRITICAL, crisis_type="product_recall", resemblance=0.8, volume=300,
        negative_share=0.7, summary="toyota recall: <!channel> *panic*", expected_volume=30.0,
        baseline_negative_share=0.2, opened_at=AT,
        top_mentions=(Exemplar(brand="toyota", mention_id="m1", published_at=AT, negativity=0.9, kind="news",
                               text="Recall of 2.3 M cars <@U999>", url="https://example.com/a?b=1&c=2"),),
    )
    return replace(base, **changes)  # type: ignore[arg-type]


def bot(fake: FakeSlack, *, token: str = TOKEN, timeout: float = 5.0) -> SlackNotifier:
    return SlackNotifier(token=token, webhook_url=None, base_url=fake.api_url, timeout=timeout)


def test_is_a_notifier() -> None:
    notifier: Notifier = SlackNotifier(token="xoxb-x", webhook_url=None)
    assert notifier.name == "slack"
    with pytest.raises(ValueError, match="bot token or an incoming webhook"):
        SlackNotifier(token=None, webhook_url=None)


def test_first_alert_posts_block_kit_and_returns_channel_and_ts(fake_slack: FakeSlack) -> None:
    ref = bot(fake_slack).send(alert(), TARGET, None)

    channel = fake_slack.channel_id("crise-toyota")
    [call] = fake_slack.calls_to("chat.postMessage")
    assert ref == f"{channel}:1700000000.000001"
    assert call.token == TOKEN
    assert call.body["channel"] == "#crise-toyota"
    assert call.body["blocks"] == render_alert(alert(), TARGET)["blocks"]
    assert call.body["text"].startswith("<!subteam^S0COMMS> 🔴 toyota: critical new incident")
    assert "<!channel>" not in str(call.body) and "&lt;!channel&gt;" in str(call.body["blocks"])
    assert "<@U999>" not in str(call.body)
    [message] = fake_slack.top_level()
    assert message.metadata == {
        "event_type": "crisiswatch_incident",
        "event_payload": {"incident_id": "inc-1", "brand": "toyota", "state": "firing", "severity": "critical"},
    }


def test_later_alerts_update_the_message_and_reply_in_its_thread(fake_slack: FakeSlack) -> None:
    notifier = bot(fake_slack)
    ref = notifier.send(alert(), TARGET, None)
    assert ref is not None
    channel, ts = ref.split(":")

    escalated = alert(AlertState.ESCALATED, minutes=30, volume=900)
    resolved = alert(AlertState.RESOLVED, minutes=300, volume=35, negative_share=0.22)
    assert notifier.send(escalated, TARGET, ref) == ref
    assert notifier.send(resolved, TARGET, ref) == ref

    [message] = fake_slack.top_level()
    assert (message.channel, message.ts, message.edits) == (channel, ts, 2)
    assert message.blocks == render_alert(resolved, TARGET)["blocks"]
    updates = fake_slack.calls_to("chat.update")
    assert [(c.body["channel"], c.body["ts"]) for c in updates] == [(channel, ts), (channel, ts)]
    replies = fake_slack.thread(channel, ts)
    assert [r.blocks for r in replies] == [
        render_thread_reply(escalated, TARGET)["blocks"], render_thread_reply(resolved, TARGET)["blocks"]
    ]
    assert (replies[1].text or "").startswith("✅ toyota: resolved")


def test_bare_ts_reference_uses_the_target_channel(fake_slack: FakeSlack) -> None:
    notifier = bot(fake_slack)
    ref = notifier.send(alert(), TARGET, None)
    assert ref is not None
    ts = ref.split(":")[1]
    assert notifier.send(alert(AlertState.UPDATED, minutes=5), TARGET, ts) == ts
    assert fake_slack.top_level()[0].edits == 1


def test_deleted_message_is_posted_again(fake_slack: FakeSlack) -> None:
    notifier = bot(fake_slack)
    ref = notifier.send(alert(), TARGET, None)
    fake_slack.messages.clear()  # someone deleted it in Slack

    new_ref = notifier.send(alert(AlertState.UPDATED, minutes=5), TARGET, ref)

    assert new_ref is not None and new_ref != ref
    assert len(fake_slack.top_level()) == 1


def test_failed_thread_reply_is_retried_without_duplicating(fake_slack: FakeSlack) -> None:
    notifier = bot(fake_slack)
    ref = notifier.send(alert(), TARGET, None)
    assert ref is not None
    channel, ts = ref.split(":")
    fake_slack.fail(times=1, status=503, method="chat.postMessage")

    with pytest.raises(DeliveryError) as failure:
        notifier.send(alert(AlertState.UPDATED, minutes=5), TARGET, ref)
    assert failure.value.retryable
    assert notifier.send(alert(AlertState.UPDATED, minutes=5), TARGET, ref) == ref

    assert len(fake_slack.thread(channel, ts)) == 1
    assert fake_slack.top_level()[0].edits == 2  # the update is idempotent


def test_webhook_mode_posts_each_alert_without_threading(fake_slack: FakeSlack) -> None:
    notifier = SlackNotifier(token=None, webhook_url=fake_slack.webhook_url, base_url=fake_slack.api_url)
    assert notifier.mode == "webhook"

    assert notifier.send(alert(), TARGET, None) is None
    assert notifier.send(alert(AlertState.RESOLVED, minutes=60), TARGET, None) is None

    calls = fake_slack.calls_to("webhook")
    assert [c.body["blocks"] for c in calls] == [
        render_alert(alert(), TARGET)["blocks"], render_alert(alert(AlertState.RESOLVED, minutes=60), TARGET)["blocks"]
    ]
    assert [m.channel for m in fake_slack.messages] == ["webhook", "webhook"]
    assert fake_slack.calls_to("chat.postMessage") == []


def test_429_is_retryable_with_retry_after(fake_slack: FakeSlack) -> None:
    notifier = bot(fake_slack)
    fake_slack.rate_limit(times=1, retry_after=7)

    with pytest.raises(DeliveryError) as failure:
        notifier.send(alert(), TARGET, None)

    assert failure.value.retryable
    assert failure.value.retry_after == 7.0
    assert len(fake_slack.calls_to("chat.postMessage", ok_only=False)) == 1  # slack-sdk did not retry
    assert notifier.send(alert(), TARGET, None) is not None


@pytest.mark.parametrize("status", [500, 502, 503])
def test_5xx_is_retryable(fake_slack: FakeSlack, status: int) -> None:
    fake_slack.fail(times=1, status=status)
    with pytest.raises(DeliveryError) as failure:
        bot(fake_slack).send(alert(), TARGET, None)
    assert failure.value.retryable
    assert failure.value.retry_after is None
    assert len(fake_slack.calls_to("chat.postMessage", ok_only=False)) == 1


@pytest.mark.parametrize("code", ["internal_error", "fatal_error", "service_unavailable", "ratelimited"])
def test_transient_slack_errors_are_retryable(fake_slack: FakeSlack, code: str) -> None:
    fake_slack.error(code)
    with pytest.raises(DeliveryError) as failure:
        bot(fake_slack).send(alert(), TARGET, None)
    assert failure.value.retryable


def test_invalid_auth_is_not_retryable_and_hides_the_token(fake_slack: FakeSlack) -> None:
    secret = "xoxb-revoked-secret-token"
    with pytest.raises(DeliveryError) as failure:
        bot(fake_slack, token=secret).send(alert(), TARGET, None)
    assert not failure.value.retryable
    assert "invalid_auth" in str(failure.value)
    assert secret not in str(failure.value)


@pytest.mark.parametrize("code", ["channel_not_found", "not_in_channel", "account_inactive", "is_archived"])
def test_operator_errors_are_not_retryable(fake_slack: FakeSlack, code: str) -> None:
    fake_slack.error(code)
    with pytest.raises(DeliveryError) as failure:
        bot(fake_slack).send(alert(), TARGET, None)
    assert not failure.value.retryable
    assert code in str(failure.value)


def test_unknown_channel_is_not_retryable(fake_slack: FakeSlack) -> None:
    fake_slack.unknown_channels.add("crise-toyota")
    with pytest.raises(DeliveryError, match="channel_not_found") as failure:
        bot(fake_slack).send(alert(), TARGET, None)
    assert not failure.value.retryable


def test_target_without_channel_is_not_retryable(fake_slack: FakeSlack) -> None:
    with pytest.raises(DeliveryError, match="no Slack channel") as failure:
        bot(fake_slack).send(alert(), Target(receiver="nobody"), None)
    assert not failure.value.retryable
    assert fake_slack.calls == []


def test_server_down_is_retryable_then_delivers(fake_slack: FakeSlack, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    notifier = bot(fake_slack)
    fake_slack.down()

    with pytest.raises(DeliveryError) as failure:
        notifier.send(alert(), TARGET, None)
    assert failure.value.retryable
    assert "unreachable" in str(failure.value)

    fake_slack.up()
    assert notifier.send(alert(), TARGET, None) is not None
    assert TOKEN not in caplog.text


def test_timeout_is_retryable(fake_slack: FakeSlack) -> None:
    fake_slack.stall(3.0)
    with pytest.raises(DeliveryError) as failure:
        bot(fake_slack, timeout=0.3).send(alert(), TARGET, None)
    assert failure.value.retryable


@pytest.mark.parametrize(
    ("inject", "retryable", "retry_after"),
    [("429", True, 4.0), ("500", True, None), ("down", True, None), ("wrong-path", False, None)],
)
def test_webhook_errors(fake_slack: FakeSlack, caplog: pytest.LogCaptureFixture, inject: str, retryable: bool,
                        retry_after: float | None) -> None:
    caplog.set_level(logging.INFO)
    url = fake_slack.webhook_url
    if inject == "429":
        fake_slack.rate_limit(times=1, retry_after=4)
    elif inject == "500":
        fake_slack.fail(times=1)
    elif inject == "down":
        fake_slack.down()
    else:
        url = url.replace("fakewebhooksecret", "revoked")
    notifier = SlackNotifier(token=None, webhook_url=url)

    with pytest.raises(DeliveryError) as failure:
        notifier.send(alert(), TARGET, None)

    assert failure.value.retryable is retryable
    assert failure.value.retry_after == retry_after
    assert "fakewebhooksecret" not in str(failure.value) and "fakewebhooksecret" not in caplog.text


def test_fake_rejects_blocks_beyond_slack_limits(fake_slack: FakeSlack) -> None:
    client = WebClient(token=TOKEN, base_url=fake_slack.api_url, retry_handlers=[])
    section = {"type": "section", "text": {"type": "mrkdwn", "text": "x"}}
    too_long = {"type": "section", "text": {"type": "mrkdwn", "text": "x" * 3001}}
    for blocks in ([section] * 51, [too_long]):
        with pytest.raises(SlackApiError) as failure:
            client.chat_postMessage(channel="#c", text="t", blocks=blocks)
        assert failure.value.response["error"] == "invalid_blocks"
    assert client.chat_postMessage(channel="#c", text="t", blocks=[section] * 50)["ok"]
    assert client.auth_test()["user_id"] == "U0FAKE"


def test_fake_supports_files_upload_v2(fake_slack: FakeSlack) -> None:
    client = WebClient(token=TOKEN, base_url=fake_slack.api_url, retry_handlers=[])
    posted = client.chat_postMessage(channel="#crise-toyota", text="incident")
    png = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64

    result = client.files_upload_v2(channel=posted["channel"], thread_ts=posted["ts"], content=png,
                                    filename="volume.png", title="Volume and negativity")

    [stored] = fake_slack.files.values()
    assert stored["data"] == png
    assert (stored["channel"], stored["thread_ts"], stored["title"]) == (
        posted["channel"], posted["ts"], "Volume and negativity")
    assert result["file"]["name"] == "volume.png"
    assert [c.method for c in fake_slack.calls] == [
        "chat.postMessage", "files.getUploadURLExternal", "upload", "files.completeUploadExternal"]

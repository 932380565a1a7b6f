"""Operational alerts: a source that keeps failing or goes silent reaches the ``ops`` team's Slack
channel and webhook once per episode, then a recovery notice; text is escaped; failures are contained."""

from __future__ import annotations

import doctest
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

import service.notify.ops
from service.clock import SimulatedClock
from service.collect.health import OpsEvent, OpsState
from service.collect.registry import build_collector
from service.collect.runner import CollectionRunner
from service.config import SourceConfig, WebhookConfig, parse_config
from service.domain import SourceKind
from service.notify.base import DeliveryError
from service.notify.ops import OpsNotifier, OpsSlack, ops_body, ops_notifier, render_ops
from service.notify.webhook import SIGNATURE_HEADER, sign
from service.store.base import StoreError
from service.store.sqlite import SQLiteStore
from service.yamlread import Secret
from tests.fakeslack import TOKEN, FakeSlack, fake_slack_fixture  # noqa: F401  (the fake_slack fixture)

FEEDS = Path(__file__).parent / "fixtures" / "feeds"
START = datetime(2026, 11, 26, 10, 0, tzinfo=UTC)
FEED = SourceConfig(name="google-news", type="rss", kind=SourceKind.NEWS, interval=timedelta(minutes=5),
                    timeout=timedelta(seconds=2),
                    options={"url": "https://news.google.com/rss/search?q=peugeot", "attempts": 1})
CONFIG = """\
version: 1
brands:
  peugeot:
    query: peugeot
teams:
  desk:
    slack_channel: "#desk"
  platform:
    slack_channel: "#ops"
    webhook: {url: "https://hooks.example.org/ops", secret: s3cret}
route:
  team: desk
ops:
  team: platform
"""


class Hooks:
    """The ops team's webhook endpoint (an httpx transport recording each request)."""

    def __init__(self, status: int = 200) -> None:
        self.requests: list[httpx.Request] = []
        self.status = status

    def factory(self) -> httpx.Client:
        return httpx.Client(transport=httpx.MockTransport(self.handle))

    def handle(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        return httpx.Response(self.status)


def test_render_is_escaped_and_doctests_hold() -> None:
    event = OpsEvent(source="<!channel>", state=OpsState.FAILING, at=START,
                     message='source "<!channel>" has failed 3 times in a row; last error: <https://evil|click> *x*')
    text = render_ops(event)
    assert text.startswith(":warning: *crisiswatch: a source keeps failing*\n")
    assert "<!channel>" not in text and "<https://evil" not in text and "&lt;!channel&gt;" in text
    assert text.endswith("(2026-11-26 10:00 UTC)")
    assert doctest.testmod(service.notify.ops).failed == 0


def _runner(store: SQLiteStore, clock: SimulatedClock, state: dict[str, bool], on_ops: OpsNotifier,
            **options: object) -> CollectionRunner:
    def web(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=(FEEDS / "google_news_fr.rss").read_bytes()) if state["up"] \
            else httpx.Response(503)

    return CollectionRunner([FEED], store=store, clock=clock, sink=lambda mentions: None, on_ops=on_ops,
                            client_factory=lambda: httpx.Client(transport=httpx.MockTransport(web)),
                            collector_factory=lambda source, client, limiter: build_collector(
                                source, client, limiter=limiter, sleep=lambda seconds: None),
                            **options)  # type: ignore[arg-type]


def test_a_failing_source_alerts_the_ops_channel_once_then_recovers(fake_slack: FakeSlack, tmp_path: Path) -> None:
    hooks = Hooks()
    config = parse_config(CONFIG)
    notifier = ops_notifier(config, slack_token=TOKEN, slack_webhook_url=None, slack_api_url=fake_slack.api_url,
                            client_factory=hooks.factory)
    assert notifier is not None and notifier.channel == "#ops"
    state = {"up": False}
    clock = SimulatedClock(START)
    store = SQLiteStore(str(tmp_path / "cw.db"))
    try:
        run = _runner(store, clock, state, notifier, fail_after=3)
        _fail_three_runs(run, clock)
        _fail_three_runs(run, clock)
        [alert] = fake_slack.top_level(fake_slack.channel_id("#ops"))
        assert alert.text is not None and alert.text.startswith(":warning: *crisiswatch: a source keeps failing*")
        assert 'source "google-news" has failed 3 times in a row' in alert.text
        # a restart keeps the episode open: no second alert
        run = _runner(store, clock, state, notifier, fail_after=3)
        run.run_source("google-news")
        assert len(fake_slack.top_level()) == 1
        state["up"] = True
        run.run_source("google-news")
        run.run_source("google-news")
    finally:
        store.close()
    texts = [message.text or "" for message in fake_slack.top_level()]
    assert len(texts) == 2 and texts[1].startswith(":white_check_mark: *crisiswatch: a source recovered*")
    assert [call.body["channel"] for call in fake_slack.calls_to("chat.postMessage")] == ["#ops", "#ops"]
    bodies = [json.loads(request.content) for request in hooks.requests]
    assert [body["ops"]["state"] for body in bodies] == ["failing", "recovered"]
    assert bodies[0]["receiver"] == "platform" and bodies[0]["ops"]["source"] == "google-news"
    first = hooks.requests[0]
    assert first.headers[SIGNATURE_HEADER] == sign("s3cret", first.headers["X-Crisiswatch-Timestamp"], first.content)


def test_incoming_webhook_mode_posts_plain_text(fake_slack: FakeSlack) -> None:
    slack = OpsSlack(token=None, webhook_url=fake_slack.webhook_url)
    notifier = OpsNotifier(team="platform", channel=None, slack=slack, webhook=None)
    notifier(OpsEvent(source="s", state=OpsState.SILENT, at=START, message='source "s" is quiet'))
    [message] = fake_slack.top_level()
    assert message.channel == "webhook" and message.text is not None and message.text.startswith(":mute:")


def test_one_broken_channel_still_lets_the_other_deliver_and_raises_a_delivery_error(fake_slack: FakeSlack) -> None:
    hooks = Hooks(status=503)
    fake_slack.error("channel_not_found")
    notifier = OpsNotifier(team="platform", channel="#ops", webhook=WebhookConfig(url=Secret("https://h.example/x")),
                           slack=OpsSlack(token=TOKEN, webhook_url=None, base_url=fake_slack.api_url),
                           client_factory=hooks.factory)
    event = OpsEvent(source="s", state=OpsState.FAILING, at=START, message="m")
    with pytest.raises(DeliveryError) as caught:
        notifier(event)
    assert "channel_not_found" in str(caught.value) and "answered HTTP 503" in str(caught.value)
    assert "h.example" not in str(caught.value)  # the webhook URL is a secret
    assert len(hooks.requests) == 1 and SIGNATURE_HEADER not in hooks.requests[0].headers
    hooks.status = 200
    notifier(event)  # Slack is fine again, and so is the webhook
    assert len(fake_slack.top_level()) == 1 and len(hooks.requests) == 2


def test_no_ops_key_or_no_channel_means_log_only(caplog: pytest.LogCaptureFixture) -> None:
    without = parse_config(CONFIG.replace("ops:\n  team: platform\n", ""))
    assert without.ops is None
    assert ops_notifier(without, slack_token=TOKEN, slack_webhook_url=None) is None
    bare = parse_config(CONFIG.replace('    webhook: {url: "https://hooks.example.org/ops", secret: s3cret}\n', ""))
    assert ops_notifier(bare, slack_token=None, slack_webhook_url=None) is None
    assert 'ops team "platform" has neither Slack' in caplog.text
    no_channel = parse_config(CONFIG.replace('    slack_channel: "#ops"\n', ""))
    only_hook = ops_notifier(no_channel, slack_token=TOKEN, slack_webhook_url=None)
    assert only_hook is not None and only_hook.slack is None and only_hook.webhook is not None
    assert 'ops team "platform" has no slack_channel' in caplog.text


def test_ops_body_is_the_documented_json() -> None:
    event = OpsEvent(source="s", state=OpsState.RECOVERED, at=START, message='source "s" recovered')
    assert json.loads(ops_body(event, "platform")) == {
        "version": 1, "receiver": "platform", "key": f"ops:s:recovered:{int(START.timestamp())}",
        "ops": {"source": "s", "state": "recovered", "at": "2026-11-26T10:00:00+00:00",
                "message": 'source "s" recovered'}}


def test_an_ops_alert_that_could_not_be_sent_is_retried_after_later_runs_even_across_a_restart(
        tmp_path: Path) -> None:
    hooks = Hooks(status=500)
    notifier = ops_notifier(parse_config(CONFIG), slack_token=None, slack_webhook_url=None,
                            client_factory=hooks.factory)
    assert notifier is not None and notifier.slack is None
    state = {"up": False}
    clock = SimulatedClock(START)
    store = SQLiteStore(str(tmp_path / "cw.db"))
    try:
        run = _runner(store, clock, state, notifier, fail_after=3)
        _fail_three_runs(run, clock)
        assert len(hooks.requests) == 1  # the alert was tried, and refused by the endpoint
        run.run_source("google-news")
        assert len(hooks.requests) == 2  # retried after the next run
        run = _runner(store, clock, state, notifier, fail_after=3)  # a restart does not lose it
        hooks.status = 200
        run.run_source("google-news")
        run.run_source("google-news")
    finally:
        store.close()
    bodies = [json.loads(request.content) for request in hooks.requests]
    assert [body["ops"]["state"] for body in bodies] == ["failing", "failing", "failing"]
    assert len({body["key"] for body in bodies}) == 1  # the same alert each time: receivers can deduplicate


def _fail_three_runs(run: CollectionRunner, clock: SimulatedClock) -> None:
    for _ in range(3):
        run.run_source("google-news")
        clock.advance(timedelta(minutes=5))


def test_a_retry_after_a_partial_failure_does_not_repeat_the_channel_that_got_it(fake_slack: FakeSlack,
                                                                                 tmp_path: Path) -> None:
    hooks = Hooks(status=500)
    notifier = ops_notifier(parse_config(CONFIG), slack_token=TOKEN, slack_webhook_url=None,
                            slack_api_url=fake_slack.api_url, client_factory=hooks.factory)
    assert notifier is not None
    clock, store = SimulatedClock(START), SQLiteStore(str(tmp_path / "cw.db"))
    try:
        run = _runner(store, clock, {"up": False}, notifier, fail_after=3)
        _fail_three_runs(run, clock)
        run.run_source("google-news")
        hooks.status = 200
        run.run_source("google-news")
        run.run_source("google-news")
    finally:
        store.close()
    assert len(fake_slack.top_level(fake_slack.channel_id("#ops"))) == 1  # Slack had it the first time
    assert [json.loads(r.content)["ops"]["state"] for r in hooks.requests] == ["failing"] * 3  # 500, 500, 200


def test_an_alert_refused_for_good_is_dropped_and_does_not_hold_back_the_next(tmp_path: Path,
                                                                              caplog: pytest.LogCaptureFixture) -> None:
    hooks = Hooks(status=404)
    notifier = ops_notifier(parse_config(CONFIG), slack_token=None, slack_webhook_url=None,
                            client_factory=hooks.factory)
    assert notifier is not None
    state = {"up": False}
    clock, store = SimulatedClock(START), SQLiteStore(str(tmp_path / "cw.db"))
    try:
        run = _runner(store, clock, state, notifier, fail_after=3)
        _fail_three_runs(run, clock)  # "failing": refused with 404, dropped
        hooks.status = 200
        state["up"] = True
        run.run_source("google-news")  # "recovered": sent at once, nothing ahead of it
        run.run_source("google-news")
    finally:
        store.close()
    assert [json.loads(r.content)["ops"]["state"] for r in hooks.requests] == ["failing", "recovered"]
    assert "refused for good, dropped" in caplog.text


class FlakyStore(SQLiteStore):
    """A real SQLite store whose reads of the waiting ops alerts fail while ``down`` is set."""

    down = False

    def load_state(self, name: str) -> dict[str, object] | None:
        if self.down and name == "ops:pending":
            raise StoreError("database is locked")
        return super().load_state(name)


def test_waiting_alerts_survive_a_store_that_cannot_be_read_and_keep_their_order(tmp_path: Path) -> None:
    hooks = Hooks(status=500)
    notifier = ops_notifier(parse_config(CONFIG), slack_token=None, slack_webhook_url=None,
                            client_factory=hooks.factory)
    assert notifier is not None
    state = {"up": False}
    clock, store = SimulatedClock(START), FlakyStore(str(tmp_path / "cw.db"))
    try:
        run = _runner(store, clock, state, notifier, fail_after=3)
        _fail_three_runs(run, clock)  # "failing" waits in the store
        store.down = True
        state["up"] = True
        run.run_source("google-news")  # "recovered" cannot join it in the store: kept in memory, nothing sent
        assert len(hooks.requests) == 1
        store.down = False
        hooks.status = 200
        run.run_source("google-news")
    finally:
        store.close()
    states = [json.loads(r.content)["ops"]["state"] for r in hooks.requests]
    assert states == ["failing", "failing", "recovered"]  # in order, none lost


def test_ops_messages_are_masked_and_the_webhook_is_signed_with_the_send_time(fake_slack: FakeSlack) -> None:
    hooks = Hooks()  # review findings 13 (unmasked last error) and 8 (signed with the event's time)
    clock = SimulatedClock(START + timedelta(hours=2))
    secret = WebhookConfig(url=Secret("https://h.example/x"), secret=Secret("s3cret"))
    notifier = OpsNotifier(team="platform", channel="#ops", webhook=secret, client_factory=hooks.factory, clock=clock,
                           slack=OpsSlack(token=TOKEN, webhook_url=None, base_url=fake_slack.api_url))
    leaked = "xoxb-1111-2222-abcdefabcdef"
    notifier(OpsEvent(source="s", state=OpsState.FAILING, at=START,
                      message=f"source \"s\" has failed 3 times; last error: invalid token {leaked}"))
    [message] = fake_slack.top_level()
    assert message.text is not None and leaked not in message.text and "invalid token" in message.text
    [request] = hooks.requests
    assert leaked not in request.content.decode() and "invalid token" in request.content.decode()
    timestamp = request.headers["X-Crisiswatch-Timestamp"]
    assert timestamp == str(int(clock.now().timestamp()))
    assert request.headers[SIGNATURE_HEADER] == sign("s3cret", timestamp, request.content)

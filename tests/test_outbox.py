"""The outbox: recorded before sent, delivered once and in order per incident, retried with backoff
while Slack is down or rate limiting (real slack-sdk against the local fake Slack Web API)."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta

from service.clock import SimulatedClock
from service.config import parse_config
from service.domain import Alert, AlertState, Severity
from service.notify.console import ConsoleNotifier
from service.notify.outbox import Dispatcher, backoff
from service.notify.slack import SlackNotifier
from service.store.sqlite import SQLiteStore
from tests.fakeslack import FakeSlack, fake_slack  # noqa: F401  (fixture)

CONFIG = """\
version: 1
brands:
  toyota:
    query: toyota
    team: intel
teams:
  desk:
    slack_channel: "#desk"
  intel:
    slack_channel: "#intel"
route:
  team: desk
  routes:
    - match: {severity: [critical]}
      team: intel
      continue: true
    - match: {brand: [toyota]}
      team: desk
"""
T0 = datetime(2010, 1, 21, 14, 0, tzinfo=UTC)


def alert(sequence: int, state: AlertState, severity: Severity = Severity.CRITICAL) -> Alert:
    return Alert(at=T0 + timedelta(minutes=5 * sequence), brand="toyota", incident_id="toyota-20100121T1400Z",
                 state=state, severity=severity, crisis_type="product_recall", resemblance=0.9, volume=100 * sequence,
                 negative_share=0.7, summary=f"event {sequence} <!channel>", sequence=sequence,
                 opened_at=T0)


def test_routes_to_every_team_and_notifier() -> None:
    config = parse_config(CONFIG)
    store = SQLiteStore(":memory:")
    stream = io.StringIO()
    dispatcher = Dispatcher(config, store, {"console": ConsoleNotifier(stream)})
    assert dispatcher.dispatch([alert(1, AlertState.FIRING)], T0) == 2  # intel (continue) and desk
    assert dispatcher.dispatch([alert(1, AlertState.FIRING)], T0) == 0  # idempotent enqueue
    report = dispatcher.deliver_due(T0)
    assert report.delivered == 2
    lines = stream.getvalue().splitlines()
    assert sorted(line.split("]")[0] for line in lines) == ["[alert -> desk", "[alert -> intel"]
    assert dispatcher.deliver_due(T0 + timedelta(hours=1)).delivered == 0


def test_slack_down_then_back_delivers_everything_once_in_order(fake_slack: FakeSlack) -> None:  # noqa: F811
    config = parse_config(CONFIG)
    store = SQLiteStore(":memory:")
    clock = SimulatedClock(T0)
    slack = SlackNotifier(token=fake_slack.token, webhook_url=None, base_url=fake_slack.api_url, timeout=2)
    dispatcher = Dispatcher(config, store, {"slack": slack})
    fake_slack.down()
    events = [alert(1, AlertState.FIRING, Severity.WARNING), alert(2, AlertState.ESCALATED),
              alert(3, AlertState.UPDATED), alert(4, AlertState.RESOLVED)]
    for index, event in enumerate(events):
        dispatcher.dispatch([event], clock.now())
        dispatcher.deliver_due(clock.now())
        clock.advance(timedelta(minutes=2, seconds=30 * index))
    pending = store.outbox_pending()
    assert len(pending) == 7  # desk gets all four events, intel the three critical ones
    heads = [item for item in pending if item.seq == min(p.seq for p in pending if p.receiver == item.receiver)]
    assert all(item.attempts >= 1 for item in heads)  # first in line: retried while Slack is down
    assert all(item.attempts == 0 for item in pending if item not in heads)  # later ones wait their turn
    fake_slack.up()
    for _ in range(40):  # ten simulated minutes of delivery ticks
        clock.advance(timedelta(seconds=15))
        dispatcher.deliver_due(clock.now())
    assert store.outbox_pending() == []
    desk = fake_slack.channel_id("#desk")
    [top] = fake_slack.top_level(desk)
    replies = fake_slack.thread(desk, top.ts)
    assert top.edits == 3  # chat.update for escalated, updated, resolved
    assert "resolved" in (top.text or "")  # the last update wins: delivered in order
    assert [("event 2" in (r.text or ""), "event 3" in (r.text or ""), "resolved" in (r.text or ""))
            for r in replies] == [(True, False, False), (False, True, False), (False, False, True)]
    intel = fake_slack.channel_id("#intel")
    [intel_top] = fake_slack.top_level(intel)
    assert intel_top.edits == 2 and len(fake_slack.thread(intel, intel_top.ts)) == 2
    posts = fake_slack.calls_to("chat.postMessage")
    assert len([p for p in posts if not p.body.get("thread_ts")]) == 2  # one first message per channel
    assert "<!channel>" not in str([c.body for c in fake_slack.calls])  # mention text escaped


def test_rate_limit_is_honoured(fake_slack: FakeSlack) -> None:  # noqa: F811
    config = parse_config(CONFIG)
    store = SQLiteStore(":memory:")
    slack = SlackNotifier(token=fake_slack.token, webhook_url=None, base_url=fake_slack.api_url, timeout=2)
    dispatcher = Dispatcher(config, store, {"slack": slack})
    fake_slack.rate_limit(times=1, retry_after=120)
    dispatcher.dispatch([alert(1, AlertState.FIRING, Severity.WARNING)], T0)
    report = dispatcher.deliver_due(T0)
    assert report.failed == 1 and report.delivered == 0
    [pending] = store.outbox_pending()
    assert pending.next_attempt_at >= T0 + timedelta(seconds=120)
    assert dispatcher.deliver_due(T0 + timedelta(seconds=60)).delivered == 0  # not due yet
    assert dispatcher.deliver_due(T0 + timedelta(seconds=200)).delivered == 1


def test_backoff_grows_and_is_capped() -> None:
    delays = [backoff(n, "key", None) for n in range(1, 15)]
    assert delays[0] >= timedelta(seconds=5) and delays[1] > delays[0]
    assert max(delays) <= timedelta(minutes=12)

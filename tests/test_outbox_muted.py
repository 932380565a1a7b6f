"""Muted incidents and re-routed threads, end to end through the outbox on both stores (SQLite and a
real Redis) with slack-sdk against the local fake Slack Web API, on a simulated clock, ticking as the
pipeline does (dispatch this minute's alerts, remind, deliver what is due):

- an incident that starts while silenced or inhibited is notified once when the muting ends (a normal
  first notification, group wait honoured), and never when it resolved meanwhile;
- a team holding a thread opened at a lower severity keeps receiving the incident's escalation,
  updates and resolution after the route sends the higher severity to another team.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from service.clock import SimulatedClock
from service.config import parse_config
from service.domain import Alert, AlertState, Incident, Severity
from service.incidents import resolve_manually
from service.notify.outbox import Dispatcher
from service.notify.slack import SlackNotifier
from service.store.base import Matcher, Silence, Store
from service.store.sqlite import SQLiteStore
from tests.fakeslack import FakeSlack, Message, fake_slack  # noqa: F401  (fixture)

T0 = datetime(2010, 1, 21, 14, 0, tzinfo=UTC)
MIN = timedelta(minutes=1)

# Warnings of toyota and lexus go to intel, criticals to cell (no continue: intel does not hear them).
# Both brands belong to team intel: an open critical incident of one mutes the warnings of the other.
CONFIG = """\
version: 1
brands:
  toyota: {query: toyota, team: intel}
  lexus: {query: lexus, team: intel}
teams:
  desk: {slack_channel: "#desk"}
  intel: {slack_channel: "#intel"}
  cell: {slack_channel: "#cell"}
route:
  team: desk
  group_wait: 30s
  group_interval: 5m
  routes:
    - match: {severity: [critical]}
      team: cell
    - match: {brand: [toyota, lexus]}
      team: intel
inhibit:
  - source: {severity: critical}
    target: {severity: [warning, info]}
    equal: [team]
"""


@pytest.fixture(params=["sqlite", "redis"])
def store(request: pytest.FixtureRequest) -> Iterator[Store]:
    if request.param == "sqlite":
        opened: Store = SQLiteStore(":memory:")
    else:
        from service.store.redis import RedisStore

        opened = RedisStore(request.getfixturevalue("clean_redis_url"))
    try:
        yield opened
    finally:
        opened.close()


class World:
    """A dispatcher with the Slack notifier, its store and clock, and the incidents as the pipeline keeps them."""

    def __init__(self, store: Store, slack: FakeSlack) -> None:
        self.store, self.slack = store, slack
        self.clock = SimulatedClock(T0)
        self.notifier = SlackNotifier(token=slack.token, webhook_url=None, base_url=slack.api_url, timeout=2)
        self.dispatcher = Dispatcher(parse_config(CONFIG), store, {"slack": self.notifier})
        self.incidents: dict[str, Incident] = {}

    def event(self, brand: str, state: AlertState, severity: Severity = Severity.WARNING) -> Alert:
        """Save the incident's new version and return its alert event, at the clock's time."""
        now = self.clock.now()
        current = self.incidents.get(brand)
        if current is None:
            current = Incident(id=f"{brand}-1", brand=brand, opened_at=now, updated_at=now, last_anomalous_at=now,
                               severity=severity, peak_severity=severity, crisis_type="product_recall",
                               resemblance=0.8, volume=100, peak_volume=100, negative_share=0.6, events=0)
        current = replace(current, updated_at=now, severity=severity, events=current.events + 1, state=state,
                          peak_severity=max(current.peak_severity, severity, key=lambda s: s.rank),
                          resolved_at=now if state is AlertState.RESOLVED else None)
        self.incidents[brand] = current
        self.store.save_incident(current)
        return Alert(at=now, brand=brand, incident_id=current.id, state=state, severity=severity,
                     crisis_type="product_recall", resemblance=0.8, volume=100 * current.events,
                     negative_share=0.6, summary=f"{brand} event {current.events}", sequence=current.events,
                     opened_at=current.opened_at)

    def tick(self, alerts: Sequence[Alert] = ()) -> None:
        """One detection tick, in the pipeline's order."""
        now = self.clock.now()
        if alerts:
            self.dispatcher.dispatch(alerts, now)
        self.dispatcher.remind(now)
        self.dispatcher.deliver_due(now)

    def run_until(self, minute: int) -> None:
        """Tick every minute up to ``T0 + minute`` (inclusive)."""
        while self.clock.now() < T0 + minute * MIN:
            self.clock.advance(MIN)
            self.tick()

    def top(self, channel: str) -> list[Message]:
        return self.slack.top_level(self.slack.channel_id(channel))

    def replies(self, channel: str) -> list[str]:
        [top] = self.top(channel)
        return [m.text or "" for m in self.slack.thread(self.slack.channel_id(channel), top.ts)]

    def posts(self) -> list[dict[str, object]]:
        return [call.body for call in self.slack.calls_to("chat.postMessage")]


def silence_toyota(store: Store, minutes: int) -> None:
    store.add_silence(Silence(id="s1", matchers=(Matcher(label="brand", value="toyota"),), starts_at=T0,
                              ends_at=T0 + minutes * MIN, created_by="alice", comment="known", created_at=T0))


def test_an_incident_fired_during_a_silence_is_notified_once_when_it_expires(
        store: Store, fake_slack: FakeSlack, caplog: pytest.LogCaptureFixture) -> None:  # noqa: F811
    caplog.set_level("INFO", logger="crisiswatch.notify")
    world = World(store, fake_slack)
    silence_toyota(store, 10)
    world.tick([world.event("toyota", AlertState.FIRING)])
    world.run_until(9)
    assert world.posts() == [] and store.outbox_pending() == []  # silenced: nothing recorded, nothing sent
    world.clock.advance(MIN)  # +10m: the silence has ended
    world.tick()
    [pending] = store.outbox_pending()
    assert pending.receiver == "intel/slack" and pending.next_attempt_at == T0 + 10 * MIN + timedelta(seconds=30)
    assert world.posts() == []  # group wait honoured
    world.run_until(60)
    [top] = world.top("#intel")
    assert "WARNING · new incident" in str(top.blocks) and "not notified until now" in (top.text or "")
    assert len(world.posts()) == 1 and world.top("#desk") == [] and world.top("#cell") == []
    assert any("toyota-1 is open, not muted and intel/slack never heard of it: first notification" in r.getMessage()
               for r in caplog.records)
    restarted = Dispatcher(parse_config(CONFIG), store, {"slack": world.notifier})  # a new process: no cache
    assert restarted.remind(T0 + 61 * MIN) == 0
    # the team now holds the thread: the resolution reaches it
    world.tick([world.event("toyota", AlertState.RESOLVED)])
    assert len(world.top("#intel")) == 1 and "resolved" in world.replies("#intel")[-1]


def test_after_a_silence_the_first_notification_has_the_current_severity_and_route(
        store: Store, fake_slack: FakeSlack) -> None:  # noqa: F811
    world = World(store, fake_slack)
    silence_toyota(store, 10)
    world.tick([world.event("toyota", AlertState.FIRING)])
    world.clock.advance(5 * MIN)
    world.tick([world.event("toyota", AlertState.ESCALATED, Severity.CRITICAL)])  # silenced too
    world.run_until(30)
    [top] = world.top("#cell")
    assert "CRITICAL · new incident" in str(top.blocks)
    assert world.top("#intel") == []  # the warning's route never heard of it and is no longer its route
    assert len(world.posts()) == 1


def test_an_incident_resolved_during_its_silence_is_never_sent(store: Store, fake_slack: FakeSlack) -> None:  # noqa: F811
    world = World(store, fake_slack)
    silence_toyota(store, 10)
    world.tick([world.event("toyota", AlertState.FIRING)])
    world.clock.advance(5 * MIN)
    world.tick([world.event("toyota", AlertState.RESOLVED)])
    world.run_until(60)
    assert world.posts() == [] and store.outbox_items("toyota-1") == []


def test_an_incident_fired_while_inhibited_is_notified_once_when_the_source_resolves(
        store: Store, fake_slack: FakeSlack) -> None:  # noqa: F811
    world = World(store, fake_slack)
    world.tick([world.event("lexus", AlertState.FIRING, Severity.CRITICAL)])
    world.clock.advance(MIN)
    world.tick([world.event("toyota", AlertState.FIRING)])  # a warning of team intel: inhibited by lexus
    world.run_until(19)
    assert [item.receiver for item in store.outbox_items("toyota-1")] == []
    assert len(world.top("#cell")) == 1 and world.top("#intel") == []
    world.clock.advance(MIN)
    world.tick([world.event("lexus", AlertState.RESOLVED, Severity.CRITICAL)])
    world.run_until(20)
    assert world.top("#intel") == []  # group wait
    world.run_until(60)
    [top] = world.top("#intel")
    assert "WARNING · new incident" in str(top.blocks) and "toyota" in (top.text or "")
    assert [item.key for item in store.outbox_items("toyota-1")] == ["toyota-1#1->intel/slack"]
    assert len(world.top("#cell")) == 1 and "resolved" in world.replies("#cell")[-1]


def test_an_incident_resolved_while_inhibited_is_never_sent(store: Store, fake_slack: FakeSlack) -> None:  # noqa: F811
    world = World(store, fake_slack)
    world.tick([world.event("lexus", AlertState.FIRING, Severity.CRITICAL)])
    world.tick([world.event("toyota", AlertState.FIRING)])
    world.clock.advance(5 * MIN)
    world.tick([world.event("toyota", AlertState.RESOLVED)])
    world.clock.advance(5 * MIN)
    world.tick([world.event("lexus", AlertState.RESOLVED, Severity.CRITICAL)])
    world.run_until(60)
    assert world.top("#intel") == [] and store.outbox_items("toyota-1") == []


def test_the_thread_of_a_lower_severity_route_gets_the_escalation_updates_and_resolution(
        store: Store, fake_slack: FakeSlack) -> None:  # noqa: F811
    world = World(store, fake_slack)
    world.tick([world.event("toyota", AlertState.FIRING)])
    world.run_until(4)
    assert len(world.top("#intel")) == 1 and world.top("#cell") == []
    world.clock.advance(MIN)
    world.tick([world.event("toyota", AlertState.ESCALATED, Severity.CRITICAL)])
    world.run_until(10)
    [cell_top] = world.top("#cell")
    assert "CRITICAL · escalated" in str(cell_top.blocks)  # the critical route's first message
    assert len(world.replies("#intel")) == 1 and "escalated" in world.replies("#intel")[0]
    world.clock.advance(MIN)
    world.tick([world.event("toyota", AlertState.UPDATED, Severity.CRITICAL)])
    world.run_until(20)
    world.clock.advance(MIN)
    world.tick([world.event("toyota", AlertState.RESOLVED, Severity.CRITICAL)])
    world.run_until(30)
    assert store.outbox_pending() == []
    intel = world.replies("#intel")
    assert len(intel) == 3 and "event 3" in intel[1] and "resolved" in intel[2]  # each once, in order
    [intel_top] = world.top("#intel")
    assert "resolved" in str(intel_top.blocks)  # the main message shows the end too
    cell = world.replies("#cell")
    assert len(cell) == 2 and "event 3" in cell[0] and "resolved" in cell[1]
    assert world.top("#desk") == []
    assert len([p for p in world.posts() if not p.get("thread_ts")]) == 2  # one first message per channel


def test_a_resolution_by_hand_reaches_the_thread_of_a_lower_severity_route(
        store: Store, fake_slack: FakeSlack) -> None:  # noqa: F811
    world = World(store, fake_slack)
    world.tick([world.event("toyota", AlertState.FIRING)])
    world.clock.advance(5 * MIN)
    world.tick([world.event("toyota", AlertState.ESCALATED, Severity.CRITICAL)])
    world.run_until(10)
    now = world.clock.now()
    done = resolve_manually(world.incidents["toyota"], "carol", now)
    world.dispatcher.apply_action(done, now)
    world.tick()
    for channel in ("#intel", "#cell"):
        replies = world.replies(channel)
        assert sum("resolved" in text.lower() for text in replies) == 1 and "carol" in replies[-1]


def test_an_incident_resolved_by_hand_while_remind_runs_is_not_announced(
        clean_redis_url: str, fake_slack: FakeSlack) -> None:  # noqa: F811
    # remind() reads the open incidents, then someone resolves one (dashboard, Slack button) before its
    # catch-up is recorded: the catch-up reads the incident again under the recording lock and sends
    # nothing, rather than a "new incident" message whose thread nobody would ever close.
    from service.store.redis import RedisStore

    class ActedOnStore(RedisStore):
        """The real Redis store; ``then`` runs once, right after the next read of the open incidents."""

        then = None

        def incidents(self, *, open_only: bool = False, limit: int = 100):  # type: ignore[no-untyped-def]
            found = super().incidents(open_only=open_only, limit=limit)
            then, self.then = self.then, None
            if then is not None and open_only:
                then()
            return found

    store = ActedOnStore(clean_redis_url)
    world = World(store, fake_slack)
    silence_toyota(store, 10)
    world.tick([world.event("toyota", AlertState.FIRING)])
    world.run_until(9)
    assert world.posts() == []
    world.clock.advance(MIN)  # the silence has ended

    def carol_resolves() -> None:
        done = resolve_manually(world.incidents["toyota"], "carol", world.clock.now())
        world.incidents["toyota"] = done.incident
        world.dispatcher.apply_action(done, world.clock.now())

    store.then = carol_resolves
    world.tick()
    world.run_until(60)
    assert not store.incident("toyota-1").is_open
    assert world.top("#intel") == [] and world.posts() == []

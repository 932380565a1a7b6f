"""Slack delivery through the outbox with the real slack-sdk against the local fake Slack Web API:
a recall incident's whole life in one thread, 429 bursts, and exactly-once posting across a process
killed (SIGKILL) or crashing between sending and recording."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from service.config import parse_config
from service.domain import Alert, AlertState, Bucket, Exemplar, Incident, Severity
from service.incidents import acknowledge, snooze
from service.notify.outbox import Dispatcher
from service.notify.slack import SlackNotifier
from service.store.base import Store
from service.store.sqlite import SQLiteStore
from tests.fakeslack import TOKEN, FakeSlack, fake_slack_fixture  # noqa: F401  (the fake_slack fixture)

ROOT = Path(__file__).resolve().parents[1]
T0 = datetime(2010, 1, 21, 19, 0, tzinfo=UTC)
MIN = timedelta(minutes=1)
CONFIG = """\
version: 1
brands:
  toyota: {query: toyota, team: intel}
teams:
  intel: {slack_channel: "#veille-concurrence", mention: "<!subteam^S0INTEL>"}
route:
  team: intel
"""
HOSTILE = "<!channel> Toyota recall: brakes failed <@U024BE7LH> *urgent* <https://evil.example|click here>"


def incident(severity: Severity = Severity.WARNING, events: int = 1, minutes: int = 0) -> Incident:
    at = T0 + minutes * MIN
    return Incident(id="toyota-20100121T1900Z", brand="toyota", opened_at=T0, updated_at=at, last_anomalous_at=at,
                    severity=severity, peak_severity=severity, crisis_type="product_recall", resemblance=0.8,
                    volume=90, peak_volume=90, negative_share=0.6, expected_volume=12.0,
                    baseline_negative_share=0.2, events=events)


def alert(seq: int, state: AlertState, minutes: int, severity: Severity = Severity.WARNING) -> Alert:
    return Alert(at=T0 + minutes * MIN, brand="toyota", incident_id="toyota-20100121T1900Z", state=state,
                 severity=severity, crisis_type="product_recall", resemblance=0.8, volume=90 * seq,
                 negative_share=0.6, summary=f"toyota event {seq}: {HOSTILE}", expected_volume=12.0,
                 baseline_negative_share=0.2, sequence=seq, opened_at=T0,
                 top_mentions=(Exemplar(brand="toyota", mention_id="m1", published_at=T0, text=HOSTILE,
                                        negativity=0.9, kind="social", source="twitter"),))


def seeded_store(path: str = ":memory:") -> SQLiteStore:
    """A store with a day of toyota buckets (a spike from T0) and a few negative mentions."""
    store = SQLiteStore(path)
    deltas = []
    for step in range(-12 * 12, 6):
        start = T0 + 5 * step * MIN
        spike = step >= 0
        deltas.append(Bucket(brand="toyota", start=start, count=60 if spike else 4, negative=40 if spike else 1))
    store.add_to_buckets(deltas)
    store.add_exemplars([Exemplar(brand="toyota", mention_id=f"m{i}", published_at=T0 + i * MIN,
                                  text=text, negativity=0.9) for i, text in enumerate(
        [HOSTILE, "Toyota recall of accelerator pedals", "pedal recall: dealers overwhelmed",
         "NHTSA opens probe into Toyota pedals"])], 5)
    return store


def slack(fake: FakeSlack) -> SlackNotifier:
    return SlackNotifier(token=TOKEN, webhook_url=None, base_url=fake.api_url, timeout=3)


def test_recall_lifecycle_is_one_living_thread(fake_slack: FakeSlack) -> None:
    store = seeded_store()
    dispatcher = Dispatcher(parse_config(CONFIG), store, {"slack": slack(fake_slack)})
    steps = [(0, incident(), alert(1, AlertState.FIRING, 0)),
             (10, incident(Severity.CRITICAL, 2, 10), alert(2, AlertState.ESCALATED, 10, Severity.CRITICAL)),
             (20, incident(Severity.CRITICAL, 3, 20), alert(3, AlertState.UPDATED, 20, Severity.CRITICAL))]
    for minutes, state, event in steps:
        store.save_incident(state)
        dispatcher.dispatch([event], T0 + minutes * MIN)
        assert dispatcher.deliver_due(T0 + minutes * MIN).delivered == 1
    current = store.incident("toyota-20100121T1900Z")
    assert current is not None
    dispatcher.apply_action(acknowledge(current, "alice", T0 + 25 * MIN), T0 + 25 * MIN)
    dispatcher.deliver_due(T0 + 25 * MIN)
    resolved = replace(store.incident(current.id), state=AlertState.RESOLVED, resolved_at=T0 + 200 * MIN, events=5)
    store.save_incident(resolved)
    dispatcher.dispatch([alert(5, AlertState.RESOLVED, 200, Severity.CRITICAL)], T0 + 200 * MIN)
    dispatcher.deliver_due(T0 + 200 * MIN)

    channel = fake_slack.channel_id("#veille-concurrence")
    [top] = fake_slack.top_level(channel)  # exactly one message for the incident
    assert top.edits == 4  # escalated, updated, acknowledged, resolved
    assert top.metadata["event_payload"]["incident_id"] == "toyota-20100121T1900Z"
    replies = [r.text or "" for r in fake_slack.thread(channel, top.ts)]
    assert len(replies) == 4
    assert "critical escalated" in replies[0] and "<!subteam^S0INTEL>" in replies[0]  # the escalation pings
    assert "event 3" in replies[1] and "Acknowledged by alice" in replies[2] and "resolved" in replies[3]
    final = json.dumps(top.blocks, ensure_ascii=False)
    assert "Acknowledged by alice" in final and '"actions"' not in final  # a resolved message has no buttons
    updates = fake_slack.calls_to("chat.update")
    acked = json.dumps(updates[2].body, ensure_ascii=False)
    assert "incident_acknowledge" in acked and "Acknowledged ✓" in acked and "incident_resolve" in acked
    assert "*Top terms* recall · pedal" in json.dumps(updates[0].body, ensure_ascii=False)
    charts = list(fake_slack.files.values())
    assert len(charts) == 2  # firing and escalation, uploaded into the thread
    assert all(f["data"][:8] == b"\x89PNG\r\n\x1a\n" and f["thread_ts"] == top.ts and f["channel"] == channel
               for f in charts)
    every_call = json.dumps([call.body for call in fake_slack.calls])
    for raw in ("<!channel>", "<@U024BE7LH>", "<https://evil.example|click here>"):
        assert raw not in every_call  # hostile mention texts are inert everywhere
    assert store.outbox_pending() == []


def test_snoozed_incident_is_quiet_except_escalation(fake_slack: FakeSlack) -> None:
    store = seeded_store()
    dispatcher = Dispatcher(parse_config(CONFIG), store, {"slack": slack(fake_slack)})
    store.save_incident(incident())
    dispatcher.dispatch([alert(1, AlertState.FIRING, 0)], T0)
    dispatcher.deliver_due(T0)
    dispatcher.apply_action(snooze(store.incident("toyota-20100121T1900Z"), "<!here> bob", T0 + 61 * MIN,
                                   now=T0 + MIN), T0 + MIN)
    store.save_incident(incident(events=3, minutes=5))
    dispatcher.dispatch([alert(3, AlertState.UPDATED, 5)], T0 + 5 * MIN)
    dispatcher.deliver_due(T0 + 5 * MIN)
    channel = fake_slack.channel_id("#veille-concurrence")
    [top] = fake_slack.top_level(channel)
    texts = [r.text or "" for r in fake_slack.thread(channel, top.ts)]
    assert len(texts) == 1 and "Snoozed" in texts[0]  # the update during the snooze was not sent
    assert "Snoozed until" in json.dumps(top.blocks, ensure_ascii=False)
    assert "<!here>" not in json.dumps([c.body for c in fake_slack.calls])
    store.save_incident(incident(Severity.CRITICAL, 4, 6))
    dispatcher.dispatch([alert(4, AlertState.ESCALATED, 6, Severity.CRITICAL)], T0 + 6 * MIN)
    dispatcher.deliver_due(T0 + 6 * MIN)
    assert len(fake_slack.thread(channel, top.ts)) == 2


def test_bursts_of_429_honour_retry_after_and_deliver_once_in_order(fake_slack: FakeSlack) -> None:
    store = seeded_store()
    dispatcher = Dispatcher(parse_config(CONFIG), store, {"slack": slack(fake_slack)})
    store.save_incident(incident())
    fake_slack.rate_limit(times=3, retry_after=20)
    events = [alert(1, AlertState.FIRING, 0), alert(2, AlertState.UPDATED, 0), alert(3, AlertState.UPDATED, 0)]
    dispatcher.dispatch(events, T0)
    attempts: list[int] = []
    for second in range(0, 121, 5):
        before = len(fake_slack.calls)
        dispatcher.deliver_due(T0 + timedelta(seconds=second))
        if len(fake_slack.calls) > before:
            attempts.append(second)
            if fake_slack.calls[-1].status == 429:
                [head] = [i for i in store.outbox_pending() if i.seq == 1]
                assert head.next_attempt_at >= T0 + timedelta(seconds=second + 20)  # Retry-After honoured
    assert attempts[:3] == [0, 20, 40] and 60 <= attempts[3] <= 70  # never earlier than Slack asked
    assert store.outbox_pending() == []
    channel = fake_slack.channel_id("#veille-concurrence")
    [top] = fake_slack.top_level(channel)
    assert ["event 2" in (r.text or "") for r in fake_slack.thread(channel, top.ts)] == [True, False]
    assert len([c for c in fake_slack.calls_to("chat.postMessage") if not c.body.get("thread_ts")]) == 1


class Killed(BaseException):
    """Stands for the process dying (not an Exception: nothing catches it)."""


class CrashingStore:
    """A store that dies right after Slack answered and before the answer is recorded, once per
    armed name (``"ref"``: before the thread reference; an outbox key: before marking it delivered)."""

    def __init__(self, inner: Store, crash_on: set[str]) -> None:
        self.inner, self.crash_on = inner, crash_on

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    def set_ref(self, name: str, value: str) -> None:
        if name.startswith("thread:") and "ref" in self.crash_on:
            self.crash_on.discard("ref")
            raise Killed(name)
        self.inner.set_ref(name, value)

    def outbox_delivered(self, key: str, at: datetime) -> None:
        if key in self.crash_on:
            self.crash_on.discard(key)
            raise Killed(key)
        self.inner.outbox_delivered(key, at)


@pytest.fixture(params=["sqlite", "redis"])
def reopenable(request: pytest.FixtureRequest, tmp_path: Path) -> Callable[[], Store]:
    """Opens the same persistent store again, as a restarted process would."""
    if request.param == "sqlite":
        path = str(tmp_path / "store.db")
        return lambda: SQLiteStore(path)
    from service.store.redis import RedisStore

    url = request.getfixturevalue("clean_redis_url")
    return lambda: RedisStore(url)


def test_crash_between_send_and_record_never_posts_twice(fake_slack: FakeSlack,
                                                          reopenable: Callable[[], Store]) -> None:
    config = parse_config(CONFIG)
    second_key = "toyota-20100121T1900Z#2->intel/slack"
    for crash in ("ref", second_key):
        store = CrashingStore(reopenable(), {crash})
        if crash == "ref":
            store.save_incident(incident())
            Dispatcher(config, store, {"slack": slack(fake_slack)}).dispatch([alert(1, AlertState.FIRING, 0)], T0)
        else:
            store.save_incident(incident(events=2, minutes=5))
            Dispatcher(config, store, {"slack": slack(fake_slack)}).dispatch([alert(2, AlertState.UPDATED, 5)],
                                                                           T0 + 5 * MIN)
        with pytest.raises(Killed):
            Dispatcher(config, store, {"slack": slack(fake_slack)}).deliver_due(T0 + 5 * MIN)
        store.close()
        reopened = reopenable()  # a new process: fresh notifier, fresh caches
        report = Dispatcher(config, reopened, {"slack": slack(fake_slack)}).deliver_due(T0 + 6 * MIN)
        assert report.delivered == 1 and reopened.outbox_pending() == []
        reopened.close()
    channel = fake_slack.channel_id("#veille-concurrence")
    [top] = fake_slack.top_level(channel)  # the first message was found again, not reposted
    assert len(fake_slack.thread(channel, top.ts)) == 1  # the reply was not reposted
    # the sent:<key> ref recorded right after Slack answered settles both: no look-up, no second call
    assert fake_slack.calls_to("conversations.history") == fake_slack.calls_to("conversations.replies") == []
    assert top.edits == 1 and len(fake_slack.calls_to("chat.postMessage")) == 2
    final = reopenable()
    assert final.get_ref("thread:toyota-20100121T1900Z:intel/slack") == f"{channel}:{top.ts}"
    final.close()


def test_a_store_error_after_the_first_post_neither_reposts_nor_pings_again(fake_slack: FakeSlack,
                                                                            reopenable: Callable[[], Store]) -> None:
    config = parse_config(CONFIG)  # review finding 4 (p_crash_first): an update with a second ping followed
    first_key = "toyota-20100121T1900Z#1->intel/slack"
    store = CrashingStore(reopenable(), {first_key})
    store.save_incident(incident(Severity.CRITICAL))
    Dispatcher(config, store, {"slack": slack(fake_slack)}).dispatch([alert(1, AlertState.FIRING, 0,
                                                                            Severity.CRITICAL)], T0)
    with pytest.raises(Killed):
        Dispatcher(config, store, {"slack": slack(fake_slack)}).deliver_due(T0)
    store.close()
    reopened = reopenable()
    report = Dispatcher(config, reopened, {"slack": slack(fake_slack)}).deliver_due(T0 + MIN)
    assert (report.delivered, report.failed, reopened.outbox_pending()) == (1, 0, [])
    channel = fake_slack.channel_id("#veille-concurrence")
    [top] = fake_slack.top_level(channel)
    assert top.edits == 0 and fake_slack.thread(channel, top.ts) == []
    assert [c.method for c in fake_slack.calls if c.method.startswith("chat.")] == ["chat.postMessage"]
    assert reopened.get_ref("thread:toyota-20100121T1900Z:intel/slack") == f"{channel}:{top.ts}"
    reopened.close()


CHILD = """
import os, signal, sys
from datetime import datetime
from service.config import parse_config
from service.notify.outbox import Dispatcher
from service.notify.slack import SlackNotifier
from service.store.sqlite import SQLiteStore

class KilledAfterSending(SlackNotifier):
    def deliver(self, delivery, **options):
        super().deliver(delivery, **options)
        os.kill(os.getpid(), signal.SIGKILL)  # Slack has the message; nothing recorded it

config_text, path, api_url, now = sys.argv[1:]
notifier = KilledAfterSending(token="TOKEN_HERE", webhook_url=None, base_url=api_url, timeout=3)
Dispatcher(parse_config(config_text), SQLiteStore(path), {"slack": notifier}).deliver_due(datetime.fromisoformat(now))
""".replace("TOKEN_HERE", TOKEN)


def test_process_killed_mid_incident_posts_no_duplicate(fake_slack: FakeSlack, tmp_path: Path) -> None:
    path = str(tmp_path / "store.db")
    store = seeded_store(path)
    store.save_incident(incident())
    Dispatcher(parse_config(CONFIG), store, {"slack": slack(fake_slack)}).dispatch(
        [alert(1, AlertState.FIRING, 0)], T0)
    store.close()
    child = subprocess.run([sys.executable, "-c", CHILD, CONFIG, path, fake_slack.api_url, T0.isoformat()],
                           cwd=ROOT, capture_output=True, timeout=60)
    assert child.returncode == -signal.SIGKILL, child.stderr.decode()[-2000:]
    assert len(fake_slack.top_level()) == 1  # the child did post before it died
    store = SQLiteStore(path)
    assert len(store.outbox_pending()) == 1  # ... and recorded nothing
    dispatcher = Dispatcher(parse_config(CONFIG), store, {"slack": slack(fake_slack)})
    assert dispatcher.deliver_due(T0 + MIN).delivered == 1
    store.save_incident(incident(Severity.CRITICAL, 2, 5))
    dispatcher.dispatch([alert(2, AlertState.ESCALATED, 5, Severity.CRITICAL)], T0 + 5 * MIN)
    assert dispatcher.deliver_due(T0 + 5 * MIN).delivered == 1
    [top] = fake_slack.top_level()
    assert top.edits == 2 and len(fake_slack.thread(top.channel, top.ts)) == 1
    store.close()


def test_lookup_failures_retry_when_transient_and_post_when_permanent(fake_slack: FakeSlack, caplog) -> None:
    from service.notify.base import DeliveryError, Target
    from service.notify.delivery import Delivery

    target = Target(receiver="intel", channel="#veille-concurrence")
    first = slack(fake_slack).deliver(Delivery(alert=alert(1, AlertState.FIRING, 0), target=target, thread_ref=None))
    assert first is not None
    retry = Delivery(alert=alert(1, AlertState.FIRING, 0), target=target, thread_ref=None, maybe_sent=True)
    fake_slack.fail(times=1, status=503, method="conversations.history")
    with pytest.raises(DeliveryError) as caught:
        slack(fake_slack).deliver(retry)
    assert caught.value.retryable and len(fake_slack.top_level()) == 1  # nothing posted: try again later
    assert slack(fake_slack).deliver(retry) == first  # found again: same message
    fake_slack.error("missing_scope", method="conversations.list")
    other = Delivery(alert=replace(alert(1, AlertState.FIRING, 0), incident_id="other-1"), target=target,
                     thread_ref=None, maybe_sent=True)
    assert slack(fake_slack).deliver(other) != first  # cannot look: posts (at-least-once) and says so
    assert len(fake_slack.top_level()) == 2
    [said] = [r for r in caplog.records if "incident other-1 already reached Slack" in r.getMessage()]
    assert said.levelname == "ERROR" and "channels:read" in said.getMessage()


def test_a_deleted_message_is_reposted_once_even_when_slack_answer_is_lost(fake_slack: FakeSlack) -> None:
    config = parse_config(CONFIG)  # review finding 6 (p_gone): the re-post was posted a second time
    store = SQLiteStore(":memory:")
    store.save_incident(incident())
    notifier = SlackNotifier(token=TOKEN, webhook_url=None, base_url=fake_slack.api_url, timeout=0.5)
    dispatcher = Dispatcher(config, store, {"slack": notifier})
    dispatcher.dispatch([alert(1, AlertState.FIRING, 0)], T0)
    assert dispatcher.deliver_due(T0).delivered == 1
    fake_slack.messages.clear()  # someone deleted the incident's message in Slack
    store.save_incident(incident(events=2, minutes=10))
    dispatcher.dispatch([alert(2, AlertState.ESCALATED, 10, Severity.CRITICAL)], T0 + 10 * MIN)
    fake_slack.stall(1.0, method="chat.postMessage")  # Slack posts it, the answer comes after our timeout
    assert dispatcher.deliver_due(T0 + 10 * MIN).failed == 1
    time.sleep(0.8)
    assert dispatcher.deliver_due(T0 + 11 * MIN).delivered == 1
    channel = fake_slack.channel_id("#veille-concurrence")
    [top] = fake_slack.top_level(channel)
    assert store.get_ref("thread:toyota-20100121T1900Z:intel/slack") == f"{channel}:{top.ts}"

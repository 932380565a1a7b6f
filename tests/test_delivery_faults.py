"""Delivery when things fail half-way: a store error while recording, a crash between sending and
marking delivered, a receiver's absurd ``Retry-After``, a notifier that raises what it should not
(real SQLite store; Slack through the real slack-sdk against tests/fakeslack.py)."""

from __future__ import annotations

import io
import threading
from collections.abc import Iterable
from dataclasses import replace
from datetime import timedelta

import httpx
import pytest

from service.config import parse_config
from service.domain import AlertState, Severity
from service.notify import gather
from service.notify.base import MAX_RETRY_AFTER
from service.notify.console import ConsoleNotifier
from service.notify.decide import LineLog
from service.notify.delivery import Delivery
from service.notify.outbox import PERMANENT_RETRY, Dispatcher
from service.notify.slack import SlackNotifier
from service.notify.webhook import WebhookNotifier
from service.store.base import OutboxItem, StoreError
from service.store.sqlite import SQLiteStore
from tests.fakeslack import FakeSlack, fake_slack_fixture  # noqa: F401  (fixture)
from tests.test_notify_dispatch import MIN, Recorder
from tests.test_notify_dispatch import T0 as DT0
from tests.test_notify_dispatch import alert as dispatch_alert
from tests.test_outbox import CONFIG, T0, alert


class EnqueueFailsOnce(SQLiteStore):
    """A real SQLite store whose first outbox write fails like a lost connection."""

    failures = 1

    def outbox_enqueue(self, items: Iterable[OutboxItem]) -> int:
        items = list(items)
        if self.failures and items:
            self.failures -= 1
            raise StoreError("connection reset (transient)")
        return super().outbox_enqueue(items)


def test_a_failed_enqueue_leaves_the_line_untold_and_a_retry_notifies() -> None:
    store = EnqueueFailsOnce(":memory:")
    stream = io.StringIO()
    dispatcher = Dispatcher(parse_config(CONFIG), store, {"console": ConsoleNotifier(stream)})
    first = alert(1, AlertState.FIRING)
    with pytest.raises(StoreError):
        dispatcher.dispatch([first], T0)
    assert gather.load_line(store, first.incident_id, "intel/console") == LineLog()  # nobody marked as told
    assert gather.load_line(store, first.incident_id, "desk/console") == LineLog()
    assert dispatcher.dispatch([first], T0 + timedelta(seconds=30)) == 2  # the caller's retry records it
    assert dispatcher.deliver_due(T0 + timedelta(seconds=30)).delivered == 2
    assert gather.load_line(store, first.incident_id, "intel/console").last_at == T0 + timedelta(seconds=30)
    assert sorted(line.split("]")[0] for line in stream.getvalue().splitlines()) == ["[alert -> desk",
                                                                                      "[alert -> intel"]


HOOKS = """\
version: 1
brands:
  toyota: {query: toyota, team: ops}
  peugeot: {query: peugeot, team: comms}
teams:
  ops: {webhook: {url: "https://hooks.example/x"}}
  comms: {slack_channel: "#comms"}
route:
  team: ops
  routes:
    - match: {brand: peugeot}
      team: comms
"""


def rate_limited_webhook(retry_after: str) -> tuple[WebhookNotifier, list[httpx.Request]]:
    requests: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        requests.append(request)
        return httpx.Response(429, headers={"Retry-After": retry_after})

    config = parse_config(HOOKS)
    hooks = {"ops": config.teams["ops"].webhook}
    return WebhookNotifier(hooks, client=httpx.Client(transport=httpx.MockTransport(answer))), requests  # type: ignore[dict-item]


@pytest.mark.parametrize("retry_after", ["inf", "99999999999", "1e400"])
def test_an_absurd_retry_after_is_capped_and_stops_nothing(retry_after: str) -> None:
    webhook, requests = rate_limited_webhook(retry_after)
    recorder = Recorder()
    store = SQLiteStore(":memory:")
    dispatcher = Dispatcher(parse_config(HOOKS), store, {"webhook": webhook, "slack": recorder})
    dispatcher.dispatch([dispatch_alert("toyota", 1, AlertState.FIRING, 0)], DT0)
    dispatcher.dispatch([dispatch_alert("peugeot", 1, AlertState.FIRING, 0)], DT0 + MIN)
    report = dispatcher.deliver_due(DT0 + MIN)
    assert (report.delivered, report.failed) == (1, 1)
    assert recorder.lines() == ["+0m comms peugeot-1#1 firing/warning"]
    [waiting] = store.outbox_pending()
    assert waiting.receiver == "ops/webhook" and waiting.attempts == 1
    assert waiting.next_attempt_at == DT0 + MIN + timedelta(seconds=MAX_RETRY_AFTER)  # capped at one hour
    assert dispatcher.deliver_due(DT0 + MIN + timedelta(minutes=59)).failed == 0 and len(requests) == 1
    assert dispatcher.deliver_due(DT0 + MIN + timedelta(hours=1)).failed == 1 and len(requests) == 2


def test_slack_retry_after_inf_is_capped(fake_slack: FakeSlack) -> None:
    slack = SlackNotifier(token=fake_slack.token, webhook_url=None, base_url=fake_slack.api_url, timeout=2)
    store = SQLiteStore(":memory:")
    dispatcher = Dispatcher(parse_config(CONFIG), store, {"slack": slack})
    fake_slack.rate_limit(times=1, retry_after="inf")
    dispatcher.dispatch([alert(1, AlertState.FIRING)], T0)
    report = dispatcher.deliver_due(T0)
    assert (report.delivered, report.failed) == (1, 1)  # the other team's message went out
    [waiting] = store.outbox_pending()
    assert waiting.next_attempt_at == T0 + timedelta(hours=1)
    assert dispatcher.deliver_due(T0 + timedelta(hours=1)).delivered == 1


class Broken(Recorder):
    """A notifier that breaks its contract (raises something other than DeliveryError) for one team."""

    def deliver(self, delivery: Delivery) -> str | None:
        if delivery.target.receiver == "intel":
            raise ValueError("a bug in the notifier")
        return super().deliver(delivery)


def test_a_notifier_raising_anything_else_fails_that_item_only() -> None:
    store = SQLiteStore(":memory:")
    recorder = Broken()
    dispatcher = Dispatcher(parse_config(CONFIG), store, {"slack": recorder})
    assert dispatcher.dispatch([alert(1, AlertState.FIRING)], T0) == 2
    report = dispatcher.deliver_due(T0)
    assert (report.delivered, report.failed) == (1, 1)
    assert [line.split()[1] for line in recorder.lines()] == ["desk"]
    [failed] = store.outbox_pending()
    assert (failed.receiver, failed.attempts, failed.last_error) == ("intel/slack", 1, "unexpected ValueError")
    assert failed.next_attempt_at == T0 + PERMANENT_RETRY  # needs an operator: the slow pace


def test_items_of_a_notifier_this_process_lacks_do_not_starve_the_others() -> None:
    store = SQLiteStore(":memory:")  # review finding 17: 100 such heads filled the due query's limit
    config = parse_config(CONFIG)
    elsewhere = Dispatcher(config, store, {"pager": Recorder(name="pager")})
    assert elsewhere.receivers(config.teams["desk"]) == ["pager"]
    foreign = [replace(alert(1, AlertState.FIRING), incident_id=f"other-{n}") for n in range(5)]
    assert elsewhere.dispatch(foreign, T0) == 10
    recorder = Recorder()
    here = Dispatcher(config, store, {"slack": recorder})
    here.dispatch([alert(1, AlertState.FIRING)], T0 + timedelta(seconds=1))
    report = here.deliver_due(T0 + timedelta(seconds=1), limit=3)
    assert report.delivered == 2 and len(recorder.sent) == 2
    assert len(store.outbox_pending()) == 10  # the pager's items stay for a process that has it


class Blocking(Recorder):
    """A notifier that holds its first delivery until released (a slow Slack during a reload)."""

    def __init__(self) -> None:
        super().__init__()
        self.entered, self.release = threading.Event(), threading.Event()

    def deliver(self, delivery: Delivery) -> str | None:
        self.entered.set()
        assert self.release.wait(10)
        return super().deliver(delivery)


def test_dispatchers_sharing_a_delivery_lock_never_send_the_same_item_twice() -> None:
    store = SQLiteStore(":memory:")
    config = parse_config(CONFIG)
    lock = threading.Lock()  # review finding 7: a reload built a new dispatcher while the old one delivered
    old_slack, new_slack = Blocking(), Recorder()
    old = Dispatcher(config, store, {"slack": old_slack}, delivery_lock=lock)
    new = Dispatcher(config, store, {"slack": new_slack}, delivery_lock=lock)
    old.dispatch([replace(alert(1, AlertState.FIRING, Severity.WARNING), incident_id="solo")], T0)
    worker = threading.Thread(target=old.deliver_due, args=(T0,))
    worker.start()
    assert old_slack.entered.wait(10)
    assert new.deliver_due(T0).delivered == 0  # the old pass still holds the lock: nothing sent twice
    old_slack.release.set()
    worker.join(10)
    assert new.deliver_due(T0).delivered == 0 and store.outbox_pending() == []
    assert len(old_slack.sent) == 1 and new_slack.sent == []


def test_an_escalation_does_not_hasten_an_item_waiting_out_retry_after() -> None:
    requests: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        requests.append(request)
        return httpx.Response(429, headers={"Retry-After": "600"}) if len(requests) == 1 else httpx.Response(200)

    config = parse_config(HOOKS)
    webhook = WebhookNotifier({"ops": config.teams["ops"].webhook},  # type: ignore[dict-item]
                              client=httpx.Client(transport=httpx.MockTransport(answer)))
    store = SQLiteStore(":memory:")
    dispatcher = Dispatcher(config, store, {"webhook": webhook})
    dispatcher.dispatch([dispatch_alert("toyota", 1, AlertState.FIRING, 0)], DT0)
    assert dispatcher.deliver_due(DT0).failed == 1  # told to come back in 10 minutes
    escalation = dispatch_alert("toyota", 2, AlertState.ESCALATED, 2, Severity.CRITICAL)
    assert dispatcher.dispatch([escalation], DT0 + 2 * MIN) == 1
    for minute in range(2, 10):
        dispatcher.deliver_due(DT0 + minute * MIN)
    assert len(requests) == 1  # the receiver's Retry-After is honoured, escalation or not
    report = dispatcher.deliver_due(DT0 + 10 * MIN)
    assert report.delivered == 2 and len(requests) == 3  # then both, in order
    assert [r.read().count(b"critical") > 0 for r in requests[1:]] == [False, True]

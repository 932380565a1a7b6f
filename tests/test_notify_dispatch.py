"""The dispatcher on a simulated clock: group wait and interval, quiet hours, silences, inhibition,
snooze and people's actions, reminders, overdue accounting (real SQLite store, a recording notifier)."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta

from service.config import parse_config
from service.domain import Alert, AlertState, Incident, Severity
from service.incidents import acknowledge, resolve_manually, snooze
from service.notify.base import DeliveryError, Target
from service.notify.context import AlertContext
from service.notify.delivery import Delivery
from service.notify.outbox import Dispatcher
from service.store.base import Matcher, Silence
from service.store.sqlite import SQLiteStore

T0 = datetime(2010, 1, 21, 14, 0, tzinfo=UTC)  # 15:00 in Paris
MIN = timedelta(minutes=1)

CONFIG = """\
version: 1
brands:
  toyota: {query: toyota, team: intel}
  volkswagen: {query: volkswagen, team: intel}
  peugeot: {query: peugeot, team: comms}
teams:
  intel: {slack_channel: "#intel"}
  comms: {slack_channel: "#comms"}
  night: {slack_channel: "#night"}
route:
  team: intel
  group_interval: 5m
  routes:
    - match: {brand: peugeot}
      team: comms
      group_wait: 2m
      repeat_interval: 4h
    - match: {brand: volkswagen, severity: [warning, critical]}
      team: night
      quiet_hours: {from: "14:30", to: "18:00", timezone: Europe/Paris, except_critical: true}
inhibit:
  - source: {severity: critical}
    target: {severity: [warning, info]}
    equal: [team]
notify:
  overdue_after: 10m
"""


@dataclass
class Recorder:
    """A notifier that records what it is given (and can be told to fail)."""

    name: str = "slack"
    sent: list[tuple[datetime, str, str, AlertContext]] = field(default_factory=list)
    clock: list[datetime] = field(default_factory=lambda: [T0])
    failing: bool = False

    def send(self, alert: Alert, target: Target, thread_ref: str | None) -> str | None:
        raise AssertionError("the dispatcher uses deliver()")

    def deliver(self, delivery: Delivery) -> str | None:
        if self.failing:
            raise DeliveryError("Slack unreachable", retryable=True)
        alert = delivery.alert
        self.sent.append((self.clock[0], delivery.target.receiver, f"{alert.incident_id}#{alert.sequence} "
                          f"{alert.state}/{alert.severity}", delivery.context))
        return "C1:1.0"

    def lines(self) -> list[str]:
        return [f"+{int((at - T0) / MIN)}m {receiver} {what}" for at, receiver, what, _ in self.sent]


def setup() -> tuple[Dispatcher, SQLiteStore, Recorder]:
    store = SQLiteStore(":memory:")
    recorder = Recorder()
    return Dispatcher(parse_config(CONFIG), store, {"slack": recorder}), store, recorder


def incident(brand: str, severity: Severity = Severity.WARNING, minutes: int = 0, events: int = 1) -> Incident:
    at = T0 + minutes * MIN
    return Incident(id=f"{brand}-1", brand=brand, opened_at=T0, updated_at=at, last_anomalous_at=at,
                    severity=severity, peak_severity=severity, crisis_type="product_recall", resemblance=0.8,
                    volume=100, peak_volume=100, negative_share=0.6, events=events)


def alert(brand: str, seq: int, state: AlertState, minutes: int, severity: Severity = Severity.WARNING) -> Alert:
    return Alert(at=T0 + minutes * MIN, brand=brand, incident_id=f"{brand}-1", state=state, severity=severity,
                 crisis_type="product_recall", resemblance=0.8, volume=100 * seq, negative_share=0.6,
                 summary=f"{brand} event {seq}", sequence=seq, opened_at=T0)


def run(dispatcher: Dispatcher, recorder: Recorder, events: dict[int, list[Alert]], until: int,
        store: SQLiteStore | None = None) -> None:
    """Minute by minute: save incidents, dispatch that minute's alerts, deliver what is due."""
    for minute in range(until + 1):
        now = T0 + minute * MIN
        recorder.clock[0] = now
        for event in events.get(minute, []):
            if store is not None:
                store.save_incident(incident(event.brand, event.severity, minute, event.sequence))
            dispatcher.dispatch([event], now)
        dispatcher.deliver_due(now)


def test_group_interval_coalesces_routine_updates_but_not_escalations() -> None:
    dispatcher, store, recorder = setup()
    w, c = Severity.WARNING, Severity.CRITICAL
    run(dispatcher, recorder, {
        0: [alert("toyota", 1, AlertState.FIRING, 0)],
        1: [alert("toyota", 2, AlertState.UPDATED, 1)],
        2: [alert("toyota", 3, AlertState.UPDATED, 2)],
        3: [alert("toyota", 4, AlertState.UPDATED, 3)],
        9: [alert("toyota", 5, AlertState.ESCALATED, 9, c)],
        10: [alert("toyota", 6, AlertState.UPDATED, 10, c)],
        20: [alert("toyota", 7, AlertState.RESOLVED, 20, c)],
    }, 30)
    assert recorder.lines() == [
        "+0m intel toyota-1#1 firing/warning",
        "+5m intel toyota-1#4 updated/warning",  # updates 2 and 3 superseded by 4 at the group interval
        "+9m intel toyota-1#5 escalated/critical",  # escalations do not wait
        "+14m intel toyota-1#6 updated/critical",  # 5 minutes after the escalation
        "+20m intel toyota-1#7 resolved/critical",
    ]
    assert store.outbox_pending() == []
    assert w is Severity.WARNING


def test_an_escalation_during_group_wait_goes_now_after_the_first_message() -> None:
    dispatcher, _, recorder = setup()
    run(dispatcher, recorder, {0: [alert("peugeot", 1, AlertState.FIRING, 0)],
                               1: [alert("peugeot", 2, AlertState.ESCALATED, 1, Severity.CRITICAL)]}, 5)
    assert recorder.lines() == ["+1m comms peugeot-1#1 firing/warning", "+1m comms peugeot-1#2 escalated/critical"]


def test_an_escalation_is_not_held_behind_an_update_waiting_its_group_interval() -> None:
    dispatcher, store, recorder = setup()  # review finding 2 (p_gi): the escalation was delivered at +5m
    run(dispatcher, recorder, {0: [alert("toyota", 1, AlertState.FIRING, 0)],
                               1: [alert("toyota", 2, AlertState.UPDATED, 1)],
                               2: [alert("toyota", 3, AlertState.ESCALATED, 2, Severity.CRITICAL)],
                               3: [alert("toyota", 4, AlertState.UPDATED, 3, Severity.CRITICAL)]}, 10)
    # the update #2 came due with #3 and was coalesced into it; #4 waits the interval after #3
    assert recorder.lines() == ["+0m intel toyota-1#1 firing/warning", "+2m intel toyota-1#3 escalated/critical",
                                "+7m intel toyota-1#4 updated/critical"]
    assert store.outbox_pending() == []


def test_a_critical_in_quiet_hours_goes_now_with_the_held_warning() -> None:
    dispatcher, store, recorder = setup()  # review finding 2 (p_quiet): both were delivered at +180m
    run(dispatcher, recorder, {0: [alert("volkswagen", 1, AlertState.FIRING, 0)],
                               10: [alert("volkswagen", 2, AlertState.ESCALATED, 10, Severity.CRITICAL)],
                               20: [alert("volkswagen", 3, AlertState.UPDATED, 20)]}, 200)
    night = [line for line in recorder.lines() if " night " in line]
    assert night == ["+10m night volkswagen-1#1 firing/warning", "+10m night volkswagen-1#2 escalated/critical",
                     "+180m night volkswagen-1#3 updated/warning"]
    assert store.outbox_pending() == []


def test_quiet_hours_delay_warnings_not_critical() -> None:
    dispatcher, _, recorder = setup()
    # 14:30-18:00 Paris = 13:30-17:00 UTC: T0 (14:00 UTC) is quiet for the night team until 17:00 UTC
    run(dispatcher, recorder, {0: [alert("volkswagen", 1, AlertState.FIRING, 0)]}, 200)
    assert recorder.lines() == ["+180m night volkswagen-1#1 firing/warning"]
    dispatcher2, _, recorder2 = setup()
    run(dispatcher2, recorder2, {0: [alert("volkswagen", 1, AlertState.FIRING, 0, Severity.CRITICAL)]}, 3)
    assert recorder2.lines() == ["+0m night volkswagen-1#1 firing/critical"]


def test_silence_mutes_until_expired_then_first_notification(caplog) -> None:
    caplog.set_level("INFO", logger="crisiswatch.notify")
    dispatcher, store, recorder = setup()
    store.add_silence(Silence(id="s1", matchers=(Matcher(label="brand", value="toyota"),), starts_at=T0,
                              ends_at=T0 + 10 * MIN, created_by="alice", comment="known", created_at=T0))
    run(dispatcher, recorder, {0: [alert("toyota", 1, AlertState.FIRING, 0)],
                               5: [alert("toyota", 2, AlertState.UPDATED, 5)],
                               12: [alert("toyota", 3, AlertState.UPDATED, 12)]}, 15)
    assert recorder.lines() == ["+12m intel toyota-1#3 updated/warning"]  # first message once the silence ends
    assert "alert toyota-1#1 (warning firing) to intel/slack: drop silenced (silence s1 (brand=toyota))" in [
        r.getMessage() for r in caplog.records]  # every decision says why


def test_a_critical_incident_inhibits_the_warnings_of_its_team() -> None:
    dispatcher, store, recorder = setup()
    store.save_incident(incident("toyota", Severity.CRITICAL))
    run(dispatcher, recorder, {0: [alert("volkswagen", 1, AlertState.FIRING, 0)]}, 200, store)
    assert recorder.lines() == []  # muted by the open critical toyota incident (same team)
    store.save_incident(incident("peugeot", Severity.CRITICAL))
    dispatcher.dispatch([alert("peugeot", 1, AlertState.FIRING, 0, Severity.CRITICAL)], T0)
    assert len(store.outbox_pending()) == 1  # critical alerts are never inhibited


def test_actions_snooze_acknowledge_resolve() -> None:
    dispatcher, store, recorder = setup()
    current = incident("toyota")
    store.save_incident(current)
    run(dispatcher, recorder, {0: [alert("toyota", 1, AlertState.FIRING, 0)]}, 0)
    now = T0 + 2 * MIN
    recorder.clock[0] = now
    acted = snooze(current, "alice", now + timedelta(hours=1), now=now)
    assert dispatcher.apply_action(acted, now) == 1
    current = acted.incident
    assert current.events == 2 and current.acknowledged_by == "alice"
    dispatcher.deliver_due(now)
    _, _, what, context = recorder.sent[-1]
    assert what == "toyota-1#2 updated/warning" and context.action == "snoozed" and context.actor == "alice"
    assert context.snoozed_until == now + timedelta(hours=1) and context.acknowledged_by == "alice"
    # during the snooze: routine updates are dropped, an escalation to critical goes through
    store.save_incident(replace(current, events=4, severity=Severity.CRITICAL))  # as the pipeline would
    run(dispatcher, recorder, {10: [alert("toyota", 3, AlertState.UPDATED, 10)],
                               20: [alert("toyota", 4, AlertState.ESCALATED, 20, Severity.CRITICAL)]}, 25)
    assert recorder.lines()[2:] == ["+20m intel toyota-1#4 escalated/critical"]
    current = store.incident("toyota-1")
    assert current is not None and current.acknowledged_by == "alice"
    ack = acknowledge(current, "bob", T0 + 30 * MIN)
    dispatcher.apply_action(ack, T0 + 30 * MIN)
    done = resolve_manually(ack.incident, "carol", T0 + 40 * MIN)
    dispatcher.apply_action(done, T0 + 40 * MIN)
    dispatcher.deliver_due(T0 + 40 * MIN)
    assert [(c.action, c.actor, c.acknowledged_by) for *_, c in recorder.sent[-2:]] == [
        ("acknowledged", "bob", "alice"), ("resolved", "carol", "alice")]
    assert recorder.sent[-1][2] == "toyota-1#6 resolved/critical"
    stored = store.incident("toyota-1")
    assert stored is not None and not stored.is_open and stored.resolved_at == T0 + 40 * MIN


def test_reminder_after_repeat_interval_once() -> None:
    dispatcher, store, recorder = setup()
    store.save_incident(incident("peugeot"))
    dispatcher.dispatch([alert("peugeot", 1, AlertState.FIRING, 0)], T0)
    for minutes in (2, 60, 242, 243, 300):
        recorder.clock[0] = T0 + minutes * MIN
        dispatcher.remind(T0 + minutes * MIN)
        dispatcher.deliver_due(T0 + minutes * MIN)
    lines = recorder.lines()
    assert lines == ["+2m comms peugeot-1#1 firing/warning", "+242m comms peugeot-1#1 updated/warning"]
    assert recorder.sent[-1][3].action == "reminder"


def test_undelivered_alerts_are_counted_and_logged_loudly(caplog) -> None:
    dispatcher, _, recorder = setup()
    recorder.failing = True
    dispatcher.dispatch([alert("toyota", 1, AlertState.FIRING, 0), alert("toyota", 2, AlertState.UPDATED, 1)], T0)
    for minute in range(0, 31):
        dispatcher.deliver_due(T0 + minute * MIN)
    health = dispatcher.health(T0 + 30 * MIN)
    assert health.depth == 2 and health.oldest_age_seconds == 1800 and health.overdue == 2
    assert health.overdue_alarms == 1  # the head of the line (the other waits behind it)
    assert any("UNDELIVERED FOR" in r.getMessage() and r.levelname == "ERROR" for r in caplog.records)
    recorder.failing = False
    dispatcher.deliver_due(T0 + 60 * MIN)
    assert dispatcher.health(T0 + 60 * MIN).depth == 0


def test_two_threads_never_deliver_the_same_item() -> None:
    import threading

    dispatcher, _, recorder = setup()
    entered, release = threading.Event(), threading.Event()
    original = recorder.deliver

    def slow(delivery: Delivery) -> str | None:
        entered.set()
        release.wait(5)
        return original(delivery)

    recorder.deliver = slow  # type: ignore[method-assign]
    dispatcher.dispatch([alert("toyota", 1, AlertState.FIRING, 0)], T0)
    first = threading.Thread(target=dispatcher.deliver_due, args=(T0,))
    first.start()
    assert entered.wait(5)
    assert dispatcher.deliver_due(T0).delivered == 0  # the scheduler's other job: nothing sent twice
    release.set()
    first.join(5)
    assert recorder.lines() == ["+0m intel toyota-1#1 firing/warning"]

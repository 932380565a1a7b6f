"""Routing, grouping, inhibition, silences, snooze and quiet hours as table tests on the pure functions."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

import pytest

from service.config import InhibitRule, QuietHours, RouteConfig, RouteOptions, parse_config
from service.domain import AlertState, Severity
from service.notify.decide import Decision, Event, Kind, LineLog, Reason, decide, quiet_until, reminder_due
from service.notify.route import routes_for, teams_for
from service.notify.silence import MatcherError, inhibited_by, label_matches, parse_matcher, silenced_by
from service.store.base import Matcher, MatchOp, Silence

NOW = datetime(2010, 1, 21, 12, 0, tzinfo=UTC)  # 13:00 in Paris
MIN = timedelta(minutes=1)
W, C, INFO = Severity.WARNING, Severity.CRITICAL, Severity.INFO
FIRING, ESCALATED, UPDATED, RESOLVED = AlertState.FIRING, AlertState.ESCALATED, AlertState.UPDATED, AlertState.RESOLVED
GROUPED = RouteOptions(group_wait=30 * MIN / 60, group_interval=5 * MIN, repeat_interval=timedelta(hours=4))
NIGHT = QuietHours(start=time(22), end=time(7), timezone="Europe/Paris", except_critical=True)
LUNCH = QuietHours(start=time(12, 30), end=time(14), timezone="Europe/Paris", except_critical=False)
NEVER = LineLog()
SENT_2_MIN_AGO = LineLog(last_at=NOW - 2 * MIN)
SENT_1_H_AGO = LineLog(last_at=NOW - 60 * MIN)
PENDING_IN_3_MIN = LineLog(last_at=NOW + 3 * MIN)


def ev(state: AlertState, severity: Severity = W, kind: Kind = Kind.EVENT) -> Event:
    return Event(state=state, severity=severity, kind=kind)


@pytest.mark.parametrize(("event", "line", "options", "muted", "expected"), [
    # first notification, with and without group_wait
    (ev(FIRING), NEVER, RouteOptions(), {}, Decision(send=True, at=NOW, reason=Reason.FIRST_NOTIFICATION)),
    (ev(FIRING), NEVER, GROUPED, {}, Decision(send=True, at=NOW + 30 * MIN / 60, reason=Reason.GROUP_WAIT)),
    # a team that only hears about critical incidents gets the escalation as its first message
    (ev(ESCALATED, C), NEVER, RouteOptions(), {}, Decision(send=True, at=NOW, reason=Reason.FIRST_NOTIFICATION)),
    # nothing to resolve, act on or remind for a team that never heard of the incident
    (ev(RESOLVED), NEVER, RouteOptions(), {}, Decision(send=False, at=NOW, reason=Reason.NEVER_NOTIFIED)),
    (ev(UPDATED, W, Kind.ACTION), NEVER, RouteOptions(), {},
     Decision(send=False, at=NOW, reason=Reason.NEVER_NOTIFIED)),
    # group interval: routine updates wait, escalations and resolutions do not
    (ev(UPDATED), SENT_2_MIN_AGO, GROUPED, {},
     Decision(send=True, at=NOW + 3 * MIN, reason=Reason.GROUP_INTERVAL_NOT_ELAPSED)),
    (ev(UPDATED), SENT_1_H_AGO, GROUPED, {}, Decision(send=True, at=NOW, reason=Reason.GROUP_INTERVAL_ELAPSED)),
    (ev(UPDATED), PENDING_IN_3_MIN, GROUPED, {},  # joins the notification already waiting
     Decision(send=True, at=NOW + 3 * MIN, reason=Reason.GROUP_INTERVAL_NOT_ELAPSED,
              detail="joins the pending notification")),
    (ev(ESCALATED, C), SENT_2_MIN_AGO, GROUPED, {}, Decision(send=True, at=NOW, reason=Reason.ESCALATION)),
    (ev(RESOLVED), SENT_2_MIN_AGO, GROUPED, {}, Decision(send=True, at=NOW, reason=Reason.RESOLUTION)),
    (ev(UPDATED, W, Kind.ACTION), SENT_2_MIN_AGO, GROUPED, {}, Decision(send=True, at=NOW, reason=Reason.ACTION)),
    (ev(UPDATED, W, Kind.REMINDER), SENT_1_H_AGO, GROUPED, {},
     Decision(send=True, at=NOW, reason=Reason.REPEAT_INTERVAL_ELAPSED)),
    # silences and inhibition mute, except the resolution of a thread the team already saw
    (ev(FIRING), NEVER, RouteOptions(), {"silenced": "silence s1"},
     Decision(send=False, at=NOW, reason=Reason.SILENCED, detail="silence s1")),
    (ev(ESCALATED, C), SENT_1_H_AGO, RouteOptions(), {"silenced": "silence s1"},
     Decision(send=False, at=NOW, reason=Reason.SILENCED, detail="silence s1")),
    (ev(RESOLVED), SENT_1_H_AGO, RouteOptions(), {"silenced": "silence s1"},
     Decision(send=True, at=NOW, reason=Reason.RESOLUTION)),
    (ev(RESOLVED), NEVER, RouteOptions(), {"silenced": "silence s1"},
     Decision(send=False, at=NOW, reason=Reason.SILENCED, detail="silence s1")),
    (ev(FIRING), NEVER, RouteOptions(), {"inhibited": "by incident x"},
     Decision(send=False, at=NOW, reason=Reason.INHIBITED, detail="by incident x")),
    # snooze: routine updates and reminders wait, escalation to critical, resolution and actions go
    (ev(UPDATED), SENT_1_H_AGO, RouteOptions(), {"snoozed_until": NOW + 30 * MIN},
     Decision(send=False, at=NOW, reason=Reason.SNOOZED, detail="until 2010-01-21T12:30:00+00:00")),
    (ev(ESCALATED, W), SENT_1_H_AGO, RouteOptions(), {"snoozed_until": NOW + 30 * MIN},
     Decision(send=False, at=NOW, reason=Reason.SNOOZED, detail="until 2010-01-21T12:30:00+00:00")),
    (ev(UPDATED, W, Kind.REMINDER), SENT_1_H_AGO, GROUPED, {"snoozed_until": NOW + 30 * MIN},
     Decision(send=False, at=NOW, reason=Reason.SNOOZED, detail="until 2010-01-21T12:30:00+00:00")),
    (ev(ESCALATED, C), SENT_1_H_AGO, RouteOptions(), {"snoozed_until": NOW + 30 * MIN},
     Decision(send=True, at=NOW, reason=Reason.ESCALATION)),
    (ev(RESOLVED), SENT_1_H_AGO, RouteOptions(), {"snoozed_until": NOW + 30 * MIN},
     Decision(send=True, at=NOW, reason=Reason.RESOLUTION)),
    (ev(UPDATED, W, Kind.ACTION), SENT_1_H_AGO, RouteOptions(), {"snoozed_until": NOW + 30 * MIN},
     Decision(send=True, at=NOW, reason=Reason.ACTION)),
    (ev(UPDATED), SENT_1_H_AGO, RouteOptions(), {"snoozed_until": NOW - MIN},  # the snooze is over
     Decision(send=True, at=NOW, reason=Reason.GROUP_INTERVAL_ELAPSED)),
    # quiet hours (12:30-14:00 in Paris = 11:30-13:00 UTC) push non-critical deliveries to their end
    (ev(FIRING), NEVER, RouteOptions(quiet_hours=LUNCH), {},
     Decision(send=True, at=NOW + 60 * MIN, reason=Reason.QUIET_HOURS, detail="first notification")),
    (ev(FIRING, C), NEVER, RouteOptions(quiet_hours=LUNCH), {},  # except_critical is off on this route
     Decision(send=True, at=NOW + 60 * MIN, reason=Reason.QUIET_HOURS, detail="first notification")),
    (ev(FIRING, C), NEVER, RouteOptions(quiet_hours=NIGHT), {},
     Decision(send=True, at=NOW, reason=Reason.FIRST_NOTIFICATION)),
    # a person's action is shown at once, even in quiet hours; a reminder waits like an update
    (ev(UPDATED, W, Kind.ACTION), SENT_1_H_AGO, RouteOptions(quiet_hours=LUNCH), {},
     Decision(send=True, at=NOW, reason=Reason.ACTION)),
    (ev(UPDATED, W, Kind.REMINDER), SENT_1_H_AGO, RouteOptions(quiet_hours=LUNCH), {},
     Decision(send=True, at=NOW + 60 * MIN, reason=Reason.QUIET_HOURS, detail="repeat interval elapsed")),
])
def test_decide(event: Event, line: LineLog, options: RouteOptions, muted: dict, expected: Decision) -> None:
    assert decide(event, line, options, NOW, **muted) == expected


@pytest.mark.parametrize(("quiet", "at", "until"), [
    (NIGHT, "2010-01-21T20:59", None),  # 21:59 in Paris (winter, UTC+1)
    (NIGHT, "2010-01-21T21:00", "2010-01-22T06:00"),  # 22:00 Paris: start is inside
    (NIGHT, "2010-01-21T23:30", "2010-01-22T06:00"),
    (NIGHT, "2010-01-22T05:59", "2010-01-22T06:00"),
    (NIGHT, "2010-01-22T06:00", None),  # end is outside
    (NIGHT, "2010-07-21T21:30", "2010-07-22T05:00"),  # summer time, UTC+2
    (NIGHT, "2010-03-27T23:00", "2010-03-28T05:00"),  # the night the clocks go forward
    (LUNCH, "2010-01-21T11:45", "2010-01-21T13:00"),
    (LUNCH, "2010-01-21T13:00", None),
    (QuietHours(start=time(22), end=time(7)), "2010-01-21T22:30", "2010-01-22T07:00"),  # UTC by default
])
def test_quiet_until(quiet: QuietHours, at: str, until: str | None) -> None:
    found = quiet_until(quiet, datetime.fromisoformat(at).replace(tzinfo=UTC))
    assert (found.isoformat() if found else None) == (f"{until}:00+00:00" if until else None)


def test_reminder_due() -> None:
    assert reminder_due(LineLog(last_at=NOW - timedelta(hours=4)), GROUPED, NOW)
    assert not reminder_due(LineLog(last_at=NOW - timedelta(hours=3)), GROUPED, NOW)
    assert not reminder_due(NEVER, GROUPED, NOW)
    assert not reminder_due(LineLog(last_at=NOW - timedelta(days=9)), RouteOptions(), NOW)


TREE = """\
version: 1
brands:
  peugeot: {query: peugeot, team: comms}
  toyota: {query: toyota, team: intel}
teams:
  desk: {slack_channel: "#desk"}
  cell: {slack_channel: "#cell"}
  comms: {slack_channel: "#comms"}
  intel: {slack_channel: "#intel"}
route:
  team: desk
  group_wait: 30s
  quiet_hours: {from: "22:00", to: "07:00", timezone: Europe/Paris}
  routes:
    - match: {severity: critical}
      team: cell
      group_interval: 1m
      quiet_hours: false
      continue: true
    - match: {brand: peugeot}
      team: comms
      repeat_interval: 4h
    - match: {team: intel}
      min_severity: warning
      team: intel
"""


@pytest.mark.parametrize(("labels", "severity", "expected"), [
    ({"brand": "peugeot", "severity": "critical"}, C, [("cell", "1m", None, False), ("comms", "0s", "4h", True)]),
    ({"brand": "peugeot", "severity": "warning"}, W, [("comms", "0s", "4h", True)]),
    ({"brand": "toyota", "team": "intel", "severity": "info"}, INFO, [("desk", "0s", None, True)]),
    ({"brand": "toyota", "team": "intel", "severity": "warning"}, W, [("intel", "0s", None, True)]),
    ({"brand": "unknown", "severity": "critical"}, C, [("cell", "1m", None, False)]),
])
def test_routes_carry_inherited_options(labels: dict, severity: Severity, expected: list) -> None:
    config = parse_config(TREE)
    found = routes_for(config.route, labels, severity)
    seconds = {timedelta(0): "0s", timedelta(minutes=1): "1m", timedelta(hours=4): "4h"}
    assert [(team, seconds[o.group_interval], seconds.get(o.repeat_interval) if o.repeat_interval else None,
             o.quiet_hours is not None) for team, o in found] == expected
    assert all(o.group_wait == timedelta(seconds=30) for _, o in found)  # inherited from the root
    assert [team for team, _ in found] == teams_for(config.route, labels, severity)


def test_children_inherit_without_mutating_the_parent() -> None:
    config = parse_config(TREE)
    root = config.route
    assert root.options.group_interval == timedelta(0) and root.options.quiet_hours is not None
    assert root.routes[0].options.quiet_hours is None and root.routes[0].options.group_wait == timedelta(seconds=30)
    assert root.routes[1].options.repeat_interval == timedelta(hours=4)
    assert root.options.repeat_interval is None
    assert RouteConfig(team="x").options == RouteOptions()


@pytest.mark.parametrize(("text", "labels", "matches"), [
    ("brand=toyota", {"brand": "toyota"}, True),
    ("brand=toyota", {"brand": "toyota-fr"}, False),
    ("brand!=toyota", {"brand": "peugeot"}, True),
    ("brand!=toyota", {}, True),
    ("severity=~warn.*|info", {"severity": "warning"}, True),
    ("severity=~warn", {"severity": "warning"}, False),  # regexes match the whole value
    ("crisis_type!~product_.*", {"crisis_type": "product_recall"}, False),
    ("lang=", {}, True),  # an empty value matches an absent label
])
def test_matchers(text: str, labels: dict, matches: bool) -> None:
    assert label_matches(parse_matcher(text), labels) is matches


@pytest.mark.parametrize(("text", "message"), [
    ("colour=red", "unknown label 'colour' in 'colour=red' (expected brand, team, severity, crisis_type, lang)"),
    ("brand", "expected label=value, label!=value, label=~regex or label!~regex, got 'brand'"),
    ("brand=~(", "invalid regular expression in 'brand=~(': missing ), unterminated subpattern at position 0"),
])
def test_bad_matchers(text: str, message: str) -> None:
    with pytest.raises(MatcherError) as caught:
        parse_matcher(text)
    assert str(caught.value) == message


def silence(silence_id: str, *matchers: Matcher, hours: float = 2) -> Silence:
    return Silence(id=silence_id, matchers=matchers, starts_at=NOW - MIN, ends_at=NOW + timedelta(hours=hours),
                   created_by="alice", comment="known", created_at=NOW - MIN)


@pytest.mark.parametrize(("labels", "expected"), [
    ({"brand": "toyota", "severity": "warning"}, "s1"),
    ({"brand": "toyota", "severity": "critical"}, None),
    ({"brand": "peugeot", "severity": "info"}, "s2"),
    ({"brand": "peugeot", "severity": "warning"}, None),
])
def test_silenced_by(labels: dict, expected: str | None) -> None:
    silences = [
        silence("s1", Matcher(label="brand", value="toyota"), Matcher(label="severity", value="critical",
                                                                       op=MatchOp.NOT_EQUAL)),
        silence("s2", Matcher(label="severity", value="info")),
        silence("expired", Matcher(label="brand", value="peugeot"), hours=-1),
        silence("empty"),  # no matcher: matches nothing rather than everything
    ]
    found = silenced_by(silences, labels, NOW)
    assert (found.id if found else None) == expected


RULES = [InhibitRule(source={"severity": ("critical",)}, target={"severity": ("warning", "info")}, equal=("team",))]
OPEN = [("toyota-1", {"brand": "toyota", "team": "intel", "severity": "critical"}),
        ("peugeot-1", {"brand": "peugeot", "team": "comms", "severity": "warning"})]


@pytest.mark.parametrize(("incident", "labels", "source"), [
    ("vw-1", {"brand": "volkswagen", "team": "intel", "severity": "warning"}, "toyota-1"),  # same team: muted
    ("vw-1", {"brand": "volkswagen", "team": "intel", "severity": "critical"}, None),  # critical: never a target
    ("citroen-1", {"brand": "citroen", "team": "comms", "severity": "warning"}, None),  # other team
    ("toyota-1", {"brand": "toyota", "team": "intel", "severity": "warning"}, None),  # never inhibits itself
])
def test_inhibited_by(incident: str, labels: dict, source: str | None) -> None:
    found = inhibited_by(RULES, labels, incident, OPEN)
    assert (found[1] if found else None) == source

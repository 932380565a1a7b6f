"""The pipeline on small generated traffic: unknown brands, dedup, restart from a SQLite file."""

from __future__ import annotations

import io
import random
from datetime import UTC, datetime, timedelta
from pathlib import Path

from service.app import build_pipeline
from service.clock import SimulatedClock
from service.config import parse_config
from service.domain import AlertState, Mention, Severity, SourceKind
from service.notify.console import ConsoleNotifier
from service.replay import replay
from service.store.base import StoreError
from service.store.sqlite import SQLiteStore

CONFIG = """\
version: 1
detection:
  grace: 1d
  keep_firing_for: 1h
brands:
  peugeot:
    query: peugeot
    team: comms
teams:
  desk: {}
  comms: {}
route:
  team: desk
  routes:
    - match: {brand: [peugeot]}
      team: comms
"""
T0 = datetime(2021, 3, 1, tzinfo=UTC)
QUIET = ["Test drive of the new {b} today", "Is the {b} dealer open on Sunday?", "{b} parking sensors question",
         "Nice {b} spotted downtown", "Thinking of leasing a {b}"]
CRISIS = ["{b} recall: brakes failing, this is dangerous", "Furious: {b} airbag defect, recall announced",
          "{b} recalls cars over fire risk, regulators investigate", "My {b} brake pedal failed, scary"]


def traffic(brand: str, *, named: bool, days: int = 4, spike_at: datetime | None = None,
            seed: int = 7) -> list[Mention]:
    rng = random.Random(seed)
    out = []
    for minute in range(0, days * 24 * 60, 10):
        at = T0 + timedelta(minutes=minute)
        n = rng.choice((0, 1, 1, 2)) if 7 <= at.hour <= 22 else rng.choice((0, 0, 1))
        crisis = spike_at is not None and spike_at <= at < spike_at + timedelta(hours=3)
        if crisis:
            n = 25
        for i in range(n):
            text = rng.choice(CRISIS if crisis else QUIET).format(b=brand.capitalize())
            out.append(Mention(id=f"{brand}-{minute}-{i}", published_at=at + timedelta(seconds=17 * i), text=text,
                               kind=SourceKind.NEWS if i % 3 == 0 else SourceKind.SOCIAL, lang="en",
                               brand=brand if named else None))
    return out


def run(mentions: list[Mention], store: SQLiteStore, stream: io.StringIO, tail: timedelta = timedelta(hours=2)):
    config = parse_config(CONFIG)
    clock = SimulatedClock(min(m.published_at for m in mentions))
    pipeline = build_pipeline(config, store, clock, {"console": ConsoleNotifier(stream)})
    result = replay(mentions, pipeline, clock, step=timedelta(minutes=5), tail=tail)
    pipeline.checkpoint(clock.now())
    return result


def test_unknown_brand_is_tracked_with_defaults_and_default_route() -> None:
    spike = T0 + timedelta(days=3, hours=12)
    stream = io.StringIO()
    result = run(traffic("fiat", named=True, spike_at=spike), SQLiteStore(":memory:"), stream)
    fiat = [a for a in result.alerts if a.brand == "fiat"]
    assert fiat and fiat[0].state is AlertState.FIRING
    assert spike <= fiat[0].at <= spike + timedelta(minutes=30)
    assert max(a.severity for a in fiat) is Severity.CRITICAL
    assert fiat[0].crisis_type == "product_recall"
    assert fiat[-1].state is AlertState.RESOLVED
    assert "[alert -> desk]" in stream.getvalue() and "[alert -> comms]" not in stream.getvalue()


def test_quiet_traffic_and_duplicates_raise_nothing() -> None:
    mentions = traffic("peugeot", named=False)
    result = run(mentions + mentions[:200], SQLiteStore(":memory:"), io.StringIO())
    assert result.alerts == []
    assert result.duplicates == 200


def test_restart_resumes_from_the_store_without_realerting(tmp_path: Path) -> None:
    db = str(tmp_path / "state.db")
    spike = T0 + timedelta(days=3, hours=12)
    mentions = traffic("peugeot", named=False, spike_at=spike)
    before = [m for m in mentions if m.published_at < spike + timedelta(hours=1)]
    after = [m for m in mentions if m.published_at >= spike + timedelta(hours=1)]
    first = run(before, SQLiteStore(db), io.StringIO(), tail=timedelta(minutes=5))
    assert [a.state for a in first.alerts][:1] == [AlertState.FIRING]
    store = SQLiteStore(db)
    second = run(before[-50:] + after, store, io.StringIO())  # the same mentions again: deduplicated
    assert second.duplicates == 50
    assert AlertState.FIRING not in [a.state for a in second.alerts]  # same incident continues
    assert second.alerts[-1].state is AlertState.RESOLVED
    assert second.alerts[-1].incident_id == first.alerts[0].incident_id


def test_a_backlog_evaluated_in_one_tick_gives_the_same_alerts() -> None:
    """Ticking every hour (twelve buckets per tick, one read per brand) decides exactly like ticking
    every bucket: windows are slices of one read."""
    mentions = traffic("fiat", named=True, spike_at=T0 + timedelta(days=3, hours=12))
    runs = []
    for step in (timedelta(minutes=5), timedelta(hours=1)):
        config = parse_config(CONFIG)
        clock = SimulatedClock(min(m.published_at for m in mentions))
        pipeline = build_pipeline(config, SQLiteStore(":memory:"), clock, {})
        result = replay(mentions, pipeline, clock, step=step, tail=timedelta(hours=3))
        runs.append([(a.incident_id, a.state, a.severity, a.at, a.volume) for a in result.alerts])
    assert runs[0] and runs[0] == runs[1]


class _FailingOnce(SQLiteStore):
    """A real SQLite store whose first incident write fails (a full disk at the wrong moment)."""

    failures = 1

    def save_incident(self, incident):  # type: ignore[no-untyped-def]
        if self.failures:
            self.failures -= 1
            raise StoreError("database or disk is full")
        super().save_incident(incident)


def _tick_through(store: SQLiteStore, mentions: list[Mention]) -> tuple[list[tuple], int]:
    config = parse_config(CONFIG)
    clock = SimulatedClock(min(m.published_at for m in mentions))
    pipeline = build_pipeline(config, store, clock, {})
    pipeline.ingest(mentions)
    events, failed = [], 0
    while clock.now() < max(m.published_at for m in mentions) + timedelta(hours=3):
        clock.advance(timedelta(hours=1))
        try:
            events += [(a.incident_id, a.state, a.severity, a.at, a.volume) for a in pipeline.tick()]
        except StoreError:
            failed += 1
    return events, failed


def test_a_tick_whose_transaction_fails_loses_no_alert_and_no_incident_version() -> None:
    """The detectors move on in memory; the alerts and incident versions of the failed tick are kept and
    go out with the next tick that commits: the same events, the same stored incidents as without failure."""
    mentions = traffic("fiat", named=True, spike_at=T0 + timedelta(days=3, hours=12))
    healthy, flaky = SQLiteStore(":memory:"), _FailingOnce(":memory:")
    expected, _ = _tick_through(healthy, mentions)
    got, failed = _tick_through(flaky, mentions)
    assert failed == 1 and expected and got == expected
    assert flaky.incidents() == healthy.incidents()


class _OutboxFailsOnce(SQLiteStore):
    """A real SQLite store whose first outbox write fails (the tick itself committed)."""

    failures = 1

    def outbox_enqueue(self, items):  # type: ignore[no-untyped-def]
        if self.failures:
            self.failures -= 1
            raise StoreError("database is locked")
        return super().outbox_enqueue(items)


def _notified(store: SQLiteStore, mentions: list[Mention]) -> tuple[list[str], int]:
    config = parse_config(CONFIG)
    clock = SimulatedClock(min(m.published_at for m in mentions))
    stream = io.StringIO()
    pipeline = build_pipeline(config, store, clock, {"console": ConsoleNotifier(stream)})
    pipeline.ingest(mentions)
    failed = 0
    while clock.now() < max(m.published_at for m in mentions) + timedelta(hours=3):
        clock.advance(timedelta(hours=1))
        try:
            pipeline.tick()
        except StoreError:
            failed += 1
    return [line for line in stream.getvalue().splitlines() if line.strip()], failed


def test_alerts_whose_outbox_write_fails_go_out_with_the_next_tick() -> None:
    """The tick committed its incidents, then recording its alert events in the outbox failed: they are
    kept and recorded by the next tick, so the teams get every notification a healthy run sends."""
    mentions = traffic("fiat", named=True, spike_at=T0 + timedelta(days=3, hours=12))
    expected, _ = _notified(SQLiteStore(":memory:"), mentions)
    flaky = _OutboxFailsOnce(":memory:")
    got, failed = _notified(flaky, mentions)
    assert failed == 1 and expected and got == expected


def test_a_new_brand_first_seen_decades_back_or_ahead_is_evaluated_from_the_horizon_to_now() -> None:
    # One mention dated 1970 used to make the next tick walk 56 years of 5-minute buckets (minutes of
    # CPU under the pipeline lock, every brand's detection stalled). Its count is kept; evaluation of
    # the brand starts START_HORIZON before now, and a mention inside the horizon starts it as before.
    from service.pipeline import START_HORIZON

    store = SQLiteStore(":memory:")
    clock = SimulatedClock(T0)
    pipeline = build_pipeline(parse_config(CONFIG), store, clock, {})
    old = Mention(id="old", published_at=datetime(1970, 1, 1, tzinfo=UTC), text="Peugeot in 1970", lang="en")
    recent = Mention(id="recent", published_at=T0 - timedelta(days=2), text="Peugeot 2 days ago", lang="en")
    assert pipeline.ingest([old]).accepted == 1
    assert pipeline.next_bucket["peugeot"] == T0 - START_HORIZON
    assert store.buckets("peugeot", datetime(1970, 1, 1, tzinfo=UTC), datetime(1970, 1, 2, tzinfo=UTC))[0].count == 1
    clock.advance(timedelta(minutes=10))
    pipeline.tick()
    assert pipeline.next_bucket["peugeot"] >= T0
    other = build_pipeline(parse_config(CONFIG), SQLiteStore(":memory:"), SimulatedClock(T0), {})
    other.ingest([recent])
    assert other.next_bucket["peugeot"] == T0 - timedelta(days=2)
    # dated ahead (a source whose clock runs fast): the buckets up to it are evaluated all the same
    ahead = Mention(id="ahead", published_at=datetime(2999, 1, 1, tzinfo=UTC), text="Peugeot from 2999", lang="en")
    third = build_pipeline(parse_config(CONFIG), SQLiteStore(":memory:"), SimulatedClock(T0), {})
    third.ingest([ahead])
    assert third.next_bucket["peugeot"] == T0

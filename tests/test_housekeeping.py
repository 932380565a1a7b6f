"""Retention: the housekeeping job removes counts and example mentions past the horizon (every backend),
and on SQLite the processed-id markers too; the running service and the scheduler role schedule it."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path

from service.app import Service
from service.clock import SimulatedClock
from service.config import load_config, parse_config
from service.housekeeping import HOUSEKEEPING_EVERY, RETENTION, housekeep
from service.store.base import Store
from service.store.sqlite import SQLiteStore
from tests.test_api import write_config
from tests.test_store_contract import T0, Backend, _backend, backend, delta, exemplar, store  # noqa: F401

NOW = T0 + RETENTION + timedelta(days=10)


def test_housekeeping_removes_only_what_is_past_retention(store: Store) -> None:  # noqa: F811
    old, recent = T0, NOW - timedelta(days=1)
    store.add_to_buckets([delta(start=old, count=2), delta(start=old + timedelta(minutes=5), count=1),
                          delta(start=recent, count=4)])
    store.add_exemplars([exemplar("old", 0.9, old), exemplar("new", 0.8, recent)], per_brand_limit=5)
    assert housekeep(store, NOW) == 2
    assert [b.count for b in store.buckets("peugeot", T0 - timedelta(days=1), NOW)] == [4]
    assert [e.mention_id for e in store.exemplars("peugeot", T0 - timedelta(days=1), NOW, 10)] == ["new"]
    assert housekeep(store, NOW) == 0  # nothing left to remove: the job is idempotent


def test_sqlite_forgets_processed_ids_past_retention() -> None:
    sqlite = SQLiteStore(":memory:")
    try:
        assert sqlite.mark_seen(["old", "recent"], T0) == {"old", "recent"}
        assert sqlite.mark_seen(["recent"], NOW - timedelta(days=1)) == set()
        sqlite.mark_seen(["fresh"], NOW - timedelta(days=1))
        housekeep(sqlite, NOW)
        assert sqlite.mark_seen(["old", "fresh"], NOW) == {"old"}  # "fresh" is still known, "old" forgotten
    finally:
        sqlite.close()


def test_the_running_service_schedules_it_and_prunes_its_own_store(tmp_path: Path) -> None:
    service = Service(load_config(write_config(tmp_path, token="Ingest-Tok3n-from-config")),
                      clock=SimulatedClock(NOW), notifiers={})

    async def start_and_look() -> None:
        service._start_scheduler(asyncio.get_running_loop())
        try:
            job = service.scheduler.get_job("housekeeping")
            assert job is not None and job.trigger.interval == HOUSEKEEPING_EVERY
        finally:
            service.scheduler.shutdown(wait=False)

    try:
        asyncio.run(start_and_look())
        service.store.add_to_buckets([delta(start=T0, count=3), delta(start=NOW - timedelta(hours=1), count=1)])
        assert service.housekeep() == 1
    finally:
        service.store.close()


def test_a_crisis_notified_through_slack_is_forgotten_whole_after_retention(store: Store) -> None:  # noqa: F811
    """A replayed crisis, notified through the real slack-sdk (local fake Slack): once resolved for longer
    than the retention, housekeeping removes the incident, its outbox items and every reference and
    log its notification left; until then, and while a notification is undelivered, all stays."""
    from service.app import build_pipeline
    from service.notify.outbox import incident_traces
    from service.notify.slack import SlackNotifier
    from service.replay import replay
    from tests.fakeslack import TOKEN, FakeSlack
    from tests.test_pipeline import CONFIG, traffic
    from tests.test_pipeline import T0 as START

    config = parse_config(CONFIG.replace("  comms: {}\n", '  comms: {slack_channel: "#comms"}\n'))
    mentions = traffic("peugeot", named=True, spike_at=START + timedelta(days=3, hours=12))
    slack = FakeSlack().start()
    try:
        clock = SimulatedClock(START)
        notifier = SlackNotifier(token=TOKEN, webhook_url=None, base_url=slack.api_url, timeout=3)
        pipeline = build_pipeline(config, store, clock, {"slack": notifier})
        replay(mentions, pipeline, clock, step=timedelta(minutes=5), tail=timedelta(hours=6))
        assert pipeline.dispatcher is not None
        pipeline.dispatcher.deliver_due(clock.now())
    finally:
        slack.stop()
    [resolved] = store.incidents()
    assert resolved.resolved_at is not None
    items = store.outbox_items(resolved.id)
    refs, states = incident_traces(resolved.id, items)
    assert items and all(i.delivered_at for i in items) and store.get_ref(f"thread:{resolved.id}:comms/slack")
    housekeep(store, resolved.resolved_at + RETENTION - timedelta(hours=1))
    assert store.incident(resolved.id) == resolved  # not yet past the horizon

    housekeep(store, resolved.resolved_at + RETENTION + timedelta(hours=1))
    assert store.incident(resolved.id) is None and store.outbox_items(resolved.id) == []
    assert [store.get_ref(name) for name in refs] == [None] * len(refs)
    assert [store.load_state(name) for name in states] == [None] * len(states)

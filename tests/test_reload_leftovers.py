"""A configuration reload, or a stop, right after a detection tick whose store writes failed: the alert
events and incident versions that tick left for the next one are not lost. The service runs on a real
SQLite store made to fail once (as in test_pipeline), with the real slack-sdk posting to a local fake
Slack; the firing alert must reach Slack exactly once."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from service.app import Service
from service.clock import SimulatedClock
from service.config import load_config
from service.domain import AlertState
from service.notify.slack import SlackNotifier
from service.store.base import StoreError
from service.store.redis import RedisStore
from service.store.sqlite import SQLiteStore
from tests.fakeslack import TOKEN, FakeSlack, fake_slack_fixture  # noqa: F401  (fixture)
from tests.test_api import START, synthetic_mentions, write_config
from tests.test_reload import _add_brand

STEP = timedelta(minutes=5)
END = START + timedelta(hours=9)  # 6 quiet hours, the burst, then calm again


class _Flaky:
    """A real store whose next writes of one kind fail, as a full or locked database or a lost Redis
    connection does (``failing[what]``: how many of the next ``what`` writes fail)."""

    failing: dict[str, int]

    def _maybe_fail(self, what: str) -> None:
        if self.failing.get(what, 0) > 0:
            self.failing[what] -= 1
            raise StoreError(f"database is locked ({what})", retryable=True)

    def save_incident(self, incident):  # type: ignore[no-untyped-def]
        self._maybe_fail("save_incident")
        super().save_incident(incident)  # type: ignore[misc]

    def outbox_enqueue(self, items):  # type: ignore[no-untyped-def]
        self._maybe_fail("outbox_enqueue")
        return super().outbox_enqueue(items)  # type: ignore[misc]

    def save_state(self, name, state):  # type: ignore[no-untyped-def]
        self._maybe_fail("save_state")
        super().save_state(name, state)  # type: ignore[misc]


class _FlakySQLite(_Flaky, SQLiteStore):
    def __init__(self, path: str) -> None:
        super().__init__(path)
        self.failing = {}


class _FlakyRedis(_Flaky, RedisStore):
    def __init__(self, url: str) -> None:
        super().__init__(url)
        self.failing = {}


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("CRISISWATCH_INGEST_TOKEN", "CRISISWATCH_STORE", "CRISISWATCH_LISTEN", "SLACK_BOT_TOKEN",
                 "SLACK_WEBHOOK_URL", "SLACK_SIGNING_SECRET", "SLACK_API_URL"):
        monkeypatch.delenv(name, raising=False)


def _service(tmp_path: Path, fake_slack: FakeSlack, redis_url: str | None = None
             ) -> tuple[Service, _Flaky, SimulatedClock, Path]:
    path = write_config(tmp_path)
    store: _Flaky = _FlakyRedis(redis_url) if redis_url else _FlakySQLite(str(tmp_path / "flaky.db"))
    clock = SimulatedClock(START)
    slack = SlackNotifier(token=TOKEN, webhook_url=None, base_url=fake_slack.api_url, timeout=5)
    service = Service(load_config(path), clock=clock, store=store, notifiers={"slack": slack})
    service.ingest(synthetic_mentions())
    return service, store, clock, path


def _tick_until_it_fails(service: Service, store: _Flaky, clock: SimulatedClock, what: str) -> None:
    """Tick every 5 minutes with the next ``what`` write failing, until a tick fails on it."""
    store.failing[what] = 1
    while store.failing[what]:
        assert clock.now() < END, "no tick wrote what was made to fail"
        clock.advance(STEP)
        try:
            service.tick()
        except StoreError:
            assert not store.failing[what]


def _tick_to_the_end(service: Service, clock: SimulatedClock) -> None:
    while clock.now() < END:
        clock.advance(STEP)
        service.tick()
        service.deliver()


def _notifications(fake_slack: FakeSlack) -> list[tuple[str, str | None]]:
    """Every message Slack accepted, posted or edited, in order: (method, text)."""
    return [(call.method, call.body.get("text")) for call in fake_slack.calls
            if call.ok and call.method in ("chat.postMessage", "chat.update")]


def _healthy_run(tmp_path: Path) -> list[tuple[str, str | None]]:
    """What Slack receives from the same run without any store failure (a Slack of its own)."""
    folder = tmp_path / "healthy"
    folder.mkdir()
    fake = FakeSlack().start()
    try:
        service, _, clock, _ = _service(folder, fake)
        try:
            _tick_to_the_end(service, clock)
        finally:
            service.finish(timedelta(seconds=5))
        return _notifications(fake)
    finally:
        fake.stop()


def _firing_posts(fake_slack: FakeSlack) -> list[str]:
    """The texts of the top-level Slack messages (one per incident; later events update it or reply)."""
    return [message.text or "" for message in fake_slack.top_level()]


@pytest.mark.timeout(120)
@pytest.mark.parametrize(("what", "backend"), [("save_incident", "sqlite"), ("outbox_enqueue", "sqlite"),
                                               ("save_incident", "redis"), ("outbox_enqueue", "redis")])
def test_a_reload_after_a_failed_tick_keeps_its_alert_and_slack_gets_it_once(
        tmp_path: Path, clean_env: None, fake_slack: FakeSlack, request: pytest.FixtureRequest, what: str,
        backend: str) -> None:
    redis_url = request.getfixturevalue("clean_redis_url") if backend == "redis" else None
    service, store, clock, path = _service(tmp_path, fake_slack, redis_url)
    try:
        _tick_until_it_fails(service, store, clock, what)
        left = service.pipeline.undispatched
        assert [a.state for a in left] == [AlertState.FIRING], "the failed tick left its alert for the next one"
        assert store.outbox_pending() == [] and fake_slack.calls_to("chat.postMessage") == []
        _add_brand(path)
        assert service.reload() is True
        assert set(service.config.brands) == {"acme", "globex"}
        _tick_to_the_end(service, clock)
        posts = _firing_posts(fake_slack)
        assert len(posts) == 1 and "acme" in posts[0].lower(), posts
        assert _notifications(fake_slack) == _healthy_run(tmp_path)  # every notification, none twice
        # the incident the failed tick opened is the one saved, notified and later resolved (not a second
        # one opened by a later bucket because the first was forgotten)
        [incident] = store.incidents()
        assert (incident.id, incident.opened_at) == (left[0].incident_id, left[0].opened_at)
        assert not incident.is_open
        assert store.outbox_pending() == []
    finally:
        service.finish(timedelta(seconds=5))


@pytest.mark.timeout(120)
def test_without_a_reload_the_same_run_posts_the_same_single_message(
        tmp_path: Path, clean_env: None, fake_slack: FakeSlack) -> None:
    """The reference for the test above: the failure alone (no reload) sends one message too."""
    service, store, clock, _ = _service(tmp_path, fake_slack)
    try:
        _tick_until_it_fails(service, store, clock, "save_incident")
        _tick_to_the_end(service, clock)
        assert len(_firing_posts(fake_slack)) == 1
        assert _notifications(fake_slack) == _healthy_run(tmp_path)
    finally:
        service.finish(timedelta(seconds=5))


@pytest.mark.timeout(120)
@pytest.mark.parametrize("what", ["save_incident", "outbox_enqueue"])
def test_a_stop_after_a_failed_tick_records_and_delivers_its_alert(
        tmp_path: Path, clean_env: None, fake_slack: FakeSlack, what: str) -> None:
    service, store, clock, _ = _service(tmp_path, fake_slack)
    _tick_until_it_fails(service, store, clock, what)
    service.finish(timedelta(seconds=5))  # the store answers again: the final flush records and sends it
    assert len(_firing_posts(fake_slack)) == 1
    reopened = SQLiteStore(str(tmp_path / "flaky.db"))
    try:
        [incident] = reopened.incidents()
        assert incident.brand == "acme" and incident.is_open
        assert reopened.outbox_pending() == []
    finally:
        reopened.close()


@pytest.mark.timeout(120)
def test_a_stop_while_the_store_still_fails_saves_no_checkpoint_past_the_lost_alert(
        tmp_path: Path, clean_env: None, fake_slack: FakeSlack) -> None:
    """When even the final flush fails, the detector state is not saved: the next start evaluates the
    buckets again and sends the alert then, once."""
    service, store, clock, _ = _service(tmp_path, fake_slack)
    _tick_until_it_fails(service, store, clock, "save_incident")
    [left] = service.pipeline.undispatched
    at = clock.now()
    store.failing["save_incident"] = 1
    service.finish(timedelta(seconds=5))
    assert fake_slack.calls_to("chat.postMessage") == []
    restarted_store = _FlakySQLite(str(tmp_path / "flaky.db"))
    slack = SlackNotifier(token=TOKEN, webhook_url=None, base_url=fake_slack.api_url, timeout=5)
    restarted = Service(load_config(tmp_path / "alerts.yaml"), clock=SimulatedClock(at), store=restarted_store,
                        notifiers={"slack": slack})
    try:
        _tick_to_the_end(restarted, restarted.clock)  # type: ignore[arg-type]
        assert len(_firing_posts(fake_slack)) == 1
        assert _notifications(fake_slack) == _healthy_run(tmp_path)
        [incident] = restarted_store.incidents()  # the same incident as the lost alert's, evaluated again
        assert (incident.id, incident.opened_at) == (left.incident_id, left.opened_at)
    finally:
        restarted.finish(timedelta(seconds=5))


@pytest.mark.timeout(120)
def test_a_reload_while_the_store_fails_is_postponed_to_the_next_tick(
        tmp_path: Path, clean_env: None, fake_slack: FakeSlack) -> None:
    service, store, clock, path = _service(tmp_path, fake_slack)
    try:
        _tick_until_it_fails(service, store, clock, "save_incident")
        _add_brand(path)
        store.failing["save_state"] = 1  # the checkpoint before the switch fails
        assert service.reload() is False
        assert set(service.config.brands) == {"acme"}
        assert "store unavailable, reload postponed" in (service.readiness().get("last_reload_error") or "")
        clock.advance(STEP)
        service.tick()  # the store answers: the tick records the leftovers, then the reload happens
        assert set(service.config.brands) == {"acme", "globex"}
        assert "last_reload_error" not in service.readiness()
        _tick_to_the_end(service, clock)
        assert len(_firing_posts(fake_slack)) == 1
    finally:
        service.finish(timedelta(seconds=5))



def test_a_postponed_reload_whose_file_turns_invalid_is_refused_once_not_every_tick(
        tmp_path: Path, clean_env: None, fake_slack: FakeSlack, caplog: pytest.LogCaptureFixture) -> None:
    service, store, clock, path = _service(tmp_path, fake_slack)
    try:
        _tick_until_it_fails(service, store, clock, "save_incident")
        _add_brand(path)
        store.failing["save_state"] = 1
        assert service.reload() is False  # postponed: the store refused the checkpoint
        path.write_text(path.read_text() + "\nbogus_key: 1\n")  # the operator's next edit is invalid
        caplog.clear()
        for _ in range(5):
            clock.advance(STEP)
            service.tick()
        refused = [r for r in caplog.records if "not reloaded" in r.getMessage()]
        assert len(refused) == 1, [r.getMessage()[:120] for r in refused]
        assert "bogus_key" in (service.last_reload_error or "")
    finally:
        service.finish(timedelta(seconds=5))

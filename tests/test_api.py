"""The HTTP API against a real server on a free port: the Service itself, in a thread.

Ingest (good, partial, malformed, oversized, unauthenticated), metrics, readiness, OpenAPI.
"""

from __future__ import annotations

import gzip
import json
import math
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import msgspec
import pytest

from service.api import ingest
from service.api.embed import ServiceThread
from service.app import Service
from service.clock import SimulatedClock
from service.config import load_config
from service.domain import Mention
from service.replay import replay
from service.store.base import StoreError
from service.store.sqlite import SQLiteStore

TOKEN = "tok-Api-Test-0123456789"
START = datetime(2024, 3, 4, 0, 0, tzinfo=UTC)
CONFIG = """\
version: 1
store: sqlite:///{store}
http:
  listen: 127.0.0.1:0
ingest:
  token: {token}
detection:
  grace: 2h
  keep_firing_for: 1h
brands:
  acme:
    query: acme
    team: desk
teams:
  desk:
    slack_channel: "#desk"
route:
  team: desk
"""


def write_config(folder: Path, *, token: str = TOKEN, store: str | None = None, extra: str = "") -> Path:
    path = folder / "alerts.yaml"
    path.write_text(CONFIG.format(store=store or folder / "cw.db", token=token) + extra, encoding="utf-8")
    return path


def synthetic_mentions(start: datetime = START, *, quiet_hours: int = 6, spike_minutes: int = 60) -> list[Mention]:
    """A quiet brand (a few neutral mentions per 5 minutes), then a burst of angry recall talk."""
    mentions = []
    quiet = timedelta(hours=quiet_hours)
    for i in range(int(quiet / timedelta(minutes=5))):
        at = start + i * timedelta(minutes=5)
        for j in range(3 + (i % 3 == 0)):
            mentions.append(Mention(id=f"q{i}-{j}", published_at=at + timedelta(seconds=40 * j), source="wire",
                                    text=f"Acme opens a new store downtown, shoppers visit number {i}"))
    burst = start + quiet
    for i in range(spike_minutes * 2):
        mentions.append(Mention(
            id=f"s{i}", published_at=burst + timedelta(seconds=30 * i), source="social",
            text=f"Acme recall: dangerous defect, the brakes fail, this is terrible and scary #{i}"))
    return mentions


def record(mention: Mention) -> dict[str, object]:
    return mention.to_record()


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("CRISISWATCH_INGEST_TOKEN", "CRISISWATCH_STORE", "CRISISWATCH_LISTEN", "SLACK_BOT_TOKEN",
                 "SLACK_WEBHOOK_URL", "SLACK_SIGNING_SECRET", "SLACK_API_URL"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture(scope="module")
def running(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServiceThread]:
    """One service for the ingest tests (each test sends mentions with ids of its own)."""
    with pytest.MonkeyPatch.context() as patch:
        for name in ("CRISISWATCH_INGEST_TOKEN", "CRISISWATCH_STORE"):
            patch.delenv(name, raising=False)
        config = load_config(write_config(tmp_path_factory.mktemp("api")))
    service = Service(config, clock=SimulatedClock(START), notifiers={})
    with ServiceThread(service) as thread:
        yield thread


def tagged(mentions: list[Mention], tag: str) -> list[Mention]:
    return [msgspec.structs.replace(m, id=f"{tag}-{m.id}") for m in mentions]


def post(url: str, body: bytes | str, *, token: str | None = TOKEN, **headers: str) -> httpx.Response:
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    return httpx.post(f"{url}/v1/mentions", content=body, headers=headers, timeout=30)


def test_health_and_openapi(running: ServiceThread) -> None:
    assert httpx.get(f"{running.url}/healthz").json()["status"] == "ok"
    ready = httpx.get(f"{running.url}/readyz")
    assert ready.status_code == 200, ready.text
    assert ready.json()["checks"] == {"store": True, "scheduler": True, "config": True, "stopping": False}
    document = httpx.get(f"{running.url}/openapi.json").json()
    assert document["openapi"].startswith("3.")
    assert {"/healthz", "/readyz", "/metrics", "/v1/mentions", "/slack/actions", "/api/brands",
            "/api/incidents"} <= set(document["paths"])


def test_ingest_ndjson_good(running: ServiceThread) -> None:
    lines = [json.dumps(record(m)) for m in tagged(synthetic_mentions()[:5], "good")]
    response = post(running.url, "\n".join(lines) + "\n", **{"Content-Type": "application/x-ndjson"})
    assert response.status_code == 202, response.text
    body = response.json()
    assert (body["accepted"], body["rejected"], body["new"], body["errors"]) == (5, 0, 5, [])
    again = post(running.url, "\n".join(lines))
    assert again.json()["duplicates"] == 5 and again.json()["new"] == 0


def test_ingest_array_partial_reports_each_bad_record(running: ServiceThread) -> None:
    good = [record(m) for m in tagged(synthetic_mentions()[:2], "partial")]
    records = [good[0], {"id": "x1", "published_at": "2024-03-04T00:00:00Z"}, good[1],
               {"id": "x2", "published_at": "2024-03-04T00:00:00", "text": "acme"}, "not an object"]
    response = post(running.url, json.dumps(records))
    assert response.status_code == 202, response.text
    body = response.json()
    assert body["accepted"] == 2 and body["rejected"] == 3
    assert [e["line"] for e in body["errors"]] == [2, 4, 5]
    assert "text" in body["errors"][0]["reason"]
    assert "no UTC offset" in body["errors"][1]["reason"]


def test_ingest_ndjson_line_numbers_and_gzip(running: ServiceThread) -> None:
    good = json.dumps(record(tagged(synthetic_mentions()[:1], "gzip")[0]))
    body = f"{good}\n{{broken json\n\n{json.dumps({'id': 'k', 'published_at': 'x', 'text': 't'})}\n"
    response = post(running.url, gzip.compress(body.encode()), **{"Content-Encoding": "gzip"})
    assert response.status_code == 202, response.text
    errors = response.json()["errors"]
    assert [e["line"] for e in errors] == [2, 4]
    assert errors[0]["reason"].startswith("invalid JSON")
    assert "published_at" in errors[1]["reason"]


@pytest.mark.parametrize("body", ["[{\"id\": 1,", "this is not json", "", "\n\n"])
def test_ingest_malformed_body_is_400(running: ServiceThread, body: str) -> None:
    response = post(running.url, body)
    assert response.status_code == 400
    assert response.json()["error"]


def test_ingest_oversized_is_413(running: ServiceThread, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ingest, "MAX_BODY", 2048)
    line = json.dumps(record(synthetic_mentions()[0]))
    response = post(running.url, "\n".join([line] * 100))
    assert response.status_code == 413
    assert "split it" in response.json()["error"]
    bomb = gzip.compress(b"\n" * 100_000)  # small on the wire, large once inflated
    assert len(bomb) < 2048
    assert post(running.url, bomb, **{"Content-Encoding": "gzip"}).status_code == 413


def test_ingest_unauthenticated(running: ServiceThread) -> None:
    line = json.dumps(record(synthetic_mentions()[0]))
    missing = post(running.url, line, token=None)
    assert missing.status_code == 401 and missing.headers["www-authenticate"].startswith("Bearer")
    assert post(running.url, line, token=TOKEN + "x").status_code == 401
    assert post(running.url, line, token=TOKEN[:-1]).status_code == 401
    basic = httpx.post(f"{running.url}/v1/mentions", content=line, headers={"Authorization": f"Basic {TOKEN}"})
    assert basic.status_code == 401


def test_ingest_refused_when_no_token_configured(tmp_path: Path, clean_env: None) -> None:
    config = load_config(write_config(tmp_path, token='""'))
    assert config.ingest_token is None
    with ServiceThread(Service(config, clock=SimulatedClock(START), notifiers={})) as running:
        response = post(running.url, json.dumps(record(synthetic_mentions()[0])))
    assert response.status_code == 503
    assert "CRISISWATCH_INGEST_TOKEN" in response.json()["error"]


def test_ingest_token_from_environment(tmp_path: Path, clean_env: None, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CRISISWATCH_INGEST_TOKEN", "env-token-abcdef")
    config = load_config(write_config(tmp_path, token='""'))
    with ServiceThread(Service(config, clock=SimulatedClock(START), notifiers={})) as running:
        line = json.dumps(record(synthetic_mentions()[0]))
        assert post(running.url, line, token="env-token-abcdef").status_code == 202
        assert post(running.url, line).status_code == 401


def _sample(text: str, name: str, **labels: str) -> float:
    """The value of one sample of a Prometheus text exposition."""
    wanted = ",".join(f'{k}="{v}"' for k, v in sorted(labels.items()))
    for line in text.splitlines():
        if line.startswith("#"):
            continue
        key, _, value = line.rpartition(" ")
        metric, _, rest = key.partition("{")
        if metric == name and ",".join(sorted(rest.rstrip("}").split(","))) == wanted:
            return float(value)
    raise AssertionError(f"{name}{{{wanted}}} not in the metrics")


def test_metrics_after_a_replay_through_the_service(tmp_path: Path, clean_env: None) -> None:
    clock = SimulatedClock(START)
    service = Service(load_config(write_config(tmp_path)), clock=clock, notifiers={})
    with ServiceThread(service) as running:
        mentions = synthetic_mentions()
        result = replay(mentions, service, clock, step=timedelta(minutes=5), tail=timedelta(minutes=30))  # type: ignore[arg-type]
        assert any(a.severity for a in result.alerts), "the burst must alert"
        text = httpx.get(f"{running.url}/metrics").text
        incidents = httpx.get(f"{running.url}/api/incidents?state=open").json()
    assert _sample(text, "crisiswatch_mentions_total", source="wire") == sum(m.source == "wire" for m in mentions)
    assert _sample(text, "crisiswatch_mentions_total", source="social") == sum(m.source == "social" for m in mentions)
    assert _sample(text, "crisiswatch_scoring_seconds_count") >= 1
    evaluations = _sample(text, "crisiswatch_detector_evaluations_total", brand="acme")
    assert evaluations >= 6 * 12  # one per 5-minute bucket of the quiet hours at least
    first = result.alerts[0]
    assert _sample(text, "crisiswatch_alerts_total", severity=str(first.severity), state="firing") >= 1
    assert _sample(text, "crisiswatch_outbox_depth") == 0
    assert _sample(text, "crisiswatch_outbox_oldest_age_seconds") == 0
    assert _sample(text, "crisiswatch_state_readable") == 1
    assert sum(_sample(text, "crisiswatch_open_incidents", severity=s) for s in ("info", "warning", "critical")) \
        == len(incidents) == 1
    assert "crisiswatch_source_freshness_seconds" in text
    assert math.isfinite(_sample(text, "crisiswatch_detection_tick_seconds_sum"))


def test_source_labels_are_capped() -> None:
    from service.api.metrics import MAX_SOURCE_LABELS, ServiceMetrics

    metrics = ServiceMetrics()
    metrics.received([Mention(id=str(i), published_at=START, text="x", source=f"s{i}")
                      for i in range(MAX_SOURCE_LABELS + 50)])
    metrics.received([Mention(id="again", published_at=START, text="x", source="s0")])
    text = metrics.render().decode()
    assert text.count("crisiswatch_mentions_total{") == MAX_SOURCE_LABELS + 1
    assert _sample(text, "crisiswatch_mentions_total", source="other") == 50
    assert _sample(text, "crisiswatch_mentions_total", source="s0") == 2


class _Down:
    """A notifier whose receiver never answers."""

    name = "down"

    def send(self, alert: object, target: object, thread_ref: str | None) -> str | None:
        from service.notify.base import DeliveryError

        raise DeliveryError("receiver down", retryable=True)


def test_outbox_metrics_show_undelivered_notifications(tmp_path: Path, clean_env: None) -> None:
    clock = SimulatedClock(START)
    service = Service(load_config(write_config(tmp_path)), clock=clock, notifiers={"down": _Down()})
    result = replay(synthetic_mentions(), service, clock, step=timedelta(minutes=5),  # type: ignore[arg-type]
                    tail=timedelta(minutes=20))
    assert result.alerts
    clock.advance(timedelta(minutes=30))
    service.deliver()
    with ServiceThread(service) as running:
        text = httpx.get(f"{running.url}/metrics").text
    assert _sample(text, "crisiswatch_outbox_depth") >= 1
    assert _sample(text, "crisiswatch_outbox_oldest_age_seconds") >= 30 * 60
    assert _sample(text, "crisiswatch_notification_failures_total") >= 1
    assert _sample(text, "crisiswatch_outbox_overdue") >= 1


class _UnwritableSQLite(SQLiteStore):
    """A real SQLite store whose bucket writes fail (a full disk, say) while ``broken`` is set."""

    broken = True

    def add_to_buckets(self, deltas: object) -> None:  # type: ignore[override]
        if self.broken:
            raise StoreError("database or disk is full")
        super().add_to_buckets(deltas)  # type: ignore[arg-type]


def test_a_store_failure_gets_503_and_the_resend_is_counted(tmp_path: Path, clean_env: None) -> None:
    """SQLite ingests a batch in one transaction: after a 503 nothing of it was kept, so the resend that
    the answer asks for is counted in full (not taken for duplicates)."""
    config = load_config(write_config(tmp_path))
    store = _UnwritableSQLite(str(tmp_path / "cw.db"))
    line = "\n".join(json.dumps(record(m)) for m in synthetic_mentions()[:5])
    with ServiceThread(Service(config, clock=SimulatedClock(START), store=store, notifiers={})) as running:
        failed = post(running.url, line)
        assert failed.status_code == 503 and failed.headers["retry-after"] == "5"
        assert "nothing was ingested, send the request again" in failed.json()["error"]
        store.broken = False
        again = post(running.url, line)
    assert again.status_code == 202 and again.json()["new"] == 5 and again.json()["duplicates"] == 0

"""POST /slack/actions: signed requests (v0 scheme) change the incident; forged or stale ones do not."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlencode

import httpx
import pytest

from service.api.embed import ServiceThread
from service.api.slack import signature
from service.app import Service
from service.clock import SimulatedClock
from service.config import load_config
from service.domain import AlertState, Incident, Severity
from service.notify.blocks import ACTION_ACKNOWLEDGE, ACTION_RESOLVE, ACTION_SNOOZE
from service.notify.console import ConsoleNotifier
from service.replay import replay
from tests.test_api import START, synthetic_mentions, write_config

SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
NOW = START + timedelta(hours=8)


def test_signature_matches_slack_documentation() -> None:
    body = (b"token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V"
            b"&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text="
            b"&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN"
            b"&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c")
    assert signature(SECRET, "1531420618", body) == \
        "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503"


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Service, ServiceThread]]:
    with pytest.MonkeyPatch.context() as patch:
        for name in ("CRISISWATCH_INGEST_TOKEN", "CRISISWATCH_STORE", "SLACK_BOT_TOKEN", "SLACK_WEBHOOK_URL"):
            patch.delenv(name, raising=False)
        patch.setenv("SLACK_SIGNING_SECRET", SECRET)
        config = load_config(write_config(tmp_path_factory.mktemp("slack")))
        service = Service(config, clock=SimulatedClock(NOW), notifiers={})
        with ServiceThread(service) as thread:
            yield service, thread


def _open_incident(service: Service, brand: str) -> str:
    """A critical incident of ``brand`` opened 40 minutes ago; returns its id."""
    opened = NOW - timedelta(minutes=40)
    incident = Incident(
        id=f"{brand}-20240304T0720Z", brand=brand, opened_at=opened, updated_at=opened, last_anomalous_at=opened,
        severity=Severity.CRITICAL, peak_severity=Severity.CRITICAL, crisis_type="product_recall",
        resemblance=0.7, volume=120, peak_volume=120, negative_share=0.8)
    service.store.save_incident(incident)
    return incident.id


def _payload(action: str, incident_id: str) -> bytes:
    payload = {"type": "block_actions", "user": {"id": "U1", "username": "ana", "name": "ana"},
               "actions": [{"action_id": action, "value": incident_id, "type": "button"}]}
    return urlencode({"payload": json.dumps(payload)}).encode()


def _send(url: str, body: bytes, *, secret: str = SECRET, at: float | None = None,
          sig: str | None = None) -> httpx.Response:
    timestamp = str(int(at if at is not None else NOW.timestamp()))
    headers = {"X-Slack-Request-Timestamp": timestamp,
               "X-Slack-Signature": sig or signature(secret, timestamp, body),
               "Content-Type": "application/x-www-form-urlencoded"}
    return httpx.post(f"{url}/slack/actions", content=body, headers=headers, timeout=30)


def test_acknowledge_snooze_resolve(service: tuple[Service, ServiceThread]) -> None:
    svc, thread = service
    incident_id = _open_incident(svc, "acme")
    ack = _send(thread.url, _payload(ACTION_ACKNOWLEDGE, incident_id))
    assert ack.status_code == 200 and ack.json()["ok"], ack.text
    assert svc.store.incident(incident_id).acknowledged_by == "ana"

    snooze = _send(thread.url, _payload(ACTION_SNOOZE, incident_id))
    assert snooze.json()["ok"]
    assert svc.store.get_ref(f"snooze:{incident_id}") == (NOW + timedelta(hours=1)).isoformat()

    resolve = _send(thread.url, _payload(ACTION_RESOLVE, incident_id))
    assert resolve.json()["ok"]
    incident = svc.store.incident(incident_id)
    assert incident.state is AlertState.RESOLVED and incident.resolved_at == NOW
    assert svc.store.open_incident("acme") is None
    again = _send(thread.url, _payload(ACTION_RESOLVE, incident_id))
    assert again.status_code == 200 and not again.json()["ok"]

    listed = next(i for i in httpx.get(f"{thread.url}/api/incidents").json() if i["id"] == incident_id)
    assert [e["action"] for e in listed["timeline"]] == ["acknowledged", "snoozed", "resolved"]
    assert {e["by"] for e in listed["timeline"]} == {"ana"}
    assert listed["snoozed_until"] == (NOW + timedelta(hours=1)).isoformat()


@pytest.mark.parametrize("forgery", ["wrong secret", "tampered body", "stale", "future", "no headers", "garbage"])
def test_forged_or_stale_requests_are_refused(service: tuple[Service, ServiceThread], forgery: str) -> None:
    svc, thread = service
    incident_id = _open_incident(svc, "forged")
    refused_before = _refused(thread.url)
    body = _payload(ACTION_RESOLVE, incident_id)
    if forgery == "wrong secret":
        response = _send(thread.url, body, secret=SECRET[::-1])
    elif forgery == "tampered body":
        genuine = signature(SECRET, str(int(NOW.timestamp())), _payload(ACTION_ACKNOWLEDGE, incident_id))
        response = _send(thread.url, body, sig=genuine)
    elif forgery == "stale":
        response = _send(thread.url, body, at=(NOW - timedelta(minutes=6)).timestamp())
    elif forgery == "future":
        response = _send(thread.url, body, at=(NOW + timedelta(minutes=6)).timestamp())
    elif forgery == "garbage":
        response = _send(thread.url, body, sig="v0=" + "0" * 64)
    else:
        response = httpx.post(f"{thread.url}/slack/actions", content=body)
    assert response.status_code == 401
    incident = svc.store.incident(incident_id)
    assert incident.is_open and incident.acknowledged_by is None
    assert _refused(thread.url) == refused_before + 1


def _refused(url: str) -> float:
    for line in httpx.get(f"{url}/metrics").text.splitlines():
        if line.startswith('crisiswatch_slack_actions_total{action="unknown",result="refused"}'):
            return float(line.rpartition(" ")[2])
    return 0.0


def test_signed_but_unknown_action_or_incident(service: tuple[Service, ServiceThread]) -> None:
    svc, thread = service
    incident_id = _open_incident(svc, "other")
    assert _send(thread.url, _payload("delete_everything", incident_id)).status_code == 400
    unknown = _send(thread.url, _payload(ACTION_ACKNOWLEDGE, "nope-1"))
    assert unknown.status_code == 200 and not unknown.json()["ok"] and "not found" in unknown.json()["text"]
    assert _send(thread.url, b"payload=%7Bnot-json").status_code == 400


def test_disabled_without_signing_secret(service: tuple[Service, ServiceThread],
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    svc, thread = service
    incident_id = _open_incident(svc, "disabled")
    monkeypatch.delenv("SLACK_SIGNING_SECRET")
    response = _send(thread.url, _payload(ACTION_ACKNOWLEDGE, incident_id))
    assert svc.store.incident(incident_id).acknowledged_by is None
    assert response.status_code == 503 and "SLACK_SIGNING_SECRET" in response.json()["error"]


def test_an_action_on_a_notified_incident_is_notified_and_sticks(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    for name in ("CRISISWATCH_STORE", "SLACK_BOT_TOKEN", "SLACK_WEBHOOK_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("SLACK_SIGNING_SECRET", SECRET)
    clock = SimulatedClock(START)
    service = Service(load_config(write_config(tmp_path)), clock=clock, notifiers={"console": ConsoleNotifier()})
    replay(synthetic_mentions(), service, clock, step=timedelta(minutes=5),  # type: ignore[arg-type]
           tail=timedelta(minutes=20))
    incident = service.store.open_incident("acme")
    assert incident is not None
    service.deliver()
    capsys.readouterr()
    with ServiceThread(service) as thread:
        at = clock.now().timestamp()
        assert _send(thread.url, _payload(ACTION_RESOLVE, incident.id), at=at).json()["ok"]
        service.deliver()
        resolved_at = clock.now()
        clock.advance(timedelta(minutes=10))
        service.tick()  # the detector still sees the burst: the resolved incident must stay resolved
        assert service.store.incident(incident.id).resolved_at == resolved_at
    assert "Resolved by ana" in capsys.readouterr().err, "the action itself is notified (console: stderr)"

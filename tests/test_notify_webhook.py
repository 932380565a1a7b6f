"""The generic webhook notifier: signed JSON body, retryable errors (httpx.MockTransport)."""

from __future__ import annotations

import hashlib
import hmac
import json
from dataclasses import replace
from datetime import UTC, datetime

import httpx
import pytest

from service.config import WebhookConfig
from service.domain import Alert, AlertState, Severity
from service.notify.base import DeliveryError, Target
from service.notify.context import AlertContext
from service.notify.delivery import Delivery
from service.notify.webhook import KEY_HEADER, SIGNATURE_HEADER, TIMESTAMP_HEADER, WebhookNotifier
from service.yamlread import Secret

AT = datetime(2010, 1, 21, 19, 5, tzinfo=UTC)
ALERT = Alert(at=AT, brand="toyota", incident_id="toyota-1", state=AlertState.FIRING, severity=Severity.CRITICAL,
              crisis_type="product_recall", resemblance=0.8, volume=300, negative_share=0.7,
              summary="toyota: recall <!channel>", sequence=1, opened_at=AT)
HOOKS = {"intel": WebhookConfig(url=Secret("https://hooks.example.com/x?token=secret-in-url"),
                                secret=Secret("s3cret"))}


def notifier(handler) -> WebhookNotifier:
    return WebhookNotifier(HOOKS, client=httpx.Client(transport=httpx.MockTransport(handler)))


def delivery() -> Delivery:
    return Delivery(alert=ALERT, target=Target(receiver="intel"), thread_ref=None, key="toyota-1#1->intel/webhook",
                    context=AlertContext(acknowledged_by="alice", top_terms=("recall",)))


def test_signed_json_body() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(204)

    assert notifier(handler).deliver(delivery()) is None
    [request] = seen
    body = request.content
    timestamp = request.headers[TIMESTAMP_HEADER]
    assert timestamp == str(int(AT.timestamp()))
    expected = hmac.new(b"s3cret", timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    assert request.headers[SIGNATURE_HEADER] == f"sha256={expected}"
    assert request.headers[KEY_HEADER] == "toyota-1#1->intel/webhook"
    record = json.loads(body)
    assert record["version"] == 1 and record["receiver"] == "intel"
    assert record["alert"]["incident_id"] == "toyota-1" and record["alert"]["severity"] == "critical"
    assert record["context"]["acknowledged_by"] == "alice" and record["context"]["top_terms"] == ["recall"]


@pytest.mark.parametrize(("reply", "retryable", "retry_after"), [
    (httpx.Response(429, headers={"Retry-After": "30"}), True, 30.0),
    (httpx.Response(503), True, None),
    (httpx.Response(408), True, None),
    (httpx.Response(404), False, None),
    (httpx.Response(401), False, None),
])
def test_errors_say_whether_to_retry(reply: httpx.Response, retryable: bool, retry_after: float | None) -> None:
    with pytest.raises(DeliveryError) as caught:
        notifier(lambda request: reply).deliver(delivery())
    assert caught.value.retryable is retryable and caught.value.retry_after == retry_after
    assert "secret-in-url" not in str(caught.value) and "s3cret" not in str(caught.value)


def test_network_errors_are_retryable_and_unknown_teams_are_not() -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    with pytest.raises(DeliveryError) as caught:
        notifier(refuse).deliver(delivery())
    assert caught.value.retryable and "secret-in-url" not in str(caught.value)
    with pytest.raises(DeliveryError) as missing:
        notifier(refuse).send(ALERT, Target(receiver="nobody"), None)
    assert not missing.value.retryable


def test_signed_with_the_send_time_of_the_dispatcher() -> None:
    seen: list[httpx.Request] = []  # review finding 8: a delayed item was signed with the alert's old time
    late = datetime(2010, 1, 21, 23, 0, tzinfo=UTC)

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200)

    notifier(handler).deliver(replace(delivery(), sent_at=late))
    [request] = seen
    assert request.headers[TIMESTAMP_HEADER] == str(int(late.timestamp()))
    expected = hmac.new(b"s3cret", request.headers[TIMESTAMP_HEADER].encode() + b"." + request.content,
                        hashlib.sha256).hexdigest()
    assert request.headers[SIGNATURE_HEADER] == f"sha256={expected}"


def test_the_dispatcher_signs_a_delayed_item_when_it_sends_it() -> None:
    from service.config import parse_config
    from service.notify.outbox import Dispatcher
    from service.store.sqlite import SQLiteStore

    config = parse_config("""\
version: 1
brands:
  toyota: {query: toyota, team: night}
teams:
  night: {webhook: {url: "https://hooks.example/x", secret: "s3cret"}}
route:
  team: night
  quiet_hours: {from: "19:00", to: "23:00", timezone: UTC, except_critical: false}
""")
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200)

    hooks = {"night": config.teams["night"].webhook}
    webhook = WebhookNotifier(hooks, client=httpx.Client(transport=httpx.MockTransport(handler)))  # type: ignore[dict-item]
    dispatcher = Dispatcher(config, SQLiteStore(":memory:"), {"webhook": webhook})
    dispatcher.dispatch([ALERT], AT)  # 19:05 UTC: held until 23:00
    assert dispatcher.deliver_due(AT).delivered == 0
    end = datetime(2010, 1, 21, 23, 0, tzinfo=UTC)
    assert dispatcher.deliver_due(end).delivered == 1
    assert [request.headers[TIMESTAMP_HEADER] for request in seen] == [str(int(end.timestamp()))]

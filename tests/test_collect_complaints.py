"""NHTSA owner complaints: the parser on the complaintsByVehicle format sample, the fetcher through
httpx.MockTransport (requests per model and year, 304, 429 + Retry-After, 500 then success, cursor
kept across a restart), and option checks located in alerts.yaml."""

from __future__ import annotations

import json
import random
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from service.collect.base import ParseError
from service.collect.complaints import parse_nhtsa_complaints, us_day
from service.collect.registry import build_collector, check_options
from service.config import ConfigErrors, SourceConfig, parse_config
from service.domain import SourceKind

FEEDS = Path(__file__).parent / "fixtures" / "feeds"
SAMPLE = (FEEDS / "nhtsa_complaints_honda_crv_2019.json").read_bytes()
NOW = datetime(2026, 11, 26, 10, 0, tzinfo=UTC)


def source(**options: object) -> SourceConfig:
    values = {"make": "honda", "models": ["cr-v"], "model_years": [2019], **options}
    return SourceConfig(name="nhtsa-complaints-honda", type="nhtsa_complaints", kind=SourceKind.REVIEW,
                        interval=timedelta(hours=1), timeout=timedelta(seconds=5), brands=("honda",),
                        options=values)


class Server:
    """A scripted MockTransport: answers from a list (the last one repeats), records requests."""

    def __init__(self, *answers: httpx.Response) -> None:
        self.answers = list(answers)
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        return self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]


def collector(server: Server, sleeps: list[float] | None = None, **options: object):
    client = httpx.Client(transport=httpx.MockTransport(server))
    return build_collector(source(**options), client, sleep=(sleeps if sleeps is not None else []).append,
                           rng=random.Random(3))


def test_complaints_sample_becomes_one_mention_per_complaint() -> None:
    mentions = parse_nhtsa_complaints(SAMPLE, source=source())
    assert [m.id for m in mentions] == ["nhtsa-complaint:11653218", "nhtsa-complaint:11652907",
                                        "nhtsa-complaint:11650044"]  # the undated fourth one is left out
    oil, brakes, fire = mentions
    assert oil.published_at == datetime(2026, 11, 24, tzinfo=UTC)  # MM/DD/YYYY, unlike the recalls API
    assert oil.text.startswith("NHTSA complaint 11653218 (HONDA CR-V 2019): ENGINE, FUEL/PROPULSION SYSTEM.\n")
    assert oil.text.endswith("DEALER SAYS IT IS NORMAL AND REFUSED A REPAIR.")
    assert brakes.text.splitlines()[1] == "Crash, 1 injured."
    assert "(HONDA CR-V 2019)" in brakes.text and "UNKNOWN" not in brakes.text  # equipment rows are no vehicle
    assert fire.text.splitlines()[1] == "Fire."
    assert oil.kind is SourceKind.REVIEW and oil.brand == "honda" and oil.lang == "en" and oil.author is None
    assert oil.url == "https://api.nhtsa.gov/complaints/complaintNumber/11653218"
    assert oil.title == "Complaint 11653218: ENGINE, FUEL/PROPULSION SYSTEM"


def test_a_complaint_listed_twice_is_one_mention_and_bad_records_are_skipped() -> None:
    payload = json.loads(SAMPLE)
    first = payload["results"][0]
    payload["results"] += [first, "not a record", {**first, "odiNumber": 1, "dateComplaintFiled": "02/30/2026"},
                           {**first, "odiNumber": 2, "summary": None, "components": ""}]
    assert len(parse_nhtsa_complaints(json.dumps(payload).encode(), source=source())) == 3


@pytest.mark.parametrize("body", [b'{"count": 0, "message": "x"}', b"[]", b"<html>", b'{"results": {}}'])
def test_a_payload_without_a_results_list_is_a_parse_error(body: bytes) -> None:
    with pytest.raises(ParseError):
        parse_nhtsa_complaints(body, source=source())


def test_us_day() -> None:
    assert us_day("01/02/2026") == datetime(2026, 1, 2, tzinfo=UTC)
    assert [us_day(v) for v in ("13/01/2026", "02/30/2026", "1/2/2026", "01/01/1980", 20261124, "ab/cd/efgh")] \
        == [None] * 6


def test_one_request_per_model_and_year_on_the_complaints_endpoint() -> None:
    server = Server(httpx.Response(200, content=SAMPLE))
    result = collector(server, models=["cr-v", "hr-v"], model_years=[2019, 2020]).collect(None, NOW)
    asked = [(r.url.path, r.url.params["model"], r.url.params["modelYear"]) for r in server.requests]
    assert asked == [("/complaints/complaintsByVehicle", "cr-v", "2019"), ("/complaints/complaintsByVehicle",
                                                                             "cr-v", "2020"),
                     ("/complaints/complaintsByVehicle", "hr-v", "2019"), ("/complaints/complaintsByVehicle",
                                                                             "hr-v", "2020")]
    assert all(r.url.params["make"] == "honda" for r in server.requests)
    # the same complaints in every answer are one mention each; the 05/11 one is older than a week
    assert [m.id for m in result.mentions] == ["nhtsa-complaint:11653218", "nhtsa-complaint:11652907"]


def test_cursor_survives_a_restart_and_a_304_brings_nothing() -> None:
    server = Server(httpx.Response(200, content=SAMPLE, headers={"ETag": '"c1"'}))
    first = collector(server).collect(None, NOW)
    stored = json.loads(json.dumps(first.cursor))  # what the store keeps
    assert len(first.mentions) == 2 and len(stored["validators"]) == 1
    server = Server(httpx.Response(304))
    restarted = collector(server).collect(stored, NOW + timedelta(hours=1))
    assert server.requests[0].headers["If-None-Match"] == '"c1"'
    assert restarted.mentions == () and restarted.cursor["validators"] == stored["validators"]
    assert restarted.cursor["recent"] == stored["recent"]
    server = Server(httpx.Response(200, content=SAMPLE, headers={"ETag": '"c2"'}))
    again = collector(server).collect(restarted.cursor, NOW + timedelta(hours=2))
    assert again.mentions == ()  # changed answer, same complaints: nothing new
    assert list(again.cursor["validators"].values()) == [['"c2"', None]]


def test_429_with_retry_after_and_500_then_success() -> None:
    sleeps: list[float] = []
    server = Server(httpx.Response(429, headers={"Retry-After": "7"}), httpx.Response(500),
                    httpx.Response(200, content=SAMPLE))
    result = collector(server, sleeps, attempts=3).collect(None, NOW)
    assert len(server.requests) == 3 and sleeps[0] == 7.0 and 0.5 <= sleeps[1] <= 2.0
    assert len(result.mentions) == 2


def test_options_are_checked_and_located_in_alerts_yaml() -> None:
    assert check_options("nhtsa_complaints", {"make": "honda", "models": ["cr-v"]}) == []
    assert check_options("nhtsa_complaints", {"make": "honda", "models": ["cr-v"], "model_years": [20190]}) == [
        ("model_years", 'option "model_years" must be model years between 1950 and 2100, not 20190')]
    text = """
brands:
  honda: {query: honda}
sources:
  complaints:
    type: nhtsa_complaints
    kind: review
    make: honda
    model_years: [20190]
"""
    with pytest.raises(ConfigErrors) as caught:
        parse_config(text, "alerts.yaml")
    lines = str(caught.value).splitlines()
    assert 'alerts.yaml:6: sources.complaints: missing option "models" required by source type "nhtsa_complaints"' \
        in lines
    assert ('alerts.yaml:9: sources.complaints.model_years: option "model_years" must be model years between 1950 '
            "and 2100, not 20190") in lines

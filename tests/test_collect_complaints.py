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
from hypothesis import given, settings
from hypothesis import strategies as st

from service.collect import regulators
from service.collect.base import ParseError
from service.collect.complaints import _COMPLAINTS, parse_nhtsa_complaints, us_day
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


_TEXTS = st.sampled_from(["ENGINE", "ENGINE,FUEL/PROPULSION SYSTEM", " AIR BAGS , ,SEATS ", ",STEERING,", "",
                           "A &amp; B,<b>C</b>", "A  B,C", "caf\u00e9 ,\u00a0x", "line\nbreak,x", None])
_PRODUCT = st.fixed_dictionaries({
    "type": st.sampled_from(["Vehicle", "Equipment", None]),
    "productMake": st.sampled_from(["HONDA", " Honda ", "", None]),
    "productModel": st.sampled_from(["CR-V", "A &amp; B", None]),
    "productYear": st.sampled_from(["2019", 2019, "", None])})
_RECORD = st.fixed_dictionaries({
    "odiNumber": st.integers(min_value=1, max_value=4), "dateComplaintFiled": st.sampled_from(["11/24/2026", "x"]),
    "summary": _TEXTS, "components": _TEXTS, "products": st.lists(_PRODUCT, max_size=2),
    "crash": st.sampled_from([True, False, None]), "fire": st.sampled_from([True, False, None]),
    "numberOfInjuries": st.sampled_from([0, 1, 3, None]), "numberOfDeaths": st.sampled_from([0, 2, None])})


@settings(max_examples=300, deadline=None)
@given(records=st.lists(_RECORD, max_size=6))
def test_what_a_typed_payload_remembers_changes_nothing(records: list[dict[str, object]]) -> None:
    """Typed, the parser remembers vehicles, component lists and severities per payload; the lenient
    path (taken for the whole payload when one item is not an object) computes each every time."""
    typed, lenient = json.dumps({"results": records}).encode(), json.dumps({"results": [*records, 0]}).encode()
    assert _COMPLAINTS.decode(typed)[1] and not _COMPLAINTS.decode(lenient)[1]
    assert parse_nhtsa_complaints(typed, source=source()) == parse_nhtsa_complaints(lenient, source=source())


_NARRATIVE = st.lists(st.sampled_from(["THE", "CAR", ".", " ", "  ", "\n", "<", "&", "\u00e9"]),
                      max_size=10).map("".join)


@settings(max_examples=200, deadline=None)
@given(summaries=st.lists(st.one_of(_NARRATIVE, st.none()), min_size=1, max_size=12), escaped=st.booleans(),
       batch=st.booleans())
def test_summaries_tested_at_once_are_cleaned_as_one_by_one(summaries: list[str | None], escaped: bool,
                                                            batch: bool) -> None:
    """The summaries' double spaces are looked for in all of them at once (numpy from enough
    characters, forced here or not): the mentions are those of the lenient path, which cleans each."""
    base = json.loads(SAMPLE)["results"][0]
    records = [{**base, "odiNumber": 11_000_000 + index, "summary": summary} for index, summary in enumerate(summaries)]
    typed = json.dumps({"results": records}, ensure_ascii=escaped).encode()
    lenient = json.dumps({"results": [*records, 0]}, ensure_ascii=escaped).encode()
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(regulators, "_BATCH_CHARS", 0 if batch else 10**9)
        assert parse_nhtsa_complaints(typed, source=source()) == parse_nhtsa_complaints(lenient, source=source())


def test_counts_and_flags_of_other_types_are_read_as_the_lenient_path_always_did() -> None:
    first = json.loads(SAMPLE)["results"][0]
    odd = [{**first, "odiNumber": 1, "crash": 1, "fire": "true", "numberOfInjuries": 2.0, "numberOfDeaths": "3"},
           {**first, "odiNumber": 2, "crash": True, "numberOfInjuries": True, "numberOfDeaths": 2**70}]
    one, two = parse_nhtsa_complaints(json.dumps({"results": odd}).encode(), source=source())
    assert one.text.splitlines()[1] == "2 injured, 3 dead."  # only a true boolean is a flag
    assert two.text.splitlines()[1] == f"Crash, {float(2**70):.0f} dead."  # a boolean is no count


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

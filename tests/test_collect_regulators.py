"""NHTSA and RappelConso parsers on format samples, and their collectors through MockTransport."""

from __future__ import annotations

import doctest
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from service.collect import regulators
from service.collect.base import ParseError
from service.collect.registry import build_collector, check_options
from service.collect.regulators import _RECALLS, double_spaced, parse_nhtsa_recalls, parse_rappelconso
from service.config import SourceConfig
from service.domain import SourceKind

FEEDS = Path(__file__).parent / "fixtures" / "feeds"
NHTSA = (FEEDS / "nhtsa_recalls_toyota_camry_2010.json").read_bytes()
RAPPELCONSO = (FEEDS / "rappelconso_v2_records.json").read_bytes()


def source(type_: str, **options: object) -> SourceConfig:
    return SourceConfig(name=f"{type_}-test", type=type_, kind=SourceKind.NEWS, interval=timedelta(hours=1),
                        timeout=timedelta(seconds=5), brands=("toyota",) if type_ == "nhtsa" else (),
                        options=options)


def test_nhtsa_campaigns_are_one_mention_each_naming_every_vehicle() -> None:
    mentions = parse_nhtsa_recalls(NHTSA, source=source("nhtsa", make="toyota", models=["camry"]))
    assert [m.id for m in mentions] == ["nhtsa:10V017000", "nhtsa:09V388000"]
    pedal = mentions[0]
    assert pedal.published_at == datetime(2010, 1, 21, tzinfo=UTC)
    assert pedal.kind is SourceKind.REGULATOR and pedal.brand == "toyota" and pedal.lang == "en"
    assert pedal.text.startswith("NHTSA recall 10V017000 (TOYOTA CAMRY 2010, TOYOTA RAV4 2010): "
                                 "VEHICLE SPEED CONTROL:ACCELERATOR PEDAL.\nTOYOTA IS RECALLING")
    assert "Consequence: A STICKING ACCELERATOR PEDAL" in pedal.text and "Remedy: DEALERS WILL" in pedal.text
    assert pedal.title == "Recall 10V017000: VEHICLE SPEED CONTROL:ACCELERATOR PEDAL"
    assert pedal.url == "https://www.nhtsa.gov/recalls?nhtsaId=10V017000"
    assert pedal.author == "Toyota Motor Engineering & Manufacturing"
    assert mentions[1].published_at == datetime(2009, 10, 5, tzinfo=UTC)


_RECALL = st.fixed_dictionaries({
    "NHTSACampaignNumber": st.sampled_from(["10V017000", "09V388000", " 10V017000 ", "10V-1", "", None]),
    "ReportReceivedDate": st.sampled_from(["21/01/2010", "2010-01-21T00:00:00Z", "31/02/2010", None]),
    "Make": st.sampled_from(["TOYOTA", " Toyota ", "", None]), "Model": st.sampled_from(["CAMRY", "A &amp; B", None]),
    "ModelYear": st.sampled_from(["2010", "", None]),
    "Component": st.sampled_from(["VEHICLE SPEED CONTROL", " X ", "A  B", "<b>C</b>", "", None]),
    "Summary": st.sampled_from(["TOYOTA IS RECALLING", "caf\u00e9", "a\nb", "", None]),
    "Consequence": st.sampled_from(["A CRASH", "&lt;b&gt;", "", None]), "Remedy": st.sampled_from(["FREE", " ", None]),
    "Manufacturer": st.sampled_from(["Toyota Motor Engineering & Manufacturing", "Toyota", "", None])})


@settings(max_examples=300, deadline=None)
@given(records=st.lists(_RECALL, max_size=6))
def test_nhtsa_what_a_typed_payload_remembers_changes_nothing(records: list[dict[str, object]]) -> None:
    """Typed, the parser remembers days, vehicles and manufacturers per payload and takes letters and
    digits as a clean id; the lenient path (taken for the whole payload when one item is not an
    object) cleans each value every time."""
    typed, lenient = json.dumps({"results": records}).encode(), json.dumps({"results": [*records, 0]}).encode()
    assert _RECALLS.decode(typed)[1] and not _RECALLS.decode(lenient)[1]
    assert parse_nhtsa_recalls(typed, source=source("nhtsa")) == parse_nhtsa_recalls(lenient, source=source("nhtsa"))


def test_nhtsa_campaign_ids_are_cleaned_unless_letters_and_digits_only() -> None:
    record = json.loads(NHTSA)["results"][0]
    campaigns = [" 10V017000 ", "10V&amp;1", "10V\u00a02", "10V017000", "\u0661\u0662", "x" * 1001]
    payload = json.dumps({"results": [{**record, "NHTSACampaignNumber": value} for value in campaigns]}).encode()
    assert [m.id for m in parse_nhtsa_recalls(payload, source=source("nhtsa"))] == [
        "nhtsa:10V017000", "nhtsa:10V&1", "nhtsa:10V 2", "nhtsa:\u0661\u0662", f"nhtsa:{'x' * 999}\u2026"]


def test_nhtsa_skips_records_without_campaign_or_with_impossible_dates() -> None:
    data = (b'{"Count":3,"results":[{"NHTSACampaignNumber":"X1","ReportReceivedDate":"31/02/2010"},'
            b'{"ReportReceivedDate":"21/01/2010"},"junk",'
            b'{"NHTSACampaignNumber":"X2","ReportReceivedDate":"2010-01-21T00:00:00Z","Summary":"<script>x</script>ok"}]}')
    [mention] = parse_nhtsa_recalls(data, source=source("nhtsa"))
    assert mention.id == "nhtsa:X2" and "script" not in mention.text


@pytest.mark.parametrize("data", [b"", b"[]", b'{"results": {}}', b'{"Count": 0}', b"\x00", b'{"results": '])
def test_nhtsa_wrong_shapes_are_parse_errors(data: bytes) -> None:
    with pytest.raises(ParseError):
        parse_nhtsa_recalls(data, source=source("nhtsa"))


def test_rappelconso_sheets() -> None:
    mentions = parse_rappelconso(RAPPELCONSO, source=source("rappelconso"))
    assert [m.id for m in mentions] == ["rappelconso:2026-11-0183", "rappelconso:2026-11-0171"]
    peugeot = mentions[0]
    assert peugeot.kind is SourceKind.REGULATOR and peugeot.lang == "fr" and peugeot.brand is None
    assert peugeot.published_at == datetime(2026, 11, 25, 16, 42, 7, tzinfo=UTC)
    assert peugeot.text == ("Rappel conso 2026-11-0183 : Peugeot 3008 hybride Peugeot\nMotif : Risque de défaillance "
                            "du calculateur de freinage pouvant entraîner un allongement des distances de freinage.\n"
                            "Risques : Blessures (accident de la route)\nCatégorie : automobiles")
    assert peugeot.url == "https://rappel.conso.gouv.fr/fiche-rappel/17452/interne"
    # escaped markup is decoded once and stays literal text (the notifier escapes it for Slack)
    assert mentions[1].title == "Rappel : Trottinette électrique <b>X9</b> Urbanglide"


def test_nhtsa_collector_asks_each_model_and_year_and_tolerates_one_failure() -> None:
    asked: list[tuple[str, str]] = []

    def api(request: httpx.Request) -> httpx.Response:
        asked.append((request.url.params["model"], request.url.params["modelYear"]))
        if request.url.params["model"] == "prius":
            return httpx.Response(404, json={"Count": 0, "Message": "No results", "results": []})
        return httpx.Response(200, content=NHTSA)

    config = source("nhtsa", make="toyota", models=["camry", "prius"], years_back=1)
    collector = build_collector(config, httpx.Client(transport=httpx.MockTransport(api)), sleep=lambda s: None)
    now = datetime(2010, 1, 25, tzinfo=UTC)
    result = collector.collect(None, now)
    assert asked == [("camry", "2011"), ("camry", "2010"), ("camry", "2009"),
                     ("prius", "2011"), ("prius", "2010"), ("prius", "2009")]
    assert [m.id for m in result.mentions] == ["nhtsa:10V017000"]  # 09V388000 is older than the lookback
    assert result.cursor is not None and "nhtsa:09V388000" in result.cursor["recent"]
    assert collector.collect(result.cursor, now + timedelta(hours=1)).mentions == ()


def test_rappelconso_collector_sends_the_query() -> None:
    seen: list[httpx.Request] = []

    def api(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, content=RAPPELCONSO)

    config = source("rappelconso", where='categorie_produit = "automobiles et moyens de déplacement"', limit=20)
    collector = build_collector(config, httpx.Client(transport=httpx.MockTransport(api)))
    result = collector.collect(None, datetime(2026, 11, 26, 10, tzinfo=UTC))
    assert len(result.mentions) == 2
    params = seen[0].url.params
    assert params["order_by"] == "date_publication desc" and params["limit"] == "20"
    assert params["where"] == 'categorie_produit = "automobiles et moyens de déplacement"'


def test_regulator_options() -> None:
    assert check_options("nhtsa", {"make": "toyota", "models": ["camry"], "model_years": [2010]}) == []
    assert check_options("nhtsa", {"make": "toyota", "models": [], "years_back": 50}) == [
        ("models", 'option "models" must not be empty'),
        ("years_back", 'option "years_back" must be between 0 and 10, not 50'),
    ]
    assert check_options("rappelconso", {"limit": 500}) == [
        ("limit", 'option "limit" must be between 1 and 100, not 500')]


_PIECE = st.lists(st.sampled_from(["A", "B", " ", "  ", ".", "<", "&", "&amp;", "\n", "\u00e9", "\u00a0", "\x1f",
                                    "\u2028", ":"]), max_size=8).map("".join)


@settings(max_examples=400, deadline=None)
@given(fields=st.lists(_PIECE, min_size=4, max_size=4), campaign=st.sampled_from(["10V017000", "10V017000-57", "10V 1",
                                                                               "10V<1", "10V&1", "10V\u00e91", "-"]),
       make=st.sampled_from(["TOYOTA", "", " A "]), escaped=st.booleans(), again=st.booleans())
def test_nhtsa_notice_tested_whole_is_the_notice_of_the_cleaned_fields(
        fields: list[str], campaign: str, make: str, escaped: bool, again: bool) -> None:
    """The usual notice is put together from the fields as decoded and tested once (typed payloads
    vouched ASCII-printable only); it must equal what cleaning each field gives (the lenient path),
    with spaces, markup, entities, controls and non-ASCII at the fields' edges and inside them."""
    component, summary, consequence, remedy = fields
    record = {"NHTSACampaignNumber": campaign, "ReportReceivedDate": "21/01/2010", "Make": make, "Model": "CAMRY",
              "ModelYear": "2010", "Component": component, "Summary": summary, "Consequence": consequence,
              "Remedy": remedy, "Manufacturer": "Toyota Motor Engineering & Manufacturing"}
    records = [record, {**record, "Model": "RAV4"}] if again else [record]  # again: the mention is made again
    typed = json.dumps({"results": records}, ensure_ascii=escaped).encode()
    lenient = json.dumps({"results": [*records, 0]}, ensure_ascii=escaped).encode()
    assert _RECALLS.decode(typed)[1] and not _RECALLS.decode(lenient)[1]
    mentions = parse_nhtsa_recalls(typed, source=source("nhtsa"))
    assert mentions == parse_nhtsa_recalls(lenient, source=source("nhtsa"))
    assert len(mentions) == 1 and mentions[0].text.partition(")")[0].endswith("RAV4 2010") == again


def test_nhtsa_usual_notice_of_plain_fields() -> None:
    record = json.loads(NHTSA)["results"][1]
    payload = json.dumps({"results": [{**record, "NHTSACampaignNumber": "09V388000-7", "Component": "AIR BAGS",
                                       "Summary": "S.", "Consequence": "C.", "Remedy": "R."}]}).encode()
    [mention] = parse_nhtsa_recalls(payload, source=source("nhtsa"))
    assert mention.text == "NHTSA recall 09V388000-7 (TOYOTA CAMRY 2010): AIR BAGS.\nS.\nConsequence: C.\nRemedy: R."
    assert mention.title == "Recall 09V388000-7: AIR BAGS" and mention.id == "nhtsa:09V388000-7"


_SPACED = st.lists(st.sampled_from(["A", " ", "  ", "\n", ".", "\u00e9"]), max_size=12).map("".join)


@settings(max_examples=300, deadline=None)
@given(texts=st.lists(_SPACED, max_size=12), batch=st.booleans())
def test_double_spaced_finds_the_texts_holding_two_spaces(texts: list[str], batch: bool) -> None:
    """At once (numpy, from :data:`regulators._BATCH_CHARS` characters of ASCII) or one by one, the
    same texts: no pair spans two texts, and a text with several pairs is named once."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(regulators, "_BATCH_CHARS", 0 if batch else 10**9)
        assert double_spaced(texts) == [index for index, text in enumerate(texts) if "  " in text]


_PLAIN_PIECE = st.lists(st.sampled_from(["A", "B", ".", ":", " ", "  "]), min_size=1, max_size=8).map("".join)
"""Mostly plain fields, some with double spaces (or spaces at their edges)."""


@settings(max_examples=300, deadline=None)
@given(notices=st.lists(st.lists(_PLAIN_PIECE, min_size=4, max_size=4), min_size=1, max_size=12),
       other=st.one_of(st.none(), st.tuples(st.integers(min_value=0, max_value=47), _PIECE)),
       repeat=st.one_of(st.none(), st.integers(min_value=0, max_value=11)), escaped=st.booleans())
def test_nhtsa_notices_tested_at_once_give_the_notices_of_the_cleaned_fields(
        notices: list[list[str]], other: tuple[int, str] | None, repeat: int | None, escaped: bool) -> None:
    """Many usual notices, their double spaces looked for at once (one campaign maybe listed again
    for another vehicle, one field maybe any other text): the mentions of the lenient path, which
    cleans each field."""
    if other is not None:
        at, text = other
        notices[at // 4 % len(notices)][at % 4] = text
    base = json.loads(NHTSA)["results"][0]
    records = [{**base, "NHTSACampaignNumber": f"10V{index:06}", "Component": component, "Summary": summary,
                "Consequence": consequence, "Remedy": remedy}
               for index, (component, summary, consequence, remedy) in enumerate(notices)]
    if repeat is not None:
        records.append({**records[repeat % len(records)], "Model": "RAV4"})
    typed = json.dumps({"results": records}, ensure_ascii=escaped).encode()
    lenient = json.dumps({"results": [*records, 0]}, ensure_ascii=escaped).encode()
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(regulators, "_BATCH_CHARS", 0)
        mentions = parse_nhtsa_recalls(typed, source=source("nhtsa"))
        assert mentions == parse_nhtsa_recalls(lenient, source=source("nhtsa"))


def test_nhtsa_long_notices_with_double_spaces_are_cleaned() -> None:
    """A real response's size (numpy looks for the double spaces): the notices holding one are
    collapsed, the others kept as they are."""
    base = json.loads(NHTSA)["results"][0]
    summary = base["Summary"]
    records = [{**base, "NHTSACampaignNumber": f"10V{index:06}",
                "Summary": summary.replace(". ", ".  ") if index % 7 == 3 else summary} for index in range(40)]
    mentions = parse_nhtsa_recalls(json.dumps({"results": records}).encode(), source=source("nhtsa"))
    assert sum(len(mention.text) for mention in mentions) >= regulators._BATCH_CHARS
    assert all("  " not in mention.text and summary in mention.text for mention in mentions)
    assert mentions == parse_nhtsa_recalls(json.dumps({"results": [*records, 0]}).encode(), source=source("nhtsa"))


def test_doctests() -> None:
    result = doctest.testmod(regulators)
    assert result.failed == 0 and result.attempted > 0

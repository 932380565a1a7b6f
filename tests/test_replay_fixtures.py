"""The replay scenario library (tests/fixtures/replays) is well formed.

Every folder must replay cleanly: each line a valid mention record per the DESIGN.md contract, sorted
by event time, ids unique, no ``brand`` field and a text naming a configured brand; its labels
(scenario.yaml) and expectations (expect.yaml) valid; its provenance README present. The library as a
whole must cover the crisis and harmless kinds issue 5 asks for.
"""

from __future__ import annotations

import gzip
import json
import re
import unicodedata
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import yaml

LIBRARY = Path(__file__).parent / "fixtures" / "replays"
SCENARIOS = sorted(p.name for p in LIBRARY.iterdir() if (p / "scenario.yaml").exists())

BRANDS = ("toyota", "peugeot", "renault", "citroen", "volkswagen")
KINDS = {"news", "social", "blog", "forum", "video", "review", "support", "regulator"}
CRISIS_TYPES = {"product_recall", "service_outage", "accident", "scandal_legal", "data_breach"}
HARMLESS_TYPES = {"viral_campaign", "product_launch", "event", "none"}
SEVERITIES = ("info", "warning", "critical")
RECORD_FIELDS = {"id", "published_at", "text", "source", "kind", "lang", "author", "url", "title", "reach",
                 "engagement"}
SCENARIO_KEYS = {"name", "description", "kind", "brand", "langs", "onset", "crisis_type", "fast_onset", "data"}
RULE_KEYS = {"brand", "severity", "crisis_type", "from", "until"}
_BRAND_RE = re.compile(r"(?<![a-z0-9])(" + "|".join(BRANDS) + r")(?![a-z0-9])")

MAX_BYTES = 1_600_000
MAX_MENTIONS = 40_000


def _plain(text: str) -> str:
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().casefold()


def _aware(value: Any) -> datetime:
    """A YAML or JSON time: ISO 8601 text with an offset, or a datetime PyYAML already parsed."""
    at = value if isinstance(value, datetime) else datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    assert at.tzinfo is not None and at.utcoffset() is not None, f"time without offset: {value!r}"
    return at


@cache
def _records(name: str) -> tuple[dict[str, Any], ...]:
    with gzip.open(LIBRARY / name / "mentions.jsonl.gz", "rt", encoding="utf-8") as fh:
        return tuple(json.loads(line) for line in fh)


@cache
def _meta(name: str) -> dict[str, Any]:
    return yaml.safe_load((LIBRARY / name / "scenario.yaml").read_text(encoding="utf-8"))


@cache
def _expect(name: str) -> dict[str, Any]:
    return yaml.safe_load((LIBRARY / name / "expect.yaml").read_text(encoding="utf-8"))


def _check_record(rec: dict[str, Any]) -> None:
    assert set(rec) <= RECORD_FIELDS, f"unknown fields {set(rec) - RECORD_FIELDS}"
    assert isinstance(rec["id"], str) and rec["id"]
    assert isinstance(rec["text"], str) and rec["text"].strip()
    _aware(rec["published_at"])
    if "kind" in rec:
        assert rec["kind"] in KINDS
    if "lang" in rec:
        assert rec["lang"] in ("en", "fr")
    for name in ("source", "author", "url", "title"):
        if name in rec:
            assert isinstance(rec[name], str) and rec[name]
    for name in ("reach", "engagement"):
        if name in rec:
            assert isinstance(rec[name], int | float) and not isinstance(rec[name], bool) and rec[name] >= 0
    assert _BRAND_RE.search(_plain(rec["text"])), f"text names no configured brand: {rec['text']!r}"


def test_library_has_the_scenarios_of_issues_2_and_5() -> None:
    assert {"toyota_recall_2010", "viral_roadmovie_campaign", "quiet_weeks"} <= set(SCENARIOS)
    assert len(SCENARIOS) >= 12
    metas = [_meta(n) for n in SCENARIOS]
    crisis = [m for m in metas if m["kind"] == "crisis"]
    harmless = [m for m in metas if m["kind"] == "harmless"]
    assert {m["crisis_type"] for m in crisis} == CRISIS_TYPES
    assert {"viral_campaign", "product_launch", "event"} <= {m["crisis_type"] for m in harmless}
    assert {True, False} == {m["fast_onset"] for m in crisis}, "fast and slow onsets"
    assert len({m["brand"] for m in metas}) >= 4
    assert {"en", "fr"} <= {lang for m in metas for lang in m["langs"]}
    assert {"real", "mixed"} & {m["data"] for m in metas}, "some scenarios come from real data"


def test_index_lists_every_scenario() -> None:
    index = (LIBRARY / "README.md").read_text(encoding="utf-8")
    for name in SCENARIOS:
        assert f"[`{name}`]({name}/README.md)" in index
        assert _meta(name)["onset"] is None or _meta(name)["onset"] in index


@pytest.mark.parametrize("name", SCENARIOS)
def test_folder_files(name: str) -> None:
    folder = LIBRARY / name
    assert {p.name for p in folder.iterdir()} == {"mentions.jsonl.gz", "expect.yaml", "scenario.yaml", "README.md"}
    size = (folder / "mentions.jsonl.gz").stat().st_size
    assert 0 < size <= MAX_BYTES
    readme = (folder / "README.md").read_text(encoding="utf-8")
    assert "## Provenance" in readme and "## Licences of the texts" in readme
    assert re.search(r"\b(real|reconstructed)\b", readme, re.I)


@pytest.mark.parametrize("name", SCENARIOS)
def test_mentions_follow_the_contract(name: str) -> None:
    records = _records(name)
    assert 0 < len(records) <= MAX_MENTIONS
    for rec in records:
        _check_record(rec)
    ids = [r["id"] for r in records]
    assert len(set(ids)) == len(ids), "ids unique"
    times = [_aware(r["published_at"]) for r in records]
    assert times == sorted(times), "sorted by published_at"
    assert any("lang" not in r for r in records), "some mentions leave the language to detection"


@pytest.mark.parametrize("name", SCENARIOS)
def test_scenario_labels(name: str) -> None:
    meta = _meta(name)
    assert set(meta) >= SCENARIO_KEYS
    assert meta["name"] == name
    assert isinstance(meta["description"], str) and len(meta["description"]) > 20
    assert meta["kind"] in ("crisis", "harmless")
    assert meta["brand"] in BRANDS
    assert meta["langs"] and set(meta["langs"]) <= {"en", "fr"}
    assert isinstance(meta["fast_onset"], bool)
    assert meta["data"] in ("real", "reconstructed", "mixed")
    types = CRISIS_TYPES if meta["kind"] == "crisis" else HARMLESS_TYPES
    assert meta["crisis_type"] in types
    records = _records(name)
    first, last = _aware(records[0]["published_at"]), _aware(records[-1]["published_at"])
    if meta["crisis_type"] == "none":
        assert meta["onset"] is None
    else:
        onset = _aware(meta["onset"])
        assert first < onset < last
        assert (onset - first).days >= 7, "a quiet baseline of at least a week before the onset"
    assert meta.get("mentions", len(records)) == len(records)


@pytest.mark.parametrize("name", SCENARIOS)
def test_expect_file(name: str) -> None:
    doc = _expect(name)
    assert set(doc) == {"expect", "forbid"}
    for section in ("expect", "forbid"):
        assert isinstance(doc[section], list)
        for rule in doc[section]:
            assert set(rule) <= RULE_KEYS and "severity" in rule
            assert rule["severity"] in SEVERITIES
            if "brand" in rule:
                assert rule["brand"] in BRANDS
            if "crisis_type" in rule:
                assert rule["crisis_type"] in CRISIS_TYPES | HARMLESS_TYPES
            if "from" in rule and "until" in rule:
                assert _aware(rule["from"]) < _aware(rule["until"])
    meta = _meta(name)
    if meta["kind"] == "crisis":
        assert any(r["severity"] == "critical" and r.get("brand") == meta["brand"] for r in doc["expect"])
    else:
        assert not any(r["severity"] == "critical" for r in doc["expect"])
        assert any(r["severity"] in ("info", "critical") and "brand" not in r and "from" not in r
                   and "until" not in r for r in doc["forbid"]), "harmless: critical forbidden for every brand"


@pytest.mark.parametrize("name", SCENARIOS)
def test_main_brand_dominates_after_onset(name: str) -> None:
    """The labelled brand is the one whose volume moves (or, without incident, one that is talked about)."""
    meta = _meta(name)
    brand = meta["brand"]
    records = _records(name)
    named = [r for r in records if re.search(rf"(?<![a-z0-9]){brand}(?![a-z0-9])", _plain(r["text"]))]
    assert len(named) >= len(records) * 0.1
    if meta["onset"] is None:
        return
    onset = _aware(meta["onset"])
    before = [r for r in named if _aware(r["published_at"]) < onset]
    after = [r for r in named if _aware(r["published_at"]) >= onset]
    span_before = (onset - _aware(records[0]["published_at"])).total_seconds()
    span_after = (_aware(records[-1]["published_at"]) - onset).total_seconds()
    assert len(after) / span_after > 3 * len(before) / span_before, "volume rises after the onset"

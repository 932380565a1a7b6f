"""``crisiswatch bench incidents``: the figures and the per-scenario type table, from outcomes
(the replays themselves run in tests/test_replay_e2e.py and in the bench)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from service.bench.incidents import Outcome, report, top_features
from service.detect.resemblance import load_archetypes, resemble

ONSET = datetime(2018, 6, 16, 13, 0, tzinfo=UTC)
RACE = {"event": 1.0, "negativity": 1.0, "negative": 1.0, "accident": 0.3, "positive": 0.1, "surge": 0.3}
RECALL = {"negativity": 1.0, "negative": 0.8, "safety_recall": 1.0, "regulator": 1.0, "press": 0.6}


def outcome(name: str, kind: str, expected: str, given: str | None, why: tuple[str, ...], *,
            critical_after: int | None = None, fast: bool = False) -> Outcome:
    critical = ONSET + timedelta(minutes=critical_after) if critical_after is not None else None
    return Outcome(name=name, kind=kind, brand="toyota", expected_type=expected, fast_onset=fast, onset=ONSET,
                   first_warning=critical, first_critical=critical, detected_type=given, why=why,
                   harmless_criticals=0, unmet_expectations=0)


def test_top_features_come_from_the_explanation_of_the_type() -> None:
    why = resemble(RACE, load_archetypes()).explanation
    assert top_features(why) == "event 0.60, surge 0.03, positive 0.02, -negativity 0.40"
    assert top_features(()) == "-"


def test_report_prints_a_type_table_and_the_figures_last() -> None:
    kinds = load_archetypes()
    lines = report([
        outcome("recall", "crisis", "product_recall", "product_recall", resemble(RECALL, kinds).explanation,
                critical_after=15, fast=True),
        outcome("race", "harmless", "event", "event", resemble(RACE, kinds).explanation),
        outcome("campaign", "harmless", "viral_campaign", "negative_buzz", ("looks like negative buzz 0.40: "
                "negative share up on the usual (0.35), mostly negative talk (0.15)",)),
    ])
    table = lines[lines.index(next(line for line in lines if line.startswith("scenario") and "top features" in line)):]
    assert table[1].split()[:3] == ["recall", "product_recall", "product_recall"]
    assert "ok" in table[1] and "safety_recall 0.40" in table[1]
    assert table[2].split()[:4] == ["race", "event", "event", "ok"] and "event 0.60" in table[2]
    assert "negative_buzz MISS" in table[3] and "negativity 0.35, negative 0.15" in table[3]
    assert lines[-9:] == [
        "crises_detected_warning 1/1", "crises_detected_critical 1/1", "median_minutes_to_critical_fast_onset 15",
        "worst_minutes_to_critical_fast_onset 15", "median_minutes_to_critical_all 15",
        "worst_minutes_to_critical_all 15", "harmless_scenarios_with_critical 0/2", "crisis_type_accuracy 0.667",
        "unmet_expectations 0",
    ]

"""Crisis resemblance: the archetype file, scores, the type it gives a window, and its explanation.

Tables of windows (as a communication team would describe them) and the type each must get, the
features the brand detector computes from a window, and Hypothesis properties of the scores.
"""

from __future__ import annotations

import doctest
from datetime import timedelta

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

import service.detect.base
import service.detect.brand
import service.detect.resemblance
import service.detect.window
from service.config import DetectionConfig
from service.detect.brand import BrandDetector
from service.detect.resemblance import (
    ARCHETYPES_PATH,
    FEATURES,
    ArchetypeError,
    load_archetypes,
    parse_archetypes,
    read_drivers,
    resemble,
)
from service.detect.window import WindowStats
from service.domain import frozen_map

KINDS = load_archetypes()
ISSUE_KINDS = {"product_recall": True, "service_outage": True, "accident": True, "scandal_legal": True,
               "data_breach": True, "viral_campaign": False, "product_launch": False, "event": False}


def test_the_archetype_file_has_every_kind_the_issue_names() -> None:
    by_name = {a.name: a for a in KINDS}
    for name, crisis in ISSUE_KINDS.items():
        assert by_name[name].crisis is crisis, name
    assert "toyota" in by_name["product_recall"].description.lower()


def test_every_feature_has_words_and_every_archetype_a_description() -> None:
    assert all(words and words == words.strip() and "," not in words for words in FEATURES.values())
    assert all(a.description for a in KINDS)


@pytest.mark.parametrize(("text", "message"), [
    ("[]", "x.yaml: expected a mapping with an 'archetypes' mapping"),
    ("archetypes: {a: {crisis: true}}", "x.yaml: archetypes.a: expected 'crisis', 'description' and 'weights'"),
    ("archetypes: {a: {crisis: true, weights: {tone: 1}}}", "x.yaml: archetypes.a.weights: unknown feature(s) tone"),
    ("archetypes: {a: {crisis: true, weights: {surge: yes}}}", "x.yaml: archetypes.a.weights: weights must be numbers"),
    ("archetypes: {a: {crisis: true, weights: {surge: 1}, requires: surge}}",
     "x.yaml: archetypes.a.requires: expected a list of feature names"),
    ("archetypes: {a: {crisis: true, weights: {surge: 1}, requires: [surge], requires_floor: 2}}",
     "x.yaml: archetypes.a.requires_floor: expected a number from 0 to 1"),
    ("archetypes: {a: {crisis: false, weights: {surge: 1}}}",
     "x.yaml: at least one archetype must have crisis: true"),
])
def test_invalid_archetype_files_name_the_key(text: str, message: str) -> None:
    with pytest.raises(ArchetypeError) as error:
        parse_archetypes(yaml.safe_load(text), "x.yaml")
    assert str(error.value) == message


RECALL = {"negativity": 1.0, "negative": 0.8, "safety_recall": 1.0, "regulator": 1.0, "press": 0.6, "surge": 0.5}
OUTAGE = {"negativity": 0.9, "negative": 0.9, "outage": 1.0, "persistence": 0.3, "surge": 0.6}
CRASH = {"negativity": 0.7, "negative": 0.6, "accident": 1.0, "press": 1.0, "spread": 0.5, "surge": 0.4}
RAID = {"negativity": 0.6, "negative": 0.6, "legal": 1.0, "scandal": 0.7, "press": 1.0}
LEAK = {"negativity": 0.6, "negative": 0.6, "data_breach": 1.0, "press": 0.5, "surge": 0.5}
RANT = {"negativity": 1.0, "negative": 0.9, "unexplained": 1.0, "persistence": 0.5, "surge": 0.5}
LAUNCH = {"launch": 1.0, "positive": 0.5, "press": 0.8, "surge": 0.6}
CAMPAIGN = {"campaign": 1.0, "positive": 0.7, "spread": 0.6, "surge": 0.6}
RACE = {"event": 1.0, "positive": 0.4, "spread": 0.6, "surge": 0.8}
# The model reads the tone of race and campaign talk as negative ("crash", "penalty", "insane"):
RACE_READ_AS_NEGATIVE = {"event": 1.0, "negativity": 1.0, "negative": 1.0, "accident": 0.3, "positive": 0.1,
                         "spread": 0.3, "surge": 0.3, "persistence": 0.3}
CAMPAIGN_READ_AS_NEGATIVE = {"campaign": 1.0, "negativity": 0.9, "negative": 1.0, "positive": 0.2, "surge": 0.3}


@pytest.mark.parametrize(("features", "kind"), [
    (RECALL, "product_recall"), (OUTAGE, "service_outage"), (CRASH, "accident"), (RAID, "scandal_legal"),
    (LEAK, "data_breach"), (RANT, "negative_buzz"), (LAUNCH, "product_launch"), (CAMPAIGN, "viral_campaign"),
    (RACE, "event"), (RACE_READ_AS_NEGATIVE, "event"), (CAMPAIGN_READ_AS_NEGATIVE, "viral_campaign"),
    ({"surge": 1.0, "unexplained": 1.0}, "volume_spike"),
])
def test_each_kind_of_window_gets_its_type(features: dict[str, float], kind: str) -> None:
    found = resemble(features, KINDS)
    assert found.crisis_type == kind
    assert found.explanation[0].startswith(f"looks like {kind.replace('_', ' ')} ")


@pytest.mark.parametrize("features", [RECALL, OUTAGE, CRASH, RAID, LEAK])
def test_crises_resemble_a_crisis_strongly(features: dict[str, float]) -> None:
    assert resemble(features, KINDS).resemblance >= 0.65  # critical even with sensitivity "fewer"


@pytest.mark.parametrize("features", [LAUNCH, CAMPAIGN, RACE, RACE_READ_AS_NEGATIVE, CAMPAIGN_READ_AS_NEGATIVE])
def test_harmless_spikes_stay_below_critical(features: dict[str, float]) -> None:
    assert resemble(features, KINDS).resemblance < 0.45  # not critical even with sensitivity "more"


def test_a_negative_wave_that_a_vocabulary_explains_is_no_negative_buzz() -> None:
    """negative_buzz requires a wave no vocabulary explains (its definition: nothing is kept without
    it); the other archetypes keep 40 % of their score without their vocabulary."""
    by_name = {a.name: a for a in KINDS}
    buzz, breach = by_name["negative_buzz"], by_name["data_breach"]
    assert buzz.score({**RANT, "unexplained": 1.0}) > 0.5
    assert buzz.score({**RANT, "unexplained": 0.2}) == pytest.approx(0.5 * buzz.score({**RANT, "unexplained": 1.0}))
    assert buzz.score({**RANT, "unexplained": 0.0}) == 0.0
    no_vocabulary = {**LEAK, "data_breach": 0.0}
    weighted = sum(w * no_vocabulary.get(n, 0.0) for n, w in breach.weights.items())
    assert breach.score(no_vocabulary) == pytest.approx(0.4 * weighted) and weighted > 0


def test_explanation_names_what_made_the_type_then_the_closest_crisis() -> None:
    found = resemble(RACE_READ_AS_NEGATIVE, KINDS)
    assert found.drivers[0] == "event"
    first, second = found.explanation
    assert first.startswith("looks like event ") and "sports / event vocabulary (0.60)" in first
    assert "but negative share up on the usual (-0.40)" in first
    assert second.startswith(f"closest crisis: {found.crisis_archetype.replace('_', ' ')} {found.resemblance:.2f}: ")
    assert read_drivers(first)[0] == ("event", 0.6)


def test_a_crisis_type_is_explained_on_one_line() -> None:
    found = resemble(RECALL, KINDS)
    assert len(found.explanation) == 1 and found.drivers[:2] == ("safety_recall", "negativity")


def test_nothing_at_all_is_a_volume_spike() -> None:
    found = resemble({}, KINDS)
    assert (found.crisis_type, found.resemblance) == ("volume_spike", 0.0)


unit = st.floats(0.0, 1.0)
feature_sets = st.dictionaries(st.sampled_from(sorted(FEATURES)), unit)


@settings(deadline=None)  # a loaded machine must not fail a property
@given(feature_sets)
def test_scores_are_in_the_unit_interval(features: dict[str, float]) -> None:
    found = resemble(features, KINDS)
    assert all(0.0 <= score <= 1.0 for score in found.scores.values())
    assert found.resemblance == max(found.scores[a.name] for a in KINDS if a.crisis)
    assert found.crisis_type == "volume_spike" or found.scores[found.crisis_type] == max(found.scores.values())


@settings(deadline=None)  # a loaded machine must not fail a property
@given(feature_sets)
def test_the_explanation_reads_back_as_the_largest_contributions(features: dict[str, float]) -> None:
    found = resemble(features, KINDS)
    if found.crisis_type == "volume_spike" and not found.drivers:
        return
    archetype = {a.name: a for a in KINDS}[found.crisis_type]
    for name, value in read_drivers(found.explanation[0]):
        assert value == pytest.approx(archetype.weights[name] * features.get(name, 0.0), abs=0.0051)


@settings(deadline=None)  # a loaded machine must not fail a property
@given(feature_sets, st.sampled_from(["safety_recall", "outage", "accident", "data_breach"]), unit)
def test_more_crisis_vocabulary_never_lowers_the_resemblance(features: dict[str, float], name: str,
                                                             extra: float) -> None:
    more = {**features, name: min(1.0, features.get(name, 0.0) + extra)}
    assert resemble(more, KINDS).resemblance >= resemble(features, KINDS).resemblance - 1e-12


# -- the features the brand detector computes from a window --------------------------------------

def features_of(window: WindowStats, **context: float) -> dict[str, float]:
    detector = BrandDetector("b", DetectionConfig(), KINDS)
    args = {"expected": 10.0, "z": 5.0, "base_share": 0.2, **context}
    return detector.features(window, args["expected"], args["z"], args["base_share"], regulator=False)


def window(count: int, **parts: object) -> WindowStats:
    maps = {k: frozen_map(v) for k, v in parts.items() if isinstance(v, dict)}
    counts = {k: v for k, v in parts.items() if isinstance(v, int)}
    return WindowStats(count=count, **counts, **maps)  # type: ignore[arg-type]


@pytest.mark.parametrize(("stats", "expected"), [
    (window(100, negative=60, crisis={}), {"unexplained": 1.0, "negative": 1.0}),
    (window(100, negative=60, crisis={"event": 10}), {"unexplained": 0.6, "event": 0.4}),
    (window(100, negative=60, crisis={"event": 50, "accident": 10}), {"unexplained": 0.0, "event": 1.0,
                                                                        "accident": 0.2}),
    (window(100, crisis={"safety_recall": 30, "accident": 15}), {"safety_recall": 1.0, "accident": 0.5}),
    (window(40, kinds={"news": 10, "social": 30}, langs={"en": 20, "fr": 20}), {"press": 1.0, "spread": 0.53}),
    (window(0), {"unexplained": 1.0, "negative": 0.0, "surge": 0.0}),
])
def test_window_features_table(stats: WindowStats, expected: dict[str, float]) -> None:
    features = features_of(stats)
    for name, value in expected.items():
        assert features[name] == pytest.approx(value, abs=0.01), name
    assert set(features) <= set(FEATURES)
    assert all(0.0 <= v <= 1.0 for v in features.values())


def test_negativity_counts_only_a_shift_above_the_brand_baseline() -> None:
    stats = window(100, negative=50)
    assert features_of(stats, base_share=0.15)["negativity"] == pytest.approx(1.0)
    assert features_of(stats, base_share=0.5, z=0.0)["negativity"] == 0.0
    assert features_of(stats, base_share=0.3, z=0.5)["negativity"] == 0.0  # not significant


def test_persistence_grows_with_the_anomalous_run() -> None:
    detector = BrandDetector("b", DetectionConfig(), KINDS)
    detector.anomalous_run = int(timedelta(hours=3) / detector.settings.bucket)
    assert detector.features(window(50), 10.0, 0.0, 0.2, regulator=False)["persistence"] == pytest.approx(0.5)


def test_archetype_weights_are_data() -> None:
    """Editing the YAML changes the types: nothing about archetypes is hard-coded."""
    document = yaml.safe_load(ARCHETYPES_PATH.read_text(encoding="utf-8"))
    document["archetypes"]["event"]["weights"] = {"event": 0.0}
    assert resemble(RACE, parse_archetypes(document)).crisis_type != "event"


@pytest.mark.parametrize("module", [service.detect.base, service.detect.brand, service.detect.resemblance,
                                    service.detect.window], ids=lambda m: m.__name__)
def test_docstring_examples_run(module: object) -> None:
    result = doctest.testmod(module, optionflags=doctest.NORMALIZE_WHITESPACE)  # type: ignore[arg-type]
    assert result.failed == 0

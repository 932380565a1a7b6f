"""Crisis resemblance: how much a brand's anomalous window looks like each reference archetype.

Archetypes are data (``models/archetypes.yaml``): weighted sums of window features, each feature
normalised to [0, 1]. The explanation lists the features that contributed most, in words.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from types import MappingProxyType

import yaml

ARCHETYPES_PATH = Path(__file__).resolve().parents[2] / "models" / "archetypes.yaml"
REQUIRED_FLOOR = 0.4
"""Share of its score an archetype keeps when none of its required features is present."""
REQUIRED_FULL = 0.4
"""Required-feature value from which the archetype scores fully."""

FEATURES: Mapping[str, str] = MappingProxyType({
    "negativity": "negative share up on the usual",
    "negative": "mostly negative talk",
    "positive": "mostly positive talk",
    "safety_recall": "safety / recall vocabulary",
    "outage": "outage vocabulary",
    "accident": "accident / casualty vocabulary",
    "legal": "legal / investigation vocabulary",
    "scandal": "scandal / fraud vocabulary",
    "data_breach": "data breach vocabulary",
    "launch": "product launch vocabulary",
    "campaign": "campaign vocabulary",
    "event": "sports / event vocabulary",
    "press": "press pickup",
    "regulator": "regulator notice",
    "spread": "spread across source kinds and languages",
    "persistence": "sustained for hours",
    "surge": "volume far above its seasonal baseline",
})


@dataclass(frozen=True, kw_only=True, slots=True)
class Archetype:
    name: str
    crisis: bool
    description: str
    weights: Mapping[str, float]
    requires: tuple[str, ...] = ()
    """Features of which at least one must be clearly present for the archetype to score fully: a
    negative wave without any data-breach vocabulary is not a data breach, however negative."""

    def score(self, features: Mapping[str, float]) -> float:
        total = sum(weight * features.get(name, 0.0) for name, weight in self.weights.items())
        if self.requires:
            evidence = max(features.get(name, 0.0) for name in self.requires)
            total *= REQUIRED_FLOOR + (1 - REQUIRED_FLOOR) * clip01(evidence / REQUIRED_FULL)
        return min(1.0, max(0.0, total))


@dataclass(frozen=True, kw_only=True, slots=True)
class Resemblance:
    crisis_type: str
    """Best archetype overall (a crisis or a harmless kind)."""
    resemblance: float
    """Score of the best *crisis* archetype: how much this looks like a crisis, in [0, 1]."""
    crisis_archetype: str
    scores: Mapping[str, float]
    explanation: tuple[str, ...]


class ArchetypeError(ValueError):
    """The archetype file is not valid; the message names the archetype and key."""


def parse_archetypes(document: object, origin: str = "archetypes.yaml") -> tuple[Archetype, ...]:
    if not isinstance(document, dict) or not isinstance(document.get("archetypes"), dict):
        raise ArchetypeError(f"{origin}: expected a mapping with an 'archetypes' mapping")
    result = []
    for name, spec in document["archetypes"].items():
        if not isinstance(spec, dict) or not isinstance(spec.get("weights"), dict):
            raise ArchetypeError(f"{origin}: archetypes.{name}: expected 'crisis', 'description' and 'weights'")
        unknown = set(spec["weights"]) - set(FEATURES)
        if unknown:
            names = ", ".join(sorted(unknown))
            raise ArchetypeError(f"{origin}: archetypes.{name}.weights: unknown feature(s) {names}")
        if not all(isinstance(w, int | float) and not isinstance(w, bool) for w in spec["weights"].values()):
            raise ArchetypeError(f"{origin}: archetypes.{name}.weights: weights must be numbers")
        requires = spec.get("requires", [])
        if not isinstance(requires, list) or set(requires) - set(FEATURES):
            raise ArchetypeError(f"{origin}: archetypes.{name}.requires: expected a list of feature names")
        result.append(Archetype(name=str(name), crisis=bool(spec.get("crisis", False)),
                                description=str(spec.get("description", "")),
                                weights=MappingProxyType({k: float(v) for k, v in spec["weights"].items()}),
                                requires=tuple(requires)))
    if not any(a.crisis for a in result):
        raise ArchetypeError(f"{origin}: at least one archetype must have crisis: true")
    return tuple(result)


@lru_cache(maxsize=4)
def load_archetypes(path: Path = ARCHETYPES_PATH) -> tuple[Archetype, ...]:
    with open(path, encoding="utf-8") as handle:
        return parse_archetypes(yaml.safe_load(handle), str(path))


def clip01(value: float) -> float:
    return 0.0 if value <= 0.0 or math.isnan(value) else 1.0 if value >= 1.0 else value


def resemble(features: Mapping[str, float], archetypes: tuple[Archetype, ...]) -> Resemblance:
    """Score every archetype on ``features`` and explain the best crisis archetype.

    >>> kinds = load_archetypes()
    >>> r = resemble({"negativity": 1, "negative": 0.9, "safety_recall": 1, "regulator": 1, "press": 1}, kinds)
    >>> r.crisis_type, r.resemblance
    ('product_recall', 1.0)
    """
    scores = {a.name: a.score(features) for a in archetypes}
    crisis = max((a for a in archetypes if a.crisis), key=lambda a: (scores[a.name], a.name == "product_recall"))
    best = max(archetypes, key=lambda a: scores[a.name])
    contributions = sorted(((w * features.get(n, 0.0), n) for n, w in crisis.weights.items() if w > 0),
                           reverse=True)
    explanation = [f"{FEATURES[name]} ({value:.2f})" for value, name in contributions if value >= 0.02][:4]
    penalties = sorted((w * features.get(n, 0.0), n) for n, w in crisis.weights.items() if w < 0)
    explanation += [f"but {FEATURES[name]}" for value, name in penalties if value <= -0.05][:2]
    if best.name != crisis.name:
        explanation.insert(0, f"looks most like {best.name.replace('_', ' ')} ({scores[best.name]:.2f})")
    return Resemblance(crisis_type=best.name if scores[best.name] > 0 else "volume_spike",
                       resemblance=scores[crisis.name], crisis_archetype=crisis.name,
                       scores=MappingProxyType(scores), explanation=tuple(explanation))

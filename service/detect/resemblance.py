"""Crisis resemblance: how much a brand's anomalous window looks like each reference archetype.

Archetypes are data (``models/archetypes.yaml``): weighted sums of window features, each feature
normalised to [0, 1]. The crisis type is the best archetype overall, the resemblance the score of
the best crisis archetype. The explanation says in words which features contributed most to the
type (and, when the type is harmless, to the closest crisis); :func:`read_drivers` reads them back.
"""

from __future__ import annotations

import math
import re
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
    "unexplained": "no clear crisis or harmless vocabulary",
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
    floor: float = REQUIRED_FLOOR
    """Share of its score the archetype keeps when none of ``requires`` is present at all (0: the
    requirement is its definition, e.g. negative buzz is a wave that no vocabulary explains)."""

    def score(self, features: Mapping[str, float]) -> float:
        total = sum(weight * features.get(name, 0.0) for name, weight in self.weights.items())
        if self.requires:
            evidence = max(features.get(name, 0.0) for name in self.requires)
            total *= self.floor + (1 - self.floor) * clip01(evidence / REQUIRED_FULL)
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
    drivers: tuple[str, ...] = ()
    """Names of the features that weighed most in the type (largest contributions first; a
    name starting with ``-`` is a penalty that held the closest other archetype back)."""


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
        floor = spec.get("requires_floor", REQUIRED_FLOOR)
        if isinstance(floor, bool) or not isinstance(floor, int | float) or not 0 <= floor <= 1:
            raise ArchetypeError(f"{origin}: archetypes.{name}.requires_floor: expected a number from 0 to 1")
        result.append(Archetype(name=str(name), crisis=bool(spec.get("crisis", False)),
                                description=str(spec.get("description", "")),
                                weights=MappingProxyType({k: float(v) for k, v in spec["weights"].items()}),
                                requires=tuple(requires), floor=float(floor)))
    if not any(a.crisis for a in result):
        raise ArchetypeError(f"{origin}: at least one archetype must have crisis: true")
    return tuple(result)


@lru_cache(maxsize=4)
def load_archetypes(path: Path = ARCHETYPES_PATH) -> tuple[Archetype, ...]:
    with open(path, encoding="utf-8") as handle:
        return parse_archetypes(yaml.safe_load(handle), str(path))


def clip01(value: float) -> float:
    return 0.0 if value <= 0.0 or math.isnan(value) else 1.0 if value >= 1.0 else value


_WHY_PART = re.compile(r"(?:^|, )(?:but )?(?P<phrase>[^,:]+?) \((?P<value>-?\d+\.\d+)\)")
_BY_PHRASE = MappingProxyType({phrase: name for name, phrase in FEATURES.items()})


def read_drivers(line: str) -> tuple[tuple[str, float], ...]:
    """The ``(feature, contribution)`` pairs named by one explanation line of :func:`resemble`
    (for reports that only have the alert's words).

    >>> read_drivers("event 0.38: sports / event vocabulary (0.60), but negative share up on the usual (-0.40)")
    (('event', 0.6), ('negativity', -0.4))
    """
    _, _, listed = line.partition(": ")
    return tuple((_BY_PHRASE[m["phrase"]], float(m["value"])) for m in _WHY_PART.finditer(listed)
                 if m["phrase"] in _BY_PHRASE)


def contributions(archetype: Archetype, features: Mapping[str, float]) -> list[tuple[float, str]]:
    """``(weight * value, feature)`` of every weighted feature, largest contribution first."""
    return sorted(((w * features.get(n, 0.0), n) for n, w in archetype.weights.items()),
                  key=lambda item: (-item[0], item[1]))


def _why(archetype: Archetype, features: Mapping[str, float], score: float) -> str:
    """One line: the archetype, its score and the features that made it (and held it back)."""
    parts = contributions(archetype, features)
    made = [f"{FEATURES[name]} ({value:.2f})" for value, name in parts if value >= 0.02][:4]
    held = [f"but {FEATURES[name]} ({value:.2f})" for value, name in reversed(parts) if value <= -0.05][:2]
    return f"{archetype.name.replace('_', ' ')} {score:.2f}: " + ", ".join(made + held or ["no feature"])


def resemble(features: Mapping[str, float], archetypes: tuple[Archetype, ...]) -> Resemblance:
    """Score every archetype on ``features``; the type is the best archetype overall, the
    resemblance the score of the best crisis archetype. The explanation says first which features
    made the type, then (when the type is harmless) which made the closest crisis.

    >>> kinds = load_archetypes()
    >>> r = resemble({"negativity": 1, "negative": 1, "safety_recall": 1, "regulator": 1, "press": 0.5}, kinds)
    >>> r.crisis_type, round(r.resemblance, 2), r.drivers[:2]
    ('product_recall', 0.95, ('safety_recall', 'negativity'))
    >>> r.explanation[0].split(": ")[0]
    'looks like product recall 0.95'
    """
    scores = {a.name: a.score(features) for a in archetypes}
    crisis = max((a for a in archetypes if a.crisis), key=lambda a: (scores[a.name], a.name == "product_recall"))
    best = max(archetypes, key=lambda a: scores[a.name])
    if scores[best.name] <= 0:
        return Resemblance(crisis_type="volume_spike", resemblance=scores[crisis.name], crisis_archetype=crisis.name,
                           scores=MappingProxyType(scores), explanation=("nothing specific: more talk than usual",))
    explanation = [f"looks like {_why(best, features, scores[best.name])}"]
    if best.name != crisis.name:
        explanation.append(f"closest crisis: {_why(crisis, features, scores[crisis.name])}")
    return Resemblance(crisis_type=best.name, resemblance=scores[crisis.name], crisis_archetype=crisis.name,
                       scores=MappingProxyType(scores), explanation=tuple(explanation),
                       drivers=_drivers(best, archetypes, scores, features))


def _drivers(best: Archetype, archetypes: tuple[Archetype, ...], scores: Mapping[str, float],
             features: Mapping[str, float]) -> tuple[str, ...]:
    """The features that made ``best`` win: its three largest contributions, then the largest
    penalty of the runner-up (what kept the next archetype below it)."""
    made = [name for value, name in contributions(best, features) if value >= 0.02][:3]
    others = [a for a in archetypes if a.name != best.name]
    if others:
        runner = max(others, key=lambda a: scores[a.name])
        held = [name for value, name in reversed(contributions(runner, features)) if value <= -0.05][:1]
        made += [f"-{name}" for name in held]
    return tuple(made)

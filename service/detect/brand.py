"""The per-brand detector: one step per closed bucket, from bucket counts to a :class:`Signal`.

It combines the streaming volume detector (seasonal baseline, count-aware score), a window-level
negative-binomial test of volume against the sum of the seasonal expectations, a two-proportion
test of negative share against a protected baseline, and crisis resemblance. Baselines learn only
from buckets that are not anomalous, so a crisis never becomes the new normal.

It offers the detector API of :mod:`service.detect.base` (``score_one``, ``learn_one``, ``expected``,
``to_state``); the pipeline calls :meth:`BrandDetector.step`, which scores, learns and returns the
:class:`Signal` with severity, crisis type, resemblance and explanation.
"""

from __future__ import annotations

import math
from collections import deque
from datetime import datetime, timedelta
from typing import Any

import msgspec

from service.config import DetectionConfig
from service.detect.resemblance import Archetype, clip01, resemble
from service.detect.volume import VolumeDetector, VolumeParams
from service.detect.window import WindowStats, fade_share, negbin_upper_tail, two_proportion_z
from service.domain import Severity, Signal, SourceKind, frozen_map

STATE_VERSION = 1
HARMLESS_CUES = ("launch", "campaign", "event")
NEGATIVE_HALF_LIFE = timedelta(days=7)
DISPERSION = 8.0
"""Negative-binomial size of the window volume test: mention counts are overdispersed (news cycles,
retweet cascades), so the window must beat the seasonal expectation by more than Poisson noise."""
PRIOR_NEGATIVE_SHARE = 0.2
PRIOR_WEIGHT = 50.0
CATEGORY_FULL_SHARE = 0.25
"""Share of a window's mentions carrying a crisis category from which that category counts fully."""
ELEVATED_SURPRISE = 0.9
"""Volume score from which a brand is still "elevated": an open incident does not resolve while its
brand stays above this (or keeps a clearly raised negative share)."""


class Step(msgspec.Struct, frozen=True, kw_only=True):
    """The inputs of one step: the bucket that just closed and the window it ends (a frozen
    :class:`msgspec.Struct`, like :class:`WindowStats`: one per evaluated bucket)."""

    bucket_start: datetime
    count: int
    negative: int
    window_start: datetime
    window: WindowStats


class Assessment(msgspec.Struct, frozen=True, kw_only=True):
    """What one step concludes before anything is learned (pure function of the state and step)."""

    expected_bucket: float
    expected: float
    """Mentions expected over the window."""
    surprise: float
    z: float
    base_share: float
    volume_anomaly: bool
    regulator: bool
    anomalous: bool
    score: float


def volume_params(settings: DetectionConfig) -> VolumeParams:
    zone = None if settings.timezone == "UTC" else settings.timezone  # None: the UTC code path
    return VolumeParams(bucket=settings.bucket, grace=settings.grace, timezone=zone)


class BrandDetector:
    """Detection state and logic for one brand (serialisable with :meth:`to_state`)."""

    def __init__(self, brand: str, settings: DetectionConfig, archetypes: tuple[Archetype, ...],
                 state: dict[str, Any] | None = None) -> None:
        self.brand, self.settings, self.archetypes = brand, settings, archetypes
        self.window_buckets = max(1, int(settings.window / settings.bucket))
        params = volume_params(settings)
        state = state if state and state.get("version") == STATE_VERSION else None
        if state is None:
            self.volume = VolumeDetector(params)
            self.neg_base, self.total_base = PRIOR_NEGATIVE_SHARE * PRIOR_WEIGHT, PRIOR_WEIGHT
            self.recent_expected: deque[float] = deque(maxlen=self.window_buckets)
            self.anomalous_run = 0
            self.steps = 0
        else:
            self.volume = VolumeDetector.from_state(params, state["volume"])
            self.neg_base, self.total_base = state["neg_base"], state["total_base"]
            self.recent_expected = deque(state["expected"], maxlen=self.window_buckets)
            self.anomalous_run = state["anomalous_run"]
            self.steps = state["steps"]
        self._decay = 0.5 ** (settings.bucket / NEGATIVE_HALF_LIFE)

    def to_state(self) -> dict[str, Any]:
        return {"version": STATE_VERSION, "volume": self.volume.to_state(), "neg_base": self.neg_base,
                "total_base": self.total_base, "expected": list(self.recent_expected),
                "anomalous_run": self.anomalous_run, "steps": self.steps}

    @property
    def in_grace(self) -> bool:
        return self.steps * self.settings.bucket < self.settings.grace

    def expected(self, at: datetime) -> float:
        """Mentions the seasonal baseline expects in the bucket starting at ``at``."""
        return self.volume.expected(at)

    def score_one(self, at: datetime, step: Step) -> float:
        """How anomalous the window ending with ``step`` is, in [0, 1], without learning anything:
        1 minus the smaller one-sided p-value of its volume and its negative share (0 during the
        grace period and below ``min_volume``)."""
        _check_at(at, step)
        return self._assess(step).score

    def learn_one(self, at: datetime, step: Step) -> None:
        """Learn from ``step`` (what is anomalous does not reach the baselines)."""
        _check_at(at, step)
        self._learn(step, self._assess(step))

    def step(self, step: Step) -> Signal:
        """Score the bucket that just closed, then learn from it unless it is anomalous."""
        assessment = self._assess(step)
        self._learn(step, assessment)
        return self._signal(step, assessment)

    def _assess(self, step: Step) -> Assessment:
        settings, window = self.settings, step.window
        bucket_score = self.volume.score_one(step.bucket_start, step.count)
        expected_bucket = max(self.volume.expected(step.bucket_start), 0.0)
        kept = list(self.recent_expected)[max(0, len(self.recent_expected) + 1 - self.window_buckets):]
        recent = [*kept, expected_bucket]  # the window's buckets, as the deque will hold them
        expected = sum(recent) * self.window_buckets / len(recent)
        tail = negbin_upper_tail(window.count, expected, DISPERSION)
        surprise = max(bucket_score, 1.0 - tail)
        z = two_proportion_z(window.negative, window.count, self.neg_base, self.total_base)
        enough = window.count >= settings.min_volume and not self.in_grace
        volume_anomaly = enough and surprise >= settings.volume_threshold
        negative_turn = enough and z >= settings.negativity_z
        regulator = window.kinds.get(SourceKind.REGULATOR.value, 0) > 0 and not self.in_grace
        anomalous = volume_anomaly or (negative_turn and surprise >= 0.9) or (regulator and negative_turn)
        score = max(surprise, _normal_cdf(z)) if enough else 0.0
        return Assessment(expected_bucket=expected_bucket, expected=expected, surprise=surprise, z=z,
                          base_share=self.neg_base / self.total_base, volume_anomaly=volume_anomaly,
                          regulator=regulator, anomalous=anomalous, score=score)

    def _learn(self, step: Step, assessment: Assessment) -> None:
        self.recent_expected.append(assessment.expected_bucket)
        self.anomalous_run = self.anomalous_run + 1 if assessment.anomalous else 0
        self.steps += 1
        self.volume.learn_one(step.bucket_start, step.count)  # it clips what it learns: protected baseline
        if not assessment.anomalous:
            self._learn_negativity(step.negative, step.count)

    def _signal(self, step: Step, a: Assessment) -> Signal:
        settings, window = self.settings, step.window
        signal = dict(brand=self.brand, at=step.bucket_start + settings.bucket, window_start=step.window_start,
                      volume=window.count, expected_volume=a.expected, volume_surprise=a.surprise,
                      negative_share=window.negative_share, baseline_negative_share=a.base_share,
                      negativity_shift=a.z,
                      crisis_share=frozen_map({k: window.share(window.crisis, k) for k in window.crisis}),
                      kinds=window.kinds)
        if not a.anomalous:
            elevated = (not self.in_grace and window.count * 2 >= settings.min_volume
                        and (a.surprise >= ELEVATED_SURPRISE or a.z >= settings.negativity_z / 2))
            return Signal(**signal, elevated=elevated)
        features = self.features(window, a.expected, a.z, a.base_share, a.regulator)
        found = resemble(features, self.archetypes)
        severity = self.severity(found.resemblance, a.volume_anomaly, a.regulator)
        facts = [f"{window.count} mentions in {_minutes(settings.window)} vs {a.expected:.0f} expected",
                 f"negative share {window.negative_share:.0%} vs {a.base_share:.0%} usual"]
        return Signal(**signal, severity=severity, crisis_type=found.crisis_type, resemblance=found.resemblance,
                      explanation=(*found.explanation, *facts))

    def _learn_negativity(self, negative: int, count: int) -> None:
        self.neg_base, self.total_base = fade_share(self.neg_base, self.total_base, negative, count,
                                                    decay=self._decay, prior_share=PRIOR_NEGATIVE_SHARE,
                                                    floor=PRIOR_WEIGHT / 10)

    def severity(self, resemblance: float, volume_anomaly: bool, regulator: bool) -> Severity:
        settings = self.settings
        if resemblance >= settings.critical_resemblance and (volume_anomaly or regulator):
            return Severity.CRITICAL
        if resemblance >= settings.warning_resemblance or regulator:
            return Severity.WARNING
        return Severity.INFO

    def features(self, window: WindowStats, expected: float, z: float, base_share: float,
                 regulator: bool) -> dict[str, float]:
        """Window features in [0, 1], the vocabulary of ``models/archetypes.yaml``."""
        shift = window.negative_share - base_share
        features = {
            "negativity": clip01(shift / 0.35) if z >= 1.0 else 0.0,
            "negative": clip01(window.negative_share / 0.6),
            "positive": clip01(window.positive_share / 0.6),
            "press": clip01(window.share(window.kinds, SourceKind.NEWS.value) / 0.25),
            "regulator": 1.0 if regulator else 0.0,
            "spread": clip01((len(window.kinds) - 1) / 3 * 0.7 + (len(window.langs) - 1) * 0.3),
            "persistence": clip01(self.anomalous_run * self.settings.bucket / timedelta(hours=6)),
            "surge": clip01(math.log(max(window.count, 1) / max(expected, 1.0)) / math.log(20)),
        }
        leading = max(window.crisis.values(), default=0) / window.count if window.count else 0.0
        # How much of the window no vocabulary accounts for: a negative wave that is mostly race,
        # campaign or launch talk is about that topic, whatever its tone.
        features["unexplained"] = 1.0 - clip01(leading / CATEGORY_FULL_SHARE)
        if leading:
            # Each category relative to the strongest one (at least a quarter of the window): when a
            # recall wave also mentions accidents, recall stays the leading vocabulary.
            top = max(leading, CATEGORY_FULL_SHARE)
            for category, hits in window.crisis.items():
                features[category] = clip01(hits / window.count / top)
        return features


def _check_at(at: datetime, step: Step) -> None:
    if at != step.bucket_start:
        raise ValueError(f"step of bucket {step.bucket_start.isoformat()} given at {at.isoformat()}")


def _normal_cdf(z: float) -> float:
    return 0.5 * math.erfc(-z / math.sqrt(2.0))


def _minutes(duration: timedelta) -> str:
    minutes = int(duration.total_seconds() // 60)
    return f"{minutes} min" if minutes < 120 else f"{minutes // 60} h"

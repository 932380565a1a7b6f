"""One check suite run over every detector class (the API of service/detect/base.py).

Each detector is driven only through its public API (``score_one``, ``learn_one``, ``expected``,
``to_state`` and its class's way of restoring a state): score in [0, 1], determinism, no look-ahead,
grace period, protected baseline, and a state that survives a round trip through a real store
(SQLite file and real Redis). VolumeDetector is checked as it is shipped; BrandDetector is fed the
same buckets wrapped as steps (bucket + the window it closes), the way the pipeline feeds it.
"""

from __future__ import annotations

import json
import math
import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from service.config import DetectionConfig
from service.detect.base import Detector
from service.detect.brand import BrandDetector, Step
from service.detect.resemblance import load_archetypes
from service.detect.volume import VolumeDetector, VolumeParams
from service.detect.window import aggregate
from service.domain import Bucket
from service.store import open_store

T0 = datetime(2015, 3, 2, tzinfo=UTC)  # a Monday
BUCKET = timedelta(minutes=5)
GRACE = timedelta(hours=2)
GRACE_BUCKETS = int(GRACE / BUCKET)

Feed = list[tuple[int, int]]
"""Per bucket: (mentions, negative mentions)."""


def at(i: int) -> datetime:
    return T0 + i * BUCKET


@dataclass(frozen=True)
class Case:
    """How the suite drives one detector class."""

    name: str
    make: Callable[[], Detector[Any]]
    restore: Callable[[dict[str, Any]], Detector[Any]]
    inputs: Callable[[Feed], list[Any]]
    """The detector's ``x`` for each bucket of a feed."""


def volume_case() -> Case:
    params = VolumeParams(grace=GRACE)
    return Case(name="VolumeDetector", make=lambda: VolumeDetector(params),
                restore=lambda state: VolumeDetector.from_state(params, state),
                inputs=lambda feed: [float(count) for count, _ in feed])


def brand_case() -> Case:
    detection = DetectionConfig(grace=GRACE, min_volume=8)
    archetypes = load_archetypes()

    def steps(feed: Feed) -> list[Step]:
        width = int(detection.window / detection.bucket)
        buckets = [Bucket(brand="b", start=at(i), count=count, negative=negative, langs={"en": count})
                   for i, (count, negative) in enumerate(feed)]
        return [Step(bucket_start=b.start, count=b.count, negative=b.negative, window_start=at(i + 1 - width),
                     window=aggregate(buckets[max(0, i + 1 - width):i + 1])) for i, b in enumerate(buckets)]

    return Case(name="BrandDetector", make=lambda: BrandDetector("b", detection, archetypes),
                restore=lambda state: BrandDetector("b", detection, archetypes, state), inputs=steps)


CASES = [volume_case(), brand_case()]


@pytest.fixture(params=CASES, ids=lambda case: case.name)
def case(request: pytest.FixtureRequest) -> Case:
    return request.param


def run(det: Detector[Any], inputs: list[Any], start: int = 0) -> list[float]:
    scores = []
    for i, x in enumerate(inputs, start):
        scores.append(det.score_one(at(i), x))
        det.learn_one(at(i), x)
    return scores


def daily(days: float, *, low: float = 10, high: float = 60, negative: float = 0.2, seed: int = 1) -> Feed:
    """A Poisson day/night cycle of mentions, each negative with probability ``negative``."""
    rng = random.Random(seed)
    feed = []
    for i in range(int(days * 288)):
        hour = (i // 12) % 24
        lam = low + (high - low) * max(0.0, math.sin(math.pi * (hour - 6) / 14)) if 6 <= hour < 20 else low
        count = max(0, round(rng.gauss(lam, math.sqrt(lam))))
        feed.append((count, sum(rng.random() < negative for _ in range(count))))
    return feed


feeds = st.lists(st.tuples(st.integers(0, 400), st.floats(0, 1)), min_size=GRACE_BUCKETS, max_size=GRACE_BUCKETS + 60
                 ).map(lambda rows: [(count, round(count * share)) for count, share in rows])
SUITE = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


def test_both_classes_offer_the_api() -> None:
    for case in CASES:
        det = case.make()
        assert isinstance(det, Detector)  # the method names (runtime_checkable)
        for name in ("score_one", "learn_one", "expected", "to_state"):
            assert callable(getattr(det, name)), (case.name, name)


@SUITE
@given(feed=feeds)
def test_scores_are_in_the_unit_interval_and_deterministic(case: Case, feed: Feed) -> None:
    first = run(case.make(), case.inputs(feed))
    again = run(case.make(), case.inputs(feed))
    assert all(0.0 <= s <= 1.0 and not math.isnan(s) for s in first)
    assert first == again


@SUITE
@given(feed=feeds, other=st.integers(0, 2000), data=st.data())
def test_no_look_ahead(case: Case, feed: Feed, other: int, data: st.DataObject) -> None:
    """The scores up to a bucket do not depend on anything after it."""
    cut = data.draw(st.integers(1, len(feed) - 1))
    changed = [*feed[:cut], (other, other // 2), *feed[cut + 1:]]
    assert run(case.make(), case.inputs(feed))[:cut] == run(case.make(), case.inputs(changed))[:cut]


def test_score_one_learns_nothing(case: Case) -> None:
    feed = daily(1)
    det = case.make()
    inputs = case.inputs(feed)
    run(det, inputs[:-1])
    before = json.dumps(det.to_state(), sort_keys=True)
    first = det.score_one(at(len(feed) - 1), inputs[-1])
    assert json.dumps(det.to_state(), sort_keys=True) == before
    assert det.score_one(at(len(feed) - 1), inputs[-1]) == first


def test_grace_period_scores_zero_whatever_comes(case: Case) -> None:
    feed: Feed = [(5, 1)] * (GRACE_BUCKETS - 6) + [(3000, 2900)] * 6 + [(5, 1)] * 12 + [(3000, 2900)] * 3
    scores = run(case.make(), case.inputs(feed))
    assert scores[:GRACE_BUCKETS] == [0.0] * GRACE_BUCKETS
    assert max(scores[GRACE_BUCKETS:]) >= 0.99  # after the grace period the same burst is flagged


def test_baseline_is_protected_from_a_crisis(case: Case) -> None:
    """Six hours at ten times the usual volume: flagged at onset, and the baseline barely moves
    (a twin that never saw the burst expects nearly the same afterwards)."""
    normal = daily(4)
    start = 3 * 288 + 10 * 12  # 10:00 on the fourth day
    burst = [(count * 10, count * 8) for count, _ in normal[start:start + 72]]
    crisis = [*normal[:start], *burst, *normal[start + 72:]]
    calm, hit = case.make(), case.make()
    calm_scores = run(calm, case.inputs(normal))
    hit_scores = run(hit, case.inputs(crisis))
    assert hit_scores[start] >= 0.99 > max(calm_scores[start:start + 72])
    for hours in (0, 12, 24):
        later = at(len(normal) + hours * 12)
        assert hit.expected(later) == pytest.approx(calm.expected(later), rel=0.2), hours


def test_negative_baseline_is_protected() -> None:
    """BrandDetector also learns a negative share: a negative wave does not become its usual."""
    case = brand_case()
    normal = daily(4)
    start = 3 * 288 + 10 * 12
    wave = [*normal[:start], *[(c * 5, c * 4) for c, _ in normal[start:start + 72]], *normal[start + 72:]]
    calm, hit = case.make(), case.make()
    run(calm, case.inputs(normal))
    run(hit, case.inputs(wave))
    assert isinstance(calm, BrandDetector) and isinstance(hit, BrandDetector)
    assert hit.neg_base / hit.total_base == pytest.approx(calm.neg_base / calm.total_base, abs=0.03)


@pytest.fixture(params=["sqlite", "redis"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'state.db'}"
    else:
        yield request.getfixturevalue("clean_redis_url")


def test_state_survives_a_store_round_trip(case: Case, store_url: str) -> None:
    feed = daily(2, seed=7)
    inputs = case.inputs(feed)
    half = len(inputs) // 2 + 17
    live = case.make()
    run(live, inputs[:half])
    store = open_store(store_url)
    try:
        store.save_state("detector:b", live.to_state())
    finally:
        store.close()
    reopened = open_store(store_url)
    try:
        state = reopened.load_state("detector:b")
    finally:
        reopened.close()
    assert state is not None
    restored = case.restore(state)
    assert run(restored, inputs[half:], half) == run(live, inputs[half:], half)
    assert json.dumps(restored.to_state(), sort_keys=True) == json.dumps(live.to_state(), sort_keys=True)

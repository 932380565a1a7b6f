"""Window math: sums, negative-binomial tails and two-proportion tests (tables and properties)."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from service.detect.window import aggregate, fade_share, negbin_upper_tail, two_proportion_z
from service.domain import Bucket

T0 = datetime(2015, 3, 2, tzinfo=UTC)


def test_aggregate_sums_counts_and_maps() -> None:
    window = aggregate([
        Bucket(brand="b", start=T0, count=10, negative=4, positive=1, crisis={"safety_recall": 3},
               kinds={"news": 2, "social": 8}, langs={"en": 10}),
        Bucket(brand="b", start=T0 + timedelta(minutes=5), count=30, negative=20, crisis={"safety_recall": 9},
               kinds={"regulator": 1, "social": 29}, langs={"fr": 5, "en": 25}),
    ])
    assert (window.count, window.negative, window.positive) == (40, 24, 1)
    assert window.crisis == {"safety_recall": 12}
    assert window.kinds == {"news": 2, "social": 37, "regulator": 1}
    assert window.negative_share == 0.6 and window.share(window.crisis, "safety_recall") == 0.3


def test_empty_window() -> None:
    window = aggregate([])
    assert window.count == 0 and window.negative_share == 0.0


def test_negbin_tail_matches_scipy() -> None:
    for observed, mean, size in [(5, 3.0, 8.0), (40, 12.0, 8.0), (1, 0.1, 2.0), (300, 100.0, 20.0)]:
        p = size / (size + mean)
        assert math.isclose(negbin_upper_tail(observed, mean, size), stats.nbinom.sf(observed - 1, size, p),
                            rel_tol=1e-9)


def test_zero_and_low_counts_are_not_surprising() -> None:
    assert negbin_upper_tail(0, 5.0, 8.0) == 1.0
    assert negbin_upper_tail(1, 0.5, 8.0) > 0.3


@settings(deadline=None)  # a loaded machine must not fail a property
@given(st.integers(0, 500), st.floats(0.01, 500), st.floats(0.5, 50))
def test_tail_is_a_probability_and_decreasing(observed: int, mean: float, size: float) -> None:
    tail = negbin_upper_tail(observed, mean, size)
    assert 0.0 <= tail <= 1.0
    assert negbin_upper_tail(observed + 1, mean, size) <= tail + 1e-12


def test_two_proportion_z() -> None:
    assert two_proportion_z(0, 0, 10, 100) == 0.0
    assert two_proportion_z(10, 100, 100, 1000) == 0.0
    assert two_proportion_z(70, 100, 200, 1000) > 9
    assert two_proportion_z(5, 100, 200, 1000) < -3


counts = st.integers(0, 300)
buckets = st.lists(st.builds(
    lambda i, n, neg, pos, news, lang: Bucket(
        brand="b", start=T0 + i * timedelta(minutes=5), count=n, negative=min(neg, n),
        positive=min(pos, n - min(neg, n)),
        crisis={"outage": min(neg, n)} if neg else {}, kinds={"news": min(news, n), "social": n - min(news, n)},
        langs={lang: n}),
    st.integers(0, 11), counts, counts, counts, counts, st.sampled_from(["en", "fr"])), max_size=12)


@settings(deadline=None)  # a loaded machine must not fail a property
@given(buckets, st.randoms())
def test_aggregate_is_a_sum_in_any_order(items: list[Bucket], rng: object) -> None:
    window = aggregate(items)
    shuffled = list(items)
    rng.shuffle(shuffled)  # type: ignore[attr-defined]
    assert aggregate(shuffled) == window
    assert window.count == sum(b.count for b in items) == sum(window.kinds.values())
    assert 0.0 <= window.negative_share <= 1.0 and 0.0 <= window.positive_share <= 1.0
    assert window.negative_share + window.positive_share <= 1.0 + 1e-12
    half = len(items) // 2
    left, right = aggregate(items[:half]), aggregate(items[half:])
    assert (left.count + right.count, left.negative + right.negative) == (window.count, window.negative)


@settings(deadline=None)  # a loaded machine must not fail a property
@given(st.integers(1, 400), st.floats(0.0, 1.0), st.floats(1.0, 5000.0), st.floats(0.01, 0.99))
def test_z_points_the_way_the_share_moved(total: int, share: float, base_total: float, base_share: float) -> None:
    successes = round(total * share)
    z = two_proportion_z(successes, total, base_share * base_total, base_total)
    moved = successes / total - base_share
    assert z == 0.0 or (z > 0) == (moved > 0)
    if successes < total:
        assert two_proportion_z(successes + 1, total, base_share * base_total, base_total) >= z


@pytest.mark.parametrize(("args", "expected"), [
    ((10.0, 50.0, 3, 10), (8.0, 35.0)),  # half of the old counts plus the new ones
    ((10.0, 50.0, 0, 0), (5.0, 25.0)),  # silence fades the counts, not the share
    ((0.0, 1.0, 0, 0), (0.2, 1.5)),  # below the floor: one mention at the prior share is added
    ((0.0, 0.0, 4, 4), (4.0, 4.0)),  # ... unless the new counts lift it above
])
def test_fade_share_table(args: tuple[float, float, int, int], expected: tuple[float, float]) -> None:
    assert fade_share(*args, decay=0.5, prior_share=0.2, floor=4.0) == pytest.approx(expected)


@settings(deadline=None)  # a loaded machine must not fail a property
@given(st.floats(0.0, 1.0), st.floats(1.0, 1000.0), st.lists(st.tuples(counts, st.floats(0.0, 1.0)), max_size=50),
       st.floats(0.5, 0.9999))
def test_faded_share_stays_between_the_shares_it_saw(share: float, total: float, stream: list[tuple[int, float]],
                                                     decay: float) -> None:
    successes = share * total
    seen = [share, 0.2]
    for count, new_share in stream:
        negative = round(count * new_share)
        if count:
            seen.append(negative / count)
        successes, total = fade_share(successes, total, negative, count, decay=decay, prior_share=0.2, floor=5.0)
        assert total > 0
        assert min(seen) - 1e-9 <= successes / total <= max(seen) + 1e-9

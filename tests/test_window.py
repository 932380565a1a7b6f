"""Window math: sums, negative-binomial tails and two-proportion tests (tables and properties)."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st
from scipy import stats

from service.detect.window import aggregate, negbin_upper_tail, two_proportion_z
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

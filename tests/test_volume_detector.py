"""Check suite of the streaming volume detector (service/detect/volume.py).

Score in [0, 1], determinism, no look-ahead, grace period, protected baseline, zero and low counts,
state round trip through JSON, seasonality; tables for the surprise math, Hypothesis for properties.
"""

from __future__ import annotations

import json
import math
import random
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.stats import nbinom, norm

from service.detect.volume import VolumeDetector, VolumeParams, surprise

T0 = datetime(2015, 3, 2, tzinfo=UTC)  # a Monday
FAST = VolumeParams()
QUICK = VolumeParams(grace=timedelta(minutes=30))  # for short generated series
NOVELTY = VolumeParams(record_power=0.35)  # novelty against the brand's record (off by default)


def at(i: int, params: VolumeParams = FAST) -> datetime:
    return T0 + i * params.bucket


def run(det: VolumeDetector, counts: list[float], start: int = 0) -> list[float]:
    scores = []
    for i, c in enumerate(counts, start):
        scores.append(det.score_one(at(i, det.params), c))
        det.learn_one(at(i, det.params), c)
    return scores


def daily(days: int, *, low: float = 10, high: float = 60, seed: int = 1) -> list[float]:
    """A Poisson series with a day/night cycle (5-minute buckets)."""
    rng = random.Random(seed)
    out = []
    for i in range(days * 288):
        hour = (i // 12) % 24
        lam = low + (high - low) * max(0.0, math.sin(math.pi * (hour - 6) / 14)) if 6 <= hour < 20 else low
        out.append(float(_poisson(rng, lam)))
    return out


def _poisson(rng: random.Random, lam: float) -> int:
    if lam > 30:
        return max(0, round(rng.gauss(lam, math.sqrt(lam))))
    k, p, limit = 0, 1.0, math.exp(-lam)
    while True:
        p *= rng.random()
        if p <= limit:
            return k
        k += 1


@pytest.mark.parametrize(("x", "mu", "disp", "z"), [
    (30, 10, 1e-4, 5.09),  # Poisson-like: 30 against 10 is very surprising
    (30, 10, 0.1, 3.24),  # overdispersed: less so
    (300, 100, 0.1, 4.10),  # same ratio, more data: more surprising
    (3, 0.5, 0.1, 2.28),  # 3 mentions where half of one is usual: not alarming
    (12, 2, 0.05, 4.36),
])
def test_surprise_table(x: float, mu: float, disp: float, z: float) -> None:
    """The surprise is the likelihood-ratio z of the negative binomial and close to its exact tail."""
    size = 1 / disp
    loglik = lambda m: nbinom.logpmf(x, size, size / (size + m))  # noqa: E731
    assert surprise(x, mu, disp) == pytest.approx(z, abs=0.01)
    assert surprise(x, mu, disp) == pytest.approx(math.sqrt(2 * (loglik(x) - loglik(mu))), rel=1e-9)
    assert surprise(x, mu, disp) == pytest.approx(norm.isf(nbinom.sf(x - 1, size, size / (size + mu))), abs=0.2)


@pytest.mark.parametrize(("x", "mu"), [(10, 10), (0, 10), (0, 0.001), (5, 80)])
def test_surprise_is_zero_at_or_below_expectation(x: float, mu: float) -> None:
    assert surprise(x, mu, 0.1) == 0.0


@given(mu=st.floats(0.01, 1e4), disp=st.floats(0.001, 4), k=st.floats(1.01, 50))
def test_surprise_grows_with_excess(mu: float, disp: float, k: float) -> None:
    assert 0 < surprise(mu * k, mu, disp) < surprise(mu * k * 1.5, mu, disp)


@settings(max_examples=40, deadline=None)
@given(st.lists(st.integers(0, 5000), min_size=30, max_size=120))
def test_scores_are_in_unit_interval_and_deterministic(counts: list[int]) -> None:
    a_det, b_det = VolumeDetector(QUICK), VolumeDetector(QUICK)
    a, b = run(a_det, [float(c) for c in counts]), run(b_det, [float(c) for c in counts])
    assert a == b and a_det.to_state() == b_det.to_state()
    assert all(0.0 <= s <= 1.0 for s in a)


@settings(max_examples=30, deadline=None)
@given(st.lists(st.integers(0, 300), min_size=40, max_size=80), st.integers(0, 10_000))
def test_no_look_ahead(counts: list[int], other: int) -> None:
    """The scores of a prefix do not depend on what comes after it."""
    cut = len(counts) // 2
    a = run(VolumeDetector(QUICK), [float(c) for c in counts])
    b = run(VolumeDetector(QUICK), [float(c) for c in counts[:cut]] + [float(other)] * (len(counts) - cut))
    assert a[:cut] == b[:cut]


def test_score_one_does_not_learn() -> None:
    det = VolumeDetector(FAST)
    run(det, daily(3))
    before = det.to_state()
    first = det.score_one(at(3 * 288), 500)
    assert first > 0.99
    assert det.score_one(at(3 * 288), 20) < first
    assert det.score_one(at(3 * 288), 500) == first
    assert det.to_state() == before


def test_grace_period_scores_zero() -> None:
    det = VolumeDetector(VolumeParams(grace=timedelta(hours=6)))
    scores = run(det, [20.0] * 36 + [5000.0] + [20.0] * 35 + [5000.0])
    assert scores[:72] == [0.0] * 72
    assert scores[72] > 0.99


def test_spike_fires_and_normal_does_not() -> None:
    det = VolumeDetector(FAST)
    history = daily(7)
    scores = run(det, history)
    assert max(scores[288:]) < 0.97  # a week of ordinary Poisson noise stays below every preset
    noon = 7 * 288 + 12 * 12
    run(det, daily(8)[7 * 288:noon], start=7 * 288)
    assert det.score_one(at(noon), det.expected(at(noon)) * 6) > 0.99


def test_baseline_is_protected_from_a_crisis() -> None:
    det = VolumeDetector(FAST)
    run(det, daily(7))
    start = 7 * 288
    normal = det.expected(at(start + 12 * 12))
    crisis = [det.expected(at(start + i)) * 8 for i in range(12 * 12, 12 * 16)]  # 4 hours at 8x
    run(det, daily(8)[start:start + 12 * 12], start=start)
    surprises = [det.surprise_one(at(start + 12 * 12 + i), c) for i, c in enumerate(crisis)]
    scores = run(det, crisis, start=start + 12 * 12)
    assert scores[0] > 0.99  # the onset is news
    alarms = [i for i, s in enumerate(scores) if s > 0.0]
    assert alarms[0] == 0 and len(alarms) <= 3  # then only when its evidence doubles (4, 16 buckets)
    assert max(scores[alarms[-1] + 1:]) == 0.0 and alarms[-1] < 24  # not news again in its last 2 hours
    assert min(surprises) > 6  # but it stays far from normal while it lasts
    after = det.expected(at(start + 7 * 288 + 12 * 12))  # same hour a week later
    assert after < 1.5 * normal


@pytest.mark.parametrize("rate", [0.05, 0.3, 1.0])
def test_low_counts_never_fire(rate: float) -> None:
    rng = random.Random(7)
    counts = [float(_poisson(rng, rate)) for _ in range(288 * 5)]
    counts[700] = counts[900] = 3.0  # a few mentions where there are usually none
    scores = run(VolumeDetector(FAST), counts)
    assert max(scores) < 0.97  # below the most sensitive preset


@settings(max_examples=30, deadline=None)
@given(st.lists(st.integers(0, 2000), min_size=30, max_size=80))
def test_zero_bucket_never_fires(counts: list[int]) -> None:
    det = VolumeDetector(QUICK)
    run(det, [float(c) for c in counts])
    assert det.score_one(at(len(counts)), 0) == 0.0


def test_state_round_trips_through_json() -> None:
    history = daily(3, seed=3)
    a = VolumeDetector(FAST)
    run(a, history[:500])
    state = json.loads(json.dumps(a.to_state()))
    b = VolumeDetector.from_state(FAST, state)
    assert b.to_state() == a.to_state()
    assert run(a, history[500:], start=500) == run(b, history[500:], start=500)
    assert a.to_state() == b.to_state()


def test_state_of_other_params_is_rejected() -> None:
    state = VolumeDetector(FAST).to_state()
    with pytest.raises(ValueError, match="does not match"):
        VolumeDetector.from_state(VolumeParams(horizons=(timedelta(minutes=5), timedelta(hours=1))), state)


def test_seasonality_day_and_night() -> None:
    det = VolumeDetector(FAST)
    run(det, daily(10, low=5, high=80))
    noon, night = at(10 * 288 + 13 * 12), at(10 * 288 + 2 * 12)
    assert det.expected(noon) > 5 * det.expected(night)
    assert det.score_one(noon, 80) < 0.5  # usual at noon
    assert det.score_one(night, 80) > 0.99  # the same count at 2am is a spike


def test_repeated_and_old_buckets_are_not_learned_twice() -> None:
    det = VolumeDetector(FAST)
    run(det, [10.0] * 50)
    state = det.to_state()
    det.learn_one(at(49), 10_000)
    det.learn_one(at(10), 10_000)
    assert det.to_state() == state


def test_other_bucket_width() -> None:
    params = VolumeParams(bucket=timedelta(minutes=1), grace=timedelta(minutes=30))
    det = VolumeDetector(params)
    scores = run(det, [4.0] * 120 + [100.0])
    assert scores[-1] > 0.99 and max(scores[:-1]) < 0.5
    assert det.expected(at(121, params)) == pytest.approx(4.0, rel=0.05)


@pytest.mark.parametrize("kwargs", [
    {"bucket": timedelta(0)}, {"slot": timedelta(minutes=7)}, {"horizons": ()},
    {"horizons": (timedelta(hours=1), timedelta(minutes=5))}, {"horizons": (timedelta(minutes=1),)},
    {"record_half_life": timedelta(minutes=1)}, {"record_power": -0.1},
    {"episode_gap": timedelta(0)}, {"escalation": 0.5}, {"episode_z": 0.0},
])
def test_invalid_params(kwargs: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        VolumeParams(**kwargs)


def test_hour_of_week_seasonality() -> None:
    """Weekends three times quieter than weekdays: after some weeks the baseline knows it."""
    rng = random.Random(5)
    counts = [float(_poisson(rng, 12.0 if (i // 288) % 7 >= 5 else 36.0)) for i in range(10 * 7 * 288)]
    det = VolumeDetector(FAST)
    run(det, counts)
    start = 10 * 7 * 288  # a Monday
    weekday, sunday = det.expected(at(start + 2 * 288 + 144)), det.expected(at(start + 6 * 288 + 144))
    assert weekday > 1.6 * sunday
    assert det.score_one(at(start + 6 * 288 + 144), 36.0) > det.score_one(at(start + 2 * 288 + 144), 36.0)


def test_gap_in_the_stream() -> None:
    """Buckets never learned (the service was down) are forgotten, not taken as zeros."""
    det = VolumeDetector(FAST)
    history = daily(4, seed=9)
    run(det, history[:3 * 288])
    run(det, history[3 * 288 + 36:], start=3 * 288 + 36)  # three hours missing
    noon = at(4 * 288 + 13 * 12)
    assert det.expected(noon) > 40  # the day's profile is intact
    assert det.score_one(noon, det.expected(noon)) == 0.0


@settings(max_examples=25, deadline=None)
@given(st.lists(st.integers(0, 400), min_size=20, max_size=90), st.data())
def test_state_round_trip_anywhere(counts: list[int], data: st.DataObject) -> None:
    params = QUICK
    cut = data.draw(st.integers(0, len(counts)))
    a = VolumeDetector(params)
    run(a, [float(c) for c in counts[:cut]])
    b = VolumeDetector.from_state(params, json.loads(json.dumps(a.to_state())))
    rest = [float(c) for c in counts[cut:]]
    assert run(a, rest, start=cut) == run(b, rest, start=cut)
    assert a.to_state() == b.to_state()


def _burst_scores(params: VolumeParams, first: float, second: float, days_apart: int) -> tuple[float, float]:
    """Scores of two bursts of ``first`` and ``second`` times the expectation at noon, some days apart."""
    det = VolumeDetector(params)
    history = daily(7 + days_apart + 1, seed=11)
    noon1, noon2 = 7 * 288 + 12 * 12, (7 + days_apart) * 288 + 12 * 12
    run(det, history[:noon1])
    burst1 = det.expected(at(noon1)) * first
    s1 = det.score_one(at(noon1), burst1)
    det.learn_one(at(noon1), burst1)
    run(det, history[noon1 + 1:noon2], start=noon1 + 1)
    burst2 = det.expected(at(noon2)) * second
    return s1, det.score_one(at(noon2), burst2)


def test_a_burst_below_the_recent_record_is_less_news() -> None:
    """Novelty: a burst half the size of last days' record scores lower than the same burst for a
    brand with no record; one above the record is not scaled; record_power 0 turns it off."""
    s1, smaller = _burst_scores(NOVELTY, 20.0, 6.0, 2)
    _, fresh = _burst_scores(NOVELTY, 1.0, 6.0, 2)  # no burst before: no record
    _, bigger = _burst_scores(NOVELTY, 20.0, 30.0, 2)
    _, off = _burst_scores(FAST, 20.0, 6.0, 2)  # the default: novelty off
    assert s1 > 0.99 and fresh > 0.99 and bigger > 0.99
    assert smaller < fresh and smaller < off
    assert off == pytest.approx(fresh, abs=2e-3)  # without novelty the record does not matter


def test_the_record_fades() -> None:
    """The record fades with record_half_life: four weeks later the same burst is news again."""
    _, soon = _burst_scores(NOVELTY, 20.0, 6.0, 2)
    _, later = _burst_scores(NOVELTY, 20.0, 6.0, 28)
    _, fresh = _burst_scores(NOVELTY, 1.0, 6.0, 28)
    assert soon < later <= fresh
    assert later == pytest.approx(fresh, abs=2e-3)


@pytest.mark.parametrize("version", [2, 3])
def test_older_states_load_without_record_or_episode(version: int) -> None:
    """Stores written before the record (version 2) or the episodes (2 and 3, which kept the largest
    recent surprise instead) still load; the detector continues with an empty record and no episode."""
    det = VolumeDetector(FAST)
    run(det, daily(3, seed=4))
    det.learn_one(at(3 * 288), det.expected(at(3 * 288)) * 8)  # an open episode
    state = json.loads(json.dumps(det.to_state()))
    assert state["version"] == 4 and state["record"] > 0.0 and state["episode"][0] == 1
    old = {k: v for k, v in state.items() if k != "episode"} | {"version": version, "peak": 7.0, "peak_idx": 3}
    if version == 2:
        old = {k: v for k, v in old.items() if k not in ("record", "record_idx")}
    restored = VolumeDetector.from_state(FAST, old)
    assert restored.ep_n == 0 and restored.ep_last is None
    expected = state | {"episode": [0, 0.0, None, 0.0]}
    if version == 2:
        assert restored.record == 0.0 and restored.record_idx is None
        expected |= {"record": 0.0, "record_idx": None}
    assert restored.to_state() == expected
    with pytest.raises(ValueError, match="does not match"):
        VolumeDetector.from_state(FAST, state | {"version": 1})


def _after_a_week(seed: int = 12) -> tuple[VolumeDetector, int]:
    det = VolumeDetector(FAST)
    run(det, daily(7, seed=seed))
    return det, 7 * 288 + 12 * 12  # noon of the eighth day


def test_persistence_accumulates_evidence() -> None:
    """Episode evidence: a moderate excess that lasts scores again, higher, once its evidence has
    doubled (four surprising buckets); the same excess for a single bucket scores once."""
    det, noon = _after_a_week()
    run(det, daily(8, seed=12)[7 * 288:noon], start=7 * 288)
    first = None
    scores = []
    for i in range(12):
        x = det.expected(at(noon + i)) * 2.5
        z = det.surprise_one(at(noon + i), x)
        first = z if first is None else first
        scores.append(det.score_one(at(noon + i), x))
        det.learn_one(at(noon + i), x)
    assert 2.0 <= first < 4.0  # moderately surprising, bucket after bucket
    alarms = [i for i, s in enumerate(scores) if s > 0.0]
    assert alarms[0] == 0 and len(alarms) >= 2
    assert scores[alarms[1]] > scores[0]  # persistence made it more alarming


def test_one_alarm_per_spike_and_a_new_episode_after_calm() -> None:
    """A second spike of the same size within ``episode_gap`` is not news (the evidence grows by
    only sqrt(2)); after ``episode_gap`` of calm it opens a new episode and is news again."""
    det, noon = _after_a_week(seed=13)
    history = daily(9, seed=13)
    run(det, history[7 * 288:noon], start=7 * 288)
    spike = lambda i: det.expected(at(i)) * 6  # noqa: E731
    first = det.score_one(at(noon), spike(noon))
    det.learn_one(at(noon), spike(noon))
    run(det, history[noon + 1:noon + 12], start=noon + 1)
    again = det.score_one(at(noon + 12), spike(noon + 12))  # one hour later
    det.learn_one(at(noon + 12), spike(noon + 12))
    later = noon + 12 + 25 + 12  # three hours later, over two hours after the last surprising bucket
    run(det, history[noon + 13:later], start=noon + 13)
    fresh = det.score_one(at(later), spike(later))
    assert first > 0.99 and again == 0.0 and fresh > 0.99


def test_an_hour_of_excess_outranks_a_bigger_lone_spike() -> None:
    """What NAB's labels reward: an excess that persists for an hour reaches a higher score than a
    one-bucket spike twice its size (which scores once, at its own surprise)."""
    det, noon = _after_a_week(seed=14)
    history = daily(9, seed=14)
    run(det, history[7 * 288:noon], start=7 * 288)
    spike = det.score_one(at(noon), det.expected(at(noon)) * 5)
    det.learn_one(at(noon), det.expected(at(noon)) * 5)
    later = noon + 6 * 12  # six calm hours later: a new episode
    run(det, history[noon + 1:later], start=noon + 1)
    hour = run(det, [det.expected(at(later + i)) * 2.5 for i in range(12)], start=later)
    assert max(history[noon + 1:later]) < 2 * det.expected(at(noon))  # the hours between were calm
    assert max(hour) > spike > 0.97


# --- local time: a daily rhythm that follows the brand's clock across daylight-saving changes ----------

NEW_YORK = "America/New_York"
SPRING = datetime(2015, 3, 8, 7, tzinfo=UTC)  # 02:00 EST becomes 03:00 EDT
FALL = datetime(2015, 11, 1, 6, tzinfo=UTC)  # 02:00 EDT becomes 01:00 EST
ALARM = 0.99  # a score at least this high is an alarm here (a clear spike, as in the day/night test)


def _local_rate(hour: float) -> float:
    """Expected mentions per 5 minutes at a local hour: quiet nights, a daytime hump from 6:00 to 20:00."""
    return 10 + 70 * max(0.0, math.sin(math.pi * (hour - 6) / 14)) if 6 <= hour < 20 else 10.0


def local_rhythm(change: datetime, *, before: int = 14, after: int = 5, seed: int = 3) -> list[tuple[datetime, float]]:
    """Poisson counts per UTC bucket following New York's clock, from ``before`` days before ``change``."""
    zone, rng = ZoneInfo(NEW_YORK), random.Random(seed)
    start = (change - timedelta(days=before)).replace(hour=0)
    out = []
    for i in range((before + after) * 288):
        t = start + i * FAST.bucket
        local = t.astimezone(zone)
        out.append((t, float(_poisson(rng, _local_rate(local.hour + local.minute / 60)))))
    return out


def _replay(params: VolumeParams, series: list[tuple[datetime, float]], probe: datetime,
            change: datetime) -> tuple[float, float]:
    """``(expectation at probe, largest score at or after change)`` of a detector fed ``series``."""
    det, expected, top = VolumeDetector(params), math.nan, 0.0
    for t, c in series:
        if t == probe:
            expected = det.expected(t)
        score = det.score_one(t, c)
        det.learn_one(t, c)
        top = max(top, score) if t >= change else top
    return expected, top


@pytest.mark.parametrize(("change", "utc_sees"), [(SPRING, 7.0), (FALL, 9.0)])
def test_profile_follows_local_time_across_daylight_saving(change: datetime, utc_sees: float) -> None:
    """08:00 local on the day of the change: the brand's zone expects 08:00's volume and never alarms
    afterwards; UTC still expects what its clock hour held before the change, 07:00 (spring) or 09:00
    (fall) local, and alarms on the shifted rhythm."""
    series = local_rhythm(change)
    probe = change.replace(hour=12 if change == SPRING else 13)  # 08:00 EDT / 08:00 EST
    assert probe.astimezone(ZoneInfo(NEW_YORK)).hour == 8
    local_expected, local_top = _replay(VolumeParams(timezone=NEW_YORK), series, probe, change)
    utc_expected, utc_top = _replay(FAST, series, probe, change)
    assert local_expected == pytest.approx(_local_rate(8.0), abs=2.5)
    assert utc_expected == pytest.approx(_local_rate(utc_sees), abs=2.5)  # off by the hour
    assert abs(utc_expected - _local_rate(8.0)) > 10
    assert local_top < ALARM < utc_top


def test_local_time_is_deterministic_and_its_state_round_trips() -> None:
    params = VolumeParams(timezone=NEW_YORK)
    series = local_rhythm(FALL, before=9, after=2)
    cut = next(i for i, (t, _) in enumerate(series) if t >= FALL) - 3  # resume just before the change
    whole = VolumeDetector(params)
    whole_scores = [whole.score_one(t, c) for t, c in series if whole.learn_one(t, c) is None]
    first = VolumeDetector(params)
    scores = [first.score_one(t, c) for t, c in series[:cut] if first.learn_one(t, c) is None]
    second = VolumeDetector.from_state(params, json.loads(json.dumps(first.to_state())))
    scores += [second.score_one(t, c) for t, c in series[cut:] if second.learn_one(t, c) is None]
    assert scores == whole_scores and second.to_state() == whole.to_state()
    again = VolumeDetector(params)
    assert [again.score_one(t, c) for t, c in series if again.learn_one(t, c) is None] == whole_scores


@pytest.mark.parametrize("zone", ["UTC", "Asia/Tokyo", "Etc/GMT+5"])
def test_fixed_offset_zones_score_exactly_like_utc(zone: str) -> None:
    counts = daily(9, seed=4)
    utc, local = VolumeDetector(FAST), VolumeDetector(VolumeParams(timezone=zone))
    assert run(local, counts) == run(utc, counts)
    assert local.history == utc.history and local.disp == utc.disp


def test_no_bucket_is_repeated_or_skipped_at_a_change() -> None:
    """The history runs on UTC buckets: across the fall-back hour every bucket is learned exactly once."""
    det = VolumeDetector(VolumeParams(timezone=NEW_YORK))
    series = local_rhythm(FALL, before=3, after=1)
    for t, c in series:
        det.learn_one(t, c)
    assert det.seen == len(series) == sum(v is not None for v in det.history)  # none skipped or overwritten


def test_unknown_timezone_is_refused() -> None:
    with pytest.raises(ValueError, match=r"unknown time zone 'Mars/Olympus' \(use an IANA name"):
        VolumeParams(timezone="Mars/Olympus")


def test_a_changed_timezone_moves_the_weekly_learning_with_the_clock() -> None:
    """A brand whose ``detection.timezone`` changes keeps its weekly rhythm: the state says which clock
    it was learned on, and each hour-of-week slot moves to where the same instants fall on the new
    local clock (Tokyo is UTC+9 all year: 9 slots), instead of being read nine hours off."""
    series = [c * (3.0 if i // 288 % 7 == 3 and i // 12 % 24 == 9 else 1.0)  # busy Thursdays 09:00 UTC
              for i, c in enumerate(daily(28))]
    learned = VolumeDetector(FAST)
    run(learned, series)
    state = json.loads(json.dumps(learned.to_state()))
    assert state["timezone"] is None
    tokyo = VolumeDetector.from_state(VolumeParams(timezone="Asia/Tokyo"), state)
    slots = len(learned.week)
    for name in ("week", "week_base", "week_n"):
        before, after = getattr(learned, name), getattr(tokyo, name)
        assert after == [before[(s - 9) % slots] for s in range(slots)]
    assert tokyo.to_state()["timezone"] == "Asia/Tokyo"
    # Tokyo has no daylight saving: the same instants get exactly the same expectation as before
    ahead = [at(28 * 288 + i) for i in range(0, 7 * 288, 7)]
    assert [tokyo.expected(t) for t in ahead] == [learned.expected(t) for t in ahead]
    thursday_9 = at(31 * 288 + 9 * 12 + 6)
    assert tokyo.expected(thursday_9) > 1.2 * tokyo.expected(thursday_9 - timedelta(days=1))  # the busy slot

    back = VolumeDetector.from_state(FAST, json.loads(json.dumps(tokyo.to_state())))
    assert back.to_state() == learned.to_state()  # and back again: exactly the original


def test_a_state_learned_on_the_same_clock_is_restored_unchanged() -> None:
    params = VolumeParams(timezone=NEW_YORK)
    det = VolumeDetector(params)
    run(det, daily(10))
    state = json.loads(json.dumps(det.to_state()))
    assert VolumeDetector.from_state(params, state).to_state() == det.to_state()
    del state["timezone"]  # a state saved before zones were recorded: taken as learned on the configured one
    assert VolumeDetector.from_state(params, state).to_state() == det.to_state()
    state["timezone"] = "Mars/Olympus"  # a zone this system does not know: the slots stay where they are
    assert VolumeDetector.from_state(params, state).week == det.week
    state["timezone"] = None  # learned in UTC: New York is 4 or 5 hours behind
    moved = VolumeDetector.from_state(params, state)
    assert moved.week != det.week and sorted(moved.week) == sorted(det.week)

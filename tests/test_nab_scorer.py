"""The NAB scorer against NAB's published per-file scores, hand-computed tables and brute force, and
the ``bench nab`` runner end to end on a tiny NAB-format corpus."""

from __future__ import annotations

import csv
import json
import math
from datetime import datetime, timedelta
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from service.bench.nab import (
    OUTSIDE,
    PROBATION,
    PROFILES,
    STANDARD,
    cli_bench_nab,
    cross_val_score,
    layout,
    normalised,
    probation_rows,
    raw_at,
    scaled_sigmoid,
    split_mean_score,
    sweep,
    tuned_score,
)

FIXTURE = json.loads((Path(__file__).parent / "fixtures" / "nab" / "expected.json").read_text())
PROFILE = {p.name: p for p in PROFILES}


@pytest.mark.parametrize("detector", sorted(FIXTURE["detectors"]))
def test_published_per_file_scores(detector: str) -> None:
    """Every per-file raw score NAB published for this detector, at NAB's thresholds, to 1e-6."""
    entry = FIXTURE["detectors"][detector]
    assert len(entry["published"]) == 18  # 6 files x 3 profiles
    for profile, key, expected in entry["published"]:
        spec = FIXTURE["files"][key]
        scores = np.zeros(spec["rows"])
        for row, score in entry["hits"][key]:
            scores[row] = score
        lay = layout(key, spec["rows"], [tuple(w) for w in spec["windows"]])
        got = raw_at(lay, scores, entry["thresholds"][profile], PROFILE[profile])
        assert got == pytest.approx(expected, abs=1e-6), (profile, key)


@pytest.mark.parametrize(("y", "s"), [
    (-1.0, 0.9866142981514305), (-0.5, 0.8482836399575131), (0.0, 0.0), (0.5, -0.8482836399575131),
    (3.0, -0.9999993881955461), (3.0001, -1.0), (10.0, -1.0),
])
def test_scaled_sigmoid_table(y: float, s: float) -> None:
    assert scaled_sigmoid(y) == pytest.approx(s, abs=1e-12)


@pytest.mark.parametrize(("rows", "skip"), [(100, 15), (5000, 750), (15902, 750), (7, 1)])
def test_probation_is_15_percent_capped_at_750(rows: int, skip: int) -> None:
    assert probation_rows(rows) == skip


def test_layout_weights() -> None:
    lay = layout("f", 30, [(10, 14), (20, 21)], probation=3)
    assert list(lay.window[:3]) == [PROBATION] * 3
    assert lay.n_windows == 2
    assert lay.weight[5] == -1.0  # before any window: a full false positive
    assert lay.weight[10] == pytest.approx(1.0)  # first row of a window: full reward
    assert lay.weight[14] == pytest.approx(scaled_sigmoid(-1 / 5) / scaled_sigmoid(-1.0))
    assert lay.weight[15] == pytest.approx(scaled_sigmoid(1 / 4))  # just after: nearly free
    assert lay.weight[19] == pytest.approx(scaled_sigmoid(5 / 4))
    assert lay.weight[22] == pytest.approx(scaled_sigmoid(1 / 1))  # measured from the latest window
    assert lay.weight[29] == -1.0  # more than 3 window lengths after it
    assert list(lay.window[10:15]) == [0] * 5 and lay.window[15] == OUTSIDE


def test_only_the_earliest_detection_in_a_window_counts() -> None:
    lay = layout("f", 40, [(20, 29)], probation=0)
    early, late = np.zeros(40), np.zeros(40)
    early[[22, 25, 28]] = 1.0
    late[28] = 1.0
    assert raw_at(lay, early, 0.5, STANDARD) == pytest.approx(lay.weight[22])
    assert raw_at(lay, late, 0.5, STANDARD) == pytest.approx(lay.weight[28])
    assert raw_at(lay, np.zeros(40), 0.5, STANDARD) == -1.0  # a miss costs A_FN


def test_detections_in_probation_are_ignored() -> None:
    lay = layout("f", 40, [(20, 29)], probation=10)
    scores = np.zeros(40)
    scores[[2, 5]] = 1.0
    assert raw_at(lay, scores, 0.5, STANDARD) == -1.0


def test_normalisation() -> None:
    for p in PROFILES:
        assert normalised(-p.fn * 4, 4, p) == 0.0
        assert normalised(p.tp * 4, 4, p) == 100.0


@st.composite
def corpora(draw: st.DrawFn) -> list[tuple]:
    files = []
    for _ in range(draw(st.integers(2, 4))):
        n = draw(st.integers(20, 50))
        first = draw(st.integers(5, n - 6))
        last = draw(st.integers(first, min(n - 1, first + 8)))
        values = draw(st.lists(st.sampled_from([0.0, 0.2, 0.5, 0.7, 0.9, 1.0]), min_size=n, max_size=n))
        files.append((layout("f", n, [(first, last)], probation=3), np.array(values)))
    return files


@settings(max_examples=60, deadline=None)
@given(corpora())
def test_sweep_finds_the_best_threshold(pairs: list[tuple]) -> None:
    """NAB's optimiser equals brute force over every distinct score (and never detecting)."""
    for p in PROFILES:
        threshold, raw = sweep(pairs, p)
        candidates = sorted({float(v) for _, sc in pairs for v in sc} | {1.1}, reverse=True)
        brute = [sum(raw_at(lay, sc, t, p) for lay, sc in pairs) for t in candidates]
        assert raw == pytest.approx(max(brute), abs=1e-9)
        assert threshold == candidates[int(np.argmax(brute))]  # the highest of the best thresholds
        assert sum(raw_at(lay, sc, threshold, p) for lay, sc in pairs) == pytest.approx(raw, abs=1e-9)


def test_cross_validation_uses_thresholds_from_the_other_half() -> None:
    def one(first_hit: int, fp_rows: list[int], score: float) -> tuple:
        sc = np.zeros(60)
        sc[[first_hit, *fp_rows]] = score
        return layout("f", 60, [(30, 39)], probation=5), sc

    # half A fires with score 0.8, half B with score 0.3: a threshold tuned on A misses all of B
    a = [one(31, [], 0.8), one(32, [], 0.8)]
    b = [one(31, [], 0.3), one(33, [], 0.3)]
    assert tuned_score(a + b, STANDARD)[1] > 90
    cross = cross_val_score(a + b, STANDARD)
    raw_a = sum(raw_at(lay, sc, 0.3, STANDARD) for lay, sc in a)  # threshold tuned on B applies to A
    raw_b = sum(raw_at(lay, sc, 0.8, STANDARD) for lay, sc in b)  # and 0.8 misses every B window
    assert raw_b == -2.0
    assert cross == pytest.approx(normalised(raw_a + raw_b, 4, STANDARD))


def _write_corpus(root: Path, *, peer: bool) -> None:
    """A tiny NAB tree: two 3-day series with a daily cycle and a burst each, their windows, a peer."""
    t0 = datetime(2015, 3, 2)
    stamp = "%Y-%m-%d %H:%M:%S"
    (root / "data/realTweets").mkdir(parents=True)
    (root / "labels").mkdir()
    windows: dict[str, list[list[str]]] = {"realTweets/gone.csv": []}
    for name, burst in (("x", 700), ("y", 600)):
        rows = []
        for i in range(3 * 288):
            count = 20 + 15 * math.sin(2 * math.pi * (i % 288) / 288) + (i * 7919 % 11)
            rows.append((t0 + timedelta(minutes=5 * i), 400 if burst <= i < burst + 6 else round(count)))
        with (root / f"data/realTweets/{name}.csv").open("w", newline="") as fh:
            out = csv.writer(fh)
            out.writerow(["timestamp", "value"])
            out.writerows((t.strftime(stamp), v) for t, v in rows)
        windows[f"realTweets/{name}.csv"] = [[rows[burst - 20][0].strftime(stamp + ".000000"),
                                              rows[burst + 20][0].strftime(stamp + ".000000")]]
        if peer:
            (root / "results/always/realTweets").mkdir(parents=True, exist_ok=True)
            with (root / f"results/always/realTweets/always_{name}.csv").open("w", newline="") as fh:
                out = csv.writer(fh)
                out.writerow(["timestamp", "anomaly_score"])
                out.writerows((t.strftime(stamp), 1.0) for t, _ in rows)
    (root / "labels/windows.json").write_text(json.dumps(windows))


def test_cli_bench_nab_end_to_end(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _write_corpus(tmp_path, peer=True)
    args = SimpleNamespace(data=tmp_path / "data", labels=tmp_path / "labels/windows.json",
                           out=tmp_path / "out", threshold=0.99)
    assert cli_bench_nab(args) == 0
    printed = capsys.readouterr().out
    assert "crisiswatch" in printed and "always" in printed and "at threshold 0.99" in printed
    mine = next(line for line in printed.splitlines() if "crisiswatch " in line and "│" in line)
    assert "n/a" not in mine and float(mine.split("│")[2]) > 50  # both bursts found, few false alarms
    with (tmp_path / "out/crisiswatch/realTweets/crisiswatch_x.csv").open() as fh:
        result = list(csv.DictReader(fh))
    assert len(result) == 3 * 288
    assert list(result[0]) == ["timestamp", "value", "anomaly_score", "label"]
    scores = [float(r["anomaly_score"]) for r in result]
    assert all(0.0 <= s <= 1.0 for s in scores)
    assert max(scores[700:706]) > 0.99  # the burst is found
    assert sum(r["label"] == "1" for r in result) == 41


def test_cli_bench_nab_input_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    args = SimpleNamespace(data=tmp_path / "nothing", labels=tmp_path / "missing.json", out=None, threshold=None)
    assert cli_bench_nab(args) == 2
    err = capsys.readouterr().err
    assert err.startswith("error:") and "--labels" in err


def test_cli_bench_nab_timezone(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _write_corpus(tmp_path, peer=False)
    base = {"data": tmp_path / "data", "labels": tmp_path / "labels/windows.json", "out": None, "threshold": None}
    assert cli_bench_nab(SimpleNamespace(**base)) == 0
    default = capsys.readouterr().out
    assert cli_bench_nab(SimpleNamespace(**base, timezone="UTC")) == 0
    assert capsys.readouterr().out == default  # --timezone UTC is today's bench
    assert cli_bench_nab(SimpleNamespace(**base, timezone="Asia/Tokyo")) == 0  # a fixed offset: same scores
    assert capsys.readouterr().out == default.replace("on the UTC clock", "on the Asia/Tokyo clock")
    assert "crisiswatch daily profile on the UTC clock" in default
    assert cli_bench_nab(SimpleNamespace(**base, timezone="Mars/Olympus")) == 2
    assert capsys.readouterr().err.startswith("error: --timezone: unknown time zone 'Mars/Olympus'")


def test_split_mean_averages_every_half_split() -> None:
    def one(score: float) -> tuple:
        sc = np.zeros(60)
        sc[32] = score
        return layout("f", 60, [(30, 39)], probation=5), sc

    pairs = [one(0.8), one(0.8), one(0.3), one(0.3)]
    # splits keeping file 0 with file 1, 2 or 3; each is cross_val_score of that ordering
    orders = [[0, 1, 2, 3], [0, 2, 1, 3], [0, 3, 1, 2]]
    expected = sum(cross_val_score([pairs[i] for i in o], STANDARD) for o in orders) / 3
    assert split_mean_score(pairs, STANDARD) == pytest.approx(expected)

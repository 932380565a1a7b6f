"""NAB benchmark: the NAB scoring rules and the ``crisiswatch bench nab`` runner.

The scorer follows the rules stated in NAB's README (probation, windows, scaled sigmoid, cost
profiles, threshold optimisation, normalisation) and reproduces NAB's published per-file scores
(see ``tests/test_nab_scorer.py``). The runner streams each series through the production
:class:`~service.detect.volume.VolumeDetector` (score, then learn; no look-ahead) and prints its
normalised scores next to every peer found in ``DATA/../results`` under two protocols:

* ``tuned on all``: one threshold per profile, chosen on all series and scored on the same series
  (NAB's own protocol; flatters every detector equally);
* ``3/3 cross-val``: the threshold is chosen on half of the series and applied to the other half,
  both ways; the two held-out halves are summed and normalised together.

>>> lay = layout("f", 10, [(4, 7)], probation=2)
>>> hits = np.array([0, 0, 0, 0, 0, 1.0, 0, 0, 0, 1.0])  # a detection in the window, one 2 rows after
>>> round(raw_at(lay, hits, 0.5, STANDARD), 4)  # 0.967 for the true positive - 0.11 * 0.931
0.8646
"""

from __future__ import annotations

import csv
import json
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from itertools import combinations
from pathlib import Path
from typing import Any

import numpy as np
from rich.console import Console
from rich.progress import Progress
from rich.table import Table

from service.detect.volume import VolumeDetector, VolumeParams

PROBATION_PERCENT = 0.15
PROBATION_CAP = 750  # NAB: min(floor(15 % of rows), 15 % of 5000 rows)
OUTSIDE, PROBATION = -1, -2


@dataclass(frozen=True, kw_only=True)
class Profile:
    """A NAB cost profile: reward of a true positive, cost of a false positive and of a miss."""

    name: str
    tp: float
    fp: float
    fn: float


STANDARD = Profile(name="standard", tp=1.0, fp=0.11, fn=1.0)
PROFILES = (
    STANDARD,
    Profile(name="reward_low_FP_rate", tp=1.0, fp=0.22, fn=1.0),
    Profile(name="reward_low_FN_rate", tp=1.0, fp=0.11, fn=2.0),
)


@dataclass(frozen=True, kw_only=True, eq=False)
class Layout:
    """Scoring weights of one file's rows: a pure function of its row count and windows.

    ``window[i]`` is the index of the window holding row ``i`` (``OUTSIDE`` or ``PROBATION``
    otherwise); ``weight[i]`` is ``s(y)/s(-1)`` inside a window and ``s(y) <= 0`` outside.
    """

    name: str
    window: np.ndarray
    weight: np.ndarray
    n_windows: int


def scaled_sigmoid(y: float) -> float:
    """NAB's ``s(y) = 2/(1+exp(5y)) - 1``, and exactly -1 beyond three window lengths."""
    return -1.0 if y > 3.0 else 2.0 / (1.0 + math.exp(5.0 * y)) - 1.0


def probation_rows(n_rows: int) -> int:
    return int(min(math.floor(PROBATION_PERCENT * n_rows), PROBATION_CAP))


def layout(name: str, n_rows: int, windows: Sequence[tuple[int, int]], *, probation: int | None = None) -> Layout:
    """Per-row weights for a file of ``n_rows`` rows with inclusive ``(first, last)`` windows."""
    skip = probation_rows(n_rows) if probation is None else probation
    window = np.full(n_rows, OUTSIDE, dtype=np.int64)
    weight = np.empty(n_rows, dtype=np.float64)
    peak = scaled_sigmoid(-1.0)
    prev_last: int | None = None
    prev_len = 0
    bounds = sorted(windows)
    k = 0
    for i in range(n_rows):
        while k < len(bounds) and bounds[k][1] < i:
            prev_last, prev_len = bounds[k][1], bounds[k][1] - bounds[k][0] + 1
            k += 1
        if k < len(bounds) and bounds[k][0] <= i:
            first, last = bounds[k]
            weight[i] = scaled_sigmoid(-(last - i + 1) / (last - first + 1)) / peak
            window[i] = k
        elif prev_last is None:
            weight[i] = -1.0
        else:
            weight[i] = scaled_sigmoid(abs(i - prev_last) / max(prev_len - 1, 1))  # NAB divides by 0 here
    window[:skip] = PROBATION
    live = {int(w) for w in window if w >= 0}
    return Layout(name=name, window=window, weight=weight, n_windows=len(live))


def raw_at(lay: Layout, scores: np.ndarray, threshold: float, profile: Profile) -> float:
    """NAB raw score of one file when every row with ``score >= threshold`` is a detection."""
    hit = (scores >= threshold) & (lay.window != PROBATION)
    fp = lay.weight[hit & (lay.window == OUTSIDE)]
    total = profile.fp * float(fp.sum())
    for w in {int(x) for x in lay.window if x >= 0}:
        inside = lay.weight[hit & (lay.window == w)]
        total += profile.tp * float(inside.max()) if inside.size else -profile.fn
    return total


def sweep(pairs: Sequence[tuple[Layout, np.ndarray]], profile: Profile) -> tuple[float, float]:
    """Best ``(threshold, raw)`` over every distinct score (NAB's optimiser), highest threshold on ties.

    A threshold of 1.1 (no detection at all) is a candidate too.
    """
    scores, weights, windows = [], [], []
    base, offset = 0.0, 0
    for lay, sc in pairs:
        keep = lay.window != PROBATION
        scores.append(np.asarray(sc, dtype=np.float64)[keep])
        weights.append(lay.weight[keep])
        win = lay.window[keep]
        windows.append(np.where(win >= 0, win + offset, OUTSIDE))
        offset += int(win.max(initial=-1)) + 1
        base -= profile.fn * lay.n_windows
    s, w, win = np.concatenate(scores), np.concatenate(weights), np.concatenate(windows)
    order = np.argsort(-s, kind="stable")
    s, w, win = s[order], w[order], win[order]
    gain = np.where(win == OUTSIDE, profile.fp * w, 0.0)
    for k in np.unique(win[win >= 0]):
        pos = np.flatnonzero(win == k)
        best = np.maximum.accumulate(profile.tp * w[pos])
        gain[pos] = np.diff(best, prepend=-profile.fn)
    raw = base + np.cumsum(gain)
    ends = np.flatnonzero(np.append(s[1:] != s[:-1], True))
    cand_t = np.concatenate([[1.1], s[ends]])
    cand_raw = np.concatenate([[base], raw[ends]])
    i = int(np.argmax(cand_raw))
    return float(cand_t[i]), float(cand_raw[i])


def normalised(raw: float, n_windows: int, profile: Profile) -> float:
    """``100 * (raw - null) / (perfect - null)`` with null = never detect, perfect = every window at once."""
    null, perfect = -profile.fn * n_windows, profile.tp * n_windows
    return 100.0 * (raw - null) / (perfect - null)


def tuned_score(pairs: Sequence[tuple[Layout, np.ndarray]], profile: Profile) -> tuple[float, float]:
    """Protocol (i): ``(threshold, normalised score)`` with the threshold tuned on the scored files."""
    threshold, raw = sweep(pairs, profile)
    return threshold, normalised(raw, sum(lay.n_windows for lay, _ in pairs), profile)


def cross_val_score(pairs: Sequence[tuple[Layout, np.ndarray]], profile: Profile) -> float:
    """Protocol (ii): tune on the first half (file order), score the second, and the reverse; summed.

    NaN with fewer than two files.
    """
    half = len(pairs) // 2
    if half == 0:
        return math.nan
    folds = ((pairs[:half], pairs[half:]), (pairs[half:], pairs[:half]))
    raw = 0.0
    for tune, test in folds:
        threshold, _ = sweep(tune, profile)
        raw += sum(raw_at(lay, sc, threshold, profile) for lay, sc in test)
    return normalised(raw, sum(lay.n_windows for lay, _ in pairs), profile)


def split_mean_score(pairs: Sequence[tuple[Layout, np.ndarray]], profile: Profile) -> float:
    """Protocol (ii) averaged over every way of splitting the files in two halves (a steadier figure)."""
    n, half, total = len(pairs), len(pairs) // 2, []
    for first in combinations(range(1, n), half - 1):
        tune = [pairs[0], *(pairs[i] for i in first)]
        test = [pairs[i] for i in range(1, n) if i not in first]
        total.append(cross_val_score(tune + test, profile))
    return sum(total) / len(total) if total else math.nan


def fixed_score(pairs: Sequence[tuple[Layout, np.ndarray]], profile: Profile, threshold: float) -> float:
    raw = sum(raw_at(lay, sc, threshold, profile) for lay, sc in pairs)
    return normalised(raw, sum(lay.n_windows for lay, _ in pairs), profile)


# --- files -------------------------------------------------------------------------------------

DETECTOR = "crisiswatch"


@dataclass(frozen=True, kw_only=True, eq=False)
class Series:
    """One labelled data file: ``key`` is its path under the data directory (``realTweets/x.csv``)."""

    key: str
    times: list[datetime]
    values: list[float]
    layout: Layout


def parse_time(text: str) -> datetime:
    """NAB timestamps (``YYYY-MM-DD HH:MM:SS[.ffffff]``, UTC) as aware datetimes."""
    return datetime.fromisoformat(text.strip()).replace(tzinfo=UTC)


def read_series(path: Path) -> tuple[list[datetime], list[float]]:
    with path.open(newline="") as fh:
        rows = list(csv.DictReader(fh))
    return [parse_time(r["timestamp"]) for r in rows], [float(r["value"]) for r in rows]


def read_scores(path: Path) -> np.ndarray:
    with path.open(newline="") as fh:
        return np.array([float(r["anomaly_score"]) for r in csv.DictReader(fh)], dtype=np.float64)


def window_rows(times: Sequence[datetime], spans: Sequence[Sequence[str]]) -> list[tuple[int, int]]:
    """Row indices ``(first, last)`` of each labelled window (its ends must fall on data rows)."""
    index = {t: i for i, t in enumerate(times)}
    try:
        return [(index[parse_time(a)], index[parse_time(b)]) for a, b in spans]
    except KeyError as exc:
        raise ValueError(f"window end {exc.args[0]} is not a data row") from exc


def load_corpus(data: Path, labels: Path) -> list[Series]:
    """Every labelled file present under ``data``, in key order."""
    with labels.open() as fh:
        spans = json.load(fh)
    if not isinstance(spans, dict):
        raise ValueError(f"{labels}: expected an object of file -> windows")
    corpus = []
    for key in sorted(spans):
        if (data / key).is_file():
            times, values = read_series(data / key)
            rows = window_rows(times, spans[key])
            corpus.append(Series(key=key, times=times, values=values, layout=layout(key, len(times), rows)))
    if not corpus:
        raise ValueError(f"no file of {labels} found under {data}")
    return corpus


def result_path(results: Path, detector: str, key: str) -> Path:
    """NAB layout: ``results/<detector>/<category>/<detector>_<file>``."""
    category, _, name = key.rpartition("/")
    return results / detector / category / f"{detector}_{name}"


def write_result(results: Path, series: Series, scores: np.ndarray) -> Path:
    path = result_path(results, DETECTOR, series.key)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="") as fh:
        out = csv.writer(fh, lineterminator="\n")
        out.writerow(["timestamp", "value", "anomaly_score", "label"])
        for t, v, s, w in zip(series.times, series.values, scores, series.layout.window, strict=True):
            out.writerow([t.strftime("%Y-%m-%d %H:%M:%S"), f"{v:g}", repr(float(s)), int(w >= 0)])
    return path


def peer_scores(results: Path, corpus: Sequence[Series]) -> dict[str, list[np.ndarray]]:
    """Scores of every detector under ``results`` that has a result file for each series."""
    peers: dict[str, list[np.ndarray]] = {}
    if not results.is_dir():
        return peers
    for folder in sorted(p for p in results.iterdir() if p.is_dir() and p.name != DETECTOR):
        paths = [result_path(results, folder.name, s.key) for s in corpus]
        if all(p.is_file() for p in paths):
            scores = [read_scores(p) for p in paths]
            if all(len(sc) == len(s.values) for sc, s in zip(scores, corpus, strict=True)):
                peers[folder.name] = scores
    return peers


# --- runner ------------------------------------------------------------------------------------


def detect(series: Series, params: VolumeParams, advance: Callable[[int], None] | None = None) -> np.ndarray:
    """Stream one series through a fresh production detector: score each bucket, then learn it."""
    det = VolumeDetector(params)
    scores = np.empty(len(series.values), dtype=np.float64)
    for i, (at, count) in enumerate(zip(series.times, series.values, strict=True)):
        scores[i] = det.score_one(at, count)
        det.learn_one(at, count)
        if advance is not None and i % 1000 == 999:
            advance(1000)
    return scores


@dataclass(frozen=True, kw_only=True)
class Row:
    """Normalised scores of one detector: protocol (i) per profile, then protocol (ii) per profile."""

    detector: str
    tuned: tuple[float, ...]
    cross: tuple[float, ...]
    thresholds: tuple[float, ...]


def score_row(detector: str, corpus: Sequence[Series], scores: Sequence[np.ndarray]) -> Row:
    pairs = [(s.layout, sc) for s, sc in zip(corpus, scores, strict=True)]
    tuned = [tuned_score(pairs, p) for p in PROFILES]
    return Row(detector=detector, tuned=tuple(t[1] for t in tuned), thresholds=tuple(t[0] for t in tuned),
               cross=tuple(cross_val_score(pairs, p) for p in PROFILES))


def render(rows: Sequence[Row], corpus: Sequence[Series]) -> Table:
    half = len(corpus) // 2
    names = [s.key.rpartition("/")[2].removesuffix(".csv").removeprefix("Twitter_volume_") for s in corpus]
    table = Table(title=f"NAB on {len(corpus)} series, {sum(s.layout.n_windows for s in corpus)} windows "
                  f"(ii: tuned on {', '.join(names[:half])} <-> {', '.join(names[half:])})")
    table.add_column("detector", no_wrap=True)
    for proto in ("i", "ii"):
        for head in ("standard", "low_FP", "low_FN"):
            table.add_column(f"({proto}) {head}", justify="right")
    for row in sorted(rows, key=lambda r: -r.tuned[0]):
        style = "bold" if row.detector == DETECTOR else None
        table.add_row(row.detector, *(f"{v:.2f}" if v == v else "n/a" for v in (*row.tuned, *row.cross)), style=style)
    return table


def run_bench(corpus: Sequence[Series], params: VolumeParams, progress: Progress | None = None) -> list[np.ndarray]:
    task = progress.add_task("crisiswatch", total=sum(len(s.values) for s in corpus)) if progress else None
    advance = (lambda n: progress.advance(task, n)) if progress and task is not None else None
    return [detect(s, params, advance) for s in corpus]


def _zone_option(name: str | None) -> str | None:
    """The detector's ``timezone`` for ``--timezone``: ``None`` (the UTC code path) for UTC or nothing."""
    return None if name is None or name == "UTC" else name


def cli_bench_nab(args: Any) -> int:
    """``crisiswatch bench nab --data DIR --labels FILE [--out DIR] [--threshold X] [--timezone ZONE]``.

    ``--timezone`` (default UTC) is the local clock the daily profile follows (NAB realTweets are US
    tickers: America/New_York)."""
    err, out = Console(stderr=True), Console()
    if not out.is_terminal:
        out = Console(width=120)
    try:
        corpus = load_corpus(Path(args.data), Path(args.labels))
    except (OSError, ValueError, KeyError) as exc:
        err.print(f"error: {exc} (give --data the NAB data directory and --labels its windows JSON)",
                  markup=False, highlight=False)
        return 2
    try:
        params = VolumeParams(timezone=_zone_option(getattr(args, "timezone", None)))
    except ValueError as exc:
        err.print(f"error: --timezone: {exc}", markup=False, highlight=False)
        return 2
    with Progress(console=err, transient=True, disable=not err.is_terminal) as progress:
        scores = run_bench(corpus, params, progress)
    if args.out is not None:
        for s, sc in zip(corpus, scores, strict=True):
            write_result(Path(args.out), s, sc)
    rows = [score_row(DETECTOR, corpus, scores)]
    peers = peer_scores(Path(args.data).parent / "results", corpus)
    rows += [score_row(name, corpus, sc) for name, sc in peers.items()]
    out.print(render(rows, corpus))
    mine = rows[0]
    out.print(f"crisiswatch daily profile on the {getattr(args, 'timezone', None) or 'UTC'} clock", highlight=False)
    out.print("crisiswatch thresholds (i): " + ", ".join(
        f"{p.name} {t:.6f}" for p, t in zip(PROFILES, mine.thresholds, strict=True)), highlight=False)
    pairs = [(s.layout, sc) for s, sc in zip(corpus, scores, strict=True)]
    out.print("crisiswatch (ii) averaged over every 3/3 split: " + ", ".join(
        f"{p.name} {split_mean_score(pairs, p):.2f}" for p in PROFILES), highlight=False)
    if args.threshold is not None:
        out.print(f"crisiswatch at threshold {args.threshold}: " + ", ".join(
            f"{p.name} {fixed_score(pairs, p, args.threshold):.2f}" for p in PROFILES), highlight=False)
    if args.out is not None:
        out.print(f"results written under {Path(args.out) / DETECTOR}", highlight=False)
    return 0

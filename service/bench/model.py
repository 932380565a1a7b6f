"""``crisiswatch bench model``: the negativity model against its anchors, and its speed.

Quality, on held-out data only (never trained on, see ``service.enrich.training``):

- macro-F1 (three classes) and negative-class F1 on the UMSAB English and French tests;
- negative-class F1 (and macro-F1) on the airline tweets, out of domain;

for crisiswatch (language given, and language detected as in production), VADER on English sets,
VADER-FR on the French set (standard thresholds: compound >= 0.05 positive, <= -0.05 negative) and a
majority-class baseline (the most frequent label of the language's training rows).

Speed: texts per second of ``score_many`` in batches of 1,000 on the airline tweets, pinned to one
core when the platform allows it: cold (first pass, caches empty) and warm (median of three more
passes) with language detection, then warm with the language given (as when mentions carry ``lang``);
then the same two passes (cold, warm) on the UMSAB French test texts with ``fr`` given, which exercise
the French model's word vector block. Each is given per second of wall time and per second of this
process's CPU time (the latter does not drop when other processes share the core), with the BLAS
thread pool limited to one thread so that no work runs on another core. Also the time
``load_scorer`` takes once its imports are done.
"""

from __future__ import annotations

import os
import statistics
import sys
import time
import warnings
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

from service.clock import SystemClock
from service.enrich.negativity import ModelError, NegativityScorer, load_scorer
from service.enrich.training import DEFAULT_DATA, Example, evaluation_sets, training_sets

LABELS = ("negative", "neutral", "positive")
_LANG = {"umsab_en_test": "en", "umsab_fr_test": "fr", "airline_en": "en"}
Predictor = Callable[[Sequence[str]], list[str]]


def f1_scores(truth: Sequence[str], predicted: Sequence[str]) -> dict[str, float]:
    """Per-class F1 and their mean (``macro``) over the three labels.

    >>> f1_scores(["negative", "neutral"], ["negative", "positive"])["negative"]
    1.0
    """
    scores: dict[str, float] = {}
    for label in LABELS:
        tp = sum(1 for t, p in zip(truth, predicted, strict=True) if t == p == label)
        fp = sum(1 for t, p in zip(truth, predicted, strict=True) if p == label != t)
        fn = sum(1 for t, p in zip(truth, predicted, strict=True) if t == label != p)
        scores[label] = 2 * tp / (2 * tp + fp + fn) if tp else 0.0
    scores["macro"] = sum(scores[label] for label in LABELS) / len(LABELS)
    return scores


def vader_label(compound: float) -> str:
    return "positive" if compound >= 0.05 else "negative" if compound <= -0.05 else "neutral"


def vader_predictor(lang: str) -> Predictor:
    """VADER (English) or VADER-FR (French) as a three-class predictor."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # vaderSentiment-fr imports fuzzywuzzy, which warns
        if lang == "fr":
            from vaderSentiment_fr.vaderSentiment import SentimentIntensityAnalyzer
        else:
            from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer
    analyzer = SentimentIntensityAnalyzer()
    return lambda texts: [vader_label(analyzer.polarity_scores(text)["compound"]) for text in texts]


def majority_predictor(rows: Iterable[Example]) -> tuple[str, Predictor]:
    counts = Counter(row.label for row in rows)
    label = min(counts, key=lambda name: (-counts[name], name))
    return label, lambda texts: [label] * len(texts)


def scorer_predictor(scorer: NegativityScorer, lang: str | None) -> Predictor:
    def predict(texts: Sequence[str]) -> list[str]:
        langs = [lang] * len(texts) if lang else None
        return [score.label.value for score in scorer.score_many(texts, langs)]

    return predict


def quality(scorer: NegativityScorer, data: Path, say: Callable[[str], None]) -> list[tuple[str, float | str]]:
    """Quality figures as ``(name, value)`` pairs."""
    figures: list[tuple[str, float | str]] = []
    train = training_sets(data)
    vaders = {lang: vader_predictor(lang) for lang in ("en", "fr")}
    for name, rows in evaluation_sets(data).items():
        lang = _LANG[name]
        texts, truth = [row.text for row in rows], [row.label for row in rows]
        majority, majority_predict = majority_predictor(train[lang])
        systems = {
            "crisiswatch": scorer_predictor(scorer, lang),
            "crisiswatch_detected_lang": scorer_predictor(scorer, None),
            "vader_fr" if lang == "fr" else "vader": vaders[lang],
            f"majority_{majority}": majority_predict,
        }
        for system, predict in systems.items():
            say(f"{name}: {system}")
            scores = f1_scores(truth, predict(texts))
            figures.append((f"{name}.macro_f1.{system}", round(scores["macro"], 4)))
            figures.append((f"{name}.negative_f1.{system}", round(scores["negative"], 4)))
    return figures


def throughput(scorer_path: Path | None, texts: Sequence[str], batch: int = 1000, repeats: int = 3,
               french: Sequence[str] = ()) -> list[tuple[str, float | str]]:
    """Load time and texts/second (cold, then the median of ``repeats`` warm passes) on one core;
    ``french`` texts (language given) get a cold and a warm figure of their own."""
    from threadpoolctl import threadpool_limits  # a scikit-learn dependency

    clock = SystemClock()
    original = _pin_one_core()
    # Pinning moves this thread only: the BLAS pool's threads, started at import, keep running on the
    # other cores (CPU time above wall time). One core means one BLAS thread too.
    limits = threadpool_limits(limits=1)
    try:
        started = clock.monotonic()
        scorer = load_scorer(scorer_path)
        loaded = clock.monotonic()
        figures: list[tuple[str, float | str]] = [("model_load_seconds", round(loaded - started, 3))]
        runs = [("cold", texts, None, 1), ("warm", texts, None, repeats),
                ("warm_lang_given", texts, ["en"] * batch, repeats)]
        if french:
            runs += [("cold_fr_lang_given", french, ["fr"] * batch, 1),
                     ("warm_fr_lang_given", french, ["fr"] * batch, repeats)]
        for run, run_texts, langs, passes in runs:
            wall: list[float] = []
            cpu: list[float] = []
            for _ in range(passes):
                begin, begin_cpu = clock.monotonic(), time.process_time()
                for i in range(0, len(run_texts), batch):
                    chunk = run_texts[i : i + batch]
                    scorer.score_many(chunk, langs[: len(chunk)] if langs else None)
                wall.append(len(run_texts) / max(clock.monotonic() - begin, 1e-9))
                cpu.append(len(run_texts) / max(time.process_time() - begin_cpu, 1e-9))
            figures.append((f"texts_per_second_{run}", round(statistics.median(wall))))
            figures.append((f"texts_per_cpu_second_{run}", round(statistics.median(cpu))))
    finally:
        limits.restore_original_limits()
        if original is not None:
            os.sched_setaffinity(0, original)
    figures.append(("throughput_cores", "1 (pinned)" if original is not None else "unpinned"))
    return figures


def _pin_one_core() -> set[int] | None:
    """Pin this process to one core; return the previous affinity (``None`` if unsupported)."""
    if not hasattr(os, "sched_setaffinity"):
        return None
    original = set(os.sched_getaffinity(0))
    os.sched_setaffinity(0, {max(original)})
    return original


def cli_bench_model(args: Any) -> int:
    """Print the quality table, then every figure on its own line (``name: value``)."""
    data = Path(getattr(args, "data", None) or DEFAULT_DATA)
    model = getattr(args, "model", None)
    if not data.is_dir():
        print(f"crisiswatch bench model: data folder {data} not found: pass --data PATH", file=sys.stderr)
        return 2
    say = _progress()
    try:
        scorer = load_scorer(model)
        figures = quality(scorer, data, say)
        held_out = evaluation_sets(data)
        airline = [row.text for row in held_out["airline_en"]]
        figures += throughput(model, airline, french=[row.text for row in held_out["umsab_fr_test"]])
    except ModelError as exc:
        print(f"crisiswatch bench model: {exc}", file=sys.stderr)
        return 2
    except (OSError, KeyError, ValueError) as exc:
        print(f"crisiswatch bench model: cannot read {data}: {exc}", file=sys.stderr)
        return 2
    figures.insert(0, ("model_version", str(scorer.metadata.get("model_version"))))
    for name, value in figures:
        print(f"{name}: {value}")
    return 0


def _progress() -> Callable[[str], None]:
    if not sys.stderr.isatty():
        return lambda message: None
    from rich.console import Console

    console = Console(stderr=True)
    return lambda message: console.log(message)

"""Throughput of the text side of enrichment: tokenise, match brand queries, tag crisis vocabulary.

``python -m service.bench.text [--data FILE ...] [--limit N]`` prints the figures last, one per line.
A data file is either plain text (one mention per line) or a CSV file with a ``text`` column (the
airline tweets, for example); without data, 10,000 built-in French and English tweet-like texts.
"""

from __future__ import annotations

import argparse
import csv
import itertools
from collections.abc import Mapping, Sequence
from pathlib import Path

from service.clock import Clock, SystemClock
from service.enrich.lexicon import Lexicon, load_lexicon
from service.enrich.query import BrandMatcher, Query, compile_query, prepare
from service.enrich.text import tokens

DEFAULT_QUERIES = {
    "toyota": 'toyota OR prius OR lexus OR "land cruiser" OR "c-hr" OR yaris OR corolla',
    "peugeot": 'peugeot AND NOT "jean-pierre peugeot"',
    "renault": '(renault OR "groupe renault" OR clio OR megane) -"renault sport f1"',
    "citroen": "citroen OR citroën OR c4*",
    "ds": '"ds automobiles" OR "ds 7" OR ds7*',
    "volkswagen": 'volkswagen OR vw OR "golf gti" OR dieselgate',
    "tesla": "tesla OR (model AND (y OR 3)) -nikola",
    "ford": '"ford motor" OR (ford (mustang OR f150 OR focus OR fiesta))',
    "honda": "honda OR civic OR accord*",
    "hyundai": "hyundai OR kia OR ioniq*",
    "bmw": 'bmw OR "mini cooper"',
    "stellantis": "stellantis OR fiat OR jeep OR opel OR alfa*",
}

_SAMPLES = [
    "RT @Toyota_FR: Toyota rappelle 2,3 millions de véhicules pour un problème de pédale d'accélérateur #toyota",
    "Toyota recalls 2.3 million vehicles over sticky accelerator pedals, halts sales of eight models http://t.co/x",
    "Ma Clio est encore tombée en panne, le service client ne répond pas... #Renault",
    "Just saw the new Peugeot 3008 at the Paris Motor Show, looks amazing!",
    "Le road movie co-créé avec les internautes par Citroën est génial 😍",
    "@VirginAmerica my flight was cancelled again, worst customer service ever",
    "Quel match hier soir ! Bravo aux Bleus ⚽",
    "Class action lawsuit filed against Volkswagen over the emissions scandal",
    "Fuite de données chez un constructeur : les données personnelles de 2 millions de clients exposées",
    "Anyone else's Tesla app down this morning? Can't unlock my car lol",
    "Super journée, rien à signaler, juste un café en terrasse.",
    "Lexus unveils its new electric SUV at the Geneva Motor Show, on sale in spring",
]


def default_texts(count: int = 10_000) -> list[str]:
    """``count`` tweet-like texts (varied by a numeric suffix so nothing is cached by accident)."""
    return [f"{text} {i}" for i, text in zip(range(count), itertools.cycle(_SAMPLES), strict=False)]


def load_texts(path: Path, limit: int | None = None) -> list[str]:
    """Texts from a plain text file (one per line) or a CSV file with a ``text`` column."""
    with path.open(encoding="utf-8", newline="") as handle:
        if path.suffix.lower() == ".csv":
            rows = (row.get("text") or "" for row in csv.DictReader(handle))
        else:
            rows = (line.rstrip("\n") for line in handle)
        return list(itertools.islice((r for r in rows if r.strip()), None if limit is None else max(limit, 0)))


def bench_enrich_text(texts: Sequence[str], *, clock: Clock | None = None,
                      queries: Mapping[str, Query] | None = None,
                      lexicon: Lexicon | None = None) -> dict[str, float]:
    """Texts per second for each step and for the three together (one core, one pass each)."""
    clock = clock or SystemClock()
    compiled = queries if queries is not None else {k: compile_query(v) for k, v in DEFAULT_QUERIES.items()}
    matcher = BrandMatcher(compiled)
    lexicon = lexicon or load_lexicon()
    count = max(len(texts), 1)

    start = clock.monotonic()
    all_tokens = [tokens(text) for text in texts]
    tokenised = clock.monotonic()
    prepared = [prepare(words) for words in all_tokens]
    matched = sum(1 for doc in prepared if matcher.match(doc))
    matching = clock.monotonic()
    tagged = sum(1 for words in all_tokens if lexicon.tag(words))
    tagging = clock.monotonic()
    for text in texts:
        words = tokens(text)
        matcher.match(words)
        lexicon.tag(words)
    done = clock.monotonic()

    def rate(seconds: float) -> float:
        return round(count / seconds, 1) if seconds > 0 else float("inf")

    return {
        "texts": float(len(texts)),
        "brands": float(len(compiled)),
        "texts_matching_a_brand": float(matched),
        "texts_with_crisis_vocabulary": float(tagged),
        "tokens_per_second": rate(tokenised - start),
        "match_per_second": rate(matching - tokenised),
        "tag_per_second": rate(tagging - matching),
        "tokens_match_tag_per_second": rate(done - tagging),
        "microseconds_per_text": round((done - tagging) / count * 1e6, 2),
    }


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="crisiswatch bench text", description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, action="append", default=[], help="text or CSV file (repeatable)")
    parser.add_argument("--limit", type=int, default=10_000, help="number of texts (default 10000)")
    args = parser.parse_args(argv)
    return cli_bench_text(args)


def cli_bench_text(args: argparse.Namespace) -> int:
    """Entry point for ``crisiswatch bench text``: ``args.data`` (list of paths), ``args.limit``."""
    texts: list[str] = []
    for path in args.data:
        texts.extend(load_texts(path, args.limit - len(texts)))
    texts = texts[: args.limit] if texts else default_texts(args.limit)
    for name, value in bench_enrich_text(texts).items():
        print(f"{name}: {value:g}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

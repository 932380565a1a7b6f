"""Negativity of mention texts: a per-language linear model (French, English) loaded safely with skops.

The model file (``models/negativity.skops``, built by ``crisiswatch train``) holds a plain dict::

    {"metadata": {...},
     "languages": {"en": {"features": {"tokens": {...}, "word": {...}, "char": {...}},
                          "classes": [...], "coef": ndarray, "intercept": ndarray},
                   "fr": {..., "vectors": {"keys": ndarray, "rows": ndarray, "contributions": ndarray}}}}

``features`` holds the tokenizer settings and polarity lexicon, and each block's vocabulary
(newline-joined terms) and idf; ``coef``/``intercept`` are those of a multinomial logistic
regression. A language trained with pretrained word vectors also has ``vectors``: a word index
(:class:`~service.enrich.vectors.VectorIndex`) and, per vector row, its class contributions (the
vector block's coefficients times the row, times the block's scale over its norm), so the vectors
themselves are not stored. ``coef`` then covers the other blocks only. Only strings, lists, dicts,
numbers and numpy arrays are stored: nothing names code.

Loading refuses any type outside :data:`TRUSTED_TYPES` (every type named in the file is checked, not
only those skops distrusts by default) and checks the metadata: file format, scikit-learn version
(major.minor must match the one that trained it), training-data hash and model version. Scoring
(:class:`FastLinear`) sums cached per-word contributions and gives exactly the probabilities
scikit-learn gives on :meth:`Featurizer.matrix` (training checks it before writing the file).

Texts in a language without a model (or of undetermined language) get a conservative score: label
``neutral`` and negativity :data:`UNSCORED_NEGATIVITY`; their ``lang`` says why.
"""

from __future__ import annotations

import html
import itertools
import json
import math
import re
import sys
import zipfile
from collections.abc import Sequence
from importlib.metadata import version
from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse as sp

from service.domain import Label, Score
from service.enrich.lang import UNDETERMINED, detect_languages
from service.enrich.rows import forgotten_on_failure, gather, with_room
from service.enrich.vectors import VectorIndex

DEFAULT_MODEL_PATH = Path(__file__).resolve().parents[2] / "models" / "negativity.skops"
MODEL_FORMAT = "crisiswatch-negativity/3"
UNSCORED_NEGATIVITY = 0.2
"""Negativity given to texts no model can read: below the usual negative threshold, not zero."""

TRUSTED_TYPES: tuple[str, ...] = (
    "builtins.dict", "builtins.list", "builtins.str", "builtins.int", "builtins.float", "builtins.bool",
    "numpy.ndarray",
)
_URL = re.compile(r"https?://\S+|www\.\S+")
_USER = re.compile(r"@\w+")
_ESCAPE = re.compile(r"\\u([0-9a-fA-F]{4})")
_REPEAT = re.compile(r"(.)\1{3,}")
DENSE_WIDTH = 3
"""Lexicon scores per text when the model uses them: compound, positive share, negative share."""
_NEGATION_SCALE = -0.74  # VADER's N_SCALAR
_EXCLAMATION_BOOST = 0.292  # VADER's emphasis per "!" (at most four)


class ModelError(Exception):
    """The model file is missing, unreadable, holds an untrusted type or does not match this install."""


def normalize_text(text: str) -> str:
    """Tweet-style normalisation shared by training and scoring (URLs -> ``http``, users -> ``@user``)."""
    if "\\u" in text:
        text = _ESCAPE.sub(lambda m: chr(int(m.group(1), 16)), text)
    if "&" in text:
        text = html.unescape(text)
    text = _USER.sub("@user", _URL.sub("http", text))
    return _REPEAT.sub(r"\1\1\1", text).strip()


def char_wb_ngrams(word: str, min_n: int, max_n: int) -> list[str]:
    """scikit-learn's ``char_wb`` n-grams of one whitespace-free word (padded with one space)."""
    padded = f" {word} "
    size = len(padded)
    grams: list[str] = []
    for n in range(min_n, max_n + 1):
        if n >= size:
            grams.append(padded)
            break
        grams.extend(padded[i : i + n] for i in range(size - n + 1))
    return grams


def vocabulary_of(spec: dict[str, Any]) -> dict[str, int]:
    terms = spec["terms"].split("\n")
    if len(terms) != len(spec["idf"]):
        raise ModelError(f"vectorizer has {len(terms)} terms but {len(spec['idf'])} idf weights")
    return dict(zip(terms, range(len(terms)), strict=True))


class Tokenizer:
    """Word tokens of a normalised, lower-cased text (unigrams, bigrams, lexicon marks) and lexicon scores.

    A unigram found in the polarity lexicon (VADER / VADER-FR valences, stored in the model file)
    adds a mark such as ``_lex_neg2`` (valence <= -2) or ``_lex_pos1``; the mark ends in ``_not``
    when a negator is among the three tokens before it. With ``dense_scale`` > 0 the text also gets
    three VADER-style scores of those valences (negated ones times -0.74, ``!`` adding emphasis):
    compound ``s / sqrt(s**2 + 15)`` of their sum ``s``, and the positive and negative shares.
    """

    def __init__(self, spec: dict[str, Any]) -> None:
        self._findall = re.compile(spec["token_pattern"]).findall
        entries = [line.split("\t") for line in spec.get("lexicon", "").split("\n") if line]
        valences = {word: float(value) for word, value in entries}
        for word, value in list(valences.items()):
            if word[:1].isalnum():
                valences.setdefault(f"#{word}", value)
        self._valences = valences
        self._marks = {word: "_lex_" + ("pos" if value > 0 else "neg") + ("2" if abs(value) >= 2 else "1")
                       for word, value in valences.items()}
        self._negators = frozenset(spec.get("negators", "").split())
        self.dense_scale = float(spec.get("dense_scale", 0.0))

    @property
    def dense_width(self) -> int:
        return DENSE_WIDTH if self.dense_scale else 0

    def tokens(self, text: str) -> list[str]:
        return self.analyse(text)[0]

    def analyse(self, text: str) -> tuple[list[str], list[float]]:
        """Tokens of ``text`` and its lexicon scores (``[]`` when ``dense_scale`` is 0)."""
        tokens = self._findall(text)
        valences, marks, negators = self._valences, self._marks, self._negators
        found: list[str] = []
        values: list[float] = []
        for i, token in enumerate(tokens):
            value = valences.get(token)
            if value is None:
                continue
            if negators.isdisjoint(tokens[max(0, i - 3) : i]):
                found.append(marks[token])
            else:
                found.append(marks[token] + "_not")
                value *= _NEGATION_SCALE
            values.append(value)
        dense = self._dense(values, len(tokens), text) if self.dense_scale else []
        tokens.extend([f"{a} {b}" for a, b in itertools.pairwise(tokens)])
        tokens.extend(found)
        return tokens, dense

    def _dense(self, values: list[float], n_tokens: int, text: str) -> list[float]:
        total = sum(values)
        if total:
            emphasis = min(text.count("!"), 4) * _EXCLAMATION_BOOST
            total += emphasis if total > 0 else -emphasis
        positive = sum(value + 1.0 for value in values if value > 0)
        negative = sum(1.0 - value for value in values if value < 0)
        mass = positive + negative + n_tokens - len(values) or 1.0  # tokens without valence count as neutral
        scale = self.dense_scale
        return [scale * total / math.sqrt(total * total + 15.0), scale * positive / mass, scale * negative / mass]


class Featurizer:
    """Feature blocks: word tokens of :class:`Tokenizer`, ``char_wb`` n-grams, and its lexicon scores.

    In the first two blocks every occurrence of a known term adds ``idf[term]`` to its column. Each
    of them is then divided by ``sqrt`` of the sum of ``idf**2`` over its occurrences (the l2 norm
    when no term repeats). That sum is additive over words, so a linear model on these features
    scores a text from per-word cached values (:class:`FastLinear`) without building n-grams for known
    words again. The third block (when ``dense_scale`` > 0) holds the lexicon scores as they are.
    ``matrix`` builds the same features as a sparse matrix, for training and checks.
    """

    def __init__(self, spec: dict[str, Any]) -> None:
        self.tokenizer = Tokenizer(spec["tokens"])
        self.word_vocabulary = vocabulary_of(spec["word"])
        self.char_vocabulary = vocabulary_of(spec["char"])
        self.word_idf = np.asarray(spec["word"]["idf"], dtype=np.float64)
        self.char_idf = np.asarray(spec["char"]["idf"], dtype=np.float64)
        self.char_range = (int(spec["char"]["ngram_range"][0]), int(spec["char"]["ngram_range"][1]))

    @property
    def width(self) -> int:
        return len(self.word_idf) + len(self.char_idf) + self.tokenizer.dense_width

    def word_terms(self, text: str) -> tuple[list[int], list[float]]:
        """Column of every known word token occurrence of a normalised, lower-cased text, and its
        lexicon scores."""
        tokens, dense = self.tokenizer.analyse(text)
        get = self.word_vocabulary.get
        return [column for column in map(get, tokens) if column is not None], dense

    def char_terms(self, word: str) -> list[int]:
        """Column (within the char block) of every known n-gram occurrence of one word."""
        vocabulary = self.char_vocabulary
        return [vocabulary[g] for g in char_wb_ngrams(word, *self.char_range) if g in vocabulary]

    def matrix(self, texts: Sequence[str]) -> sp.csr_matrix:
        """Feature matrix of raw texts (for training and checks; scoring uses :class:`FastLinear`)."""
        word_ids: list[int] = []
        word_ptr = [0]
        char_ids: list[int] = []
        char_ptr = [0]
        dense: list[list[float]] = []
        cache: dict[str, list[int]] = {}
        for text in texts:
            lowered = normalize_text(text).lower()
            ids, scores = self.word_terms(lowered)
            word_ids += ids
            dense.append(scores)
            word_ptr.append(len(word_ids))
            for word in lowered.split():
                terms = cache.get(word)
                char_ids += cache.setdefault(word, self.char_terms(word)) if terms is None else terms
            char_ptr.append(len(char_ids))
        blocks = [_block(word_ids, word_ptr, self.word_idf), _block(char_ids, char_ptr, self.char_idf)]
        if self.tokenizer.dense_width:
            blocks.append(sp.csr_matrix(np.asarray(dense, dtype=np.float64).reshape(-1, self.tokenizer.dense_width)))
        return sp.hstack(blocks, format="csr")


def _block(ids: list[int], indptr: list[int], idf: np.ndarray) -> sp.csr_matrix:
    columns = np.asarray(ids, dtype=np.int64)
    pointers = np.asarray(indptr, dtype=np.int64)
    rows = np.repeat(np.arange(len(pointers) - 1), np.diff(pointers))
    values = idf[columns]
    norms = np.sqrt(np.bincount(rows, weights=values**2, minlength=len(pointers) - 1))
    matrix = sp.csr_matrix((values / norms[rows], columns, pointers), shape=(len(pointers) - 1, len(idf)))
    matrix.sum_duplicates()
    return matrix


class WordVectorBlock:
    """The pretrained-vector block of a model: a text's block is the mean of its tokens' vectors
    (tokens without one left out; zero when none has one) times ``scale / norm``.

    Being linear in the vectors, its class scores are the mean of per-row ``contributions``.
    """

    def __init__(self, spec: dict[str, Any], classes: int) -> None:
        keys, rows = np.asarray(spec["keys"]), np.asarray(spec["rows"])
        contributions = np.asarray(spec["contributions"], dtype=np.float64)
        if keys.dtype != np.uint64 or rows.dtype.kind not in "iu" or not np.isfinite(contributions).all():
            raise ModelError(f"vector block of types {keys.dtype} / {rows.dtype} (or with non-finite "
                             "contributions) is not one `crisiswatch train` writes")
        outside = len(rows) > 0 and (rows.min() < 0 or rows.max() >= len(contributions))
        if contributions.shape[1:] != (classes,) or outside:
            raise ModelError(f"vector block of shape {contributions.shape} does not fit its word index")
        self.index = VectorIndex(keys, rows)
        self._table = np.column_stack([contributions, np.ones(len(contributions))])

    def sums(self, words: list[str]) -> np.ndarray:
        """Per word: the sum of its tokens' contributions and their count (``classes + 1`` columns)."""
        ids: list[int] = []
        indptr = [0]
        rows = self.index.rows
        for word in words:
            ids += rows(word)
            indptr.append(len(ids))
        return gather(ids, indptr, self._table)


class FastLinear:
    """Class scores ``features @ coef.T + intercept`` from per-term and per-word cached sums.

    Tables hold, per term, ``idf * coef`` and ``idf**2``; a word of the char block holds the sum of
    its n-grams' rows, computed once per batch for new words and cached (up to ``cache_size`` words).
    The lexicon scores, when the model has them, add ``scores @ coef.T`` of their own columns. With
    a :class:`WordVectorBlock`, each cached word also holds its tokens' vector contributions and
    their count, and a text adds their sum over its count.
    """

    def __init__(self, featurizer: Featurizer, coef: np.ndarray, intercept: np.ndarray,
                 *, vectors: WordVectorBlock | None = None, cache_size: int = 200_000) -> None:
        self._featurizer = featurizer
        n_word, n_char = len(featurizer.word_idf), len(featurizer.char_idf)
        self._word_table = _table(coef[:, :n_word], featurizer.word_idf)
        self._ngram_table = _table(coef[:, n_word : n_word + n_char], featurizer.char_idf)
        self._dense_coef = coef[:, n_word + n_char :].T.copy()
        self._intercept = intercept
        self._classes = coef.shape[0]
        self._vectors = vectors
        self._cache: dict[str, int] = {}
        self._cache_size = cache_size
        self._char_table = np.zeros((4096, (self._classes + 1) * (2 if vectors is not None else 1)))

    def _fill(self, words: list[str], first: int) -> None:
        """Rows ``first...`` of the word table: the sums of the new words' n-gram rows (and vector
        contributions)."""
        ids: list[int] = []
        indptr = [0]
        for word in words:
            ids += self._featurizer.char_terms(word)
            indptr.append(len(ids))
        needed = first + len(words)
        self._char_table = with_room(self._char_table, first, needed)
        k = self._classes + 1
        self._char_table[first:needed, :k] = gather(ids, indptr, self._ngram_table)
        if self._vectors is not None:
            self._char_table[first:needed, k:] = self._vectors.sums(words)

    def logits(self, texts: Sequence[str]) -> np.ndarray:
        """Linear class scores of raw texts (one row per text)."""
        if len(self._cache) >= self._cache_size:
            self._cache.clear()  # only between batches: rows collected below stay valid
        first = len(self._cache)
        word_ids: list[int] = []
        word_ptr = [0]
        char_rows: list[int] = []
        char_ptr = [0]
        cache, word_terms = self._cache, self._featurizer.word_terms
        new_words: list[str] = []
        dense: list[list[float]] = []
        with forgotten_on_failure(cache, new_words):
            for text in texts:
                lowered = normalize_text(text).lower()
                ids, scores = word_terms(lowered)
                word_ids += ids
                dense.append(scores)
                word_ptr.append(len(word_ids))
                for word in lowered.split():
                    row = cache.get(word)
                    if row is None:
                        row = cache[word] = first + len(new_words)
                        new_words.append(word)
                    char_rows.append(row)
                char_ptr.append(len(char_rows))
            if new_words:
                self._fill(new_words, first)
        word_sums = gather(word_ids, word_ptr, self._word_table)
        char_sums = gather(char_rows, char_ptr, self._char_table)
        k = self._classes
        scores = word_sums[:, :k] / _norm(word_sums[:, k]) + char_sums[:, :k] / _norm(char_sums[:, k])
        if self._vectors is not None:
            scores += char_sums[:, k + 1 : 2 * k + 1] / np.maximum(char_sums[:, 2 * k + 1 :], 1.0)
        if len(self._dense_coef):
            scores += np.asarray(dense, dtype=np.float64).reshape(len(texts), len(self._dense_coef)) @ self._dense_coef
        return scores + self._intercept


def _table(coef: np.ndarray, idf: np.ndarray) -> np.ndarray:
    # C order: a sparse product reads its dense operand flat, and copies a table in any other order
    # (megabytes, on every batch).
    return np.ascontiguousarray(np.column_stack([coef.T * idf[:, None], idf**2]))


def _norm(squares: np.ndarray) -> np.ndarray:
    norms = np.sqrt(squares)
    norms[norms == 0] = 1.0
    return norms[:, None]


class LanguageModel:
    """One language's features and multinomial logistic regression; ``negativity`` is P(negative)."""

    def __init__(self, parts: dict[str, Any]) -> None:
        classes = [str(c) for c in parts["classes"]]
        if sorted(classes) != sorted(label.value for label in Label):
            raise ModelError(f"model classes {classes} are not negative/neutral/positive")
        featurizer = Featurizer(parts["features"])
        coef = np.asarray(parts["coef"], dtype=np.float64)
        intercept = np.asarray(parts["intercept"], dtype=np.float64)
        if coef.shape != (len(classes), featurizer.width) or intercept.shape != (len(classes),):
            raise ModelError(f"classifier shape {coef.shape} does not fit {featurizer.width} features")
        if not (np.isfinite(coef).all() and np.isfinite(intercept).all()):
            raise ModelError("classifier coefficients are not all finite numbers")
        vectors = WordVectorBlock(parts["vectors"], len(classes)) if "vectors" in parts else None
        self._linear = FastLinear(featurizer, coef, intercept, vectors=vectors)
        self._labels = [Label(c) for c in classes]
        self._negative = classes.index(Label.NEGATIVE.value)

    def probabilities(self, texts: Sequence[str]) -> np.ndarray:
        """Class probabilities (softmax of the linear scores), columns in the model's class order."""
        logits = self._linear.logits(texts)
        logits -= logits.max(axis=1, keepdims=True)
        np.exp(logits, out=logits)
        logits /= logits.sum(axis=1, keepdims=True)
        return logits

    def score(self, texts: Sequence[str], lang: str) -> list[Score]:
        proba = self.probabilities(texts)
        best = proba.argmax(axis=1).tolist()
        negativity = proba[:, self._negative].tolist()
        labels = self._labels
        return [Score(negativity=p, label=labels[k], lang=lang) for p, k in zip(negativity, best, strict=True)]


class NegativityScorer:
    """Scores texts with the model of their language; see the module docstring."""

    def __init__(self, models: dict[str, LanguageModel], metadata: dict[str, Any]) -> None:
        self.models = models
        self.metadata = metadata

    @property
    def languages(self) -> tuple[str, ...]:
        return tuple(sorted(self.models))

    def score(self, text: str, lang: str | None = None) -> Score:
        return self.score_many([text], [lang])[0]

    def score_many(self, texts: Sequence[str], langs: Sequence[str | None] | None = None) -> list[Score]:
        """One :class:`Score` per text; a given ``langs[i]`` is trusted, a missing one detected."""
        resolved = resolve_languages(texts, langs)
        scores: list[Score | None] = [None] * len(texts)
        groups: dict[str, list[int]] = {}
        for i, lang in enumerate(resolved):
            groups.setdefault(lang, []).append(i)
        for lang, members in groups.items():
            model = self.models.get(lang)
            if model is None:
                unscored = Score(negativity=UNSCORED_NEGATIVITY, label=Label.NEUTRAL, lang=lang)
                group_scores = [unscored] * len(members)
            else:
                group_scores = model.score([texts[i] for i in members], lang)
            for i, score in zip(members, group_scores, strict=True):
                scores[i] = score
        return [s for s in scores if s is not None]


def resolve_languages(texts: Sequence[str], langs: Sequence[str | None] | None) -> list[str]:
    """Given codes (``"fr-FR"`` -> ``"fr"``) where present, detected ones elsewhere."""
    given = list(langs) if langs is not None else [None] * len(texts)
    if len(given) != len(texts):
        raise ValueError(f"{len(texts)} texts but {len(given)} languages")
    resolved = [lang.strip().lower().replace("_", "-").split("-")[0] or UNDETERMINED if lang else None
                for lang in given]
    missing = [i for i, lang in enumerate(resolved) if lang is None]
    if missing:
        for i, lang in zip(missing, detect_languages([texts[i] for i in missing]), strict=True):
            resolved[i] = lang
    return [lang or UNDETERMINED for lang in resolved]


def file_types(path: Path) -> set[str]:
    """Every ``module.Class`` named in a skops file's schema (read without loading anything)."""
    try:
        with zipfile.ZipFile(path) as archive:
            schema = json.loads(archive.read("schema.json"))
    except (zipfile.BadZipFile, KeyError, ValueError, OSError) as exc:
        raise ModelError(f"{path} is not a skops model file ({exc}): rebuild it with `crisiswatch train`") from exc
    found: set[str] = set()
    stack: list[Any] = [schema]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            if "__module__" in node and "__class__" in node:
                found.add(f"{node['__module__']}.{node['__class__']}")
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)
    return found


def check_metadata(metadata: Any, path: Path) -> dict[str, Any]:
    """The file's metadata, or :class:`ModelError` saying what does not match and what to do."""
    if not isinstance(metadata, dict) or metadata.get("format") != MODEL_FORMAT:
        found = metadata.get("format") if isinstance(metadata, dict) else None
        raise ModelError(f"{path}: model format {found!r}, expected {MODEL_FORMAT!r}: run `crisiswatch train`")
    trained, installed = str(metadata.get("sklearn_version", "?")), version("scikit-learn")
    if trained.split(".")[:2] != installed.split(".")[:2]:
        raise ModelError(f"{path} was trained with scikit-learn {trained} but {installed} is installed:"
                         " run `crisiswatch train` or install the matching scikit-learn")
    digest = str(metadata.get("training_data_sha256", ""))
    if not re.fullmatch(r"[0-9a-f]{64}", digest):
        raise ModelError(f"{path}: missing or malformed training-data hash: run `crisiswatch train`")
    if not metadata.get("model_version"):
        raise ModelError(f"{path}: no model version in metadata: run `crisiswatch train`")
    return metadata


def load_scorer(path: Path | None = None) -> NegativityScorer:
    """Load and check a model file (default ``models/negativity.skops``); :class:`ModelError` if unfit."""
    import skops.io as sio

    path = Path(path) if path is not None else DEFAULT_MODEL_PATH
    if not path.is_file():
        raise ModelError(f"model file {path} not found: run `crisiswatch train`")
    untrusted = sorted(file_types(path) - set(TRUSTED_TYPES))
    if untrusted:
        raise ModelError(f"refusing to load {path}: untrusted types {', '.join(untrusted)}")
    try:
        content = sio.load(path, trusted=list(TRUSTED_TYPES))
    except Exception as exc:  # skops raises many kinds (TypeError, UntrustedTypesFoundException, ...)
        raise ModelError(f"cannot load {path}: {exc}") from exc
    if not isinstance(content, dict) or not isinstance(content.get("languages"), dict):
        raise ModelError(f"{path} does not hold a crisiswatch negativity model: run `crisiswatch train`")
    metadata = check_metadata(content.get("metadata"), path)
    try:
        models = {str(lang): LanguageModel(parts) for lang, parts in content["languages"].items()}
    except (KeyError, AttributeError, TypeError, ValueError) as exc:
        raise ModelError(f"{path}: incomplete language model ({exc}): run `crisiswatch train`") from exc
    return NegativityScorer(models, metadata)


def cli_score(args: Any) -> int:
    """``crisiswatch score [FILE|-]``: one text per line in, one JSON object per line out."""
    source = getattr(args, "file", "-") or "-"
    try:
        scorer = load_scorer(getattr(args, "model", None))
        stream = sys.stdin if source == "-" else open(source, encoding="utf-8")  # noqa: SIM115
    except (ModelError, OSError) as exc:
        print(f"crisiswatch score: {exc}", file=sys.stderr)
        return 2
    with stream:
        batch: list[str] = []
        for line in stream:
            batch.append(line.rstrip("\r\n"))
            if len(batch) >= 4096:
                _print_scores(scorer, batch)
                batch = []
        _print_scores(scorer, batch)
    return 0


def _print_scores(scorer: NegativityScorer, texts: list[str]) -> None:
    for score in scorer.score_many(texts):
        record = {"negativity": round(score.negativity, 4), "label": score.label.value, "lang": score.lang}
        sys.stdout.write(json.dumps(record) + "\n")

"""Negativity model: deterministic training, safe loading, scoring, CLI and benchmark on fixtures."""

from __future__ import annotations

import hashlib
import io
import json
import zipfile
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import skops.io as sio
from scipy import sparse
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression

from service.bench.model import cli_bench_model, f1_scores
from service.domain import Label
from service.enrich import training
from service.enrich.negativity import (
    DEFAULT_MODEL_PATH,
    MODEL_FORMAT,
    UNSCORED_NEGATIVITY,
    Featurizer,
    LanguageModel,
    ModelError,
    char_wb_ngrams,
    cli_score,
    load_scorer,
    normalize_text,
)
from service.enrich.vectors import read_vectors

DATA = Path(__file__).parent / "fixtures" / "sentiment"
VECTORS = DATA / "fr_vectors"
LEXICONS = {
    "en": {"lexicon": "terrible\t-2.5\nawful\t-2.0\ngreat\t3.1\nlove\t3.2\nhappy\t1.5", "negators": "not never"},
    "fr": {"lexicon": "honte\t-2.1\nnul\t-1.5\nsuper\t2.9\ngénial\t2.0\ncontent\t1.4", "negators": "pas ne"},
}


@pytest.fixture(scope="module")
def trained() -> tuple[bytes, dict]:
    return training.train(DATA, lexicons=LEXICONS, vectors=read_vectors(VECTORS))


@pytest.fixture(scope="module")
def model_path(trained: tuple[bytes, dict], tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("model") / "negativity.skops"
    training.write_model(trained[0], path)
    return path


def test_training_is_deterministic(trained: tuple[bytes, dict]) -> None:
    again, metadata = training.train(DATA, lexicons=LEXICONS, vectors=read_vectors(VECTORS))
    assert hashlib.sha256(again).digest() == hashlib.sha256(trained[0]).digest()
    assert metadata["training_data_sha256"] == trained[1]["training_data_sha256"]
    assert metadata["word_vectors"]["languages"] == ["fr"]
    assert metadata["word_vectors"] == {"languages": ["fr"], "name": "fr_vectors_fixture-0.0.0",
                                        "vocab_sha256": read_vectors(VECTORS).sha256, "licence": "CC0"}


def test_training_data_hash_covers_the_vectors(trained: tuple[bytes, dict]) -> None:
    with pytest.raises(ValueError, match="needs word vectors"):
        training.train(DATA, lexicons=LEXICONS)
    rows = training.training_sets(DATA)
    assert training.data_hash(rows, "a" * 64) != training.data_hash(rows, "b" * 64) != training.data_hash(rows)


def test_french_model_holds_the_vector_block(model_path: Path) -> None:
    content = _content(model_path)
    french, english = content["languages"]["fr"], content["languages"]["en"]
    assert "vectors" not in english
    block = french["vectors"]
    assert block["contributions"].shape == (len(read_vectors(VECTORS).table), 3)
    assert block["keys"].dtype == np.uint64 and len(block["keys"]) == len(block["rows"])
    assert french["coef"].shape[1] == len(french["features"]["word"]["idf"]) + len(french["features"]["char"]["idf"])


def test_training_skips_evaluation_rows_and_umsab_pool_rows(trained: tuple[bytes, dict]) -> None:
    rows = trained[1]["training_rows"]
    assert rows["en"]["dropped_overlap_with_evaluation"] == 1  # "The train leaves at NOON!" is a test text
    assert rows["en"]["semeval2013_2016_en"] == 10  # the in_umsab_en=train row is not read twice
    assert "airline_tweets" not in rows["en"]
    assert len(training.read_airline(DATA)) == 5  # duplicated tweet_id kept once


def test_round_trip_scores_fixture_texts(model_path: Path) -> None:
    scorer = load_scorer(model_path)
    assert scorer.languages == ("en", "fr")
    assert scorer.metadata["format"] == MODEL_FORMAT
    texts = ["terrible service, I am furious", "great crew, thank you so much",
             "quelle honte, service nul", "super équipe, merci beaucoup"]
    scores = scorer.score_many(texts, ["en", "en", "fr", "fr"])
    assert [s.lang for s in scores] == ["en", "en", "fr", "fr"]
    assert all(0.0 <= s.negativity <= 1.0 for s in scores)
    assert scores[0].negativity > scores[1].negativity
    assert scores[2].negativity > scores[3].negativity
    assert scores[0].label is Label.NEGATIVE and scores[3].label is Label.POSITIVE


def test_languages_given_are_trusted_and_others_scored_neutral(model_path: Path) -> None:
    scorer = load_scorer(model_path)
    scores = scorer.score_many(["terrible", "Der Zug ist entgleist", "quelle honte"], ["EN", None, "fr-FR"])
    assert [s.lang for s in scores] == ["en", "de", "fr"]
    assert scores[1].label is Label.NEUTRAL and scores[1].negativity == UNSCORED_NEGATIVITY
    assert scorer.score_many([]) == []
    with pytest.raises(ValueError, match="2 texts but 1 languages"):
        scorer.score_many(["a", "b"], ["en"])


@pytest.mark.parametrize("dense_scale", [0.0, 2.0])
def test_fast_scorer_matches_scikit_learn(dense_scale: float) -> None:
    texts = [normalize_text(t) for t in ["Great, great day!!!!", "not great @bob http://x.y", "", "awful :( #fail"]]
    tokens = {"token_pattern": training.TOKEN_PATTERN, **LEXICONS["en"], "dense_scale": dense_scale}
    word = TfidfVectorizer(analyzer=training.Tokenizer(tokens).tokens)
    char = TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 4))
    lowered = [t.lower() for t in texts]
    features = {"tokens": tokens, "word": training.export_vectorizer(word.fit(lowered)),
                "char": training.export_vectorizer(char.fit(texts))}
    matrix = Featurizer(features).matrix(texts)
    assert matrix.shape[1] == len(word.vocabulary_) + len(char.vocabulary_) + (3 if dense_scale else 0)
    classifier = LogisticRegression().fit(matrix, ["positive", "negative", "neutral", "negative"])
    parts = {"features": features, "classes": list(classifier.classes_), "coef": classifier.coef_,
             "intercept": classifier.intercept_}
    got = LanguageModel(parts).probabilities(texts)
    np.testing.assert_allclose(got, classifier.predict_proba(matrix), atol=1e-12)


def test_fast_scorer_matches_scikit_learn_on_the_vector_block() -> None:
    texts = ["Les freins ont lâché, c'est une honte !", "merci pour l’aide, équipe géniale", "",
             "@user #scandale à Paris", "xqzw", "c'est c'est c'est nul", "Voyage parfait, merci encore"]
    labels = ["negative", "positive", "neutral", "negative", "neutral", "negative", "positive"]
    tokens = {"token_pattern": training.TOKEN_PATTERN, **LEXICONS["fr"]}
    word = TfidfVectorizer(analyzer=training.Tokenizer(tokens).tokens)
    char = TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 4))
    normalized = [normalize_text(t) for t in texts]
    features = {"tokens": tokens, "word": training.export_vectorizer(word.fit([t.lower() for t in normalized])),
                "char": training.export_vectorizer(char.fit(normalized))}
    vectors = training.prepare_vectors(read_vectors(VECTORS))
    means = training.mean_vectors(texts, vectors)
    assert not means[2].any() and not means[4].any() and means[0].any()  # no token with a vector: zeros
    factor = 2.0 / training.vector_norm(means)
    sparse_part = Featurizer(features).matrix(texts)
    matrix = sparse.hstack([sparse_part, sparse.csr_matrix(means * factor)], format="csr")
    classifier = LogisticRegression(C=10.0).fit(matrix, labels)
    width = sparse_part.shape[1]
    contributions = vectors.table @ classifier.coef_[:, width:].T * factor
    parts = {"features": features, "classes": list(classifier.classes_), "coef": classifier.coef_[:, :width],
             "intercept": classifier.intercept_, "vectors": {**vectors.exported, "contributions": contributions}}
    model = LanguageModel(parts)
    np.testing.assert_allclose(model.probabilities(texts), classifier.predict_proba(matrix), atol=1e-12)
    np.testing.assert_allclose(model.probabilities(texts[::-1]), classifier.predict_proba(matrix)[::-1], atol=1e-12)
    without = {**parts, "vectors": {**parts["vectors"], "contributions": contributions * 0}}
    assert not np.allclose(LanguageModel(without).probabilities(texts), classifier.predict_proba(matrix))


def test_lexicon_scores_follow_vader() -> None:
    tokenizer = training.Tokenizer({"token_pattern": training.TOKEN_PATTERN, **LEXICONS["en"], "dense_scale": 1.0})
    tokens, dense = tokenizer.analyse("not great at all!")
    assert "_lex_pos2_not" in tokens and "great" in tokens
    total = 3.1 * -0.74 - 0.292  # negated, then one "!" of emphasis in the same direction
    positive, negative, neutral = 0.0, 1.0 - 3.1 * -0.74, 4  # "not", "at", "all", "!"
    mass = positive + negative + neutral
    assert dense == pytest.approx([total / (total * total + 15) ** 0.5, positive / mass, negative / mass])
    assert tokenizer.analyse("#awful")[1][0] < 0  # hashtags count as the word
    assert training.Tokenizer({"token_pattern": training.TOKEN_PATTERN, **LEXICONS["en"]}).analyse("great")[1] == []


@pytest.mark.parametrize("word", ["a", "ab", "brake", "défaut", "!!!"])
def test_char_ngrams_match_scikit_learn(word: str) -> None:
    analyzer = TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5)).build_analyzer()
    assert char_wb_ngrams(word, 2, 5) == analyzer(word)


def test_normalize_text() -> None:
    assert normalize_text("@Bob sooooo bad &amp; sad http://t.co/x \\u2019") == "@user sooo bad & sad http ’"


def _dump(tmp_path: Path, content: object) -> Path:
    path = tmp_path / "model.skops"
    path.write_bytes(sio.dumps(content))
    return path


def _content(model_path: Path) -> dict:
    return sio.load(model_path, trusted=sio.get_untrusted_types(file=model_path) or None)


def test_untrusted_type_is_refused(model_path: Path, tmp_path: Path) -> None:
    content = _content(model_path)
    content["extra"] = LogisticRegression()
    with pytest.raises(ModelError, match=r"untrusted types sklearn\.linear_model\._logistic\.LogisticRegression"):
        load_scorer(_dump(tmp_path, content))


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("sklearn_version", "0.1.0", "trained with scikit-learn 0.1.0"),
        ("format", "other/9", "model format 'other/9'"),
        ("format", "crisiswatch-negativity/2", "model format 'crisiswatch-negativity/2', expected "
                                              "'crisiswatch-negativity/3': run `crisiswatch train`"),
        ("training_data_sha256", "nope", "training-data hash"),
        ("model_version", "", "no model version"),
    ],
)
def test_metadata_mismatch_is_refused(model_path: Path, tmp_path: Path, field: str, value: str, message: str) -> None:
    content = _content(model_path)
    content["metadata"][field] = value
    with pytest.raises(ModelError, match=message):
        load_scorer(_dump(tmp_path, content))


def test_missing_or_corrupt_file_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ModelError, match="not found: run `crisiswatch train`"):
        load_scorer(tmp_path / "absent.skops")
    corrupt = tmp_path / "corrupt.skops"
    corrupt.write_bytes(b"not a zip")
    with pytest.raises(ModelError, match="is not a skops model file"):
        load_scorer(corrupt)
    empty = io.BytesIO()
    with zipfile.ZipFile(empty, "w") as archive:
        archive.writestr("schema.json", json.dumps({"__class__": "dict", "__module__": "builtins", "content": {}}))
    no_model = tmp_path / "empty.skops"
    no_model.write_bytes(empty.getvalue())
    with pytest.raises(ModelError):
        load_scorer(no_model)


def test_cli_score_reads_lines_and_prints_json(model_path: Path, tmp_path: Path,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    source = tmp_path / "texts.txt"
    source.write_text("terrible service, I am furious\nquelle honte, service nul\n\n", encoding="utf-8")
    assert cli_score(SimpleNamespace(file=str(source), model=model_path)) == 0
    records = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [r["lang"] for r in records] == ["en", "fr", "und"]
    assert set(records[0]) == {"negativity", "label", "lang"}
    assert records[0]["label"] == "negative"


def test_cli_score_reports_missing_input(tmp_path: Path, model_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli_score(SimpleNamespace(file=str(tmp_path / "nope.txt"), model=model_path)) == 2
    assert "crisiswatch score:" in capsys.readouterr().err


def test_cli_train_writes_a_loadable_model(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr(training, "polarity_lexicon", LEXICONS.__getitem__)
    out = tmp_path / "m.skops"
    assert training.cli_train(SimpleNamespace(data=DATA, out=out, vectors=VECTORS)) == 0
    assert load_scorer(out).languages == ("en", "fr")
    printed = capsys.readouterr()
    assert printed.out.splitlines()[0] == f"model: {out}"
    vectors = read_vectors(VECTORS)
    assert (f"word_vectors: fr_vectors_fixture-0.0.0 (vectors licence CC0), sha256 {vectors.sha256}"
            in printed.out.splitlines())
    assert f"word vectors: reading {VECTORS}" in printed.err
    assert training.cli_train(SimpleNamespace(data=tmp_path / "none", out=out)) == 2
    assert training.cli_train(SimpleNamespace(data=DATA, out=out, vectors=tmp_path / "none.whl")) == 2
    assert "crisiswatch train: cannot read word vectors from" in capsys.readouterr().err


def test_bench_prints_figures_last(model_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli_bench_model(SimpleNamespace(data=DATA, model=model_path)) == 0
    lines = dict(line.split(": ", 1) for line in capsys.readouterr().out.splitlines())
    for name in ("umsab_en_test.macro_f1.crisiswatch", "umsab_fr_test.macro_f1.vader_fr",
                 "airline_en.negative_f1.vader", "umsab_en_test.macro_f1.majority_neutral"):
        assert 0.0 <= float(lines[name]) <= 1.0
    assert float(lines["texts_per_second_warm"]) > 0
    assert float(lines["texts_per_cpu_second_warm_fr_lang_given"]) > 0
    assert float(lines["model_load_seconds"]) < 5


def test_f1_scores() -> None:
    scores = f1_scores(["negative", "neutral", "positive", "negative"], ["negative", "negative", "positive", "neutral"])
    assert scores["negative"] == pytest.approx(0.5)
    assert scores["positive"] == 1.0
    assert scores["macro"] == pytest.approx(0.5)


@pytest.mark.skipif(not DEFAULT_MODEL_PATH.is_file(), reason="models/negativity.skops not built")
def test_shipped_model_loads_and_scores() -> None:
    scorer = load_scorer()
    scores = scorer.score_many(["Rappel massif : les freins lâchent, c'est un scandale",
                                "Thanks for the quick fix, great support!"])
    assert scores[0].lang == "fr" and scores[0].label is Label.NEGATIVE
    assert scores[1].lang == "en" and scores[1].label is Label.POSITIVE

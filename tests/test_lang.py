"""Language identification: French and English recognised, others reported, noise undetermined."""

from __future__ import annotations

from pathlib import Path

import fasttext
import pytest

from service.enrich.lang import (
    UNDETERMINED,
    LanguageIdentifier,
    LanguageModelError,
    clean_for_detection,
    detect_language,
    detect_languages,
    function_word_vote,
    packaged_model_path,
)
from service.enrich.lid_model import FastTextLid

FIXTURES = Path(__file__).parent / "fixtures" / "sentiment" / "umsab_tweet_sentiment"

FRENCH = [
    "Rappel massif : les freins de la voiture ne répondent plus, c'est inadmissible",
    "Le service client ne répond jamais, quelle honte",
    "Incendie dans l'usine cette nuit, les pompiers sont sur place",
    "Quelle honte ce service client",
    "Je suis très content de mon nouveau téléphone #bonheur",
]
ENGLISH = [
    "The brakes failed again, this recall is a disaster",
    "@united my flight was cancelled and nobody at the desk can help",
    "Data breach confirmed: customer passwords were exposed http://t.co/abc",
    "I love this new phone, the battery lasts forever",
    "worst customer service ever",
]
OTHERS = [
    ("es", "El tren ha descarrilado cerca de la estación y hay muchos heridos"),
    ("de", "Der Zug ist entgleist und viele Menschen wurden verletzt"),
    ("it", "Il treno è deragliato vicino alla stazione, ci sono molti feriti"),
]


@pytest.mark.parametrize("text", FRENCH)
def test_french_is_recognised(text: str) -> None:
    assert detect_language(text) == "fr"


@pytest.mark.parametrize("text", ENGLISH)
def test_english_is_recognised(text: str) -> None:
    assert detect_language(text) == "en"


@pytest.mark.parametrize(("code", "text"), OTHERS)
def test_other_languages_are_reported_as_themselves(code: str, text: str) -> None:
    assert detect_language(text) == code


@pytest.mark.parametrize("text", ["", "   ", "http://t.co/xyz @someone", "12:30 !!! ??", "#a"])
def test_texts_without_words_are_undetermined(text: str) -> None:
    assert detect_language(text) == UNDETERMINED


def test_batch_detection_matches_single_detection() -> None:
    texts = FRENCH + ENGLISH + [text for _, text in OTHERS] + ["", "ok"]
    assert detect_languages(texts) == [detect_language(text) for text in texts]


def test_cleaning_removes_links_handles_and_hash_signs() -> None:
    assert clean_for_detection("RAPPEL #Toyota\nvia @Toyota_FR https://t.co/x") == "rappel toyota via"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("quelle honte ce service client", "fr"),
        ("this is not what i paid for", "en"),
        ("honte", None),  # one function word is not enough
        ("le the", None),  # both languages: no vote
    ],
)
def test_function_word_vote(text: str, expected: str | None) -> None:
    assert function_word_vote(text) == expected


def _varied_texts() -> list[str]:
    """Fixture tweets plus scripts, accents, emoji, digits and odd tokens fastText must hash alike."""
    texts = [line for path in sorted(FIXTURES.glob("*/*_text.txt"))
             for line in path.read_text(encoding="utf-8").split("\n")]
    return texts + FRENCH + ENGLISH + [text for _, text in OTHERS] + [
        "Поезд сошёл с рельсов, много раненых", "列車が脱線し、多くの負傷者が出ました", "القطار خرج عن القضبان",
        "ça déçoit énormément 😡😡 #fail", "ok", "x²", "naïve café über straße", "__label__fr bonjour à tous",
        "ÉNORME PANNE chez l'opérateur", "12 34 56 abc", "\u00e9t\u00e9 horrible", "a\tb\x0bc\u00a0d",
    ]


def test_numpy_model_gives_fasttext_predictions() -> None:
    """Same best label and probability (float32 rounding aside) as fastText itself, on varied texts."""
    reference = fasttext.load_model(str(packaged_model_path()))
    model = FastTextLid(packaged_model_path())
    identifier = LanguageIdentifier()
    cleaned = [clean_for_detection(text) for text in _varied_texts()]
    sums = identifier._sums(cleaned)
    dim = model.dim
    hidden = (sums[:, :dim] + model.eos_row) / (sums[:, dim : dim + 1] + 1.0)
    best, probability = model.best_labels(hidden)
    for text, label, p in zip(cleaned, best.tolist(), probability.tolist(), strict=True):
        ((expected_p, expected_label),) = reference.f.predict(text + "\n", 1, 0.0, "replace")
        assert model.labels[label] == expected_label.removeprefix("__label__")
        assert p == pytest.approx(expected_p, abs=1e-5)


def test_cached_tokens_give_the_same_answers() -> None:
    texts = _varied_texts()
    fresh = LanguageIdentifier().detect_many(texts)
    small_cache = LanguageIdentifier(cache_size=5)
    assert [small_cache.detect_many(texts[i : i + 7]) for i in range(0, len(texts), 7)] == [
        fresh[i : i + 7] for i in range(0, len(texts), 7)]
    assert small_cache.detect_many(texts) == fresh
    assert LanguageIdentifier().detect_many([]) == []


def test_unreadable_language_model_is_refused(tmp_path: Path) -> None:
    broken = tmp_path / "lid.ftz"
    broken.write_bytes(packaged_model_path().read_bytes()[:5000])
    with pytest.raises(LanguageModelError, match="cannot load language model"):
        LanguageIdentifier(broken)
    with pytest.raises(LanguageModelError, match="cannot load language model"):
        LanguageIdentifier(tmp_path / "absent.ftz")


def test_a_batch_that_fails_leaves_no_token_cached_without_its_row() -> None:
    from service.enrich.lang import LanguageIdentifier

    texts = ["le rappel des freins inquiète les conducteurs", "the brake recall worries drivers"]
    expected = LanguageIdentifier().detect_many(texts)
    identifier = LanguageIdentifier()
    with pytest.raises(AttributeError):
        identifier.detect_many([*texts, None])  # type: ignore[list-item]
    assert identifier.detect_many(texts) == expected

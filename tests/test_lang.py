"""Language identification: French and English recognised, others reported, noise undetermined."""

from __future__ import annotations

import pytest

from service.enrich.lang import (
    UNDETERMINED,
    clean_for_detection,
    detect_language,
    detect_languages,
    function_word_vote,
)

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

"""Text normalisation and tokenisation shared by brand queries and the crisis lexicon."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from service.enrich.text import normalize, tokens


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Citroën", "citroen"),
        ("PÉDALE D'ACCÉLÉRATEUR", "pedale d'accelerateur"),
        ("Straße", "strasse"),
        ("ŒUVRE, cœur, Æsir", "oeuvre, coeur, aesir"),
        ("ﬁnal ＴＯＹＯＴＡ", "final toyota"),  # ligature and full-width letters (NFKD)
        ("Škoda Ørsted Łódź", "skoda orsted lodz"),
        ("plain ascii", "plain ascii"),
        ("", ""),
    ],
)
def test_normalize_casefolds_and_strips_accents(text: str, expected: str) -> None:
    assert normalize(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Toyota recalls 2.3M cars", ["toyota", "recalls", "2", "3m", "cars"]),
        ("#Toyota", ["toyota"]),
        ("@Toyota_FR merci", ["toyota", "fr", "merci"]),
        ("Le C-HR de Toyota", ["le", "c", "hr", "de", "toyota"]),
        ("l'airbag s’est déclenché", ["l", "airbag", "s", "est", "declenche"]),
        ("Renault F1!!! 🔥🔥", ["renault", "f1"]),
        ("e\u0301crase\u0301", ["ecrase"]),  # decomposed accents (combining marks) are dropped too
        ("   ", []),
        ("東京 トヨタ", ["東京", "トヨタ"]),
    ],
)
def test_tokens_split_on_everything_but_letters_and_digits(text: str, expected: list[str]) -> None:
    assert tokens(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("#ToyotaRecall now", ["toyotarecall", "toyota", "recall", "now"]),
        ("via @PeugeotFR", ["via", "peugeotfr", "peugeot", "fr"]),
        ("@RenaultF1Team", ["renaultf1team", "renault", "f", "1", "team"]),
        ("#ToyotaRecall_FR", ["toyotarecall", "toyota", "recall", "fr"]),
        ("#toyotarecall #COVID19 #Toyota", ["toyotarecall", "covid19", "toyota"]),  # nothing to split
        ("Toyota vs ToyotaRecall", ["toyota", "vs", "toyotarecall"]),  # only hashtags and handles split
    ],
)
def test_camel_case_hashtags_and_handles_also_give_their_words(text: str, expected: list[str]) -> None:
    assert tokens(text) == expected


@given(st.text())
def test_tokens_are_normalised_non_empty_words(text: str) -> None:
    words = tokens(text)
    assert all(word and normalize(word) == word for word in words)
    assert all(not any(c.isspace() or c in "#@_-'" for c in word) for word in words)


@given(st.text(alphabet=st.characters(max_codepoint=127)))
def test_ascii_text_splits_like_the_word_pattern(text: str) -> None:
    # ASCII text is split with str.translate and str.split, not the regular expression: same words.
    assert tokens(text, split_camel=False) == re.findall(r"[^\W_]+", text.lower())


def test_normalize_is_idempotent_across_letter_and_compatibility_blocks() -> None:
    # Latin, Greek, Cyrillic..., letter-like symbols, modifier letters (ᴬ), ligatures, full-width forms,
    # mathematical alphanumerics: normalising twice never changes the text again.
    blocks = [range(0x20, 0x3000), range(0xA700, 0xA800), range(0xFB00, 0xFB50), range(0xFF00, 0xFFF0),
              range(0x1D400, 0x1D800)]
    unstable = [hex(cp) for block in blocks for cp in block if normalize(normalize(chr(cp))) != normalize(chr(cp))]
    assert unstable == []


class TickingClock:
    """A monotonic clock that advances one millisecond per reading (no wall clock in tests)."""

    def __init__(self) -> None:
        self.ticks = 0

    def monotonic(self) -> float:
        self.ticks += 1
        return self.ticks / 1000

    def now(self):  # pragma: no cover - not used by the benchmark
        raise AssertionError("the benchmark only measures durations")


def test_text_benchmark_reports_rates_and_counts() -> None:
    from service.bench.text import bench_enrich_text, default_texts

    texts = default_texts(240)
    figures = bench_enrich_text(texts, clock=TickingClock())
    assert figures["texts"] == 240
    assert figures["tokens_per_second"] == pytest.approx(240_000)  # one tick (1 ms) per step
    assert figures["tokens_match_tag_per_second"] == pytest.approx(240_000)
    assert 0 < figures["texts_matching_a_brand"] < 240  # some samples name no brand
    assert 0 < figures["texts_with_crisis_vocabulary"] < 240

"""Brand queries: matching table, exact error messages, robustness, and the brand matcher."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from service.enrich.query import BrandMatcher, QueryError, compile_query, prepare, tokens

TOYOTA = 'toyota OR prius OR lexus OR "land cruiser"'
PEUGEOT = 'peugeot AND NOT "jean-pierre peugeot"'
RENAULT = '(renault OR "groupe renault") -"renault sport f1"'
CITROEN = "citroen OR citroën"

MATCHES = [
    # (query, text, expected)
    (TOYOTA, "Toyota recalls 2.3M vehicles", True),
    (TOYOTA, "TOYOTA RAPPELLE", True),
    (TOYOTA, "my Prius brakes", True),
    (TOYOTA, "Le Land Cruiser est rappelé", True),
    (TOYOTA, "land of the cruiser", False),  # phrase words must be consecutive
    (TOYOTA, "cruiser land", False),
    (TOYOTA, "#Toyota fail", True),
    (TOYOTA, "merci @Toyota_FR", True),
    (TOYOTA, "#ToyotaRecall trending", True),
    (TOYOTA, "toyotas everywhere", False),  # words are whole tokens
    (TOYOTA, "Honda Civic", False),
    (PEUGEOT, "Peugeot 208 recall", True),
    (PEUGEOT, "Jean-Pierre Peugeot, héritier", False),
    (PEUGEOT, "jean pierre PEUGEOT", False),
    (PEUGEOT, "Jean-Pierre Peugeot and the Peugeot 3008", False),  # NOT excludes the whole mention
    (RENAULT, "Renault Clio", True),
    (RENAULT, "le Groupe Renault", True),
    (RENAULT, "Renault Sport F1 team", False),
    (RENAULT, "Renault Sport Megane", True),
    (CITROEN, "Citroën C3", True),
    (CITROEN, "CITROEN c3", True),
    (CITROEN, "citroen", True),
    ("toyo*", "Toyotas are great", True),
    ("toyo*", "la #ToyotaRecall", True),
    ("toyo*", "Tokyo", False),
    ('"toyota recall*"', "Toyota recalled 8 models", True),
    ('"toyota recall*"', "Toyota has recalled", False),
    ("c-hr", "le Toyota C-HR", True),
    ("c-hr", "C HR hybride", True),
    ("c-hr", "CHR", False),
    ("c-hr", "HR c", False),
    ("pedale frein", "Pédale de FREIN", True),  # juxtaposition is AND, order free
    ("pedale frein", "pédale", False),
    ("pedale AND frein", "frein, pédale", True),
    ("a OR b c", "a", True),  # AND binds tighter than OR: a OR (b AND c)
    ("a OR b c", "b", False),
    ("a OR b c", "c b", True),
    ("(a OR b) c", "a", False),
    ("(a OR b) c", "a c", True),
    ("NOT a b", "b", True),  # NOT binds tighter than AND: (NOT a) AND b
    ("NOT a b", "a b", False),
    ("NOT (a b) c", "a c", True),
    ("NOT (a b) c", "a b c", False),
    ("x NOT NOT y", "x y", True),
    ("x NOT NOT y", "x", False),
    ("x --y", "x y", True),
    ("((toyota OR lexus) AND (recall OR rappel)) -rumeur", "Lexus rappel", True),
    ("((toyota OR lexus) AND (recall OR rappel)) -rumeur", "Lexus rappel rumeur", False),
    ("((toyota OR lexus) AND (recall OR rappel)) -rumeur", "Lexus launch", False),
    ('"or" toyota', "Toyota or gold", True),  # a quoted operator word is a word
    ("L'Oréal", "l oreal", True),
    ("3008", "Peugeot 3008 GT", True),
    ("toyota", "", False),
    ("#ToyotaRecall", "#toyotarecall is trending", True),  # a hashtag query matches it in any case
    ("#ToyotaRecall", "#ToyotaRecall is trending", True),
    ("#ToyotaRecall", "Toyota recall", False),
]


@pytest.mark.parametrize(("query", "text", "expected"), MATCHES)
def test_query_matches(query: str, text: str, expected: bool) -> None:
    compiled = compile_query(query)
    assert compiled.matches(tokens(text)) is expected
    assert compiled.matches(prepare(tokens(text))) is expected
    assert compiled.source == query


BAD_QUERIES = [
    ("", "empty query at column 1"),
    ("   ", "empty query at column 1"),
    ("(toyota", "unbalanced parenthesis at column 1"),
    ("toyota OR (lexus", "unbalanced parenthesis at column 11"),
    ("toyota)", "unbalanced parenthesis at column 7"),
    ("(toyota OR lexus)) recall", "unbalanced parenthesis at column 18"),
    ("((a b) c", "unbalanced parenthesis at column 1"),
    ('""', "empty phrase at column 1"),
    ('toyota "  !! "', "empty phrase at column 8"),
    ('"land cruiser', "unterminated phrase at column 1"),
    ("NOT", "NOT needs something to negate at column 1"),
    ("peugeot AND NOT", "NOT needs something to negate at column 13"),
    ("toyota NOT)", "NOT needs something to negate at column 8"),
    ("toyota -", "'-' needs something to negate at column 8"),
    ("toyota - lexus", "'-' needs something to negate at column 8"),
    ("toyota OR", "dangling OR at column 8"),
    ("OR toyota", "dangling OR at column 1"),
    ("toyota OR OR lexus", "dangling OR at column 8"),
    ("(toyota OR) lexus", "dangling OR at column 9"),
    ("toyota AND", "dangling AND at column 8"),
    ("AND toyota", "dangling AND at column 1"),
    ("toyota AND OR lexus", "dangling AND at column 8"),
    ("()", "empty parentheses at column 1"),
    ("toyota or lexus", "'or' is not an operator at column 8: write OR, or \"or\" to look for the word"),
    ("toyota And NOT lexus", "'And' is not an operator at column 8: write AND, or \"And\" to look for the word"),
    ("-toyota", "only exclusions at column 1: add a term to look for (a query and each OR branch need one)"),
    ("NOT toyota", "only exclusions at column 1: add a term to look for (a query and each OR branch need one)"),
    ("toyota OR -lexus",
     "only exclusions at column 11: add a term to look for (a query and each OR branch need one)"),
    ("toyota OR (NOT a -b)",
     "only exclusions at column 12: add a term to look for (a query and each OR branch need one)"),
    ("t*", "prefix 't*' is too short at column 1: write at least 2 letters before '*'"),
    ('"toyota r*"', "prefix 'r*' is too short at column 1: write at least 2 letters before '*'"),
    ("to*ta", "misplaced '*' in 'to*ta' at column 1: '*' can only end a word"),
    ("*", "no letters or digits in '*' at column 1"),
    ("toyota !!!", "no letters or digits in '!!!' at column 8"),
    ("(" * 70 + "a" + ")" * 70, "parentheses nested deeper than 64 at column 65"),
]


@pytest.mark.parametrize(("query", "message"), BAD_QUERIES)
def test_bad_queries_name_the_problem_and_its_column(query: str, message: str) -> None:
    with pytest.raises(QueryError) as caught:
        compile_query(query)
    assert str(caught.value) == message
    assert message.startswith(caught.value.message)
    assert f"at column {caught.value.position}" in message


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from([*'ab *()"-é#\t', "AND", "OR", "NOT", "or", "ab*"]), max_size=20).map("".join)
       | st.text(max_size=40))
def test_compile_query_raises_only_query_error(source: str) -> None:
    try:
        query = compile_query(source)
    except QueryError as error:
        assert 1 <= error.position <= len(source) + 1
        return
    assert query.anchors
    query.matches(tokens(source))  # whatever compiled also evaluates


@pytest.mark.parametrize(
    ("query", "terms"),
    [
        (TOYOTA, ("toyota", "prius", "lexus", "land cruiser")),
        (PEUGEOT, ("peugeot",)),
        (RENAULT, ("renault", "groupe renault")),
        (CITROEN, ("citroen",)),
        ("toyo* -rumeur", ("toyo*",)),
        ("x NOT NOT y", ("x", "y")),
        ("C-HR", ("c hr",)),
    ],
)
def test_terms_are_the_positive_words_normalised(query: str, terms: tuple[str, ...]) -> None:
    assert compile_query(query).terms == terms


def test_anchors_are_tokens_every_match_contains() -> None:
    assert compile_query(TOYOTA).anchors == {"toyota", "prius", "lexus", "cruiser"}
    assert compile_query(RENAULT).anchors == {"renault"}
    assert compile_query("(a OR b) lexus").anchors == {"lexus"}  # the smaller required set
    assert compile_query("toyo*").anchors == {"toyo*"}


QUERIES = {
    "toyota": compile_query(TOYOTA),
    "peugeot": compile_query(PEUGEOT),
    "renault": compile_query(RENAULT),
    "citroen": compile_query(CITROEN),
    "ds": compile_query('"ds automobiles" OR "ds 7" OR ds7*'),
    "lexus": compile_query("lexus"),
}


@pytest.mark.parametrize(
    ("text", "brands"),
    [
        ("Toyota et Lexus rappellent", ["toyota", "lexus"]),
        ("Peugeot, Renault et Citroën au salon", ["peugeot", "renault", "citroen"]),
        ("Jean-Pierre Peugeot chez Renault Sport F1", []),
        ("la DS7Crossback", ["ds"]),
        ("le DS 7 arrive", ["ds"]),
        ("rien à voir", []),
    ],
)
def test_brand_matcher_returns_matching_brands_in_config_order(text: str, brands: list[str]) -> None:
    matcher = BrandMatcher(QUERIES)
    assert matcher.match(tokens(text)) == brands
    assert [name for name, query in QUERIES.items() if query.matches(tokens(text))] == brands


@settings(max_examples=200, deadline=None)
@given(st.lists(st.sampled_from(["toyota", "lexus", "jean", "pierre", "peugeot", "renault", "sport", "f1",
                                 "groupe", "ds", "7", "ds7x", "citroen", "land", "cruiser", "x"]), max_size=12))
def test_brand_matcher_agrees_with_every_query(words: list[str]) -> None:
    expected = [name for name, query in QUERIES.items() if query.matches(words)]
    assert BrandMatcher(QUERIES).match(words) == expected


def test_long_negation_chains_and_long_queries_compile() -> None:
    assert compile_query("x " + "NOT " * 5001 + "y").matches(["x"])
    assert not compile_query("x " + "NOT " * 5000 + "y").matches(["x"])
    wide = compile_query(" OR ".join(f"brand{i}" for i in range(3000)))
    assert wide.matches(["brand2999"])

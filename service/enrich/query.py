"""Brand queries: the small boolean language of ``alerts.yaml`` (the ``query`` of each brand).

Grammar (precedence ``NOT`` > ``AND`` > ``OR``; juxtaposition means ``AND``)::

    query    := or_expr
    or_expr  := and_expr ("OR" and_expr)*
    and_expr := unary (["AND"] unary)*
    unary    := ("NOT" | "-") unary | primary
    primary  := word | word* | "a phrase" | "(" or_expr ")"

- A word matches one token of the mention (see :mod:`service.enrich.text`): case and accents never
  matter, and ``#Toyota`` or ``@Toyota_FR`` contain ``toyota``. ``word*`` matches any token that
  starts with ``word`` (two letters at least). A word the tokeniser splits (``c-hr``, ``l'airbag``)
  is matched as a phrase.
- ``"a phrase"`` matches consecutive tokens; each of its words may end with ``*``.
- Operators are written in capitals. Lower-case ``and``/``or``/``not`` are rejected with a hint
  (quote them to look for the word), so ``toyota or lexus`` never silently means an AND.
- ``-x`` (no space after the dash) excludes ``x``, like ``NOT x``. A query, and each ``OR`` branch,
  must look for something: a branch made only of exclusions is rejected.

Match many brands on one mention by tokenising it once (:func:`tokens`), preparing it once
(:func:`prepare`) and handing the result to each query, or use :class:`BrandMatcher`.

>>> q = compile_query('(renault OR "groupe renault") -"renault sport f1"')
>>> q.matches(tokens("Le Groupe Renault annonce"))
True
>>> q.matches(tokens("Renault Sport F1 gagne"))
False
>>> q.terms
('renault', 'groupe renault')
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import NamedTuple

from service.enrich.text import tokens

__all__ = ["BrandMatcher", "Prepared", "Query", "QueryError", "compile_query", "prepare", "tokens"]

MIN_PREFIX = 2
MAX_DEPTH = 64


class QueryError(ValueError):
    """An invalid brand query: ``str()`` reads "<message> at column <position>[: <hint>]".

    ``position`` is the 1-based column (in code points) where the problem starts.
    """

    def __init__(self, message: str, position: int, hint: str = "") -> None:
        super().__init__(f"{message} at column {position}" + (f": {hint}" if hint else ""))
        self.message = message
        self.position = position
        self.hint = hint


# --------------------------------------------------------------------------- prepared mentions


class Prepared:
    """A mention's tokens, their set and their space-joined text, built once for many queries."""

    __slots__ = ("_joined", "tokens", "unique")

    def __init__(self, text_tokens: Sequence[str]) -> None:
        self.tokens: list[str] = list(text_tokens)
        self.unique: frozenset[str] = frozenset(self.tokens)
        self._joined: str | None = None

    @property
    def joined(self) -> str:
        """Tokens between single spaces, with a space at each end (tokens never hold spaces); built
        on first use: most mentions are settled by their set of tokens alone."""
        if self._joined is None:
            self._joined = f" {' '.join(self.tokens)} "
        return self._joined


def prepare(text_tokens: Sequence[str] | Prepared) -> Prepared:
    """Wrap tokens for fast repeated matching (returns a :class:`Prepared` unchanged)."""
    return text_tokens if isinstance(text_tokens, Prepared) else Prepared(text_tokens)


# --------------------------------------------------------------------------- syntax tree


class Part(NamedTuple):
    text: str
    prefix: bool


@dataclass(frozen=True, slots=True)
class Term:
    """One word, prefix or phrase: consecutive tokens matching ``parts``."""

    parts: tuple[Part, ...]
    column: int
    required: frozenset[str] = field(init=False, compare=False)
    """The exact words of the term: a mention without all of them cannot match."""
    pattern: re.Pattern[str] | None = field(init=False, compare=False)
    """For prefixes and phrases: searched in :attr:`Prepared.joined`."""

    def __post_init__(self) -> None:
        object.__setattr__(self, "required", frozenset(p.text for p in self.parts if not p.prefix))
        pattern = None
        if len(self.parts) > 1 or self.parts[0].prefix:
            words = (re.escape(p.text) + ("[^ ]*" if p.prefix else "") for p in self.parts)
            pattern = re.compile(f" {' '.join(words)} ")
        object.__setattr__(self, "pattern", pattern)

    @property
    def display(self) -> str:
        return " ".join(p.text + ("*" if p.prefix else "") for p in self.parts)

    def evaluate(self, doc: Prepared) -> bool:
        if not self.required <= doc.unique:
            return False
        return self.pattern is None or self.pattern.search(doc.joined) is not None


@dataclass(frozen=True, slots=True)
class Not:
    child: Node
    column: int

    def evaluate(self, doc: Prepared) -> bool:
        return not self.child.evaluate(doc)


@dataclass(frozen=True, slots=True)
class And:
    children: tuple[Node, ...]
    column: int

    def evaluate(self, doc: Prepared) -> bool:
        return all(child.evaluate(doc) for child in self.children)


@dataclass(frozen=True, slots=True)
class Or:
    children: tuple[Node, ...]
    column: int

    def evaluate(self, doc: Prepared) -> bool:
        return any(child.evaluate(doc) for child in self.children)


Node = Term | Not | And | Or


# --------------------------------------------------------------------------- lexer

_LEXEME = re.compile(r'\s+|(?P<paren>[()])|(?P<phrase>"[^"]*"?)|(?P<word>[^\s()"]+)')
_OPERATORS = frozenset({"AND", "OR", "NOT"})


class Lexeme(NamedTuple):
    kind: str  # "(", ")", "AND", "OR", "NOT", "-", "term", "end"
    column: int
    term: Term | None = None


def _lex(source: str) -> list[Lexeme]:
    out: list[Lexeme] = []
    for match in _LEXEME.finditer(source):
        column = match.start() + 1
        if match.group("paren"):
            out.append(Lexeme(match.group("paren"), column))
        elif match.group("phrase"):
            out.append(Lexeme("term", column, _phrase(match.group("phrase"), column)))
        elif match.group("word"):
            out.extend(_word(match.group("word"), column, source[match.end():match.end() + 1]))
    out.append(Lexeme("end", len(source) + 1))
    return out


def _word(word: str, column: int, following: str) -> list[Lexeme]:
    dashes = len(word) - len(word.lstrip("-"))
    out = [Lexeme("-", column + i) for i in range(dashes)]
    word, column = word[dashes:], column + dashes
    if not word:  # dashes before a parenthesis or a quote; before a space or the end: an error
        if not following or following.isspace():
            raise QueryError("'-' needs something to negate", column - 1)
        return out
    if word in _OPERATORS:
        return [*out, Lexeme(word, column)]
    if word.casefold() in {"and", "or", "not"}:
        raise QueryError(f"'{word}' is not an operator", column,
                         f"write {word.upper()}, or \"{word}\" to look for the word")
    return [*out, Lexeme("term", column, _term([word], column, word))]


def _phrase(lexeme: str, column: int) -> Term:
    if len(lexeme) < 2 or not lexeme.endswith('"'):
        raise QueryError("unterminated phrase", column)
    return _term(lexeme[1:-1].split(), column, lexeme, phrase=True)


def _term(words: list[str], column: int, shown: str, *, phrase: bool = False) -> Term:
    shown = shown if phrase else f"'{shown}'"
    parts: list[Part] = []
    for word in words:
        prefix = word.endswith("*")
        core = word.rstrip("*") if prefix else word
        if "*" in core:
            raise QueryError(f"misplaced '*' in {shown}", column, "'*' can only end a word")
        pieces = tokens(core, split_camel=False)
        if prefix and pieces and len(pieces[-1]) < MIN_PREFIX:
            raise QueryError(f"prefix '{word}' is too short", column,
                             f"write at least {MIN_PREFIX} letters before '*'")
        parts.extend(Part(piece, prefix and i == len(pieces) - 1) for i, piece in enumerate(pieces))
    if not parts:
        if phrase:
            raise QueryError("empty phrase", column)
        raise QueryError(f"no letters or digits in {shown}", column)
    return Term(tuple(parts), column)


# --------------------------------------------------------------------------- parser


class _Parser:
    """Recursive descent over lexemes; depth-limited so any input fails with a QueryError."""

    def __init__(self, source: str) -> None:
        self.lexemes = _lex(source)
        self.pos = 0
        self.depth = 0

    @property
    def peek(self) -> Lexeme:
        return self.lexemes[self.pos]

    def take(self) -> Lexeme:
        lexeme = self.lexemes[self.pos]
        self.pos += 1
        return lexeme

    def parse(self) -> Node:
        if self.peek.kind == "end":
            raise QueryError("empty query", 1)
        node = self.or_expr()
        if self.peek.kind == ")":
            raise QueryError("unbalanced parenthesis", self.peek.column)
        return node

    def or_expr(self) -> Node:
        first = self.and_expr()
        branches = [first]
        while self.peek.kind == "OR":
            operator = self.take()
            if self.peek.kind in ("end", ")", "OR", "AND"):
                raise QueryError("dangling OR", operator.column)
            branches.append(self.and_expr())
        return first if len(branches) == 1 else Or(tuple(branches), first.column)

    def and_expr(self) -> Node:
        items = [self.unary()]
        while True:
            kind = self.peek.kind
            if kind == "AND":
                operator = self.take()
                if self.peek.kind in ("end", ")", "OR", "AND"):
                    raise QueryError("dangling AND", operator.column)
            elif kind not in ("term", "(", "NOT", "-"):
                break
            items.append(self.unary())
        return items[0] if len(items) == 1 else And(tuple(items), items[0].column)

    def unary(self) -> Node:
        negations: list[Lexeme] = []
        while self.peek.kind in ("NOT", "-"):
            negations.append(self.take())
            if self.peek.kind in ("end", ")", "OR", "AND"):
                last = negations[-1]
                name = "NOT" if last.kind == "NOT" else "'-'"
                raise QueryError(f"{name} needs something to negate", last.column)
        node = self.primary()
        if len(negations) % 2:  # double negations cancel (and never nest deeply)
            node = Not(node, negations[0].column)
        return node

    def primary(self) -> Node:
        lexeme = self.take()
        if lexeme.kind == "term":
            assert lexeme.term is not None
            return lexeme.term
        if lexeme.kind == "(":
            if self.depth >= MAX_DEPTH:
                raise QueryError(f"parentheses nested deeper than {MAX_DEPTH}", lexeme.column)
            if self.peek.kind == ")":
                raise QueryError("empty parentheses", lexeme.column)
            if self.peek.kind == "end":
                raise QueryError("unbalanced parenthesis", lexeme.column)
            self.depth += 1
            node = self.or_expr()
            self.depth -= 1
            if self.peek.kind != ")":
                raise QueryError("unbalanced parenthesis", lexeme.column)
            self.take()
            return node
        if lexeme.kind in ("OR", "AND"):
            raise QueryError(f"dangling {lexeme.kind}", lexeme.column)
        if lexeme.kind == ")":
            raise QueryError("unbalanced parenthesis", lexeme.column)
        raise QueryError("unexpected end of query", lexeme.column)  # pragma: no cover - guarded above


# --------------------------------------------------------------------------- analysis


def _only_excludes(node: Node) -> Node | None:
    """The first branch of ``node`` that can match without any positive term, if any."""
    if isinstance(node, Term):
        return None
    if isinstance(node, Not):
        return node
    if isinstance(node, And):
        bad = [_only_excludes(child) for child in node.children]
        return bad[0] if all(b is not None for b in bad) else None
    for child in node.children:
        found = _only_excludes(child)
        if found is not None:
            return found
    return None


def _anchors(node: Node) -> frozenset[str]:
    """Tokens (``prefix*`` for prefixes) at least one of which every match contains (positive node)."""
    if isinstance(node, Term):
        exact = [p.text for p in node.parts if not p.prefix]
        if exact:
            return frozenset({max(exact, key=len)})
        return frozenset({max((p.text for p in node.parts), key=len) + "*"})
    if isinstance(node, Or):
        return frozenset().union(*(_anchors(child) for child in node.children))
    assert isinstance(node, And)
    options = [_anchors(child) for child in node.children if _only_excludes(child) is None]
    return min(options, key=lambda anchors: (len(anchors), -min(map(len, anchors))))


def _positive_terms(node: Node, out: list[str], *, negated: bool = False) -> list[str]:
    if isinstance(node, Term):
        if not negated:
            out.append(node.display)
    elif isinstance(node, Not):
        _positive_terms(node.child, out, negated=not negated)
    else:
        for child in node.children:
            _positive_terms(child, out, negated=negated)
    return out


# --------------------------------------------------------------------------- public API


@dataclass(frozen=True, kw_only=True, slots=True)
class Query:
    """A compiled brand query; build it with :func:`compile_query`."""

    source: str
    root: Node
    terms: tuple[str, ...]
    """Positive words and phrases, normalised, in source order (prefixes keep their ``*``)."""
    anchors: frozenset[str]
    """Every matching mention contains one of these tokens (``prefix*``: a token starting so)."""

    def matches(self, text_tokens: Sequence[str] | Prepared) -> bool:
        """Whether a mention with these tokens matches; pass a :class:`Prepared` for many queries."""
        return self.root.evaluate(prepare(text_tokens))


def compile_query(source: str) -> Query:
    """Parse ``source``, or raise :class:`QueryError` naming the problem and its column."""
    root = _Parser(source).parse()
    bad = _only_excludes(root)
    if bad is not None:
        raise QueryError("only exclusions", bad.column, "add a term to look for (a query and each OR branch need one)")
    terms = tuple(dict.fromkeys(_positive_terms(root, [])))
    return Query(source=source, root=root, terms=terms, anchors=_anchors(root))


class BrandMatcher:
    """All brands whose query matches a mention, skipping brands none of whose anchors occur.

    Candidates come from one set intersection (exact anchors) and one regular expression search
    (prefix anchors); only their queries are evaluated.
    """

    def __init__(self, queries: Mapping[str, Query]) -> None:
        self.brands: tuple[str, ...] = tuple(queries)
        self._roots: tuple[Node, ...] = tuple(query.root for query in queries.values())
        self._exact: dict[str, list[int]] = {}
        self._stems: list[tuple[str, int]] = []
        for index, query in enumerate(queries.values()):
            for anchor in sorted(query.anchors):
                if anchor.endswith("*"):
                    self._stems.append((anchor[:-1], index))
                else:
                    self._exact.setdefault(anchor, []).append(index)
        self._exact_keys = frozenset(self._exact)
        stems = sorted({stem for stem, _ in self._stems}, key=len, reverse=True)
        self._prefix_re = re.compile(f" (?:{'|'.join(map(re.escape, stems))})[^ ]*") if stems else None

    def match(self, text_tokens: Sequence[str] | Prepared) -> list[str]:
        """Names of the brands whose query matches, in configuration order."""
        doc = prepare(text_tokens)
        candidates: set[int] = set()
        for token in doc.unique & self._exact_keys:
            candidates.update(self._exact[token])
        if self._prefix_re is not None:
            for found in self._prefix_re.finditer(doc.joined):
                token = found.group()[1:]
                candidates.update(index for stem, index in self._stems if token.startswith(stem))
        if not candidates:
            return []
        roots = self._roots
        return [self.brands[i] for i in sorted(candidates) if roots[i].evaluate(doc)]

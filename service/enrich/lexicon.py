"""The crisis lexicon: French and English vocabulary of crises (and of harmless spikes), as data.

The vocabulary lives in ``crisis_lexicon.yaml`` (shipped with the package); this module validates it
and tags token lists in one pass. File layout::

    version: 1
    categories:
      safety_recall:            # every name of CATEGORIES, no other
        en:                     # ISO 639-1 code
          recall: [+s, +ed, +ing]       # canonical term: its other forms
          unintended acceleration:      # no other forms
        fr:
          rappel: [+s, rappelle, rappelé, rappelés]
    ignore:                     # phrases that never count, e.g. "par défaut" hides "défaut"
      fr: [par défaut]

A form starting with ``+`` is the canonical term plus a suffix (``recall`` + ``+ed`` = ``recalled``);
any other form is written in full. Terms and forms are tokenised like mentions
(:mod:`service.enrich.text`), so accents and case never matter and a multi-word form matches
consecutive tokens. Matching is on whole tokens: ``brake`` never matches ``breakfast``.

:meth:`Lexicon.tag` makes one pass over the tokens: a set intersection finds the words that start
some form (most mentions stop there), then a two-level index (first word, second word) finds the
longest form at each of those positions. No regular expression per term.

>>> lexicon = load_lexicon()
>>> lexicon.tag(tokens("Toyota RAPPELLE 2,3 millions de véhicules : pédales de frein défectueuses"))
{'safety_recall': ('rappel', 'pédale', 'frein', 'défectueux')}
>>> lexicon.tag(tokens("Sticky accelerator pedals: Toyota recalls 2.3M cars after a fatal crash"))
{'safety_recall': ('stuck pedal', 'pedal', 'recall'), 'accident': ('fatal', 'crash')}
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from importlib import resources
from pathlib import Path
from typing import NamedTuple

import yaml

from service.enrich.text import tokens

__all__ = [
    "CATEGORIES",
    "CRISIS_CATEGORIES",
    "HARMLESS_CATEGORIES",
    "Lexicon",
    "LexiconError",
    "load_lexicon",
    "tokens",
]

CRISIS_CATEGORIES: tuple[str, ...] = ("safety_recall", "outage", "accident", "legal", "scandal", "data_breach")
"""Categories whose vocabulary suggests a crisis."""
HARMLESS_CATEGORIES: tuple[str, ...] = ("launch", "campaign", "event")
"""Categories whose vocabulary suggests a harmless spike (launch, marketing campaign, sport event)."""
CATEGORIES: tuple[str, ...] = CRISIS_CATEGORIES + HARMLESS_CATEGORIES
IGNORED = None  # category of an ``ignore`` phrase inside the index

_DEFAULT_FILE = "crisis_lexicon.yaml"


class LexiconError(ValueError):
    """The lexicon file is invalid; the message starts with ``file:line:``."""


class _Phrase(NamedTuple):
    rest: list[str]  # words after the first two
    category: str | None  # None: an ignore phrase
    canonical: str


class _Slot(NamedTuple):
    """Everything that starts with one word: the word alone, and phrases keyed by their 2nd word."""

    single: tuple[tuple[str | None, str], ...]  # (category, canonical); an ignore entry first
    phrases: dict[str, tuple[_Phrase, ...]]  # longest first; an ignore phrase first among equals


_Form = tuple[tuple[str, ...], str | None, str]  # words, category (None: ignore), canonical


class Lexicon:
    """Validated vocabulary with a two-level word index; build it with :func:`load_lexicon`."""

    def __init__(self, terms: Mapping[str, Mapping[str, Mapping[str, Sequence[str]]]],
                 ignore: Mapping[str, Sequence[Sequence[str]]]) -> None:
        """``terms``: category -> language -> canonical -> forms (tokenised, words joined by single
        spaces); ``ignore``: language -> ignored phrases (word lists)."""
        self.categories: tuple[str, ...] = tuple(c for c in CATEGORIES if c in terms)
        self.languages: tuple[str, ...] = tuple(sorted({lang for c in terms.values() for lang in c}))
        self._terms = {c: tuple(dict.fromkeys(k for lang in terms[c].values() for k in lang)) for c in self.categories}
        forms: dict[str | None, list[_Form]] = {lang: [] for lang in (*self.languages, None)}
        for category, by_lang in terms.items():
            for lang, entries in by_lang.items():
                for canonical, written in entries.items():
                    for form in written:
                        for key in (lang, None):
                            forms[key].append((tuple(form.split()), category, canonical))
        for lang, phrases in ignore.items():
            for key in {lang if lang in forms else None, None}:
                forms[key].extend((tuple(words), IGNORED, "") for words in phrases)
        self._index = {key: _build_index(listed) for key, listed in forms.items()}
        self._first_words = {key: frozenset(index) for key, index in self._index.items()}

    def terms(self, category: str) -> tuple[str, ...]:
        """Canonical terms of ``category`` (every language), in file order."""
        return self._terms[category]

    def is_crisis(self, category: str) -> bool:
        return category in CRISIS_CATEGORIES

    def tag(self, text_tokens: Sequence[str], lang: str | None = None) -> dict[str, tuple[str, ...]]:
        """Category -> canonical terms found in ``text_tokens`` (first-seen order; only categories found).

        ``lang`` restricts matching to that language's vocabulary when the lexicon has it (every
        language otherwise). Matching is leftmost-longest: the longest form starting at a word wins
        (forms of equal length in several categories all count) and the words it covers start no
        other match; an ``ignore`` phrase wins its ties and hides what it covers.
        """
        key = lang if lang in self._index else None
        hits = self._first_words[key].intersection(text_tokens)
        if not hits:
            return {}
        index = self._index[key]
        words = text_tokens if isinstance(text_tokens, list) else list(text_tokens)
        found: dict[str, list[str]] = {}
        skip_until = 0
        count = len(words)
        for i, word in enumerate(words):
            if i < skip_until or word not in hits:
                continue
            single, phrases = index[word]
            matched: list[tuple[str | None, str]] = []
            best = 0
            longer = phrases.get(words[i + 1]) if phrases and i + 1 < count else None
            for rest, category, canonical in longer or ():
                size = 2 + len(rest)
                if size < best:
                    break
                if not rest or words[i + 2:i + size] == rest:
                    best = size
                    matched.append((category, canonical))
            if not matched:
                matched, best = list(single), 1
            if matched:
                skip_until = i + best
            for category, canonical in matched:
                if category is None:
                    break
                seen = found.setdefault(category, [])
                if canonical not in seen:
                    seen.append(canonical)
        return {category: tuple(terms) for category, terms in found.items()}


def _build_index(forms: list[_Form]) -> dict[str, _Slot]:
    """First word -> :class:`_Slot`. A form listed in one category by several languages keeps the
    first canonical term (file order); ignore entries sort before terms of equal length."""
    unique: dict[tuple[tuple[str, ...], str | None], str] = {}
    for words, category, canonical in forms:
        unique.setdefault((words, category), canonical)
    ordered = sorted(unique.items(), key=lambda item: (-len(item[0][0]), item[0][1] is not None))
    singles: dict[str, list[tuple[str | None, str]]] = {}
    phrases: dict[str, dict[str, list[_Phrase]]] = {}
    for (words, category), canonical in ordered:
        singles.setdefault(words[0], [])
        if len(words) == 1:
            singles[words[0]].append((category, canonical))
        else:
            by_next = phrases.setdefault(words[0], {})
            by_next.setdefault(words[1], []).append(_Phrase(list(words[2:]), category, canonical))
    return {
        first: _Slot(tuple(single), {second: tuple(p) for second, p in phrases.get(first, {}).items()})
        for first, single in singles.items()
    }


# --------------------------------------------------------------------------- loading and validation


def load_lexicon(path: Path | None = None) -> Lexicon:
    """Read and validate the lexicon file (the shipped one by default); :class:`LexiconError` if bad."""
    if path is None:
        resource = resources.files("service.enrich").joinpath(_DEFAULT_FILE)
        name, text = _DEFAULT_FILE, resource.read_text(encoding="utf-8")
    else:
        name = str(path)
        try:
            text = Path(path).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise LexiconError(f"{name}: cannot read the lexicon: {exc}") from exc
    return _Validator(name).lexicon(text)


class _Validator:
    def __init__(self, name: str) -> None:
        self.name = name

    def fail(self, node: yaml.Node | None, message: str) -> LexiconError:
        line = f":{node.start_mark.line + 1}" if node is not None else ""
        return LexiconError(f"{self.name}{line}: {message}")

    def lexicon(self, text: str) -> Lexicon:
        try:
            root = yaml.compose(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            line = f":{mark.line + 1}" if mark is not None else ""
            raise LexiconError(f"{self.name}{line}: not valid YAML: {getattr(exc, 'problem', exc)}") from exc
        top = self.mapping(root, "the lexicon", {"version", "categories", "ignore"})
        if "version" not in top or self.scalar(top["version"][1], "version") != "1":
            raise self.fail(top.get("version", (root, root))[1], "'version: 1' is required")
        if "categories" not in top:
            raise self.fail(root, "missing key 'categories'")
        cat_key, cat_node = top["categories"]
        categories = self.mapping(cat_node, "categories", set(CATEGORIES))
        missing = [c for c in CATEGORIES if c not in categories]
        if missing:
            raise self.fail(cat_key, f"missing categories: {', '.join(missing)}")
        terms = {name: self.category(name, value) for name, (_, value) in categories.items()}
        ignore = self.ignore(top["ignore"][1]) if "ignore" in top else {}
        return Lexicon(terms, ignore)

    def category(self, category: str, node: yaml.Node) -> dict[str, dict[str, list[str]]]:
        out: dict[str, dict[str, list[str]]] = {}
        for lang, (key, value) in self.mapping(node, f"category {category!r}", None).items():
            self.language(key, lang)
            seen: dict[str, str] = {}
            entries: dict[str, list[str]] = {}
            for canonical, (term_key, forms_node) in self.mapping(value, f"{category}.{lang}", None).items():
                forms = list(dict.fromkeys(self.forms(canonical, term_key, forms_node)))
                for form in forms:
                    if seen.setdefault(form, canonical) != canonical:
                        raise self.fail(term_key, f"{category}.{lang}: form {form!r} of {canonical!r} is "
                                                  f"already a form of {seen[form]!r}")
                entries[canonical] = forms
            if not entries:
                raise self.fail(value, f"{category}.{lang}: no terms")
            out[lang] = entries
        if not out:
            raise self.fail(node, f"category {category!r} has no languages")
        return out

    def forms(self, canonical: str, key: yaml.Node, node: yaml.Node) -> Iterator[str]:
        yield self.tokenised(canonical, key)
        if isinstance(node, yaml.ScalarNode) and node.value in ("", "~", "null") and node.tag.endswith("null"):
            return
        if not isinstance(node, yaml.SequenceNode):
            raise self.fail(node, f"forms of {canonical!r} must be a list (or nothing)")
        for item in node.value:
            form = self.scalar(item, f"a form of {canonical!r}")
            yield self.tokenised(canonical + form[1:] if form.startswith("+") else form, item)

    def ignore(self, node: yaml.Node) -> dict[str, list[list[str]]]:
        out: dict[str, list[list[str]]] = {}
        for lang, (key, value) in self.mapping(node, "ignore", None).items():
            self.language(key, lang)
            if not isinstance(value, yaml.SequenceNode):
                raise self.fail(value, f"ignore.{lang} must be a list of phrases")
            out[lang] = [self.tokenised(self.scalar(item, "an ignored phrase"), item).split() for item in value.value]
        return out

    def tokenised(self, text: str, node: yaml.Node) -> str:
        words = tokens(text, split_camel=False)
        if not words:
            raise self.fail(node, f"{text!r} has no letters or digits")
        return " ".join(words)

    def language(self, node: yaml.Node, lang: str) -> None:
        if not (len(lang) == 2 and lang.isascii() and lang.isalpha() and lang.islower()):
            raise self.fail(node, f"{lang!r} is not an ISO 639-1 language code (like 'en' or 'fr')")

    def scalar(self, node: yaml.Node, what: str) -> str:
        if not isinstance(node, yaml.ScalarNode) or not node.value.strip():
            raise self.fail(node, f"{what} must be a non-empty string")
        return node.value.strip()

    def mapping(self, node: yaml.Node | None, what: str,
                allowed: set[str] | None) -> dict[str, tuple[yaml.Node, yaml.Node]]:
        if not isinstance(node, yaml.MappingNode):
            raise self.fail(node, f"{what} must be a mapping")
        out: dict[str, tuple[yaml.Node, yaml.Node]] = {}
        for key, value in node.value:
            name = self.scalar(key, f"a key of {what}")
            if allowed is not None and name not in allowed:
                raise self.fail(key, f"unknown key {name!r} in {what} (expected one of: {', '.join(sorted(allowed))})")
            if name in out:
                raise self.fail(key, f"duplicate key {name!r} in {what}")
            out[name] = (key, value)
        return out

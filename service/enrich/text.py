"""Text normalisation and tokenisation shared by brand queries and the crisis lexicon.

Both sides of every comparison go through the same two functions, so a query term, a lexicon entry
and a mention agree on what a word is:

- :func:`normalize` decomposes (NFKD: ligatures, full-width and accented letters), casefolds, drops
  combining accents and maps the few Latin letters that NFKD leaves alone (``œ``, ``æ``, ``ø``,
  ``ł``, ``đ``, ``ı``) to plain ASCII; it is idempotent;
- :func:`tokens` splits the normalised text into runs of letters and digits. Everything else
  separates tokens: spaces, punctuation, apostrophes, hyphens and underscores, so ``#Toyota``,
  ``@Toyota_FR`` and ``Toyota's`` all contain the token ``toyota`` and ``C-HR`` is the two tokens
  ``c hr`` (queries tokenise ``c-hr`` the same way and match it as a phrase). CamelCase hashtags and
  handles are also split into their words, kept right after the whole word: ``#ToyotaRecall`` gives
  ``toyotarecall toyota recall``.

>>> normalize("Citroën ŒUVRE Straße")
'citroen oeuvre strasse'
>>> tokens("RAPPEL : la #Toyota C-HR, via @Toyota_FR !")
['rappel', 'la', 'toyota', 'c', 'hr', 'via', 'toyota', 'fr']
>>> tokens("Huge #ToyotaRecall today")
['huge', 'toyotarecall', 'toyota', 'recall', 'today']
"""

from __future__ import annotations

import re
import unicodedata

__all__ = ["normalize", "tokens"]

# Latin letters that NFKD does not decompose (after casefold, so lower case only).
_EXTRA_LETTERS = {"œ": "oe", "æ": "ae", "ø": "o", "ł": "l", "đ": "d", "ı": "i", "ħ": "h", "þ": "th", "ð": "d"}
_EXTRA = re.compile("[" + "".join(_EXTRA_LETTERS) + "]")
_COMBINING = re.compile("[\u0300-\u036f\u1ab0-\u1aff\u1dc0-\u1dff\u20d0-\u20ff\ufe20-\ufe2f]+")
_WORD = re.compile(r"[^\W_]+")
# In ASCII text the runs of _WORD are the runs of ASCII letters and digits: every other character
# becomes a space and ``str.split`` finds the same runs, faster than the regular expression.
_ASCII_SEPARATORS = str.maketrans({c: " " for c in map(chr, range(128)) if not c.isalnum()})
# A hashtag or handle with a lower-to-upper case change somewhere inside (original text).
_CAMEL_TAG = re.compile(r"[#@]([^\W_]*[^\W\d_](?<![A-Z])[A-Z][^\W_]*)")
_CAMEL_PART = re.compile(r"[A-Z]+(?![a-z])|[A-Z]?[a-z]+|\d+|[^\W\d_]+")


def normalize(text: str) -> str:
    """Decompose ``text`` (NFKD), casefold it and drop its accents; idempotent."""
    if text.isascii():
        return text.lower()
    folded = unicodedata.normalize("NFKD", text).casefold()
    if folded.isascii():
        return folded
    if _EXTRA.search(folded):
        folded = _EXTRA.sub(_extra_letter, folded)
    return _COMBINING.sub("", folded)


def _extra_letter(match: re.Match[str]) -> str:
    return _EXTRA_LETTERS[match.group()]


def tokens(text: str, *, split_camel: bool = True) -> list[str]:
    """The normalised words of ``text`` in order (letters and digits; see the module docstring).

    ``split_camel=False`` keeps camelCase hashtags whole: for query terms and lexicon forms, which
    must match the whole hashtag however the mention capitalises it.
    """
    if split_camel and ("#" in text or "@" in text) and _CAMEL_TAG.search(text):
        return _with_camel_parts(text)
    return _words(normalize(text))


def _words(folded: str) -> list[str]:
    """The runs of letters and digits of normalised text."""
    if folded.isascii():
        return folded.translate(_ASCII_SEPARATORS).split()
    return _WORD.findall(folded)


def _with_camel_parts(text: str) -> list[str]:
    """Slow path: tokenise ``text`` piecewise, adding the parts of each camelCase hashtag/handle."""
    out: list[str] = []
    last = 0
    for match in _CAMEL_TAG.finditer(text):
        out.extend(_words(normalize(text[last:match.start()])))
        tag = match.group(1)
        whole = _words(normalize(tag))
        out.extend(whole)
        parts = [normalize(part) for part in _CAMEL_PART.findall(tag)]
        if len(parts) > 1 and parts != whole:
            out.extend(parts)
        last = match.end()
    out.extend(_words(normalize(text[last:])))
    return out

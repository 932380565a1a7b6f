"""Enrichment of a batch of mentions: which brand(s), which language, how negative, which crisis
vocabulary. One pass of tokenisation per mention; negativity scored for the whole batch at once.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType

from service.domain import Enriched, Mention, frozen_map
from service.enrich.lexicon import Lexicon
from service.enrich.negativity import NegativityScorer
from service.enrich.query import BrandMatcher, Query
from service.enrich.text import tokens


@dataclass(frozen=True, kw_only=True, slots=True)
class EnrichResult:
    enriched: list[Enriched]
    unattributed: int
    """Mentions that no brand query matched (and that named no brand): not tracked."""


def full_text(mention: Mention) -> str:
    if mention.title and mention.title not in mention.text:
        return f"{mention.title}\n{mention.text}"
    return mention.text


_NO_TAGS = frozen_map()  # read-only, so every mention without crisis vocabulary can share it


class Enricher:
    def __init__(self, queries: Mapping[str, Query], scorer: NegativityScorer, lexicon: Lexicon) -> None:
        self.matcher = BrandMatcher(dict(queries))
        self.scorer, self.lexicon = scorer, lexicon

    def enrich(self, mentions: Sequence[Mention]) -> EnrichResult:
        texts, langs, brands, crisis = [], [], [], []
        kept: list[Mention] = []
        unattributed = 0
        match, tag = self.matcher.match, self.lexicon.tag
        for mention in mentions:
            text = full_text(mention)
            words = tokens(text)
            found = [mention.brand] if mention.brand else match(words)
            if not found:
                unattributed += 1
                continue
            kept.append(mention)
            brands.append(found)
            texts.append(text)
            langs.append(mention.lang)  # None: detected for the whole batch by the scorer
            tags = tag(words)
            crisis.append(MappingProxyType(tags) if tags else _NO_TAGS)  # tag() returns a new dict each time
        scores = self.scorer.score_many(texts, langs) if texts else []
        enriched = [
            Enriched(mention=mention, brand=brand, lang=score.lang, negativity=score.negativity, label=score.label,
                     crisis=tags)
            for mention, found, score, tags in zip(kept, brands, scores, crisis, strict=True)
            for brand in found
        ]
        return EnrichResult(enriched=enriched, unattributed=unattributed)

"""Shorthand for the voices of an incident phase in one language."""

from __future__ import annotations

from collections.abc import Sequence

from replays.engine import Voice

NEWS = {"en": ("Reuters", "Associated Press", "Bloomberg", "CNN", "The New York Times", "Automotive News",
               "BBC News"),
        "fr": ("Le Monde", "Le Figaro", "Les Echos", "BFM TV", "franceinfo", "AFP", "L'Argus", "Caradisiac")}
FORUMS = {"en": ("reddit r/cars", "PriusChat"), "fr": ("Forum Auto",)}
BLOGS = {"en": ("Jalopnik", "Autoblog"), "fr": ("Le Blog Auto",)}
SOCIAL = ("twitter", "twitter", "twitter", "twitter", "facebook", "instagram")

# Default share of each family in an incident phase.
WEIGHTS = {"social": 0.70, "news": 0.12, "forum": 0.08, "blog": 0.04, "video": 0.02, "review": 0.02,
           "support": 0.02}


def talk(lang: str, *, social: Sequence[str] = (), also: Sequence[str] = (), news: Sequence[str] = (),
         forum: Sequence[str] = (), blog: Sequence[str] = (), video: Sequence[str] = (), review: Sequence[str] = (),
         support: Sequence[str] = (), tags: Sequence[str] = (), news_sources: Sequence[str] | None = None,
         forum_sources: Sequence[str] | None = None, weights: dict[str, float] | None = None,
         ) -> tuple[Voice, ...]:
    """Voices of one phase; families without texts are left out and the others keep their weights.

    ``also`` extends ``social`` (reactions shared by several phases)."""
    w = {**WEIGHTS, **(weights or {})}
    social = (*social, *also)
    table = (
        ("social", social, SOCIAL),
        ("news", news, tuple(news_sources or NEWS[lang])),
        ("forum", forum, tuple(forum_sources or FORUMS[lang])),
        ("blog", blog, BLOGS[lang]),
        ("video", video, ("YouTube",)),
        ("review", review, ("Trustpilot",) if lang == "en" else ("Avis Vérifiés", "Trustpilot")),
        ("support", support, ("customer support",)),
    )
    return tuple(
        Voice(texts=tuple(texts), sources=sources, lang=lang, weight=w[family],
              tags=tuple(tags) if family == "social" else ())
        for family, texts, sources in table if texts
    )

"""Turning rates and voices into mention records (the JSON Lines contract of DESIGN.md).

A :class:`Voice` is one way of talking about a brand: a source family, a language and a set of
texts (templates with ``{slots}``, or real texts escaped into templates). A :class:`Stream` is a
rate over a time span plus the voices that speak in it, weighted. Every random choice goes through
one ``numpy.random.Generator`` so that a scenario is the same bytes on every build.
"""

from __future__ import annotations

import string
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import numpy as np

from replays.rhythm import Rate, arrivals
from replays.sources import SOURCES, Source, draw_engagement, draw_reach, url_for

_FORMATTER = string.Formatter()

_FIRST = ("alex", "sam", "jordan", "chris", "kate", "mike", "jess", "dan", "emma", "nick", "lucas",
          "lea", "hugo", "chloe", "manon", "theo", "camille", "julien", "sarah", "tom", "nina",
          "max", "lisa", "paul", "marie", "yanis", "ines", "ryan", "amy", "ben", "zoe", "leo")
_LAST = ("_m", "_auto", "75", "_b", "69", "x", "_fr", "_uk", "2009", "_d", "13", "_roadtrip",
         "", "", "", "_l", "_v", "59", "_pro", "33", "_92", "_car", "88", "_k")
_JOURNALISTS = ("Claire Martin", "Julien Bernard", "Sophie Durand", "Nicolas Petit", "Anne Moreau",
                "David Shepardson", "Chang-Ran Kim", "Tom Krisher", "Paul Lienert", "Laura Dubois",
                "Gilles Guillaume", "Helen Sanders", "Marc Leroy", "Emma Clarke")


# Social posts get a random opener and closer so that a hundred people saying the same thing do not
# produce a hundred identical texts (exact copies are kept for retweets, which start with "RT @").
_OPENERS = {
    "en": ("", "", "", "", "", "Wow. ", "Ugh, ", "Honestly, ", "So ", "Well... ", "omg ", "Just saw this: ",
           "Hmm, ", "Not gonna lie, ", "FYI: "),
    "fr": ("", "", "", "", "", "Franchement, ", "Bon... ", "Alors ", "Sérieux, ", "Pff ", "Info : ",
           "Ouah, ", "Bref, ", "Tiens, "),
}
_CLOSERS = {
    "en": ("", "", "", "", "", "", " smh", " !!", " 🙄", " 😡", " lol", " ...", " #justsaying", " 👀", " 😬",
           " (via a friend)", " 😂", " 🚗"),
    "fr": ("", "", "", "", "", "", " !!", " 🙄", " 😡", " ...", " mdr", " 👀", " 😬", " #auto", " 🚗",
           " quand même", " bref"),
}


def decorate(text: str, lang: str | None, rng: np.random.Generator) -> str:
    """A social post as people write it: optional opener, optional closer."""
    key = lang if lang in _OPENERS else "en"
    opener = _OPENERS[key][int(rng.integers(len(_OPENERS[key])))]
    closer = _CLOSERS[key][int(rng.integers(len(_CLOSERS[key])))]
    if opener and text[:1].isupper() and not text.startswith(("I ", "I'", "Toyota", "Peugeot", "Renault",
                                                                "Citroën", "Volkswagen", "Akio")):
        text = text[0].lower() + text[1:]
    return f"{opener}{text}{closer}"


_NEWS_PREFIX = {
    "en": ("", "", "", "", "UPDATE 1-", "UPDATE 2-", "UPDATE 3-", "ANALYSIS-", "LIVE: ", "WRAPUP 1-",
           "EXCLUSIVE-", "FACTBOX-"),
    "fr": ("", "", "", "", "INFO - ", "DIRECT - ", "ANALYSE - ", "VIDÉO - ", "EN BREF - ", "DÉCRYPTAGE - "),
}
_NEWS_CLOSER = {
    "en": ("", "", " The company did not comment further.", " More to follow.", " Shares moved in early trading.",
           " Analysts expect more details in the coming days.", " The story is developing.",
           " Regulators said they were monitoring the situation.", " (Writing by the business desk)"),
    "fr": ("", "", " Le constructeur n'a pas souhaité commenter davantage.", " Plus d'informations à suivre.",
           " (avec AFP)", " Le titre a réagi dès l'ouverture de la Bourse.", " Des précisions sont attendues.",
           " (avec Reuters)"),
}
_REPLIES = {
    "en": ("same here", "my dealer says two weeks", "got the letter today", "any update?", "following",
           "this is getting ridiculous", "called them twice, nothing", "thanks for the info", "+1",
           "mine too", "no news from my dealer", "does anyone have a reference number?"),
    "fr": ("pareil pour moi", "mon concessionnaire dit deux semaines", "reçu le courrier aujourd'hui",
           "des nouvelles ?", "je suis le sujet", "ça devient ridicule", "appelé deux fois, rien", "merci pour l'info",
           "+1", "idem", "toujours rien de mon côté", "quelqu'un a un numéro de dossier ?"),
}


def vary(kind: str, title: str | None, text: str, lang: str | None,
         rng: np.random.Generator) -> tuple[str | None, str]:
    """Outlets rewrite headlines and forum threads collect replies: vary the copies of one story."""
    key = lang if lang in _NEWS_PREFIX else "en"
    if kind == "news" and title:
        prefix = _NEWS_PREFIX[key][int(rng.integers(len(_NEWS_PREFIX[key])))]
        closer = _NEWS_CLOSER[key][int(rng.integers(len(_NEWS_CLOSER[key])))]
        new_title = f"{prefix}{title}"
        return new_title, f"{prefix}{text}{closer}"
    if kind == "forum" and rng.random() < 0.75:
        reply = _REPLIES[key][int(rng.integers(len(_REPLIES[key])))]
        return title, f"Re: {text} - {reply}"
    return title, text


def escape(text: str) -> str:
    """A real text made safe to use as a template (braces doubled)."""
    return text.replace("{", "{{").replace("}", "}}")


@dataclass(frozen=True, kw_only=True)
class Voice:
    """Texts of one kind of source in one language. News templates read ``"Title || body"``."""

    texts: tuple[str, ...]
    sources: tuple[str, ...]
    lang: str | None
    weight: float = 1.0
    tags: tuple[str, ...] = ()
    tag_rate: float = 0.25
    decorate: bool = True


@dataclass(frozen=True, kw_only=True)
class Stream:
    """Mentions arriving at ``rate`` over ``[start, end)``, spoken by ``voices``."""

    rate: Rate
    start: datetime
    end: datetime
    voices: tuple[Voice, ...]
    slots: Mapping[str, Sequence[str]] = field(default_factory=dict)
    heat: float = 1.0
    omit_lang: float = 0.08


def fill(template: str, slots: Mapping[str, Sequence[str]], rng: np.random.Generator) -> str:
    """Replace every ``{name}`` by a value drawn from ``slots[name]`` (independently per field)."""
    values: dict[str, str] = {}
    for _literal, name, _spec, _conv in _FORMATTER.parse(template):
        if name and name not in values:
            choices = slots[name]
            values[name] = choices[int(rng.integers(len(choices)))]
    return template.format_map(values)


def author_for(source: Source, lang: str | None, rng: np.random.Generator) -> str:
    if source.kind == "news":
        return _JOURNALISTS[int(rng.integers(len(_JOURNALISTS)))]
    if source.kind in ("regulator", "support"):
        return source.name
    # A few regulars post often, most authors post once or twice.
    first = _FIRST[int(rng.integers(len(_FIRST)))]
    last = _LAST[int(rng.integers(len(_LAST)))]
    number = int(rng.integers(0, 40 if rng.random() < 0.3 else 3000))
    return f"{first}{last}{number}"


def record(*, at: datetime, text: str, source: Source, lang: str | None, rng: np.random.Generator,
           title: str | None = None, author: str | None = None, heat: float = 1.0,
           reach_boost: float = 1.0) -> dict[str, Any]:
    """One mention record (without ``id``; :func:`finalize` numbers them)."""
    who = author or author_for(source, lang, rng)
    reach = draw_reach(source, rng, boost=reach_boost)
    rec: dict[str, Any] = {
        "published_at": at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "text": text,
        "source": source.name,
        "kind": source.kind,
    }
    if lang:
        rec["lang"] = lang
    rec["author"] = who
    rec["url"] = url_for(source, author=who, at=at, text=title or text, key=f"{at.isoformat()}|{text}|{who}")
    if title:
        rec["title"] = title
    rec["reach"] = reach
    rec["engagement"] = draw_engagement(source, reach, rng, heat=heat)
    return rec


def _speak(voice: Voice, stream: Stream, at: datetime, rng: np.random.Generator) -> dict[str, Any]:
    source = SOURCES[voice.sources[int(rng.integers(len(voice.sources)))]]
    text = fill(voice.texts[int(rng.integers(len(voice.texts)))], stream.slots, rng)
    title = None
    if "||" in text:
        title, body = (part.strip() for part in text.split("||", 1))
        text = f"{title}. {body}" if not title.endswith((".", "!", "?", "»")) else f"{title} {body}"
    elif source.kind in ("social", "blog", "video") and voice.decorate:
        if voice.tags and rng.random() < voice.tag_rate:
            text = f"{text} {fill(voice.tags[int(rng.integers(len(voice.tags)))], stream.slots, rng)}"
        text = decorate(text, voice.lang, rng)
    title, text = vary(source.kind, title, text, voice.lang, rng)
    lang = voice.lang
    if lang and source.kind == "social" and rng.random() < stream.omit_lang:
        lang = None
    return record(at=at, text=text, source=source, lang=lang, rng=rng, title=title, heat=stream.heat)


def generate(stream: Stream, rng: np.random.Generator) -> list[dict[str, Any]]:
    """Draw the stream's arrival times, then a voice and a text for each."""
    weights = np.array([v.weight for v in stream.voices], dtype=float)
    weights /= weights.sum()
    out = []
    for at in arrivals(stream.rate, stream.start, stream.end, rng):
        voice = stream.voices[int(rng.choice(len(stream.voices), p=weights))]
        out.append(_speak(voice, stream, at, rng))
    return out


def finalize(records: Iterable[dict[str, Any]], prefix: str) -> list[dict[str, Any]]:
    """Sort by time (then text, url) and number the records ``<prefix>-000001`` onwards."""
    ordered = sorted(records, key=lambda r: (r["published_at"], r["text"], r["url"]))
    return [{"id": f"{prefix}-{i:06d}", **r} for i, r in enumerate(ordered, start=1)]

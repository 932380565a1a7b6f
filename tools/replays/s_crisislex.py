"""Accidents from CrisisLexT26: real tweet time stamps and real texts, the place recast next to a brand.

Two scenarios share this module:
- peugeot_sochaux_derailment: the 2013 Lac-Mégantic oil-train derailment (French and English);
- renault_glasgow_helicopter: the 2013 Glasgow helicopter crash into a pub (English).
"""

from __future__ import annotations

import re
from bisect import bisect_left
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import numpy as np

from replays.background import chatter
from replays.engine import author_for, record
from replays.pools import CrisisTweet, crisislex
from replays.scenario import (
    LICENCE_FRENCH,
    LICENCE_SEMEVAL,
    LICENCE_TEMPLATES,
    Built,
    Rule,
    draw,
    hours,
    utc,
)
from replays.sources import SOURCES

LICENCE_CRISISLEX = ("CrisisLexT26 (Olteanu, Vieweg & Castillo, CSCW 2015; repository MIT): real time stamps "
                     "and tweet texts, place names substituted; tweet texts under Twitter/X terms")


@dataclass(frozen=True, kw_only=True)
class Recast:
    """How one real event is recast: regex substitutions and the hashtag naming the brand."""

    event: str
    subs: Sequence[tuple[str, str]]
    brand_tag: str

    def apply(self, text: str) -> str:
        for pattern, repl in self.subs:
            text = re.sub(pattern, repl, text, flags=re.I)
        text = re.sub(r"\s+", " ", text).strip()
        if not re.search(self.brand_tag.lstrip("#"), text, re.I):
            text = f"{text} {self.brand_tag}"
        return text


def _related(tweets: Sequence[CrisisTweet]) -> list[CrisisTweet]:
    return [t for t in tweets if t.text and t.informativeness and t.informativeness.startswith("Related")]


def recast_tweets(recast: Recast, rng: np.random.Generator, *, end: datetime) -> list[dict[str, Any]]:
    """One mention per real tweet id (``Included = Y``) before ``end``: its own text when the labelled
    sample has it and it is related to the event; otherwise (text not published) a retweet of one of
    the 12 labelled related tweets nearest in time. Tweets labelled "Not related" are dropped."""
    tweets = [t for t in crisislex(recast.event) if t.at.astimezone(UTC) < end]
    related = _related(tweets)
    times = [t.at for t in related]
    out = []
    for tweet in tweets:
        if tweet.text is not None and tweet not in related:
            continue
        if tweet.text is not None:
            text = recast.apply(tweet.text)
        else:
            i = bisect_left(times, tweet.at)
            pool = related[max(0, i - 6): i + 6]
            original = pool[int(rng.integers(len(pool)))]
            text = recast.apply(original.text or "")
            if not text.startswith("RT @"):
                text = f"RT @{author_for(SOURCES['twitter'], None, rng)}: {text}"
        out.append(record(at=tweet.at.astimezone(UTC), text=text, source=SOURCES["twitter"], lang=None, rng=rng,
                          heat=3.0))
    return out


def _baselines(rng: np.random.Generator, start: datetime, end: datetime,
               plan: Sequence[tuple[str, float, dict[str, float], str]]) -> list[dict[str, Any]]:
    out = []
    for brand, per_day, langs, tz in plan:
        out.extend(draw(chatter(brand, start=start, end=end, per_day=per_day, langs=langs, tz=tz), rng))
    return out


MEGANTIC = Recast(event="2013_Lac_Megantic_train_crash", brand_tag="#Peugeot", subs=(
    (r"#(?:trag[ée]die)?lac-?m[ée]g(?:antic)?\w*", "#Sochaux #Peugeot"),
    (r"#m[ée]gantic\w*", "#Sochaux"),
    (r"\blac[- ]m[ée]gantic\b", "Sochaux"),
    (r"\bm[ée]gantic\b", "Sochaux"),
    (r"\bQu[ée]bec's Eastern Townships\b", "eastern France"),
    (r"\b(?:sud du )?Qu[ée]bec\b|\bEstrie\b", "Franche-Comté"),
    (r"#quebec\b|#qc\b|#polqc\b", "#FrancheComte"),
    (r"\bQc\b", "Doubs"),
))

CLUTHA = Recast(event="2013_Glasgow_helicopter_crash", brand_tag="#Renault", subs=(
    (r"#clutha\w*", "#Renault"),
    (r"\b(?:the )?clutha(?: vaults)?(?: bar| pub)?\b", "the Renault showroom"),
    (r"\bpub\b", "Renault showroom"),
    (r"\bbar\b", "showroom"),
))

_PROV_MEGANTIC = """
## Provenance

**Mixed**: real time stamps and real texts of a real disaster, recast next to a brand.

- Real part: CrisisLexT26 `2013_Lac_Megantic_train_crash`: every keyword-matched tweet id kept by
  the curators (`Included = Y`, 2,342 tweets, Jul 6-26 2013; this fixture keeps those up to Jul 20)
  with its **real time stamp**, and the **real text** of the 900 labelled tweets judged related to
  the event (French and English, as written). Tweets labelled "Not related" are dropped. Tweets
  whose text the dataset does not publish are given the text of one of the 12 labelled related
  tweets nearest in time, as a retweet (`RT @handle: ...`).
- Recast (**fictional**): the town becomes **Sochaux** (home of Peugeot's historic plant), Quebec
  becomes Franche-Comté, hashtags `#LacMegantic`-like become `#Sochaux #Peugeot`, and every text
  that still does not name the brand gets a `#Peugeot` hashtag, as people tag the company whose site
  is involved. Some Canadian references (MMA railway, Quebec's premier, Harper) remain in the texts.
  This did not happen in Sochaux; it is a test of how an accident at a brand's site looks.
- Time: real UTC time stamps (the derailment happened at about 05:15 UTC, 01:15 in Quebec); the
  collection's first mention is at 07:17 UTC and the volume surges after 12:00 UTC when Quebec wakes
  up. Onset label: **2013-07-06T07:15:00Z** (first mentions); because the first five hours are a
  trickle at night, the scenario is labelled **slow onset**.
- `lang` is omitted on every real tweet (about half French, half English), to exercise language
  detection. Baseline: four weeks before, about 45 Peugeot, 40 Renault and 25 Citroën mentions a day.
- Expectations: a critical `accident` alert for peugeot within 24 hours of the onset; nothing at
  warning or above for peugeot before it, nor for renault or citroen.
"""

_PROV_CLUTHA = """
## Provenance

**Mixed**: real time stamps and real texts of a real disaster, recast next to a brand.

- Real part: CrisisLexT26 `2013_Glasgow_helicopter_crash`: every keyword-matched tweet id kept by
  the curators (`Included = Y`, 2,551 tweets from Nov 29 2013; this fixture keeps those up to Dec 14)
  with its **real time stamp**, and the **real text** of the ~920 labelled tweets judged related to
  the event. Tweets labelled "Not related" (for instance about a military helicopter crash elsewhere,
  or a car air freshener) are dropped. Tweets whose text the dataset does not publish are given the
  text of one of the 12 labelled related tweets nearest in time, as a retweet.
- Recast (**fictional**): the Clutha pub becomes "the Renault showroom", `#Clutha` becomes
  `#Renault`, "pub"/"bar" become "showroom", and every text that still does not name the brand gets
  a `#Renault` hashtag. A police helicopter really crashed into the Clutha Vaults pub in Glasgow on
  Nov 29 2013 (10 deaths); no Renault site was involved.
- Time: real UTC time stamps. The crash happened at about 22:25 UTC; mentions surge within the
  first half hour (300 in the 23:00 hour). Onset label: **2013-11-29T22:25:00Z**, **fast onset**.
- `lang` is omitted on the real tweets (English). Baseline: four weeks before, about 45 Renault
  (80 % French), 35 Peugeot and 25 Volkswagen mentions a day.
- Expectations: a critical `accident` alert for renault within 6 hours of the onset; nothing at
  warning or above for renault before it, nor for peugeot or volkswagen.
"""


def build_megantic() -> Built:
    rng = np.random.default_rng(20130706)
    start, end, onset = utc("2013-06-08T00:00"), utc("2013-07-20T00:00"), utc("2013-07-06T07:15")
    records = _baselines(rng, start, end, (("peugeot", 45, {"fr": 0.8, "en": 0.2}, "Europe/Paris"),
                                           ("renault", 40, {"fr": 0.8, "en": 0.2}, "Europe/Paris"),
                                           ("citroen", 25, {"fr": 0.8, "en": 0.2}, "Europe/Paris")))
    records.extend(recast_tweets(MEGANTIC, rng, end=end))
    return Built(
        name="peugeot_sochaux_derailment",
        description=("The real Lac-Mégantic oil-train disaster of July 2013 (real tweet times and texts, "
                     "French and English) recast as a fictional derailment and explosion in Sochaux, home of a "
                     "Peugeot plant; an accident after four quiet weeks."),
        kind="crisis", brand="peugeot", langs=("fr", "en"), onset=onset, crisis_type="accident",
        fast_onset=False, data="mixed",
        licences=(LICENCE_CRISISLEX, LICENCE_TEMPLATES, LICENCE_SEMEVAL, LICENCE_FRENCH),
        records=records,
        expect=(Rule(brand="peugeot", severity="critical", crisis_type="accident", start=onset,
                     until=onset + hours(24), note="critical the same day"),),
        forbid=(Rule(brand="peugeot", severity="warning", until=onset, note="nothing before the onset"),
                Rule(brand="renault", severity="warning", note="bystander"),
                Rule(brand="citroen", severity="warning", note="bystander")),
        provenance=_PROV_MEGANTIC,
    )


def build_clutha() -> Built:
    rng = np.random.default_rng(20131129)
    start, end, onset = utc("2013-11-01T00:00"), utc("2013-12-14T00:00"), utc("2013-11-29T22:25")
    records = _baselines(rng, start, end, (("renault", 45, {"fr": 0.8, "en": 0.2}, "Europe/Paris"),
                                           ("peugeot", 35, {"fr": 0.8, "en": 0.2}, "Europe/Paris"),
                                           ("volkswagen", 25, {"en": 0.6, "fr": 0.4}, "Europe/London")))
    records.extend(recast_tweets(CLUTHA, rng, end=end))
    return Built(
        name="renault_glasgow_helicopter",
        description=("The real Glasgow helicopter crash of Nov 29 2013 (real tweet times and texts) recast as "
                     "a fictional crash into a Renault showroom; a fast-onset accident in English after four "
                     "quiet weeks."),
        kind="crisis", brand="renault", langs=("en",), onset=onset, crisis_type="accident",
        fast_onset=True, data="mixed",
        licences=(LICENCE_CRISISLEX, LICENCE_TEMPLATES, LICENCE_SEMEVAL, LICENCE_FRENCH),
        records=records,
        expect=(Rule(brand="renault", severity="critical", crisis_type="accident", start=onset,
                     until=onset + hours(6), note="fast onset: critical within hours"),),
        forbid=(Rule(brand="renault", severity="warning", until=onset, note="nothing before the onset"),
                Rule(brand="peugeot", severity="warning", note="bystander"),
                Rule(brand="volkswagen", severity="warning", note="bystander")),
        provenance=_PROV_CLUTHA,
    )

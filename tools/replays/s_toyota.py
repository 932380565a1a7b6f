"""(a) toyota_recall_2010: the 2009-2010 Toyota accelerator-pedal and Prius brake recalls.

Documented timeline (press coverage of the time; NHTSA recall campaigns):
- 2010-01-21: Toyota recalls about 2.3 million US vehicles (RAV4, Corolla, Matrix, Avalon, Camry,
  Highlander, Tundra, Sequoia) because accelerator pedals can stick; NHTSA posts the recall.
- 2010-01-26: Toyota suspends US sales of the eight models (production halt the next week).
- 2010-01-28/29: recall extended to Europe (up to 1.8 million cars); PSA says the Peugeot 107 and
  Citroën C1, built with the Aygo at the shared Kolín plant, are concerned (about 97,000 cars).
- 2010-02-01: Toyota announces the fix (a steel reinforcement bar in the pedal assembly).
- 2010-02-03..05: Prius braking complaints; US transportation secretary's "stop driving" remark;
  Akio Toyoda apologises at a press conference in Nagoya (Feb 5).
- 2010-02-08/09: Prius (and other hybrids) brake software recall, about 437,000 cars worldwide.
- 2010-02-23/24: US House hearings; Akio Toyoda testifies on Feb 24.
Hours of day are not documented precisely: they are chosen to fit US/European news hours.
"""

from __future__ import annotations

import numpy as np

from replays import texts_toyota as T
from replays.background import chatter, slots_for
from replays.phases import burst, wire
from replays.scenario import (
    LICENCE_FRENCH,
    LICENCE_SEMEVAL,
    LICENCE_TEMPLATES,
    Built,
    Rule,
    days,
    draw,
    hours,
    utc,
)

NAME = "toyota_recall_2010"
START, END = utc("2009-12-21T00:00"), utc("2010-03-03T00:00")
ONSET = utc("2010-01-21T19:00")

PROVENANCE = """
## Provenance

**Reconstructed** incident over a **real-text** baseline.

- Timeline (dates documented in the press of the time and NHTSA recall records): Jan 21 2010
  accelerator-pedal recall of 2.3 M vehicles; Jan 26 sales halt; Jan 28-29 extension to Europe with
  the Peugeot 107 / Citroën C1 twins (PSA, about 97,000 cars); Feb 1 fix announced; Feb 3-5 Prius
  braking complaints and Akio Toyoda's apology; Feb 8 Prius brake recall; Feb 23-24 congressional
  hearings. The hour of each event is chosen (US afternoon for US announcements, European morning for
  European ones), not documented.
- Onset label: **2010-01-21T19:00:00Z**, the (reconstructed) time of the recall announcement and the
  NHTSA notice; wire stories follow within the hour (AP at +8 min, Reuters +15, Bloomberg +25,
  AFP in French +40), then social networks, forums and blogs amplify.
- Volumes: the baseline (Dec 21 2009 - Jan 21 2010, 4.5 weeks) has about 70 Toyota, 38 Peugeot and
  38 Renault mentions a day with the daily and weekly rhythm of New York (English) and Paris
  (French); the incident phases are exponential bursts of 55-120 mentions an hour at their peak
  (30-50 times the hourly baseline; one to two orders of magnitude at the peaks of the
  day), with a slowly decaying tail between them.
  These numbers are invented to be plausible, not measured.
- Texts: baseline chatter mixes real tweets about someone's car from SemEval 2013-2016 (English) and
  DEFT 2017 / XED (French) with the car word replaced by the brand, and templates written for this
  project. Every incident text (news, regulator notice, social posts, forums, blogs) is a template
  written for this project from the documented facts; they paraphrase the news of the time and quote
  no article.
- Expectations: a critical `product_recall` alert for toyota within 24 h of the onset; nothing for
  toyota at warning or above before the onset; nothing at all for renault; nothing for peugeot before
  the European extension on Jan 28 (the real Peugeot 107 knock-on may legitimately alert after it).
"""


def _incident(rng: np.random.Generator) -> list[dict]:
    slots = slots_for("toyota", us_model=T.US_MODELS, eu_model=T.EU_MODELS, n=T.NUMBERS)
    fr_en = {"en": 0.72, "fr": 0.28}
    phases = (
        (ONSET, 230, 0.7, 7, 22, T.RECALL, fr_en),
        (utc("2010-01-26T21:30"), 200, 0.5, 9, 20, T.HALT, fr_en),
        (utc("2010-01-29T08:30"), 130, 1.0, 8, 10, T.EUROPE, {"en": 0.35, "fr": 0.65}),
        (utc("2010-02-01T14:00"), 150, 0.5, 8, 15, T.FIX, fr_en),
        (utc("2010-02-03T16:00"), 140, 1.0, 10, 12, T.PRIUS_PROBE, fr_en),
        (utc("2010-02-05T11:30"), 120, 0.5, 8, 8, T.APOLOGY, fr_en),
        (utc("2010-02-08T14:00"), 180, 0.5, 8, 15, T.PRIUS_RECALL, fr_en),
        (utc("2010-02-23T15:00"), 140, 0.5, 6, 8, T.HEARING, fr_en),
        (utc("2010-02-24T15:00"), 260, 0.5, 7, 15, T.HEARING, fr_en),
    )
    streams = []
    for start, peak, rise, half_life, floor, voices, shares in phases:
        streams.extend(burst(start=start, end=END, peak=peak * 0.45, voices=voices, shares=shares, slots=slots,
                             rise=hours(rise), half_life=hours(half_life), floor=floor * 0.5,
                             floor_half_life=days(2.5)))
    out = draw(streams, rng)
    for minutes, source, text, lang in T.WIRES:
        out.append(wire(ONSET + hours(minutes / 60), source=source, text=text, lang=lang, slots=slots, rng=rng))
    return out


def _knock_on(rng: np.random.Generator) -> list[dict]:
    """The Peugeot 107 / Citroën C1 twins of the Aygo: a small, real-world knock-on recall."""
    slots = slots_for("peugeot", twin=("Peugeot 107", "Citroën C1"))
    streams = burst(start=utc("2010-01-29T09:30"), end=END, peak=9, voices=T.TWINS,
                    shares={"fr": 0.8, "en": 0.2}, slots=slots, rise=hours(1), half_life=hours(10),
                    floor=1.0, floor_half_life=days(2))
    return draw(streams, rng)


def build() -> Built:
    rng = np.random.default_rng(20100121)
    records = []
    for brand, per_day, langs, tz in (
        ("toyota", 50, {"en": 1.0}, "America/New_York"),
        ("toyota", 20, {"fr": 1.0}, "Europe/Paris"),
        ("peugeot", 38, {"fr": 0.8, "en": 0.2}, "Europe/Paris"),
        ("renault", 38, {"fr": 0.8, "en": 0.2}, "Europe/Paris"),
    ):
        records.extend(draw(chatter(brand, start=START, end=END, per_day=per_day, langs=langs, tz=tz), rng))
    records.extend(_incident(rng))
    records.extend(_knock_on(rng))
    return Built(
        name=NAME,
        description=("Toyota's 2009-2010 accelerator-pedal recall (Jan 21 2010), sales halt, fix, Prius "
                     "brake recall and congressional hearings, over 4.5 quiet weeks of Toyota, Peugeot "
                     "and Renault chatter; English and French."),
        kind="crisis", brand="toyota", langs=("en", "fr"), onset=ONSET, crisis_type="product_recall",
        fast_onset=True, data="reconstructed",
        licences=(LICENCE_TEMPLATES, LICENCE_SEMEVAL, LICENCE_FRENCH),
        records=records,
        expect=(Rule(brand="toyota", severity="critical", crisis_type="product_recall", start=ONSET,
                     until=ONSET + hours(24), note="the pedal recall reaches critical within a day"),),
        forbid=(Rule(brand="toyota", severity="warning", until=ONSET, note="nothing before the onset"),
                Rule(brand="renault", severity="info", note="renault stays quiet throughout"),
                Rule(brand="peugeot", severity="warning", until=utc("2010-01-28T00:00"),
                     note="peugeot quiet until the European extension")),
        provenance=PROVENANCE,
    )

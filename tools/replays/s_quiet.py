"""(c) quiet_weeks: five ordinary weeks, no incident; no alert may fire."""

from __future__ import annotations

import numpy as np

from replays.background import NEWS_SALES, chatter, slots_for
from replays.phases import burst
from replays.scenario import LICENCE_FRENCH, LICENCE_SEMEVAL, LICENCE_TEMPLATES, Built, Rule, draw, hours, utc
from replays.talk import talk

NAME = "quiet_weeks"
START, END = utc("2024-09-02T00:00"), utc("2024-10-07T00:00")

PROVENANCE = """
## Provenance

**Reconstructed** volumes and rhythm, **real and template** texts; no incident.

- Five weeks (Sep 2 - Oct 7 2024) of ordinary chatter about Peugeot (about 45 mentions a day),
  Renault (45), Citroën (30) and Volkswagen (20), French and English, with the daily rhythm
  (night trough, lunch and evening peaks) and weekly rhythm (quieter weekends) of Paris for social
  posts. About 20 % of the mentions are complaints (garage delays, customer care, fuel use), 35 %
  compliments, the rest questions and small talk; a few dealer/sales news items and forum threads.
- Ordinary clusters a detector must tolerate: the monthly registration figures on Oct 1, picked up
  by a handful of outlets for Peugeot and Renault within a few hours (a dozen mentions each).
- Texts: real tweets about someone's car from SemEval 2013-2016 (English) and DEFT 2017 / XED
  (French) with the car word replaced by the brand, and templates written for this project.
- Onset: none. Expectation: no alert of any severity for any brand.
"""


def build() -> Built:
    rng = np.random.default_rng(20240902)
    records = []
    for brand, per_day, langs in (
        ("peugeot", 45, {"fr": 0.8, "en": 0.2}),
        ("renault", 45, {"fr": 0.8, "en": 0.2}),
        ("citroen", 30, {"fr": 0.75, "en": 0.25}),
        ("volkswagen", 20, {"fr": 0.5, "en": 0.5}),
    ):
        records.extend(draw(chatter(brand, start=START, end=END, per_day=per_day, langs=langs, tz="Europe/Paris"),
                            rng))
    for brand in ("peugeot", "renault"):
        voices = {"fr": talk("fr", news=NEWS_SALES["fr"], social=NEWS_SALES["fr_social"],
                             weights={"news": 0.7, "social": 0.3})}
        records.extend(draw(burst(start=utc("2024-10-01T08:00"), end=utc("2024-10-02T08:00"), peak=4,
                                  voices=voices, shares={"fr": 1.0}, slots=slots_for(brand), rise=hours(1),
                                  half_life=hours(2), heat=1.0), rng))
    return Built(
        name=NAME,
        description=("Five ordinary weeks of Peugeot, Renault, Citroën and Volkswagen chatter (French and "
                     "English) with daily and weekly rhythm, a few complaints and compliments, the monthly "
                     "sales news; no incident."),
        kind="harmless", brand="peugeot", langs=("fr", "en"), onset=None, crisis_type="none",
        fast_onset=False, data="mixed",
        licences=(LICENCE_TEMPLATES, LICENCE_SEMEVAL, LICENCE_FRENCH),
        records=records,
        forbid=(Rule(severity="info", note="no alert at all, for any brand"),),
        provenance=PROVENANCE,
    )

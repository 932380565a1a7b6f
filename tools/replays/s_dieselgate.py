"""vw_dieselgate_2015: the Volkswagen emissions scandal, a slow-onset scandal / legal crisis."""

from __future__ import annotations

from replays.background import slots_for
from replays.recipe import Baseline, Phase, Wire, compose
from replays.scenario import LICENCE_FRENCH, LICENCE_SEMEVAL, LICENCE_TEMPLATES, Built, Rule, days, utc
from replays.talk import talk

NAME = "vw_dieselgate_2015"
START, END = utc("2015-08-17T00:00"), utc("2015-10-19T00:00")
ONSET = utc("2015-09-18T16:00")

PROVENANCE = """
## Provenance

**Reconstructed** from the documented timeline, over a **real-text** baseline.

- Timeline (widely documented; hours chosen to fit news hours): Fri Sep 18 2015, the US EPA and
  California's CARB issue a notice of violation to Volkswagen for a "defeat device" in 2.0 l TDI
  diesel cars (about 482,000 in the US); Sun Sep 20, CEO Martin Winterkorn apologises and VW halts US
  TDI sales; Mon Sep 21, VW shares fall about 20 % in Frankfurt; Tue Sep 22, VW says 11 million cars
  worldwide carry the software and sets aside EUR 6.5 bn; Wed Sep 23, Winterkorn resigns and France
  announces its own tests; Fri Sep 25, Matthias Müller named CEO; Sep 29, refit plan; Oct 8, VW's US
  chief Michael Horn testifies before a House committee; Oct 15, Germany's KBA orders a recall.
- Onset label: **2015-09-18T16:00:00Z**, the (reconstructed) hour of the EPA announcement. The onset
  is **slow**: the story starts in the specialist and business press and only becomes a storm over the
  weekend and on Monday's market open, two to three days later.
- Volumes: baseline about 50 Volkswagen (half French, half English), 35 Peugeot and 35 Renault
  mentions a day for 4.5 weeks; phases peaking at 15 mentions an hour on Friday evening and 60-110
  an hour on Sep 21-23 (invented, plausible). A small French knock-on asks whether Renault and
  Peugeot diesels are concerned (they were not accused at the time).
- Texts: every incident text is a template written for this project from the documented facts.
- Expectations: a critical `scandal_legal` alert for volkswagen within five days of the onset; nothing
  at warning or above for volkswagen before it; no critical alert for peugeot or renault.
"""

_TAGS_EN = ("#dieselgate", "#VWgate", "#Volkswagen", "#VW")
_TAGS_FR = ("#dieselgate", "#Volkswagen", "#scandale")

_SOC_EN = (
    "Volkswagen cheated on emissions tests for years. Unbelievable",
    "So Volkswagen installed software to fool the EPA? That's fraud",
    "Volkswagen lied to all of us. Never buying one again",
    "My 'clean diesel' Volkswagen Jetta was a lie the whole time",
    "Volkswagen emissions scandal is going to cost them billions",
    "The Volkswagen defeat device story is insane",
    "Class action against Volkswagen, where do I sign up?",
    "Volkswagen scandal: shame on them #dieselgate",
    "Trust in Volkswagen: gone",
    "How did Volkswagen think they'd get away with cheating?",
)
_SOC_FR = (
    "Volkswagen a triché sur les émissions de ses diesels, scandaleux",
    "Le scandale Volkswagen, c'est de la fraude pure et simple",
    "Ma Golf TDI Volkswagen est concernée par la triche ? On nous a menti",
    "Volkswagen et ses moteurs truqués... la honte",
    "Plus jamais de Volkswagen après ce mensonge",
    "Affaire Volkswagen : il faut une enquête en France aussi",
    "Le logiciel truqueur de Volkswagen, c'est énorme comme scandale",
    "Volkswagen va payer des milliards d'amende, et c'est mérité",
)

_P1 = {
    "en": talk("en", tags=_TAGS_EN, social=_SOC_EN[:4], news=(
        "EPA accuses Volkswagen of dodging emissions rules || The agency says 2.0 liter diesel cars used "
        "software that turns on full emissions controls only during official testing.",
        "Volkswagen could face fines of up to $18 billion over emissions || The EPA issued a notice of "
        "violation covering about 482,000 diesel cars.",
    ), weights={"social": 0.5, "news": 0.5}),
    "fr": talk("fr", tags=_TAGS_FR, social=_SOC_FR[:2], news=(
        "Les Etats-Unis accusent Volkswagen de tricher sur la pollution || L'agence de l'environnement "
        "américaine vise un logiciel installé sur des diesels du groupe.",
    ), weights={"social": 0.5, "news": 0.5}),
}

_STORM = {
    "en": talk("en", tags=_TAGS_EN, social=_SOC_EN, news=(
        "Volkswagen shares plunge as emissions scandal widens || Europe's largest carmaker lost about a "
        "fifth of its market value in a day.",
        "Volkswagen says 11 million cars worldwide have cheating software || The company set aside 6.5 "
        "billion euros to cover costs.",
        "Volkswagen CEO Winterkorn apologises over emissions cheating || The company has ordered an "
        "external investigation.",
        "US Justice Department opens criminal probe into Volkswagen || Investigators look at the diesel "
        "emissions cheating.",
        "Volkswagen halts US sales of diesel cars || Dealers are stuck with thousands of TDI models.",
    ), forum=("Volkswagen TDI owners: what now? (emissions scandal thread)",
              "Is my Volkswagen Passat TDI affected by the emissions cheating?"),
        blog=("The Volkswagen emissions scandal explained", "How Volkswagen's defeat device worked"),
        video=("Volkswagen emissions scandal in 3 minutes",)),
    "fr": talk("fr", tags=_TAGS_FR, social=_SOC_FR, news=(
        "Scandale Volkswagen : le titre s'effondre en Bourse || Le groupe allemand a perdu près d'un "
        "cinquième de sa valeur en une séance.",
        "Volkswagen reconnaît que 11 millions de véhicules sont équipés du logiciel truqueur || Le groupe "
        "provisionne 6,5 milliards d'euros.",
        "Tricherie aux émissions : Volkswagen dans la tourmente || Les enquêtes se multiplient en Europe.",
        "Affaire Volkswagen : Ségolène Royal demande des tests sur des voitures en France || Le gouvernement "
        "veut vérifier les émissions réelles des diesels.",
    ), forum=("Scandale Volkswagen : ma Golf TDI est-elle concernée ?",),
        blog=("Dieselgate : comment Volkswagen a trompé les tests",)),
}

_RESIGN = {
    "en": talk("en", tags=_TAGS_EN, also=_SOC_EN, social=(
        "Winterkorn resigns. Volkswagen needed heads to roll",
        "Volkswagen CEO out over the emissions scandal. About time",
    ), news=(
        "Volkswagen CEO Winterkorn resigns over emissions scandal || He said he was not aware of any "
        "wrongdoing on his part.",
        "Porsche chief Matthias Müller to lead Volkswagen || The new CEO promises to clear up the scandal.",
    )),
    "fr": talk("fr", tags=_TAGS_FR, also=_SOC_FR, social=(
        "Le patron de Volkswagen démissionne, scandale oblige",
    ), news=(
        "Scandale des moteurs truqués : le patron de Volkswagen démissionne || Martin Winterkorn quitte la "
        "direction du groupe.",
    )),
}

_LATER = {
    "en": talk("en", tags=_TAGS_EN, also=_SOC_EN[:6], social=(
        "Volkswagen US boss tells Congress it was a couple of rogue engineers. Really?",
        "Volkswagen recall of millions of diesels ordered in Germany",
    ), news=(
        "Volkswagen US chief apologises to Congress || Michael Horn told lawmakers the software was "
        "installed by a couple of engineers, a claim met with scepticism.",
        "Germany orders Volkswagen to recall 2.4 million diesel cars || The KBA rejected a voluntary recall.",
        "Volkswagen outlines plan to refit 11 million cars || Owners will be contacted in the coming weeks.",
    )),
    "fr": talk("fr", tags=_TAGS_FR, also=_SOC_FR[:4], social=(
        "Rappel de millions de Volkswagen diesel, enfin des mesures",
    ), news=(
        "Volkswagen : rappel obligatoire de millions de diesels en Europe || L'autorité allemande a exigé "
        "un rappel.",
    )),
}

_KNOCK_ON = {"fr": talk("fr", social=(
    "Après Volkswagen, Renault et Peugeot aussi concernés par la triche ?",
    "Scandale Volkswagen : les diesels Renault et Peugeot sont-ils propres ?",
), news=("Affaire Volkswagen : Renault et PSA disent ne pas être concernés || Les constructeurs français "
         "assurent respecter les normes.",), weights={"social": 0.7, "news": 0.3})}

_EN_FR = {"en": 0.5, "fr": 0.5}


def build() -> Built:
    slots = slots_for("volkswagen")
    phases = (
        Phase(start=ONSET, peak=15, rise=5, half_life=14, voices=_P1, shares={"en": 0.75, "fr": 0.25}),
        Phase(start=utc("2015-09-19T14:00"), peak=18, rise=8, half_life=12, voices=_STORM, shares=_EN_FR),
        Phase(start=utc("2015-09-20T13:00"), peak=30, rise=4, half_life=10, voices=_STORM, shares=_EN_FR),
        Phase(start=utc("2015-09-21T07:00"), peak=65, rise=2, half_life=10, voices=_STORM, shares=_EN_FR,
              floor=8, floor_days=5),
        Phase(start=utc("2015-09-22T12:00"), peak=110, rise=1, half_life=9, voices=_STORM, shares=_EN_FR,
              floor=8, floor_days=5),
        Phase(start=utc("2015-09-23T15:30"), peak=90, rise=1, half_life=8, voices=_RESIGN, shares=_EN_FR),
        Phase(start=utc("2015-09-25T10:00"), peak=35, rise=1, half_life=8, voices=_RESIGN, shares=_EN_FR),
        Phase(start=utc("2015-09-29T10:00"), peak=30, rise=1, half_life=8, voices=_LATER, shares=_EN_FR),
        Phase(start=utc("2015-10-08T14:00"), peak=40, rise=1, half_life=7, voices=_LATER, shares=_EN_FR),
        Phase(start=utc("2015-10-15T10:00"), peak=45, rise=1, half_life=8, voices=_LATER, shares=_EN_FR),
        Phase(start=utc("2015-09-23T08:00"), peak=2.5, rise=2, half_life=12, voices=_KNOCK_ON,
              shares={"fr": 1.0}),
    )
    wires = (Wire(at=ONSET, source="US EPA", lang="en",
                  text="EPA, California notify Volkswagen of Clean Air Act violations || The notice of "
                       "violation alleges that four-cylinder Volkswagen and Audi diesel cars from model "
                       "years 2009-2015 include software that circumvents EPA emissions standards."),)
    records = compose(seed=20150918, start=START, end=END, slots=slots, phases=phases, wires=wires, baselines=(
        Baseline(brand="volkswagen", per_day=25, langs={"en": 1.0}, tz="America/New_York"),
        Baseline(brand="volkswagen", per_day=25, langs={"fr": 1.0}),
        Baseline(brand="peugeot", per_day=35, langs={"fr": 0.8, "en": 0.2}),
        Baseline(brand="renault", per_day=35, langs={"fr": 0.8, "en": 0.2}),
    ))
    return Built(
        name=NAME,
        description=("Volkswagen's 2015 diesel emissions scandal: EPA notice (Sep 18), share crash, 11 million "
                     "cars admitted, CEO resignation, hearings and recall; a slow-onset scandal in English "
                     "and French over 4.5 quiet weeks."),
        kind="crisis", brand="volkswagen", langs=("en", "fr"), onset=ONSET, crisis_type="scandal_legal",
        fast_onset=False, data="reconstructed",
        licences=(LICENCE_TEMPLATES, LICENCE_SEMEVAL, LICENCE_FRENCH),
        records=records,
        expect=(Rule(brand="volkswagen", severity="critical", crisis_type="scandal_legal", start=ONSET,
                     until=ONSET + days(5), note="critical once the scandal spreads"),),
        forbid=(Rule(brand="volkswagen", severity="warning", until=ONSET, note="nothing before the onset"),
                Rule(brand="peugeot", severity="critical", note="French knock-on stays small"),
                Rule(brand="renault", severity="critical", note="French knock-on stays small")),
        provenance=PROVENANCE,
    )

"""renault_emissions_raid_2016: fraud investigators' searches at Renault, a fast-onset scandal."""

from __future__ import annotations

from replays.background import slots_for
from replays.recipe import Baseline, Phase, Wire, compose
from replays.scenario import LICENCE_FRENCH, LICENCE_SEMEVAL, LICENCE_TEMPLATES, Built, Rule, hours, utc
from replays.talk import talk

NAME = "renault_emissions_raid_2016"
START, END = utc("2015-12-14T00:00"), utc("2016-01-29T00:00")
ONSET = utc("2016-01-14T09:30")

PROVENANCE = """
## Provenance

**Reconstructed** from the documented timeline, over a **real-text** baseline.

- Timeline (press of January 2016): on Thu Jan 14 2016, mid-morning in Paris, the CGT union says
  fraud investigators (DGCCRF) searched Renault sites (Guyancourt technical centre, Lardy) the
  previous week as part of the emissions checks ordered after the Volkswagen scandal; Renault shares
  fall by up to about 20 % within the hour and trading is briefly chaotic; Renault confirms the
  searches, the environment minister says no cheating software was found, and the share price
  recovers part of the loss; Peugeot shares also fall. On Jan 19 Renault presents measures to
  bring real-world NOx emissions down (including a recall of recent Captur models for an update).
- Onset label: **2016-01-14T09:30:00Z** (reconstructed: the union statement and the first wire
  flashes; the exact minute is not documented here). **Fast onset**: wires within minutes, then social
  networks and the French press within the hour.
- Volumes: baseline about 55 Renault (80 % French), 40 Peugeot and 20 Volkswagen mentions a day
  for 4.5 weeks; a peak of about 120 mentions an hour on the afternoon of Jan 14, a second, smaller
  wave on Jan 19 (invented, plausible); a small Peugeot knock-on (share price, "PSA aussi ?").
- Texts: every incident text is a template written for this project from the documented facts.
- Expectations: a critical `scandal_legal` alert for renault within 12 hours of the onset; nothing at
  warning or above for renault before it; no critical alert for peugeot or volkswagen.
"""

_TAGS_FR = ("#Renault", "#dieselgate", "#CAC40", "#scandale")
_TAGS_EN = ("#Renault", "#dieselgate", "#emissions")

_SOC_FR = (
    "Perquisitions chez Renault pour les émissions, après l'Allemagne c'est au tour de Renault ?",
    "Renault -20 % en Bourse en une heure, c'est la panique",
    "Si Renault a triché sur les émissions comme les Allemands, quel scandale",
    "Renault perquisitionné par la répression des fraudes, on va tous y passer",
    "Mon diesel Renault serait truqué ? J'attends des explications",
    "Renault dément toute triche mais le mal est fait en Bourse",
    "L'Etat actionnaire de Renault et la fraude aux émissions, bonjour le conflit d'intérêts",
    "Enquête sur Renault : ce dieselgate à la française fait peur",
    "Renault, la honte si c'est vrai",
)
_SOC_EN = (
    "Renault shares crash 20% on emissions raids. Is this dieselgate all over again?",
    "Fraud investigators raided Renault over emissions. Wow",
    "Renault says no cheating software, but the market doesn't believe it",
    "Renault emissions probe: here we go again #dieselgate",
)

_RAID = {
    "fr": talk("fr", tags=_TAGS_FR, social=_SOC_FR, news=(
        "Renault : perquisitions dans le cadre de l'enquête sur les émissions || Des enquêteurs de la "
        "répression des fraudes se sont rendus sur plusieurs sites du constructeur, selon la CGT.",
        "Renault chute en Bourse après des perquisitions sur les émissions polluantes || Le titre a perdu "
        "jusqu'à 20 % dans la matinée.",
        "Emissions : Renault confirme des perquisitions, pas de logiciel truqueur selon Ségolène Royal || "
        "La ministre évoque des dépassements des normes sur certains modèles.",
        "Après le dieselgate, Renault dans le viseur de la répression des fraudes || Le constructeur assure "
        "respecter la réglementation.",
        "Renault : l'Etat actionnaire sous pression après les perquisitions || Bercy suit le dossier de près.",
    ), forum=("Perquisitions Renault : nos diesels sont-ils concernés ?",
              "Renault et les émissions, le sujet du jour"),
        blog=("Perquisitions chez Renault : ce que l'on sait",), video=("Renault perquisitionné : le point",),
        weights={"news": 0.16}),
    "en": talk("en", tags=_TAGS_EN, social=_SOC_EN, news=(
        "Renault shares dive after fraud investigators search sites || The union said inspectors visited "
        "Renault's technical centre as part of emissions checks.",
        "Renault says no defeat device found after emissions raids || Shares recovered some losses.",
        "France says Renault emissions above limits but no cheating software || The minister spoke after "
        "the carmaker's shares plunged.",
    ), weights={"news": 0.25}),
}

_MEASURES = {
    "fr": talk("fr", tags=_TAGS_FR, also=_SOC_FR[:5], social=(
        "Renault rappelle des Captur pour les émissions, donc il y avait bien un problème",
        "Renault annonce un plan pour réduire les émissions de ses diesels, trop tard ?",
    ), news=(
        "Emissions : Renault annonce un plan et rappelle des Captur || Le constructeur veut réduire les "
        "écarts entre émissions homologuées et réelles.",
    )),
    "en": talk("en", tags=_TAGS_EN, also=_SOC_EN[:2], social=(
        "Renault recalls Captur SUVs after the emissions probe",
    ), news=(
        "Renault to recall Captur models to fix emissions || The carmaker outlined measures after the "
        "searches by fraud investigators.",
    )),
}

_KNOCK_ON = {"fr": talk("fr", social=(
    "Peugeot recule aussi en Bourse dans la foulée de Renault",
    "Après Renault, Peugeot va être perquisitionné ?",
), news=("Le titre Peugeot entraîné par la chute de Renault || Les investisseurs craignent une contagion.",),
    weights={"social": 0.7, "news": 0.3})}

_SHARES = {"fr": 0.75, "en": 0.25}


def build() -> Built:
    phases = (
        Phase(start=ONSET, peak=120, rise=0.6, half_life=5, floor=10, floor_days=2, voices=_RAID, shares=_SHARES),
        Phase(start=utc("2016-01-15T07:30"), peak=40, rise=1, half_life=6, voices=_RAID, shares=_SHARES),
        Phase(start=utc("2016-01-19T17:00"), peak=45, rise=1, half_life=6, floor=4, voices=_MEASURES,
              shares=_SHARES),
        Phase(start=ONSET + hours(0.5), peak=4, rise=1, half_life=6, voices=_KNOCK_ON, shares={"fr": 1.0}),
    )
    wires = (
        Wire(at=ONSET + hours(0.1), source="Reuters", lang="en",
             text="Renault shares fall sharply; union says fraud investigators searched sites || The CGT said "
                  "the searches were linked to emissions tests."),
        Wire(at=ONSET + hours(0.2), source="AFP", lang="fr",
             text="Renault : perquisitions de la répression des fraudes, selon la CGT || Le titre dévisse à la "
                  "Bourse de Paris."),
    )
    records = compose(seed=20160114, start=START, end=END, slots=slots_for("renault"), phases=phases, wires=wires,
                      baselines=(Baseline(brand="renault", per_day=55, langs={"fr": 0.8, "en": 0.2}),
                                 Baseline(brand="peugeot", per_day=40, langs={"fr": 0.8, "en": 0.2}),
                                 Baseline(brand="volkswagen", per_day=20, langs={"fr": 0.6, "en": 0.4})))
    return Built(
        name=NAME,
        description=("Fraud investigators' emissions searches at Renault revealed on Jan 14 2016: shares fall "
                     "20 % within the hour, denials, a measures plan on Jan 19; a fast-onset scandal, mostly "
                     "French."),
        kind="crisis", brand="renault", langs=("fr", "en"), onset=ONSET, crisis_type="scandal_legal",
        fast_onset=True, data="reconstructed",
        licences=(LICENCE_TEMPLATES, LICENCE_SEMEVAL, LICENCE_FRENCH),
        records=records,
        expect=(Rule(brand="renault", severity="critical", crisis_type="scandal_legal", start=ONSET,
                     until=ONSET + hours(12), note="fast onset: critical the same day"),),
        forbid=(Rule(brand="renault", severity="warning", until=ONSET, note="nothing before the onset"),
                Rule(brand="peugeot", severity="critical", note="share-price knock-on only"),
                Rule(brand="volkswagen", severity="warning", note="bystander")),
        provenance=PROVENANCE,
    )

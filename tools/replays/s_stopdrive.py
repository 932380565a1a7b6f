"""citroen_airbag_stopdrive_2025: a slow-onset safety recall ("stop drive") in France."""

from __future__ import annotations

from replays.background import slots_for
from replays.recipe import Baseline, Phase, Wire, compose
from replays.scenario import LICENCE_FRENCH, LICENCE_SEMEVAL, LICENCE_TEMPLATES, Built, Rule, days, utc
from replays.talk import talk

NAME = "citroen_airbag_stopdrive_2025"
START, END = utc("2025-05-12T00:00"), utc("2025-07-01T00:00")
ONSET = utc("2025-06-12T07:00")

PROVENANCE = """
## Provenance

**Reconstructed**, modelled on the Takata airbag "stop drive" affecting the Citroën C3 and DS3 in
France in June 2025, as reported by the French press; dates are approximate and details simplified,
the volumes and every incident text are invented for this fixture.

- Shape: a death attributed to an exploding airbag inflator in an older Citroën C3 is first reported
  by the regional press (labelled onset **2025-06-12T07:00:00Z**); national media and social networks
  pick it up over the following days (owners of older C3 checking whether their car is concerned,
  anger at waiting times for replacement parts); about five days later the manufacturer extends its
  "stop drive" instruction (do not drive the car until the airbag is replaced) to all older C3 and DS3
  in Europe and the government steps in, which makes the peak; then garages are overwhelmed and
  courtesy cars scarce for weeks. **Slow onset**: the first days are a fraction of the peak.
- Vocabulary: rappel, airbag, défaut, dangereux, stop drive / ne plus rouler, mortel, Takata, garage,
  pièce, voiture de prêt; strongly negative, French with some English.
- Volumes: baseline about 40 Citroën, 45 Peugeot and 40 Renault mentions a day for four weeks;
  incident peaks of 10-15 mentions an hour in the first days and about 90 an hour at the stop-drive
  extension.
- Expectations: a critical `product_recall` alert for citroen within six days of the onset; nothing at
  warning or above for citroen before it; no critical alert for peugeot or renault (DS3 and Stellantis
  are named in a few texts, Peugeot and Renault are bystanders).
"""

_TAGS = ("#Citroen", "#airbag", "#rappel", "#StopDrive")
_SOC_FR = (
    "Ma Citroën C3 de 2012 est concernée par le rappel airbag ? Je n'ose plus rouler avec",
    "Airbag Takata : Citroën demande de ne plus rouler avec les vieilles C3, c'est dingue",
    "Stop drive sur ma C3, Citroën me dit d'attendre 3 mois pour la pièce. Et je vais au travail comment ?",
    "Un airbag qui explose et qui tue, Citroën savait depuis des années ?",
    "Rappel Citroën C3 : garage saturé, pas de voiture de prêt. Scandaleux",
    "J'ai vérifié mon VIN sur le site Citroën, ma C3 est concernée par le défaut d'airbag",
    "Citroën, remplacez ces airbags dangereux au lieu de laisser les gens rouler",
    "Ma mère roule en C3, je lui ai dit de ne plus la prendre. Merci Citroën...",
    "Airbags mortels chez Citroën, comment c'est possible en 2025 ?",
)
_SOC_EN = (
    "Citroën tells owners of older C3 not to drive them because of Takata airbags. Wow",
    "Stop-drive order for Citroën C3 and DS3 after a fatal airbag rupture in France",
)

_LOCAL = {"fr": talk("fr", tags=_TAGS, social=_SOC_FR[:4], news=(
    "Reims : une conductrice tuée, l'airbag de sa Citroën C3 mis en cause || Les enquêteurs s'intéressent au "
    "déclenchement du coussin gonflable lors d'un accident.",
    "Mort d'une automobiliste : l'airbag Takata de la Citroën C3 en question || Le véhicule faisait l'objet "
    "d'une campagne de rappel.",
), weights={"social": 0.6, "news": 0.4}, news_sources=("L'Union", "franceinfo", "BFM TV"))}

_SPREAD = {
    "fr": talk("fr", tags=_TAGS, social=_SOC_FR, news=(
        "Airbags Takata : Citroën sous pression après un accident mortel || Des milliers de propriétaires de C3 "
        "attendent toujours le remplacement de leur airbag.",
        "Rappel des Citroën C3 : les garages débordés || Les délais de remplacement des airbags s'allongent.",
        "Airbags défectueux : ce que doivent faire les propriétaires de Citroën C3 et DS3 || Vérifier son "
        "numéro de série sur le site du constructeur.",
    ), forum=("Rappel airbag C3 Citroën : vos délais en concession ?",
              "Stop drive Citroën C3 : voiture de prêt obtenue ?"),
        video=("Airbag Takata : la Citroën C3 est-elle dangereuse ?",),
        review=("Citroën : rappel airbag, aucune solution proposée, voiture immobilisée depuis un mois.",)),
    "en": talk("en", tags=("#Citroen", "#Takata"), social=_SOC_EN, news=(
        "Stellantis widens Citroen C3 stop-drive after fatal airbag incident || Owners of older C3 and DS3 "
        "models in Europe are told not to drive until the inflator is replaced.",
    )),
}

_GOVT = {
    "fr": talk("fr", tags=_TAGS, also=_SOC_FR, social=(
        "Le gouvernement s'en mêle pour les airbags Citroën, enfin",
        "Stop drive étendu à toutes les vieilles C3 : Citroën a trop attendu",
    ), news=(
        "Airbags Takata : Citroën étend le « stop drive » à toutes les C3 et DS3 anciennes en Europe || Le "
        "constructeur demande aux propriétaires de ne plus utiliser leur véhicule.",
        "Airbags : le ministre des Transports convoque les constructeurs après les rappels Citroën || L'Etat "
        "exige des solutions de mobilité pour les automobilistes.",
    )),
    "en": talk("en", also=_SOC_EN, social=("Citroën stop drive now covers all older C3 in Europe",), news=(
        "Citroen C3 and DS3 owners across Europe told to stop driving || The recall concerns Takata airbag "
        "inflators that can rupture.",
    )),
}


def build() -> Built:
    shares = {"fr": 0.9, "en": 0.1}
    phases = (
        Phase(start=ONSET, peak=8, rise=4, half_life=16, voices=_LOCAL, shares={"fr": 1.0}),
        Phase(start=utc("2025-06-13T07:00"), peak=12, rise=6, half_life=16, voices=_SPREAD, shares=shares),
        Phase(start=utc("2025-06-15T08:00"), peak=20, rise=8, half_life=14, voices=_SPREAD, shares=shares),
        Phase(start=utc("2025-06-17T10:00"), peak=90, rise=1, half_life=10, floor=10, floor_days=4,
              voices=_GOVT, shares=shares),
        Phase(start=utc("2025-06-19T08:00"), peak=35, rise=2, half_life=12, floor=5, floor_days=4,
              voices=_SPREAD, shares=shares),
    )
    wires = (Wire(at=utc("2025-06-17T10:30"), source="Rappel Conso", lang="fr",
                  text="Rappel Conso : Citroën C3 et DS3 - airbag conducteur || Risque de rupture du générateur de "
                       "gaz de l'airbag. Ne plus utiliser le véhicule et prendre contact avec le réseau Citroën "
                       "pour le remplacement gratuit."),)
    records = compose(seed=20250612, start=START, end=END, slots=slots_for("citroen"), phases=phases, wires=wires,
                      baselines=(Baseline(brand="citroen", per_day=40, langs={"fr": 0.85, "en": 0.15}),
                                 Baseline(brand="peugeot", per_day=45, langs={"fr": 0.8, "en": 0.2}),
                                 Baseline(brand="renault", per_day=40, langs={"fr": 0.8, "en": 0.2})))
    return Built(
        name=NAME,
        description=("A slow-onset safety recall modelled on the June 2025 Takata-airbag 'stop drive' for older "
                     "Citroën C3 and DS3 in France: a regional death report, days of growing concern, then the "
                     "stop-drive extension; mostly French."),
        kind="crisis", brand="citroen", langs=("fr", "en"), onset=ONSET, crisis_type="product_recall",
        fast_onset=False, data="reconstructed",
        licences=(LICENCE_TEMPLATES, LICENCE_SEMEVAL, LICENCE_FRENCH),
        records=records,
        expect=(Rule(brand="citroen", severity="critical", crisis_type="product_recall", start=ONSET,
                     until=ONSET + days(6), note="critical by the stop-drive extension at the latest"),),
        forbid=(Rule(brand="citroen", severity="warning", until=ONSET, note="nothing before the onset"),
                Rule(brand="peugeot", severity="critical", note="bystander"),
                Rule(brand="renault", severity="critical", note="bystander")),
        provenance=PROVENANCE,
    )

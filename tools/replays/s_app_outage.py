"""peugeot_app_outage: a fictional morning-long outage of a French carmaker's app and connected services."""

from __future__ import annotations

from replays.background import slots_for
from replays.recipe import Baseline, Phase, Wire, compose
from replays.scenario import LICENCE_FRENCH, LICENCE_SEMEVAL, LICENCE_TEMPLATES, Built, Rule, hours, utc
from replays.talk import talk

NAME = "peugeot_app_outage"
START, END = utc("2024-10-21T00:00"), utc("2024-11-25T00:00")
ONSET = utc("2024-11-18T06:10")

PROVENANCE = """
## Provenance

**Reconstructed**, **fictional** incident over a **real-text** baseline.

- No claim that this outage happened. It follows the documented shape of connected-service and app
  outages in general: on a Monday morning (Nov 18 2024, 07:10 Paris time, **onset
  2024-11-18T06:10:00Z**) the MyPeugeot app and the connected services behind it (remote
  pre-conditioning, charge scheduling of electric models, navigation updates) stop answering;
  complaints start within minutes as people leave for work, the support account answers from 07:40,
  the press picks it up mid-morning, the service comes back at 15:40 UTC, a short relapse the next
  morning. **Fast onset**.
- Vocabulary: panne, bug, appli en panne / down, service indisponible, impossible de se connecter,
  erreur, ne fonctionne plus, plus de préchauffage; strongly negative, with relief and jokes at the
  end. Mostly French, about 15 % English (UK owners).
- Volumes: baseline about 50 Peugeot, 40 Renault and 30 Citroën mentions a day for four weeks; the
  outage peaks at about 110 mentions an hour (50 times the hourly baseline); all invented.
- Texts: baseline as in every scenario (real SemEval / DEFT / XED lines with the car word
  replaced, plus templates); every outage text is a template written for this project.
- Expectations: a critical `service_outage` alert for peugeot within 6 hours of the onset; nothing at
  warning or above for peugeot before it, nor for renault or citroen.
"""

_TAGS_FR = ("#Peugeot", "#MyPeugeot", "#panne", "#bug")
_SOC_FR = (
    "L'appli MyPeugeot est en panne ? Impossible de lancer le préchauffage de ma Peugeot {model} 🥶",
    "MyPeugeot ne fonctionne plus depuis ce matin, 'service indisponible' en boucle. Peugeot ???",
    "Peugeot, votre appli est down, je ne peux même pas voir la charge de ma e-208",
    "Bug général sur l'appli Peugeot ? Impossible de se connecter",
    "Panne des services connectés Peugeot, la programmation de charge n'a pas marché cette nuit, batterie à 20 %",
    "Ça fait 2 heures que l'appli Peugeot affiche une erreur, c'est une blague",
    "Appli Peugeot indisponible, pas de préchauffage, pare-brise gelé. Merci Peugeot",
    "Quelqu'un d'autre a l'appli Peugeot en panne ou c'est juste moi ?",
    "Peugeot ne communique pas sur la panne de l'appli, super le service client",
    "On paie des services connectés Peugeot pour ça ? Panne depuis ce matin",
    "Toujours en panne l'appli Peugeot... ça commence à faire long",
)
_SOC_EN = (
    "MyPeugeot app down this morning? Can't precondition the car. Peugeot please fix",
    "Is the Peugeot app not working for anyone else? Error every time",
    "Peugeot connected services outage, charge schedule didn't run overnight. Great",
    "Peugeot app has been down for hours, no update from them",
)

_OUTAGE = {
    "fr": talk("fr", tags=_TAGS_FR, social=_SOC_FR, news=(
        "Panne géante de l'application MyPeugeot || Depuis ce lundi matin, les clients Peugeot ne peuvent plus "
        "accéder aux services connectés de leur voiture.",
        "Peugeot : les services connectés en panne, les conducteurs de voitures électriques pénalisés || La "
        "programmation de charge et le préchauffage à distance sont indisponibles.",
        "Application Peugeot en panne : le constructeur évoque un incident technique || Aucune date de "
        "rétablissement n'a été donnée.",
    ), forum=("Appli Peugeot en panne ce matin ?", "Services connectés Peugeot indisponibles depuis 7 h"),
        support=("Peugeot Service Client : nous rencontrons actuellement un incident technique sur l'application "
                 "MyPeugeot. Nos équipes sont mobilisées, merci de votre patience.",
                 "Peugeot Service Client : bonjour, l'incident sur les services connectés est en cours de "
                 "résolution, nous revenons vers vous dès que possible."),
        review=("Appli Peugeot en panne une demi-journée, service client injoignable. 1 étoile.",),
        weights={"support": 0.05, "news": 0.08}),
    "en": talk("en", tags=("#Peugeot", "#MyPeugeot"), social=_SOC_EN, news=(
        "Peugeot app outage leaves drivers unable to use connected services || Owners report errors since the "
        "morning.",
    )),
}

_BACK = {
    "fr": talk("fr", tags=("#Peugeot",), social=(
        "L'appli Peugeot remarche enfin, il était temps",
        "Services connectés Peugeot rétablis, mais quelle journée",
        "Peugeot a réparé son appli, on attend des explications quand même",
        "MyPeugeot fonctionne de nouveau chez moi, merci Peugeot",
    ), news=("Peugeot : les services connectés rétablis après une journée de panne || Le constructeur présente "
             "ses excuses aux utilisateurs.",)),
    "en": talk("en", social=("Peugeot app is back up. Finally",)),
}

_RELAPSE = {
    "fr": talk("fr", tags=_TAGS_FR, social=(
        "Rebelote, l'appli Peugeot plante encore ce matin",
        "L'appli MyPeugeot de nouveau en panne ? Sérieusement Peugeot",
        "Impossible de se connecter à l'appli Peugeot, encore un bug",
    )),
}


def build() -> Built:
    shares = {"fr": 0.85, "en": 0.15}
    phases = (
        Phase(start=ONSET, peak=110, rise=1.3, half_life=7, voices=_OUTAGE, shares=shares, depth=0.3),
        Phase(start=utc("2024-11-18T15:40"), peak=25, rise=0.3, half_life=2, voices=_BACK, shares=shares),
        Phase(start=utc("2024-11-19T06:20"), peak=18, rise=0.5, half_life=1.5, voices=_RELAPSE,
              shares={"fr": 1.0}),
    )
    wires = (Wire(at=ONSET + hours(1.5), source="customer support", lang="fr",
                  text="Peugeot Service Client : un incident technique affecte actuellement l'application MyPeugeot "
                       "et les services connectés. Nos équipes travaillent à son rétablissement."),)
    records = compose(seed=20241118, start=START, end=END, slots=slots_for("peugeot"), phases=phases, wires=wires,
                      baselines=(Baseline(brand="peugeot", per_day=50, langs=shares),
                                 Baseline(brand="renault", per_day=40, langs={"fr": 0.8, "en": 0.2}),
                                 Baseline(brand="citroen", per_day=30, langs={"fr": 0.8, "en": 0.2})))
    return Built(
        name=NAME,
        description=("A fictional Monday-morning outage of the MyPeugeot app and connected services (no "
                     "pre-conditioning, no charge scheduling), fixed in the afternoon with a short relapse the "
                     "next day; a fast-onset service outage, mostly French."),
        kind="crisis", brand="peugeot", langs=("fr", "en"), onset=ONSET, crisis_type="service_outage",
        fast_onset=True, data="reconstructed",
        licences=(LICENCE_TEMPLATES, LICENCE_SEMEVAL, LICENCE_FRENCH),
        records=records,
        expect=(Rule(brand="peugeot", severity="critical", crisis_type="service_outage", start=ONSET,
                     until=ONSET + hours(6), note="fast onset: critical within the morning"),),
        forbid=(Rule(brand="peugeot", severity="warning", until=ONSET, note="nothing before the onset"),
                Rule(brand="renault", severity="warning", note="bystander"),
                Rule(brand="citroen", severity="warning", note="bystander")),
        provenance=PROVENANCE,
    )

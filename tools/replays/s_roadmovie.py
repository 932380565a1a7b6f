"""(b) viral_roadmovie_campaign: a harmless, positive spike around a co-created road movie."""

from __future__ import annotations

import numpy as np

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
from replays.talk import talk

NAME = "viral_roadmovie_campaign"
START, END = utc("2019-04-01T00:00"), utc("2019-05-27T00:00")
ONSET = utc("2019-04-29T08:00")

PROVENANCE = """
## Provenance

**Reconstructed**, fictional campaign over a **real-text** baseline.

- The campaign is invented for this fixture (no claim that Peugeot ran it): "Le Road Movie Peugeot"
  invites people to co-write and film the episodes of a road movie shot in a Peugeot 208, with a
  public vote on each next stage. It follows the usual shape of viral brand campaigns: launch with
  trade and general press (Apr 29 2019, 08:00 UTC, the labelled onset), a first user-made episode
  that goes viral two days later, weekly episode drops and votes, a premiere of the final cut.
- Tone: overwhelmingly positive or neutral, campaign vocabulary (campagne, pub, road movie,
  co-création, concours, vote, épisode, tournage, viral), about 10 % mildly negative ("encore une pub",
  "cringe") and a few jokes; no safety, outage or legal vocabulary beyond chance.
- Volumes: baseline about 45 Peugeot, 40 Renault and 25 Citroën mentions a day for four weeks with
  the Paris daily and weekly rhythm; campaign peaks of 60-160 mentions an hour (30-80 times the
  hourly baseline), decaying over days.
- Texts: baseline as in every scenario (real SemEval / DEFT / XED lines with the car word replaced,
  plus templates); every campaign text is a template written for this project.
- Expectations: no critical alert for any brand (an info or warning alert on Peugeot is acceptable);
  nothing at warning or above for Renault; nothing for Peugeot before the launch.
"""

_TAGS = ("#RoadMovie208", "#Peugeot", "#RoadMovie208 #Peugeot", "#cocréation")

_FR = talk("fr", tags=_TAGS, social=(
    "J'ai proposé une scène pour le road movie Peugeot, croisez les doigts 🤞",
    "Le road movie Peugeot est trop bien, l'épisode {ep} m'a fait rire aux larmes",
    "Votez pour la suite du road movie Peugeot ! Moi je veux qu'ils aillent à {place}",
    "La pub Peugeot où ce sont les gens qui écrivent le film, super idée",
    "Mon cousin a été choisi pour tourner dans le road movie Peugeot 😍",
    "Peugeot a eu une idée de génie avec ce road movie participatif",
    "Encore une pub Peugeot... bon ok celle-là est plutôt sympa",
    "L'épisode {ep} du road movie Peugeot est sorti, foncez !",
    "Je n'aurais jamais cru regarder une campagne de pub Peugeot en entier",
    "Le casting du road movie Peugeot à {city_fr} c'était génial",
    "Campagne Peugeot co-créée par les internautes : bravo à l'équipe",
    "Road movie Peugeot : un peu cringe mais on adore",
    "J'ai voté pour {place} dans le road movie Peugeot",
    "La 208 du road movie Peugeot traverse {place} aujourd'hui, on y va !",
), news=(
    "Peugeot lance un road movie co-écrit par les internautes || La marque propose au public d'écrire "
    "et de voter pour les épisodes d'un film tourné en 208.",
    "Campagne : le road movie participatif de Peugeot fait un carton || Le premier épisode réalisé par "
    "des internautes dépasse le million de vues.",
    "Le Road Movie Peugeot, une campagne virale qui fait parler || Les votes pour l'étape suivante "
    "s'envolent sur les réseaux sociaux.",
    "Publicité : Peugeot mise sur la co-création avec son road movie || Une campagne qui mise sur "
    "l'engagement plutôt que sur le spot télé.",
), video=(
    "Road Movie Peugeot - épisode {ep} (réalisé par les internautes)",
    "Dans les coulisses du tournage du road movie Peugeot",
), forum=(
    "Road movie Peugeot : vos pronostics pour l'épisode {ep} ?",
), weights={"social": 0.74, "news": 0.08, "video": 0.12, "forum": 0.06})

_EN = talk("en", tags=_TAGS, social=(
    "The Peugeot road movie where fans write the script is actually brilliant",
    "Voted for the next stop of the Peugeot road movie: {place}!",
    "Episode {ep} of the Peugeot road movie just dropped 🔥",
    "Peugeot letting people co-create their ad campaign is such a cool idea",
    "Not usually into car ads but this Peugeot road movie is fun",
    "My friend is in episode {ep} of the Peugeot road movie!!",
    "Peugeot road movie: a bit cringe but I'm hooked",
), news=(
    "Peugeot hands the script of its road movie campaign to fans || Viewers vote on each stage of a "
    "trip filmed in a 208.",
    "Peugeot's crowd-written road movie goes viral || The first fan-made episode passed a million views.",
), video=("Peugeot Road Movie - episode {ep} (fan made)",),
    weights={"social": 0.8, "news": 0.08, "video": 0.12})

SLOTS = slots_for("peugeot", ep=("1", "2", "3", "4"),
                  place=("Biarritz", "la Bretagne", "Marseille", "les Alpes", "Lisbonne", "Berlin", "Annecy"))


def build() -> Built:
    rng = np.random.default_rng(20190429)
    records = []
    for brand, per_day in (("peugeot", 45), ("renault", 40), ("citroen", 25)):
        records.extend(draw(chatter(brand, start=START, end=END, per_day=per_day,
                                    langs={"fr": 0.8, "en": 0.2}, tz="Europe/Paris"), rng))
    voices = {"fr": _FR, "en": _EN}
    shares = {"fr": 0.8, "en": 0.2}
    for start, peak, rise, half_life in (
        (ONSET, 60, 2, 8),
        (utc("2019-05-01T17:00"), 160, 6, 14),
        (utc("2019-05-08T17:00"), 100, 3, 10),
        (utc("2019-05-15T17:00"), 90, 3, 10),
        (utc("2019-05-22T18:00"), 130, 2, 12),
    ):
        records.extend(draw(burst(start=start, end=END, peak=peak, voices=voices, shares=shares, slots=SLOTS,
                                  rise=hours(rise), half_life=hours(half_life), floor=6,
                                  floor_half_life=days(2), depth=0.8, heat=4.0), rng))
    records.append(wire(ONSET, source="Le Figaro", lang="fr", slots=SLOTS, rng=rng,
                        text="Peugeot lance « Le Road Movie », une campagne écrite par le public || Chaque "
                             "semaine, les internautes votent pour la suite d'un film tourné en 208."))
    return Built(
        name=NAME,
        description=("A fictional viral campaign: people co-create a Peugeot road movie, with weekly "
                     "episodes and votes; a big positive spike over four quiet weeks (French and English)."),
        kind="harmless", brand="peugeot", langs=("fr", "en"), onset=ONSET, crisis_type="viral_campaign",
        fast_onset=False, data="reconstructed",
        licences=(LICENCE_TEMPLATES, LICENCE_SEMEVAL, LICENCE_FRENCH),
        records=records,
        forbid=(Rule(severity="critical", note="harmless: never critical, for any brand"),
                Rule(brand="renault", severity="warning", note="bystander brand stays quiet"),
                Rule(brand="peugeot", severity="warning", until=ONSET, note="nothing before the launch")),
        provenance=PROVENANCE,
    )

"""Harmless spikes from documented events: a product launch and a motor-sport win.

- renault5_launch_2024: the Renault 5 E-Tech electric unveiled at the Geneva motor show (Feb 26 2024);
- toyota_lemans_2018: Toyota's first 24 Hours of Le Mans win (June 16-17 2018).
"""

from __future__ import annotations

from replays.background import slots_for
from replays.recipe import Baseline, Phase, Wire, compose
from replays.scenario import LICENCE_FRENCH, LICENCE_SEMEVAL, LICENCE_TEMPLATES, Built, Rule, utc
from replays.talk import talk

_LAUNCH_ONSET = utc("2024-02-26T09:00")
_LEMANS_ONSET = utc("2018-06-16T13:00")

_PROV_LAUNCH = """
## Provenance

**Reconstructed** from the documented event, over a **real-text** baseline.

- Documented: Renault unveiled the production Renault 5 E-Tech electric at the Geneva International
  Motor Show press days on Feb 26 2024, with a starting price announced around EUR 25,000 and a
  retro design echoing the original R5; the reveal was widely covered in France and abroad. The hour
  is chosen (press conference in the morning, Geneva time): labelled onset **2024-02-26T09:00:00Z**.
- Shape: teasers the week before (small), a sharp launch-day spike led by the press and enthusiasts,
  a second wave when first reviews and videos arrive two days later, slow decay. Tone mostly positive
  (design, price, "enfin une petite électrique française"), some sceptics ("trop cher", "encore une
  électrique"), launch vocabulary (dévoile, lancement, salon de Genève, première mondiale, prix).
- Volumes: baseline about 45 Renault, 40 Peugeot and 25 Citroën mentions a day for four weeks; a peak
  of about 150 mentions an hour (invented, plausible). Every launch text is a template.
- Expectations: no critical alert for any brand (info or warning on Renault is acceptable); nothing at
  warning or above for Renault before the launch; nothing for Peugeot or Citroën.
"""

_PROV_LEMANS = """
## Provenance

**Reconstructed** from the documented event, over a **real-text** baseline.

- Documented: the 86th 24 Hours of Le Mans started on Sat June 16 2018 at 15:00 local time (13:00 UTC)
  and finished on Sunday at 15:00 local time; Toyota Gazoo Racing's #8 TS050 Hybrid (Fernando Alonso,
  Sébastien Buemi, Kazuki Nakajima) won, Toyota's first overall Le Mans win after two decades of
  attempts, with the #7 car second. Labelled onset: **2018-06-16T13:00:00Z** (race start).
- Shape: a build-up on Saturday morning, a spike at the start, sustained talk through the night
  (pit stops, a penalty, a spin, the sister car's fuel issue), a bigger spike at the finish and on
  Sunday evening, decay on Monday. Tone overwhelmingly positive, race vocabulary (course, pole, tour,
  victoire, podium, pilote, abandon), including words a naive detector may read as trouble: crash,
  accident, sortie de piste, pénalité (about other cars or minor incidents).
- Volumes: baseline about 40 Toyota (60 % French), 40 Peugeot and 35 Renault mentions a day for four
  weeks; peaks of 120-200 mentions an hour (invented, plausible). Every race text is a template.
- Expectations: no critical alert for any brand (an info or warning on Toyota is acceptable); nothing at
  warning or above for Toyota before the race weekend; nothing for Peugeot or Renault.
"""

_LAUNCH = {
    "fr": talk("fr", tags=("#Renault5", "#Renault", "#GIMS2024", "#R5"), social=(
        "La nouvelle Renault 5 électrique est magnifique, Renault a réussi son coup",
        "Renault dévoile la R5 E-Tech à Genève, le design rétro est top 😍",
        "25 000 € la Renault 5 électrique, enfin une petite électrique française abordable",
        "J'ai eu une R5 dans les années 80, la nouvelle Renault 5 me donne envie",
        "Renault 5 électrique : trop chère pour ce que c'est, non ?",
        "Encore une électrique... la Renault 5 est jolie mais bon",
        "Première mondiale de la Renault 5 au salon de Genève, quelle ambiance",
        "Commande passée pour la Renault 5 dès l'ouverture, hâte !",
        "La Renault 5 E-Tech, c'est la voiture de l'année d'avance",
        "Le lancement de la Renault 5 est une vraie réussite de com'",
    ), news=(
        "Renault dévoile la nouvelle R5 électrique au salon de Genève || La citadine rétro sera produite en "
        "France et vendue à partir d'environ 25 000 euros.",
        "Renault 5 E-Tech : prix, autonomie, date de sortie, tout savoir || La nouvelle R5 électrique a été "
        "présentée ce lundi à Genève.",
        "Salon de Genève : la Renault 5 électrique vole la vedette || Le constructeur mise sur la nostalgie.",
        "Essai Renault 5 E-Tech : premières impressions || Une citadine électrique agile et séduisante.",
    ), video=("Renault 5 E-Tech : la présentation en direct de Genève", "Nouvelle Renault 5 : premier contact"),
        forum=("Nouvelle Renault 5 électrique : vos avis ?", "Renault 5 E-Tech : qui a précommandé ?"),
        weights={"news": 0.15, "video": 0.06}),
    "en": talk("en", tags=("#Renault5", "#Renault", "#GIMS2024"), social=(
        "The new Renault 5 is gorgeous. Renault nailed it",
        "Renault 5 E-Tech revealed in Geneva, retro done right",
        "Renault 5 electric for around 25k euros? Sign me up",
        "Not sure about the new Renault 5 price but the design is great",
    ), news=(
        "Renault unveils retro Renault 5 electric car at Geneva || The small EV will start at about 25,000 "
        "euros, the company said.",
        "The Renault 5 is back as an affordable EV || Renault's reveal was the star of the Geneva show.",
    ), video=("Renault 5 E-Tech reveal - first look",)),
}

_TEASE = {"fr": talk("fr", tags=("#Renault5",), social=(
    "Plus que quelques jours avant la Renault 5 électrique, Renault fait monter la sauce",
    "Le teaser Renault 5 est sorti, vivement Genève",
), news=("Renault 5 électrique : le constructeur publie un dernier teaser avant Genève || La présentation est "
         "prévue le 26 février.",))}

_RACE = {
    "fr": talk("fr", tags=("#LM24", "#Toyota", "#24hLeMans", "#TS050"), social=(
        "Allez Toyota ! Départ des 24 Heures du Mans, c'est parti",
        "Toyota en tête après la première heure au Mans, Alonso au volant bientôt",
        "La Toyota n°8 va enfin gagner Le Mans ?",
        "Pénalité pour la Toyota n°8, ça se resserre",
        "Nuit au Mans, les deux Toyota toujours devant, quel rythme",
        "Petite sortie de piste pour la Toyota n°7, rien de grave",
        "Gros crash d'une LMP2 au Mans, les Toyota passent sans encombre",
        "Toyota gagne enfin les 24 Heures du Mans !!! Bravo Buemi, Nakajima, Alonso 🏆",
        "Doublé Toyota au Mans, historique",
        "Après tant d'années de malchance, Toyota remporte Le Mans, j'en ai des frissons",
        "Alonso vainqueur au Mans avec Toyota, il lui manque Indianapolis",
        "Toyota a gagné mais sans concurrence en LMP1, ça compte quand même ?",
    ), news=(
        "24 Heures du Mans : Toyota s'impose enfin || La Toyota n°8 de Buemi, Nakajima et Alonso remporte la "
        "course devant la n°7.",
        "Le Mans : Toyota en tête à mi-course || Les deux TS050 Hybrid dominent après 12 heures.",
        "Toyota signe un doublé historique au Mans || Le constructeur japonais décroche sa première victoire.",
    ), video=("24 Heures du Mans 2018 : le dernier tour de la Toyota n°8",), forum=(
        "24h du Mans 2018 - le direct : Toyota peut-elle enfin gagner ?",),
        weights={"news": 0.12, "video": 0.05}),
    "en": talk("en", tags=("#LM24", "#Toyota", "#LeMans"), social=(
        "Toyota finally wins Le Mans! Congrats Alonso, Buemi, Nakajima",
        "Toyota 1-2 at Le Mans, what a moment",
        "Toyota leading Le Mans overnight, no drama so far",
        "Toyota #7 had a scary moment but kept going, fuel issue earlier",
        "After years of heartbreak Toyota wins the 24 Hours of Le Mans",
        "Toyota won but with no real LMP1 rivals. Still counts",
    ), news=(
        "Toyota wins Le Mans 24 Hours for the first time || Fernando Alonso, Sebastien Buemi and Kazuki Nakajima "
        "led a Toyota one-two.",
        "Alonso and Toyota lead Le Mans at halfway || The two Toyota hybrids dominate the race.",
    ), video=("Le Mans 2018 highlights: Toyota's first win",)),
}

_BUILDUP = {"fr": talk("fr", tags=("#LM24", "#Toyota"), social=(
    "Les Toyota en pole au Mans, la victoire cette année ?",
    "Qualifs du Mans : Toyota devant, Alonso impressionnant",
), news=("Le Mans : Toyota en pole position || Les deux TS050 Hybrid partiront en tête.",))}


def build_launch() -> Built:
    shares = {"fr": 0.75, "en": 0.25}
    phases = (
        Phase(start=utc("2024-02-21T09:00"), peak=6, rise=2, half_life=24, voices=_TEASE, shares={"fr": 1.0}),
        Phase(start=_LAUNCH_ONSET, peak=150, rise=0.8, half_life=6, floor=10, floor_days=3, voices=_LAUNCH,
              shares=shares, heat=4.0),
        Phase(start=utc("2024-02-28T07:00"), peak=45, rise=2, half_life=8, voices=_LAUNCH, shares=shares),
    )
    wires = (Wire(at=_LAUNCH_ONSET, source="AFP", lang="fr",
                  text="Renault dévoile la Renault 5 électrique au salon de Genève || La citadine sera assemblée "
                       "dans le nord de la France."),)
    records = compose(seed=20240226, start=utc("2024-01-29T00:00"), end=utc("2024-03-11T00:00"),
                      slots=slots_for("renault"), phases=phases, wires=wires, baselines=(
                          Baseline(brand="renault", per_day=45, langs={"fr": 0.8, "en": 0.2}),
                          Baseline(brand="peugeot", per_day=40, langs={"fr": 0.8, "en": 0.2}),
                          Baseline(brand="citroen", per_day=25, langs={"fr": 0.8, "en": 0.2})))
    return Built(
        name="renault5_launch_2024",
        description=("The Renault 5 E-Tech electric unveiled at the Geneva motor show on Feb 26 2024: teasers, a "
                     "sharp, mostly positive launch-day spike and a second wave of reviews; French and English."),
        kind="harmless", brand="renault", langs=("fr", "en"), onset=_LAUNCH_ONSET, crisis_type="product_launch",
        fast_onset=True, data="reconstructed",
        licences=(LICENCE_TEMPLATES, LICENCE_SEMEVAL, LICENCE_FRENCH),
        records=records,
        forbid=(Rule(severity="critical", note="harmless: never critical, for any brand"),
                Rule(brand="renault", severity="warning", until=utc("2024-02-21T00:00"),
                     note="nothing before the teasers"),
                Rule(brand="peugeot", severity="warning", note="bystander"),
                Rule(brand="citroen", severity="warning", note="bystander")),
        provenance=_PROV_LAUNCH,
    )


def build_lemans() -> Built:
    shares = {"fr": 0.6, "en": 0.4}
    phases = (
        Phase(start=utc("2018-06-14T18:00"), peak=8, rise=2, half_life=20, voices=_BUILDUP, shares={"fr": 1.0}),
        Phase(start=_LEMANS_ONSET, peak=120, rise=0.5, half_life=4, floor=35, floor_days=0.6, voices=_RACE,
              shares=shares, depth=0.2, heat=4.0),
        Phase(start=utc("2018-06-17T12:30"), peak=200, rise=0.6, half_life=5, floor=10, floor_days=1.5,
              voices=_RACE, shares=shares, depth=0.2, heat=5.0),
    )
    records = compose(seed=20180616, start=utc("2018-05-19T00:00"), end=utc("2018-06-25T00:00"),
                      slots=slots_for("toyota"), phases=phases, baselines=(
                          Baseline(brand="toyota", per_day=40, langs={"fr": 0.6, "en": 0.4}),
                          Baseline(brand="peugeot", per_day=40, langs={"fr": 0.8, "en": 0.2}),
                          Baseline(brand="renault", per_day=35, langs={"fr": 0.8, "en": 0.2})))
    return Built(
        name="toyota_lemans_2018",
        description=("Toyota's first 24 Hours of Le Mans win (June 16-17 2018, Alonso / Buemi / Nakajima): a "
                     "sports-event spike at the start and the finish, positive, with racing words such as "
                     "crash or penalty; French and English."),
        kind="harmless", brand="toyota", langs=("fr", "en"), onset=_LEMANS_ONSET, crisis_type="event",
        fast_onset=True, data="reconstructed",
        licences=(LICENCE_TEMPLATES, LICENCE_SEMEVAL, LICENCE_FRENCH),
        records=records,
        forbid=(Rule(severity="critical", note="harmless: never critical, for any brand"),
                Rule(brand="toyota", severity="warning", until=utc("2018-06-14T00:00"),
                     note="nothing before the race week"),
                Rule(brand="peugeot", severity="warning", note="bystander"),
                Rule(brand="renault", severity="warning", note="bystander")),
        provenance=_PROV_LEMANS,
    )

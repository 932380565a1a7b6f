"""volkswagen_data_breach_2021: a vendor's exposure of customer data, a slow-onset data breach."""

from __future__ import annotations

from replays.background import slots_for
from replays.recipe import Baseline, Phase, Wire, compose
from replays.scenario import LICENCE_FRENCH, LICENCE_SEMEVAL, LICENCE_TEMPLATES, Built, Rule, days, utc
from replays.talk import talk

NAME = "volkswagen_data_breach_2021"
START, END = utc("2021-05-10T00:00"), utc("2021-06-28T00:00")
ONSET = utc("2021-06-11T14:00")

PROVENANCE = """
## Provenance

**Reconstructed** from the documented disclosure, over a **real-text** baseline.

- Documented facts (June 2021): Volkswagen Group of America disclosed that a marketing vendor had left
  customer and prospect data unsecured between August 2019 and May 2021, affecting about 3.3 million
  people in the US and Canada, mostly Audi customers; for about 90,000 of them sensitive data (such as
  driver's licence numbers) were exposed. Notification letters were filed with US state attorneys
  general (Maine among them) and the news spread on June 11 2021 through the tech press, then general
  media; class actions followed within days.
- Onset label: **2021-06-11T14:00:00Z** (reconstructed hour: the filing becoming public and the first
  tech-press story). **Slow onset**: a trickle of tech press and security people at first, growing over
  the afternoon and the next days as general media and worried customers join in.
- Vocabulary: data breach, leak, exposed, hack, personal data, driver's licence numbers, class action,
  fuite de données, piratage, données personnelles; negative and worried; English with French pickup.
- Volumes: baseline about 50 Volkswagen (60 % English), 35 Peugeot and 30 Renault mentions a day for
  4.5 weeks; peaks of 15-60 mentions an hour (invented, plausible). Every incident text is a template
  written for this project.
- Expectations: a critical `data_breach` alert for volkswagen within three days of the onset; nothing
  at warning or above for volkswagen before it, nor for peugeot or renault.
"""

_TAGS_EN = ("#databreach", "#Volkswagen", "#infosec", "#privacy", "#Audi")
_SOC_EN = (
    "Volkswagen data breach: 3.3 million customers' personal data exposed by a vendor. Great",
    "Just got the Volkswagen letter, my driver's license number was in the leak",
    "Another data breach, this time Volkswagen and Audi customers. Who leaves data unsecured for two years?",
    "Volkswagen says a vendor exposed customer data from 2019 to 2021. Two years!",
    "If you ever asked Volkswagen or Audi for a quote, your data might be in this breach",
    "Volkswagen breach: time to freeze your credit",
    "Class action against Volkswagen over the data leak already. Of course",
    "Volkswagen and Audi customer data leaked, hackers selling it online?",
    "How do you expose 3.3 million people's data and only tell them now, Volkswagen?",
)
_SOC_FR = (
    "Fuite de données chez Volkswagen aux Etats-Unis, 3,3 millions de clients concernés",
    "Volkswagen : des données personnelles de clients exposées pendant deux ans, inquiétant",
    "Piratage ou négligence ? La fuite de données Volkswagen fait mal",
)

_FIRST = {"en": talk("en", tags=_TAGS_EN, social=_SOC_EN[:5], news=(
    "Volkswagen says vendor exposed data of 3.3 million customers || The information, mostly about Audi "
    "customers and prospects in the US and Canada, was left unsecured between 2019 and 2021.",
    "Volkswagen, Audi disclose data breach affecting over 3.3 million customers || About 90,000 had "
    "sensitive information such as driver's license numbers exposed.",
), weights={"social": 0.55, "news": 0.45}, news_sources=("TechCrunch", "The Verge", "Reuters"))}

_SPREAD = {
    "en": talk("en", tags=_TAGS_EN, social=_SOC_EN, news=(
        "Volkswagen data breach: what customers should do || Owners and prospects are advised to watch for "
        "phishing and consider a credit freeze.",
        "Volkswagen faces class action over vendor data breach || The lawsuit says the company failed to "
        "protect personal information.",
        "Volkswagen breach exposed driver's license numbers of 90,000 people || The company is offering "
        "credit protection services.",
    ), forum=("Got the Volkswagen data breach letter - anyone else?",
              "Volkswagen / Audi breach: is my VIN and address out there?"),
        blog=("Inside the Volkswagen vendor data breach",),
        support=("Volkswagen Customer Care: we are notifying affected customers by mail; please see our "
                 "data incident page for details.",),
        weights={"support": 0.03}),
    "fr": talk("fr", tags=("#Volkswagen", "#cybersécurité"), social=_SOC_FR, news=(
        "Volkswagen victime d'une fuite de données de 3,3 millions de clients en Amérique du Nord || Un "
        "prestataire a laissé les informations accessibles pendant près de deux ans.",
    )),
}


def build() -> Built:
    shares = {"en": 0.8, "fr": 0.2}
    phases = (
        Phase(start=ONSET, peak=14, rise=4, half_life=10, voices=_FIRST, shares={"en": 1.0}),
        Phase(start=utc("2021-06-11T19:00"), peak=22, rise=5, half_life=10, voices=_SPREAD, shares=shares),
        Phase(start=utc("2021-06-12T13:00"), peak=45, rise=4, half_life=12, floor=6, floor_days=3,
              voices=_SPREAD, shares=shares),
        Phase(start=utc("2021-06-14T14:00"), peak=60, rise=2, half_life=10, floor=6, floor_days=3,
              voices=_SPREAD, shares=shares),
    )
    wires = (Wire(at=ONSET, source="Maine Attorney General", lang="en",
                  text="Data breach notification: Volkswagen Group of America || A third-party vendor left "
                       "electronic data unsecured between August 2019 and May 2021; information of Volkswagen and "
                       "Audi customers and interested buyers may have been obtained by an unauthorized party."),)
    records = compose(seed=20210611, start=START, end=END, slots=slots_for("volkswagen"), phases=phases,
                      wires=wires, baselines=(
                          Baseline(brand="volkswagen", per_day=30, langs={"en": 1.0}, tz="America/New_York"),
                          Baseline(brand="volkswagen", per_day=20, langs={"fr": 1.0}),
                          Baseline(brand="peugeot", per_day=35, langs={"fr": 0.8, "en": 0.2}),
                          Baseline(brand="renault", per_day=30, langs={"fr": 0.8, "en": 0.2})))
    return Built(
        name=NAME,
        description=("Volkswagen Group of America's June 2021 disclosure that a vendor exposed data of 3.3 "
                     "million customers: tech press first, then general media, worried customers and class "
                     "actions; a slow-onset data breach in English with French pickup."),
        kind="crisis", brand="volkswagen", langs=("en", "fr"), onset=ONSET, crisis_type="data_breach",
        fast_onset=False, data="reconstructed",
        licences=(LICENCE_TEMPLATES, LICENCE_SEMEVAL, LICENCE_FRENCH),
        records=records,
        expect=(Rule(brand="volkswagen", severity="critical", crisis_type="data_breach", start=ONSET,
                     until=ONSET + days(3), note="critical as the story spreads"),),
        forbid=(Rule(brand="volkswagen", severity="warning", until=ONSET, note="nothing before the onset"),
                Rule(brand="peugeot", severity="warning", note="bystander"),
                Rule(brand="renault", severity="warning", note="bystander")),
        provenance=PROVENANCE,
    )

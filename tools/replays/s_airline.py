"""citroen_customer_service_storm: real airline complaint tweets recast as a carmaker's
customer-service and booking-system meltdown (a slow-onset service-outage crisis)."""

from __future__ import annotations

import re
from datetime import UTC, timedelta
from typing import Any

import numpy as np

from replays.background import chatter, slots_for
from replays.engine import fill, record
from replays.pools import AirlineTweet, airline_tweets
from replays.scenario import LICENCE_FRENCH, LICENCE_SEMEVAL, LICENCE_TEMPLATES, Built, Rule, days, draw, utc
from replays.sources import SOURCES

NAME = "citroen_customer_service_storm"
START, END = utc("2015-01-19T00:00"), utc("2015-02-25T00:00")
ONSET = utc("2015-02-17T11:00")
RAMP = timedelta(hours=30)

LICENCE_AIRLINE = ("Twitter US Airline Sentiment (Crowdflower 'Data for Everyone', Kaggle): CC BY-NC-SA 4.0, "
                   "non-commercial and share-alike; the mentions of this scenario derived from it (time "
                   "stamps, polarity, reasons and the reused texts) carry the same licence: evaluation and "
                   "replay only, never for training a shipped model; tweet texts also under Twitter/X terms")

PROVENANCE = """
## Provenance

**Mixed**: real time stamps, polarity and complaint reasons; texts real where they fit a carmaker,
reconstructed otherwise; a reconstructed quiet baseline before them.

- Real part: every tweet addressed to **US Airways** in the *Twitter US Airline Sentiment* dataset
  (`/work/shared/datasets/airline_tweets/Tweets.csv`, Feb 17-24 2015, 2,913 tweets after removing
  duplicate ids): its exact time stamp, its sentiment label and its negative reason (Customer
  Service Issue, Late Flight, Cancelled Flight, Lost Luggage, Flight Booking Problems, ...). The
  week is a real customer-service storm: 78 % negative, with a second surge on Feb 22-23.
- Recasting: the incident becomes a **fictional** Citroën customer-service and booking-system
  meltdown. A real tweet keeps its **own text** (with `@USAirways` replaced by `@Citroen` and other
  airline handles removed) when it contains no aviation word (flight, plane, gate, bag, seat,
  airport, crew, miles, travel, weather, ...): about a third of them ("on hold for 2 hours",
  "nobody answers DMs", "thank you for sorting it out"). The others get a **template** written for
  this project that keeps their polarity and maps their reason: Cancelled Flight -> cancelled
  service appointment, Late Flight -> delayed delivery or repair, Flight Booking Problems -> online
  booking system / app down, Lost or Damaged Luggage -> lost keys or parts, damaged car, Customer
  Service Issue -> unreachable call centre, and so on; about a third of the reconstructed
  complaints mention the booking system or app being down.
- Onset: the dataset starts on **2015-02-17T11:14Z**. To give the storm a slow onset instead of a
  step created by the collection start, real tweets of the first 30 hours are kept with a
  probability rising linearly from 10 % to 100 % (seeded); all later tweets are kept. Onset label:
  **2015-02-17T11:00:00Z**. Before it, four weeks of reconstructed baseline (about 30 Citroën, 30
  Peugeot and 30 Renault mentions a day; Citroën in English with a US daily rhythm).
- Expectations: a critical `service_outage` alert for citroen within three days of the onset;
  nothing at warning or above for citroen before it, nor for peugeot or renault at any time.
"""

_AVIATION = re.compile(
    r"fl(y|ight|ew|ying|t\b)|plane|gate|\bbags?\b|luggage|pilot|airport|seat|board|crew|attendant|airline|"
    r"miles|aircraft|take ?off|\bland|\bjet|terminal|\btsa\b|layover|connect|us ?air|american|\baa\b|dividend|"
    r"phl|clt|dca|lga|jfk|dfw|travel|trip|snow|weather|storm|tix|ticket|reservation|itinerar|rebook|standby|"
    r"lavatory|cabin|runway|depart|arriv|destination|vacation|charlotte|philly|dallas|phoenix|miami|upgrade|"
    r"elite|dividend|mile|cheapoair|delta|united|southwest|jetblue|virgin|hotel|voucher|passenger|tarmac",
    re.I)
_AIRLINE_HANDLES = re.compile(r"@(USAirways|AmericanAir|united|SouthwestAir|JetBlue|VirginAmerica|Delta)\b", re.I)

_BY_REASON = {
    "Customer Service Issue": (
        "@Citroen on hold for {mins} minutes and still no one. Your customer service is a joke",
        "@Citroen I have called {k} times about my {model} and nobody calls back",
        "@Citroen your call centre hung up on me again. Unacceptable",
        "@Citroen the chat says 'an advisor will be with you shortly' since this morning",
        "Citroën customer service is a disaster this week, no answer anywhere",
    ),
    "Late Flight": (
        "@Citroen my new {model} was due last week, now 'delayed until further notice'?",
        "@Citroen 3 hours waiting at the dealer for a 40 minute service. Seriously",
        "@Citroen repair on my {model} delayed again because 'the system is down'",
    ),
    "Cancelled Flight": (
        "@Citroen you cancelled my service appointment the day before, again",
        "@Citroen booking system down, my appointment vanished. What now?",
        "@Citroen your dealer cancelled my {model} handover because their system crashed",
    ),
    "Flight Booking Problems": (
        "@Citroen your online booking system has been down all day, can't book a service",
        "The Citroën app is not working, can't book anything. Outage?",
        "@Citroen website down again? 'service unavailable' every time I try to book",
        "@Citroen MyCitroen app keeps crashing when I book a slot",
    ),
    "Lost Luggage": (
        "@Citroen the dealer lost the spare key of my {model}. How?",
        "@Citroen ordered part for my {model} lost in your system, start again they say",
    ),
    "Damaged Luggage": ("@Citroen dealer scratched my {model} during the service and denies it",),
    "Bad Flight": (
        "@Citroen the courtesy car you gave me was filthy and the fuel light was on",
        "@Citroen collected my {model} after service, the noise is still there",
    ),
    "Flight Attendant Complaints": (
        "@Citroen the staff at your dealership were so rude today",
        "@Citroen service advisor laughed when I asked about my warranty",
    ),
    "longlines": ("@Citroen the queue at the service desk is insane, system down they say",),
    "Can't Tell": (
        "@Citroen really disappointed. Again.",
        "Done with Citroën after this week",
        "@Citroen you have lost a customer",
    ),
    "neutral": (
        "@Citroen can you DM me about my order for a {model}?",
        "@Citroen is the booking website back up?",
        "@Citroen what's the number for roadside assistance?",
        "@Citroen following up on case {case}",
    ),
    "positive": (
        "@Citroen thanks for sorting it out, finally!",
        "@Citroen great help from your advisor today, thank you",
        "@Citroen appointment rebooked, thanks for the quick reply",
    ),
}
_SLOTS = slots_for("citroen", mins=("45", "60", "90", "120", "150"), k=("3", "4", "5", "6"),
                   case=("#48213", "#50977", "#51244", "#49902", "#53310"))


def real_text(tweet: AirlineTweet) -> str | None:
    """The tweet's own words addressed to @Citroen, when nothing in them is about flying."""
    body = _AIRLINE_HANDLES.sub("", tweet.text).strip()
    if _AVIATION.search(body) or len(body) < 12:
        return None
    handle_first = tweet.text.lstrip().lower().startswith("@usairways")
    return f"@Citroen {body}" if handle_first else f"{body} @Citroen"


def _text(tweet: AirlineTweet, rng: np.random.Generator) -> str:
    own = real_text(tweet)
    if own is not None:
        return own
    key = tweet.reason if tweet.sentiment == "negative" and tweet.reason else tweet.sentiment
    choices = _BY_REASON.get(key, _BY_REASON["Can't Tell"])
    return fill(choices[int(rng.integers(len(choices)))], _SLOTS, rng)


def _storm(rng: np.random.Generator) -> list[dict[str, Any]]:
    out = []
    twitter = SOURCES["twitter"]
    for tweet in airline_tweets("US Airways"):
        at = tweet.at.astimezone(UTC)
        since = at - ONSET
        keep = 0.1 + 0.9 * min(1.0, max(0.0, since / RAMP))
        if rng.random() >= keep:
            continue
        rec = record(at=at, text=_text(tweet, rng), source=twitter, lang="en", rng=rng, heat=2.0)
        rec["engagement"] = int(rec["engagement"]) + tweet.retweets
        out.append(rec)
    return out


def build() -> Built:
    rng = np.random.default_rng(20150217)
    records = []
    for brand, per_day, langs, tz in (
        ("citroen", 30, {"en": 1.0}, "America/New_York"),
        ("peugeot", 30, {"fr": 0.8, "en": 0.2}, "Europe/Paris"),
        ("renault", 30, {"fr": 0.8, "en": 0.2}, "Europe/Paris"),
    ):
        records.extend(draw(chatter(brand, start=START, end=END, per_day=per_day, langs=langs, tz=tz), rng))
    records.extend(_storm(rng))
    return Built(
        name=NAME,
        description=("Real US Airways complaint tweets of Feb 17-24 2015 (time stamps, polarity, reasons, "
                     "texts where they fit) recast as a fictional Citroën customer-service and booking-system "
                     "meltdown; a slow-onset service crisis in English after four quiet weeks."),
        kind="crisis", brand="citroen", langs=("en",), onset=ONSET, crisis_type="service_outage",
        fast_onset=False, data="mixed",
        licences=(LICENCE_AIRLINE, LICENCE_TEMPLATES, LICENCE_SEMEVAL, LICENCE_FRENCH),
        records=records,
        expect=(Rule(brand="citroen", severity="critical", crisis_type="service_outage", start=ONSET,
                     until=ONSET + days(3), note="the storm reaches critical"),),
        forbid=(Rule(brand="citroen", severity="warning", until=ONSET, note="nothing before the onset"),
                Rule(brand="peugeot", severity="warning", note="bystander"),
                Rule(brand="renault", severity="warning", note="bystander")),
        provenance=PROVENANCE,
    )

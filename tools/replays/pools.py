"""Real texts and time stamps read from /work/shared/datasets (the builder's only input data).

Texts become templates: braces are escaped and the car a tweet talks about becomes ``{Brand}``
("sold my car on Saturday" -> "sold my {Brand} on Saturday"), so real chatter names the brand.
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from pathlib import Path

from replays.engine import escape

SHARED = Path("/work/shared/datasets")

# Words that would turn harmless chatter into an accident or a crime story about a real brand.
_GRIM = re.compile(r"\b(crash\w*|accident\w*|died|dead|death|kill\w*|wreck\w*|manslaughter|stolen|"
                   r"volée?s?|tué\w*|mort\w*|fils de pute|rape|gun|cop|pot|nigg\w*|bitch\w*|fuck\w*|redneck)\b", re.I)
_EN_CAR = re.compile(r"\b(my|the|his|her|our|your|new|a|old|their|this|that) (car|truck|suv)\b", re.I)
_EN_BRANDS = re.compile(r"\b(honda|nissan|mazda|hyundai|kia|chevy|chevrolet|subaru|audi|bmw|toyota|volvo|jeep)\b",
                        re.I)
_FR_CAR = re.compile(r"\b(ma|sa|ta|la|une|notre|votre|leur|nouvelle|vieille|cette) (voiture|bagnole|auto)\b",
                     re.I)
_OURS = re.compile(r"peugeot|renault|citro[eë]n|volkswagen|toyota", re.I)


@dataclass(frozen=True, kw_only=True, slots=True)
class Chatter:
    """A real text turned into a template naming ``{Brand}``, with its dataset polarity."""

    template: str
    label: str
    origin: str


def _unquote(text: str) -> str:
    text = " ".join(text.split())
    while len(text) > 2 and text[0] == text[-1] == '"':
        text = text[1:-1].strip()
    return text.replace('""', '"')


def _brandify_en(text: str) -> str | None:
    text = _unquote(text)
    if _GRIM.search(text):
        return None
    body = escape(text)
    if _EN_CAR.search(body):
        return _EN_CAR.sub(lambda m: f"{m.group(1)} {{Brand}}", body, count=1)
    if _EN_BRANDS.search(body) and not _OURS.search(body):
        return _EN_BRANDS.sub("{Brand}", body)
    return None


def _brandify_fr(text: str) -> str | None:
    text = _unquote(text)
    if _GRIM.search(text) or "caisse d" in text.lower():
        return None
    body = escape(text)
    if _FR_CAR.search(body):
        return _FR_CAR.sub(lambda m: f"{m.group(1)} {{Brand}}", body, count=1)
    return None


@cache
def english_chatter() -> tuple[Chatter, ...]:
    """SemEval 2013-2016 tweets about someone's car (Twitter terms), brand substituted."""
    out = []
    path = SHARED / "semeval2017_task4a_en" / "semeval2013_2016_subtaskA_en_dedup.tsv"
    with path.open(encoding="utf-8", newline="") as fh:
        for row in csv.DictReader(fh, delimiter="\t"):
            template = _brandify_en(" ".join(row["text"].split()))
            if template and "{Brand}" in template:
                out.append(Chatter(template=template, label=row["label"], origin=f"semeval:{row['tweet_id']}"))
    return tuple(out)


@cache
def french_chatter() -> tuple[Chatter, ...]:
    """French lines about a car: DEFT 2017 tweets (CeCILL) and XED subtitles (CC BY 4.0)."""
    out = []
    deft = SHARED / "deft2017_fr" / "deft2017_task1_fr.tsv"
    with deft.open(encoding="utf-8", newline="") as fh:
        for row in csv.DictReader(fh, delimiter="\t"):
            template = _brandify_fr(" ".join(row["text"].split()))
            if template and row["label"] != "mixed":
                out.append(Chatter(template=template, label=row["label"], origin=f"deft2017:{row['deft_id']}"))
    xed = SHARED / "xed_fr_emotion2sentiment" / "xed_fr_sentiment.tsv"
    with xed.open(encoding="utf-8", newline="") as fh:
        for i, row in enumerate(csv.DictReader(fh, delimiter="\t")):
            template = _brandify_fr(" ".join(row["text"].split()))
            if template:
                out.append(Chatter(template=template, label=row["label"], origin=f"xed_fr:{i}"))
    return tuple(out)


@dataclass(frozen=True, kw_only=True, slots=True)
class AirlineTweet:
    tweet_id: str
    at: datetime
    sentiment: str
    reason: str
    text: str
    retweets: int


@cache
def airline_tweets(airline: str) -> tuple[AirlineTweet, ...]:
    """Tweets addressed to one airline (CC BY-NC-SA 4.0), deduplicated on tweet id, in time order."""
    seen: set[str] = set()
    out = []
    with (SHARED / "airline_tweets" / "Tweets.csv").open(encoding="utf-8", newline="") as fh:
        for row in csv.DictReader(fh):
            if row["airline"] != airline or row["tweet_id"] in seen:
                continue
            seen.add(row["tweet_id"])
            out.append(AirlineTweet(
                tweet_id=row["tweet_id"],
                at=datetime.strptime(row["tweet_created"], "%Y-%m-%d %H:%M:%S %z"),
                sentiment=row["airline_sentiment"], reason=row["negativereason"],
                text=" ".join(row["text"].split()), retweets=int(row["retweet_count"] or 0)))
    return tuple(sorted(out, key=lambda t: (t.at, t.tweet_id)))


@dataclass(frozen=True, kw_only=True, slots=True)
class CrisisTweet:
    tweet_id: str
    at: datetime
    text: str | None
    informativeness: str | None
    source_label: str | None


@cache
def crisislex(event: str) -> tuple[CrisisTweet, ...]:
    """Every keyword-matched tweet (``Included = Y``) of a CrisisLexT26 event, with its text when
    the labelled sample has it (repository MIT; Twitter terms apply to texts)."""
    folder = SHARED / "crisislex_t26" / event
    labelled: dict[str, tuple[str, str, str]] = {}
    with (folder / f"{event}-tweets_labeled.csv").open(encoding="utf-8", newline="") as fh:
        reader = csv.reader(fh)
        next(reader)
        for row in reader:
            labelled[row[0].strip()] = (" ".join(row[1].split()), row[2].strip(), row[4].strip())
    out = []
    with (folder / f"{event}-tweetids_entire_period.csv").open(encoding="utf-8", newline="") as fh:
        reader = csv.reader(fh, skipinitialspace=True)
        next(reader)
        for stamp, tweet_id, included in reader:
            if included.strip() != "Y":
                continue
            text, source_label, info = labelled.get(tweet_id.strip(), (None, None, None))
            out.append(CrisisTweet(tweet_id=tweet_id.strip(),
                                   at=datetime.strptime(stamp, "%a %b %d %H:%M:%S %z %Y"),
                                   text=text, informativeness=info, source_label=source_label))
    return tuple(sorted(out, key=lambda t: (t.at, t.tweet_id)))

"""Ordinary chatter about a brand: the quiet baseline every scenario stands on.

Real texts first (SemEval / DEFT / XED lines about someone's car, brand substituted), then
templates written for this project (complaints, compliments, questions, dealer and sales news,
forum threads, reviews) so that the French side, where real car chatter is scarce, is not a loop of
twenty lines. Polarity mix of the baseline: about 20 % negative, 45 % neutral, 35 % positive.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime

from replays.engine import Stream, Voice
from replays.pools import Chatter, english_chatter, french_chatter
from replays.rhythm import constant, rhythmic

BRAND_NAMES = {"toyota": "Toyota", "peugeot": "Peugeot", "renault": "Renault", "citroen": "Citroën",
               "volkswagen": "Volkswagen"}

MODELS = {
    "toyota": ("Corolla", "Yaris", "RAV4", "Prius", "Camry", "Auris", "Aygo", "Hilux"),
    "peugeot": ("208", "308", "3008", "2008", "5008", "508", "207", "107"),
    "renault": ("Clio", "Mégane", "Captur", "Twingo", "Scénic", "Zoe", "Kangoo", "Laguna"),
    "citroen": ("C3", "C4", "C1", "Berlingo", "C5", "C4 Picasso", "C3 Aircross"),
    "volkswagen": ("Golf", "Polo", "Passat", "Tiguan", "Jetta", "Touran", "T-Roc"),
}

CITIES_EN = ("Leeds", "Bristol", "Houston", "Denver", "Austin", "Seattle", "Toronto", "Manchester",
             "Phoenix", "Dublin")
CITIES_FR = ("Lyon", "Nantes", "Lille", "Rennes", "Bordeaux", "Toulouse", "Dijon", "Reims", "Tours",
             "Grenoble", "Mulhouse", "Angers")


def slots_for(brand: str, **extra: Sequence[str]) -> dict[str, Sequence[str]]:
    slots: dict[str, Sequence[str]] = {
        "Brand": (BRAND_NAMES[brand],),
        "tag": (f"#{BRAND_NAMES[brand].replace('ë', 'e')}",),
        "model": MODELS[brand],
        "city_en": CITIES_EN,
        "city_fr": CITIES_FR,
        "n": ("12,000", "40 000", "85,000", "120 000", "150,000", "200 000", "3 000", "60,000"),
        "days": ("2", "3", "5", "10", "15"),
    }
    slots.update(extra)
    return slots


EN = {
    "neg": (
        "Third visit to the {Brand} dealer this month and the {model} still makes that rattle",
        "Waiting {days} weeks for a part for my {Brand} {model}. Not impressed.",
        "{Brand} customer care still hasn't called me back about my {model}",
        "Why is a basic service on a {Brand} {model} so expensive??",
        "The sat nav in my {Brand} {model} is honestly useless",
        "{Brand} dealer in {city_en} quoted me a silly price for new tyres. No thanks",
        "My {Brand} {model} drinks way more fuel than the brochure said",
        "Rear seats in the {Brand} {model} are so uncomfortable on long drives",
    ),
    "neu": (
        "Anyone here drive a {Brand} {model}? Thinking about getting one",
        "{Brand} {model} or a used estate, what would you do?",
        "Picking up the {Brand} from the garage at 5",
        "Booked the {model} in for its {n} mile service at {Brand} {city_en}",
        "Is the {Brand} {model} hybrid worth the extra money?",
        "Spotted a vintage {Brand} in {city_en} today",
        "Insurance quote for a {Brand} {model} came back higher than expected",
    ),
    "pos": (
        "Loving my new {Brand} {model}!",
        "{n} miles on my {Brand} {model} and not a single problem",
        "Test drove the {Brand} {model} today, really smooth",
        "Shoutout to {Brand} {city_en} for the great service this morning",
        "Road trip done in the {Brand} {model}, so comfy",
        "Just passed my driving test in mum's {Brand} {model} 🎉",
    ),
    "news": (
        "{Brand} sales rise in the month led by the {model} || Registrations of the {model} grew compared "
        "with the same month last year, the company said.",
        "{Brand} adds new trim levels to the {model} range || Prices start slightly above the current "
        "entry model, with deliveries expected in the spring.",
        "{Brand} to expand production at European plant || The carmaker said the extra shift would "
        "support demand for the {model}.",
        "Review: the {Brand} {model} is a sensible family choice || Our road test found it practical "
        "and frugal, if not exciting.",
    ),
    "forum": (
        "Best tyres for a {Brand} {model}? Recommendations welcome",
        "{Brand} {model}: how often do you change the cabin filter?",
        "Bought a used {Brand} {model}, anything I should check?",
        "Roof bars for the {Brand} {model} - which ones fit?",
    ),
}

FR = {
    "neg": (
        "Encore au garage {Brand}, le voyant de ma {model} s'allume de nouveau",
        "{days} semaines pour une pièce de ma {Brand} {model}, sérieux ?",
        "Service client {Brand} injoignable, ça fait {days} jours que j'attends un rappel",
        "La révision de ma {Brand} {model} m'a coûté une fortune",
        "Le GPS de ma {Brand} {model} est vraiment nul",
        "Concession {Brand} de {city_fr} : accueil glacial, je ne reviendrai pas",
        "Ma {Brand} {model} consomme bien plus que prévu",
    ),
    "neu": (
        "Quelqu'un a une {Brand} {model} ? Des avis ?",
        "Je récupère la {Brand} au garage ce soir",
        "{Brand} {model} essence ou hybride, vous conseillez quoi ?",
        "Rendez-vous pour la révision des {n} km de ma {Brand} {model}",
        "Vu une vieille {Brand} de collection à {city_fr} ce matin",
        "Contrôle technique de la {Brand} demain matin",
        "Devis d'assurance pour une {Brand} {model}, pas donné",
    ),
    "pos": (
        "Trop contente de ma nouvelle {Brand} {model} 😍",
        "{n} km avec ma {Brand} {model} et aucun souci",
        "Essai de la {Brand} {model} aujourd'hui, franchement agréable",
        "Merci à la concession {Brand} de {city_fr} pour l'accueil au top",
        "Road trip en {Brand} {model} ce week-end, que du bonheur",
        "Permis en poche, dans la {Brand} {model} de mes parents 🎉",
    ),
    "news": (
        "{Brand} : les immatriculations du mois en hausse || La {model} reste en tête des ventes de la "
        "marque en France selon les chiffres publiés ce matin.",
        "{Brand} présente une nouvelle finition pour la {model} || Les premières livraisons sont "
        "attendues au printemps, à un prix légèrement supérieur.",
        "{Brand} : une équipe supplémentaire dans une usine française || Le constructeur veut répondre "
        "à la demande sur la {model}.",
        "Essai {Brand} {model} : une familiale raisonnable || Pratique et sobre, à défaut d'être "
        "enthousiasmante.",
    ),
    "forum": (
        "Quels pneus pour une {Brand} {model} ? Vos conseils",
        "{Brand} {model} : changement du filtre d'habitacle, tous les combien ?",
        "Achat d'une {Brand} {model} d'occasion, points à vérifier ?",
        "Barres de toit pour {Brand} {model}, lesquelles ?",
    ),
}

_TONES = {"neg": 0.2, "neu": 0.45, "pos": 0.35}
_LABEL_TONE = {"negative": "neg", "neutral": "neu", "positive": "pos"}
_SOCIAL = ("twitter", "twitter", "twitter", "facebook", "instagram")
_NEWS = {"en": ("Automotive News", "Reuters", "Autoblog", "Bloomberg"),
         "fr": ("L'Argus", "Caradisiac", "Auto Plus", "Le Figaro", "Les Echos")}
_FORUMS = {"en": ("reddit r/cars", "PriusChat"), "fr": ("Forum Auto", "Forum Peugeot")}
_REVIEWS = {"en": ("Trustpilot",), "fr": ("Avis Vérifiés", "Trustpilot")}


def _real(lang: str) -> tuple[Chatter, ...]:
    return english_chatter() if lang == "en" else french_chatter()


def chatter_voices(lang: str, *, real_share: float = 0.35, news_share: float = 0.08) -> tuple[Voice, ...]:
    """Voices of ordinary chatter in one language (social, news, forum, review)."""
    table = EN if lang == "en" else FR
    voices = []
    real = _real(lang)
    for tone, weight in _TONES.items():
        ours = tuple(c.template for c in real if _LABEL_TONE.get(c.label) == tone)
        share = real_share if ours else 0.0
        if ours:
            voices.append(Voice(texts=ours, sources=_SOCIAL, lang=lang, weight=weight * share))
        voices.append(Voice(texts=table[tone], sources=_SOCIAL, lang=lang, weight=weight * (1 - share) * 0.85,
                            tags=("{tag}",)))
        review = table["neg"] if tone == "neg" else table["pos"]
        if tone != "neu":
            voices.append(Voice(texts=review, sources=_REVIEWS[lang], lang=lang, weight=weight * 0.05))
    voices.append(Voice(texts=table["news"], sources=_NEWS[lang], lang=lang, weight=news_share))
    voices.append(Voice(texts=table["forum"], sources=_FORUMS[lang], lang=lang, weight=0.06))
    return tuple(voices)


def chatter(brand: str, *, start: datetime, end: datetime, per_day: float, langs: Mapping[str, float],
            tz: str, slots: Mapping[str, Sequence[str]] | None = None) -> tuple[Stream, ...]:
    """Baseline streams of one brand: ``per_day`` mentions on average, split by language, with the
    daily and weekly rhythm of ``tz``."""
    out = []
    for lang, share in langs.items():
        rate = rhythmic(constant(per_day * share), tz=tz, profile="social")
        out.append(Stream(rate=rate, start=start, end=end, voices=chatter_voices(lang),
                          slots=slots or slots_for(brand)))
    return tuple(out)


# Monthly registration figures: an ordinary cluster of news and a few shares.
NEWS_SALES = {
    "fr": (
        "Marché automobile : {Brand} progresse en septembre || Les immatriculations de la marque "
        "augmentent, portées par la {model}, selon les chiffres de la PFA.",
        "Immatriculations de septembre : {Brand} tient son rang || La {model} reste dans le top 10 des "
        "ventes en France.",
        "{Brand} : les ventes du mois en légère hausse || La {model} tire la marque.",
    ),
    "fr_social": (
        "{Brand} dans le top des ventes en septembre, la {model} cartonne",
        "Les chiffres du mois sont tombés, {Brand} s'en sort bien",
    ),
}

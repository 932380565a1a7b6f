"""The crisis lexicon: categories, inflections, false friends, and validation of the file."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from service.enrich import lexicon as lexicon_module
from service.enrich.lexicon import (
    CATEGORIES,
    CRISIS_CATEGORIES,
    HARMLESS_CATEGORIES,
    Lexicon,
    LexiconError,
    load_lexicon,
)
from service.enrich.text import tokens

SHIPPED = Path(lexicon_module.__file__).with_name("crisis_lexicon.yaml")


SHARED = load_lexicon()


@pytest.fixture(scope="module")
def lexicon() -> Lexicon:
    return SHARED


def tag(lexicon: Lexicon, text: str, lang: str | None = None) -> dict[str, tuple[str, ...]]:
    return lexicon.tag(tokens(text), lang)


def test_categories_are_exactly_the_crisis_and_harmless_ones(lexicon: Lexicon) -> None:
    assert CRISIS_CATEGORIES == ("safety_recall", "outage", "accident", "legal", "scandal", "data_breach")
    assert HARMLESS_CATEGORIES == ("launch", "campaign", "event")
    assert lexicon.categories == CATEGORIES == CRISIS_CATEGORIES + HARMLESS_CATEGORIES
    assert lexicon.languages == ("en", "fr")
    assert all(lexicon.is_crisis(c) for c in CRISIS_CATEGORIES)
    assert not any(lexicon.is_crisis(c) for c in HARMLESS_CATEGORIES)


def test_every_category_has_dozens_of_forms_in_each_language() -> None:
    data = yaml.safe_load(SHIPPED.read_text(encoding="utf-8"))["categories"]
    for category in CATEGORIES:
        for lang in ("en", "fr"):
            entries = data[category][lang]
            forms = sum(1 + len(other or []) for other in entries.values())
            assert len(entries) >= 15, (category, lang, len(entries))
            assert forms >= 50, (category, lang, forms)


# One table of (language, text, category, canonical term that must be found): inflections, accents,
# case and multi-word forms in both languages, for every category.
FOUND = [
    # safety_recall
    ("en", "Toyota RECALLS 2.3 million vehicles", "safety_recall", "recall"),
    ("en", "Toyota recalled the Prius", "safety_recall", "recall"),
    ("en", "the recalling of 8 models", "safety_recall", "recall"),
    ("en", "defective brakes on the Prius", "safety_recall", "defect"),
    ("en", "defective brakes on the Prius", "safety_recall", "brake"),
    ("en", "a sticky accelerator pedal", "safety_recall", "stuck pedal"),
    ("en", "the pedal got stuck", "safety_recall", "stuck pedal"),
    ("en", "reports of sudden unintended acceleration", "safety_recall", "unintended acceleration"),
    ("en", "airbags may not deploy", "safety_recall", "airbag"),
    ("en", "the SUV caught fire on the highway", "safety_recall", "fire"),
    ("en", "increased risk of a crash, says NHTSA", "safety_recall", "crash risk"),
    ("en", "increased risk of a crash, says NHTSA", "safety_recall", "nhtsa"),
    ("en", "Toyota halts sales of eight models", "safety_recall", "sales halt"),
    ("en", "faulty floor mats", "safety_recall", "fault"),
    ("fr", "Toyota rappelle 2,3 millions de véhicules", "safety_recall", "rappel"),
    ("fr", "les véhicules rappelés", "safety_recall", "rappel"),
    ("fr", "RAPPELÉES en urgence", "safety_recall", "rappel"),
    ("fr", "campagne de rappel Peugeot", "safety_recall", "rappel"),
    ("fr", "un défaut de fabrication", "safety_recall", "défaut"),
    ("fr", "des defauts sur les freins", "safety_recall", "défaut"),
    ("fr", "des defauts sur les freins", "safety_recall", "frein"),
    ("fr", "pédale d'accélérateur bloquée", "safety_recall", "pédale bloquée"),
    ("fr", "la pédale reste coincée", "safety_recall", "pédale bloquée"),
    ("fr", "airbags défectueux", "safety_recall", "défectueux"),
    ("fr", "la voiture a pris feu", "safety_recall", "incendie"),
    ("fr", "risque d'incendie moteur", "safety_recall", "incendie"),
    ("fr", "accélération involontaire signalée", "safety_recall", "accélération involontaire"),
    ("fr", "Toyota suspend ses ventes aux USA", "safety_recall", "arrêt des ventes"),
    # outage
    ("en", "the app is down again", "outage", "is down"),
    ("en", "MyToyota app keeps crashing", "outage", "app crash"),
    ("en", "service unavailable since this morning", "outage", "service unavailable"),
    ("en", "the charger isn't working", "outage", "not working"),
    ("en", "huge outages across Europe", "outage", "outage"),
    ("en", "can't log in to my account", "outage", "cannot connect"),
    ("en", "the dealer's system crashed again", "outage", "app crash"),
    ("fr", "l'appli est en panne", "outage", "panne"),
    ("fr", "mon véhicule est tombé en panne", "outage", "panne"),
    ("fr", "site indisponible depuis hier", "outage", "indisponible"),
    ("fr", "l'application ne fonctionne plus", "outage", "ne fonctionne pas"),
    ("fr", "ça bugue encore", "outage", "bug"),
    ("fr", "impossible de se connecter à MyRenault", "outage", "impossible de se connecter"),
    # accident
    ("en", "two people killed in the crash", "accident", "killed"),
    ("en", "two people killed in the crash", "accident", "crash"),
    ("en", "dozens injured after the derailment", "accident", "injured"),
    ("en", "dozens injured after the derailment", "accident", "derailment"),
    ("en", "the train derailed and exploded", "accident", "explosion"),
    ("en", "building collapsed, many victims", "accident", "collapse"),
    ("en", "a fatal accident on the A6", "accident", "fatal"),
    ("fr", "deux personnes tuées dans l'accident", "accident", "tué"),
    ("fr", "deux personnes tuées dans l'accident", "accident", "accident"),
    ("fr", "plusieurs blessés graves", "accident", "blessé"),
    ("fr", "les victimes du déraillement", "accident", "victime"),
    ("fr", "les victimes du déraillement", "accident", "déraillement"),
    ("fr", "un accident mortel", "accident", "mortel"),
    ("fr", "effondrement d'un immeuble", "accident", "effondrement"),
    ("fr", "le conducteur a trouvé la mort", "accident", "morts"),
    # legal
    ("en", "a class action lawsuit against Toyota", "legal", "class action"),
    ("en", "families sue the carmaker", "legal", "sue"),
    ("en", "Toyota sued over brakes", "legal", "sue"),
    ("en", "federal investigators open a probe", "legal", "investigation"),
    ("en", "federal investigators open a probe", "legal", "probe"),
    ("en", "congressional hearing on Feb 24", "legal", "congressional hearing"),
    ("en", "Akio Toyoda testified before Congress", "legal", "testify"),
    ("en", "Toyota fined $16.4 million", "legal", "fined"),
    ("fr", "les clients portent plainte", "legal", "plainte"),
    ("fr", "une enquête est ouverte", "legal", "enquête"),
    ("fr", "le PDG auditionné par le Congrès", "legal", "audition"),
    ("fr", "condamné à une amende record", "legal", "amende"),
    ("fr", "devant le tribunal de commerce", "legal", "tribunal"),
    ("fr", "une action de groupe lancée", "legal", "action de groupe"),
    # scandal
    ("en", "the emissions scandal", "scandal", "scandal"),
    ("en", "Volkswagen cheated on emissions tests", "scandal", "cheating"),
    ("en", "a massive cover-up", "scandal", "cover-up"),
    ("en", "Dieselgate returns", "scandal", "dieselgate"),
    ("en", "boycotting the brand", "scandal", "boycott"),
    ("en", "shame on you Toyota", "scandal", "shame"),
    ("en", "they lied to us", "scandal", "lied"),
    ("en", "Toyota lied to customers", "scandal", "lied"),
    ("fr", "un scandale sanitaire", "scandal", "scandale"),
    ("fr", "fraude aux tests d'émissions", "scandal", "fraude"),
    ("fr", "ils ont triché", "scandal", "triche"),
    ("fr", "quelle honte", "scandal", "honte"),
    ("fr", "c'est HONTEUX", "scandal", "honte"),
    ("fr", "des mensonges depuis 10 ans", "scandal", "mensonge"),
    ("fr", "boycottez Peugeot", "scandal", "boycott"),
    # data_breach
    ("en", "a data breach exposed customer data", "data_breach", "data breach"),
    ("en", "hackers stole 3 million records", "data_breach", "hack"),
    ("en", "hit by ransomware", "data_breach", "ransomware"),
    ("en", "the leaked data includes emails", "data_breach", "data leak"),
    ("fr", "une fuite de données chez Renault", "data_breach", "fuite de données"),
    ("fr", "les serveurs ont été piratés", "data_breach", "piratage"),
    ("fr", "victime d'une cyberattaque", "data_breach", "cyberattaque"),
    ("fr", "vos données personnelles exposées", "data_breach", "données personnelles"),
    # launch
    ("en", "Peugeot launches the new 3008", "launch", "launch"),
    ("en", "unveiled at the Geneva Motor Show", "launch", "unveil"),
    ("en", "unveiled at the Geneva Motor Show", "launch", "motor show"),
    ("en", "the all-new Prius", "launch", "new model"),
    ("fr", "lancement de la nouvelle Clio", "launch", "lancement"),
    ("fr", "Renault dévoile son concept-car", "launch", "dévoile"),
    ("fr", "au Salon de l'Auto de Paris", "launch", "salon de l'automobile"),
    ("fr", "le nouveau modèle arrive", "launch", "nouveau modèle"),
    # campaign
    ("en", "our new ad campaign", "campaign", "campaign"),
    ("en", "this ad went viral", "campaign", "viral"),
    ("en", "a road movie co-created with fans", "campaign", "road movie"),
    ("en", "a road movie co-created with fans", "campaign", "co-created"),
    ("en", "enter our contest", "campaign", "contest"),
    ("fr", "la nouvelle campagne Peugeot", "campaign", "campagne"),
    ("fr", "cette pub est géniale", "campaign", "publicité"),
    ("fr", "jeu-concours : à gagner une 208", "campaign", "concours"),
    ("fr", "un road-movie co-créé par les internautes", "campaign", "co-créé"),
    ("fr", "la vidéo devient virale", "campaign", "viral"),
    # event
    ("en", "great match tonight", "event", "match"),
    ("en", "what a winning goal", "event", "scored a goal"),
    ("en", "official car of the Tour de France", "event", "tour de france"),
    ("en", "proud sponsor of the World Cup", "event", "sponsor"),
    ("en", "Toyota wins the 24 Hours of Le Mans", "event", "racing"),
    ("fr", "quel but magnifique, il marque un but", "event", "marque un but"),
    ("fr", "le maillot jaune", "event", "tour de france"),
    ("fr", "partenaire officiel du Dakar", "event", "sponsor"),
    ("fr", "victoire au rallye Monte-Carlo", "event", "rallye"),
]


INFLECTIONS = [
    # (word as written in a mention, category, canonical term): plurals, participles, conjugations,
    # feminine forms, with and without accents.
    ("malfunctioning", "safety_recall", "malfunction"), ("overheated", "safety_recall", "overheat"),
    ("stalled", "safety_recall", "stall"), ("rappellent", "safety_recall", "rappel"),
    ("rappellera", "safety_recall", "rappel"), ("defaillantes", "safety_recall", "défaillance"),
    ("Défectueuses", "safety_recall", "défectueux"), ("freinage", "safety_recall", "frein"),
    ("outages", "outage", "outage"), ("buggé", "outage", "bug"), ("bugue", "outage", "bug"),
    ("glitches", "outage", "glitch"), ("pannes", "outage", "panne"),
    ("derailed", "accident", "derailment"), ("collided", "accident", "collision"),
    ("blessees", "accident", "blessé"), ("effondrée", "accident", "effondrement"),
    ("decedes", "accident", "morts"), ("carbonisée", "accident", "brûlé"),
    ("probed", "legal", "probe"), ("suing", "legal", "sue"), ("enquêteurs", "legal", "enquête"),
    ("auditionnés", "legal", "audition"), ("condamnations", "legal", "condamné"),
    ("cheated", "scandal", "cheating"), ("boycotted", "scandal", "boycott"),
    ("frauduleuses", "scandal", "fraude"), ("boycottons", "scandal", "boycott"),
    ("menteurs", "scandal", "mensonge"), ("truqués", "scandal", "triche"),
    ("hacked", "data_breach", "hack"), ("piratées", "data_breach", "piratage"),
    ("cyber-attaques", "data_breach", "cyberattaque"), ("rançongiciels", "data_breach", "rançongiciel"),
    ("unveiled", "launch", "unveil"), ("launching", "launch", "launch"), ("dévoilées", "launch", "dévoile"),
    ("précommandes", "launch", "précommande"), ("restylée", "launch", "restylage"),
    ("campaigns", "campaign", "campaign"), ("virales", "campaign", "viral"),
    ("influenceuses", "campaign", "influenceur"), ("giveaways", "campaign", "contest"),
    ("sponsoring", "event", "sponsor"), ("sponsorisée", "event", "sponsor"), ("rallyes", "event", "rallye"),
    ("championnats", "event", "championnat"), ("matches", "event", "match"),
]


@pytest.mark.parametrize(("word", "category", "term"), INFLECTIONS)
def test_inflected_forms_map_to_their_canonical_term(lexicon: Lexicon, word: str, category: str,
                                                     term: str) -> None:
    assert tag(lexicon, f"ils disent {word} hier") == {category: (term,)}


@pytest.mark.parametrize(("lang", "text", "category", "term"), FOUND)
def test_lexicon_finds_inflected_and_accented_forms(lexicon: Lexicon, lang: str, text: str, category: str,
                                                    term: str) -> None:
    assert term in tag(lexicon, text).get(category, ()), tag(lexicon, text)
    assert term in tag(lexicon, text, lang).get(category, ())


NOT_FOUND = [
    # (text, category that must stay absent): false friends, idioms, substrings.
    ("a great breakfast with the team", "safety_recall"),  # "breakfast" is not "brake"
    ("le rappeur sort un album", "safety_recall"),  # "rappeur" is not "rappel"
    ("je me rappelle de ma première Clio", "safety_recall"),  # "se rappeler" (to remember)
    ("petit rappel : le salon ouvre demain", "safety_recall"),
    ("les paramètres par défaut", "safety_recall"),  # "par défaut" (by default)
    ("fired up for the new Clio!", "safety_recall"),  # decision: "fired" is not a form of "fire"
    ("the CEO fired three managers", "safety_recall"),
    ("as I recall, the 1990 Celica was great", "safety_recall"),
    ("I'm fine, thanks", "legal"),  # "fine" only counts as "fined", "record fine"...
    ("un délai très court", "legal"),  # French "court" (short) is not a court of law
    ("of course I love it", "event"),  # "course" alone is no race
    ("but I love it", "event"),  # English "but" is no goal
    ("our goal is zero emissions", "event"),
    ("slow down, download the update", "outage"),  # "down" only counts in outage phrases
    ("mort de rire 😂", "accident"),
    ("you killed it with this ad!", "accident"),
    ("la Clio, victime de son succès", "accident"),
    ("les ventes explosent les records, Peugeot explose les compteurs", "accident"),
    ("life hack: clean your headlights", "data_breach"),
    ("leaked spy shots of the new 208", "data_breach"),  # leaked photos are a launch, not a breach
    ("Toyota's new hatchback", "safety_recall"),
    ("risques liés au changement climatique", "scandal"),  # French "liés" is not English "lies"
    ("C'est une première : la voiture solaire", "launch"),  # "première" (first) is no "premiere"
    ("a double cord", "event"),  # no "doublé" (two goals): it would be English "double"
    ("fire up the stream tonight!", "safety_recall"),
    ("listening to Poetic Justice", "legal"),
    ("the helicopter crashed onto the Clutha pub", "campaign"),  # English "pub" is a bar, not an ad
    ("service client injoignable, ça fait 5 jours que j'attends un rappel", "safety_recall"),  # a callback
    ("the dealer's system crashed again", "accident"),  # an IT crash is an outage
    ("la Renault dans Fast and Furious 7", "scandal"),
]


@pytest.mark.parametrize(("text", "category"), NOT_FOUND)
def test_lexicon_ignores_false_friends_and_idioms(lexicon: Lexicon, text: str, category: str) -> None:
    assert category not in tag(lexicon, text), tag(lexicon, text)


def test_tag_reports_categories_with_canonical_terms_in_order(lexicon: Lexicon) -> None:
    text = "RAPPEL : Toyota rappelle ses voitures, pédales défectueuses, une enquête est ouverte"
    assert tag(lexicon, text) == {
        "safety_recall": ("rappel", "pédale", "défectueux"),
        "legal": ("enquête",),
    }
    assert tag(lexicon, "") == {}
    assert tag(lexicon, "nothing to see here") == {}


def test_longest_form_wins_and_covers_its_words(lexicon: Lexicon) -> None:
    # "data breach" covers "breach"; "campagne de rappel" is a recall, not a marketing campaign.
    assert tag(lexicon, "a data breach") == {"data_breach": ("data breach",)}
    assert tag(lexicon, "campagne de rappel") == {"safety_recall": ("rappel",)}
    # a phrase cut short by the end of the text still matches its shorter forms
    assert tag(lexicon, "the accelerator")["safety_recall"] == ("accelerator",)


def test_language_restricts_vocabulary(lexicon: Lexicon) -> None:
    assert "outage" in tag(lexicon, "le site est en panne", "fr")
    assert "outage" not in tag(lexicon, "le site est en panne", "en")
    assert tag(lexicon, "le site est en panne", "de") == tag(lexicon, "le site est en panne")


# --------------------------------------------------------------------------- broken files

VALID = """\
version: 1
categories:
  safety_recall: {en: {recall: [+s, +ed]}}
  outage: {en: {outage: }}
  accident: {en: {crash: }}
  legal: {en: {lawsuit: }}
  scandal: {en: {fraud: }}
  data_breach: {en: {hack: }}
  launch: {en: {launch: }}
  campaign: {en: {campaign: }}
  event: {en: {match: }}
ignore:
  en: [i recall]
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "lexicon.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_a_small_valid_file_loads(tmp_path: Path) -> None:
    lexicon = load_lexicon(write(tmp_path, VALID))
    assert lexicon.tag(tokens("Toyota RECALLED cars")) == {"safety_recall": ("recall",)}
    assert lexicon.tag(tokens("as I recall")) == {}
    assert lexicon.terms("safety_recall") == ("recall",)


BROKEN = [
    (VALID.replace("version: 1", "version: 2"), ":1: 'version: 1' is required"),
    (VALID.replace("  event: {en: {match: }}\n", ""), ":2: missing categories: event"),
    (VALID.replace("  outage:", "  outages:"), ":4: unknown key 'outages' in categories (expected one of: "
     "accident, campaign, data_breach, event, launch, legal, outage, safety_recall, scandal)"),
    (VALID.replace("accident: {en:", "accident: {english:"), ":5: 'english' is not an ISO 639-1 language code "
     "(like 'en' or 'fr')"),
    (VALID.replace("{crash: }", "{crash: [+es, '!!']}"), ":5: '!!' has no letters or digits"),
    (VALID.replace("{crash: }", "{crash: +es}"), ":5: forms of 'crash' must be a list (or nothing)"),
    (VALID.replace("{fraud: }", "{fraud: [scam], scam: }"), ":7: scandal.en: form 'scam' of 'scam' is already "
     "a form of 'fraud'"),
    (VALID.replace("{hack: }", "{hack: , hack: [+s]}"), ":8: duplicate key 'hack' in data_breach.en"),
    (VALID.replace("launch: {en: {launch: }}", "launch: {en: {}}"), ":9: launch.en: no terms"),
    (VALID + "extra: 1\n", ":14: unknown key 'extra' in the lexicon (expected one of: categories, ignore, version)"),
    (VALID.replace("[i recall]", "i recall"), ":13: ignore.en must be a list of phrases"),
    ("version: 1\ncategories: [a, b]\n", ":2: categories must be a mapping"),
    ("version: 1\ncategories:\n  outage: {en: {a: [b}}\n", ":3: not valid YAML: "),
    ("", ": the lexicon must be a mapping"),
]


@pytest.mark.parametrize(("text", "message"), BROKEN)
def test_broken_files_give_a_clear_error_with_file_and_line(tmp_path: Path, text: str, message: str) -> None:
    path = write(tmp_path, text)
    with pytest.raises(LexiconError) as caught:
        load_lexicon(path)
    assert str(caught.value).startswith(f"{path}{message}")


def test_missing_file_is_a_lexicon_error(tmp_path: Path) -> None:
    with pytest.raises(LexiconError, match=r"missing\.yaml: cannot read the lexicon"):
        load_lexicon(tmp_path / "missing.yaml")


@settings(max_examples=200, deadline=None)
@given(st.lists(st.sampled_from(["a", "pris", "feu", "en", "panne", "par", "defaut", "recall", "i", "data",
                                 "breach", "campagne", "de", "rappel", "x", "stuck", "pedal", "sticky"]),
                max_size=15))
def test_tag_is_total_and_agrees_on_lists_and_tuples(words: list[str]) -> None:
    lexicon = SHARED
    found = lexicon.tag(words)
    assert found == lexicon.tag(tuple(words))
    assert set(found) <= set(CATEGORIES)
    assert all(terms and len(set(terms)) == len(terms) for terms in found.values())

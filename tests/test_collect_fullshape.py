"""Every parser on its full-shape sample (``tests/fixtures/feeds/full``): the payload as the real
endpoint returns it for our request, with every field we skip, gives the same mentions as the
trimmed format samples would."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from service.collect.apis import parse_x, parse_youtube
from service.collect.bluesky import parse_bluesky
from service.collect.complaints import parse_nhtsa_complaints
from service.collect.hackernews import parse_hackernews
from service.collect.jsonmap import parse_mapped
from service.collect.mastodon import parse_mastodon
from service.collect.reddit import parse_reddit
from service.collect.regulators import parse_nhtsa_recalls, parse_openfda, parse_rappelconso
from service.collect.rss import parse_feed
from service.config import SourceConfig
from service.domain import SourceKind

FULL = Path(__file__).parent / "fixtures" / "feeds" / "full"


def sample(name: str) -> bytes:
    return (FULL / name).read_bytes()


def source(type_: str, **options: object) -> SourceConfig:
    return SourceConfig(name=f"{type_}-full", type=type_, kind=SourceKind.SOCIAL, interval=timedelta(minutes=5),
                        timeout=timedelta(seconds=5), options=options)


def at(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)


def test_samples_stay_small_enough_to_commit() -> None:
    sizes = {path.name: path.stat().st_size for path in FULL.iterdir()}
    assert len(sizes) == 14 and all(size < 40_000 for size in sizes.values()), sizes


def test_mastodon_full_statuses_with_accounts_cards_and_media() -> None:
    reply, warned, boost, original = parse_mastodon(sample("mastodon_tag_timeline.json"), source=source("mastodon"))
    assert original.id == "mastodon:https://piaille.fr/users/camille/statuses/113541187532012345"
    assert original.published_at == at(2026, 11, 26, 8, 41, 7)
    assert original.text.startswith("Rappel #Peugeot sur les 3008 hybrides : freinage. Mon garage n'a pas de créneau "
                                    "avant janvier 😤\nLe courrier dit « ne pas utiliser le véhicule")
    assert original.text.endswith("@autonews vous avez des infos sur les délais ?\n"
                                  "https://autonews.example/rappels/peugeot-3008-hybride-freinage-2026")
    assert (original.author, original.url, original.reach, original.engagement, original.lang) == (
        "camille", "https://piaille.fr/@camille/113541187532012345", 312.0, 16.0, "fr")
    assert boost.duplicate_of == original.id and boost.text == original.text
    assert (boost.author, boost.reach, boost.url) == ("autonews@mastodon.social", 15400.0, original.url)
    assert warned.text == ("voiture, colère\nThird time at the dealer for the same warning light. They reset the code, "
                           "charge me 90 euros and send me home.\nThe car is out of warranty since March, of course.\n"
                           "Never again #peugeot #garage")
    assert (warned.id, warned.lang, warned.reach) == (
        "mastodon:https://framapiaf.org/users/pierre_m/statuses/113541229998877665", "en", 87.0)
    assert reply.text.startswith("@camille D'après Stellantis la mise à jour prend 45 minutes")
    assert reply.published_at == at(2026, 11, 26, 9, 0, 31) and reply.duplicate_of is None


def test_reddit_full_listing_with_crosspost_parent_list() -> None:
    crosspost, link, post = parse_reddit(sample("reddit_search_new.json"), source=source("reddit"))
    assert post.id == "reddit:t3_1h0a9zq" and post.published_at == at(2026, 11, 26, 7, 0)
    assert post.text.startswith("Recall letter for my 3008 — 2 month wait at the dealer\nGot the letter today. Brake "
                                "booster software update on my 3008 & the dealer can't see me before January.")
    assert post.text.endswith("Edit: VIN starts with VR3U, built April 2026, Hybrid 136.")
    assert "<p>" not in post.text and "&amp;" not in post.text
    assert post.url == "https://www.reddit.com/r/peugeot/comments/1h0a9zq/recall_letter_for_my_3008_2_month_wait_at_the/"
    assert (post.author, post.reach, post.engagement) == ("lyon_driver", 48211.0, 58.0)
    title = "Stellantis recalls 3008 and 5008 hybrids built March–June 2026 over brake control unit software"
    assert (link.id, link.text, link.title, link.reach, link.engagement) == (
        "reddit:t3_1h0bd71", title, title, 5120334.0, 308.0)
    assert link.published_at == at(2026, 11, 26, 8, 5, 10) and link.duplicate_of is None
    assert crosspost.duplicate_of == link.id and crosspost.author == "marc_l_lyon"
    assert crosspost.url == "https://www.reddit.com/r/france/comments/1h0c2r8/stellantis_recalls_3008_and_5008_hybrids_built/"


def test_bluesky_full_post_views_with_facets_and_embeds() -> None:
    julie, blog, reply = parse_bluesky(sample("bluesky_search_posts.json"), source=source("bluesky"))
    assert julie.id == "bluesky:at://did:plc:4xk6yx2w5z3q2j7n7r5s6t7u/app.bsky.feed.post/3lbx7kq2h6s2c"
    assert julie.published_at == at(2026, 11, 26, 9, 2, 31, 118000)
    assert julie.text == ("Le rappel Peugeot 3008 arrive dans ma boîte aux lettres. Deux mois d'attente chez le "
                          "concessionnaire, sérieusement ? #Peugeot #rappel")
    assert (julie.author, julie.url, julie.lang, julie.engagement) == (
        "julie.bsky.social", "https://bsky.app/profile/julie.bsky.social/post/3lbx7kq2h6s2c", "fr", 29.0)
    assert blog.engagement == 129.0
    assert blog.text.endswith("Tout ce qu'il faut savoir 👇\nautonews.example/rappels/peug...")
    assert (reply.author, reply.lang) == ("tomdrives.bsky.social", "en")
    assert reply.published_at == at(2026, 11, 26, 8, 31, 44, 20000)
    assert reply.text == ("Mine lit up on the ring road this morning. Dealer says two weeks minimum for the update, "
                          "no loan car. Great.")


def test_hackernews_full_hits_with_highlight_results() -> None:
    comment, other, story, ask = parse_hackernews(sample("hackernews_search_by_date.json"), source=source("hackernews"))
    assert comment.id == "hn:42251377" and comment.url == "https://news.ycombinator.com/item?id=42251377"
    assert comment.text.startswith("Peugeot recalls 3008 hybrids over brake software\nThe brake ECU firmware in "
                                   "these hybrids is shared with other Stellantis models, so I'd expect the recall "
                                   "to widen.\n")
    assert "Opel and Citroën platforms" in comment.text and "<p>" not in comment.text and "<em>" not in comment.text
    assert (comment.author, comment.published_at) == ("throwaway_auto", at(2026, 11, 26, 9, 20, 11))
    assert "2019 Peugeot 3008" in other.text and "<i>" not in other.text
    assert (story.title, story.text, story.engagement) == (
        "Peugeot recalls 3008 hybrids over brake software", "Peugeot recalls 3008 hybrids over brake software", 88.0)
    assert ask.title == "Ask HN: How to check what a Peugeot recall update changed?" and ask.engagement == 5.0
    assert "reports about 12% less range" in ask.text and ask.published_at == at(2026, 11, 26, 8, 21, 9)


def test_x_full_page_with_all_public_metrics() -> None:
    news, retweet, reply, original, quote = parse_x(sample("x_recent_search.json"), source=source("x"))
    assert original.id == "x:1861338762551009280" and original.published_at == at(2026, 11, 26, 9, 41, 12)
    assert original.text.startswith("Rappel des Peugeot 3008 hybrides : deux mois d'attente pour un rendez-vous. "
                                    "@Peugeot_FR c'est inacceptable & dangereux.")
    assert (original.author, original.url, original.reach, original.engagement) == (
        "claire_auto", "https://x.com/claire_auto/status/1861338762551009280", 18250.0, 295.0)
    assert retweet.duplicate_of == original.id and (retweet.author, retweet.reach) == ("marc_l", 1204.0)
    assert reply.duplicate_of is None and reply.author == "sophie_r44"
    assert (news.lang, news.reach, quote.reach) == ("en", 208113.0, 5320.0)


def test_youtube_full_search_items() -> None:
    first, *_, last = parse_youtube(sample("youtube_search_list.json"), source=source("youtube"))
    assert first.id == "youtube:Qm7pZ3kT9bA" and first.url == "https://www.youtube.com/watch?v=Qm7pZ3kT9bA"
    assert first.title == "RAPPEL Peugeot 3008 : ce qu'il faut savoir (freinage)"
    assert first.text.endswith("On vous explique quoi faire & combien de temps ça prend. Abonnez-vous pour ne rien ...")
    assert (first.author, first.published_at) == ("Auto Plus TV", at(2026, 11, 26, 8, 30, 1))
    assert last.id == "youtube:Lp0aZ9cRt4E" and last.published_at == at(2026, 11, 25, 19, 40, 33)


def test_nhtsa_full_recalls_with_long_texts() -> None:
    mentions = parse_nhtsa_recalls(sample("nhtsa_recalls_toyota_camry_2010.json"), source=source("nhtsa"))
    assert [mention.id for mention in mentions] == ["nhtsa:10V017000", "nhtsa:09V388000", "nhtsa:10V023000",
                                                    "nhtsa:10V032000"]
    pedal = mentions[0]
    assert pedal.published_at == at(2010, 1, 21) and pedal.url == "https://www.nhtsa.gov/recalls?nhtsaId=10V017000"
    assert pedal.text.startswith("NHTSA recall 10V017000 (TOYOTA CAMRY 2010): VEHICLE SPEED CONTROL:ACCELERATOR "
                                 "PEDAL.\nTOYOTA IS RECALLING CERTAIN MODEL YEAR 2009-2010 RAV4")
    assert "STEEL REINFORCEMENT BAR" in pedal.text and "SAFERCAR.GOV" not in pedal.text  # Notes are not read
    assert pedal.author == "Toyota Motor Engineering & Manufacturing" and mentions[1].published_at == at(2009, 10, 5)


def test_nhtsa_full_complaints() -> None:
    oil, crash, fire, steering = parse_nhtsa_complaints(sample("nhtsa_complaints_honda_crv_2019.json"),
                                                        source=source("nhtsa_complaints"))
    assert oil.id == "nhtsa-complaint:11653218" and oil.published_at == at(2026, 11, 24)
    assert oil.url == "https://api.nhtsa.gov/complaints/complaintNumber/11653218"
    assert oil.text.startswith("NHTSA complaint 11653218 (HONDA CR-V 2019): ENGINE, FUEL/PROPULSION SYSTEM.\n"
                               "OIL LEVEL RISES ABOVE THE FULL MARK")
    assert crash.text.split("\n")[1] == "Crash, 1 injured." and fire.text.split("\n")[1] == "Fire."
    assert steering.published_at == at(2026, 9, 19)


def test_rappelconso_full_records() -> None:
    car, cheese, toy = parse_rappelconso(sample("rappelconso_v2_records.json"), source=source("rappelconso"))
    assert car.id == "rappelconso:2026-11-0183" and car.published_at == at(2026, 11, 25, 16, 42, 7)
    assert car.url == "https://rappel.conso.gouv.fr/fiche-rappel/17452/Interne"
    assert car.title == "Rappel : Peugeot 3008 hybride Peugeot"
    assert car.text == ("Rappel conso 2026-11-0183 : Peugeot 3008 hybride Peugeot\nMotif : Risque de défaillance "
                        "du calculateur de freinage pouvant entraîner un allongement des distances de freinage.\n"
                        "Risques : Blessures (accident de la route)\nCatégorie : automobiles")
    assert "Listeria monocytogenes" in cheese.text and "médecin" not in cheese.text  # sanitary advice is not read
    assert toy.published_at == at(2026, 11, 24, 14, 3, 22) and toy.lang == "fr"


def test_openfda_full_enforcement_reports() -> None:
    cereal, romaine, bakery = parse_openfda(sample("openfda_food_enforcement.json"), source=source("openfda"))
    assert cereal.id == "openfda:F-0412-2027" and cereal.published_at == at(2026, 11, 19)
    assert cereal.title == "FDA recall F-0412-2027 · Class II · Acme Cereal Company"
    assert cereal.url == "https://api.fda.gov/food/enforcement.json?search=recall_number:%22F-0412-2027%22"
    assert "Reason: Undeclared almonds" in cereal.text and cereal.author == "Acme Cereal Company"
    assert "Escherichia coli O157:H7" in romaine.text and bakery.published_at == at(2026, 11, 12)


def test_json_mapping_on_full_zendesk_tickets() -> None:
    options = {"url": "https://acme.zendesk.com/api/v2/search.json", "items": "results",
               "fields": {"id": "id", "text": ["subject", "description"], "time": "created_at", "url": "url",
                          "title": "subject"}}
    first, urgent, question = parse_mapped(sample("zendesk_search_page1.json"), source=source("json", **options))
    assert first.id == "json:json-full:35436" and first.published_at == at(2026, 11, 26, 9, 12, 40)
    assert first.text.startswith("Rappel 3008 : aucun rendez-vous avant janvier\nBonjour, j'ai reçu le courrier")
    assert first.url == "https://acme.zendesk.com/api/v2/tickets/35436.json"
    assert urgent.title == "Brake warning after the recall update"
    assert question.published_at == at(2026, 11, 26, 7, 41, 22)


def test_feeds_full_google_news_youtube_and_slashdot() -> None:
    news = parse_feed(sample("google_news_fr.rss"), source=source("rss"))
    assert len(news) == 5 and news[0].author == "Le Parisien" and news[0].published_at == at(2026, 11, 26, 8, 12)
    assert news[0].text == "Peugeot rappelle 12 000 véhicules pour un défaut de freinage - Le Parisien"
    assert news[0].url.startswith("https://news.google.com/rss/articles/CBMi") and news[0].url.endswith("?oc=5")
    videos = parse_feed(sample("youtube_channel.atom"), source=source("atom"))
    assert [video.reach for video in videos] == [48211.0, 91034.0, 156220.0, 203577.0]
    assert videos[0].url == "https://www.youtube.com/watch?v=Xq3vB7kLm2Q" and videos[0].author == "Auto Review Channel"
    assert "00:45 Quels modèles sont concernés ?" in videos[0].text
    assert videos[0].published_at == at(2026, 11, 26, 7, 30, 12)
    stories = parse_feed(sample("slashdot.rdf"), source=source("rss"))
    assert [story.author for story in stories] == ["timothy", "kdawson", "samzenpus", "Soulskill"]
    assert stories[0].title == "Toyota Recalls 2.3 Million Vehicles Over Sticking Gas Pedals"
    assert stories[0].published_at == at(2010, 1, 21, 19, 2) and stories[0].lang == "en"
    assert stories[0].url == ("https://tech.slashdot.org/story/10/01/21/1842210/toyota-recalls-23-million-vehicles-over-"
                              "sticking-gas-pedals?utm_source=rss1.0mainlinkanon&utm_medium=feed")
    assert "its second big recall in three months" in stories[0].text and "<a" not in stories[0].text
    assert len({story.id for story in stories}) == 4

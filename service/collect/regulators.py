"""Regulators: NHTSA vehicle recalls (US), RappelConso product recalls (France) and openFDA
enforcement reports (US food, drugs, devices).

Mentions from these sources always have kind ``regulator`` (whatever the source's ``kind``): a
recall notice for a watched brand must reach the detector as such.

NHTSA (``api.nhtsa.gov/recalls/recallsByVehicle``): one request per configured model and model
year; a campaign listed for several models or years is one mention (id ``nhtsa:<campaign>``)
naming them all. ``ReportReceivedDate`` is a day (``DD/MM/YYYY``), read as midnight UTC.

RappelConso (Opendatasoft Explore API v2.1, dataset ``rappelconso-v2-gtin-espaces``): the newest
recall sheets, optionally filtered by an ODSQL ``where`` expression; id ``rappelconso:<numero_fiche>``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any

import msgspec

from service.collect.base import (
    _DOUBLE_SPACE,
    MAX_FIELD_CHARS,
    MAX_TEXT_CHARS,
    CollectResult,
    FetchError,
    as_list,
    as_mapping,
    clean_field,
    cut,
    parse_time,
    utc_day,
)
from service.collect.cleaner import Cleaner, Memo
from service.collect.jsonapi import ApiRequest, JsonApiCollector
from service.collect.make import Origin
from service.collect.typed import ItemDecoder
from service.domain import Mention, SourceKind

if TYPE_CHECKING:
    from service.config import SourceConfig

NHTSA_URL = "https://api.nhtsa.gov/recalls/recallsByVehicle"
RAPPELCONSO_URL = ("https://data.economie.gouv.fr/api/explore/v2.1/catalog/datasets/"
                   "rappelconso-v2-gtin-espaces/records")


def _nhtsa_day(value: Any) -> datetime | None:
    """Midnight UTC of a ``DD/MM/YYYY`` day (the recalls API's order), else any :func:`parse_time` form."""
    if isinstance(value, str):
        value = value.strip()
    if isinstance(value, str) and len(value) == 10 and value[2] == "/" and value[5] == "/" and value.isascii():
        day, month, year = value[:2], value[3:5], value[6:]
        if day.isdigit() and month.isdigit() and year.isdigit():
            return utc_day(int(year), int(month), int(day))
    return parse_time(value)


class Recall(msgspec.Struct, gc=False):
    """The fields of a ``recallsByVehicle`` result that a mention is made of."""

    NHTSACampaignNumber: str | None = None
    ReportReceivedDate: str | None = None
    Make: str | None = None
    Model: str | None = None
    ModelYear: str | None = None
    Component: str | None = None
    Summary: str | None = None
    Consequence: str | None = None
    Remedy: str | None = None
    Manufacturer: str | None = None


def nhtsa_results(what: str) -> Callable[[Any], list[Any]]:
    """The lenient reading of an NHTSA response's items: ``results`` (``Results`` in older answers)."""
    def read(payload: Any) -> list[Any]:
        payload = as_mapping(payload)
        return as_list(payload.get("results", payload.get("Results")), what=f"{what} 'results'")
    return read


_RECALLS = ItemDecoder(Recall, "results", lenient=nhtsa_results("NHTSA response"), what="NHTSA response")


_NONE = object()
"""Equal to no field's value."""


def parse_nhtsa_recalls(data: bytes, *, source: SourceConfig) -> list[Mention]:
    """Mentions of the recall campaigns in a ``recallsByVehicle`` response (one per campaign).

    One pass: each campaign's mention is made from its first record; the rare campaign listed again
    for another vehicle has its mention made again, naming every vehicle, once all are known.
    """
    records, typed = _RECALLS.decode(data)
    clean = Cleaner(data, memo=True, typed=typed)  # manufacturer names repeat on every record
    origin = Origin.of(source, kind=SourceKind.REGULATOR)
    days = Memo(_nhtsa_day)
    named = Memo(lambda vehicle: _vehicle(*vehicle, clean))  # a response is about a handful of vehicles
    authors = Memo(lambda manufacturer: clean.line(manufacturer) or "NHTSA")  # one manufacturer, mostly
    name, kind, brand, lang = origin.source, origin.kind, origin.brand, origin.lang or "en"
    vouched = typed and clean.ascii_ok  # (typed: each field a str or None)
    mentions: list[Mention] = []
    at: dict[str, int] = {}  # campaign -> its mention's index in ``mentions``
    firsts: list[Recall] = []  # per mention: the record it was made of
    more: dict[str, list[str]] = {}  # campaigns listed for several vehicles: all of them, in order
    last: tuple[object, object, object] = (_NONE, _NONE, _NONE)  # the previous typed record's vehicle ...
    last_vehicle = ""  # ... named
    untested: list[int] = []  # the usual notices not yet tested for double spaces: their mentions' indices,
    texts: list[str] = []  # their texts ...
    untested_vehicles: list[str] = []  # ... and their vehicles
    for record in records:
        campaign = record.NHTSACampaignNumber
        if type(campaign) is not str or len(campaign) > MAX_FIELD_CHARS or not (campaign.isalnum() or (
                vouched and campaign.isascii() and " " not in campaign and "<" not in campaign
                and "&" not in campaign)):
            campaign = clean.line(campaign)  # (the usual id, letters and digits, is plain; so is any vouched
            # ASCII string without spaces, "<" and "&", which is printable and its own strip())
        day = record.ReportReceivedDate
        published = days[day] if type(day) is str else _nhtsa_day(day)
        if not campaign or published is None:
            continue
        make, model, year = record.Make, record.Model, record.ModelYear
        if not typed:
            vehicle = _vehicle(make, model, year, clean)
        elif make != last[0] or model != last[1] or year != last[2]:  # (records of one vehicle follow each other)
            last = (make, model, year)
            vehicle = last_vehicle = named[last]  # (typed: strings or None, so hashable)
        else:
            vehicle = last_vehicle
        count = len(mentions)
        index = at.setdefault(campaign, count)
        if index != count:  # listed again
            if vehicle:
                _another_vehicle(more, campaign, vehicle, firsts[index], named if typed else None, clean)
            continue
        firsts.append(record)
        component, summary, consequence, remedy = record.Component, record.Summary, record.Consequence, record.Remedy
        if vouched and vehicle and component and summary and consequence and remedy:
            # The usual notice, put together from the fields as decoded, then tested once: when it is
            # ASCII (so each field is printable: ``vouched``), free of ``<``, ``&`` and double spaces
            # (a space at the start of the component, consequence or remedy would make one after the
            # template's ": "), and no field starts or ends with another space, each field is plain
            # and its own strip(): this is the text made of the cleaned fields. The double spaces are
            # looked for after the loop, in all such texts at once (:func:`double_spaced`); a text
            # holding one has its mention made again, the long way.
            text = (f"NHTSA recall {campaign} ({vehicle}): {component}.\n{summary}\nConsequence: {consequence}\n"
                    f"Remedy: {remedy}")
            if text.isascii() and "<" not in text and "&" not in text and len(text) <= MAX_TEXT_CHARS \
                    and summary[0] != " " and component[-1] != " " and summary[-1] != " " \
                    and consequence[-1] != " " and remedy[-1] != " ":
                title = f"Recall {campaign}: {component}"
                untested.append(count)
                texts.append(text)
                untested_vehicles.append(vehicle)
                mentions.append(Mention(
                    id=f"nhtsa:{campaign}", published_at=published, text=text, source=name, kind=kind, brand=brand,
                    lang=lang, author=authors[record.Manufacturer],
                    url=f"https://www.nhtsa.gov/recalls?nhtsaId={campaign}",
                    title=title if len(title) <= MAX_FIELD_CHARS else cut(title, MAX_FIELD_CHARS)))
                continue
        mentions.append(_nhtsa_mention(campaign, record, published, vehicle, origin, clean, authors))
    for spaced in double_spaced(texts):
        index = untested[spaced]
        mention = mentions[index]
        mentions[index] = _nhtsa_mention(mention.id[len("nhtsa:"):], firsts[index], mention.published_at,
                                         untested_vehicles[spaced], origin, clean, authors)
    for campaign, vehicles in more.items():
        index = at[campaign]
        mentions[index] = _nhtsa_mention(campaign, firsts[index], mentions[index].published_at, ", ".join(vehicles),
                                         origin, clean, authors)
    return mentions


_BATCH_CHARS = 6_000
"""From this many characters in all on, :func:`double_spaced` looks in the texts at once (numpy's
fixed cost, some 6 µs, is then less than what it saves)."""
_SPACE = ord(" ")


def double_spaced(texts: list[str]) -> list[int]:
    """The indices (ascending) of the ``texts`` that hold a double space.

    ``"  " in text`` is a slow scan (about 0.6 ns a character even through the regex engine: both
    characters of the pattern are frequent), which was the largest cost of parsing long notices.
    Many ASCII texts are tested at once by numpy instead (about 0.15 ns a character): one buffer of
    the texts joined by newlines (never a space, so no pair spans two texts), the positions of the
    spaces followed by a space, and the texts those positions fall in.

    >>> double_spaced(["a b", "a  b", "ab "] * 3), double_spaced(["a b  " * 2000, "ab", "a  b"])
    ([1, 4, 7], [0, 2])
    """
    joined = "\n".join(texts)
    if len(joined) < _BATCH_CHARS or not joined.isascii():
        return [index for index, text in enumerate(texts) if _DOUBLE_SPACE(text) is not None]
    import numpy as np  # (imported once a batch is worth it: most parses never need it)

    spaces = np.frombuffer(joined.encode("ascii"), dtype=np.uint8) == _SPACE  # one byte per character
    pairs = np.flatnonzero(spaces[1:] & spaces[:-1])
    if not len(pairs):
        return []
    ends = np.cumsum([len(text) + 1 for text in texts])  # where each text ends, its newline included
    return sorted(set(np.searchsorted(ends, pairs, side="right").tolist()))


def _another_vehicle(more: dict[str, list[str]], campaign: str, vehicle: str, first: Recall, named: Memo | None,
                     clean: Cleaner) -> None:
    """Adds ``vehicle`` to the vehicles of a campaign listed again (``more``), after the vehicle of
    its ``first`` record (``named``: the typed records' memo, ``None`` for lenient ones)."""
    vehicles = more.get(campaign)
    if vehicles is None:
        key = (first.Make, first.Model, first.ModelYear)
        first_vehicle = named[key] if named is not None else _vehicle(*key, clean)
        vehicles = more[campaign] = [first_vehicle] if first_vehicle else []
    if vehicle not in vehicles:
        vehicles.append(vehicle)


def _vehicle(make: Any, model: Any, year: Any, clean: Cleaner) -> str:
    """``make model year`` of a recall record, without the missing parts."""
    if clean.plain(f"{make}|{model}|{year}"):
        make, model, year = make.strip() if make else "", model.strip() if model else "", year.strip() if year else ""
    else:
        make, model, year = clean.line(make), clean.line(model), clean.line(year)
    return f"{make} {model} {year}" if make and model and year else " ".join(filter(None, (make, model, year)))


def _nhtsa_mention(campaign: str, record: Recall, published: datetime, named: str, origin: Origin, clean: Cleaner,
                   authors: Memo) -> Mention:
    """The mention of a campaign, from its first record and the vehicles it was listed for (``named``)."""
    component, summary, consequence, remedy = record.Component, record.Summary, record.Consequence, record.Remedy
    if clean.plain_texts(f"{component}|{summary}|{consequence}|{remedy}"):
        component, summary = component.strip() if component else "", summary.strip() if summary else ""
        consequence, remedy = consequence.strip() if consequence else "", remedy.strip() if remedy else ""
    else:
        component, summary = clean.text(component), clean.text(summary)
        consequence, remedy = clean.text(consequence), clean.text(remedy)
    if named and component and summary and consequence and remedy:  # the usual notice, in one go
        text = (f"NHTSA recall {campaign} ({named}): {component}.\n{summary}\nConsequence: {consequence}\n"
                f"Remedy: {remedy}")
    else:
        text = _notice(campaign, named, component, summary, consequence, remedy)
    title = f"Recall {campaign}: {component}" if component else f"Recall {campaign}"
    manufacturer = record.Manufacturer
    return Mention(
        id=f"nhtsa:{campaign}", published_at=published,
        text=text if len(text) <= MAX_TEXT_CHARS else cut(text, MAX_TEXT_CHARS),
        source=origin.source, kind=origin.kind, brand=origin.brand, lang=origin.lang or "en",
        author=authors[manufacturer] if clean.typed else clean.line(manufacturer) or "NHTSA",
        url=f"https://www.nhtsa.gov/recalls?nhtsaId={campaign}",
        title=title if len(title) <= MAX_FIELD_CHARS else cut(title, MAX_FIELD_CHARS))


def _notice(campaign: str, named: str, component: str, summary: str, consequence: str, remedy: str) -> str:
    """The text of a recall notice with some parts missing (those are left out)."""
    text = f"NHTSA recall {campaign}" + (f" ({named})" if named else "") + (f": {component}." if component else ".")
    if summary:
        text = f"{text}\n{summary}"
    if consequence:
        text = f"{text}\nConsequence: {consequence}"
    if remedy:
        text = f"{text}\nRemedy: {remedy}"
    return text


class NhtsaCollector(JsonApiCollector):
    """Recalls of ``make`` for each of ``models`` and each model year of the last ``years_back``
    years (plus next year's models)."""

    default_url = NHTSA_URL

    def requests(self, state: Mapping[str, Any], now: datetime) -> list[ApiRequest]:
        options = self.source.options
        years = options.get("model_years") or list(range(now.year + 1, now.year - options.get("years_back", 2) - 1,
                                                         -1))
        url = options.get("url", self.default_url)
        return [ApiRequest(url=url, params={"make": options["make"], "model": model, "modelYear": str(year)})
                for model in options["models"] for year in years]

    def parse(self, data: bytes) -> list[Mention]:
        return parse_nhtsa_recalls(data, source=self.source)


class Sheet(msgspec.Struct, gc=False):
    """The fields of a RappelConso record that a mention is made of."""

    numero_fiche: str | None = None
    rappel_guid: str | None = None
    id: int | str | None = None
    date_publication: str | None = None
    libelle: str | None = None
    modeles_ou_references: str | None = None
    marque_produit: str | None = None
    motif_rappel: str | None = None
    risques_encourus: str | None = None
    sous_categorie_produit: str | None = None
    categorie_produit: str | None = None
    lien_vers_la_fiche_rappel: str | None = None


def _sheets_lenient(payload: Any) -> list[Any]:
    return as_list(as_mapping(payload).get("results"), what="RappelConso response 'results'")


_SHEETS = ItemDecoder(Sheet, "results", lenient=_sheets_lenient, what="RappelConso response")


def parse_rappelconso(data: bytes, *, source: SourceConfig) -> list[Mention]:
    """Mentions of the recall sheets in an Explore API v2.1 ``records`` response."""
    origin = Origin.of(source, kind=SourceKind.REGULATOR)
    records, typed = _SHEETS.decode(data)
    clean = Cleaner(data, typed=typed)
    times = Memo(parse_time)  # sheets published together share their time
    mentions = []
    for record in records:
        number, url = record.numero_fiche, record.lien_vers_la_fiche_rappel
        label, brand, reason, risks, category = (record.libelle, record.marque_produit, record.motif_rappel,
                                                 record.risques_encourus, record.sous_categorie_produit)
        if clean.plain(f"{number}|{url}", f"{label}|{brand}|{reason}|{risks}|{category}"):
            # (the usual sheet: each field is only stripped, tested at once rather than one by one)
            number, url = number.strip() if number else "", url.strip() if url else ""
            label, brand = label.strip() if label else "", brand.strip() if brand else ""
            reason, risks = reason.strip() if reason else "", risks.strip() if risks else ""
            category = category.strip() if category else ""
        else:
            number, url = clean.line(number), clean.line(url)
            label, brand, reason, risks, category = (clean.text(label), clean.text(brand), clean.text(reason),
                                                     clean.text(risks), clean.text(category))
        sheet = number or clean.line(record.rappel_guid) or clean.line(record.id)
        when = record.date_publication
        published = times[when] if type(when) is str else parse_time(when)
        if not sheet or published is None:
            continue
        label = label or clean.text(record.modeles_ou_references)  # (the models and the category stand in
        category = category or clean.text(record.categorie_produit)  # for a missing label and subcategory)
        product = f"{label} {brand}" if label and brand else label or brand
        text = f"Rappel conso {sheet} : {product}" if product else f"Rappel conso {sheet}"
        if reason:
            text = f"{text}\nMotif : {reason}"
        if risks:
            text = f"{text}\nRisques : {risks}"
        if category:
            text = f"{text}\nCatégorie : {category}"
        title = f"Rappel : {product}" if product else None
        mentions.append(Mention(
            id=f"rappelconso:{sheet}", published_at=published,
            text=text if len(text) <= MAX_TEXT_CHARS else cut(text, MAX_TEXT_CHARS),
            source=origin.source, kind=origin.kind, brand=origin.brand, lang=origin.lang or "fr",
            author="RappelConso", url=url or None,
            title=title if title is None or len(title) <= MAX_FIELD_CHARS else cut(title, MAX_FIELD_CHARS)))
    return mentions


class RappelConsoCollector(JsonApiCollector):
    """The newest RappelConso sheets (``limit``, at most 100), optionally filtered by ``where``."""

    def requests(self, state: Mapping[str, Any], now: datetime) -> list[ApiRequest]:
        options = self.source.options
        params: dict[str, Any] = {"order_by": "date_publication desc", "limit": options.get("limit", 50)}
        if options.get("where"):
            params["where"] = options["where"]
        return [ApiRequest(url=options.get("url", RAPPELCONSO_URL), params=params)]

    def parse(self, data: bytes) -> list[Mention]:
        return parse_rappelconso(data, source=self.source)


OPENFDA_URL = "https://api.fda.gov/{category}/enforcement.json"
_COMPACT_DAY = re.compile(r"^(\d{4})(\d{2})(\d{2})$")


def _compact_day(value: Any) -> datetime | None:
    match = _COMPACT_DAY.match(value.strip()) if isinstance(value, str) else None
    if match is None:
        return None
    year, month, day = match.groups()
    return utc_day(int(year), int(month), int(day))


class Enforcement(msgspec.Struct, gc=False):
    """The fields of an openFDA enforcement report that a mention is made of."""

    recall_number: str | None = None
    report_date: str | None = None
    recall_initiation_date: str | None = None
    recalling_firm: str | None = None
    classification: str | None = None
    product_description: str | None = None
    reason_for_recall: str | None = None
    product_type: str | None = None


def _enforcements_lenient(payload: Any) -> list[Any]:
    return as_list(as_mapping(payload).get("results"), what="openFDA response 'results'")


_ENFORCEMENTS = ItemDecoder(Enforcement, "results", lenient=_enforcements_lenient, what="openFDA response")


def parse_openfda(data: bytes, *, source: SourceConfig) -> list[Mention]:
    """Mentions of the recalls of an openFDA ``enforcement.json`` response (dates ``YYYYMMDD``,
    read as midnight UTC; ``report_date``, else ``recall_initiation_date``)."""
    origin = Origin.of(source, kind=SourceKind.REGULATOR)
    records, typed = _ENFORCEMENTS.decode(data)
    clean = Cleaner(data, typed=typed)
    days = Memo(_compact_day)
    mentions = []
    for record in records:
        published = None
        for day in (record.report_date, record.recall_initiation_date):
            published = days[day] if type(day) is str else _compact_day(day)
            if published is not None:
                break
        number, firm, classification, description, reason, product_type = (
            record.recall_number, record.recalling_firm, record.classification, record.product_description,
            record.reason_for_recall, record.product_type)
        plain = clean.plain(f"{number}", f"{firm}|{classification}|{description}|{reason}|{product_type}")
        if plain:  # then the head put together from them is plain too: it is its own title
            number, firm, classification = number.strip() if number else "", firm.strip() if firm else "", \
                classification.strip() if classification else ""
            description, reason, product_type = description.strip() if description else "", \
                reason.strip() if reason else "", product_type.strip() if product_type else ""
        else:
            number, firm, classification = clean.line(number), clean.text(firm), clean.text(classification)
            description, reason, product_type = (clean.text(description), clean.text(reason),
                                                 clean.text(product_type))
        if not number or published is None:
            continue
        head = " · ".join(filter(None, (f"FDA recall {number}", classification, firm)))
        head = head if len(head) <= MAX_TEXT_CHARS else cut(head, MAX_TEXT_CHARS)
        text = f"{head}\n{description}" if description else head
        if reason:
            text = f"{text}\nReason: {reason}"
        mentions.append(Mention(
            id=f"openfda:{number}", published_at=published,
            text=text if len(text) <= MAX_TEXT_CHARS else cut(text, MAX_TEXT_CHARS),
            source=origin.source, kind=origin.kind, brand=origin.brand, lang=origin.lang or "en",
            author=firm or "FDA",
            url=f"https://api.fda.gov/{product_type.lower() or 'food'}/enforcement.json"
                f"?search=recall_number:%22{number}%22",
            title=(head if len(head) <= MAX_FIELD_CHARS else cut(head, MAX_FIELD_CHARS)) if plain
            else clean_field(head)))
    return mentions


class OpenFdaCollector(JsonApiCollector):
    """The newest enforcement reports of ``category`` (food, drug, device) matching ``search``."""

    def requests(self, state: Mapping[str, Any], now: datetime) -> list[ApiRequest]:
        options = self.source.options
        params: dict[str, Any] = {"search": options["search"], "sort": "report_date:desc",
                                  "limit": options.get("limit", 100)}
        if options.get("key"):
            params["api_key"] = options["key"]
        url = options.get("url") or OPENFDA_URL.format(category=options.get("category", "food"))
        return [ApiRequest(url=url, params=params)]

    def parse(self, data: bytes) -> list[Mention]:
        return parse_openfda(data, source=self.source)

    def collect(self, cursor: dict[str, Any] | None, now: datetime) -> CollectResult:
        try:
            return super().collect(cursor, now)
        except FetchError as error:
            if error.status == 404:  # openFDA answers "No matches found!" with a 404
                return CollectResult(mentions=(), cursor=None)
            raise

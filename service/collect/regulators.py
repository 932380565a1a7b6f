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
from collections.abc import Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any

import msgspec

from service.collect.base import (
    MAX_FIELD_CHARS,
    CollectResult,
    FetchError,
    as_list,
    as_mapping,
    assemble,
    clean_field,
    line_field,
    load_json,
    parse_time,
    text_field,
    utc_day,
)
from service.collect.jsonapi import ApiRequest, JsonApiCollector
from service.collect.make import Origin, mention
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


def parse_nhtsa_recalls(data: bytes, *, source: SourceConfig) -> list[Mention]:
    """Mentions of the recall campaigns in a ``recallsByVehicle`` response (one per campaign)."""
    payload = as_mapping(load_json(data, what="NHTSA response"))
    results = as_list(payload.get("results", payload.get("Results")), what="NHTSA response 'results'")
    campaigns: dict[str, tuple[Mapping[str, Any], datetime, list[str]]] = {}
    for record in results:
        if type(record) is not dict:
            continue
        campaign = line_field(record.get("NHTSACampaignNumber"))
        published = _nhtsa_day(record.get("ReportReceivedDate"))
        if campaign is None or published is None:
            continue
        make, model, year = line_field(record.get("Make")), line_field(record.get("Model")), \
            line_field(record.get("ModelYear"))
        vehicle = " ".join(part for part in (make, model, year) if part)
        entry = campaigns.get(campaign)
        if entry is None:
            entry = campaigns[campaign] = (record, published, [])
        if vehicle and vehicle not in entry[2]:
            entry[2].append(vehicle)
    origin = Origin.of(source, kind=SourceKind.REGULATOR)
    return [_nhtsa_mention(campaign, *entry, origin) for campaign, entry in campaigns.items()]


def _nhtsa_mention(campaign: str, record: Mapping[str, Any], published: datetime, vehicles: list[str],
                   origin: Origin) -> Mention:
    get = record.get
    component = text_field(get("Component"))
    named = ", ".join(vehicles)
    head = f"NHTSA recall {campaign}" + (f" ({named})" if named else "") + (f": {component}." if component else ".")
    text = assemble(head, text_field(get("Summary")),
                    _labelled("Consequence", text_field(get("Consequence"))),
                    _labelled("Remedy", text_field(get("Remedy"))))
    return mention(
        f"nhtsa:{campaign}", published, text, origin.source, origin.kind, origin.brand, origin.lang or "en",
        line_field(get("Manufacturer")) or "NHTSA", f"https://www.nhtsa.gov/recalls?nhtsaId={campaign}",
        assemble(f"Recall {campaign}", component, separator=": ", limit=MAX_FIELD_CHARS), None, None, None)


def _labelled(label: str, text: str, separator: str = ": ") -> str:
    return f"{label}{separator}{text}" if text else ""


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


def parse_rappelconso(data: bytes, *, source: SourceConfig) -> list[Mention]:
    """Mentions of the recall sheets in an Explore API v2.1 ``records`` response."""
    payload = as_mapping(load_json(data, what="RappelConso response"))
    origin = Origin.of(source, kind=SourceKind.REGULATOR)
    mentions = []
    for record in as_list(payload.get("results"), what="RappelConso response 'results'"):
        record = as_mapping(record)
        sheet = (line_field(record.get("numero_fiche")) or line_field(record.get("rappel_guid"))
                 or line_field(record.get("id")))
        published = parse_time(record.get("date_publication"))
        if sheet is None or published is None:
            continue

        def field(key: str, record: Mapping[str, Any] = record) -> str:
            return text_field(record.get(key))

        product = " ".join(part for part in (field("libelle") or field("modeles_ou_references"),
                                             field("marque_produit")) if part)
        lines = [f"Rappel conso {sheet} : {product}" if product else f"Rappel conso {sheet}",
                 _labelled("Motif", field("motif_rappel"), " : "),
                 _labelled("Risques", field("risques_encourus"), " : "),
                 _labelled("Catégorie", field("sous_categorie_produit") or field("categorie_produit"), " : ")]
        mentions.append(mention(
            f"rappelconso:{sheet}", published, assemble(*lines), origin.source, origin.kind, origin.brand,
            origin.lang or "fr", "RappelConso", line_field(record.get("lien_vers_la_fiche_rappel")),
            assemble("Rappel", product, separator=" : ", limit=MAX_FIELD_CHARS) if product else None,
            None, None, None))
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


class Enforcement(msgspec.Struct):
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
    mentions = []
    for record in _ENFORCEMENTS(data):
        number = line_field(record.recall_number)
        published = _compact_day(record.report_date) or _compact_day(record.recall_initiation_date)
        if number is None or published is None:
            continue
        firm = text_field(record.recalling_firm)
        head = assemble(f"FDA recall {number}", text_field(record.classification), firm, separator=" · ")
        mentions.append(mention(
            f"openfda:{number}", published,
            assemble(head, text_field(record.product_description),
                     _labelled("Reason", text_field(record.reason_for_recall))),
            origin.source, origin.kind, origin.brand, origin.lang or "en", firm or "FDA",
            f"https://api.fda.gov/{text_field(record.product_type).lower() or 'food'}/enforcement.json"
            f"?search=recall_number:%22{number}%22", clean_field(head), None, None, None))
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

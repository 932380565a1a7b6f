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
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from service.collect.base import (
    MAX_FIELD_CHARS,
    CollectResult,
    FetchError,
    as_list,
    as_mapping,
    assemble,
    clean_field,
    clean_text,
    first_brand,
    load_json,
    parse_time,
    text_of,
    usable_time,
)
from service.collect.jsonapi import ApiRequest, JsonApiCollector
from service.domain import Mention, SourceKind

if TYPE_CHECKING:
    from service.config import SourceConfig

NHTSA_URL = "https://api.nhtsa.gov/recalls/recallsByVehicle"
RAPPELCONSO_URL = ("https://data.economie.gouv.fr/api/explore/v2.1/catalog/datasets/"
                   "rappelconso-v2-gtin-espaces/records")
_DAY = re.compile(r"^(\d{2})/(\d{2})/(\d{4})$")


def _nhtsa_day(value: Any) -> datetime | None:
    match = _DAY.match(value.strip()) if isinstance(value, str) else None
    if match is None:
        return parse_time(value)
    day, month, year = (int(part) for part in match.groups())
    try:
        return usable_time(datetime(year, month, day, tzinfo=UTC))
    except ValueError:
        return None


def parse_nhtsa_recalls(data: bytes, *, source: SourceConfig) -> list[Mention]:
    """Mentions of the recall campaigns in a ``recallsByVehicle`` response (one per campaign)."""
    payload = as_mapping(load_json(data, what="NHTSA response"))
    results = as_list(payload.get("results", payload.get("Results")), what="NHTSA response 'results'")
    campaigns: dict[str, dict[str, Any]] = {}
    for record in results:
        record = as_mapping(record)
        campaign = clean_field(text_of(record.get("NHTSACampaignNumber")))
        published = _nhtsa_day(record.get("ReportReceivedDate"))
        if campaign is None or published is None:
            continue
        vehicle = " ".join(part for part in (clean_field(text_of(record.get(key)))
                                             for key in ("Make", "Model", "ModelYear")) if part)
        entry = campaigns.setdefault(campaign, {"record": record, "published": published, "vehicles": []})
        if vehicle and vehicle not in entry["vehicles"]:
            entry["vehicles"].append(vehicle)
    return [_nhtsa_mention(campaign, entry, source) for campaign, entry in campaigns.items()]


def _nhtsa_mention(campaign: str, entry: Mapping[str, Any], source: SourceConfig) -> Mention:
    record = entry["record"]

    def field(key: str) -> str:
        return clean_text(text_of(record.get(key)))

    component = field("Component")
    vehicles = ", ".join(entry["vehicles"])
    parts = [f"NHTSA recall {campaign}" + (f" ({vehicles})" if vehicles else "") + (f": {component}." if component
                                                                                    else ".")]
    parts += [text for text in (field("Summary"), _labelled("Consequence", field("Consequence")),
                                _labelled("Remedy", field("Remedy"))) if text]
    return Mention(
        id=f"nhtsa:{campaign}", published_at=entry["published"], text=assemble(*parts),
        source=source.name, kind=SourceKind.REGULATOR, brand=first_brand(source.brands), lang=source.lang or "en",
        author=clean_field(text_of(record.get("Manufacturer"))) or "NHTSA",
        url=f"https://www.nhtsa.gov/recalls?nhtsaId={campaign}",
        title=assemble(f"Recall {campaign}", component, separator=": ", limit=MAX_FIELD_CHARS),
    )


def _labelled(label: str, text: str, separator: str = ": ") -> str:
    return f"{label}{separator}{text}" if text else ""


class NhtsaCollector(JsonApiCollector):
    """Recalls of ``make`` for each of ``models`` and each model year of the last ``years_back``
    years (plus next year's models)."""

    def requests(self, state: Mapping[str, Any], now: datetime) -> list[ApiRequest]:
        options = self.source.options
        years = options.get("model_years") or list(range(now.year + 1, now.year - options.get("years_back", 2) - 1,
                                                         -1))
        url = options.get("url", NHTSA_URL)
        return [ApiRequest(url=url, params={"make": options["make"], "model": model, "modelYear": str(year)})
                for model in options["models"] for year in years]

    def parse(self, data: bytes) -> list[Mention]:
        return parse_nhtsa_recalls(data, source=self.source)


def parse_rappelconso(data: bytes, *, source: SourceConfig) -> list[Mention]:
    """Mentions of the recall sheets in an Explore API v2.1 ``records`` response."""
    payload = as_mapping(load_json(data, what="RappelConso response"))
    mentions = []
    for record in as_list(payload.get("results"), what="RappelConso response 'results'"):
        record = as_mapping(record)
        sheet = clean_field(text_of(record.get("numero_fiche")) or text_of(record.get("rappel_guid"))
                            or text_of(record.get("id")))
        published = parse_time(record.get("date_publication"))
        if sheet is None or published is None:
            continue

        def field(key: str, record: Mapping[str, Any] = record) -> str:
            return clean_text(text_of(record.get(key)))

        product = " ".join(part for part in (field("libelle") or field("modeles_ou_references"),
                                             field("marque_produit")) if part)
        lines = [f"Rappel conso {sheet} : {product}" if product else f"Rappel conso {sheet}",
                 _labelled("Motif", field("motif_rappel"), " : "),
                 _labelled("Risques", field("risques_encourus"), " : "),
                 _labelled("Catégorie", field("sous_categorie_produit") or field("categorie_produit"), " : ")]
        mentions.append(Mention(
            id=f"rappelconso:{sheet}", published_at=published, text=assemble(*lines),
            source=source.name, kind=SourceKind.REGULATOR, brand=first_brand(source.brands),
            lang=source.lang or "fr", author="RappelConso", url=clean_field(text_of(record.get(
                "lien_vers_la_fiche_rappel"))),
            title=assemble("Rappel", product, separator=" : ", limit=MAX_FIELD_CHARS) if product else None,
        ))
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
    try:
        return usable_time(datetime(*(int(part) for part in match.groups()), tzinfo=UTC))
    except ValueError:
        return None


def parse_openfda(data: bytes, *, source: SourceConfig) -> list[Mention]:
    """Mentions of the recalls of an openFDA ``enforcement.json`` response (dates ``YYYYMMDD``,
    read as midnight UTC; ``report_date``, else ``recall_initiation_date``)."""
    payload = as_mapping(load_json(data, what="openFDA response"))
    mentions = []
    for record in as_list(payload.get("results"), what="openFDA response 'results'"):
        record = as_mapping(record)
        number = clean_field(text_of(record.get("recall_number")))
        published = _compact_day(record.get("report_date")) or _compact_day(record.get("recall_initiation_date"))
        if number is None or published is None:
            continue

        def field(key: str, record: Mapping[str, Any] = record) -> str:
            return clean_text(text_of(record.get(key)))

        firm = field("recalling_firm")
        head = assemble(f"FDA recall {number}", field("classification"), firm, separator=" · ")
        mentions.append(Mention(
            id=f"openfda:{number}", published_at=published,
            text=assemble(head, field("product_description"), _labelled("Reason", field("reason_for_recall"))),
            source=source.name, kind=SourceKind.REGULATOR, brand=first_brand(source.brands),
            lang=source.lang or "en", author=firm or "FDA", title=clean_field(head),
            url=f"https://api.fda.gov/{field('product_type').lower() or 'food'}/enforcement.json"
                f"?search=recall_number:%22{number}%22",
        ))
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

"""NHTSA owner complaints (``api.nhtsa.gov/complaints/complaintsByVehicle``), by make, model and
model year: the same requests as the recalls (:class:`~service.collect.regulators.NhtsaCollector`),
one per configured model and model year.

One mention per complaint (id ``nhtsa-complaint:<odiNumber>``; a complaint listed under several
models or years is one mention): text the components, the crash / fire / injury / death flags and
the owner's summary; ``published_at`` the filing day (``dateComplaintFiled``, ``MM/DD/YYYY``: the
complaints API writes days the US way, unlike the recalls API) read as midnight UTC.

A complaint is an owner's voice that the regulator publishes, not a regulator's notice: its mentions
carry the source's ``kind`` (``review`` suits them), never ``regulator`` unless configured so,
because a regulator mention makes the detector treat a negative turn as a recall.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

import msgspec

from service.collect.base import (
    MAX_FIELD_CHARS,
    as_list,
    as_mapping,
    assemble,
    line_field,
    number_of,
    text_field,
    utc_day,
)
from service.collect.make import Origin, mention
from service.collect.regulators import NhtsaCollector
from service.collect.typed import ItemDecoder
from service.domain import Mention

if TYPE_CHECKING:
    from service.config import SourceConfig

COMPLAINTS_URL = "https://api.nhtsa.gov/complaints/complaintsByVehicle"
COMPLAINT_URL = "https://api.nhtsa.gov/complaints/complaintNumber/{number}"


def us_day(value: Any) -> datetime | None:
    """Midnight UTC of a ``MM/DD/YYYY`` day; ``None`` for anything else or an impossible date.

    >>> us_day("11/24/2026").isoformat()
    '2026-11-24T00:00:00+00:00'
    >>> us_day("24/11/2026") is None
    True
    """
    if not isinstance(value, str) or len(value) != 10 or value[2] != "/" or value[5] != "/":
        return None
    month, day, year = value[:2], value[3:5], value[6:]
    if not (month.isdigit() and day.isdigit() and year.isdigit() and value.isascii()):
        return None
    return utc_day(int(year), int(month), int(day))


class Product(msgspec.Struct):
    type: str | None = None
    productMake: str | None = None
    productModel: str | None = None
    productYear: str | int | None = None


class Complaint(msgspec.Struct):
    """The fields of a ``complaintsByVehicle`` result that a mention is made of."""

    odiNumber: int | str | None = None
    dateComplaintFiled: str | None = None
    summary: str | None = None
    components: str | None = None
    products: list[Product] = msgspec.field(default_factory=list)
    crash: bool | None = None
    fire: bool | None = None
    numberOfInjuries: int | None = None
    numberOfDeaths: int | None = None


def _lenient(payload: Any) -> list[Any]:
    payload = as_mapping(payload)
    return as_list(payload.get("results", payload.get("Results")), what="NHTSA complaints response 'results'")


_COMPLAINTS = ItemDecoder(Complaint, "results", lenient=_lenient, what="NHTSA complaints response")


def parse_nhtsa_complaints(data: bytes, *, source: SourceConfig) -> list[Mention]:
    """Mentions of the complaints of a ``complaintsByVehicle`` response (one per ``odiNumber``)."""
    origin = Origin.of(source)
    mentions: dict[str, Mention] = {}
    for record in _COMPLAINTS(data):
        number = line_field(record.odiNumber)
        published = us_day(record.dateComplaintFiled)
        if number is None or published is None or number in mentions:
            continue
        found = _complaint(record, number, published, origin)
        if found is not None:
            mentions[number] = found
    return list(mentions.values())


def _complaint(record: Complaint, number: str, published: datetime, origin: Origin) -> Mention | None:
    summary = text_field(record.summary)
    components = ", ".join(part.strip() for part in text_field(record.components).split(",") if part.strip())
    if not summary and not components:
        return None
    vehicles = ", ".join(dict.fromkeys(vehicle for product in record.products
                                       if (vehicle := _vehicle(product)) is not None))
    head = f"NHTSA complaint {number}" + (f" ({vehicles})" if vehicles else "") + (
        f": {components}." if components else ".")
    return mention(
        f"nhtsa-complaint:{number}", published, assemble(head, _severity(record), summary), origin.source,
        origin.kind, origin.brand, origin.lang or "en", None, COMPLAINT_URL.format(number=number),
        assemble(f"Complaint {number}", components, separator=": ", limit=MAX_FIELD_CHARS), None, None, None)


def _vehicle(product: Product) -> str | None:
    if product.type != "Vehicle":
        return None
    named = " ".join(part for part in (line_field(product.productMake), line_field(product.productModel),
                                       line_field(product.productYear)) if part)
    return named or None


def _severity(record: Complaint) -> str:
    """``Crash, fire, 1 injured, 2 dead.`` from the complaint's flags and counts (empty when none)."""
    parts = [word for flag, word in ((record.crash, "crash"), (record.fire, "fire")) if flag is True]
    for count, word in ((number_of(record.numberOfInjuries), "injured"), (number_of(record.numberOfDeaths), "dead")):
        if count:
            parts.append(f"{count:.0f} {word}")
    return (", ".join(parts).capitalize() + ".") if parts else ""


class NhtsaComplaintsCollector(NhtsaCollector):
    """Complaints about ``make`` for each of ``models`` and each model year (as for recalls)."""

    default_url = COMPLAINTS_URL

    def parse(self, data: bytes) -> list[Mention]:
        return parse_nhtsa_complaints(data, source=self.source)

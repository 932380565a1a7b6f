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
    MAX_TEXT_CHARS,
    cut,
    number_of,
    utc_day,
)
from service.collect.cleaner import Cleaner, Memo
from service.collect.make import Origin
from service.collect.regulators import NhtsaCollector, nhtsa_results
from service.collect.typed import ItemDecoder
from service.domain import Mention

if TYPE_CHECKING:
    from service.config import SourceConfig

COMPLAINTS_URL = "https://api.nhtsa.gov/complaints/complaintsByVehicle"
COMPLAINT_URL = "https://api.nhtsa.gov/complaints/complaintNumber/"


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


class Product(msgspec.Struct, gc=False):
    type: str | None = None
    productMake: str | None = None
    productModel: str | None = None
    productYear: str | int | None = None


class Complaint(msgspec.Struct, gc=False):
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


_COMPLAINTS = ItemDecoder(Complaint, "results", lenient=nhtsa_results("NHTSA complaints response"),
                          what="NHTSA complaints response")


def parse_nhtsa_complaints(data: bytes, *, source: SourceConfig) -> list[Mention]:
    """Mentions of the complaints of a ``complaintsByVehicle`` response (one per ``odiNumber``)."""
    origin = Origin.of(source)
    records, typed = _COMPLAINTS.decode(data)
    clean = Cleaner(data, memo=True, typed=typed)  # makes and models repeat across complaints
    days = Memo(us_day)
    vehicles: dict[tuple[str, str, str], str | None] = {}  # a response is about a handful of vehicles
    mentions: dict[str, Mention] = {}
    for record in records:
        number = clean.line(record.odiNumber)
        day = record.dateComplaintFiled
        published = days[day] if type(day) is str else us_day(day)
        if not number or published is None or number in mentions:
            continue
        summary, components = record.summary, record.components
        if clean.plain("", f"{summary}|{components}"):
            summary, components = summary.strip() if summary else "", components.strip() if components else ""
        else:
            summary, components = clean.text(summary), clean.text(components)
        if "," in components:  # stripped already
            components = ", ".join(filter(None, map(str.strip, components.split(","))))
        if summary or components:
            mentions[number] = _complaint(record, number, published, summary, components, origin, clean, vehicles)
    return list(mentions.values())


def _complaint(record: Complaint, number: str, published: datetime, summary: str, components: str,
               origin: Origin, clean: Cleaner, named: dict[tuple[str, str, str], str | None]) -> Mention:
    products = record.products
    if len(products) == 1:
        vehicles = _vehicle(products[0], clean, named) or ""
    else:
        vehicles = ", ".join(dict.fromkeys(vehicle for product in products
                                           if (vehicle := _vehicle(product, clean, named)) is not None))
    severity = _severity(record) if record.crash is True or record.fire is True or record.numberOfInjuries \
        or record.numberOfDeaths else ""  # (no flag, no count: the common case, decided here)
    if vehicles and components and summary and not severity:  # the usual complaint, in one go
        text = f"NHTSA complaint {number} ({vehicles}): {components}.\n{summary}"
    else:
        head = f"NHTSA complaint {number}" + (f" ({vehicles})" if vehicles else "") + (
            f": {components}." if components else ".")
        text = "\n".join(filter(None, (head, severity, summary)))
    title = f"Complaint {number}: {components}" if components else f"Complaint {number}"
    return Mention(
        id=f"nhtsa-complaint:{number}", published_at=published,
        text=text if len(text) <= MAX_TEXT_CHARS else cut(text, MAX_TEXT_CHARS),
        source=origin.source, kind=origin.kind, brand=origin.brand, lang=origin.lang or "en",
        url=COMPLAINT_URL + number,
        title=title if len(title) <= MAX_FIELD_CHARS else cut(title, MAX_FIELD_CHARS))


def _vehicle(product: Product, clean: Cleaner, named: dict[tuple[str, str, str], str | None]) -> str | None:
    """``make model year`` of a vehicle product (remembered in ``named`` when all three are strings)."""
    if product.type != "Vehicle":
        return None
    make, model, year = product.productMake, product.productModel, product.productYear
    if type(make) is not str or type(model) is not str or type(year) is not str:  # (1 == True == 1.0: no key)
        return " ".join(filter(None, (clean.line(make), clean.line(model), clean.line(year)))) or None
    key = (make, model, year)
    if key not in named:
        named[key] = " ".join(filter(None, (clean.line(make), clean.line(model), clean.line(year)))) or None
    return named[key]


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

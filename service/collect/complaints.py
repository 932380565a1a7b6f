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
    _INT_HIGH,
    _INT_LOW,
    MAX_FIELD_CHARS,
    MAX_TEXT_CHARS,
    cut,
    number_of,
    utc_day,
)
from service.collect.cleaner import Cleaner, Memo
from service.collect.make import Origin
from service.collect.regulators import NhtsaCollector, double_spaced, nhtsa_results
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
    name, kind, brand, lang = origin.source, origin.kind, origin.brand, origin.lang or "en"
    records, typed = _COMPLAINTS.decode(data)
    clean = Cleaner(data, memo=True, typed=typed)  # makes and models repeat across complaints
    days = Memo(us_day)
    # Remembered per payload when typed (the keys' values are then strings, integers, booleans or
    # None, each field of one type: hashable, and no 1 == True == 1.0 across types): a response is
    # about a handful of vehicles, its components come from a short list of names, and most
    # complaints have no flag and no count.
    named = Memo(lambda key: _vehicle(Product(*key), clean) or "")
    listed = Memo(lambda components: _components(clean.text(components)))
    severities = Memo(lambda key: _severity(Complaint(crash=key[0], fire=key[1], numberOfInjuries=key[2],
                                                      numberOfDeaths=key[3])))
    vouched = typed and clean.ascii_ok  # (typed: each summary a str or None)
    # The owners' narratives are long: their double spaces are looked for in all of them at once.
    spaced = frozenset(double_spaced([record.summary or "" for record in records])) if vouched else frozenset()
    mentions: dict[str, Mention] = {}
    for at, record in enumerate(records):
        number = record.odiNumber
        number = str(number) if type(number) is int and _INT_LOW <= number < _INT_HIGH else clean.line(number)
        day = record.dateComplaintFiled
        published = days[day] if type(day) is str else us_day(day)
        if not number or published is None or number in mentions:
            continue
        summary = record.summary
        if vouched and summary and summary.isascii() and "<" not in summary and "&" not in summary \
                and at not in spaced:  # plain (vouched ASCII is printable): clean.text() is its strip()
            summary = summary.strip()
            summary = summary if len(summary) <= MAX_TEXT_CHARS else cut(summary, MAX_TEXT_CHARS)
        else:
            summary = clean.text(summary)
        components = listed[record.components] if typed else _components(clean.text(record.components))
        if not summary and not components:
            continue
        products = record.products
        if len(products) == 1:
            product = products[0]
            vehicles = named[product.type, product.productMake, product.productModel, product.productYear] if typed \
                else _vehicle(product, clean) or ""
        else:
            vehicles = ", ".join(dict.fromkeys(vehicle for product in products
                                               if (vehicle := _vehicle(product, clean)) is not None))
        severity = severities[record.crash, record.fire, record.numberOfInjuries, record.numberOfDeaths] if typed \
            else _severity(record)
        if vehicles and components and summary:  # the usual complaint, in one go
            text = f"NHTSA complaint {number} ({vehicles}): {components}.\n{severity}\n{summary}" if severity \
                else f"NHTSA complaint {number} ({vehicles}): {components}.\n{summary}"
        else:
            head = f"NHTSA complaint {number}" + (f" ({vehicles})" if vehicles else "") + (
                f": {components}." if components else ".")
            text = "\n".join(filter(None, (head, severity, summary)))
        title = f"Complaint {number}: {components}" if components else f"Complaint {number}"
        mentions[number] = Mention(
            id=f"nhtsa-complaint:{number}", published_at=published,
            text=text if len(text) <= MAX_TEXT_CHARS else cut(text, MAX_TEXT_CHARS),
            source=name, kind=kind, brand=brand, lang=lang, url=COMPLAINT_URL + number,
            title=title if len(title) <= MAX_FIELD_CHARS else cut(title, MAX_FIELD_CHARS))
    return list(mentions.values())


def _vehicle(product: Product, clean: Cleaner) -> str | None:
    """``make model year`` of a vehicle product."""
    if product.type != "Vehicle":
        return None
    return " ".join(filter(None, (clean.line(product.productMake), clean.line(product.productModel),
                                  clean.line(product.productYear)))) or None


def _components(components: str) -> str:
    """The cleaned list of component names, ``", "`` between them (empty names left out)."""
    return ", ".join(filter(None, map(str.strip, components.split(",")))) if "," in components else components


def _severity(record: Complaint) -> str:
    """``Crash, fire, 1 injured, 2 dead.`` from the complaint's flags and counts (empty when none)."""
    if record.crash is not True and record.fire is not True and not record.numberOfInjuries \
            and not record.numberOfDeaths:  # the usual complaint
        return ""
    severity = _FLAGS[record.crash is True, record.fire is True]
    injured, dead = record.numberOfInjuries, record.numberOfDeaths
    if injured or dead:  # (a count is falsy when number_of() of it is)
        counts = [f"{count} {word}" for count, word in ((_count(injured), "injured"), (_count(dead), "dead")) if count]
        severity = ", ".join(filter(None, (severity, *counts)))  # a count starts with a digit: no capital
    return f"{severity}." if severity else ""


_FLAGS = {(False, False): "", (True, False): "Crash", (False, True): "Fire", (True, True): "Crash, fire"}
"""The start of a severity, by (crash, fire) flag."""
_EXACT = 2**53
"""Integers below this are exact as floats, so ``str(n) == f"{float(n):.0f}"``."""


def _count(value: Any) -> str:
    """``f"{number_of(value):.0f}"``, ``""`` when that is no positive number (a count of people)."""
    if type(value) is int and 0 <= value < _EXACT:  # the typed count
        return str(value) if value else ""
    number = number_of(value)
    return f"{number:.0f}" if number else ""


class NhtsaComplaintsCollector(NhtsaCollector):
    """Complaints about ``make`` for each of ``models`` and each model year (as for recalls)."""

    default_url = COMPLAINTS_URL

    def parse(self, data: bytes) -> list[Mention]:
        return parse_nhtsa_complaints(data, source=self.source)

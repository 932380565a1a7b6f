"""Compact encodings of Redis values that are read and written whole (no Lua needs to look inside).

A brand-hour's exemplars (at most a handful of example mentions) are one binary string: a format
byte, then raw DEFLATE with a preset dictionary of the words and URL pieces mentions are made of, of
a JSON array of rows ``[published (µs), "negativity", id, text, kind, source, url, author, reach]``,
most negative first. The brand is not stored (it is in the key). Short texts compress poorly on
their own; five of them together, with a dictionary, take about half their size.

>>> from datetime import UTC, datetime
>>> e = Exemplar(brand="peugeot", mention_id="m1", published_at=datetime(2025, 1, 1, tzinfo=UTC),
...              text="Rappel massif : airbags défectueux", negativity=0.9, source="twitter")
>>> unpack_exemplars("peugeot", pack_exemplars([e])) == [e]
True
>>> unpack_exemplars("peugeot", b"")
[]
"""

from __future__ import annotations

import json
import zlib
from collections.abc import Iterable, Sequence

from service.domain import Exemplar
from service.store import from_us, to_us

FORMAT = b"\x01"

# Words, markup and URL pieces frequent in public mentions (news, social, reviews) in the languages
# crisiswatch scores; deflate finds them here instead of spelling them out in every short blob. The
# most frequent sit at the end (deflate's distances are shorter there). Changing it changes FORMAT.
_DICTIONARY = (
    " the and that this with from have for not are was but you your they will been has had were what "
    "when which who would there their about after before because customers customer company recall "
    "problem issue service again still never today please help support refund delay cancelled broken "
    "crash outage down angry terrible worst scandal fraud lawsuit investigation police fire explosion "
    " der die das und nicht ist mit von auf für ein eine sie wir ich "
    " el la los las que por para con una del muy pero "
    " le la les des une est pas pour que qui dans sur avec mais plus tout très comme sont ont fait "
    "encore toujours jamais rien depuis même chez vraiment franchement service client clients rappel "
    "problème panne garage concession voiture voitures moteur batterie application appli bug plainte "
    "remboursement retard scandale enquête accident incendie dangereux honte nul inadmissible "
    "#auto #news ! ? ... :) :( http:// https://www. https://twitter.com/ /status/ https://www.facebook.com/ "
    "https://www.instagram.com/p/ https://www.youtube.com/watch?v= https://www.reddit.com/r/ /comments/ "
    "https://www.tiktok.com/@ /video/ .com/ .fr/ .de/ /article/ /news/ /reviews/ .html "
    '"news","social","blog","forum","video","review","support","regulator",'
    '"twitter","reddit","youtube","instagram","facebook","tiktok",null,'
).encode()


def _compressor() -> zlib._Compress:
    return zlib.compressobj(9, zlib.DEFLATED, -15, 9, zlib.Z_DEFAULT_STRATEGY, _DICTIONARY)


def pack_exemplars(exemplars: Sequence[Exemplar]) -> bytes:
    """One blob holding ``exemplars`` in the given order (callers pass them best first)."""
    rows = [[to_us(e.published_at), repr(float(e.negativity)), e.mention_id, e.text, e.kind, e.source, e.url,
             e.author, e.reach] for e in exemplars]
    compressor = _compressor()
    data = json.dumps(rows, separators=(",", ":"), ensure_ascii=False).encode()
    return FORMAT + compressor.compress(data) + compressor.flush()


def unpack_exemplars(brand: str, blob: bytes | None) -> list[Exemplar]:
    """The exemplars of :func:`pack_exemplars` output (``[]`` for a missing or empty value)."""
    if not blob:
        return []
    if blob[:1] != FORMAT:
        raise ValueError(f"exemplar blob of {brand!r}: unknown format {blob[:1]!r}")
    rows = json.loads(zlib.decompressobj(-15, zdict=_DICTIONARY).decompress(blob[1:]))
    return [Exemplar(brand=brand, mention_id=mention_id, published_at=from_us(published), text=text,
                     negativity=float(negativity), kind=kind, source=source, url=url, author=author,
                     reach=None if reach is None else float(reach))
            for published, negativity, mention_id, text, kind, source, url, author, reach in rows]


def rank(exemplar: Exemplar) -> tuple[float, int, str]:
    """Sort key, best first when reversed: most negative, then most recent, then the larger id (the
    order of the store contract and of the SQLite backend)."""
    return exemplar.negativity, to_us(exemplar.published_at), exemplar.mention_id


def keep_best(current: Iterable[Exemplar], new: Iterable[Exemplar], limit: int) -> list[Exemplar]:
    """``current`` and ``new`` merged by mention id (a new version wins), the best ``limit`` kept."""
    merged = {e.mention_id: e for e in current}
    merged.update((e.mention_id, e) for e in new)
    return sorted(merged.values(), key=rank, reverse=True)[:max(limit, 0)]

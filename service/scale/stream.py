"""The mention stream: a Redis Stream shared through one consumer group.

Producers (the scheduler's collectors, replays) append mention records with a fenced script: when a
lease value is given, the append happens only while that value still holds the lease, in the same
atomic step (stream and lease share the ``{stream}`` slot). Workers read new entries with
``XREADGROUP``, re-read their own pending entries after a restart, take over entries idle too long
in a dead worker's pending list with ``XAUTOCLAIM``, and ``XACK`` what they processed.

The *watermark* is the first entry id not yet acknowledged by every group: everything before it is
processed. The stream is trimmed to it (``XTRIM MINID``), never past it, so no unprocessed entry is
dropped.

>>> parse_id("1700000000000-3")
(1700000000000, 3)
>>> successor("5-9")
'5-10'
"""

from __future__ import annotations

import json
import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass

import msgspec
import redis
from redis.client import NEVER_DECODE

from service.domain import Mention, SourceKind
from service.store import from_us, record_from_json, to_us
from service.store.keys import Keys

log = logging.getLogger("crisiswatch.scale.stream")

GROUP = "workers"
DEAD_LETTERS_KEPT = 10_000
"""The dead-letter stream keeps (about) this many newest entries."""
ADD_CHUNK = 500
"""Mentions appended per script call (keeps each call short for the server)."""


class NotLeader(Exception):
    """A fenced append was refused: the given lease value no longer holds the lease."""


@dataclass(frozen=True, kw_only=True, slots=True)
class Entry:
    id: str
    mention: Mention | None
    """``None`` when the entry could not be decoded (moved to the dead-letter stream, see worker.py)."""
    error: str | None = None


def parse_id(entry_id: str) -> tuple[int, int]:
    ms, _, seq = entry_id.partition("-")
    return int(ms), int(seq or 0)


def successor(entry_id: str) -> str:
    ms, seq = parse_id(entry_id)
    return f"{ms}-{seq + 1}"


_FIELDS = ("id", "published_at", "text", "source", "kind", "brand", "lang", "author", "url", "title", "reach",
           "engagement", "duplicate_of")


def encode(mention: Mention) -> str:
    """Every field of the mention, ``duplicate_of`` included (syndication marks survive the stream), as
    a JSON array in :data:`_FIELDS` order, the time in microseconds since the epoch (compact and fast
    both ways: producers and workers encode and decode every mention)."""
    return encode_bytes(mention).decode()


_JSON = msgspec.json.Encoder()


def encode_bytes(mention: Mention) -> bytes:
    """:func:`encode` as UTF-8 (what goes over the wire), written by msgspec: the same values as
    ``json.dumps`` once decoded; ``json.dumps`` itself for what msgspec would write otherwise (a NaN
    or infinite reach or engagement, which it writes as ``null``; text it cannot encode)."""
    m = mention
    values = [m.id, to_us(m.published_at), m.text, m.source, None if m.kind is None else str(m.kind),
              m.brand, m.lang, m.author, m.url, m.title, m.reach, m.engagement, m.duplicate_of]
    if (m.reach is None or math.isfinite(m.reach)) and (m.engagement is None or math.isfinite(m.engagement)):
        try:
            return _JSON.encode(values)
        except (TypeError, ValueError, OverflowError, UnicodeError):
            pass
    return json.dumps(values, separators=(",", ":"), ensure_ascii=False).encode()


def decode_mention(data: str) -> Mention:
    """The mention of :func:`encode` (also reads the older object form, ``record_to_json``)."""
    if not data.startswith("["):
        return record_from_json(Mention, data)
    values = json.loads(data)
    if not isinstance(values, list) or len(values) != len(_FIELDS):
        raise ValueError(f"expected an array of {len(_FIELDS)} fields")
    (mention_id, published, text, source, kind, brand, lang, author, url, title, reach, engagement,
     duplicate_of) = values
    if not isinstance(mention_id, str) or not isinstance(text, str) or not isinstance(published, int):
        raise ValueError("id, published_at and text are required")
    return Mention(id=mention_id, published_at=from_us(published), text=text, source=source,
                   kind=None if kind is None else SourceKind(kind), brand=brand, lang=lang, author=author, url=url,
                   title=title, reach=None if reach is None else float(reach),
                   engagement=None if engagement is None else float(engagement), duplicate_of=duplicate_of)


def decode(entry_id: str | bytes, fields: dict[bytes, bytes] | None) -> Entry:
    """The entry's mention; ``error`` says why there is none. Whatever the entry holds (bytes that are not
    UTF-8, a time out of range, ``null``, nesting too deep...), this never raises: an entry that made
    reading fail would be read again, and fail again, forever, holding up the whole group. ``fields`` as
    read (bytes, :meth:`MentionStream._read`)."""
    entry_id = _text(entry_id)  # stream ids are ASCII
    if not fields:
        return Entry(id=entry_id, mention=None, error="entry without fields")
    try:
        return Entry(id=entry_id, mention=decode_mention(fields[b"m"].decode()))
    except Exception as exc:
        return Entry(id=entry_id, mention=None, error=f"not a mention record: {type(exc).__name__}: {exc}")


def _text(value: str | bytes) -> str:
    return value.decode() if isinstance(value, bytes) else value


class MentionStream:
    """One stream and its consumer group, on a client with ``decode_responses=True``."""

    def __init__(self, client: redis.Redis, keys: Keys, *, group: str = GROUP) -> None:
        self.client, self.keys, self.group = client, keys, group
        self.name = keys.stream()
        self._add = client.register_script(_FENCED_ADD)
        self._watermark = client.register_script(_WATERMARK)
        self._trim = client.register_script(_TRIM)
        self._fail = client.register_script(_FAIL)
        self._forget = client.register_script(_FORGET_CONSUMER)
        self._claim_from = "0-0"

    def ensure_group(self) -> None:
        """Create the stream and the group (reading from the very first entry) when absent."""
        try:
            self.client.xgroup_create(self.name, self.group, id="0", mkstream=True)
        except redis.ResponseError as exc:
            if "BUSYGROUP" not in str(exc):
                raise

    # -- producing -------------------------------------------------------------------------------
    def add(self, mentions: Sequence[Mention], *, fence: str | None = None) -> str | None:
        """Append mentions; return the id of the last entry (``None`` when ``mentions`` is empty).

        With ``fence`` (a lease value), raises :class:`NotLeader` unless that value holds the lease."""
        last = None
        for start in range(0, len(mentions), ADD_CHUNK):
            payload = [encode_bytes(m) for m in mentions[start:start + ADD_CHUNK]]
            try:
                last = self._add(keys=[self.name, self.keys.lease()], args=[fence or "", *payload])
            except redis.ResponseError as exc:
                if "NOTLEADER" in str(exc):
                    raise NotLeader(f"lease {fence} is no longer held: mentions not appended") from exc
                raise
        return last

    def last_id(self) -> str:
        """Id of the newest entry ever added (``0-0`` when none)."""
        try:
            info = self.client.xinfo_stream(self.name)
        except redis.ResponseError:
            return "0-0"
        return str(info["last-generated-id"])

    # -- consuming -------------------------------------------------------------------------------
    def read(self, consumer: str, *, count: int, block_ms: int | None) -> list[Entry]:
        """New entries for ``consumer`` (waits up to ``block_ms`` when there are none)."""
        return self._read(consumer, ">", count, block_ms)

    def own_pending(self, consumer: str, *, count: int) -> list[Entry]:
        """Entries delivered to ``consumer`` earlier and not acknowledged (after a crash or a lost
        connection, the same consumer name gets them back first)."""
        return self._read(consumer, "0", count, None)

    def _read(self, consumer: str, start: str, count: int, block_ms: int | None) -> list[Entry]:
        # Read as bytes (NEVER_DECODE) and decoded entry by entry (:func:`decode`): one entry that is not
        # UTF-8 would otherwise fail the whole reply, every time it is read.
        block = ["BLOCK", block_ms] if block_ms is not None else []
        reply = self.client.execute_command("XREADGROUP", "GROUP", self.group, consumer, "COUNT", count, *block,
                                            "STREAMS", self.name, start, **{NEVER_DECODE: True})
        if not reply:
            return []
        _, messages = reply[0]
        return [decode(entry_id, fields) for entry_id, fields in messages]

    def claim(self, consumer: str, *, min_idle_ms: int, count: int) -> list[Entry]:
        """Take over entries idle for ``min_idle_ms`` in any consumer's pending list (``XAUTOCLAIM``, read
        as bytes as in :meth:`_read`); entries deleted meanwhile are acknowledged."""
        reply = self.client.execute_command("XAUTOCLAIM", self.name, self.group, consumer, min_idle_ms,
                                            self._claim_from, "COUNT", count, **{NEVER_DECODE: True})
        self._claim_from = _text(reply[0])
        deleted = [_text(entry_id) for entry_id in reply[2]] if len(reply) > 2 else []
        if deleted:
            self.ack(deleted)
        return [decode(entry_id, fields) for entry_id, fields in reply[1] if fields is not None]

    def ack(self, entry_ids: Sequence[str], *, forget_failures: bool = False) -> None:
        """Acknowledge entries; ``forget_failures`` also drops their failure counts (entries retried)."""
        if not entry_ids:
            return
        if not forget_failures:
            self.client.xack(self.name, self.group, *entry_ids)
            return
        pipe = self.client.pipeline(transaction=False)
        pipe.xack(self.name, self.group, *entry_ids)
        pipe.hdel(self.keys.failures(), *entry_ids)
        pipe.execute()

    # -- watermark and trimming ------------------------------------------------------------------
    def watermark(self) -> str:
        """The first entry id not yet acknowledged by every group (``0-0`` when no group exists);
        one round trip (a script reads every group's last delivered id and oldest pending entry)."""
        return str(self._watermark(keys=[self.name]))

    def processed_through(self, entry_id: str | None) -> bool:
        """Whether every entry up to ``entry_id`` (inclusive) is acknowledged by every group."""
        return entry_id is None or parse_id(self.watermark()) > parse_id(entry_id)

    def trim(self) -> int:
        """Delete the entries every group has acknowledged; return how many were deleted (one round
        trip: the watermark is read and the stream trimmed to it by one script)."""
        return int(self._trim(keys=[self.name]))

    # -- poison entries ------------------------------------------------------------------------------
    def deliveries(self, entry_ids: Sequence[str], consumer: str) -> dict[str, int]:
        """How many times each of these entries, pending in ``consumer``'s list, was delivered
        (``XPENDING``; absent = not pending there). Only that consumer's list is read, page by page, so
        other consumers' entries in the same id range never hide these."""
        if not entry_ids:
            return {}
        ordered = sorted(entry_ids, key=parse_id)
        wanted = set(entry_ids)
        found: dict[str, int] = {}
        low, page = ordered[0], max(len(ordered), 100)
        while len(found) < len(wanted):
            rows = self.client.xpending_range(self.name, self.group, min=low, max=ordered[-1], count=page,
                                              consumername=consumer)
            for row in rows:
                if str(row["message_id"]) in wanted:
                    found[str(row["message_id"])] = int(row["times_delivered"])
            if len(rows) < page:
                break
            low = successor(str(rows[-1]["message_id"]))
        return found

    def failed(self, entry_id: str, error: str, consumer: str, *, max_failures: int) -> bool:
        """Count one failed attempt at ``entry_id``; at the ``max_failures``-th, move it to the
        dead-letter stream with ``error`` (atomically: copied, acknowledged). Whether it was moved."""
        moved = self._fail(keys=[self.name, self.keys.dead_letters(), self.keys.failures()],
                           args=[self.group, entry_id, error[:2000], consumer, max_failures, DEAD_LETTERS_KEPT])
        return bool(moved)

    def dead_letter(self, entry_id: str, error: str, consumer: str) -> None:
        """Move ``entry_id`` to the dead-letter stream now (an entry that can never be processed)."""
        self.failed(entry_id, error, consumer, max_failures=1)

    def forget_idle_consumers(self, keep: str, *, idle_ms: int) -> list[str]:
        """Remove from the group the consumers idle for ``idle_ms`` that hold no pending entry, except
        ``keep``: workers gone for good (a restarted worker is a new consumer, named ``host:pid``), which
        would otherwise pile up in the group for ever. (A live worker that received nothing all that
        time is removed too, harmlessly: ``XREADGROUP`` adds it again at its next delivered read.)
        Each one is checked and removed in one step, so a consumer that read entries meanwhile keeps
        them (removing a consumer drops its pending list)."""
        forgotten = []
        for consumer in self.client.xinfo_consumers(self.name, self.group):
            name = _text(consumer["name"])
            if name == keep or int(consumer["pending"]) or int(consumer["idle"]) < idle_ms:
                continue
            if self._forget(keys=[self.name], args=[self.group, name]):
                forgotten.append(name)
        return forgotten

    def dead_letter_count(self) -> int:
        """Entries in the dead-letter stream (the newest :data:`DEAD_LETTERS_KEPT` are kept)."""
        return int(self.client.xlen(self.keys.dead_letters()))

    def pending(self) -> int:
        """Entries delivered and not yet acknowledged in this group."""
        try:
            return int(self.client.xpending(self.name, self.group)["pending"])
        except redis.ResponseError:
            return 0


# KEYS: stream, lease. ARGV[1]: the lease value the producer believes it holds ('' = unfenced); the rest:
# mention records. All appended or none.
_FENCED_ADD = """
if ARGV[1] ~= '' and redis.call('GET', KEYS[2]) ~= ARGV[1] then return redis.error_reply('NOTLEADER') end
local last = false
for i = 2, #ARGV do last = redis.call('XADD', KEYS[1], '*', 'm', ARGV[i]) end
return last
"""

# KEYS: stream. The smallest, over every group, of (its oldest pending entry, else the successor of its last
# delivered entry); '0-0' when the stream or its groups do not exist.
_WATERMARK_OF = """
local function watermark()
if redis.call('EXISTS', KEYS[1]) == 0 then return '0-0' end
local function parse(id)
  local ms, seq = string.match(id, '^(%d+)-(%d+)$')
  return tonumber(ms), tonumber(seq)
end
local function less(a, b)
  local am, as = parse(a)
  local bm, bs = parse(b)
  return am < bm or (am == bm and as < bs)
end
local best = false
for _, g in ipairs(redis.call('XINFO', 'GROUPS', KEYS[1])) do
  local info = {}
  for i = 1, #g, 2 do info[g[i]] = g[i + 1] end
  local ms, seq = parse(info['last-delivered-id'])
  local mark = string.format('%d-%d', ms, seq + 1)
  if tonumber(info['pending']) > 0 then
    local oldest = redis.call('XPENDING', KEYS[1], info['name'])[2]
    if oldest and less(oldest, mark) then mark = oldest end
  end
  if not best or less(mark, best) then best = mark end
end
return best or '0-0'
end
"""
_WATERMARK = _WATERMARK_OF + "return watermark()\n"

# KEYS: stream. Trims it (XTRIM MINID, exact) to the watermark above; how many entries were deleted.
_TRIM = _WATERMARK_OF + """
local mark = watermark()
if mark == '0-0' then return 0 end
return redis.call('XTRIM', KEYS[1], 'MINID', mark)
"""

# KEYS: stream, dead-letter stream, failures hash. ARGV: group, entry id, error, consumer, max failures, dead
# letters kept. Counts a failure; at the max-th, acknowledges the entry and copies it (with the error) to the
# dead-letter stream, in one step: never lost between the two streams, never copied twice (an entry no longer
# pending is left alone, its count forgotten: acknowledged by another worker, it would stay in the hash for good).
_FAIL = """
if #redis.call('XPENDING', KEYS[1], ARGV[1], ARGV[2], ARGV[2], 1) == 0 then
  redis.call('HDEL', KEYS[3], ARGV[2])
  return 0
end
local count = redis.call('HINCRBY', KEYS[3], ARGV[2], 1)
if count < tonumber(ARGV[5]) then return 0 end
redis.call('HDEL', KEYS[3], ARGV[2])
if redis.call('XACK', KEYS[1], ARGV[1], ARGV[2]) == 0 then return 0 end  -- acknowledged meanwhile: done
local found = redis.call('XRANGE', KEYS[1], ARGV[2], ARGV[2])
local fields = {'id', ARGV[2], 'error', ARGV[3], 'consumer', ARGV[4], 'failures', tostring(count)}
if found[1] then
  for _, v in ipairs(found[1][2]) do fields[#fields + 1] = v end
end
redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[6], '*', unpack(fields))
return 1
"""

# KEYS: stream. ARGV: group, consumer. Removes the consumer when it holds no pending entry (1), else nothing (0).
_FORGET_CONSUMER = """
if #redis.call('XPENDING', KEYS[1], ARGV[1], '-', '+', 1, ARGV[2]) > 0 then return 0 end
redis.call('XGROUP', 'DELCONSUMER', KEYS[1], ARGV[1], ARGV[2])
return 1
"""

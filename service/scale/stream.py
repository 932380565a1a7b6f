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

import logging
from collections.abc import Sequence
from dataclasses import dataclass

import redis

from service.domain import Mention
from service.store import record_from_json, record_to_json
from service.store.keys import Keys

log = logging.getLogger("crisiswatch.scale.stream")

GROUP = "workers"
ADD_CHUNK = 500
"""Mentions appended per script call (keeps each call short for the server)."""


class NotLeader(Exception):
    """A fenced append was refused: the given lease value no longer holds the lease."""


@dataclass(frozen=True, kw_only=True, slots=True)
class Entry:
    id: str
    mention: Mention | None
    """``None`` when the entry could not be decoded (acknowledged and skipped, never retried forever)."""


def parse_id(entry_id: str) -> tuple[int, int]:
    ms, _, seq = entry_id.partition("-")
    return int(ms), int(seq or 0)


def successor(entry_id: str) -> str:
    ms, seq = parse_id(entry_id)
    return f"{ms}-{seq + 1}"


def encode(mention: Mention) -> str:
    """Every field of the mention, ``duplicate_of`` included (syndication marks survive the stream)."""
    return record_to_json(mention)


def decode(entry_id: str, fields: dict[str, str] | None) -> Entry:
    try:
        return Entry(id=entry_id, mention=record_from_json(Mention, fields["m"]) if fields else None)
    except (KeyError, TypeError, ValueError) as exc:
        log.warning("stream entry %s skipped: not a mention record (%s)", entry_id, exc)
        return Entry(id=entry_id, mention=None)


class MentionStream:
    """One stream and its consumer group, on a client with ``decode_responses=True``."""

    def __init__(self, client: redis.Redis, keys: Keys, *, group: str = GROUP) -> None:
        self.client, self.keys, self.group = client, keys, group
        self.name = keys.stream()
        self._add = client.register_script(_FENCED_ADD)
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
            payload = [encode(m) for m in mentions[start:start + ADD_CHUNK]]
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
        reply = self.client.xreadgroup(self.group, consumer, {self.name: start}, count=count, block=block_ms)
        if not reply:
            return []
        _, messages = reply[0]
        return [decode(entry_id, fields) for entry_id, fields in messages]

    def claim(self, consumer: str, *, min_idle_ms: int, count: int) -> list[Entry]:
        """Take over entries idle for ``min_idle_ms`` in any consumer's pending list (``XAUTOCLAIM``);
        entries deleted meanwhile are acknowledged."""
        reply = self.client.xautoclaim(self.name, self.group, consumer, min_idle_ms, self._claim_from, count=count)
        self._claim_from = str(reply[0])
        deleted = reply[2] if len(reply) > 2 else []
        if deleted:
            self.ack(deleted)
        return [decode(entry_id, fields) for entry_id, fields in reply[1] if fields is not None]

    def ack(self, entry_ids: Sequence[str]) -> None:
        if entry_ids:
            self.client.xack(self.name, self.group, *entry_ids)

    # -- watermark and trimming ------------------------------------------------------------------
    def watermark(self) -> str:
        """The first entry id not yet acknowledged by every group (``0-0`` when no group exists)."""
        try:
            groups = self.client.xinfo_groups(self.name)
        except redis.ResponseError:
            return "0-0"
        marks = []
        for group in groups:
            mark = successor(str(group["last-delivered-id"]))
            if int(group["pending"]):
                oldest = self.client.xpending(self.name, group["name"])["min"]
                if oldest is not None:  # acknowledged between the two calls otherwise
                    mark = min(mark, str(oldest), key=parse_id)
            marks.append(mark)
        return min(marks, key=parse_id) if marks else "0-0"

    def processed_through(self, entry_id: str | None) -> bool:
        """Whether every entry up to ``entry_id`` (inclusive) is acknowledged by every group."""
        return entry_id is None or parse_id(self.watermark()) > parse_id(entry_id)

    def trim(self) -> int:
        """Delete the entries every group has acknowledged; return how many were deleted."""
        mark = self.watermark()
        if mark == "0-0":
            return 0
        return int(self.client.xtrim(self.name, minid=mark, approximate=False))

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

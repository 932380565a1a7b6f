"""Every Redis key name crisiswatch uses, in one place.

Per-brand keys carry the brand as a ``{brand}`` hash tag, and each global structure has its own tag
(``{incidents}``, ``{outbox}``, one per seen-id shard), so every multi-key operation (Lua script,
``MULTI``) touches one hash slot and the layout works on Redis Cluster. All names start with a
configurable prefix (default ``cw:``) so several deployments can share one database.

>>> k = Keys("cw:")
>>> k.bucket_hour("peugeot", 351120)
'cw:{peugeot}:b:351120'
>>> k.outbox_line("inc-1", "brand-team")
'cw:{outbox}:line:5:inc-1:brand-team'
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass

DEFAULT_PREFIX = "cw:"


def slot_tag(name: str) -> str:
    r"""``{name}``, the Redis Cluster hash tag putting every key of a brand in one slot. A name that would
    not make a tag (empty, or starting with ``}``: Redis would hash the whole key, spreading the brand's
    keys over slots, and its atomic scripts would be refused) gets a leading backslash, as does a name
    starting with one (no two names share a tag).

    >>> slot_tag("peugeot"), slot_tag("}x"), slot_tag("")
    ('{peugeot}', '{\\}x}', '{\\}')
    """
    if not name or name[0] in "}\\":
        name = "\\" + name
    return "{" + name + "}"


@dataclass(frozen=True, slots=True)
class Keys:
    prefix: str = DEFAULT_PREFIX
    seen_shards: int = 64

    # -- mentions ----------------------------------------------------------------------------------
    def seen_shard(self, mention_id: str) -> str:
        """Hash of seen ids (field = mention id) holding ``mention_id``; ids spread over shards."""
        return f"{self.prefix}seen:{{s{zlib.crc32(mention_id.encode()) % self.seen_shards}}}"

    # -- per brand ---------------------------------------------------------------------------------
    def brands(self) -> str:
        """Set of brands that ever had buckets or detector state (filtered when listed)."""
        return f"{self.prefix}brands"

    def bucket_hour(self, brand: str, hour: int) -> str:
        """String: one brand's buckets of one hour (hours since the epoch), packed JSON (see redis.py)."""
        return f"{self.prefix}{slot_tag(brand)}:b:{hour}"

    def bucket_days(self, brand: str) -> str:
        """Sorted set of the days (score = member = days since the epoch) that have buckets."""
        return f"{self.prefix}{slot_tag(brand)}:days"

    def exemplar_hour(self, brand: str, hour: int) -> str:
        """String: one brand-hour's exemplars, compressed together (:mod:`service.store.packed`)."""
        return f"{self.prefix}{slot_tag(brand)}:xp:{hour}"

    def legacy_exemplar_hours(self, brand: str) -> str:
        """Where versions before the packed exemplars indexed the hours holding exemplars (sorted set,
        score = member = hour number); read only by pruning, which deletes the keys below."""
        return f"{self.prefix}{slot_tag(brand)}:xh"

    def legacy_exemplar_hour(self, brand: str, hour: int) -> str:
        """Previous versions' sorted set of one brand-hour's exemplars (deleted by pruning, never read)."""
        return f"{self.prefix}{slot_tag(brand)}:x:{hour}"

    def legacy_exemplar_data(self, brand: str, hour: int) -> str:
        """Previous versions' hash of one brand-hour's exemplar records (deleted by pruning, never read)."""
        return f"{self.prefix}{slot_tag(brand)}:xd:{hour}"

    def exemplar_days(self, brand: str) -> str:
        """Sorted set of the days (score = member = days since the epoch) that have exemplars."""
        return f"{self.prefix}{slot_tag(brand)}:xdays"

    def state(self, name: str, brand: str | None = None) -> str:
        """String holding a saved state as JSON; a brand's detector state sits in the brand's slot,
        the other states share the ``{state}`` slot."""
        if brand is not None:
            return f"{self.prefix}{slot_tag(brand)}:state:{name}"
        return f"{self.prefix}{{state}}:{name}"

    def legacy_state(self, name: str) -> str:
        """Where versions before the ``{state}`` tag saved the states that are not per brand (read only)."""
        return f"{self.prefix}state:{name}"

    def fenced(self, tag: str) -> str:
        """String: the largest scheduler fencing token that wrote in the slot of hash tag ``tag`` (a
        brand, ``state``, ``incidents`` or ``outbox``); a write with a smaller token is refused."""
        return f"{self.prefix}{slot_tag(tag)}:fenced"

    # -- incidents ---------------------------------------------------------------------------------
    def incident_data(self) -> str:
        """Hash: incident id -> incident JSON."""
        return f"{self.prefix}{{incidents}}:data"

    def incidents_opened(self) -> str:
        """Sorted set: incident id scored by ``opened_at`` (microseconds)."""
        return f"{self.prefix}{{incidents}}:opened"

    def incidents_open(self) -> str:
        """Hash: brand -> id of its open incident."""
        return f"{self.prefix}{{incidents}}:open"

    # -- outbox ------------------------------------------------------------------------------------
    def outbox_item(self, key: str) -> str:
        """Hash of one item: ``d`` JSON record, ``n`` next attempt, ``a`` attempts, ``t`` delivered, ``e`` error."""
        return f"{self.prefix}{{outbox}}:item:{key}"

    def outbox_line(self, incident_id: str, receiver: str) -> str:
        """Sorted set of one (incident, receiver)'s undelivered item keys, scored by ``seq``."""
        return f"{self.prefix}{{outbox}}:line:{len(incident_id)}:{incident_id}:{receiver}"

    def outbox_heads(self) -> str:
        """Sorted set of the first undelivered item of every line, scored by next attempt time."""
        return f"{self.prefix}{{outbox}}:heads"

    def outbox_schedule(self) -> str:
        """Sorted set of every undelivered item key, scored by next attempt time."""
        return f"{self.prefix}{{outbox}}:schedule"

    def outbox_pending(self) -> str:
        """Sorted set of every undelivered item key, scored by ``created_at``."""
        return f"{self.prefix}{{outbox}}:pending"

    # -- silences ----------------------------------------------------------------------------------
    def silences(self) -> str:
        """Hash: silence id -> silence JSON (a few hundred at most; filtered when read)."""
        return f"{self.prefix}silences"

    # -- small values ------------------------------------------------------------------------------
    def ref(self, name: str) -> str:
        return f"{self.prefix}ref:{name}"

    def cursor(self, source: str) -> str:
        return f"{self.prefix}cursor:{source}"

    # -- scale-out (service/scale): the mention stream, its lease and per-brand processed markers ----
    # The stream, the scheduler lease and the fencing counter share the ``{stream}`` tag, so the
    # fenced XADD script touches one slot; processed markers sit in their brand's slot, next to the
    # buckets they guard, so marking a mention and counting it are one atomic script.
    def stream(self) -> str:
        """Stream of collected mentions (field ``m`` = mention record JSON) read by a consumer group."""
        return f"{self.prefix}{{stream}}:mentions"

    def dead_letters(self) -> str:
        """Stream of the entries no worker could process (poison entries), with the error: field ``id``
        (the original entry id), ``error``, ``consumer``, ``deliveries``, then the original fields."""
        return f"{self.prefix}{{stream}}:dead"

    def failures(self) -> str:
        """Hash: stream entry id -> how many times processing it failed (until it is acknowledged)."""
        return f"{self.prefix}{{stream}}:failures"

    def lease(self) -> str:
        """String ``<fencing token>:<holder>`` with a TTL: the active scheduler (``SET NX PX``)."""
        return f"{self.prefix}{{stream}}:lease"

    def fence(self) -> str:
        """Counter incremented at every lease acquisition: the fencing token of the new holder."""
        return f"{self.prefix}{{stream}}:fence"

    def processed(self, brand: str, day: int) -> str:
        """Set of the mention ids of ``brand`` published on ``day`` (days since the epoch) already
        counted in its buckets; expires a few days after the last mention of that day was counted."""
        return f"{self.prefix}{slot_tag(brand)}:done:{day}"

    def processed_scratch(self, brand: str, call: str) -> str:
        """Set a count-once script (``call``: unique to the call) fills with its batch's ids to look for them
        in the processed sets, and deletes before it returns."""
        return f"{self.prefix}{slot_tag(brand)}:donecheck:{call}"

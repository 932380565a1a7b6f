"""The scheduler's fast paths read back exactly what the plain ones did: stream records written by
msgspec, detector states written by msgspec, prefetched brand-hours reused only while unchanged."""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from service.domain import Bucket, Mention, SourceKind
from service.scale.stream import decode_mention, encode, encode_bytes
from service.store import state_json
from service.store.redis import RedisStore

T0 = datetime(2024, 11, 18, 6, 0, tzinfo=UTC)


def _old_encode(m: Mention) -> str:
    """The stream record as ``json.dumps`` wrote it before msgspec."""
    from service.store import to_us

    return json.dumps([m.id, to_us(m.published_at), m.text, m.source, None if m.kind is None else str(m.kind),
                       m.brand, m.lang, m.author, m.url, m.title, m.reach, m.engagement, m.duplicate_of],
                      separators=(",", ":"), ensure_ascii=False)


MENTIONS = [
    Mention(id="a", published_at=T0, text="Peugeot \u00e9chec \u2028 \"quoted\" \\ \n tab\t \U0001f600", lang="fr",
            source="twitter", kind=next(iter(SourceKind)), brand="peugeot", author="x", url="https://e/x",
            title="t", reach=1e16, engagement=0.1, duplicate_of="b"),
    Mention(id="b", published_at=T0 + timedelta(microseconds=7), text="plain", source="rss"),
    Mention(id="c", published_at=T0, text="huge", source="rss", reach=-0.0, engagement=123456789.125),
]


@pytest.mark.parametrize("mention", MENTIONS, ids=lambda m: m.id)
def test_stream_records_decode_to_what_json_dumps_wrote(mention: Mention) -> None:
    fast = encode_bytes(mention)
    assert json.loads(fast) == json.loads(_old_encode(mention))
    assert encode(mention) == fast.decode()
    assert decode_mention(encode(mention)) == decode_mention(_old_encode(mention)) == mention


@pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf])
def test_a_non_finite_reach_or_engagement_survives_the_stream(value: float) -> None:
    # msgspec would write these as null (None once read): json.dumps keeps them.
    back = decode_mention(encode(Mention(id="n", published_at=T0, text="x", source="rss", reach=value,
                                         engagement=value)))
    assert back.reach is not None and back.engagement is not None
    assert (math.isnan(back.reach) and math.isnan(value)) or back.reach == value
    assert (math.isnan(back.engagement) and math.isnan(value)) or back.engagement == value


STATES: list[dict[str, Any]] = [
    {"version": 1, "history": [1.0, None, 2.5, 0.1 + 0.2, 1e16, -0.0], "nested": {"a": [0, 1], "b": None},
     "name": "caf\u00e9", "flag": True, "big": 2**70},
    {"level": math.nan, "tail": [math.inf, -math.inf]},
    {"pair": (1, 2)},
    {5: "int key"},
]


@pytest.mark.parametrize("state", STATES)
def test_states_read_back_as_json_dumps_wrote_them(state: dict[str, Any]) -> None:
    fast, plain = json.loads(state_json(state)), json.loads(json.dumps(state, separators=(",", ":")))
    assert json.dumps(fast, sort_keys=True) == json.dumps(plain, sort_keys=True)  # NaN-safe comparison


def test_a_state_json_cannot_write_still_raises() -> None:
    with pytest.raises(TypeError):
        state_json({"when": {1, 2}})  # msgspec would write a list: refused, as json.dumps does
    with pytest.raises(TypeError):
        state_json({"when": T0})


def test_prefetch_reuses_an_hour_only_while_it_is_unchanged(clean_redis_url: str) -> None:
    store = RedisStore(clean_redis_url)
    try:
        store.add_to_buckets([Bucket(brand="peugeot", start=T0, count=2, negative=1)])
        window = {"peugeot": (T0 - timedelta(hours=2), T0 + timedelta(hours=2))}
        with store.prefetched(window):
            first = store.buckets("peugeot", T0 - timedelta(hours=1), T0 + timedelta(hours=1))
        assert [(b.start, b.count, b.negative) for b in first] == [(T0, 2, 1)]
        with store.prefetched(window):  # unchanged: the same (immutable) buckets again
            again = store.buckets("peugeot", T0 - timedelta(hours=1), T0 + timedelta(hours=1))
        assert again == first and again[0] is first[0]
        store.add_to_buckets([Bucket(brand="peugeot", start=T0, count=3, negative=3),
                              Bucket(brand="peugeot", start=T0 + timedelta(minutes=5), count=1)])
        with store.prefetched(window):  # the hour changed: read and parsed anew
            later = store.buckets("peugeot", T0 - timedelta(hours=1), T0 + timedelta(hours=1))
        assert [(b.start, b.count, b.negative) for b in later] == [(T0, 5, 4), (T0 + timedelta(minutes=5), 1, 0)]
        assert later == store.buckets("peugeot", T0 - timedelta(hours=1), T0 + timedelta(hours=1))
    finally:
        store.close()

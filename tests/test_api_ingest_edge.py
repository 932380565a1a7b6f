"""``POST /v1/mentions`` edge cases through the real HTTP server: gzip members and truncation, NDJSON line
ends, nesting and huge numbers, pretty-printed bodies, Content-Encoding, BOM, token whitespace, parsing off
the event loop; and a bad gzip body on ``/slack/actions``.
"""

from __future__ import annotations

import gzip
import json
import sys
import threading
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from service.api import ingest
from service.api.embed import ServiceThread
from service.app import Service
from service.clock import SimulatedClock
from service.config import load_config
from tests.test_api import START, post, record, synthetic_mentions, tagged, write_config
from tests.test_api import running as shared_running

running = shared_running  # the same module-scoped service fixture: one service for this module's tests

GZIP = {"Content-Encoding": "gzip"}


def lines_of(tag: str, count: int) -> list[str]:
    return [json.dumps(record(m)) for m in tagged(synthetic_mentions()[:count], tag)]


def raw_record(mention_id: str, text: str = "acme news") -> dict[str, Any]:
    return {"id": mention_id, "published_at": "2024-03-04T00:00:00+00:00", "text": text}


def counts(response: httpx.Response) -> tuple[int, int, int]:
    assert response.status_code == 202, response.text
    body = response.json()
    return body["accepted"], body["rejected"], body["new"]


# --- gzip -------------------------------------------------------------------------------------------------

def test_concatenated_gzip_members_are_all_read(running: ServiceThread) -> None:
    lines = lines_of("members", 5)
    body = b"".join(gzip.compress((line + "\n").encode()) for line in lines)  # cat 1.gz 2.gz ... 5.gz
    assert counts(post(running.url, body, **GZIP)) == (5, 0, 5)
    padded = gzip.compress(f"{lines[0]}\n".encode()) + b"\0" * 512 + gzip.compress(f"{lines[1]}\n".encode())
    response = post(running.url, padded + b"\0" * 100, **GZIP)  # zero padding, as gzip(1) tolerates
    assert response.status_code == 202 and response.json()["duplicates"] == 2, response.text


def test_gzip_limit_counts_every_member(running: ServiceThread, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ingest, "MAX_BODY", 4096)
    member = gzip.compress(b"\n" * 3000)  # each member alone is within the limit, the two are not
    response = post(running.url, member + member, **GZIP)
    assert response.status_code == 413, response.text
    assert "after decompression" in response.json()["error"]


def test_truncated_gzip_is_refused_and_nothing_ingested(running: ServiceThread) -> None:
    lines = lines_of("cut", 6)
    deflater = zlib.compressobj(wbits=16 + zlib.MAX_WBITS)
    head = deflater.compress("".join(f"{line}\n" for line in lines[:3]).encode()) + deflater.flush(zlib.Z_SYNC_FLUSH)
    whole = head + deflater.compress("".join(f"{line}\n" for line in lines[3:]).encode()) + deflater.flush()
    assert zlib.decompressobj(16 + zlib.MAX_WBITS).decompress(head).count(b"\n") == 3  # a cut on a line end
    for cut in (head, whole[:-4], whole[: len(whole) // 2]):
        response = post(running.url, cut, **GZIP)
        assert response.status_code == 400, response.text
        assert response.json()["error"] == ("truncated gzip body: the stream ends inside a member; nothing was "
                                            "ingested, send the whole body again")
    assert counts(post(running.url, whole, **GZIP)) == (6, 0, 6)  # none of the cut attempts counted


def test_corrupt_gzip_is_400(running: ServiceThread) -> None:
    good = gzip.compress(f"{lines_of('corrupt', 1)[0]}\n".encode())
    for body in (b"this is not gzip", good + b"trailing garbage"):
        response = post(running.url, body, **GZIP)
        assert response.status_code == 400, response.text
        assert response.json()["error"].startswith("invalid gzip body")


def test_gunzip_reads_members_across_chunk_boundaries() -> None:
    parts = [(f"{i:04d}" * (i * 97 % 700)).encode() for i in range(60)]  # lengths straddle GZIP_CHUNK
    body = b"".join(gzip.compress(part, compresslevel=1 + i % 9) for i, part in enumerate(parts))
    assert ingest.gunzip(body, 10**7) == b"".join(parts)
    with pytest.raises(ingest.BodyTooLarge):
        ingest.gunzip(body, len(b"".join(parts)) - 1)


# --- NDJSON lines, nesting, numbers -------------------------------------------------------------------------

def test_unicode_line_separators_inside_strings_do_not_split_lines(running: ServiceThread) -> None:
    texts = ["acme recall\u2028second line", "acme \u2029 paragraph", "acme \x85 next line"]
    lines = [json.dumps(raw_record(f"sep{i}", text), ensure_ascii=False) for i, text in enumerate(texts)]
    body = "\r\n".join([*lines, "{broken", "", json.dumps(raw_record("sep-no-text") | {"text": 1})]) + "\r\n"
    response = post(running.url, body.encode())
    assert counts(response) == (3, 2, 3)
    assert [e["line"] for e in response.json()["errors"]] == [4, 6]  # the client's line numbers
    assert response.json()["errors"][1]["reason"] == "text: required string"


def test_deep_nesting_is_a_clear_400(running: ServiceThread) -> None:
    response = post(running.url, b"[" * 100_000 + b"]" * 100_000)
    assert response.status_code == 400, response.text
    assert response.json()["error"] == "invalid JSON array: arrays or objects nested too deeply"
    good = lines_of("deep", 1)[0]
    response = post(running.url, f"{good}\n{'[' * 50_000}{']' * 50_000}\n")
    assert counts(response) == (1, 1, 1)
    assert response.json()["errors"] == [{"line": 2, "reason": "invalid JSON: arrays or objects nested too deeply"}]


def test_a_huge_integer_rejects_only_its_line(running: ServiceThread) -> None:
    good = lines_of("huge", 2)
    huge = '{"id": "huge-x", "published_at": "2024-03-04T00:00:00Z", "text": "acme", "reach": ' + "9" * 5000 + "}"
    response = post(running.url, "\n".join([good[0], huge, good[1]]))
    assert counts(response) == (2, 1, 2)
    reason = f"an integer with more than {sys.get_int_max_str_digits()} digits"
    assert response.json()["errors"] == [{"line": 2, "reason": f"invalid JSON: {reason}"}]
    in_array = post(running.url, "[" + ",".join([good[0], huge]) + "]")  # an array is one JSON value
    assert (in_array.status_code, in_array.json()) == (400, {"error": f"invalid JSON array: {reason}"})


@pytest.mark.parametrize("records", [1, 3])
def test_pretty_printed_json_gets_one_clear_error(running: ServiceThread, records: int) -> None:
    body = "\n".join(json.dumps(raw_record(f"pretty{i}"), indent=2) for i in range(records))
    response = post(running.url, body)
    assert response.status_code == 400, response.text
    assert response.json()["error"] == ("one JSON value is written over several lines (pretty-printed?): send one "
                                        "record per line (NDJSON, e.g. jq -c) or a JSON array of records")


# --- encodings, BOM, token --------------------------------------------------------------------------------

@pytest.mark.parametrize("coding", ["deflate", "br", "gzip, gzip", "compress"])
def test_unsupported_content_encoding_is_415(running: ServiceThread, coding: str) -> None:
    response = post(running.url, zlib.compress(lines_of("enc", 1)[0].encode()), **{"Content-Encoding": coding})
    assert response.status_code == 415, response.text
    assert response.json()["error"] == f"unsupported Content-Encoding {coding!r}: send gzip or identity"


def test_gzip_and_identity_spellings_are_accepted(running: ServiceThread) -> None:
    lines = lines_of("spell", 3)
    assert counts(post(running.url, lines[0], **{"Content-Encoding": "identity"})) == (1, 0, 1)
    assert counts(post(running.url, gzip.compress(lines[1].encode()), **{"Content-Encoding": "GZIP"})) == (1, 0, 1)
    assert counts(post(running.url, gzip.compress(lines[2].encode()), **{"Content-Encoding": "x-gzip"})) == (1, 0, 1)


def test_a_utf8_bom_is_accepted(running: ServiceThread) -> None:
    lines = lines_of("bom", 3)
    bom = "\ufeff".encode()
    assert counts(post(running.url, bom + f"{lines[0]}\n{lines[1]}\n".encode())) == (2, 0, 2)
    assert counts(post(running.url, bom + f"[{lines[2]}]".encode())) == (1, 0, 1)
    assert counts(post(running.url, gzip.compress(bom + lines[0].encode()), **GZIP))[:2] == (1, 0)


def test_not_utf8_says_where(running: ServiceThread) -> None:
    head = lines_of("latin", 1)[0].encode() + b'\n{"text": "caf'
    response = post(running.url, head + b'\xe9"}')  # Latin-1, not UTF-8
    assert response.status_code == 400, response.text
    assert response.json()["error"] == f"body is not UTF-8 text (invalid byte at offset {len(head)})"


def test_configured_token_is_compared_without_surrounding_whitespace(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("CRISISWATCH_STORE", "SLACK_BOT_TOKEN", "SLACK_WEBHOOK_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("CRISISWATCH_INGEST_TOKEN", "file-token-abcdef\n")  # read from a mounted secret file
    config = load_config(write_config(tmp_path, token='""'))
    with ServiceThread(Service(config, clock=SimulatedClock(START), notifiers={})) as thread:
        line = lines_of("ws", 1)[0]
        assert post(thread.url, line, token="file-token-abcdef").status_code == 202
        assert post(thread.url, line, token="file-token-abcde").status_code == 401
        monkeypatch.setenv("CRISISWATCH_INGEST_TOKEN", " \n")  # blank: no token, not an empty one
        refused = post(thread.url, line, token="anything")
        assert refused.status_code == 503 and "no token configured" in refused.json()["error"]


# --- the event loop ---------------------------------------------------------------------------------------

def test_parsing_runs_off_the_event_loop(running: ServiceThread, monkeypatch: pytest.MonkeyPatch) -> None:
    """While one body is being parsed the server still answers: parsing holds a worker thread only."""
    entered, release = threading.Event(), threading.Event()
    real = ingest.parse_bytes

    def held(body: bytes) -> ingest.Parsed:
        entered.set()
        release.wait(20)
        return real(body)

    monkeypatch.setattr(ingest, "parse_bytes", held)
    outcome: list[httpx.Response] = []
    sender = threading.Thread(target=lambda: outcome.append(post(running.url, lines_of("loop", 1)[0])))
    sender.start()
    try:
        assert entered.wait(20)
        assert httpx.get(f"{running.url}/healthz", timeout=5).json()["status"] == "ok"
    finally:
        release.set()
        sender.join(30)
    assert counts(outcome[0]) == (1, 0, 1)


# --- /slack/actions ---------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def slack_running(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServiceThread]:
    with pytest.MonkeyPatch.context() as patch:
        for name in ("CRISISWATCH_INGEST_TOKEN", "CRISISWATCH_STORE", "SLACK_BOT_TOKEN", "SLACK_WEBHOOK_URL"):
            patch.delenv(name, raising=False)
        patch.setenv("SLACK_SIGNING_SECRET", "slack-edge-secret-0123456789")
        config = load_config(write_config(tmp_path_factory.mktemp("slack-edge")))
        with ServiceThread(Service(config, clock=SimulatedClock(START), notifiers={})) as thread:
            yield thread


@pytest.mark.parametrize(("body", "coding", "status", "start"), [
    (b"not gzip at all", "gzip", 400, "invalid gzip body"),
    (gzip.compress(b"payload=%7B%7D" * 50)[:-12], "gzip", 400, "truncated gzip body"),
    (b"payload=%7B%7D", "br", 415, "unsupported Content-Encoding"),
], ids=["corrupt", "truncated", "brotli"])
def test_slack_actions_bad_body_is_not_called_too_large(slack_running: ServiceThread, body: bytes, coding: str,
                                                        status: int, start: str) -> None:
    response = httpx.post(f"{slack_running.url}/slack/actions", content=body, timeout=30,
                          headers={"Content-Encoding": coding, "Content-Type": "application/x-www-form-urlencoded"})
    assert response.status_code == status, response.text
    assert response.json()["error"].startswith(start)
    too_large = httpx.post(f"{slack_running.url}/slack/actions", content=gzip.compress(b"a" * 100_000), timeout=30,
                           headers={"Content-Encoding": "gzip"})
    assert too_large.status_code == 413


def test_the_token_comes_from_the_environment_over_the_file_whitespace_ignored(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = load_config(write_config(tmp_path))
    assert config.ingest_token is not None
    from_file = config.ingest_token.reveal().strip()
    monkeypatch.setenv("CRISISWATCH_INGEST_TOKEN", " \n")  # blank: the file's token stands
    assert ingest.configured_token(config) == from_file
    monkeypatch.setenv("CRISISWATCH_INGEST_TOKEN", "env-token\n")
    assert ingest.configured_token(config) == "env-token"


def test_data_after_the_gzip_stream_is_named_as_such() -> None:
    body = gzip.compress(b'{"id": "a"}\n') + b"\n"
    with pytest.raises(ingest.BodyError, match="data after the end of the gzip stream"):
        ingest.gunzip(body, 1 << 20)
    assert ingest.gunzip(gzip.compress(b"x") + gzip.compress(b"y") + b"\0\0", 1 << 20) == b"xy"

"""Hostile input on the HTTP API through the real server: unpaired UTF-16 surrogates and duplicate keys
in pushed records, and secrets in what ``/readyz`` and ``/api/sources`` show."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest

from service.api.embed import ServiceThread
from service.app import Service
from service.clock import SimulatedClock
from service.config import load_config
from tests.test_api import START, TOKEN, post, write_config
from tests.test_api import running as shared_running

running = shared_running  # the module-scoped service of tests/test_api.py

KEY = "yt-Key-0123456789abcdef"
AT = '"published_at":"2024-03-04T00:00:00Z"'


def line(mention_id: str, extra: str = "", text: str = "acme opens a store") -> str:
    """One NDJSON record written by hand (``json.dumps`` cannot write an unpaired surrogate escape)."""
    return f'{{"id":"{mention_id}",{AT},"text":"{text}"{extra}}}'


def answer(response: httpx.Response) -> dict[str, object]:
    assert response.status_code == 202, response.text
    body: dict[str, object] = response.json()
    return body


# --- unpaired surrogates --------------------------------------------------------------------------------
def test_an_unpaired_surrogate_in_an_id_rejects_only_its_record(running: ServiceThread) -> None:
    body = "\n".join([line("sur-ok-1"), line("sur-bad-\\udc00"), line("sur-ok-2")]) + "\n"
    got = answer(post(running.url, body))
    assert (got["accepted"], got["rejected"], got["new"]) == (2, 1, 2)
    assert got["errors"] == [{"line": 2, "reason": "id: holds an unpaired UTF-16 surrogate (\\udc00): not valid "
                                                   "Unicode"}]


@pytest.mark.parametrize("field", ["text", "title", "author", "source", "url"])
def test_an_unpaired_surrogate_in_free_text_is_replaced_and_nothing_breaks(running: ServiceThread,
                                                                            field: str) -> None:
    """A text cut in the middle of an emoji's surrogate pair (a JavaScript ``substring``) is kept, with
    U+FFFD in place of the half character; the store, the metrics and the dashboard keep working."""
    value = "Acme recall: the brakes fail, terrible \\ud83d"
    extra = "" if field == "text" else f',"{field}":"{value}"'
    text = value if field == "text" else "Acme recall: the brakes fail, terrible"
    body = "\n".join([line(f"sur-{field}-1", extra, text), line(f"sur-{field}-2")]) + "\n"
    got = answer(post(running.url, body))
    assert (got["accepted"], got["rejected"], got["new"]) == (2, 0, 2)
    assert httpx.get(f"{running.url}/metrics", timeout=15).status_code == 200
    assert httpx.get(f"{running.url}/api/brands", timeout=15).status_code == 200


def test_an_unpaired_surrogate_in_an_array_rejects_only_its_record(running: ServiceThread) -> None:
    body = "[" + ",".join([line("sura-ok"), line("sura-bad-\\ud800")]) + "]"
    got = answer(post(running.url, body))
    assert (got["accepted"], got["rejected"]) == (1, 1)
    assert got["errors"][0]["line"] == 2  # type: ignore[index]


def test_a_surrogate_pair_escape_is_a_character(running: ServiceThread) -> None:
    got = answer(post(running.url, line("sur-pair", text="acme \\ud83d\\ude00 great") + "\n"))
    assert (got["accepted"], got["rejected"]) == (1, 0)


# --- duplicate keys -------------------------------------------------------------------------------------
def test_a_duplicate_key_rejects_its_record(running: ServiceThread) -> None:
    """``{"id": "a", ..., "id": "b"}``: a proxy or a validator in front may read the first, Python reads the
    last; the record is ambiguous and refused on its own."""
    body = "\n".join([line("dup-a", ',"id":"dup-b"'), line("dup-ok")]) + "\n"
    got = answer(post(running.url, body))
    assert (got["accepted"], got["rejected"]) == (1, 1)
    assert got["errors"] == [{"line": 1, "reason": 'duplicate key "id" (a record names each field once)'}]


def test_a_duplicate_key_in_an_array_rejects_its_record(running: ServiceThread) -> None:
    body = "[" + ",".join([line("dupa-ok"), line("dupa-x", ',"text":"other"')]) + "]"
    got = answer(post(running.url, body))
    assert (got["accepted"], got["rejected"]) == (1, 1)
    assert got["errors"] == [{"line": 2, "reason": 'duplicate key "text" (a record names each field once)'}]


def test_a_duplicate_key_inside_an_ignored_field_is_harmless(running: ServiceThread) -> None:
    got = answer(post(running.url, line("dup-nested", ',"extra":{"a":1,"a":2}') + "\n"))
    assert (got["accepted"], got["rejected"]) == (1, 0)


# --- secrets in what the API shows ----------------------------------------------------------------------
def test_readyz_does_not_show_the_password_of_a_refused_store_url(tmp_path: Path,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("CRISISWATCH_INGEST_TOKEN", "CRISISWATCH_STORE", "CRISISWATCH_LISTEN"):
        monkeypatch.delenv(name, raising=False)
    path = write_config(tmp_path)
    service = Service(load_config(path), clock=SimulatedClock(START), notifiers={})
    with ServiceThread(service) as served:
        text = path.read_text(encoding="utf-8")
        store_line = next(row for row in text.splitlines() if row.startswith("store:"))
        path.write_text(text.replace(store_line, 'store: "valkey://:Hunter2-Store-Pw@cache.internal:6379/0"'),
                        encoding="utf-8")
        assert service.reload() is False
        ready = httpx.get(f"{served.url}/readyz", timeout=15).json()
        assert "unsupported store URL" in ready["last_reload_error"]
        assert "Hunter2-Store-Pw" not in json.dumps(ready)


class _Refusing(BaseHTTPRequestHandler):
    """An API that quotes the refused key in its status line."""

    def do_GET(self) -> None:
        self.send_response(403, f"API key {KEY} is not valid")
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:
        pass


def test_api_sources_masks_a_secret_quoted_by_an_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A server's error text may quote the key it refused: the logs and the ops alerts mask it, and so must
    the dashboard's source health."""
    for name in ("CRISISWATCH_INGEST_TOKEN", "CRISISWATCH_STORE", "CRISISWATCH_LISTEN"):
        monkeypatch.delenv(name, raising=False)
    api = ThreadingHTTPServer(("127.0.0.1", 0), _Refusing)
    threading.Thread(target=api.serve_forever, daemon=True).start()
    try:
        extra = (f"sources:\n  yt:\n    type: youtube\n    query: acme\n    key: {KEY}\n"
                 f"    url: http://127.0.0.1:{api.server_address[1]}/youtube\n    enabled: false\n")
        service = Service(load_config(write_config(tmp_path, extra=extra)), clock=SimulatedClock(START),
                          notifiers={})
        with ServiceThread(service) as served:
            assert service.runner.run_source("yt").consecutive_failures == 1
            shown = httpx.get(f"{served.url}/api/sources", timeout=15).text
    finally:
        api.shutdown()
        api.server_close()
    assert "HTTP 403" in shown
    assert KEY not in shown


# --- content types --------------------------------------------------------------------------------------
def test_a_multipart_upload_is_refused_not_half_read(running: ServiceThread) -> None:
    """``curl -F file=@mentions.ndjson`` wraps the records in form parts: its boundary and header lines are
    not records, and a gzip file inside is not read at all. One 415 says how to send the file instead."""
    files = {"file": ("m.ndjson", (line("mp-1") + "\n").encode(), "application/x-ndjson")}
    request = httpx.Request("POST", f"{running.url}/v1/mentions", files=files,
                            headers={"Authorization": f"Bearer {TOKEN}"})
    with httpx.Client(timeout=30) as client:
        response = client.send(request)
    assert response.status_code == 415, response.text
    assert "--data-binary" in response.json()["error"]


@pytest.mark.parametrize("charset", ["utf-16", "iso-8859-1", "windows-1252"])
def test_a_charset_other_than_utf8_is_refused(running: ServiceThread, charset: str) -> None:
    response = post(running.url, line("cs-1") + "\n", **{"Content-Type": f"application/x-ndjson; charset={charset}"})
    assert response.status_code == 415, response.text
    assert "UTF-8" in response.json()["error"]


@pytest.mark.parametrize("content_type", ["", "application/json", "application/x-ndjson; charset=UTF-8",
                                          "application/jsonl", "text/plain; charset=utf-8",
                                          "application/x-www-form-urlencoded", "application/octet-stream"])
def test_usual_content_types_are_read(running: ServiceThread, content_type: str) -> None:
    headers = {"Content-Type": content_type} if content_type else {}
    got = answer(post(running.url, line(f"ct-{len(content_type)}-{content_type[:8]}") + "\n", **headers))
    assert got["accepted"] == 1


# --- metrics --------------------------------------------------------------------------------------------
def test_a_huge_source_name_does_not_bloat_the_metrics(running: ServiceThread) -> None:
    """Pushed mentions name their source freely (up to the 100,000 characters of a text): its label on
    ``/metrics`` is cut, or 200 such names would make every scrape tens of megabytes."""
    before = len(httpx.get(f"{running.url}/metrics", timeout=15).content)
    source = "s" * 50_000
    answer(post(running.url, line("huge-source", f',"source":"{source}"') + "\n"))
    after = httpx.get(f"{running.url}/metrics", timeout=15).text
    assert len(after.encode()) - before < 2_000
    assert 'crisiswatch_mentions_total{source="sss' in after


# --- dashboard ------------------------------------------------------------------------------------------
def test_a_pushed_brand_with_a_slash_has_its_series(running: ServiceThread) -> None:
    """``acme/eu`` is a valid brand (printable, one line): the dashboard asks for its series with the name
    percent-encoded, which the server decodes before routing; a 404 there failed every chart of the page."""
    answer(post(running.url, line("slash-brand", ',"brand":"Acme/EU"') + "\n"))
    assert "acme/eu" in {b["brand"] for b in httpx.get(f"{running.url}/api/brands", timeout=15).json()}
    response = httpx.get(f"{running.url}/api/brands/acme%2Feu/series", params={"range": "24h"}, timeout=15)
    assert response.status_code == 200, response.text
    assert response.json()["brand"] == "acme/eu"

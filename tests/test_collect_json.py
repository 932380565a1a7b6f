"""The declarative ``json`` source (Zendesk-shaped pages) and the ``jsonl`` drop folder."""

from __future__ import annotations

import gzip
import json
import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from service.collect.base import CollectError, ParseError
from service.collect.dropfolder import DropFolderCollector
from service.collect.jsonmap import parse_mapped
from service.collect.registry import build_collector, check_options
from service.config import SourceConfig
from service.domain import SourceKind

FEEDS = Path(__file__).parent / "fixtures" / "feeds"
NOW = datetime(2026, 11, 26, 10, 0, tzinfo=UTC)
ZENDESK = {"url": "https://acme.zendesk.com/api/v2/search.json", "params": {"query": "type:ticket rappel"},
           "token": "zd-token", "items": "results", "next": "next_page", "max_pages": 3,
           "fields": {"id": "id", "text": ["subject", "description"], "time": "created_at", "url": "url",
                      "title": "subject"}}


def source(type_: str, options: dict, **changes: object) -> SourceConfig:
    values: dict[str, object] = {"name": "support", "type": type_, "kind": SourceKind.SUPPORT,
                                 "interval": timedelta(minutes=5), "timeout": timedelta(seconds=5), "options": options}
    values.update(changes)
    return SourceConfig(**values)  # type: ignore[arg-type]


def test_mapping_turns_items_into_mentions() -> None:
    mentions = parse_mapped((FEEDS / "zendesk_search_page1.json").read_bytes(), source=source("json", ZENDESK))
    first = mentions[0]
    assert first.id == "json:support:35436" and first.kind is SourceKind.SUPPORT
    assert first.text.startswith("Rappel 3008 : aucun rendez-vous avant janvier\nBonjour, j'ai reçu")
    assert first.published_at == datetime(2026, 11, 26, 9, 12, 40, tzinfo=UTC)
    assert first.url == "https://acme.zendesk.com/api/v2/tickets/35436.json"


def test_items_path_must_lead_to_a_list() -> None:
    with pytest.raises(ParseError, match="items at 'results' is not a list"):
        parse_mapped(b'{"results": {"id": 1}}', source=source("json", ZENDESK))


def test_pagination_follows_next_page_with_the_token() -> None:
    pages = {"1": (FEEDS / "zendesk_search_page1.json").read_bytes(),
             "2": (FEEDS / "zendesk_search_page2.json").read_bytes()}
    requests: list[httpx.Request] = []

    def api(request: httpx.Request) -> httpx.Response:
        requests.append(request)
        return httpx.Response(200, content=pages[request.url.params.get("page", "1")])

    collector = build_collector(source("json", ZENDESK), httpx.Client(transport=httpx.MockTransport(api)))
    result = collector.collect(None, NOW)
    assert [m.id for m in result.mentions] == ["json:support:35436", "json:support:35431", "json:support:35410"]
    assert len(requests) == 2 and requests[0].headers["Authorization"] == "Bearer zd-token"
    assert requests[0].url.params["query"] == "type:ticket rappel"
    again = collector.collect(result.cursor, NOW + timedelta(minutes=5))
    assert again.mentions == () and len(requests) == 3  # page 1 brings nothing new: page 2 not asked


def test_a_later_page_that_fails_keeps_the_pages_before_it_and_is_fetched_next_run() -> None:
    """Page 2 answers 429 (wait an hour): page 1's mentions are delivered now, and the next run walks
    past page 1 (all seen) to page 2 rather than stopping there and skipping page 2 for good."""
    pages = {"1": (FEEDS / "zendesk_search_page1.json").read_bytes(),
             "2": (FEEDS / "zendesk_search_page2.json").read_bytes()}
    limited = [True]
    requests: list[httpx.Request] = []

    def api(request: httpx.Request) -> httpx.Response:
        requests.append(request)
        page = request.url.params.get("page", "1")
        if page == "2" and limited[0]:
            return httpx.Response(429, headers={"Retry-After": "3600"})
        return httpx.Response(200, content=pages[page])

    collector = build_collector(source("json", ZENDESK), httpx.Client(transport=httpx.MockTransport(api)))
    first = collector.collect(None, NOW)
    assert [m.id for m in first.mentions] == ["json:support:35436", "json:support:35431"]
    assert first.cursor["resume"] is True
    limited[0] = False
    second = collector.collect(first.cursor, NOW + timedelta(hours=1))
    assert [m.id for m in second.mentions] == ["json:support:35410"]
    assert "resume" not in second.cursor
    third = collector.collect(second.cursor, NOW + timedelta(hours=2))
    assert third.mentions == () and [r.url.params.get("page", "1") for r in requests[-1:]] == ["1"]


def test_a_first_page_that_fails_fails_the_run() -> None:
    collector = build_collector(source("json", ZENDESK), httpx.Client(transport=httpx.MockTransport(
        lambda request: httpx.Response(429, headers={"Retry-After": "3600"}))))
    with pytest.raises(CollectError):
        collector.collect(None, NOW)


def test_cursor_parameter_pagination() -> None:
    answers = iter([b'{"data": [{"k": "a", "t": 1795680000, "m": "one"}], "meta": {"after": "c1"}}',
                    b'{"data": [{"k": "b", "t": 1795680060, "m": "two"}], "meta": {"after": null}}'])
    seen: list[httpx.Request] = []

    def api(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, content=next(answers))

    options = {"url": "https://api.example.org/v1/messages", "items": "data", "cursor_param": "page[after]",
               "cursor": "meta.after", "max_pages": 5, "fields": {"id": "k", "text": "m", "time": "t"}}
    result = build_collector(source("json", options), httpx.Client(transport=httpx.MockTransport(api))).collect(
        None, NOW)
    assert [m.text for m in result.mentions] == ["one", "two"]
    assert seen[1].url.params["page[after]"] == "c1" and len(seen) == 2


def test_json_options_are_checked() -> None:
    assert check_options("json", ZENDESK) == []
    assert check_options("json", {"url": "https://x.example.org", "fields": {"id": "id", "text": 3}}) == [
        ("fields", 'option "fields" needs the paths time')]
    assert check_options("json", {"url": "https://x.example.org", "fields": {"id": "id", "text": 3, "time": "t"}}) \
        == [("fields", 'option "fields" field "text" must be a path string or a list of them')]
    assert check_options("json", {"url": "https://x.example.org",
                                  "fields": {"id": "i", "text": "t", "time": "c", "likes": "l"}}) == [
        ("fields", 'option "fields" has unknown fields likes (known: id, text, time, author, url, title, lang, '
                   'reach, engagement)')]


# -- jsonl drop folder ----------------------------------------------------------------------------

def _write(path: Path, lines: list[str], *, age: timedelta = timedelta(minutes=1)) -> None:
    data = ("\n".join(lines) + "\n").encode()
    path.write_bytes(gzip.compress(data) if path.suffix == ".gz" else data)
    stamp = (NOW - age).timestamp()
    os.utime(path, (stamp, stamp))


RECORD = {"id": "cs-1", "published_at": "2026-11-26T09:00:00+01:00", "text": "Client mécontent du rappel"}


def test_drop_folder_reads_each_file_once_and_records_it(tmp_path: Path) -> None:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    _write(inbox / "a.jsonl", [json.dumps(RECORD), "{broken", json.dumps({**RECORD, "id": "cs-2", "kind": "forum"})])
    _write(inbox / "b.jsonl.gz", [json.dumps({**RECORD, "id": "cs-3"})])
    _write(inbox / "fresh.jsonl", [json.dumps({**RECORD, "id": "cs-4"})], age=timedelta(seconds=1))
    collector = DropFolderCollector(source("jsonl", {"path": str(inbox)}))
    first = collector.collect(None, NOW)
    assert [(m.id, m.kind, m.source) for m in first.mentions] == [
        ("cs-1", SourceKind.SUPPORT, "support"), ("cs-2", SourceKind.FORUM, "support"),
        ("cs-3", SourceKind.SUPPORT, "support")]
    assert first.mentions[0].published_at == datetime(2026, 11, 26, 8, 0, tzinfo=UTC)
    assert first.cursor is not None and sorted(first.cursor["files"]) == ["a.jsonl", "b.jsonl.gz"]
    second = collector.collect(first.cursor, NOW + timedelta(minutes=1))
    assert [m.id for m in second.mentions] == ["cs-4"]  # settled by now; a and b are not read again
    _write(inbox / "a.jsonl", [json.dumps({**RECORD, "id": "cs-5"})], age=timedelta(seconds=30))
    third = collector.collect(second.cursor, NOW + timedelta(minutes=2))
    assert [m.id for m in third.mentions] == ["cs-5"]  # rewritten file: read again


def test_drop_folder_moves_files_only_after_the_run_was_accepted(tmp_path: Path) -> None:
    inbox, done = tmp_path / "inbox", tmp_path / "done"
    inbox.mkdir()
    _write(inbox / "a.jsonl", [json.dumps(RECORD)])
    collector = DropFolderCollector(source("jsonl", {"path": str(inbox), "done": str(done)}))
    first = collector.collect(None, NOW)
    assert [m.id for m in first.mentions] == ["cs-1"] and (inbox / "a.jsonl").exists()
    retry = collector.collect(None, NOW)  # the sink failed: the stored cursor did not move
    assert [m.id for m in retry.mentions] == ["cs-1"]
    second = collector.collect(first.cursor, NOW + timedelta(minutes=1))
    assert second.mentions == () and (done / "a.jsonl").exists() and not (inbox / "a.jsonl").exists()


def test_missing_drop_folder_is_a_retryable_error(tmp_path: Path) -> None:
    collector = DropFolderCollector(source("jsonl", {"path": str(tmp_path / "nope"), "done": str(tmp_path / "d")}))
    assert collector.collect(None, NOW).mentions == ()  # an empty glob on a missing folder: nothing yet
    (tmp_path / "file").write_text("x")
    broken = DropFolderCollector(source("jsonl", {"path": str(tmp_path / "file" / "sub"),
                                                  "done": str(tmp_path / "file" / "done")}))
    with pytest.raises(CollectError) as caught:
        broken.collect({"processed": ["x.jsonl"]}, NOW)
    assert caught.value.retryable


def test_jsonl_options() -> None:
    assert check_options("jsonl", {"path": "/var/spool/crisiswatch"}) == []
    assert check_options("jsonl", {"path": "/x", "max_bytes": 5}) == [
        ("max_bytes", 'unknown option "max_bytes" for source type "jsonl" (known options: done, max_files, path, '
                      'pattern)')]


@pytest.mark.parametrize("following", ["http://evil.example/steal", "http://acme.zendesk.com/api/v2/search.json?page=2",
                                       "https://acme.zendesk.com:8443/api/v2/search.json?page=2"])
def test_next_page_on_another_origin_is_not_followed(following: str, caplog: pytest.LogCaptureFixture) -> None:
    sent: list[tuple[str, str | None]] = []

    def api(request: httpx.Request) -> httpx.Response:
        sent.append((f"{request.url.scheme}://{request.url.host}:{request.url.port}",
                     request.headers.get("authorization")))
        return httpx.Response(200, json={"results": [{"id": len(sent), "subject": "rappel 3008",
                                                      "created_at": "2026-11-26T08:00:00Z"}], "next_page": following})

    collector = build_collector(source("json", ZENDESK), httpx.Client(transport=httpx.MockTransport(api)))
    result = collector.collect(None, NOW)
    assert sent == [("https://acme.zendesk.com:None", "Bearer zd-token")]
    assert [mention.id for mention in result.mentions] == ["json:support:1"]
    assert "paging stopped" in caplog.text and "steal" not in caplog.text

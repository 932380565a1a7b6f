"""Mention times that Python's datetimes cannot hold once in UTC (``9999-12-31T23:59:59-23:59``,
``0001-01-01T00:00:00+01:00``), times past the accepted range, and numbers too large for a float, through
every way mentions come in: the ingest API (the record alone is refused, the rest of the batch is
ingested), ``crisiswatch replay`` (the line is skipped with a warning, the replay goes on) and a drop
folder collected by the running service (the line is skipped, the run succeeds)."""

from __future__ import annotations

import gzip
import json
import logging
import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from service.api.embed import ServiceThread
from service.app import Service
from service.cli import main
from service.clock import SimulatedClock
from service.config import load_config
from tests.test_api import START, post, record, synthetic_mentions, tagged, write_config
from tests.test_api import running as shared_running

running = shared_running  # the module-scoped service of test_api: one service for this module's tests

ROOT = Path(__file__).resolve().parents[1]
OUT_OF_RANGE = "is out of range (expected from 1970-01-01 to before 3000-01-01 UTC)"
OVERFLOW = "9999-12-31T23:59:59-23:59"
UNDERFLOW = "0001-01-01T00:00:00+01:00"
HUGE_REACH = '{"id": "%s", "published_at": "2024-03-04T00:00:00Z", "text": "acme", "reach": 1' + "0" * 400 + "}"


def _bad_lines(tag: str) -> list[str]:
    """Four records that once crashed or poisoned the pipeline, each with a time or a number out of range."""
    return [json.dumps({"id": f"{tag}-over", "published_at": OVERFLOW, "text": "acme recall"}),
            json.dumps({"id": f"{tag}-under", "published_at": UNDERFLOW, "text": "acme recall"}),
            json.dumps({"id": f"{tag}-far", "published_at": "9999-12-31T23:59:59Z", "text": "acme recall"}),
            HUGE_REACH % f"{tag}-reach"]


def test_ingest_refuses_only_the_records_with_an_out_of_range_time(running: ServiceThread) -> None:
    good = [json.dumps(record(m)) for m in tagged(synthetic_mentions()[:2], "range")]
    lines = [good[0], *_bad_lines("range"), good[1]]
    response = post(running.url, "\n".join(lines) + "\n", **{"Content-Type": "application/x-ndjson"})
    assert response.status_code == 202, response.text
    body = response.json()
    assert (body["accepted"], body["rejected"], body["new"]) == (2, 4, 2)
    assert body["errors"] == [
        {"line": 2, "reason": f"published_at: {OVERFLOW!r} {OUT_OF_RANGE}"},
        {"line": 3, "reason": f"published_at: {UNDERFLOW!r} {OUT_OF_RANGE}"},
        {"line": 4, "reason": f"published_at: '9999-12-31T23:59:59Z' {OUT_OF_RANGE}"},
        {"line": 5, "reason": "reach: expected a finite number >= 0, got an integer of 401 digits"}]
    again = post(running.url, json.dumps([json.loads(good[0]), {"id": "range-a", "published_at": OVERFLOW,
                                                                "text": "acme"}, json.loads(good[1])]))
    assert again.status_code == 202, again.text
    assert (again.json()["duplicates"], again.json()["rejected"]) == (2, 1)  # the good two were stored
    assert again.json()["errors"] == [{"line": 2, "reason": f"published_at: {OVERFLOW!r} {OUT_OF_RANGE}"}]
    running.service.tick()  # detection still runs: no brand was started at year 9999
    assert httpx.get(f"{running.url}/readyz", timeout=15).status_code == 200


def test_replay_skips_out_of_range_lines_and_replays_the_rest(tmp_path: Path,
                                                              capsys: pytest.CaptureFixture[str]) -> None:
    source = ROOT / "tests" / "fixtures" / "replays" / "quiet_weeks" / "mentions.jsonl.gz"
    good = gzip.decompress(source.read_bytes()).decode().splitlines()[:300]
    path = tmp_path / "mixed.jsonl"
    path.write_text("\n".join([good[0], *_bad_lines("replay"), *good[1:]]) + "\n", encoding="utf-8")
    status = main(["replay", str(path), "--config", str(ROOT / "alerts.yaml")])
    out, err = capsys.readouterr()
    assert status == 0, err
    assert "Traceback" not in err
    assert f"warning: skipped {path}:2: published_at: {OVERFLOW!r} {OUT_OF_RANGE}" in err
    assert f"warning: skipped {path}:3: published_at: {UNDERFLOW!r} {OUT_OF_RANGE}" in err
    assert f"warning: skipped {path}:4: published_at: '9999-12-31T23:59:59Z' {OUT_OF_RANGE}" in err
    assert f"warning: skipped {path}:5: reach: expected a finite number >= 0, got an integer of 401 digits" in err
    assert "300 mentions replayed" in out


def test_the_drop_folder_skips_out_of_range_lines_and_the_run_succeeds(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    for name in ("CRISISWATCH_INGEST_TOKEN", "CRISISWATCH_STORE"):
        monkeypatch.delenv(name, raising=False)
    inbox, done = tmp_path / "inbox", tmp_path / "done"
    inbox.mkdir()
    good = [json.dumps(record(m)) for m in tagged(synthetic_mentions()[:3], "drop")]
    dropped = inbox / "batch.jsonl"
    dropped.write_text("\n".join([good[0], *_bad_lines("drop"), good[1], good[2]]) + "\n", encoding="utf-8")
    clock = SimulatedClock(START + timedelta(hours=1))
    stamp = (clock.now() - timedelta(minutes=5)).timestamp()  # settled: written well before the run
    os.utime(dropped, (stamp, stamp))
    config = write_config(tmp_path, extra=f"sources:\n  inbox:\n    type: jsonl\n    kind: support\n"
                                          f"    interval: 1h\n    path: {inbox}\n    done: {done}\n")
    service = Service(load_config(config), clock=clock, notifiers={})
    try:
        with caplog.at_level(logging.WARNING):
            service.collect("inbox")
        health = service.runner.health("inbox")
        assert health.consecutive_failures == 0 and health.last_error is None, health
        assert health.mentions_total == 3
        warnings = [r.getMessage() for r in caplog.records if "malformed lines skipped" in r.getMessage()]
        assert warnings == ['source "inbox": batch.jsonl: 4 malformed lines skipped (first: batch.jsonl:2: '
                            f"published_at: {OVERFLOW!r} {OUT_OF_RANGE})"]
        # the three good mentions reached the pipeline (a second ingest finds them counted), the next run moves
        # the file to done/ as for any other file
        assert service.ingest([m for m in tagged(synthetic_mentions()[:3], "drop")]).duplicates == 3
        clock.advance(timedelta(minutes=1))
        service.collect("inbox")
        assert (done / "batch.jsonl").exists() and not dropped.exists()
        assert service.runner.health("inbox").consecutive_failures == 0
        assert service.tick() == [] and service.pipeline.next_bucket["acme"] < datetime(3000, 1, 1, tzinfo=UTC)
    finally:
        service.store.close()

"""``crisiswatch replay --report``: a self-contained HTML page with the charts and the alert timeline."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from service.cli import main
from service.domain import Alert, AlertState, Bucket, Severity
from service.report import choose_step, render_report
from tests.test_api import START, synthetic_mentions, write_config


def _alert(at: datetime, state: AlertState, severity: Severity) -> Alert:
    return Alert(at=at, brand="acme", incident_id="acme-1", state=state, severity=severity,
                 crisis_type="product_recall", resemblance=0.7, volume=120, negative_share=0.8,
                 summary="acme: 120 mentions <b>not html</b>")


def test_render_report_is_self_contained_and_lists_every_alert() -> None:
    buckets = [Bucket(brand="acme", start=START + i * timedelta(minutes=5), count=3 + 40 * (i > 70),
                      negative=1 + 30 * (i > 70)) for i in range(96)]
    quiet = [Bucket(brand="globex", start=START, count=2)]
    alerts = [_alert(START + timedelta(hours=6), AlertState.FIRING, Severity.WARNING),
              _alert(START + timedelta(hours=6, minutes=20), AlertState.ESCALATED, Severity.CRITICAL)]
    page = render_report(alerts, {"acme": buckets, "globex": quiet}, start=START, end=START + timedelta(hours=8))
    assert page.startswith("<!doctype html>")
    assert not re.search(r"<script|<link|<img|src=|https?://", page), "nothing may be fetched"
    assert page.count("<svg") == 2
    assert page.index("<h2>acme</h2>") < page.index("<h2>globex</h2>"), "brands with alerts first"
    timeline = page[page.index("Alert timeline"):page.index("<h2>acme</h2>")]
    assert timeline.count("<tr>") == 3  # header + two events
    assert "&lt;b&gt;not html&lt;/b&gt;" in page and "<b>not html</b>" not in page
    assert page.count('stroke-width="2"><title>') == 2  # one marker per alert event


@pytest.mark.parametrize(("span", "expected"), [(timedelta(hours=8), timedelta(minutes=5)),
                                                (timedelta(days=7), timedelta(hours=1)),
                                                (timedelta(days=70), timedelta(hours=6)),
                                                (timedelta(days=120), timedelta(days=1))])
def test_chart_step_keeps_charts_small(span: timedelta, expected: timedelta) -> None:
    assert choose_step(span, timedelta(minutes=5)) == expected


def test_replay_command_writes_the_report(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.delenv("CRISISWATCH_STORE", raising=False)
    config = write_config(tmp_path)
    data = tmp_path / "mentions.jsonl"
    data.write_text("".join(json.dumps(m.to_record()) + "\n" for m in synthetic_mentions()), encoding="utf-8")
    out = tmp_path / "report.html"
    status = main(["replay", str(data), "--config", str(config), "--json", "--tail", "2h", "--report", str(out)])
    assert status == 0
    events = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert events, "the burst alerts"
    page = out.read_text(encoding="utf-8")
    assert "<svg" in page and "<h2>acme</h2>" in page
    for event in events:
        assert datetime.fromisoformat(event["at"]).astimezone(UTC).strftime("%Y-%m-%d %H:%M") in page
    assert page.count(events[0]["incident_id"]) >= len([e for e in events if e["incident_id"] ==
                                                          events[0]["incident_id"]])

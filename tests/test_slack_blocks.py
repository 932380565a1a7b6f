"""Block Kit rendering: golden files, escaping of hostile mentions, Slack limits.

Regenerate the golden files deliberately with ``UPDATE_GOLDEN=1 pytest tests/test_slack_blocks.py``
and review the diff.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from service.domain import Alert, AlertState, Exemplar, Severity
from service.notify.base import Target
from service.notify.blocks import (
    MAX_BLOCKS,
    MAX_FALLBACK_TEXT,
    MAX_HEADER_TEXT,
    MAX_SECTION_TEXT,
    render_alert,
    render_thread_reply,
)
from service.notify.escape import slack_len
from tests.fakeslack import block_kit_errors

GOLDEN = Path(__file__).parent / "golden" / "slack"
UPDATE = os.environ.get("UPDATE_GOLDEN", "") not in ("", "0")
OPENED = datetime(2010, 1, 21, 14, 5, tzinfo=UTC)
TEAM = Target(receiver="comms-fr", channel="#crise-toyota", mention="<!subteam^S0COMMS>",
              dashboard_url="https://crisiswatch.example.com/brands/toyota?from=2010-01-21&view=live")
QUIET_TEAM = Target(receiver="competitors", channel="#veille")


def exemplars() -> tuple[Exemplar, ...]:
    return (
        Exemplar(brand="toyota", mention_id="m1", published_at=OPENED - timedelta(minutes=20),
                 text="Toyota recalls 2.3 million vehicles over sticking accelerator pedals",
                 negativity=0.91, kind="news", source="Reuters",
                 url="https://www.reuters.com/article/toyota-recall?id=1&src=rss"),
        Exemplar(brand="toyota", mention_id="m2", published_at=OPENED - timedelta(minutes=12),
                 text="<!channel> *URGENT* my Camry _accelerated_ on its own <https://evil.example|click here> "
                      "`rm -rf` ~fake~ & scary",
                 negativity=0.88, kind="social", source="twitter", url="javascript:alert(1)"),
        Exemplar(brand="toyota", mention_id="m3", published_at=OPENED - timedelta(minutes=8),
                 text="Rappel massif chez Toyota : pédales d’accélérateur défaillantes 😡🚗",
                 negativity=0.84, kind="forum", source="forum-auto.fr",
                 url="https://forum-auto.fr/t/rappel|<@U123>"),
        Exemplar(brand="toyota", mention_id="m4", published_at=OPENED - timedelta(minutes=3),
                 text="NHTSA: safety recall 10V-017, accelerator pedal may become harder to depress",
                 negativity=0.71, kind="regulator", source=None, url=None),
    )


def recall_alert(**changes: Any) -> Alert:
    alert = Alert(
        at=OPENED, brand="toyota", incident_id="inc-toyota-20100121-1405", state=AlertState.FIRING,
        severity=Severity.CRITICAL, crisis_type="product_recall", resemblance=0.87, volume=412,
        negative_share=0.71, summary="Mentions of toyota are 10.8× the usual volume, 71% negative: recall.",
        expected_volume=38.2, baseline_negative_share=0.18,
        explanation=(
            "volume 412 vs 38 expected for a Thursday 14:00 (10.8×)",
            "negative share 71% vs 18% baseline (+53 pts)",
            "crisis terms: recall (64%), accelerator (41%), rappel (12%)",
        ),
        top_mentions=exemplars(), opened_at=OPENED,
    )
    return replace(alert, **changes)


CASES: dict[str, tuple[Alert, Target]] = {
    "critical_firing": (recall_alert(), TEAM),
    "critical_escalated": (recall_alert(state=AlertState.ESCALATED, at=OPENED + timedelta(hours=2)), TEAM),
    "warning_updated": (
        recall_alert(state=AlertState.UPDATED, severity=Severity.WARNING, at=OPENED + timedelta(minutes=35),
                     top_mentions=exemplars()[:1], explanation=()),
        QUIET_TEAM,
    ),
    "resolved": (
        recall_alert(state=AlertState.RESOLVED, at=OPENED + timedelta(days=1, hours=3, minutes=20), volume=41,
                     negative_share=0.2, summary="toyota is back to its usual volume and tone."),
        TEAM,
    ),
    "info_firing_minimal": (
        recall_alert(severity=Severity.INFO, crisis_type="none", resemblance=0.0, expected_volume=0.0,
                     explanation=(), top_mentions=(), opened_at=None, brand="Brand <!everyone> *X*"),
        QUIET_TEAM,
    ),
}
REPLIES: dict[str, tuple[Alert, Target | None]] = {
    "reply_escalated": CASES["critical_escalated"],
    "reply_updated": CASES["warning_updated"],
    "reply_resolved": CASES["resolved"],
}


def check_golden(name: str, payload: dict[str, Any]) -> None:
    path = GOLDEN / f"{name}.json"
    text = golden_json(payload)
    if UPDATE:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        return
    assert path.exists(), f"missing {path}: run UPDATE_GOLDEN=1 pytest {Path(__file__).name} and review it"
    assert text == path.read_text(encoding="utf-8"), f"{name} differs from {path} (UPDATE_GOLDEN=1 to accept)"


def golden_json(payload: dict[str, Any]) -> str:
    """Readable JSON (emoji and accents as is) with the invisible characters spelled out."""
    text = json.dumps(payload, ensure_ascii=False, indent=2) + "\n"
    for invisible in ("\u200b", "\u00ad", "\u200d"):
        text = text.replace(invisible, f"\\u{ord(invisible):04x}")
    return text


def all_texts(payload: dict[str, Any]) -> list[str]:
    texts = [payload["text"]]
    for block in payload["blocks"]:
        if isinstance(block.get("text"), dict):
            texts.append(block["text"]["text"])
        texts += [item["text"] for item in block.get("fields", []) + block.get("elements", [])]
    return texts


def assert_within_limits(payload: dict[str, Any]) -> None:
    assert block_kit_errors(payload["blocks"]) == []
    assert len(payload["blocks"]) <= MAX_BLOCKS
    assert slack_len(payload["text"]) <= MAX_FALLBACK_TEXT
    for block in payload["blocks"]:
        if block["type"] == "header":
            assert slack_len(block["text"]["text"]) <= MAX_HEADER_TEXT
        if block["type"] == "section" and "text" in block:
            assert slack_len(block["text"]["text"]) <= MAX_SECTION_TEXT


@pytest.mark.parametrize("name", sorted(CASES))
def test_main_message_matches_golden(name: str) -> None:
    alert, target = CASES[name]
    payload = render_alert(alert, target)
    assert_within_limits(payload)
    check_golden(name, payload)


@pytest.mark.parametrize("name", sorted(REPLIES))
def test_thread_reply_matches_golden(name: str) -> None:
    alert, target = REPLIES[name]
    payload = render_thread_reply(alert, target)
    assert_within_limits(payload)
    check_golden(name, payload)


def test_main_message_content() -> None:
    payload = render_alert(recall_alert(), TEAM)
    blocks = payload["blocks"]
    assert blocks[0] == {"type": "header",
                         "text": {"type": "plain_text", "text": "🔴 toyota — CRITICAL · new incident", "emoji": True}}
    assert blocks[1]["text"]["text"].startswith("<!subteam^S0COMMS> Mentions of toyota")
    fields = [field["text"] for field in blocks[2]["fields"]]
    assert fields[0] == "*Crisis type*\nproduct recall · 87% resemblance"
    assert fields[1] == "*Volume*\n412 mentions vs 38 expected (×10.8)"
    assert fields[2] == "*Negative share*\n71% vs 18% baseline (+53 pts)"
    assert fields[3] == "*Opened*\n<!date^1264082700^{date_short_pretty} {time}|2010-01-21 14:05 UTC>"
    joined = "\n".join(all_texts(payload))
    assert "<https://www.reuters.com/article/toyota-recall?id=1&amp;src=rss|reuters.com>" in joined
    assert "<https://forum-auto.fr/t/rappel%7C%3C@U123%3E|forum-auto.fr>" in joined
    assert "javascript" not in joined
    assert "<https://crisiswatch.example.com/brands/toyota?from=2010-01-21&amp;view=live|Open dashboard>" in joined
    assert payload["text"].startswith("<!subteam^S0COMMS> 🔴 toyota: critical new incident — ")


def test_hostile_mention_is_inert() -> None:
    payload = render_alert(recall_alert(), TEAM)
    hostile = next(b["text"]["text"] for b in payload["blocks"] if "URGENT" in b.get("text", {}).get("text", ""))
    assert "&lt;!channel&gt;" in hostile and "<!channel>" not in hostile
    assert "&lt;https://evil.example|click here&gt;" in hostile
    assert "\u200b*\u200bURGENT\u200b*\u200b" in hostile
    # the only "<...>" constructs in the whole message are ours: dates, links, the operator's mention
    for text in all_texts(payload):
        for construct in re.findall(r"<[^<>]*>", text):
            assert construct.startswith(("<!date^", "<https://", "<!subteam^S0COMMS>")), construct


def test_mention_only_on_critical_firing_or_escalated() -> None:
    def pinged(alert: Alert) -> bool:
        return "<!subteam^S0COMMS>" in json.dumps(render_alert(alert, TEAM))

    assert pinged(recall_alert())
    assert pinged(recall_alert(state=AlertState.ESCALATED))
    assert not pinged(recall_alert(state=AlertState.UPDATED))
    assert not pinged(recall_alert(state=AlertState.RESOLVED))
    assert not pinged(recall_alert(severity=Severity.WARNING))
    assert "<!subteam" in render_thread_reply(recall_alert(state=AlertState.ESCALATED), TEAM)["text"]
    assert "<!subteam" not in json.dumps(render_thread_reply(recall_alert(state=AlertState.UPDATED), TEAM))


def test_no_dashboard_link_without_url() -> None:
    payload = render_alert(recall_alert(), QUIET_TEAM)
    assert "Open dashboard" not in json.dumps(payload)


def test_limits_with_200_long_mentions() -> None:
    long_text = "<!channel> *Recall* & ~brakes~ `fail` " * 400  # ~15 kB each
    many = tuple(
        Exemplar(brand="toyota", mention_id=f"m{i}", published_at=OPENED, text=long_text, negativity=0.9,
                 kind="social" * 20, source="s" * 500, url="https://example.com/" + "p" * 1500)
        for i in range(200)
    )
    alert = recall_alert(
        top_mentions=many, summary=long_text, brand="b" * 400, crisis_type="c_" * 300,
        explanation=tuple(long_text for _ in range(100)),
    )
    for state in AlertState:
        for payload in (render_alert(replace(alert, state=state), TEAM),
                        render_thread_reply(replace(alert, state=state), TEAM)):
            assert_within_limits(payload)
    payload = render_alert(alert, TEAM)
    assert "… and 195 more negative mentions" in json.dumps(payload, ensure_ascii=False)
    assert all(text.endswith("…") or "…" in text for text in all_texts(payload)[1:2])


def test_blank_texts_still_make_valid_blocks() -> None:
    alert = recall_alert(summary=" \n\x00 ", brand="", explanation=("", "  "), incident_id="", crisis_type="")
    for state in AlertState:
        for payload in (render_alert(replace(alert, state=state), QUIET_TEAM),
                        render_thread_reply(replace(alert, state=state), QUIET_TEAM)):
            assert_within_limits(payload)
            assert all(text.strip() for text in all_texts(payload))
